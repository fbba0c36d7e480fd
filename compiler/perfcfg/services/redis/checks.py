"""Redis's cross-service findings (docs/diagnostics.md): maxclients against its fd limit
(PCF306), the workers' connections against maxclients (PCF307), an unlimited maxmemory
(PCF314), its unit's fd limit within fs.nr_open (PCF318), a persisting Redis too large to fork
quickly (PCF321).

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2), (), ())
>>> [f.code for f in check_limit(ctx, {"redis.maxmemory": 0})]
['PCF314']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.redis import budget, tuning
from perfcfg.tune.checks import fd_ceiling, fd_limit, who
from perfcfg.tune.context import TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import mib_text

Settings = Mapping[str, Any]


def check_fds(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "redis.maxclients" not in s:
        return []
    need = int(s["redis.maxclients"]) + tuning.REDIS_RESERVED_FDS
    limit, where = fd_limit(ctx, s, "redis")
    if need <= limit:
        return []
    paths = ("redis.maxclients", where)
    return [Finding("PCF306", "warning",
                    f"redis maxclients + 32 = {need} exceeds its fd limit {limit}: "
                    "Redis will silently lower maxclients" + who(ctx, paths), paths,
                    f"raise the fd limit to {need} or lower redis.maxclients")]


def check_clients(ctx: TuneContext, s: Settings) -> list[Finding]:
    path, clients = "redis.maxclients", tuning.worker_clients(ctx)
    if path not in s or clients <= int(s[path]):
        return []
    paths = (path, *(f"{ctx.facts.get('runner.programs', '')}.{p.name}.numprocs"
                     for p in ctx.programs))
    return [Finding("PCF307", "error",
                    f"the workers open {clients} connections to Redis but "
                    f"{path} is {s[path]}" + who(ctx, paths), paths,
                    f"raise {path} to at least {clients} plus headroom, or open "
                    "fewer connections per worker")]


def check_limit(ctx: TuneContext, s: Settings) -> list[Finding]:
    if s.get("redis.maxmemory", None) != 0:
        return []
    paths = ("redis.maxmemory", "host.memory")
    return [Finding("PCF314", "warning", "redis maxmemory 0 means no limit: Redis grows until "
                    "the kernel OOM-kills it", paths, "leave redis.maxmemory to perfcfg")]


def check_fork(ctx: TuneContext, s: Settings) -> list[Finding]:
    """PCF321: a persisting Redis larger than perfcfg would size one stalls on every fork."""
    mm = int(s.get("redis.maxmemory", 0))
    if not budget.fork_capped(ctx, mm):
        return []
    paths = ("redis.maxmemory", "redis.role")
    stall = budget.fork_stall_ms(mm)
    return [Finding("PCF321", "warning",
                    f"a persisting Redis of maxmemory {mib_text(mm)} forks for every save and "
                    f"AOF rewrite: its main thread stops ~{stall / 1000:.1f} s each time (about "
                    f"{budget.FORK_STALL_MS_PER_GIB} ms per GiB), and the fork may double its "
                    "memory" + who(ctx, paths), paths,
                    f"shard the data over instances of at most "
                    f"{mib_text(budget.FORK_MAXMEMORY_CAP)} (several Redis or a Cluster), or "
                    "persist on a replica only")]


CHECKS = (check_fds, check_clients, check_limit,
          fd_ceiling("systemd.redis.LimitNOFILE", "redis.maxclients"), check_fork)


def worst_case(ctx: TuneContext, s: Settings) -> dict[str, int]:
    if "redis.maxmemory" not in s:
        return {}
    return {"redis.maxmemory": budget.footprint(ctx, int(s["redis.maxmemory"]))}
