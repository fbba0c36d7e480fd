"""What a change to Redis's files needs. Redis re-reads no file on a signal: a directive
changes at runtime with CONFIG SET, except the ones Redis marks immutable (they need a
restart) and the protected ones (refused by CONFIG SET while enable-protected-configs is no,
its default). The ACL file is re-read with ACL LOAD. ``tests/test_deploy.py`` asks the real
daemon that these lists are what it refuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perfcfg.services.actions import Action, by_parameter, changed, differing, text, worst

if TYPE_CHECKING:
    from perfcfg.services.base import Service

# CONFIG SET answers "can't set immutable config" (Redis 7.0; Valkey 8 reads the same).
IMMUTABLE = frozenset({
    "aclfile", "always-show-logo", "aof_rewrite_cpulist", "appenddirname", "appendfilename",
    "bgsave_cpulist", "bio_cpulist", "cluster-config-file", "cluster-enabled", "cluster-port",
    "daemonize", "databases", "disable-thp", "enable-debug-command", "enable-module-command",
    "enable-protected-configs", "io-threads", "io-threads-do-reads", "logfile", "pidfile",
    "rdbchecksum", "replicaof", "server_cpulist", "set-proc-title", "slaveof",
    "socket-mark-id", "supervised", "syslog-enabled", "syslog-facility", "syslog-ident",
    "tcp-backlog", "unixsocket", "unixsocketperm"})
# CONFIG SET answers "can't set protected config" while enable-protected-configs is no.
PROTECTED = frozenset({"dbfilename", "dir"})

CONFIG_SET = "redis-cli CONFIG SET <name> <value> for each (Redis re-reads no file)"
ACL_LOAD = "redis-cli ACL LOAD"
RESTART = "systemctl restart redis-server"


def directives(data: bytes | None) -> dict[str, str]:
    """redis.conf's directives by name; a repeated one (save) keeps all its lines."""
    out: dict[str, list[str]] = {}
    for line in text(data).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, rest = line.strip().partition(" ")
            out.setdefault(name.lower(), []).append(rest)
    return {k: "\n".join(v) for k, v in out.items()}


def changes(service: Service, old: Mapping[str, bytes | None], new: Mapping[str, bytes],
            targets: Any) -> Action:
    restart = RESTART.replace("redis-server", "valkey-server") if targets.valkey else RESTART
    parts = []
    for name, before, data in differing(old, new):
        if before is None:
            parts.append(Action("restart", (f"{name} (new)",), restart))
        elif name == "users.acl":
            parts.append(Action("reload", (name,), ACL_LOAD))
        else:
            parts.append(by_parameter(changed(directives(before), directives(data)),
                                      lambda d: d in IMMUTABLE or d in PROTECTED,
                                      CONFIG_SET, restart))
    action = worst(parts)
    if action.action == "reload" and len({p.how for p in parts if p.action == "reload"}) > 1:
        return Action("reload", action.because, f"{CONFIG_SET}; {ACL_LOAD}", action.run)
    return action
