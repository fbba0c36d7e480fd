"""PostgreSQL planner and storage costs: page costs and I/O concurrency by storage, statistics
depth and JIT by profile.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> recs = recommend(TuneContext("production", Host(8 * GiB, 8, "hdd"), (), ()), {})
>>> [(r.path, r.value) for r in recs][:2]
[('postgres.random_page_cost', 4.0), ('postgres.effective_io_concurrency', 2)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec

# PGTune 830d3bb: HDD → 4 (PostgreSQL's default); dw → 4 (data assumed larger than RAM);
# otherwise 1.1 (random reads cost about as much as sequential ones on flash).
RANDOM_PAGE_COST_SLOW = 4.0
RANDOM_PAGE_COST_FLASH = 1.1
# effective_io_concurrency counts concurrent I/Os since PostgreSQL 13 (release notes; PGTune
# issue #79). HDD: one spindle pair; SSD 256 as timescaledb-tune for PG ≥ 13 (PR #82);
# SAN and NVMe keep PGTune's values (300, 1000 = the maximum).
IO_CONCURRENCY_SINCE_13 = {"hdd": 2, "ssd": 256, "san": 300, "nvme": 1000}
IO_CONCURRENCY_BEFORE_13 = {"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}
PGTUNE_IO_CONCURRENCY = IO_CONCURRENCY_BEFORE_13
IO_UNITS_CHANGED_IN = 13
# Prefetching uses posix_fadvise, which only Linux has among the supported kernels: PostgreSQL
# ≤ 17 refuses to start with a non-zero value on macOS (both peers write them on Linux only).
PREFETCH_OS = frozenset({"linux"})
# maintenance_io_concurrency boot value: VACUUM prefetches 10 pages even on a spinning disk.
MAINTENANCE_IO_CONCURRENCY_DEFAULT = 10
# PGTune 830d3bb: default_statistics_target 500 for dw, else 100 (PostgreSQL's default).
STATISTICS_TARGET = {"dw": 500}
STATISTICS_TARGET_DEFAULT = 100
# PGTune 830d3bb: jit off for web/oltp/mixed: compiling costs more than short queries save.
JIT_OFF_PROFILES = ("web", "oltp", "mixed")


def _no_prefetch(ctx: TuneContext) -> list[Recommendation]:
    why = f"{ctx.host.os} has no posix_fadvise: prefetching must be off (PostgreSQL ≤ 17 " \
          "refuses to start otherwise)"
    out = [rec("postgres.effective_io_concurrency", 0, "pg.planner.effective_io_concurrency",
               why, "0 off Linux", {"os": ctx.host.os})]
    if ctx.versions.postgres >= IO_UNITS_CHANGED_IN:
        out.append(rec("postgres.maintenance_io_concurrency", 0,
                       "pg.planner.maintenance_io_concurrency", why, "0 off Linux",
                       {"os": ctx.host.os}))
    return out


def _io(ctx: TuneContext) -> list[Recommendation]:
    if ctx.host.os not in PREFETCH_OS:
        return _no_prefetch(ctx)
    storage, version = ctx.host.storage, ctx.versions.postgres
    table = IO_CONCURRENCY_SINCE_13 if version >= IO_UNITS_CHANGED_IN else IO_CONCURRENCY_BEFORE_13
    eio = table[storage]
    deviation = ""
    if eio != PGTUNE_IO_CONCURRENCY[storage]:
        deviation = (f"PostgreSQL ≥ 13 counts concurrent I/Os; PGTune's "
                     f"{PGTUNE_IO_CONCURRENCY[storage]} is in pre-13 units, perfcfg uses {eio} "
                     "as timescaledb-tune does")
    out = [rec("postgres.effective_io_concurrency", eio, "pg.planner.effective_io_concurrency",
               f"{storage} serves about {eio} concurrent reads (bitmap heap scans prefetch)",
               f"{storage} table (PostgreSQL {'≥' if version >= 13 else '<'} 13 units)",
               {"storage": storage, "version": version}, deviation)]
    if version >= IO_UNITS_CHANGED_IN:
        mio = max(eio, MAINTENANCE_IO_CONCURRENCY_DEFAULT)
        out.append(rec("postgres.maintenance_io_concurrency", mio,
                       "pg.planner.maintenance_io_concurrency",
                       "VACUUM and index builds may prefetch as much as queries"
                       if mio == eio else "PostgreSQL's default 10: VACUUM's prefetch pays off "
                       "even on a spinning disk", "max(effective_io_concurrency, 10)",
                       {"storage": storage}))
    return out


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    slow = ctx.host.storage == "hdd" or ctx.db_profile == "dw"
    rpc = RANDOM_PAGE_COST_SLOW if slow else RANDOM_PAGE_COST_FLASH
    out = [rec("postgres.random_page_cost", rpc, "pg.planner.random_page_cost",
               "random reads cost ~4× sequential on spinning disks and for data beyond RAM"
               if slow else "random reads cost about as much as sequential ones on flash",
               "4 if hdd or dw else 1.1", {"storage": ctx.host.storage,
                                             "profile": ctx.db_profile})]
    out += _io(ctx)
    target = STATISTICS_TARGET.get(ctx.db_profile, STATISTICS_TARGET_DEFAULT)
    out.append(rec("postgres.default_statistics_target", target,
                   "pg.planner.default_statistics_target",
                   "deeper statistics for analytic queries" if target != 100
                   else "PostgreSQL's default is right for short queries",
                   "500 if dw else 100", {"profile": ctx.db_profile}))
    if ctx.db_profile in JIT_OFF_PROFILES and ctx.versions.postgres >= 12:
        out.append(rec("postgres.jit", False, "pg.planner.jit",
                       "JIT compilation costs more than short queries save",
                       "off for web/oltp/mixed", {"profile": ctx.db_profile}))
    return out
