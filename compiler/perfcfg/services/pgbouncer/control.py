"""How pgbouncer is run on its host (``perfcfg apply``): Debian's ``pgbouncer`` unit with
systemd; without it, ``pgbouncer -d`` as postgres (what the package's init script runs),
stopped with SIGINT (the unit's KillSignal: a safe shutdown) and reloaded with SIGHUP."""

from __future__ import annotations

import os

from perfcfg.harness.binaries import binary
from perfcfg.services.control import (
    Cmd,
    Control,
    Directory,
    Live,
    Runtime,
    Signal,
    directory_of,
)
from perfcfg.services.pgbouncer import backend

OWNER = backend.ACCOUNT     # Debian runs pgbouncer as postgres (its unit's User=)
CONF = "/etc/pgbouncer/pgbouncer.ini"
PORT = 6432                 # pgbouncer's own default listen_port


def _pidfile(rt: Runtime) -> str:
    return str(rt.value("pgbouncer.pidfile") or f"{backend.RUN_DIR}/pgbouncer.pid")


def _directories(rt: Runtime) -> list[Directory]:
    out = []
    for key in ("logfile", "pidfile"):
        path = directory_of(rt.value(f"pgbouncer.{key}"))
        if path:
            out.append(Directory(path, OWNER, OWNER, 0o2775))
    socket = rt.value("pgbouncer.unix_socket_dir")
    if socket and str(socket).startswith("/"):
        out.append(Directory(str(socket), OWNER, OWNER, 0o2775))
    return out


def _ready(rt: Runtime) -> str | None:
    socket = rt.value("pgbouncer.unix_socket_dir")
    port = rt.value("pgbouncer.listen_port", PORT)
    if socket and not os.path.exists(f"{socket}/.s.PGSQL.{port}"):
        return f"its socket {socket}/.s.PGSQL.{port}"
    return None


def _live(rt: Runtime) -> Live:
    """The admin console over the socket as the built-in ``pgbouncer`` user, whom pgbouncer
    lets in from the OS user it runs as."""
    socket = rt.value("pgbouncer.unix_socket_dir")
    if not socket:
        return Live(note="pgbouncer: no unix_socket_dir: not verified")
    return Live(f"host={socket} port={rt.value('pgbouncer.listen_port', PORT)} "
                "dbname=pgbouncer user=pgbouncer", OWNER)


CONTROL = Control(
    unit=lambda targets: "pgbouncer",
    user=lambda rt: OWNER,
    pidfile=_pidfile,
    start=lambda rt: [Cmd((binary("pgbouncer", rt.targets.pgbouncer) or "pgbouncer", "-d",
                           rt.destinations.get("pgbouncer.ini", CONF)), user=OWNER)],
    stop=lambda rt: [Signal(_pidfile(rt), "INT", wait=True)],
    reload=lambda rt, because: [Signal(_pidfile(rt), "HUP")],
    directories=_directories,
    log=lambda rt: rt.value("pgbouncer.logfile"),
    ready=_ready,
    live=_live,
)
