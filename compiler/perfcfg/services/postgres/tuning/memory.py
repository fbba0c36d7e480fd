"""PostgreSQL memory: shared_buffers, caches, work_mem and maintenance memory, all carved from
PostgreSQL's **own** budget (``budget.postgres``), not from the whole host.

work_mem follows PGTune's model ``(budget − shared_buffers) / ((max_connections +
max_worker_processes) × 3)`` but with the pooled ``max_connections``, and is held so the worst
case that :mod:`perfcfg.tune.checks` proves (``shared_buffers + max_connections × work_mem ×
1.5 + autovacuum``) stays inside the budget.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> prior = {"budget.postgres": 16 * GiB, "postgres.max_connections": 300,
...          "postgres.max_worker_processes": 8, "postgres.autovacuum_max_workers": 3}
>>> recs = {r.path: r.value for r in recommend(TuneContext("production", Host(16 * GiB, 4),
...         (), (), db_profile="oltp"), prior)}
>>> recs["postgres.shared_buffers"] // GiB, recs["postgres.work_mem"] // 1024
(4, 13617)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import GiB, KiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import floor_to, mib_text, need, pick, rec

PAGE = 8 * KiB                      # BLCKSZ: base unit of shared_buffers, wal_buffers, ecs
# PGTune 830d3bb: shared_buffers T/4 (desktop T/16), effective_cache_size 3T/4 (desktop T/4).
SHARED_BUFFERS_DIVISOR = {"desktop": 16}
SHARED_BUFFERS_DIVISOR_DEFAULT = 4
CACHE_FRACTION = {"desktop": 0.25}
CACHE_FRACTION_DEFAULT = 0.75
SHARED_BUFFERS_MIN = 16 * MiB
# A development database is small; more shared memory only slows a laptop.
DEV_SHARED_BUFFERS_CAP = 1 * GiB
# PGTune 830d3bb: maintenance_work_mem T/16 (dw T/8), capped at 8GB.
MAINTENANCE_DIVISOR = {"dw": 8}
MAINTENANCE_DIVISOR_DEFAULT = 16
MAINTENANCE_CAP = 8 * GiB
MAINTENANCE_MIN = 16 * MiB
# PostgreSQL ≤ 16 docs (maintenance_work_mem): "VACUUM is only able to utilize up to a maximum
# of 1GB" for dead tuple ids; 17 removed the limit, PGTune then uses 2GB.
AUTOVACUUM_MEM_CAP = {True: 1 * GiB, False: 2 * GiB}     # key: version ≤ 16
AUTOVACUUM_MEM_UNLIMITED_SINCE = 17
# Autovacuum's worst case held to 3/16 of the budget: PGTune's 3 default workers × T/16.
AUTOVACUUM_SHARE = 3 / 16
# PGTune 830d3bb work_mem: "× 3" nodes per backend; dw/mixed halve, desktop divides by 6;
# floor 4MB (PostgreSQL's default).
WORK_MEM_NODES = 3
WORK_MEM_DIVISOR = {"dw": 2, "mixed": 2, "desktop": 6}
WORK_MEM_FLOOR = 4 * MiB
WORK_MEM_MIN = 64 * KiB             # pg_settings min_val
# One sort/hash above 1GB rarely gets faster, and hash nodes take hash_mem_multiplier (2) × it.
WORK_MEM_CAP = 1 * GiB
# postgresqltuner.pl's worst case counts work_mem × 150% per connection (wmp default 150).
WORK_MEM_WORST_FACTOR = 1.5
# PGTune 830d3bb: huge_pages = try when shared_buffers ≥ 2GB.
HUGE_PAGES_FROM = 2 * GiB
# PostgreSQL's wal_buffers = -1 rule (xlog.c XLOGChooseNumBuffers): shared_buffers / 32,
# between 8 pages and one WAL segment (16MB).
WAL_BUFFERS_DIVISOR = 32
WAL_BUFFERS_MIN = 8 * PAGE
WAL_BUFFERS_MAX = 16 * MiB


def shared_buffers(ctx: TuneContext, budget: int) -> int:
    divisor = SHARED_BUFFERS_DIVISOR.get(ctx.db_profile, SHARED_BUFFERS_DIVISOR_DEFAULT)
    value = max(SHARED_BUFFERS_MIN, floor_to(budget / divisor, MiB))
    return min(value, DEV_SHARED_BUFFERS_CAP) if ctx.env == "development" else value


def maintenance_work_mem(ctx: TuneContext, budget: int) -> int:
    divisor = MAINTENANCE_DIVISOR.get(ctx.db_profile, MAINTENANCE_DIVISOR_DEFAULT)
    return max(MAINTENANCE_MIN, min(MAINTENANCE_CAP, floor_to(budget / divisor, MiB)))


def autovacuum_work_mem(ctx: TuneContext, budget: int, mwm: int, workers: int) -> int:
    cap = AUTOVACUUM_MEM_CAP[ctx.versions.postgres < AUTOVACUUM_MEM_UNLIMITED_SINCE]
    share = floor_to(budget * AUTOVACUUM_SHARE / max(1, workers), MiB)
    return max(MiB, min(mwm, cap, share))


def work_mem(ctx: TuneContext, budget: int, sb: int, conns: int, slots: int,
             autovacuum_total: int) -> tuple[int, int, int]:
    """(value, PGTune-model value, fit limit) in bytes, each a whole number of kB."""
    model = (budget - sb) / ((conns + slots) * WORK_MEM_NODES)
    model = floor_to(model / WORK_MEM_DIVISOR.get(ctx.db_profile, 1), KiB)
    fit = floor_to((budget - sb - autovacuum_total) / (max(1, conns) * WORK_MEM_WORST_FACTOR),
                   KiB)
    value = min(max(model, min(WORK_MEM_FLOOR, fit)), WORK_MEM_CAP)
    return max(WORK_MEM_MIN, value), model, fit


def _buffers(ctx: TuneContext, budget: int, sb: int) -> list[Recommendation]:
    fraction = CACHE_FRACTION.get(ctx.db_profile, CACHE_FRACTION_DEFAULT)
    wal = max(WAL_BUFFERS_MIN, min(WAL_BUFFERS_MAX, floor_to(sb / WAL_BUFFERS_DIVISOR, PAGE)))
    huge = "try" if sb >= HUGE_PAGES_FROM and ctx.env != "development" else "off"
    return [
        rec("postgres.shared_buffers", sb, "pg.memory.shared_buffers",
            f"a quarter of PostgreSQL's {mib_text(budget)} (the OS page cache holds the rest)"
            if ctx.db_profile != "desktop" else "1/16 of the budget for a desktop database",
            "budget / 4 (desktop / 16), ≥ 16MiB" + (", ≤ 1GiB in development"
                                                    if ctx.env == "development" else ""),
            {"budget": budget, "profile": ctx.db_profile, "env": ctx.env}),
        rec("postgres.effective_cache_size", floor_to(budget * fraction, MiB),
            "pg.memory.effective_cache_size",
            "shared_buffers plus the page cache PostgreSQL can count on",
            f"budget × {fraction}", {"budget": budget}),
        rec("postgres.huge_pages", huge, "pg.memory.huge_pages",
            "from 2GiB of shared memory huge pages pay off: set vm.nr_hugepages from "
            "postgres -C shared_memory_size_in_huge_pages (try falls back without them)"
            if huge == "try" else "shared memory below 2GiB (or development): not worth it",
            "try if shared_buffers ≥ 2GiB else off", {"shared_buffers": sb}),
        rec("postgres.wal_buffers", wal, "pg.memory.wal_buffers",
            "what PostgreSQL's own -1 rule picks, written out so it can be explained",
            "clamp(shared_buffers / 32, 64kB, 16MB)", {"shared_buffers": sb},
            deviation="" if wal == WAL_BUFFERS_MAX else
            "PostgreSQL's rule (shared_buffers/32) instead of PGTune's 3%, below 512MB"),
    ]


def _maintenance(ctx: TuneContext, budget: int, mwm: int, avwm: int,
                 workers: int) -> list[Recommendation]:
    cap = AUTOVACUUM_MEM_CAP[ctx.versions.postgres < AUTOVACUUM_MEM_UNLIMITED_SINCE]
    return [
        rec("postgres.maintenance_work_mem", mwm, "pg.memory.maintenance_work_mem",
            "index builds and manual VACUUM get 1/16 of the budget (dw 1/8), at most 8GiB",
            "clamp(budget / 16 (dw / 8), 16MiB, 8GiB)", {"budget": budget}),
        rec("postgres.autovacuum_work_mem", avwm, "pg.memory.autovacuum_work_mem",
            f"{workers} autovacuum workers share 3/16 of the budget, never more than VACUUM "
            f"can use ({mib_text(cap)} on PostgreSQL {ctx.versions.postgres})",
            "min(maintenance_work_mem, version cap, budget × 3/16 / autovacuum_max_workers)",
            {"budget": budget, "autovacuum_max_workers": workers, "version": ctx.versions.postgres},
            deviation="always bounded: PostgreSQL ≤ 16 VACUUM uses at most 1GB, and the "
                      "workers' total must fit the budget; PGTune sets 2GB only when "
                      "maintenance_work_mem ≥ 2GB"),
    ]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    budget = int(need(prior, "budget.postgres"))
    conns = int(need(prior, "postgres.max_connections"))
    slots = int(need(prior, "postgres.max_worker_processes"))
    workers = int(need(prior, "postgres.autovacuum_max_workers"))
    sb = int(pick(ctx, "postgres.shared_buffers", shared_buffers(ctx, budget)))
    mwm = int(pick(ctx, "postgres.maintenance_work_mem", maintenance_work_mem(ctx, budget)))
    avwm = int(pick(ctx, "postgres.autovacuum_work_mem",
                    autovacuum_work_mem(ctx, budget, mwm, workers)))
    av_each = mwm if avwm == -1 else avwm
    wm, model, fit = work_mem(ctx, budget, sb, conns, slots, workers * av_each)
    pooled = "postgres.max_connections" not in ctx.fixed and bool(ctx.pools)
    inputs = {"budget": budget, "shared_buffers": sb, "max_connections": conns,
              "max_worker_processes": slots, "profile": ctx.db_profile, "fit_limit": fit}
    deviation = ("sized from the pooled max_connections and PostgreSQL's own memory share, "
                 "not PGTune's connection guess and the whole host" if pooled else "")
    if wm != max(model, WORK_MEM_FLOOR):
        deviation = (deviation + "; " if deviation else "") + (
            f"held at {mib_text(wm)} so the worst case fits the budget or stays ≤ 1GiB "
            f"(PGTune's model gives {mib_text(model)}, floor 4MB)")
    wm_rec = rec("postgres.work_mem", wm, "pg.memory.work_mem",
                 f"{conns} connections + {slots} workers × 3 sorts/hashes share "
                 f"{mib_text(budget - sb)} of PostgreSQL's memory",
                 "(budget − shared_buffers) / ((max_connections + max_worker_processes) × 3)"
                 " / profile divisor, ≥ min(4MB, fit), ≤ 1GiB", inputs, deviation)
    return _buffers(ctx, budget, sb) + [wm_rec] + _maintenance(ctx, budget, mwm, avwm, workers)
