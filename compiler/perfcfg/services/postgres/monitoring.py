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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perfcfg.harness import binaries
from perfcfg.services.monitor import Alert, Command, Exporter, Monitor, Scope, Series

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

# Debian 12's 0.11 fails on PostgreSQL 17 (pg_stat_bgwriter lost its checkpoint columns);
# Debian 13's 0.17 reads 15-18 and labels backends with their backend_type.
EXPORTER = Exporter("postgres_exporter", "prometheus-postgres-exporter", ("0.11", "0.17"),
                    pinned="0.17", system="0.11")
# "Above ~80 % of what the budget gives" (issue 24): a fifth of the budget left is the time
# to react before clients see "too many clients already".
CONNECTIONS_SHARE = 0.8
SERVICE = "postgres"


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


MONITOR = Monitor(EXPORTER, alerts, daemons, probe, ready="pg_up 1")
