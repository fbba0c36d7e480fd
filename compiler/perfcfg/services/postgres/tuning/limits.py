"""What PostgreSQL needs of its host: the fd limit (``LimitNOFILE`` of its systemd unit), the
listen backlog ``net.core.somaxconn`` must not cut, and the huge pages to reserve.

RLIMIT_NOFILE is per process: every backend inherits the postmaster's limit and fd.c keeps at
most ``max_files_per_process`` descriptors open in each (counting those it already holds), so
the limit follows max_files_per_process and not max_connections.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (), ())
>>> [r.value for r in recommend(ctx, {})]
[1064]
>>> [(n.key, n.value) for n in needs(ctx, {"postgres.max_connections": 67})][:3]
[('net.core.somaxconn', 134), ('kernel.mm.transparent_hugepage.enabled', 'never'), ('vm.swappiness', 1)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.limits import NOFILE_FLOOR, THP, Need
from perfcfg.tune.util import rec

# pg_settings boot value of max_files_per_process.
MAX_FILES_PER_PROCESS_DEFAULT = 1000
# Above it: what a process opens outside fd.c's count after the postmaster measured it
# (fd.c keeps 10 of its own in reserve; io_uring rings and sockets come on top).
FD_MARGIN = 64
# pqcomm.c: the postmaster listens with a backlog of twice max_connections.
BACKLOG_PER_CONNECTION = 2
# The postmaster is exempt from the OOM killer (tune/enforce.py); each child it forks writes
# PG_OOM_ADJUST_VALUE into PG_OOM_ADJUST_FILE first (fork_process.c), so a backend that runs
# away is the one killed and the postmaster restarts the others.
# The plan gives every byte of RAM a job (shared buffers, the cache's dataset, the workers): a
# page swapped out turns a memory hit into a disk read. 1, not 0: swap stays the last resort
# before the OOM killer rather than never used.
SWAPPINESS = 1
# A spinning disk writes ~100–200MB/s. The kernel's defaults (dirty_background_ratio 10 %,
# dirty_ratio 20 % of RAM) let gigabytes of a checkpoint's writes wait in the page cache for
# the fsync at its end, which then stalls every writer for seconds to minutes; 64MiB starts
# write-back early, 256MiB caps a writer's backlog at a second or two of the disk's time.
DIRTY_BACKGROUND_BYTES = 64 << 20
DIRTY_BYTES = 256 << 20
FACTS = {"oom.protect.postgres":
         "PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj PG_OOM_ADJUST_VALUE=0"}


def recommend(ctx: TuneContext, known: Mapping[str, Any]) -> list[Recommendation]:
    files = int(known.get("postgres.max_files_per_process", MAX_FILES_PER_PROCESS_DEFAULT))
    return [rec("systemd.postgres.LimitNOFILE", max(NOFILE_FLOOR, files + FD_MARGIN),
                "pg.limits.nofile",
                f"each PostgreSQL process keeps up to max_files_per_process ({files}) files "
                "open, plus a margin for sockets and rings opened besides; the limit is per "
                "process, so max_connections does not multiply it",
                f"max({NOFILE_FLOOR}, max_files_per_process + {FD_MARGIN})",
                # the need itself is an input: perfcfg host --env checks the shell's limit
                # against the largest input of a LimitNOFILE
                {"max_files_per_process": files, "fds_needed": files + FD_MARGIN})]


def needs(ctx: TuneContext, known: Mapping[str, Any]) -> list[Need]:
    out = []
    if "postgres.max_connections" in known:
        backlog = BACKLOG_PER_CONNECTION * int(known["postgres.max_connections"])
        out.append(Need("net.core.somaxconn", backlog,
                        "PostgreSQL listens with a backlog of 2 × max_connections",
                        "2 × postgres.max_connections"))
    out.append(Need(THP, "never",
                    "PostgreSQL's backends fault memory in query by query: with transparent "
                    "huge pages the kernel compacts memory for 2MiB pages in those faults and "
                    "khugepaged rewrites pages behind them (latency spikes)", "postgres"))
    out.append(Need("vm.swappiness", SWAPPINESS,
                    "the budget gives every byte of RAM a job: a swapped-out page of shared "
                    "buffers or of a backend turns a memory hit into a disk read; swap stays "
                    "the last resort before the OOM killer", "budget.postgres"))
    if ctx.host.storage == "hdd":
        out.append(Need("vm.dirty_background_bytes", DIRTY_BACKGROUND_BYTES,
                        "on a spinning disk, write-back starts at 64MiB instead of 10 % of RAM, "
                        "so a checkpoint's writes reach the disk while it runs",
                        "host.storage"))
        out.append(Need("vm.dirty_bytes", DIRTY_BYTES,
                        "on a spinning disk, a writer waits at 256MiB of dirty pages instead of "
                        "20 % of RAM: the fsync at a checkpoint's end flushes a second or two "
                        "of the disk's time, not minutes", "host.storage"))
    if "budget.nr_hugepages" in known:
        huge = known.get("postgres.huge_pages", "on")
        out.append(Need("vm.nr_hugepages", int(known["budget.nr_hugepages"]),
                        f"PostgreSQL's shared memory with huge_pages = {huge} "
                        "(shared_buffers × 1.03 + wal_buffers + 64MiB)", "budget.nr_hugepages",
                        optional=huge != "on"))
    return out
