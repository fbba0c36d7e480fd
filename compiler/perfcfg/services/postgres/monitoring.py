"""PostgreSQL's monitoring: postgres_exporter, and the alerts on the connection budget and on
drift of the settings perfcfg compiled.

The thresholds are the plan's numbers: ``max_connections`` (what the budget admits: every
pool's server slots, the direct clients and the reserved slots) and ``shared_buffers``. Only
client backends count against ``max_connections`` (autovacuum workers and the WAL writer have
slots of their own), so the connection rule selects ``backend_type="client backend"``, a
label postgres_exporter 0.17 has and 0.11 has not (its catalog says so).

>>> share_of(25)
20
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perfcfg.harness import binaries
from perfcfg.services.monitor import (
    ACCOUNT,
    Alert,
    Command,
    Drill,
    Exporter,
    Monitor,
    Panel,
    Scope,
    Series,
)

if TYPE_CHECKING:
    from perfcfg import model
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.postgres.daemon import PostgresServer

# Debian 12's 0.11 fails on PostgreSQL 17 (pg_stat_bgwriter lost its checkpoint columns);
# Debian 13's 0.17 reads 15-18 and labels backends with their backend_type.
EXPORTER = Exporter("postgres_exporter", "prometheus-postgres-exporter", ("0.11", "0.17"),
                    pinned="0.17", system="0.11")
# "Above ~80 % of what the budget gives" (issue 24): a fifth of the budget left is the time
# to react before clients see "too many clients already".
CONNECTIONS_SHARE = 0.8
SERVICE = "postgres"
# Debian's packaged socket directory, where the exporter looks when the plan names none.
SOCKET_DIR = "/var/run/postgresql"
# The database the exporter connects to: every cluster has it, and its views are cluster-wide.
EXPORTER_DB = "postgres"
# The exporter's login among the environment's direct clients.
EXPORTER_CLIENT = "postgres_exporter"
# The predefined role that lets it read every session's state and every statistics view.
MONITOR_ROLE = "pg_monitor"


def share_of(max_connections: int) -> int:
    """The backend count past which the connection alert fires."""
    return math.floor(max_connections * CONNECTIONS_SHARE)


def alerts(plan: Plan, config: Config, scope: Scope) -> list[Alert]:
    labels = scope.labels(SERVICE)
    sel = scope.sel(SERVICE)
    max_conn = int(plan.value("postgres.max_connections"))
    buffers = int(plan.value("postgres.shared_buffers"))
    limit = share_of(max_conn)
    setting = plan.settings["postgres.max_connections"]
    why = f" ({setting.rule}: {setting.reason})" if setting.rule else ""
    client = scope.sel(SERVICE, backend_type="client backend")
    dbname = (config.databases[0].dbname or config.databases[0].name) if config.databases \
        else "postgres"
    backend_labels = (*labels, ("backend_type", "client backend"), ("datname", dbname),
                      ("state", "active"))
    return [
        Alert("PostgresDown", SERVICE, "health", f"pg_up{sel} == 0", "critical", "1m",
              f"postgres_exporter of {scope.env} cannot reach PostgreSQL",
              "pg_up is 0 when the exporter's connection fails", (),
              (Series("pg_up", labels, ok="1", bad="0"),)),
        Alert("PostgresConnectionsNearBudget", SERVICE, "threshold",
              f"sum by (job, instance) (pg_stat_activity_count{client}) > {limit}",
              "warning", "5m",
              f"more than {limit} of the {max_conn} connections the budget gives PostgreSQL "
              "are in use",
              f"{limit} = {CONNECTIONS_SHARE:.0%} of postgres.max_connections = {max_conn}{why}",
              ("postgres.max_connections",),
              (Series("pg_stat_activity_count", backend_labels, ok=str(limit),
                      bad=str(limit + 1)),),
              by=("job", "instance")),
        Alert("PostgresMaxConnectionsDrift", SERVICE, "drift",
              f"pg_settings_max_connections{sel} != {max_conn}", "warning", "5m",
              f"PostgreSQL runs with another max_connections than the {max_conn} compiled "
              f"for {scope.env}",
              f"{max_conn} = postgres.max_connections as compiled{why}",
              ("postgres.max_connections",),
              (Series("pg_settings_max_connections", labels, ok=str(max_conn),
                      bad=str(max_conn + 1)),)),
        Alert("PostgresSharedBuffersDrift", SERVICE, "drift",
              f"pg_settings_shared_buffers_bytes{sel} != {buffers}", "warning", "5m",
              f"PostgreSQL runs with another shared_buffers than the {buffers} bytes compiled "
              f"for {scope.env}",
              f"{buffers} = postgres.shared_buffers in bytes as compiled",
              ("postgres.shared_buffers",),
              (Series("pg_settings_shared_buffers_bytes", labels, ok=str(buffers),
                      bad=str(buffers + 8192)),)),
    ]


def panels(plan: Plan, config: Config, scope: Scope) -> list[Panel]:
    max_conn = int(plan.value("postgres.max_connections"))
    client = scope.sel(SERVICE, backend_type="client backend")
    return [Panel("PostgreSQL connections against the budget",
                  ((f"sum by (instance) (pg_stat_activity_count{client})", "client backends"),),
                  lines=((share_of(max_conn), "PostgresConnectionsNearBudget fires above"),
                         (max_conn, "postgres.max_connections")))]


def exporter_client(config: Config) -> list[model.Client]:
    """The exporter's login: one connection over the Unix socket as the ``prometheus`` role,
    by peer (roles.sql makes it a member of pg_monitor, which reads every statistics view)."""
    from perfcfg import model

    return [model.Client(name=EXPORTER_CLIENT, user=ACCOUNT, database=EXPORTER_DB,
                         address="local", method="peer", connections=1)]


def deployed(plan: Plan, config: Config) -> Command:
    """Debian's unit runs the exporter as ``prometheus``, which reaches PostgreSQL over the
    Unix socket as the role of that name: peer authentication, no password anywhere
    (pg_hba.conf's line and roles.sql's role follow from ``exporter_client``)."""
    socket_dir = str(plan.value("postgres.unix_socket_directories") or SOCKET_DIR).split(",")[0]
    dsn = (f"user={ACCOUNT} host={socket_dir.strip()} port={plan.value('postgres.port', 5432)} "
           f"dbname={EXPORTER_DB} sslmode=disable")
    return Command(("--web.listen-address={listen}",), {"DATA_SOURCE_NAME": dsn})


def live(command: Command, pg: PostgresServer, plan: Plan, files: Mapping[str, str]) -> Command:
    """The exporter against the server ``perfcfg verify`` booted: roles.sql run first (the
    exporter's role, as a deploy runs it), the socket's directory opened for the exporter's
    account to pass through (Debian's /var/run/postgresql is), its socket and port."""
    import os
    import re

    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require

    done = procs.run([require("psql", pg.version), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                      "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
                      "-f", _scratch_file(pg.dir, files["roles.sql"])])
    if done.returncode != 0:
        from perfcfg.harness.errors import DaemonError

        raise DaemonError("postgresql", "roles.sql failed", done.stderr)
    os.chmod(pg.dir, 0o711)
    dsn = re.sub(r"\bport=\S+", f"port={pg.port}",
                 re.sub(r"\bhost=\S+", f"host={pg.dir}", command.env["DATA_SOURCE_NAME"]))
    return Command(command.args, {**command.env, "DATA_SOURCE_NAME": dsn},
                   procs.service_account(ACCOUNT))


def _scratch_file(directory: str, text: str) -> str:
    path = f"{directory}/roles.sql"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _max_connections_drift(pg: PostgresServer, plan: Plan, config: Config,
                           resolved: Mapping[str, str]) -> Callable[[], None]:
    """ALTER SYSTEM SET max_connections and a restart: the server runs with another number."""
    compiled = int(plan.value("postgres.max_connections"))
    pg.query(f"ALTER SYSTEM SET max_connections = {compiled + DRIFT}")
    pg.restart()

    def undo() -> None:
        pg.query("ALTER SYSTEM RESET max_connections")
        pg.restart()

    return undo


# A hand change's size: enough to be a different number, small enough to fit the host.
DRIFT = 10
DRILLS = (Drill("ALTER SYSTEM SET max_connections + restart",
                lambda plan, config: ("PostgresMaxConnectionsDrift",), _max_connections_drift),)


def daemons() -> list[tuple[str, str]]:
    return [("postgresql", v) for v in binaries.versions("postgresql")]


@contextmanager
def probe(daemon: str, version: str) -> Iterator[Command]:
    """A throwaway PostgreSQL ``version`` and the exporter command that reads it (as its
    superuser, over loopback TCP, which the harness's initdb trusts)."""
    from perfcfg.services.postgres.daemon import PostgresServer

    with PostgresServer("", version=version) as pg:
        dsn = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres?sslmode=disable"
        yield Command(("--web.listen-address={listen}",), {"DATA_SOURCE_NAME": dsn})


MONITOR = Monitor(EXPORTER, alerts, daemons, probe, ready="pg_up 1", port=9187,
                  deployed=deployed, panels=panels, clients=exporter_client, live=live,
                  drills=DRILLS)
