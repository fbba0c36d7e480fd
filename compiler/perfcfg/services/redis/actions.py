"""What a change to Redis's files needs. Redis re-reads no file on a signal: a directive
changes at runtime with CONFIG SET, except the ones Redis marks immutable (they need a
restart) and the protected ones (refused by CONFIG SET while enable-protected-configs is no,
its default). The ACL file is re-read with ACL LOAD. ``tests/test_deploy.py`` asks the real
daemon that these lists are what it refuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from perfcfg.services.actions import Action, by_parameter, changed, differing, text, worst

if TYPE_CHECKING:
    from perfcfg.model import Targets
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

CONFIG_SET = "redis-cli{user} CONFIG SET <name> <value> for each (Redis re-reads no file)"
ACL_LOAD = "redis-cli{user} ACL LOAD"
RESTART = "systemctl restart redis-server"
# The categories CONFIG SET and ACL LOAD are in (COMMAND INFO: @admin @slow @dangerous).
ADMIN_CATEGORIES = frozenset({"admin", "slow", "dangerous"})


def may_run(rules: list[str], command: str) -> bool:
    """Whether an ACL user's rules (``users.acl`` words after ``user NAME``) let it run
    ``command`` (``config|set``, ``acl|load``), read left to right as Redis does, for the
    rules perfcfg writes: on/off, +@category/-@category, +cmd/-cmd, +cmd|sub/-cmd|sub.

    >>> may_run("on #x ~* +@all".split(), "config|set")
    True
    >>> may_run("on #x -@all +@read +@write -@dangerous".split(), "config|set")
    False
    >>> may_run("on #x -@all +config|set".split(), "config|set"), may_run(["off", "+@all"], "acl|load")
    (True, False)
    """
    enabled, allowed = False, False
    parent = command.split("|")[0]
    for word in rules:
        lowered = word.lower()
        if lowered in ("on", "off"):
            enabled = lowered == "on"
        elif lowered in ("+@all", "allcommands"):
            allowed = True
        elif lowered in ("-@all", "nocommands", "reset"):
            allowed = False
            enabled = enabled and lowered != "reset"
        elif lowered[:2] in ("+@", "-@"):
            if lowered[2:] in ADMIN_CATEGORIES:
                allowed = lowered[0] == "+"
        elif lowered[:1] in ("+", "-") and lowered[1:] in (parent, command):
            allowed = lowered[0] == "+"
    return enabled and allowed


def admin_user(acl: bytes | None, command: str) -> str | None:
    """The first user of ``users.acl`` that may run ``command`` ("" for the default user,
    which redis-cli needs no --user for), or None when no user may."""
    for line in text(acl).splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "user" and may_run(words[2:], command):
            return "" if words[1] == "default" else words[1]
    return None


def _with(how: str, user: str) -> str:
    return how.format(user=f" --user {user} --askpass" if user else "")


def directives(data: bytes | None) -> dict[str, str]:
    """redis.conf's directives by name; a repeated one (save) keeps all its lines, in any
    order (Redis applies every one of them, whichever comes first)."""
    out: dict[str, list[str]] = {}
    for line in text(data).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, rest = line.strip().partition(" ")
            out.setdefault(name.lower(), []).append(rest)
    return {k: "\n".join(sorted(v)) for k, v in out.items()}


def changes(service: Service, old: Mapping[str, bytes | None], new: Mapping[str, bytes],
            targets: Targets) -> Action:
    restart = RESTART.replace("redis-server", "valkey-server") if targets.valkey else RESTART
    # The runtime commands need a user allowed to run them; with none in users.acl (the
    # default user off, the others without @admin), only a restart applies the change.
    acl = new.get("users.acl", old.get("users.acl"))
    config_user, acl_user = admin_user(acl, "config|set"), admin_user(acl, "acl|load")
    parts = []
    for name, before, data in differing(old, new):
        if before is None:
            parts.append(Action("restart", (f"{name} (new)",), restart))
        elif name == "users.acl":
            # ACL LOAD replaces every user at once: the order of the lines means nothing
            if sorted(text(before).split("\n")) == sorted(text(data).split("\n")):
                continue
            parts.append(Action("reload", (name,), _with(ACL_LOAD, acl_user))
                         if acl_user is not None else _no_admin(name, "ACL LOAD", restart))
        else:
            names = changed(directives(before), directives(data))
            if config_user is None and names:
                parts.append(_no_admin(names, "CONFIG SET", restart))
                continue
            parts.append(by_parameter(names, lambda d: d in IMMUTABLE or d in PROTECTED,
                                      _with(CONFIG_SET, config_user or ""), restart))
    action = worst(parts)
    if action.action == "reload" and len({p.how for p in parts if p.action == "reload"}) > 1:
        return Action("reload", action.because, "; ".join(
            p.how for p in parts if p.action == "reload"), action.run)
    return action


def _no_admin(names: str | list[str], command: str, restart: str) -> Action:
    because = (names,) if isinstance(names, str) else tuple(names)
    return Action("restart", because, f"{restart} (no user in users.acl may run {command}: "
                                      f"declare one with +@admin to apply it without a restart)")
