"""How Redis (or Valkey) is run on its host (``perfcfg apply``): Debian's ``redis-server`` or
``valkey-server`` unit with systemd; without it, the server as the unit starts it, in the
foreground (``daemonize no``) and detached, as the redis (valkey) user. A reload is Redis's own
with or without systemd: ``CONFIG SET`` of each changed directive and ``ACL LOAD``, by the
first user of users.acl that may run them (the action names that user; without one the action
is a restart)."""

from __future__ import annotations

import functools
import socket

from perfcfg.harness.binaries import binary
from perfcfg.services.control import (
    Call,
    Cmd,
    Control,
    Directory,
    Live,
    Runtime,
    Signal,
    Step,
    directory_of,
)
from perfcfg.services.redis.actions import admin_user, directives
from perfcfg.services.redis.outputs import conf_name, flavour
from perfcfg.services.redis.values import users

PORT = 6379


def _pidfile(rt: Runtime) -> str:
    return str(rt.value("redis.pidfile") or f"/run/{flavour(rt.targets)}/"
               f"{flavour(rt.targets)}-server.pid")


def _address(rt: Runtime) -> tuple[str, int]:
    bind = rt.value("redis.bind") or ["127.0.0.1"]
    first = (" ".join(bind) if isinstance(bind, list) else str(bind)).split()[0].lstrip("-")
    return ("127.0.0.1" if first in ("*", "0.0.0.0") else first), int(rt.value("redis.port",
                                                                           PORT))


def _directories(rt: Runtime) -> list[Directory]:
    user = flavour(rt.targets)
    out = []
    data = rt.value("redis.dir")
    if data and str(data).startswith("/"):
        out.append(Directory(str(data), user, user, 0o750))
    for key, mode in (("logfile", 0o2750), ("pidfile", 0o2755)):
        path = directory_of(rt.value(f"redis.{key}"))
        if path:
            out.append(Directory(path, user, user, mode))
    return out


def _start(rt: Runtime) -> list[Step]:
    daemon = flavour(rt.targets)
    server = binary(f"{daemon}-server", rt.targets.valkey or rt.targets.redis) or \
        f"/usr/bin/{daemon}-server"
    conf = rt.destinations.get(conf_name(rt.targets), f"/etc/{daemon}/{daemon}.conf")
    return [Cmd((server, conf), user=daemon, detach=True)]


def _ready(rt: Runtime) -> str | None:
    host, port = _address(rt)
    try:
        socket.create_connection((host, port), timeout=1).close()
        return None
    except OSError:
        return f"its port {host}:{port}"


def _reload(rt: Runtime, because: tuple[str, ...]) -> list[Step]:
    acl = rt.files.get("users.acl")
    new = directives(rt.files.get(conf_name(rt.targets)))
    steps: list[Step] = []
    for name in because:
        command = "acl|load" if name == "users.acl" else "config|set"
        user = admin_user(acl, command)
        if user is None:
            raise ValueError(f"no user in users.acl may run {command}")
        words = ("ACL", "LOAD") if name == "users.acl" else \
            ("CONFIG", "SET", name, " ".join(new.get(name, "").split("\n")))
        steps.append(Call(f"redis-cli --user {user or 'default'} {' '.join(words[:3])}",
                          functools.partial(_send, rt, user, words)))
    return steps


def _send(rt: Runtime, user: str, words: tuple[str, ...]) -> None:
    import redis

    ref = next((u.password for u in users(rt.config) if u.name == (user or "default")),
               None)
    host, port = _address(rt)
    with redis.Redis(host=host, port=port, username=user or None,
                     password=rt.resolve(ref) if ref else None, socket_timeout=10) as client:
        client.execute_command(*words)


def _live(rt: Runtime) -> Live:
    """As the first user of users.acl that may run CONFIG GET, with its password."""
    from urllib.parse import quote

    daemon = flavour(rt.targets)
    user = admin_user("\n".join(rt.plan.parts["redis"]).encode(), "config|get")
    if user is None:
        return Live(note=f"{daemon}: no user in users.acl may run CONFIG GET: not "
                    "verified (declare one with -@all +config|get +acl|list +@connection)")
    ref = next((u.password for u in users(rt.config) if u.name == (user or "default")),
               None)
    auth = f"{quote(user or 'default', safe='')}:{quote(rt.resolve(ref), safe='')}@" \
        if ref else ""
    host, port = _address(rt)
    return Live(f"redis://{auth}{host}:{port}/0")


CONTROL = Control(
    unit=lambda targets: f"{flavour(targets)}-server",
    user=lambda rt: flavour(rt.targets),
    pidfile=_pidfile,
    start=_start,
    stop=lambda rt: [Signal(_pidfile(rt), "TERM", wait=True)],
    reload=_reload,
    directories=_directories,
    log=lambda rt: rt.value("redis.logfile") or None,
    ready=_ready,
    own_reload=True,
    live=_live,
)
