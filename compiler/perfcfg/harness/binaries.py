"""Where the daemon programs of each supported version live, and which are missing here.

The default versions are Debian 12's (PostgreSQL 15, pgbouncer 1.18, Redis 7.0) and the test
dependency's supervisor 4.3, found where Debian and the running interpreter put them; the
others are installed by ``.ci/install-daemons.sh``, one folder per daemon-version under
``/opt/perfcfg-daemons`` (``$PERFCFG_DAEMONS_DIR``), e.g. ``postgresql-17/bin/postgres``, with a
``VERSION`` file saying which build it is. ``$PERFCFG_<DAEMON>_<VERSION>_BINDIR`` (dots as
underscores, e.g. ``PERFCFG_POSTGRESQL_17_BINDIR=/usr/lib/postgresql/17/bin``) points one
daemon-version at binaries of your own. The versioned PostgreSQL binaries are used directly:
``/usr/bin/psql`` is Debian's Perl wrapper (3× slower, and it defaults to the system cluster's
socket). supervisor is a Python package, so its "binary" is the interpreter that has it.

>>> sorted(BINARIES)  # doctest: +NORMALIZE_WHITESPACE
['initdb', 'pg_ctl', 'pgbouncer', 'postgres', 'psql', 'redis-server', 'supervisord',
 'valkey-server']
>>> bindir_variable("pgbouncer", "1.24")
'PERFCFG_PGBOUNCER_1_24_BINDIR'
>>> folder("/opt/perfcfg-daemons", "valkey", "8.1")
'/opt/perfcfg-daemons/valkey-8.1'
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping

PG_BINDIR = "/usr/lib/postgresql/15/bin"
DEFAULT_PREFIX = "/opt/perfcfg-daemons"

# Every supported version of each daemon, oldest first.
VERSIONS: dict[str, tuple[str, ...]] = {
    "postgresql": ("15", "16", "17", "18"),
    "pgbouncer": ("1.18", "1.24"),
    "redis": ("7.0", "8.0"),
    "valkey": ("8.0", "8.1"),
    "supervisor": ("4.2", "4.3"),
}
# The version a handle starts when none is given: what Debian 12 and the test venv provide.
DEFAULT_VERSIONS: dict[str, str] = {
    "postgresql": "15", "pgbouncer": "1.18", "redis": "7.0", "valkey": "8.1", "supervisor": "4.3",
}

# The default version's programs (tests monkeypatch these to simulate a missing daemon).
BINARIES: dict[str, str] = {
    "postgres": f"{PG_BINDIR}/postgres",
    "initdb": f"{PG_BINDIR}/initdb",
    "pg_ctl": f"{PG_BINDIR}/pg_ctl",
    "psql": f"{PG_BINDIR}/psql",
    "pgbouncer": "pgbouncer",
    "redis-server": "redis-server",
    "valkey-server": "valkey-server",
    "supervisord": "supervisor",   # a Python package in the running interpreter
}
PROGRAM_DAEMON: dict[str, str] = {
    "postgres": "postgresql", "initdb": "postgresql", "pg_ctl": "postgresql",
    "psql": "postgresql", "pgbouncer": "pgbouncer", "redis-server": "redis",
    "valkey-server": "valkey", "supervisord": "supervisor",
}
# psql only talks to pgbouncer's console (and Debian 12's psql 15 talks to 16-18 servers),
# so every daemon-version uses the default one.
DAEMON_NEEDS: dict[str, tuple[str, ...]] = {
    "postgresql": ("postgres", "initdb", "psql"),
    "pgbouncer": ("pgbouncer", "postgres", "initdb", "psql"),
    "redis": ("redis-server",),
    "valkey": ("valkey-server",),
    "supervisor": ("supervisord",),
}
_UNVERSIONED = frozenset({"psql"})


def bindir_variable(daemon: str, version: str) -> str:
    """The environment variable that points ``daemon`` ``version`` at a bin directory."""
    return f"PERFCFG_{daemon.upper()}_{version.replace('.', '_')}_BINDIR"


def folder(prefix: str, daemon: str, version: str) -> str:
    """The install-daemons.sh folder of one daemon-version."""
    return f"{prefix}/{daemon}-{version}"


def prefix(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("PERFCFG_DAEMONS_DIR") or DEFAULT_PREFIX


def _version_of(name: str, version: str | None) -> str:
    daemon = PROGRAM_DAEMON[name]
    if version is None or name in _UNVERSIONED:
        return DEFAULT_VERSIONS[daemon]
    if version not in VERSIONS[daemon]:
        raise ValueError(f"{daemon} {version} is not supported "
                         f"(supported: {', '.join(VERSIONS[daemon])})")
    return version


def _executable(path: str) -> str | None:
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _on_path(target: str) -> str | None:
    return shutil.which(target) or next(
        (p for p in (f"/usr/sbin/{target}", f"/usr/bin/{target}") if os.access(p, os.X_OK)), None)


def _supervisor_python(version: str, environ: Mapping[str, str]) -> str | None:
    """An interpreter that runs ``-m supervisor.supervisord`` of ``version``."""
    own = environ.get(bindir_variable("supervisor", version))
    if own:   # the user's own binaries, and nothing else (as for every other daemon)
        return _executable(f"{own}/python")
    candidates = [f"{folder(prefix(environ), 'supervisor', version)}/bin/python"]
    if version == DEFAULT_VERSIONS["supervisor"] and not own:
        if importlib.util.find_spec(BINARIES["supervisord"]) is None:
            return None
        try:
            installed = importlib.metadata.version("supervisor")
        except importlib.metadata.PackageNotFoundError:
            installed = version   # a source checkout on sys.path: trust the default
        if installed.split(".")[:2] == version.split("."):
            return sys.executable
    return next((p for p in candidates if _executable(p)), None)


def binary(name: str, version: str | None = None,
           environ: Mapping[str, str] = os.environ) -> str | None:
    """Absolute path of program ``name`` of daemon version ``version`` (None: the default).

    For ``supervisord`` the path is a Python interpreter that has that supervisor. None when
    that version is not installed here.
    """
    v = _version_of(name, version)
    daemon = PROGRAM_DAEMON[name]
    if name == "supervisord":
        return _supervisor_python(v, environ)
    own = environ.get(bindir_variable(daemon, v))
    if own:
        return _executable(f"{own}/{name}")
    if v == DEFAULT_VERSIONS[daemon] and daemon != "valkey":
        target = BINARIES[name]
        return _executable(target) if os.path.isabs(target) else _on_path(target)
    found = _executable(f"{folder(prefix(environ), daemon, v)}/bin/{name}")
    if found is None and daemon == "postgresql":
        found = _executable(f"/usr/lib/postgresql/{v}/bin/{name}")   # Debian/PGDG packages
    if found is None and daemon == "valkey" and v == DEFAULT_VERSIONS["valkey"]:
        found = _on_path(BINARIES[name])
    return found


def which(name: str, version: str | None = None) -> str | None:
    """Absolute path of a binary, or None if missing (``binary`` with this environment)."""
    return binary(name, version)


def missing(daemon: str, version: str | None = None) -> list[str]:
    """The binaries ``daemon`` (postgresql, pgbouncer, redis, valkey, supervisor) needs but
    lacks in ``version`` (None: the default version)."""
    lacking = []
    for name in DAEMON_NEEDS[daemon]:
        own = version if PROGRAM_DAEMON[name] == daemon else None
        if binary(name, own) is None:
            lacking.append(name if own is None else f"{name} {own}")
    return lacking


def installed(daemon: str) -> list[str]:
    """The supported versions of ``daemon`` whose binaries are all present, oldest first."""
    return [v for v in VERSIONS[daemon] if not missing(daemon, v)]


def build_info(daemon: str, version: str | None = None,
               environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The ``VERSION`` facts of an install-daemons.sh folder (daemon, version, release, build,
    source), or ``{}`` for a system or ``$…_BINDIR`` binary."""
    v = version or DEFAULT_VERSIONS[daemon]
    if environ.get(bindir_variable(daemon, v)):
        return {}
    path = f"{folder(prefix(environ), daemon, v)}/VERSION"
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)


def require(name: str, version: str | None = None) -> str:
    from perfcfg.harness.errors import DaemonError

    path = binary(name, version)
    if path is None:
        what = BINARIES[name] if version is None else f"{name} {version}"
        raise DaemonError(name, f"{what} is not installed (run .ci/install.sh)")
    return path
