"""pgbouncer sizing: pool mode, pool sizes, client limit, timeouts and the fd need.

Pools are sized from the host's CPUs (active backends ≈ 2 × cores + spindles), never larger than
a pool's declared clients, and PostgreSQL's ``max_connections`` is later derived from them.

>>> from perfcfg.tune.context import Host, Pool, Program, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (Program("bot", 40, 2, 1, 0),),
...                   (Pool("app", "bot", 80),))
>>> default_pool_size(ctx), max_client_conn(ctx)
(8, 100)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import Pool, Recommendation, TuneContext
from perfcfg.tune.util import ceil_div, pick, rec

# PostgreSQL wiki "Number Of Database Connections": connections = (core_count × 2) +
# effective_spindle_count. SSD/NVMe have no seek queue to fill, so they add no spindle.
ACTIVE_CONNECTIONS_PER_CORE = 2
EFFECTIVE_SPINDLES = {"hdd": 1, "san": 1, "ssd": 0, "nvme": 0}
# Below 5 server connections one slow transaction already makes the other clients queue.
POOL_SIZE_MIN = 5
# Reserve: a quarter of the pool for bursts, at least 1 (pgbouncer default is 0, doc/config.md).
RESERVE_FRACTION = 4
RESERVE_MIN = 1
# pgbouncer default reserve_pool_timeout is 5 s; bots retry fast, so take the reserve after 3 s.
RESERVE_POOL_TIMEOUT = 3.0
# Client headroom for the admin console, migrations and restarts overlapping old workers.
CLIENT_HEADROOM_MIN = 20
CLIENT_HEADROOM_DIVISOR = 10
# src/main.c check_limits(): max_client_conn + 10 + Σ pool sizes.
FD_FIXED_OVERHEAD = 10
# doc/config.md: idle_transaction_timeout default 0 (off); a stuck worker would pin a server
# connection forever. Development keeps interactive sessions alive longer.
IDLE_TRANSACTION_TIMEOUT = {"development": 300.0, "staging": 60.0, "production": 60.0}
# doc/config.md: query_wait_timeout default 120 s; bots should fail fast and retry.
QUERY_WAIT_TIMEOUT = 30.0
# doc/config.md: a pool waiting on max_db_connections only gets a slot after another pool's
# idle server connection closes (server_idle_timeout, default 600 s).
SERVER_IDLE_TIMEOUT = 60.0
# max_prepared_statements exists from 1.21; 200 is the 1.24 default (doc/config.md).
PREPARED_STATEMENTS_SINCE = (1, 21)
MAX_PREPARED_STATEMENTS = 200


def worker_db_clients(ctx: TuneContext) -> int:
    return sum(p.processes * p.db_connections for p in ctx.programs)


def declared_clients(ctx: TuneContext) -> int:
    return max(worker_db_clients(ctx), sum(p.clients for p in ctx.pools))


def client_headroom(clients: int) -> int:
    return max(CLIENT_HEADROOM_MIN, ceil_div(clients, CLIENT_HEADROOM_DIVISOR))


def max_client_conn(ctx: TuneContext) -> int:
    clients = declared_clients(ctx)
    return int(pick(ctx, "pgbouncer.max_client_conn", clients + client_headroom(clients)))


def active_target(ctx: TuneContext) -> int:
    return ACTIVE_CONNECTIONS_PER_CORE * ctx.host.cpus + EFFECTIVE_SPINDLES[ctx.host.storage]


def default_pool_size(ctx: TuneContext) -> int:
    if "pgbouncer.default_pool_size" in ctx.fixed:
        return int(ctx.fixed["pgbouncer.default_pool_size"])
    per_pool = ceil_div(active_target(ctx), max(1, len(ctx.pools)))
    size = POOL_SIZE_MIN if ctx.env == "development" else max(POOL_SIZE_MIN, per_pool)
    busiest = max((p.clients for p in ctx.pools), default=0)
    return max(1, min(size, busiest)) if busiest else size


def reserve_pool_size(ctx: TuneContext, pool_size: int) -> int:
    return int(pick(ctx, "pgbouncer.reserve_pool_size",
                    max(RESERVE_MIN, ceil_div(pool_size, RESERVE_FRACTION))))


def pool_server_slots(pool: Pool, default_size: int, reserve: int) -> int:
    """Server connections one pool can open: its size plus reserve, never more than its clients."""
    full = (pool.pool_size if pool.pool_size is not None else default_size) + reserve
    return min(full, pool.clients) if pool.clients > 0 else full


def slots_by_database(pools: tuple[Pool, ...], default_size: int, reserve: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for pool in pools:
        out[pool.database] = out.get(pool.database, 0) + pool_server_slots(pool, default_size,
                                                                          reserve)
    return out


def server_slots(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> int:
    """Σ over databases of min(Σ pool slots, max_db_connections) — what PostgreSQL must admit."""
    size = int(settings.get("pgbouncer.default_pool_size", 20))
    reserve = int(settings.get("pgbouncer.reserve_pool_size", 0))
    cap = int(settings.get("pgbouncer.max_db_connections", 0) or 0)
    per_db = slots_by_database(pools, size, reserve).values()
    return sum(min(n, cap) if cap > 0 else n for n in per_db)


def fd_need(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> int:
    """check_limits() in src/main.c (max_client_conn + 10 + Σ pool sizes) plus reserve pools."""
    size = int(settings.get("pgbouncer.default_pool_size", 20))
    reserve = int(settings.get("pgbouncer.reserve_pool_size", 0))
    pools_total = sum((p.pool_size if p.pool_size is not None else size) + reserve for p in pools)
    return int(settings.get("pgbouncer.max_client_conn", 100)) + FD_FIXED_OVERHEAD + pools_total


def _pool_recs(ctx: TuneContext) -> list[Recommendation]:
    size, target = default_pool_size(ctx), active_target(ctx)
    reserve = reserve_pool_size(ctx, size)
    inputs = {"cpus": ctx.host.cpus, "storage": ctx.host.storage, "pools": len(ctx.pools),
              "busiest_pool_clients": max((p.clients for p in ctx.pools), default=0)}
    out = [
        rec("pgbouncer.pool_mode", "transaction", "pgbouncer.pool_mode",
            "many workers running short transactions share few server connections",
            "transaction", {"worker_processes": ctx.worker_processes}),
        rec("pgbouncer.default_pool_size", size, "pgbouncer.pool.default_pool_size",
            f"{target} active backends keep {ctx.host.cpus} CPU(s) busy, split over the pools",
            "min(max(5, ceil((2 × cpus + spindles) / pools)), busiest pool's clients)",
            {**inputs, "active_target": target, "env": ctx.env}),
        rec("pgbouncer.reserve_pool_size", reserve, "pgbouncer.pool.reserve_pool_size",
            "a quarter of the pool absorbs bursts after reserve_pool_timeout",
            "max(1, ceil(default_pool_size / 4))", {"default_pool_size": size}),
        rec("pgbouncer.reserve_pool_timeout", RESERVE_POOL_TIMEOUT,
            "pgbouncer.pool.reserve_pool_timeout",
            "open reserve connections after 3 s of waiting instead of 5", "3.0", {}),
    ]
    if ctx.pools:
        per_db = slots_by_database(ctx.pools, size, reserve)
        out.append(rec("pgbouncer.max_db_connections", max(per_db.values()),
                       "pgbouncer.pool.max_db_connections",
                       "hard cap per database at what the pools need, so PostgreSQL's slots hold",
                       "max over databases of Σ min(pool_size + reserve, pool clients)",
                       {"slots_by_database": per_db}))
    return out


def _client_recs(ctx: TuneContext) -> list[Recommendation]:
    clients = declared_clients(ctx)
    return [rec("pgbouncer.max_client_conn", clients + client_headroom(clients),
                "pgbouncer.clients.max_client_conn",
                "every worker connection plus headroom for admin and rolling restarts",
                "Σ processes × db_connections + max(20, 10%)",
                {"worker_clients": worker_db_clients(ctx),
                 "pool_clients": sum(p.clients for p in ctx.pools)})]


def _timeout_recs(ctx: TuneContext) -> list[Recommendation]:
    wait = QUERY_WAIT_TIMEOUT
    if ctx.client_timeout is not None:
        wait = max(1.0, min(wait, ctx.client_timeout / 2))
    idle_tx = IDLE_TRANSACTION_TIMEOUT[ctx.env]
    return [
        rec("pgbouncer.idle_transaction_timeout", idle_tx,
            "pgbouncer.timeouts.idle_transaction_timeout",
            "a worker stuck inside a transaction must not pin a server connection",
            f"{idle_tx:g} s ({ctx.env})", {"env": ctx.env}),
        rec("pgbouncer.query_wait_timeout", wait, "pgbouncer.timeouts.query_wait_timeout",
            "a queued client fails fast (and retries) before its own timeout fires",
            "min(30, client_timeout / 2)", {"client_timeout": ctx.client_timeout}),
        rec("pgbouncer.server_idle_timeout", SERVER_IDLE_TIMEOUT,
            "pgbouncer.timeouts.server_idle_timeout",
            "idle server connections return their slot to other pools within a minute",
            "60", {}),
    ]


def _version_recs(ctx: TuneContext) -> list[Recommendation]:
    if ctx.versions.pgbouncer < PREPARED_STATEMENTS_SINCE:
        return []
    return [rec("pgbouncer.max_prepared_statements", MAX_PREPARED_STATEMENTS,
                "pgbouncer.version.max_prepared_statements",
                "protocol-level prepared statements work in transaction pooling from 1.21",
                "200 (1.24 default)", {"pgbouncer": ctx.versions.pgbouncer})]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    out = _pool_recs(ctx) + _client_recs(ctx) + _timeout_recs(ctx) + _version_recs(ctx)
    settings = {**{r.path: r.value for r in out}, **ctx.fixed}
    out.append(rec("budget.pgbouncer_fds", fd_need(ctx.pools, settings), "pgbouncer.fds",
                   "file descriptors pgbouncer needs (check_limits() plus reserve pools)",
                   "max_client_conn + 10 + Σ pools (pool_size + reserve_pool_size)",
                   {"max_client_conn": settings["pgbouncer.max_client_conn"],
                    "pools": len(ctx.pools)}))
    return out
