"""PostgreSQL worker slots and parallel query: sized from CPUs, never below PostgreSQL's defaults
for the slot pool.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> [r.value for r in recommend(TuneContext("production", Host(16 * GiB, 4), (), ()), {})]
[8, 4, 2, 2]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import ceil_div, pick, rec

# max_worker_processes boot value (pg_settings); parallel workers, logical replication and
# extensions (pg_cron, TimescaleDB) all draw from it, so never go below it.
MAX_WORKER_PROCESSES_DEFAULT = 8
# Slots beyond the CPUs for the logical replication launcher and one extension worker
# (PGTune's "= CPUs" leaves none; timescaledb-tune adds 3 + background workers).
BGWORKER_HEADROOM = 2
# Background workers a preloaded library starts (shared_preload_libraries), from max_worker_
# processes like the parallel workers: TimescaleDB its 16 (timescaledb.max_background_workers,
# timescaledb-tune's default) and a launcher, pg_cron and pg_partman's launcher one each,
# autoprewarm a leader and one per database it loads, pglogical a supervisor and a manager.
# A library listed here without workers needs none; any other may start one.
EXTENSION_WORKERS = {"timescaledb": 17, "pg_cron": 1, "pg_partman_bgw": 1, "pg_prewarm": 2,
                     "pglogical": 2, "citus": 2, "pg_wait_sampling": 1}
NO_WORKERS = frozenset({"pg_stat_statements", "auto_explain", "pgaudit", "pg_hint_plan",
                        "passwordcheck", "auth_delay", "pg_stat_kcache", "pg_qualstats"})
UNKNOWN_LIBRARY_WORKERS = 1
# wal_level = logical: subscriptions' apply and table-sync workers (max_logical_replication_
# workers, default 4) come from the same pool.
LOGICAL_REPLICATION_WORKERS = 4
# PGTune 830d3bb: per-gather ceil(CPUs/2) capped at 4 except dw; maintenance min(ceil(CPUs/2), 4).
PER_GATHER_CAP = 4
MAINTENANCE_CAP = 4
PGTUNE_PARALLEL_MIN_CPUS = 4
# A parallel worker is a process with its own base memory and work_mem: on a host with many
# CPUs and little memory, no more workers than PostgreSQL's budget holds at 32MiB each.
PARALLEL_WORKER_MEMORY = 32 << 20

_SMALL_HOST = ("PGTune emits nothing below 4 CPUs, leaving PostgreSQL's defaults (8 parallel "
               "workers, 2 per gather) that oversubscribe a small host; perfcfg sizes from CPUs")


def libraries(ctx: TuneContext) -> list[str]:
    """shared_preload_libraries as the preset fixed it (a comma-separated string or a list)."""
    value = ctx.fixed.get("postgres.shared_preload_libraries", "")
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(i).strip().strip('"') for i in items if str(i).strip().strip('"')]


def extension_workers(ctx: TuneContext) -> dict[str, int]:
    """Background workers each preloaded library (and logical replication) takes."""
    out = {lib: EXTENSION_WORKERS.get(lib, UNKNOWN_LIBRARY_WORKERS) for lib in libraries(ctx)
           if lib not in NO_WORKERS}
    if ctx.fixed.get("postgres.wal_level") == "logical":
        out["logical replication"] = LOGICAL_REPLICATION_WORKERS
    return out


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    cpus = ctx.host.cpus
    extensions = extension_workers(ctx)
    slots = max(MAX_WORKER_PROCESSES_DEFAULT, cpus + BGWORKER_HEADROOM + sum(extensions.values()))
    by_memory = max(1, int(prior.get("budget.postgres", 0)) // PARALLEL_WORKER_MEMORY) \
        if "budget.postgres" in prior else cpus
    workers = min(cpus, by_memory, int(pick(ctx, "postgres.max_worker_processes", slots)))
    half = 0 if cpus == 1 else ceil_div(cpus, 2)
    half = min(half, workers)
    gather = half if ctx.db_profile == "dw" else min(half, PER_GATHER_CAP)
    gather = min(gather, int(pick(ctx, "postgres.max_parallel_workers", workers)))
    small = _SMALL_HOST if cpus < PGTUNE_PARALLEL_MIN_CPUS else ""
    return [
        rec("postgres.max_worker_processes", slots, "pg.parallel.max_worker_processes",
            "room for every parallel worker plus the replication launcher and an extension"
            + (" and the background workers of " + ", ".join(
                f"{name} ({n})" for name, n in sorted(extensions.items())) if extensions else ""),
            "max(8, cpus + 2 + Σ the preloaded libraries' workers)",
            {"cpus": cpus, "extension_workers": extensions},
            deviation="never below PostgreSQL's default 8 and 2 slots above the CPUs for "
                      "background workers; PGTune sets it to the CPU count (none left over)"),
        rec("postgres.max_parallel_workers", workers, "pg.parallel.max_parallel_workers",
            "at most one parallel worker per CPU across all queries",
            "min(cpus, max_worker_processes, budget / 32MiB)",
            {"cpus": cpus, "by_memory": by_memory}, deviation=small),
        rec("postgres.max_parallel_workers_per_gather", gather,
            "pg.parallel.max_parallel_workers_per_gather",
            "half the CPUs per query" + ("" if ctx.db_profile == "dw" else ", at most 4")
            + (" (none on one CPU: workers would only contend)" if cpus == 1 else ""),
            "0 if cpus = 1 else ceil(cpus / 2)" + ("" if ctx.db_profile == "dw" else " ≤ 4"),
            {"cpus": cpus, "profile": ctx.db_profile}, deviation=small),
        rec("postgres.max_parallel_maintenance_workers", min(half, MAINTENANCE_CAP),
            "pg.parallel.max_parallel_maintenance_workers",
            "index builds and VACUUM may use half the CPUs, at most 4",
            "0 if cpus = 1 else min(ceil(cpus / 2), 4)", {"cpus": cpus}, deviation=small),
    ]
