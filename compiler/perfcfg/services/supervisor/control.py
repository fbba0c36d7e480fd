"""How supervisord is run on its host (``perfcfg apply``): Debian's ``supervisor`` unit with
systemd; without it, supervisord on the package's own supervisord.conf (which includes
``conf.d/*.conf``, where perfcfg's file goes), as root. A reload is ``supervisorctl update``
with or without systemd: it restarts only the programs whose sections changed. The programs'
working directories and log directories are made for them, a directory owned by the user the
program runs as."""

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

# Debian's package: its supervisord.conf, which includes conf.d/*.conf last
MAIN = "/etc/supervisor/supervisord.conf"
PIDFILE = "/var/run/supervisord.pid"
SOCKET = "/var/run/supervisor.sock"


def _python(rt: Runtime) -> tuple[str, ...]:
    python = binary("supervisord", rt.targets.supervisor)
    return (python, "-m", "supervisor.supervisord") if python else ("/usr/bin/supervisord",)


def _ctl(rt: Runtime) -> tuple[str, ...]:
    python = binary("supervisord", rt.targets.supervisor)
    return (python, "-m", "supervisor.supervisorctl") if python else ("/usr/bin/supervisorctl",)


def _pidfile(rt: Runtime) -> str:
    return str(rt.value("supervisor.pidfile") or PIDFILE)


def _socket(rt: Runtime) -> str:
    return str(rt.value("supervisor.unix_http_server.file") or SOCKET)


def _directories(rt: Runtime) -> list[Directory]:
    out = []
    childlogdir = rt.value("supervisor.childlogdir")
    for path in (childlogdir if childlogdir and str(childlogdir).startswith("/") else None,
                 directory_of(rt.value("supervisor.logfile")), directory_of(_pidfile(rt)),
                 directory_of(_socket(rt))):
        if path:
            out.append(Directory(str(path), "root", "root", 0o755))
    for program in rt.plan.parts["supervisor"]:
        options = dict(program.options)
        user = str(options.get("user") or "root")
        if options.get("directory"):
            out.append(Directory(str(options["directory"]), user, user, 0o755))
        for key in ("stdout_logfile", "stderr_logfile"):
            path = directory_of(options.get(key))
            if path:
                out.append(Directory(path, "root", "root", 0o755))
    return out


def _missing(rt: Runtime) -> str | None:
    if os.path.isfile(MAIN):
        return None
    return (f"{MAIN} is missing: perfcfg's file goes into the package's conf.d, which that "
            "file includes; install Debian's supervisor package")


def _ready(rt: Runtime) -> str | None:
    import xmlrpc.client

    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{_socket(rt)}")
    try:
        with xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport) as proxy:
            found = proxy.supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return f"its socket {_socket(rt)}"
    # XML-RPC answers are untyped: getAllProcessInfo's is a list of structs (dicts)
    if not isinstance(found, list):
        return f"its process list (it answered a {type(found).__name__})"
    states = [p for p in found if isinstance(p, dict)]
    waiting = sorted(f"{p['group']}:{p['name']} ({p['statename']})" for p in states
                     if p["statename"] != "RUNNING")
    return f"programs {', '.join(waiting)}" if waiting else None


CONTROL = Control(
    unit=lambda targets: "supervisor",
    user=lambda rt: "root",
    pidfile=_pidfile,
    start=lambda rt: [Cmd((*_python(rt), "-c", MAIN))],
    stop=lambda rt: [Signal(_pidfile(rt), "TERM", wait=True)],
    reload=lambda rt, because: [Cmd((*_ctl(rt), "-c", MAIN, "update"))],
    directories=_directories,
    log=lambda rt: rt.value("supervisor.logfile"),
    missing=_missing,
    ready=_ready,
    own_reload=True,
    live=lambda rt: Live(f"unix://{_socket(rt)}"),
)
