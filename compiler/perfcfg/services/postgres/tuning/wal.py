"""PostgreSQL WAL and checkpoints: per-profile WAL sizes, spread checkpoints, WAL compression.

Durability (fsync, synchronous_commit, wal_level for replicas) is the preset's job, not tuning.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> [r.value for r in recommend(TuneContext("production", Host(16 * GiB, 4), (), (),
...                                         db_profile="oltp"), {})][:2] == [2 * GiB, 8 * GiB]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import mib_text, rec

# PGTune 830d3bb min_wal_size / max_wal_size per profile.
WAL_SIZES = {
    "web": (1 * GiB, 4 * GiB), "oltp": (2 * GiB, 8 * GiB), "dw": (4 * GiB, 16 * GiB),
    "desktop": (100 * MiB, 2 * GiB), "mixed": (1 * GiB, 4 * GiB),
}
# Development keeps PostgreSQL's defaults (pg_settings: 80MB / 1GB): small disks, rare checkpoints.
DEV_WAL_SIZES = (80 * MiB, 1 * GiB)
# PostgreSQL 14 made 0.9 the default (commit bbcc4eb2, cited by PGTune).
CHECKPOINT_COMPLETION_TARGET = 0.9
# lz4 for full-page images exists from PostgreSQL 15 (needs --with-lz4, as PGDG and Debian build).
WAL_COMPRESSION_LZ4_SINCE = 15
# timescaledb-tune (pkg/pgtune/wal.go): max_wal_size = 60% of the WAL disk, rounded up to 16MB
# (a WAL segment), min_wal_size = half of it. Capped so crash recovery (which replays up to
# max_wal_size of WAL) stays minutes, not hours.
WAL_DISK_SHARE = 0.60
WAL_SEGMENT = 16 * MiB
WAL_DISK_CAP = 64 * GiB
WAL_MIN_FLOOR = 80 * MiB            # PostgreSQL's default min_wal_size
# PostgreSQL docs (WAL configuration): checkpoints should come from checkpoint_timeout, not
# from running out of max_wal_size; a longer interval writes fewer full-page images. Once the
# WAL has room for it, stretch the default 5 min: 15 min from 8GB, 30 min from 32GB.
CHECKPOINT_TIMEOUT_STEPS = ((32 * GiB, 30 * 60), (8 * GiB, 15 * 60))
# Without a declared WAL disk, the profile's max_wal_size grows with shared_buffers: a
# checkpoint spreads the writes of every buffer dirtied since the last one, and with WAL far
# below shared_buffers (16GB of WAL for 192GB of buffers) WAL volume, not checkpoint_timeout,
# starts each checkpoint and full-page images multiply. A quarter of shared_buffers, at most the
# WAL-disk rule's cap: the disk must hold it, and `explain` says to declare host.wal_disk.
WAL_PER_SHARED_BUFFERS = 0.25


def from_disk(disk: int) -> tuple[int, int]:
    """(min_wal_size, max_wal_size) for a WAL disk of ``disk`` bytes."""
    high = min(WAL_DISK_CAP, -(-int(disk * WAL_DISK_SHARE) // WAL_SEGMENT) * WAL_SEGMENT)
    return max(WAL_MIN_FLOOR, high // 2 // MiB * MiB), high


def checkpoint_timeout(max_wal: int) -> int | None:
    """Seconds, or None to keep PostgreSQL's 5 min."""
    return next((t for size, t in CHECKPOINT_TIMEOUT_STEPS if max_wal >= size), None)


def _disk_recs(ctx: TuneContext, disk: int) -> list[Recommendation]:
    low, high = from_disk(disk)
    inputs = {"wal_disk": disk}
    return [
        rec("postgres.min_wal_size", low, "pg.wal.min_wal_size",
            f"recycle half of max_wal_size's segments on the {mib_text(disk)} WAL disk",
            "max(80MB, max_wal_size / 2)", inputs,
            deviation="sized from the WAL disk (timescaledb-tune's rule), not PGTune's table"),
        rec("postgres.max_wal_size", high, "pg.wal.max_wal_size",
            f"60% of the {mib_text(disk)} WAL disk, at most 64GiB (crash recovery replays it)",
            "min(roundup(wal_disk × 0.6, 16MB), 64GiB)", inputs,
            deviation="sized from the WAL disk (timescaledb-tune's rule), not PGTune's table"),
    ]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    dev = ctx.env == "development"
    shared = int(prior.get("postgres.shared_buffers", 0))
    out = _sizes(ctx, dev, shared) if dev or ctx.host.wal_disk is None \
        else _disk_recs(ctx, ctx.host.wal_disk)
    high = int(ctx.fixed.get("postgres.max_wal_size", out[1].value))
    timeout = None if dev else checkpoint_timeout(high)
    if timeout is not None:
        out.append(rec("postgres.checkpoint_timeout", timeout * 1_000_000,
                       "pg.wal.checkpoint_timeout",
                       f"max_wal_size {mib_text(high)} has room for {timeout // 60} min of WAL: "
                       "fewer checkpoints, fewer full-page images (longer crash recovery)",
                       "30 min if max_wal_size ≥ 32GB, 15 min if ≥ 8GB, else 5 min (default)",
                       {"max_wal_size": high}))
    return out + _rest(ctx)


