"""Runs every recommender group in dependency order and returns the tuned settings.

Order: budget → pgbouncer pools → PostgreSQL connections → worker slots → autovacuum →
memory (needs all three) → WAL → planner → Redis → supervisor (needs the fd needs of the
others) → the host's limits and kernel settings (need everything). Each group sees the
preset's fixed values and every earlier recommendation; a path the preset fixed is never
recommended. A build adds the ``PLACEMENT`` groups (where the files go), which are not tuning:
the stand-alone calculator leaves them out.

>>> from perfcfg.tune.context import Host, Pool, Program, TuneContext, GiB
>>> ctx = TuneContext("staging", Host(16 * GiB, 4), (Program("bot", 40, 2, 1, 64 << 20),),
...                   (Pool("app", "bot", 80),), fixed={"postgres.max_connections": 50})
>>> recs = recommend_all(ctx)
>>> "postgres.max_connections" in {r.path for r in recs}, len(recs) > 50
(False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perfcfg.services.pgbouncer import placement as pgbouncer_placement
from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.services.postgres import placement as pg_placement
from perfcfg.services.postgres.tuning import autovacuum as pg_autovacuum
from perfcfg.services.postgres.tuning import connections as pg_connections
from perfcfg.services.postgres.tuning import limits as pg_limits
from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.services.postgres.tuning import parallel as pg_parallel
from perfcfg.services.postgres.tuning import planner as pg_planner
from perfcfg.services.postgres.tuning import versions as pg_versions
from perfcfg.services.postgres.tuning import wal as pg_wal
from perfcfg.services.redis import placement as redis_placement
from perfcfg.services.redis import tuning as redis
from perfcfg.services.supervisor import tuning as supervisor
from perfcfg.tune import budget, limits
from perfcfg.tune.context import Recommendation, TuneContext

Group = Callable[[TuneContext, Mapping[str, Any]], list[Recommendation]]

# (service the group belongs to, or None for always; the group's recommend function)
GROUPS: tuple[tuple[str | None, Group], ...] = (
    (None, budget.recommend),
    ("pgbouncer", pgbouncer.recommend),
    ("postgres", pg_connections.recommend),
    ("postgres", pg_parallel.recommend),
    ("postgres", pg_autovacuum.recommend),
    ("postgres", pg_memory.recommend),
    ("postgres", pg_wal.recommend),
    ("postgres", pg_planner.recommend),
    ("postgres", pg_versions.recommend),
    ("redis", redis.recommend),
    ("supervisor", supervisor.recommend),
    ("postgres", pg_limits.recommend),
    # last: the kernel settings (sysctl.*) from what every service's plan needs of the host
    (None, limits.group((("postgres", pg_limits.needs), ("pgbouncer", pgbouncer.needs),
                         ("redis", redis.needs)))),
)


# Where each daemon's files go and what a replaced file must keep stating (locale, time zone):
# values with reasons, like the tuned ones, that a build writes after them.
PLACEMENT: tuple[tuple[str | None, Group], ...] = (
    ("postgres", pg_placement.recommend),
    ("pgbouncer", pgbouncer_placement.recommend),
    ("redis", redis_placement.recommend),
)


def recommend_all(ctx: TuneContext, groups: tuple[tuple[str | None, Group], ...] = GROUPS
                  ) -> list[Recommendation]:
    known: dict[str, Any] = dict(ctx.fixed)
    out: list[Recommendation] = []
    for service, group in groups:
        if service is not None and service not in ctx.services:
            continue
        for r in group(ctx, known):
            if r.path in ctx.fixed:
                continue
            known[r.path] = r.value
            out.append(r)
    return out


def settings(ctx: TuneContext) -> dict[str, Any]:
    """The final plan as path → canonical value: the preset's fixed values over the tuned ones."""
    return {**{r.path: r.value for r in recommend_all(ctx)}, **ctx.fixed}
