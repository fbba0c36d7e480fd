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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from perfcfg.harness import binaries
from perfcfg.services.monitor import Alert, Command, Drill, Exporter, Monitor, Panel, Scope, Series
from perfcfg.services.pgbouncer import backend

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.pgbouncer.daemon import PgBouncer

EXPORTER = Exporter("pgbouncer_exporter", "prometheus-pgbouncer-exporter", ("0.10",),
                    pinned="0.10")
# Client connections past this share of max_client_conn leave too little for a rolling
# deploy, whose old and new workers overlap (why max_client_conn is twice the workers').
CLIENTS_SHARE = 0.8
SERVICE = "pgbouncer"
# Debian's packaged socket directory, where the exporter looks when the plan names none.
SOCKET_DIR = "/var/run/postgresql"


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


def panels(plan: Plan, config: Config, scope: Scope) -> list[Panel]:
    max_clients = int(plan.value("pgbouncer.max_client_conn"))
    out = []
    for db in plan.parts[SERVICE]:
        pool = scope.sel(SERVICE, database=db["name"])
        out.append(Panel(
            f"pgbouncer pool {db['name']}: server connections and waiting clients",
            ((f"sum(pgbouncer_pools_server_active_connections{pool})", "server connections in use"),
             (f"sum(pgbouncer_pools_client_waiting_connections{pool})", "clients waiting")),
            lines=((int(db["pool_size"]), f"pgbouncer.databases.{db['name']}.pool_size"),)))
    out.append(Panel("pgbouncer client connections",
                     ((f"pgbouncer_used_clients{scope.sel(SERVICE)}", "client connections"),),
                     lines=((near_max(max_clients), "PgbouncerClientsNearMax fires above"),
                            (max_clients, "pgbouncer.max_client_conn"))))
    return out


def deployed(plan: Plan, config: Config) -> Command:
    """Debian's unit runs the exporter as pgbouncer's own account (``postgres``), so it logs in
    to the admin console as the built-in ``pgbouncer`` user over the Unix socket, which
    pgbouncer admits without a password from the account it runs as."""
    socket_dir = plan.value("pgbouncer.unix_socket_dir") or SOCKET_DIR
    url = (f"postgres://pgbouncer@:{plan.value('pgbouncer.listen_port', 6432)}/pgbouncer"
           f"?host={socket_dir}&sslmode=disable")
    return Command(("--web.listen-address={listen}",),
                   {"PGBOUNCER_EXPORTER_CONNECTION_STRING": url})


def live(command: Command, bnc: PgBouncer, plan: Plan, files: Mapping[str, str]) -> Command:
    """The exporter against the pgbouncer ``perfcfg verify`` booted: its socket and port, run
    as pgbouncer's own account (the console admits ``pgbouncer`` from it, as on the host)."""
    url = (f"postgres://pgbouncer@:{bnc.port}/pgbouncer?host={bnc.dir}&sslmode=disable")
    return Command(command.args, {**command.env, "PGBOUNCER_EXPORTER_CONNECTION_STRING": url},
                   bnc.account)


def _fill_pool(bnc: PgBouncer, plan: Plan, config: Config,
               resolved: Mapping[str, str]) -> Callable[[], None]:
    """More clients than the first pool and its reserve hold, each in a query: the pool is at
    its size and the rest wait."""
    import contextlib
    import threading

    import psycopg

    db = plan.parts[SERVICE][0]
    declared = next(d for d in config.databases if d.name == db["name"])
    user = declared.user or (config.users[0].name if config.users else "postgres")
    password = resolved.get(f"users.{user}.password")
    count = int(db["pool_size"]) + int(db.get("reserve_pool") or 0) + WAITING
    conns = [psycopg.connect(host="127.0.0.1", port=bnc.port, dbname=db["name"], user=user,
                             password=password, autocommit=True, prepare_threshold=None,
                             connect_timeout=10) for _ in range(count)]

    def hold(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        with contextlib.suppress(psycopg.Error):   # cancelled by undo()
            conn.execute(f"SELECT pg_sleep({HOLD_SECONDS})")

    threads = [threading.Thread(target=hold, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()

    def undo() -> None:
        for conn in conns:
            conn.cancel_safe()
        for t in threads:
            t.join(timeout=HOLD_SECONDS)
        for conn in conns:
            conn.close()

    return undo


# Clients past the pool and its reserve: they wait.
WAITING = 2
# The longest a drill's query holds its server connection (undo cancels it sooner).
HOLD_SECONDS = 120
DRILLS = (Drill("clients fill a pool until they wait",
                lambda plan, config: ("PgbouncerClientsWaiting", "PgbouncerPoolSaturated"),
                _fill_pool, when=lambda plan, config: bool(plan.parts.get(SERVICE))),)


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


MONITOR = Monitor(EXPORTER, alerts, daemons, probe, ready="pgbouncer_up 1", port=9127,
                  account=backend.ACCOUNT, deployed=deployed, panels=panels, live=live,
                  drills=DRILLS)
