"""Where the daemon programs live, and which of them are missing on this machine.

The versioned PostgreSQL binaries are used directly: ``/usr/bin/psql`` is Debian's Perl
wrapper (3× slower, and it defaults to the system cluster's socket).

>>> sorted(BINARIES)
['initdb', 'pgbouncer', 'postgres', 'psql', 'redis-server', 'supervisord']
"""

from __future__ import annotations

import importlib.util
import os
import shutil

PG_BINDIR = "/usr/lib/postgresql/15/bin"

BINARIES: dict[str, str] = {
    "postgres": f"{PG_BINDIR}/postgres",
    "initdb": f"{PG_BINDIR}/initdb",
    "psql": f"{PG_BINDIR}/psql",
    "pgbouncer": "pgbouncer",
    "redis-server": "redis-server",
    "supervisord": "supervisor",   # a Python package in the running interpreter
}

DAEMON_NEEDS: dict[str, tuple[str, ...]] = {
    "postgresql": ("postgres", "initdb", "psql"),
    "pgbouncer": ("pgbouncer", "postgres", "initdb", "psql"),
    "redis": ("redis-server",),
    "supervisor": ("supervisord",),
}


def which(name: str) -> str | None:
    """Absolute path of a binary (or module name for supervisord), or None if missing."""
    target = BINARIES[name]
    if name == "supervisord":
        return target if importlib.util.find_spec(target) is not None else None
    if os.path.isabs(target):
        return target if os.access(target, os.X_OK) else None
    return shutil.which(target) or next(
        (p for p in (f"/usr/sbin/{target}", f"/usr/bin/{target}") if os.access(p, os.X_OK)), None)


def missing(daemon: str) -> list[str]:
    """The binaries ``daemon`` (postgresql, pgbouncer, redis, supervisor) needs but lacks."""
    return [b for b in DAEMON_NEEDS[daemon] if which(b) is None]


def require(name: str) -> str:
    from perfcfg.harness.errors import DaemonError

    path = which(name)
    if path is None:
        raise DaemonError(name, f"{BINARIES[name]} is not installed (run .ci/install.sh)")
    return path