def _sizes(ctx: TuneContext, dev: bool, shared: int) -> list[Recommendation]:
    low, high = DEV_WAL_SIZES if dev else WAL_SIZES[ctx.db_profile]
    why = "development keeps PostgreSQL's defaults" if dev else f"{ctx.db_profile} write volume"
    scaled = min(WAL_DISK_CAP, int(shared * WAL_PER_SHARED_BUFFERS) // GiB * GiB)
    if not dev and scaled > high:
        return [
            rec("postgres.min_wal_size", low, "pg.wal.min_wal_size",
                f"recycle {mib_text(low)} of WAL segments instead of re-creating them ({why})",
                f"{ctx.db_profile} table", {"profile": ctx.db_profile, "env": ctx.env}),
            rec("postgres.max_wal_size", scaled, "pg.wal.max_wal_size",
                f"a quarter of shared_buffers ({mib_text(shared)}): checkpoints come from "
                f"checkpoint_timeout, not from {mib_text(high)} of WAL (the {ctx.db_profile} "
                "table); needs that much disk in pg_wal — declare host.wal_disk to size it "
                "from the disk", "min(shared_buffers / 4, 64GiB) when above the profile table",
                {"profile": ctx.db_profile, "shared_buffers": shared, "table": high},
                deviation=f"PGTune keeps {mib_text(high)} whatever shared_buffers"),
        ]
    return [
        rec("postgres.min_wal_size", low, "pg.wal.min_wal_size",
            f"recycle {mib_text(low)} of WAL segments instead of re-creating them ({why})",
            f"{ctx.db_profile} table" if not dev else "80MB (default)",
            {"profile": ctx.db_profile, "env": ctx.env},
            deviation="development keeps PostgreSQL's defaults" if dev else ""),
        rec("postgres.max_wal_size", high, "pg.wal.max_wal_size",
            f"checkpoints every {mib_text(high)} of WAL, not more often; needs that much "
            "disk in pg_wal", f"{ctx.db_profile} table" if not dev else "1GB (default)",
            {"profile": ctx.db_profile, "env": ctx.env},
            deviation="development keeps PostgreSQL's defaults" if dev else ""),
    ]


def _rest(ctx: TuneContext) -> list[Recommendation]:
    version_has_lz4 = ctx.versions.postgres >= WAL_COMPRESSION_LZ4_SINCE
    lz4 = version_has_lz4 and "lz4" in ctx.versions.postgres_build
    return [
        rec("postgres.checkpoint_completion_target", CHECKPOINT_COMPLETION_TARGET,
            "pg.wal.checkpoint_completion_target",
            "spread checkpoint writes over 90% of the interval", "0.9", {}),
        # From 15 the value names the method and "on" means pglz (SHOW says pglz): write it.
        rec("postgres.wal_compression", "lz4" if lz4 else "pglz" if version_has_lz4 else "on",
            "pg.wal.wal_compression",
            "compress full-page images: less WAL for a little CPU"
            + (f" (lz4: PostgreSQL {ctx.versions.postgres} ≥ {WAL_COMPRESSION_LZ4_SINCE}, "
               "built with lz4)" if lz4 else
               " (pglz: targets.postgres_build says the binaries lack lz4)" if version_has_lz4
               else f" (pglz: lz4 needs PostgreSQL ≥ {WAL_COMPRESSION_LZ4_SINCE})"),
            "lz4 if PostgreSQL ≥ 15 and the build has lz4, else pglz (on before 15)",
            {"version": ctx.versions.postgres, "lz4": "lz4" in ctx.versions.postgres_build}),
    ]
