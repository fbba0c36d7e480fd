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

from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import mib_text, rec

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
# PostgreSQL 18 reads through read streams on the asynchronous I/O subsystem (io_method) on
# every platform, posix_fadvise or not, and both settings default to 16
# (schemas/catalogs/postgresql-18.json): never write less than that, not even for a disk.
READ_STREAMS_SINCE = 18
READ_STREAM_DEFAULT = 16
# From 18 maintenance_io_concurrency is the read-stream depth of each VACUUM and of each
# autovacuum worker: 1000 per worker (NVMe's effective_io_concurrency) times 3–5 workers floods
# the device the queries read from. 100 keeps VACUUM far ahead of PostgreSQL's defaults.
MAINTENANCE_IO_CONCURRENCY_CAP = 100
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
    storage, version = ctx.host.storage, ctx.versions.postgres
    streams = version >= READ_STREAMS_SINCE
    if ctx.host.os not in PREFETCH_OS and not streams:
        return _no_prefetch(ctx)
    table = IO_CONCURRENCY_SINCE_13 if version >= IO_UNITS_CHANGED_IN else IO_CONCURRENCY_BEFORE_13
    eio = max(table[storage], READ_STREAM_DEFAULT) if streams else table[storage]
    deviation = ""
    if eio != PGTUNE_IO_CONCURRENCY[storage]:
        deviation = (f"PostgreSQL ≥ 13 counts concurrent I/Os; PGTune's "
                     f"{PGTUNE_IO_CONCURRENCY[storage]} is in pre-13 units, perfcfg uses {eio}"
                     + (f" (never below {version}'s default {READ_STREAM_DEFAULT})"
                        if streams and eio == READ_STREAM_DEFAULT else " as timescaledb-tune does"))
    where = ("" if ctx.host.os in PREFETCH_OS else
             f" on {ctx.host.os} too: PostgreSQL {READ_STREAMS_SINCE}+ reads ahead through "
             "its I/O workers, without posix_fadvise")
    out = [rec("postgres.effective_io_concurrency", eio, "pg.planner.effective_io_concurrency",
               f"{storage} serves about {eio} concurrent reads (bitmap heap scans prefetch)"
               + (f"; PostgreSQL {READ_STREAMS_SINCE}+ rule: read streams, never below its "
                  f"default {READ_STREAM_DEFAULT}" if streams else "") + where,
               f"{storage} table (PostgreSQL {'≥' if version >= 13 else '<'} 13 units)"
               + (f", ≥ {READ_STREAM_DEFAULT} from {READ_STREAMS_SINCE}" if streams else ""),
               {"storage": storage, "version": version, "os": ctx.host.os}, deviation)]
    if version >= IO_UNITS_CHANGED_IN:
        floor = READ_STREAM_DEFAULT if streams else MAINTENANCE_IO_CONCURRENCY_DEFAULT
        cap = MAINTENANCE_IO_CONCURRENCY_CAP if streams else eio
        mio = min(max(eio, floor), max(cap, floor))
        why = ("VACUUM and index builds may prefetch as much as queries" if mio == eio else
               f"each VACUUM (and each autovacuum worker) reads ahead {mio} pages at most: "
               f"{eio} per worker would flood the device the queries read from"
               if mio < eio else
               f"PostgreSQL's default {floor}: VACUUM's prefetch pays off even on a spinning "
               "disk")
        out.append(rec("postgres.maintenance_io_concurrency", mio,
                       "pg.planner.maintenance_io_concurrency", why,
                       f"max(effective_io_concurrency, {floor})" + (
                           f", ≤ {MAINTENANCE_IO_CONCURRENCY_CAP} from {READ_STREAMS_SINCE}"
                           if streams else ""),
                       {"storage": storage, "effective_io_concurrency": eio,
                        "version": version}))
    return out


def in_memory(ctx: TuneContext, prior: Mapping[str, Any]) -> bool:
    """The declared data (with its headroom) fits the cache PostgreSQL can count on: its pages
    are read from memory, whatever the disk (PGTune's dbSize "less than RAM")."""
    need = pg_memory.data_need(ctx)
    if need is None or "budget.postgres" not in prior:
        return False
    fraction = pg_memory.CACHE_FRACTION.get(ctx.db_profile, pg_memory.CACHE_FRACTION_DEFAULT)
    return need <= int(prior["budget.postgres"]) * fraction


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    cached = in_memory(ctx, prior)
    slow = (ctx.host.storage == "hdd" or ctx.db_profile == "dw") and not cached
    rpc = RANDOM_PAGE_COST_SLOW if slow else RANDOM_PAGE_COST_FLASH
    out = [rec("postgres.random_page_cost", rpc, "pg.planner.random_page_cost",
               "random reads cost ~4× sequential on spinning disks and for data beyond RAM"
               if slow else
               f"the declared data ({mib_text(ctx.data_size or 0)}) fits in the "
               "cache: a random read costs no more than a sequential one" if cached and (
                   ctx.host.storage == "hdd" or ctx.db_profile == "dw")
               else "random reads cost about as much as sequential ones on flash",
               "1.1 if the declared data fits the cache, else 4 if hdd or dw, else 1.1",
               {"storage": ctx.host.storage, "profile": ctx.db_profile,
                "data_size": ctx.data_size, "fits_in_cache": cached})]
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
