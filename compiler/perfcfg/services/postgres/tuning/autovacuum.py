"""PostgreSQL autovacuum: enough workers for the CPUs, and earlier vacuums for busy OLTP tables.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> recommend(TuneContext("production", Host(64 * GiB, 16), (), ()), {})[1].value
4
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec

# PGTune 830d3bb: CPUs ≥ 32 → 5 workers, ≥ 16 → 4; below, PostgreSQL's default 3.
AUTOVACUUM_WORKERS = ((32, 5), (16, 4))
AUTOVACUUM_WORKERS_DEFAULT = 3
# PostgreSQL defaults are 0.2 / 0.1 of the table; a bot's hot state tables churn rows quickly,
# so vacuum at 5% and analyze at 2% (T. Vondra, "Autovacuum Tuning Basics", 2ndQuadrant 2017).
OLTP_PROFILES = ("web", "oltp", "mixed")
VACUUM_SCALE_FACTOR = 0.05
ANALYZE_SCALE_FACTOR = 0.02
# autovacuum_vacuum_cost_limit (-1: vacuum_cost_limit, 200) with autovacuum_vacuum_cost_delay
# 2ms (PostgreSQL 12+) lets all workers together dirty 200 / 20 (vacuum_cost_page_dirty) pages
# per 2ms: ~40MB/s, and read ~400MB/s of misses. A spinning disk needs that throttle, flash
# does not: autovacuum falls behind the writes it must clean up. ~400MB/s of dirtied pages on
# SSD and SAN, ~800MB/s on NVMe: below what the device writes, leaving it to the queries.
COST_LIMIT = {"ssd": 2000, "san": 2000, "nvme": 4000}
PAGE_DIRTY_COST, COST_DELAY_MS = 20, 2


def max_workers(cpus: int) -> int:
    return next((n for floor, n in AUTOVACUUM_WORKERS if cpus >= floor),
                AUTOVACUUM_WORKERS_DEFAULT)


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    cpus = ctx.host.cpus
    out = [
        rec("postgres.autovacuum", True, "pg.autovacuum.on",
            "dead rows and wraparound must be cleaned without an operator", "on", {}),
        rec("postgres.autovacuum_max_workers", max_workers(cpus), "pg.autovacuum.max_workers",
            "more tables vacuumed at once on hosts with many CPUs",
            "5 if cpus ≥ 32, 4 if cpus ≥ 16, else 3", {"cpus": cpus}),
    ]
    limit = COST_LIMIT.get(ctx.host.storage)
    if limit is not None:
        rate = limit // PAGE_DIRTY_COST * 8 * 1000 // COST_DELAY_MS // 1024
        out.append(rec("postgres.autovacuum_vacuum_cost_limit", limit,
                       "pg.autovacuum.vacuum_cost_limit",
                       f"{ctx.host.storage} is not the spinning disk the default 200 protects "
                       f"(~40MB/s of dirtied pages for all workers): {limit} lets autovacuum "
                       f"dirty ~{rate}MB/s and keep up with the writes",
                       "2000 on ssd/san, 4000 on nvme, the default (200) on hdd",
                       {"storage": ctx.host.storage}))
    if ctx.db_profile in OLTP_PROFILES:
        out += [
            rec("postgres.autovacuum_vacuum_scale_factor", VACUUM_SCALE_FACTOR,
                "pg.autovacuum.vacuum_scale_factor",
                "vacuum hot tables after 5% of their rows changed, not 20%",
                "0.05", {"profile": ctx.db_profile}),
            rec("postgres.autovacuum_analyze_scale_factor", ANALYZE_SCALE_FACTOR,
                "pg.autovacuum.analyze_scale_factor",
                "keep planner statistics fresh on fast-changing tables",
                "0.02", {"profile": ctx.db_profile}),
        ]
    return out
