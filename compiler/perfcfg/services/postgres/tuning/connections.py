"""PostgreSQL connection slots: exactly what pgbouncer's pools and the direct clients need.

``max_connections = Σ pools min(pool_size + reserve, clients) [≤ max_db_connections per db]
+ direct clients + spare + superuser_reserved_connections (+ reserved_connections on 16+)``.

The spare slots (``postgres.spare_connections``, default 3) are ordinary ones: an operator's
psql, a pg_dump or a second monitoring agent connects as a normal role, which the reserved
slots refuse; and a pgbouncer reconnect can race a backend that has not exited yet.

>>> from perfcfg.tune.context import Host, Pool, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (), (Pool("app", "bot", 80),), 2)
>>> settings = {"pgbouncer.default_pool_size": 8, "pgbouncer.reserve_pool_size": 2}
>>> [r.value for r in recommend(ctx, settings)]
[18, 3]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.services.postgres.values import SPARE_CONNECTIONS_DEFAULT
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.util import rec, runs

# pg_settings boot values (PostgreSQL 15 / 16).
SUPERUSER_RESERVED_DEFAULT = 3
RESERVED_CONNECTIONS_DEFAULT = 0
RESERVED_CONNECTIONS_SINCE = 16     # reserved_connections exists from PostgreSQL 16
# PGTune's per-profile guesses (slice 830d3bb), quoted in the deviation text.
PGTUNE_DEFAULT_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}


def reserved(ctx: TuneContext) -> tuple[int, int]:
    """(superuser_reserved_connections, reserved_connections) as fixed or defaulted."""
    superuser = int(ctx.fixed.get("postgres.superuser_reserved_connections",
                                  SUPERUSER_RESERVED_DEFAULT))
    other = 0
    if ctx.versions.postgres >= RESERVED_CONNECTIONS_SINCE:
        other = int(ctx.fixed.get("postgres.reserved_connections", RESERVED_CONNECTIONS_DEFAULT))
    return superuser, other


def spare(ctx: TuneContext) -> int:
    """Ordinary slots kept for operators and tooling (``postgres.spare_connections``)."""
    return int(ctx.facts.get("postgres.spare_connections", SPARE_CONNECTIONS_DEFAULT))


# The pooler in front (its pools decide max_connections), and where a finding about the pools'
# server connections points.
POOLER = "pgbouncer"
POOL_PATHS = ("pgbouncer.default_pool_size", "pgbouncer.reserve_pool_size")


def pooled_slots(ctx: TuneContext, settings: Mapping[str, Any]) -> int:
    """The server connections pgbouncer may open, at least the headroom's: a pool or database
    added within it leaves max_connections (a restart-only parameter) as it is."""
    if not runs(ctx, "pgbouncer"):
        return 0
    return max(pgbouncer.server_slots(ctx.pools, settings),
               ctx.headroom.server_connections or 0)


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    superuser, other = reserved(ctx)
    slots = pooled_slots(ctx, prior)
    extra = spare(ctx)
    users = max(1, slots + ctx.direct_clients + extra)
    value = users + superuser + other
    return [
        rec("postgres.max_connections", value, "pg.connections.max_connections",
            f"{slots} pooled server slots" + (" (the headroom's)" if
                                               ctx.headroom.server_connections == slots else "")
            + f" + {ctx.direct_clients} direct clients + {extra} spare "
            "(postgres.spare_connections: an operator's psql, pg_dump, a second monitoring "
            f"agent) + {superuser + other} reserved: what can connect",
            "max(Σ pools min(pool_size + reserve, clients), headroom.server_connections) + "
            "direct + spare + superuser_reserved"
            + (" + reserved_connections" if other else ""),
            {"pooled_slots": slots, "direct_clients": ctx.direct_clients,
             "spare_connections": extra,
             "superuser_reserved_connections": superuser, "reserved_connections": other},
            deviation=f"PGTune guesses {PGTUNE_DEFAULT_CONNECTIONS[ctx.db_profile]} for "
                      f"{ctx.db_profile}; behind pgbouncer only the pools' server connections "
                      "can exist, so perfcfg admits those, the direct clients and a few spare "
                      "slots for operators"),
        rec("postgres.superuser_reserved_connections", superuser,
            "pg.connections.superuser_reserved",
            "slots kept for an admin when "
            + ("the pools are full" if runs(ctx, "pgbouncer") else "every other slot is taken")
            + " (counted in max_connections)",
            "3 (PostgreSQL default)", {}),
    ]
