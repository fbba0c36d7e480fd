"""Database: PostgreSQL alone at a pgbench scale larger than stock shared_buffers (128MB) and
smaller than the tuned one — perfcfg's postgresql.conf vs stock vs PGTune for the same host.

PGTune gets what its web form would: this machine's RAM and CPUs, the host profile's storage
class, "oltp", PostgreSQL 15 and the fleet's worker connections. All three servers start from
the same data directory and are reached as the superuser over their unix socket, so only the
postgresql.conf differs. Each server is prewarmed (``pg_prewarm``) before its first run.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

from perfcfg.host import detect as hostdetect
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer

# PGTune's port is a test oracle (tests/tune/), not part of the perfcfg package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tune.pgtune_oracle import PgTuneInput, pgtune, render_conf  # noqa: E402

from bench.pgrun import DataTemplate, Run, Target, pgbench, prewarm, stock_conf
from bench.sizes import Size
from bench.stackproject import DATABASE

SCRIPTS = {"tpcb-like": [], "select-only (-S)": ["-S"]}


def pgtune_conf(connections: int) -> str:
    host = hostdetect.detect()
    return render_conf(pgtune(PgTuneInput(
        db_version=15, db_type="oltp", total_memory=host.memory // 2**20, total_memory_unit="MB",
        cpu_num=host.cpus, connection_num=connections, hd_type=host.storage)))


def _server(stack: ExitStack, conf: str, data: DataTemplate) -> Target:
    pg = stack.enter_context(PostgresServer(conf, data))  # type: ignore[arg-type]
    prewarm(pg)
    return Target(pg.dir, pg.port, "postgres", None, lambda: {"postgres": pg.pids()})


def configs(template: PgTemplate, files: dict[str, str], connections: int) -> dict[str, str]:
    return {"perfcfg": files["postgresql.conf"], "stock": stock_conf(template),
            "PGTune": pgtune_conf(connections)}


def run(size: Size, template: PgTemplate, files: dict[str, str],
        log=print) -> dict[str, dict[str, list[Run]]]:
    """``{script: {config: [Run per round]}}``; the order of configs rotates every round."""
    results: dict[str, dict[str, list[Run]]] = {}
    with DataTemplate(template, size.db_scale) as data, ExitStack() as stack:
        targets = {name: _server(stack, conf, data) for name, conf
                   in configs(template, files, size.fleet_clients).items()}
        for script, args in SCRIPTS.items():
            results[script] = {name: [] for name in targets}
            if size.warmup_seconds:
                for target in targets.values():
                    pgbench(target, size.db_clients, size.warmup_seconds, args, DATABASE)
            names = list(targets)
            for rnd in range(size.reps):
                for name in names[rnd % len(names):] + names[:rnd % len(names)]:
                    r = pgbench(targets[name], size.db_clients, size.seconds, args, DATABASE)
                    log(f"  database {script} {name} round {rnd + 1}: {r.tps:.0f} tps")
                    results[script][name].append(r)
    return results
