"""PostgreSQL's background writer: on flash, write dirty buffers ahead of the backends.

With the defaults (``bgwriter_delay`` 200ms, ``bgwriter_lru_maxpages`` 100) the background
writer cleans at most 100 × 8kB every 200ms, ~4MB/s: once the workload dirties faster, the
backends evict (and write) dirty buffers themselves, in the middle of a query. On flash with a
shared_buffers worth cleaning, perfcfg lets it run every 50ms and write up to 400 pages a round
(~62MB/s at most; it writes only what the next rounds' allocations need, ×
``bgwriter_lru_multiplier``). A spinning disk keeps the defaults: there the background writes
compete with the checkpoints' sequential ones.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4, "nvme"), (), ())
>>> [(r.path, r.value) for r in recommend(ctx, {"postgres.shared_buffers": 4 * GiB})]
[('postgres.bgwriter_delay', 50000), ('postgres.bgwriter_lru_maxpages', 400)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import GiB, Recommendation, TuneContext, ms
from perfcfg.tune.util import mib_text, rec

BGWRITER_DELAY_MS = 50
BGWRITER_LRU_MAXPAGES = 400
PAGE_KIB = 8
# Below 1GiB of shared_buffers the buffer pool turns over too little to need it.
SHARED_BUFFERS_FROM = 1 * GiB
SLOW_STORAGE = frozenset({"hdd"})


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    shared = int(prior.get("postgres.shared_buffers", 0))
    if ctx.env == "development" or ctx.host.storage in SLOW_STORAGE \
            or shared < SHARED_BUFFERS_FROM:
        return []
    rate = BGWRITER_LRU_MAXPAGES * PAGE_KIB * 1000 // BGWRITER_DELAY_MS // 1024
    inputs = {"storage": ctx.host.storage, "shared_buffers": shared}
    return [
        rec("postgres.bgwriter_delay", ms(BGWRITER_DELAY_MS), "pg.bgwriter.delay",
            f"clean {mib_text(shared)} of buffers on {ctx.host.storage} every "
            f"{BGWRITER_DELAY_MS}ms, not 200ms: backends find clean buffers instead of "
            "writing dirty ones mid-query", "50ms on flash with shared_buffers ≥ 1GiB", inputs),
        rec("postgres.bgwriter_lru_maxpages", BGWRITER_LRU_MAXPAGES, "pg.bgwriter.lru_maxpages",
            f"up to {BGWRITER_LRU_MAXPAGES} pages a round (~{rate}MB/s at most, only what "
            "the next rounds will allocate), not 100 (~4MB/s)",
            "400 on flash with shared_buffers ≥ 1GiB", inputs),
    ]
