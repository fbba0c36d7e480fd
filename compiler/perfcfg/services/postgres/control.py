"""How PostgreSQL's cluster is run on its host (``perfcfg apply``): Debian's unit
``postgresql@<v>-main`` with systemd; without it, ``pg_ctl`` as the postgres user, as
``pg_ctlcluster`` does, on the directory holding postgresql.conf (pg_ctl finds the data
directory through ``data_directory``) and logging where ``pg_ctlcluster`` logs.

The cluster itself is not perfcfg's to make: a missing data directory is reported with the
command that makes it.
"""

from __future__ import annotations

import os

from perfcfg.harness.binaries import binary
from perfcfg.services.control import Cmd, Control, Directory, Live, Runtime, Step, directory_of
from perfcfg.services.postgres.placement import CLUSTER, OWNER, data_dir
from perfcfg.services.postgres.roles import DEFAULT_PORT, SUPERUSER, psql_command

LOG_DIR = "/var/log/postgresql"      # postgresql-common's cluster logs
SOCKET_MODE = 0o2775                 # /var/run/postgresql as postgresql-common makes it


def _version(rt: Runtime) -> int:
    return int(rt.targets.postgres)


def _conf_dir(rt: Runtime) -> str:
    return os.path.dirname(rt.destinations.get("postgresql.conf") or
                           f"{data_dir(_version(rt))}/postgresql.conf")


def _data(rt: Runtime) -> str:
    return str(rt.value("postgres.data_directory") or _conf_dir(rt))


def _log(rt: Runtime) -> str:
    return f"{LOG_DIR}/postgresql-{_version(rt)}-{CLUSTER}.log"


def _pg_ctl(rt: Runtime) -> str:
    """pg_ctl beside the server binary of the target version (every build ships both)."""
    server = binary("postgres", str(_version(rt)))
    return os.path.join(os.path.dirname(server), "pg_ctl") if server else \
        f"/usr/lib/postgresql/{_version(rt)}/bin/pg_ctl"


def _pidfile(rt: Runtime) -> str:
    return str(rt.value("postgres.external_pid_file") or f"{_data(rt)}/postmaster.pid")


def _ctl(rt: Runtime, *words: str) -> list[Step]:
    return [Cmd((_pg_ctl(rt), *words, "-D", _conf_dir(rt)), user=OWNER)]


def _directories(rt: Runtime) -> list[Directory]:
    out = [Directory(LOG_DIR, "root", OWNER, 0o1775)]
    sockets = str(rt.value("postgres.unix_socket_directories") or "")
    for path in [*(s.strip() for s in sockets.split(",")),
                 directory_of(rt.value("postgres.external_pid_file"))]:
        if path and path.startswith("/"):
            out.append(Directory(path, OWNER, OWNER, SOCKET_MODE))
    return out


def _missing(rt: Runtime) -> str | None:
    data = _data(rt)
    if os.path.isfile(f"{data}/PG_VERSION"):
        return None
    v = _version(rt)
    return (f"PostgreSQL {v}'s cluster is missing ({data} holds no PG_VERSION): create it "
            f"with pg_createcluster {v} {CLUSTER} (Debian), or as postgres: initdb -D {data}")


def _run(rt: Runtime, name: str) -> Cmd:
    """roles.sql, as the manifest's apply line says, with the versioned psql itself (Debian's
    /usr/bin/psql wrapper picks a cluster of its own)."""
    argv = psql_command(rt.plan)          # runuser -u postgres -- psql …
    return Cmd((binary("psql") or argv[4], *argv[5:], "-q", "-f", "-"), user=argv[2])


def _live(rt: Runtime) -> Live:
    """As postgres over the socket: the peer line of pg_hba.conf lets only that OS user in."""
    socket = str(rt.value("postgres.unix_socket_directories") or "").split(",")[0].strip()
    host = f"host={socket} " if socket else ""
    return Live(f"{host}port={rt.value('postgres.port', DEFAULT_PORT)} "
                f"user={SUPERUSER} dbname={SUPERUSER}", SUPERUSER)


CONTROL = Control(
    unit=lambda targets: f"postgresql@{targets.postgres}-{CLUSTER}",
    user=lambda rt: OWNER,
    pidfile=_pidfile,
    start=lambda rt: _ctl(rt, "start", "-w", "-t", "300", "-l", _log(rt)),
    stop=lambda rt: _ctl(rt, "stop", "-w", "-t", "300", "-m", "fast"),
    reload=lambda rt, because: _ctl(rt, "reload"),
    directories=_directories,
    log=_log,
    missing=_missing,
    run=_run,
    live=_live,
)
