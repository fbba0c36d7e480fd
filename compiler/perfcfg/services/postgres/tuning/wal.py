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


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    dev = ctx.env == "development"
    low, high = DEV_WAL_SIZES if dev else WAL_SIZES[ctx.db_profile]
    lz4 = ctx.versions.postgres >= WAL_COMPRESSION_LZ4_SINCE
    why = "development keeps PostgreSQL's defaults" if dev else f"{ctx.db_profile} write volume"
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
        rec("postgres.checkpoint_completion_target", CHECKPOINT_COMPLETION_TARGET,
            "pg.wal.checkpoint_completion_target",
            "spread checkpoint writes over 90% of the interval", "0.9", {}),
        rec("postgres.wal_compression", "lz4" if lz4 else "on", "pg.wal.wal_compression",
            "compress full-page images: less WAL for a little CPU"
            + (" (lz4 needs a --with-lz4 build)" if lz4 else ""),
            "lz4 if PostgreSQL ≥ 15 else on", {"version": ctx.versions.postgres}),
    ]
