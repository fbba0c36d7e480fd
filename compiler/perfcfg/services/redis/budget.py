"""Redis's part of the host's memory: a share of what the fixed parts leave, sized so that its
worst-case RSS — maxmemory × fragmentation × (2 when it forks to persist) + its base — fits.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("staging", Host(16 * GiB, 4), (), ())
>>> footprint(ctx, maxmemory_for(ctx, 1 * GiB)) <= 1 * GiB
True
"""

from __future__ import annotations

from perfcfg.tune import budget
from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import floor_to, mib_text, rec

# An empty redis-server is ~3–10 MiB RSS; the rest covers client buffers and backlog.
BASE = 16 * MiB
# mem_fragmentation_ratio is often 1.1–1.5 (Redis memory-optimization docs); 1.2 is typical for
# jemalloc with small values, and RSS is what the cgroup charges.
FRAGMENTATION = 1.2
# Redis administration page: with RDB saves or AOF rewrites "Redis can use up to 2 times the
# memory normally used" (fork copy-on-write).
FORK_FACTOR = 2.0
# Auto share of the memory left after OS, workers and pgbouncer: a cache is a side dish to the
# database; a store holds primary data and gets more.
AUTO_SHARE = {"cache": 0.15, "store": 0.25}
MIN_MAXMEMORY = 8 * MiB
# A persisting Redis forks for every RDB save and AOF rewrite, and the fork copies its page
# tables with the main thread stopped: measured on this project's 2-CPU VM (load ~4,
# DEBUG POPULATE then BGSAVE, INFO latest_fork_usec), Redis 7.0 stalls 35–37 ms per GiB of
# data and Valkey 8.1 57–64 ms. The auto-sized maxmemory of a persisting Redis stops at 16GiB
# (a stall of about a second at most); more data belongs in shards (several instances or a
# Cluster), and a larger maxmemory the preset states gets PCF321 with the estimate.
FORK_MAXMEMORY_CAP = 16 * GiB
FORK_STALL_MS_PER_GIB = 60


def role(ctx: TuneContext) -> str:
    """cache (evicts) or store (keeps its keys): the preset's redis.role."""
    return str(ctx.facts.get("redis.role", "cache"))


def persists(ctx: TuneContext) -> bool:
    """RDB or AOF is on (or the role is store): Redis forks to write, copy-on-write doubles it."""
    return bool(ctx.facts.get("redis.persistence", False)) or role(ctx) == "store"


def fork_factor(ctx: TuneContext) -> float:
    return FORK_FACTOR if persists(ctx) else 1.0


def footprint(ctx: TuneContext, maxmemory: int) -> int:
    return int(maxmemory * FRAGMENTATION * fork_factor(ctx)) + BASE


def maxmemory_for(ctx: TuneContext, part: int) -> int:
    usable = (part - BASE) / (FRAGMENTATION * fork_factor(ctx))
    return max(MIN_MAXMEMORY, floor_to(usable, MiB))


def fork_capped(ctx: TuneContext, maxmemory: int) -> bool:
    """Would the auto-sized maxmemory of a persisting Redis fork for too long?"""
    return persists(ctx) and maxmemory > FORK_MAXMEMORY_CAP


def _maxmemory(ctx: TuneContext, free: int) -> int:
    if "redis.maxmemory" in ctx.fixed:
        return int(ctx.fixed["redis.maxmemory"])
    given = budget.stated(ctx, "redis")
    if given is not None:
        return maxmemory_for(ctx, given)
    auto = maxmemory_for(ctx, int(free * AUTO_SHARE[role(ctx)]))
    return FORK_MAXMEMORY_CAP if fork_capped(ctx, auto) else auto


def held_for_fork(ctx: TuneContext, maxmemory: int) -> bool:
    """Did the fork cap hold this auto-sized maxmemory (no preset value, no stated share)?"""
    return persists(ctx) and maxmemory == FORK_MAXMEMORY_CAP \
        and "redis.maxmemory" not in ctx.fixed and budget.stated(ctx, "redis") is None


def fork_stall_ms(maxmemory: int) -> int:
    """The main thread's stall when a persisting Redis of ``maxmemory`` forks (estimate)."""
    return int(maxmemory / GiB * FORK_STALL_MS_PER_GIB)


def part(ctx: TuneContext, free: int) -> Recommendation:
    mm = _maxmemory(ctx, free)
    persist = persists(ctx)
    capped = held_for_fork(ctx, mm)
    return rec("budget.redis", footprint(ctx, mm), "budget.redis",
               f"maxmemory {mib_text(mm)} × fragmentation"
               + (" × 2 for fork copy-on-write" if persist else "") + " + base"
               + (f"; maxmemory stops at {mib_text(FORK_MAXMEMORY_CAP)}: each save forks, and "
                  f"a larger Redis stalls ~{FORK_STALL_MS_PER_GIB}ms per GiB: shard beyond it"
                  if capped else ""),
               "maxmemory × 1.2 × (2 if persistence else 1) + 16MiB; maxmemory from the stated "
               f"share or {AUTO_SHARE[role(ctx)]:.0%} of what is left (≤ 16GiB when it persists)",
               {"role": role(ctx), "persistence": persist, "maxmemory": mm,
                "stated": ctx.shares.of("redis"), "fork_capped": capped})


PART = budget.Part("redis", "share", part)


def maxmemory(ctx: TuneContext) -> int:
    """The maxmemory the budget gives Redis (from a stated ``budget.redis`` if there is one)."""
    if "budget.redis" in ctx.fixed:
        return maxmemory_for(ctx, int(ctx.fixed["budget.redis"]))
    found = budget.plan(ctx).details.get("redis")
    return int(found.inputs["maxmemory"]) if found is not None else _maxmemory(ctx, 0)
