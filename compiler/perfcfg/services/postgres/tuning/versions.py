"""PostgreSQL's version rules: parameters that exist from one major version on, tuned only when
the target has them (the other groups hold the rules every version shares).

- 16+: ``vacuum_buffer_usage_limit``, the ring VACUUM and ANALYZE read through;
- 18+: asynchronous I/O, ``io_method`` and ``io_workers``.

Each reason names the version rule that produced the value.

>>> from perfcfg.tune.context import Host, TuneContext, Versions, GiB
>>> ctx = TuneContext("production", Host(64 * GiB, 16, "nvme"), (), (), versions=Versions(postgres=18))
>>> {r.path: r.value for r in recommend(ctx, {"postgres.shared_buffers": 16 * GiB})}
... # doctest: +NORMALIZE_WHITESPACE
{'postgres.vacuum_buffer_usage_limit': 16777216, 'postgres.io_method': 'io_uring'}
>>> recommend(TuneContext("production", Host(64 * GiB, 16, "nvme"), (), (), versions=Versions(postgres=15)),
...           {"postgres.shared_buffers": 16 * GiB})
[]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import mib_text, rec

# PostgreSQL 16 docs (vacuum_buffer_usage_limit): the ring defaults to 2MB (256kB before 16,
# not settable); a larger ring makes VACUUM faster, evicting at most that much of the cache.
# 8× the default once shared_buffers has room for it (1GB: the ring stays under 2% of it).
VACUUM_BUFFER_SINCE = 16
VACUUM_BUFFER_DEFAULT = 2 * MiB
VACUUM_BUFFER_LARGE = 16 * MiB
VACUUM_BUFFER_ROOM = 1 * GiB
# PostgreSQL 18 docs (io_method, io_workers): worker (the default) runs reads in io_workers
# background processes (default 3, at most 32); io_uring submits them from each backend and
# needs a build with liburing. perfcfg takes io_uring only on NVMe, where queue depth pays off,
# and one I/O worker per 4 CPUs otherwise (the default 3 suits 4-12 CPUs).
ASYNC_IO_SINCE = 18
IO_WORKERS_DEFAULT = 3
IO_WORKERS_MAX = 32
IO_WORKERS_PER_CPUS = 4
IO_URING_STORAGE = frozenset({"nvme"})
# io_uring is a Linux interface: PostgreSQL elsewhere refuses io_method = io_uring.
IO_URING_OS = frozenset({"linux"})


def _vacuum_ring(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    shared = int(prior.get("postgres.shared_buffers", 0))
    if ctx.env == "development" or shared < VACUUM_BUFFER_ROOM:
        return []
    return [rec("postgres.vacuum_buffer_usage_limit", VACUUM_BUFFER_LARGE,
                "pg.version.vacuum_buffer_usage_limit",
                f"PostgreSQL {VACUUM_BUFFER_SINCE}+ rule: VACUUM reads through a "
                f"{mib_text(VACUUM_BUFFER_LARGE)} ring, not {mib_text(VACUUM_BUFFER_DEFAULT)}: "
                f"faster vacuums, {mib_text(shared)} of shared_buffers can spare it",
                "16MB if shared_buffers ≥ 1GB (PostgreSQL ≥ 16)",
                {"version": ctx.versions.postgres, "shared_buffers": shared})]


def _async_io(ctx: TuneContext) -> list[Recommendation]:
    storage, cpus = ctx.host.storage, ctx.host.cpus
    linux = ctx.host.os in IO_URING_OS
    uring = "liburing" in ctx.versions.postgres_build and storage in IO_URING_STORAGE and linux
    method = "io_uring" if uring else "worker"
    why = (f"{storage} storage and a build with liburing: each backend submits its reads"
           if uring else f"io_uring is Linux's; {ctx.host.os} reads through I/O workers"
           if not linux and storage in IO_URING_STORAGE
           else "a build without liburing" if storage in IO_URING_STORAGE
           else f"{storage} storage: background I/O workers, PostgreSQL's default")
    out = [rec("postgres.io_method", method, "pg.version.io_method",
               f"PostgreSQL {ASYNC_IO_SINCE}+ rule: asynchronous reads with {method} ({why})",
               "io_uring on nvme with liburing on Linux, else worker",
               {"version": ctx.versions.postgres, "storage": storage, "os": ctx.host.os,
                "liburing": "liburing" in ctx.versions.postgres_build})]
    if not uring:
        workers = max(IO_WORKERS_DEFAULT, min(IO_WORKERS_MAX, cpus // IO_WORKERS_PER_CPUS))
        out.append(rec("postgres.io_workers", workers, "pg.version.io_workers",
                       f"PostgreSQL {ASYNC_IO_SINCE}+ rule: one I/O worker per "
                       f"{IO_WORKERS_PER_CPUS} CPUs, at least the default {IO_WORKERS_DEFAULT}",
                       "clamp(cpus / 4, 3, 32)", {"cpus": cpus}))
    return out


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    out: list[Recommendation] = []
    if ctx.versions.postgres >= VACUUM_BUFFER_SINCE:
        out += _vacuum_ring(ctx, prior)
    if ctx.versions.postgres >= ASYNC_IO_SINCE:
        out += _async_io(ctx)
    return out
