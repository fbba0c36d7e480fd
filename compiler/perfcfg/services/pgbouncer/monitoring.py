"""pgbouncer's monitoring: pgbouncer_exporter, and the alerts on its pools and client limit.

Each pool's size and ``max_client_conn`` are the plan's numbers. The exporter is Debian 13's
Go pgbouncer_exporter: Debian 12's Python one (1.7) reads SHOW STATS's ``total_requests``,
which pgbouncer 1.18 and 1.24 do not report, and stops before it listens. It connects with
``extra_float_digits`` in its startup packet, which pgbouncer refuses unless
``ignore_startup_parameters`` names it (perfcfg's pgbouncer.ini does).

>>> near_max(100)
80
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

EXPORTER = Exporter("pgbouncer_exporter", "prometheus-pgbouncer-exporter", ("0.10",),
                    pinned="0.10")
# Client connections past this share of max_client_conn leave too little for a rolling
# deploy, whose old and new workers overlap (why max_client_conn is twice the workers').
CLIENTS_SHARE = 0.8
SERVICE = "pgbouncer"


def near_max(max_client_conn: int) -> int:
    return math.floor(max_client_conn * CLIENTS_SHARE)


def alerts(plan: Plan, config: Config, scope: Scope) -> list[Alert]:
    labels = scope.labels(SERVICE)
    sel = scope.sel(SERVICE)
    max_clients = int(plan.value("pgbouncer.max_client_conn"))
    near = near_max(max_clients)
    out = [
        Alert("PgbouncerDown", SERVICE, "health", f"pgbouncer_up{sel} == 0", "critical", "1m",
              f"pgbouncer_exporter of {scope.env} cannot reach pgbouncer",
              "pgbouncer_up is 0 when the exporter's console connection fails", (),
              (Series("pgbouncer_up", labels, ok="1", bad="0"),)),
        Alert("PgbouncerClientsWaiting", SERVICE, "health",
              f"pgbouncer_pools_client_waiting_connections{sel} > 0", "warning", "1m",
              f"clients of {scope.env} wait for a server connection in pgbouncer",
              "a waiting client is a pool at its size: its queries queue until one frees up",
              (), (Series("pgbouncer_pools_client_waiting_connections",
                          (*labels, ("database", "app"), ("user", "app")), ok="0", bad="1"),)),
        Alert("PgbouncerClientsNearMax", SERVICE, "threshold",
              f"pgbouncer_used_clients{sel} > {near}", "warning", "5m",
              f"more than {near} of pgbouncer's {max_clients} client connections are in use",
              f"{near} = {CLIENTS_SHARE:.0%} of pgbouncer.max_client_conn = {max_clients}",
              ("pgbouncer.max_client_conn",),
              (Series("pgbouncer_used_clients", labels, ok=str(near), bad=str(near + 1)),)),
        Alert("PgbouncerMaxClientConnDrift", SERVICE, "drift",
              f"pgbouncer_config_max_client_connections{sel} != {max_clients}", "warning", "5m",
              f"pgbouncer runs with another max_client_conn than the {max_clients} compiled "
              f"for {scope.env}",
              f"{max_clients} = pgbouncer.max_client_conn as compiled",
              ("pgbouncer.max_client_conn",),
              (Series("pgbouncer_config_max_client_connections", labels, ok=str(max_clients),
                      bad=str(max_clients + 1)),)),
    ]
    for db in plan.parts[SERVICE]:
        name, size = db["name"], int(db["pool_size"])
        path = f"pgbouncer.databases.{name}.pool_size"
        pool = scope.sel(SERVICE, database=name)
        out += [
            Alert("PgbouncerPoolSaturated", SERVICE, "threshold",
                  f"pgbouncer_pools_server_active_connections{pool} >= {size}", "warning", "5m",
                  f"pool {name} of {scope.env} has used all {size} server connections for 5m",
                  f"{size} = {path}", (path,),
                  (Series("pgbouncer_pools_server_active_connections",
                          (*labels, ("database", name), ("user", "app")),
                          ok=str(size - 1), bad=str(size)),), extra=(("pool", name),)),
            Alert("PgbouncerPoolSizeDrift", SERVICE, "drift",
                  f"pgbouncer_databases_pool_size{scope.sel(SERVICE, name=name)} != {size}",
                  "warning", "5m",
                  f"pool {name} runs with another pool_size than the {size} compiled "
                  f"for {scope.env}",
                  f"{size} = {path} as compiled", (path,),
                  (Series("pgbouncer_databases_pool_size", (*labels, ("name", name)),
                          ok=str(size), bad=str(size + 1)),), extra=(("pool", name),)),
        ]
    return out


def daemons() -> list[tuple[str, str]]:
    return [("pgbouncer", v) for v in binaries.versions("pgbouncer")]


# The catalog's pgbouncer: one database (so the per-database series exist) and the startup
# parameter the exporter's driver sends.
PROBE_INI = ("[databases]\napp = host=127.0.0.1 port=5432 dbname=postgres pool_size=7\n"
             "[pgbouncer]\nauth_type = trust\nignore_startup_parameters = extra_float_digits\n")


@contextmanager
def probe(daemon: str, version: str) -> Iterator[Command]:
    """A throwaway pgbouncer ``version`` in front of PostgreSQL, and the exporter command that
    reads its console as the built-in ``pgbouncer`` user over the unix socket (admitted
    without a password because the exporter runs as pgbouncer's own account)."""
    from perfcfg.services.pgbouncer.daemon import PgBouncer
    from perfcfg.services.postgres.daemon import PostgresServer

    with PostgresServer("") as pg, PgBouncer(PROBE_INI, '"app" ""\n', backend=pg,
                                             version=version) as bnc:
        url = f"postgres://pgbouncer@:{bnc.port}/pgbouncer?host={bnc.dir}&sslmode=disable"
        yield Command(("--web.listen-address={listen}", f"--pgBouncer.connectionString={url}"),
                      account=bnc.account)


MONITOR = Monitor(EXPORTER, alerts, daemons, probe, ready="pgbouncer_up 1")
