"""Bot fleet: many clients, short transactions — perfcfg's pgbouncer + PostgreSQL vs stock.

The tuned side is the fleet project's ``pgbouncer.ini``, ``userlist.txt``, ``postgresql.conf``
and ``pg_hba.conf`` compiled for this machine; clients log in as ``bot`` with SCRAM through
pgbouncer (transaction pooling), and PostgreSQL stores the very SCRAM secret of the userlist
so pgbouncer can log in on their behalf. The stock side is initdb's postgresql.conf with only
``max_connections`` raised to admit every client (plus the 3 reserved superuser slots), and
the same clients connect straight to it over TCP with SCRAM, as Debian's pg_hba.conf asks.
"""

from __future__ import annotations

from contextlib import ExitStack

from bench.pgrun import DataTemplate, Run, Target, pgbench, prewarm, stock_conf
from bench.sizes import Size
from bench.stackproject import PASSWORD, USER, scram_secret
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer

SCRIPTS = {"select-only (-S)": ["-S"], "tpcb-like": []}
STOCK_HBA = "host all all 127.0.0.1/32 scram-sha-256\n"
RESERVED = 3   # superuser_reserved_connections' default


def _tuned(stack: ExitStack, files: dict[str, str], data: DataTemplate) -> Target:
    pg = stack.enter_context(PostgresServer(files["postgresql.conf"], data,  # type: ignore[arg-type]
                                            hba_text=files["pg_hba.conf"]))
    secret = scram_secret(files["userlist.txt"])
    pg.query(f"ALTER ROLE {USER} PASSWORD '{secret}'")
    prewarm(pg)
    bnc = stack.enter_context(PgBouncer(files["pgbouncer.ini"], files["userlist.txt"], backend=pg))
    return Target("127.0.0.1", bnc.port, USER, PASSWORD,
                  lambda: {"postgres": pg.pids(), "pgbouncer": bnc.pids()})


def _stock(stack: ExitStack, template: PgTemplate, data: DataTemplate, clients: int) -> Target:
    conf = stock_conf(template) + f"\nmax_connections = {clients + RESERVED}\n"
    pg = stack.enter_context(PostgresServer(conf, data, hba_text=STOCK_HBA))  # type: ignore[arg-type]
    pg.query(f"ALTER ROLE {USER} PASSWORD '{PASSWORD}'")
    prewarm(pg)
    return Target("127.0.0.1", pg.port, USER, PASSWORD, lambda: {"postgres": pg.pids()})


def run(size: Size, template: PgTemplate, files: dict[str, str],
        log=print) -> dict[str, dict[str, list[Run]]]:
    """``{script: {config: [Run per round]}}`` with configs run alternately."""
    results: dict[str, dict[str, list[Run]]] = {}
    with DataTemplate(template, size.fleet_scale) as data, ExitStack() as stack:
        targets = {"perfcfg (pgbouncer + tuned PG)": _tuned(stack, files, data),
                   "stock PG, direct": _stock(stack, template, data, size.fleet_clients)}
        for script, args in SCRIPTS.items():
            results[script] = {name: [] for name in targets}
            if size.warmup_seconds:
                for target in targets.values():
                    pgbench(target, size.fleet_clients, size.warmup_seconds, args)
            for rnd in range(size.reps):
                order = list(targets) if rnd % 2 == 0 else list(reversed(targets))
                for name in order:
                    r = pgbench(targets[name], size.fleet_clients, size.seconds, args)
                    log(f"  fleet {script} {name} round {rnd + 1}: {r.tps:.0f} tps, "
                        f"p99 {r.p99_ms:.2f} ms, failed {r.failed}")
                    results[script][name].append(r)
    return results
