"""Write-heavy: TPC-B-like on data several times stock's shared_buffers, run long enough for
several checkpoints — perfcfg vs stock vs PGTune vs timescaledb-tune, PostgreSQL alone.

Configuration matters here where it does not for a read-only, cached data set: every
transaction updates three random rows and inserts one, so the server writes WAL, dirties pages
all over the tables, and after each checkpoint pays a full-page image for the first change of
every page. Stock's ``max_wal_size = 1GB`` forces a checkpoint every gigabyte of WAL; the tuned
configs give the WAL room, and perfcfg also stretches ``checkpoint_timeout`` when the WAL disk
(the host profile's ``wal_disk``) is large.

All four servers start from one ``pgbench -i`` data directory, are reached as the superuser
over their unix socket, and are prewarmed; each run reports the checkpoints it caused
(``pg_stat_bgwriter``) and the WAL it wrote, next to TPS and latency.

timescaledb-tune's values come from its published formulas (timescale/timescaledb-tune
v0.19.0, ``pkg/pgtune/{memory,parallel,wal,misc}.go``) for this machine's memory and CPUs,
without ``--wal-disk-size`` (its default) and without the timescaledb extension's keys.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from bench.database import pgtune_conf
from bench.pgrun import DataTemplate, Run, Target, pgbench, prewarm, stock_conf
from bench.sizes import Size
from bench.stackproject import DATABASE
from perfcfg.host import detect as hostdetect
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer

MiB, GiB = 1 << 20, 1 << 30


def timescaledb_tune_conf(memory: int, cpus: int) -> str:
    """timescaledb-tune 0.19.0's recommendations for ``memory`` bytes and ``cpus`` (no
    --max-conns, no --wal-disk-size, default profile), as postgresql.conf lines."""
    conns = 25 if memory <= 2 * GiB else 50 if memory <= 4 * GiB else \
        75 if memory <= 6 * GiB else 100
    gib = memory / GiB
    cpu_factor = max(1, int(cpus / 2 + 0.5))
    work_mem_kb = max(64, int(gib * (400 * MiB / conns) / cpu_factor) // 1024)
    mwm_mb = min(2047, int(gib * 128))
    locks = 1024 if memory >= 32 * GiB else 512 if memory >= 16 * GiB else \
        256 if memory >= 8 * GiB else 128
    lines = {
        "shared_buffers": f"{memory // 4 // MiB}MB",
        "effective_cache_size": f"{memory * 3 // 4 // MiB}MB",
        "maintenance_work_mem": f"{mwm_mb}MB",
        "work_mem": f"{work_mem_kb}kB",
        "max_worker_processes": str(3 + cpus),     # 3 + timescaledb workers (none here) + CPUs
        "max_parallel_workers_per_gather": str(max(1, int(cpus / 2 + 0.5))),
        "max_parallel_workers": str(cpus),
        "wal_buffers": "16MB",
        "min_wal_size": "512MB",
        "max_wal_size": "1GB",
        "default_statistics_target": "100",
        "random_page_cost": "1.1",
        "checkpoint_completion_target": "0.9",
        "max_connections": str(conns),
        "max_locks_per_transaction": str(locks),
        "autovacuum_max_workers": "10",
        "autovacuum_naptime": "10",
        "default_toast_compression": "lz4",
        "jit": "off",
        "effective_io_concurrency": "256",
    }
    return "".join(f"{k} = {v}\n" for k, v in lines.items())


@dataclass(frozen=True)
class WriteRun:
    run: Run
    checkpoints: int          # timed + requested during the run
    wal_mb: float             # WAL written during the run


def configs(template: PgTemplate, files: dict[str, str], connections: int) -> dict[str, str]:
    host = hostdetect.detect()
    return {"perfcfg": files["postgresql.conf"], "stock": stock_conf(template),
            "PGTune": pgtune_conf(connections),
            "timescaledb-tune": stock_conf(template) + timescaledb_tune_conf(host.memory,
                                                                             host.cpus)}


def _counters(pg: PostgresServer) -> tuple[int, int]:
    [(checkpoints, lsn)] = pg.query(
        "SELECT checkpoints_timed + checkpoints_req, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_bgwriter")
    return int(checkpoints), int(lsn)


def run(size: Size, template: PgTemplate, files: dict[str, str],
        log=print) -> dict[str, dict[str, list[WriteRun]]]:
    """``{"tpcb-like": {config: [WriteRun per round]}}``; the order rotates every round."""
    out: dict[str, list[WriteRun]] = {}
    with DataTemplate(template, size.write_scale) as data, ExitStack() as stack:
        servers: dict[str, PostgresServer] = {}
        targets: dict[str, Target] = {}
        # PGTune's form accepts 20 connections or more; it gets the fleet's, as in `database`
        for name, conf in configs(template, files, max(20, size.fleet_clients)).items():
            pg = stack.enter_context(PostgresServer(conf, data))  # type: ignore[arg-type]
            prewarm(pg)
            servers[name] = pg
            targets[name] = Target(pg.dir, pg.port, "postgres", None,
                                   lambda pg=pg: {"postgres": pg.pids()})
            out[name] = []
        names = list(targets)
        for rnd in range(size.write_reps):
            for name in names[rnd % len(names):] + names[:rnd % len(names)]:
                before = _counters(servers[name])
                r = pgbench(targets[name], size.write_clients, size.write_seconds, [], DATABASE)
                after = _counters(servers[name])
                w = WriteRun(r, after[0] - before[0], (after[1] - before[1]) / MiB)
                log(f"  writes tpcb-like {name} round {rnd + 1}: {r.tps:.0f} tps, "
                    f"{w.checkpoints} checkpoints, {w.wal_mb:.0f} MiB WAL")
                out[name].append(w)
    return {"tpcb-like": out}
