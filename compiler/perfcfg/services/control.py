"""How a daemon is started, stopped and reloaded on its host, and what it needs there before it
starts: what ``perfcfg apply`` does for each service it deploys.

Each service declares a :class:`Control` (``services/<daemon>/control.py``): its systemd unit
(Debian's), the user it runs as, its pid file, the directories its files name (log, pid, socket
and data directories, a program's working directory), and the commands that start, stop and
reload it where no systemd runs (a container, a CI machine): what the package's unit or init
script would run. With systemd, apply uses ``systemctl`` on the unit instead, except for the
reloads a daemon does itself (``supervisorctl update``, Redis's ``CONFIG SET``).

>>> Cmd(("pg_ctl", "reload"), user="postgres").shown()
'runuser -u postgres -- pg_ctl reload'
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.model import Targets

# systemd's own test (sd_booted): this directory exists when systemd is PID 1.
SYSTEMD_RUNNING = "/run/systemd/system"


@dataclass(frozen=True)
class Cmd:
    """One command, as root or as ``user``; ``detach``: a daemon that stays in the foreground
    (as under its unit), started in its own session with its output in ``log``."""

    argv: tuple[str, ...]
    user: str | None = None
    detach: bool = False
    log: str = ""
    env: Mapping[str, str] = field(default_factory=dict)

    def shown(self) -> str:
        words = [*(f"{k}={v}" for k, v in self.env.items()), *self.argv]
        text = " ".join(shlex.quote(w) for w in words)
        if self.user:
            text = f"runuser -u {self.user} -- {text}"
        if self.detach:
            text = f"setsid {text} >> {shlex.quote(self.log or '/dev/null')} 2>&1 &"
        return text


@dataclass(frozen=True)
class Signal:
    """A signal to the process a pid file names; ``wait``: until it has exited (a stop)."""

    pidfile: str
    signal: str                 # "TERM", "INT", "HUP"
    wait: bool = False

    def shown(self) -> str:
        return f"kill -{self.signal} $(head -1 {shlex.quote(self.pidfile)})"


@dataclass(frozen=True)
class Call:
    """A step perfcfg does itself (a Redis CONFIG SET over its own connection)."""

    what: str
    run: Callable[[], None]

    def shown(self) -> str:
        return self.what


Step = Cmd | Signal | Call


@dataclass(frozen=True)
class Directory:
    """A directory a daemon's files name, and who owns it (created when missing)."""

    path: str
    owner: str
    group: str
    mode: int = 0o755


@dataclass(frozen=True)
class Runtime:
    """What a control reads: the compiled plan and config of the environment being applied."""

    plan: Plan
    config: Config
    # generated file → where it is placed on the host (manifest.json's destination)
    destinations: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)     # the compiled files
    # password references resolved for this run (a Redis user that may run CONFIG SET)
    resolve: Callable[[str], str] = lambda ref: ref

    def value(self, path: str, default: Any = None) -> Any:
        return self.plan.value(path, default)

    @property
    def targets(self) -> Targets:
        return self.config.targets


@dataclass(frozen=True)
class Live:
    """How ``verify --live`` reads a running daemon: its DSN or URL, the OS user to read it as
    (None: as root); or, when it cannot, ``note`` says why."""

    target: str = ""
    user: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Control:
    unit: Callable[[Targets], str]                    # targets → Debian's systemd unit
    user: Callable[[Runtime], str]                    # the OS user the daemon runs as
    pidfile: Callable[[Runtime], str]                 # where its pid is while it runs
    start: Callable[[Runtime], list[Step]]            # without systemd: what the unit runs
    stop: Callable[[Runtime], list[Step]]
    # without systemd (pg_ctl reload, HUP…); the second argument is what the action names
    reload: Callable[[Runtime, tuple[str, ...]], list[Step]]
    directories: Callable[[Runtime], list[Directory]]
    # what must be on the host before the daemon can start, and is not perfcfg's to make (a
    # PostgreSQL cluster, a package's own file): None, or what is missing and the fix
    missing: Callable[[Runtime], str | None] = lambda rt: None
    # None when the daemon serves; else what it still waits for (apply polls it after a start)
    ready: Callable[[Runtime], str | None] = lambda rt: None
    # where the daemon logs (a failed start is explained by its last error there)
    log: Callable[[Runtime], str | None] = lambda rt: None
    # how a file its action says to run is run (roles.sql: psql as postgres, from stdin)
    run: Callable[[Runtime, str], Cmd] | None = None
    # how verify --live reads it once it runs
    live: Callable[[Runtime], Live | None] = lambda rt: None
    # The reload is the daemon's own, with or without systemd (supervisorctl update): the
    # unit's ExecReload does something else, or there is none.
    own_reload: bool = False


def systemd_running() -> bool:
    return os.path.isdir(SYSTEMD_RUNNING)


def pid_alive(pidfile: str) -> int | None:
    """The pid a pid file names when that process is alive (the first line: PostgreSQL's
    postmaster.pid holds more), else None."""
    try:
        with open(pidfile, encoding="ascii") as fh:
            pid = int(fh.readline().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state == "Z" else pid


def directory_of(path: str | None) -> str | None:
    """The directory a file path names (None for an empty or relative path)."""
    if not path or not str(path).startswith("/"):
        return None
    return os.path.dirname(str(path)) or "/"
