"""The host's memory split: OS reserve, workers, pgbouncer, Redis and PostgreSQL.

Stated shares (bytes or fractions in :class:`Shares`) win; ``auto`` parts are tuned and
PostgreSQL gets what is left. Each part is what that daemon may really use at worst, so the
parts add up to at most the host's memory (a ``shortfall`` says by how much a preset overshot).

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> b = plan(TuneContext("staging", Host(16 * GiB, 4), (), ()))
>>> b.os_reserve // MiB, b.total <= 16 * GiB, b.shortfall
(1638, True, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import floor_to, mib_text, rec, runs

# A minimal Debian host (kernel, systemd, journald, sshd, cron, supervisord itself) idles at
# ~150–200 MiB RSS, and the kernel keeps vm.min_free_kbytes free: 256 MiB is the floor.
OS_RESERVE_FLOOR = 256 * MiB
# On bigger hosts the kernel's own needs (page tables, slab, socket buffers) grow with RAM;
# 10% keeps them and the admin's tools out of the daemons' budgets, capped where that stops.
OS_RESERVE_FRACTION = 0.10
OS_RESERVE_CAP = 8 * GiB
# pgbouncer: one process of a few MiB plus ~2 × pkt_buf (4096, doc/config.md) per connection
# (pgbouncer's features page gives "~2 kB per connection" as the idle minimum).
PGBOUNCER_BASE = 8 * MiB
PGBOUNCER_PKT_BUF = 4096
PGBOUNCER_BUFFERS_PER_CONNECTION = 2
# Redis: an empty redis-server is ~3–10 MiB RSS; the rest covers client buffers and backlog.
REDIS_BASE = 16 * MiB
# mem_fragmentation_ratio is often 1.1–1.5 (Redis memory-optimization docs); 1.2 is typical for
# jemalloc with small values, and RSS is what the cgroup charges.
REDIS_FRAGMENTATION = 1.2
# Redis administration page: with RDB saves or AOF rewrites "Redis can use up to 2 times the
# memory normally used" (fork copy-on-write).
REDIS_FORK_FACTOR = 2.0
# Auto share of the memory left after OS, workers and pgbouncer: a cache is a side dish to the
# database; a store holds primary data and gets more.
REDIS_AUTO_SHARE = {"cache": 0.15, "store": 0.25}
REDIS_MIN_MAXMEMORY = 8 * MiB
# PostgreSQL below 128 MiB (its default shared_buffers alone) cannot run a useful workload.
POSTGRES_MIN = 128 * MiB


@dataclass(frozen=True)
class Budget:
    host: int
    os_reserve: int
    workers: int
    pgbouncer: int
    redis: int                  # Redis' worst-case RSS: maxmemory × fragmentation × fork + base
    redis_maxmemory: int
    postgres: int

    @property
    def total(self) -> int:
        return self.os_reserve + self.workers + self.pgbouncer + self.redis + self.postgres

    @property
    def shortfall(self) -> int:
        """Bytes the parts exceed the host by (0 when they fit)."""
        return max(0, self.total - self.host)


def redis_persists(ctx: TuneContext) -> bool:
    return ctx.redis_persistence or ctx.redis_role == "store"


def redis_fork_factor(ctx: TuneContext) -> float:
    return REDIS_FORK_FACTOR if redis_persists(ctx) else 1.0


def redis_footprint(ctx: TuneContext, maxmemory: int) -> int:
    return int(maxmemory * REDIS_FRAGMENTATION * redis_fork_factor(ctx)) + REDIS_BASE


def redis_maxmemory_for(ctx: TuneContext, budget: int) -> int:
    usable = (budget - REDIS_BASE) / (REDIS_FRAGMENTATION * redis_fork_factor(ctx))
    return max(REDIS_MIN_MAXMEMORY, floor_to(usable, MiB))


def _share(value: float | None, host: int) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int) else floor_to(host * value, MiB)


def os_reserve(ctx: TuneContext) -> int:
    stated = _share(ctx.shares.os_reserve, ctx.host.memory)
    if stated is not None:
        return stated
    auto = min(OS_RESERVE_CAP, floor_to(ctx.host.memory * OS_RESERVE_FRACTION, MiB))
    return max(OS_RESERVE_FLOOR, auto)


def pgbouncer_memory(ctx: TuneContext) -> int:
    if not runs(ctx, "pgbouncer"):
        return 0
    servers = sum(d.cap for d in pgbouncer.database_pools(ctx, {})) * 2
    connections = pgbouncer.max_client_conn(ctx) + servers
    per_conn = PGBOUNCER_PKT_BUF * PGBOUNCER_BUFFERS_PER_CONNECTION
    return PGBOUNCER_BASE + floor_to(connections * per_conn + MiB - 1, MiB)


def _redis(ctx: TuneContext, free: int) -> tuple[int, int]:
    if not runs(ctx, "redis"):
        return 0, 0
    if "redis.maxmemory" in ctx.fixed:
        maxmemory = int(ctx.fixed["redis.maxmemory"])
        return redis_footprint(ctx, maxmemory), maxmemory
    stated = _share(ctx.shares.redis, ctx.host.memory)
    budget = stated if stated is not None else int(free * REDIS_AUTO_SHARE[ctx.redis_role])
    maxmemory = redis_maxmemory_for(ctx, budget)
    return redis_footprint(ctx, maxmemory), maxmemory


def _postgres(ctx: TuneContext, rest: int) -> int:
    if not runs(ctx, "postgres"):
        return 0
    stated = _share(ctx.shares.postgres, ctx.host.memory)
    return stated if stated is not None else max(POSTGRES_MIN, floor_to(rest, MiB))


def plan(ctx: TuneContext) -> Budget:
    reserve = int(ctx.fixed.get("budget.os_reserve", os_reserve(ctx)))
    workers = sum(p.processes * p.memory for p in ctx.programs)
    bouncer = pgbouncer_memory(ctx)
    free = max(0, ctx.host.memory - reserve - workers - bouncer)
    redis, maxmemory = _redis(ctx, free)
    postgres = _postgres(ctx, free - redis)
    return Budget(ctx.host.memory, reserve, workers, bouncer, redis, maxmemory, postgres)


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    b = plan(ctx)
    host = {"host_memory": ctx.host.memory}
    persist = redis_persists(ctx)
    return [
        rec("budget.os_reserve", b.os_reserve, "budget.os_reserve",
            f"kernel, system daemons and page tables keep {mib_text(b.os_reserve)}",
            "stated share, else max(256MiB, min(10% × host, 8GiB))",
            {**host, "stated": ctx.shares.os_reserve}),
        rec("budget.workers", b.workers, "budget.workers",
            f"{ctx.worker_processes} worker processes at their declared RSS",
            "Σ processes × memory", {p.name: (p.processes, p.memory) for p in ctx.programs}),
        rec("budget.pgbouncer", b.pgbouncer, "budget.pgbouncer",
            "one pgbouncer process plus two packet buffers per client and server connection",
            "8MiB + (max_client_conn + 2 × Σ pool sizes) × 2 × pkt_buf(4096)",
            {"max_client_conn": pgbouncer.max_client_conn(ctx)}),
        rec("budget.redis", b.redis, "budget.redis",
            f"maxmemory {mib_text(b.redis_maxmemory)} × fragmentation"
            + (" × 2 for fork copy-on-write" if persist else "") + " + base",
            "maxmemory × 1.2 × (2 if persistence else 1) + 16MiB; maxmemory from the stated "
            f"share or {REDIS_AUTO_SHARE[ctx.redis_role]:.0%} of what is left",
            {"role": ctx.redis_role, "persistence": persist, "maxmemory": b.redis_maxmemory,
             "stated": ctx.shares.redis}),
        rec("budget.postgres", b.postgres, "budget.postgres",
            f"PostgreSQL gets {mib_text(b.postgres)}: "
            + ("its stated share" if ctx.shares.postgres is not None else "the rest of the host"),
            "stated share, else host − os_reserve − workers − pgbouncer − redis",
            {**host, "stated": ctx.shares.postgres, "shortfall": b.shortfall}),
    ]


def findings(ctx: TuneContext) -> list[Finding]:
    """PCF302 when the shares the preset stated (plus the workers) do not fit the host."""
    stated = {"os_reserve": ctx.shares.os_reserve, "postgres": ctx.shares.postgres,
              "redis": ctx.shares.redis}
    named = tuple(f"budget.{k}" for k, v in stated.items() if v is not None)
    b = plan(ctx)
    if not named or not b.shortfall:
        return []
    return [Finding("PCF302", "error",
                    f"stated memory shares plus workers need {mib_text(b.total)}, "
                    f"{mib_text(b.shortfall)} more than the host's {mib_text(b.host)}",
                    ("host.memory", *named), "leave a share auto, or lower the stated shares")]
