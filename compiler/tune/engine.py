"""Runs the recommenders in order (interim minimal set until the full engine lands)."""

from __future__ import annotations

from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext


def recommend_all(ctx: TuneContext) -> list[Recommendation]:
    pg_budget = max(ctx.host.memory // 2, 256 * MiB)
    pools = sum(min(p.clients, 10) for p in ctx.pools) or 10
    max_conn = pools + ctx.direct_clients + 3
    clients = sum(p.processes * p.db_connections for p in ctx.programs)
    out = [
        Recommendation("postgres.max_connections", max_conn, "pg.conn", "pools + direct + reserved"),
        Recommendation("postgres.shared_buffers", pg_budget // 4 // (8 * 1024) * 8 * 1024,
                       "pg.memory.shared_buffers", "25% of PostgreSQL's budget"),
        Recommendation("postgres.effective_cache_size", pg_budget * 3 // 4 // 8192 * 8192,
                       "pg.memory.effective_cache_size", "75% of PostgreSQL's budget"),
        Recommendation("pgbouncer.default_pool_size", 10, "pgb.pool", "interim"),
        Recommendation("pgbouncer.max_client_conn", clients + 20, "pgb.clients", "workers + 20"),
        Recommendation("redis.maxmemory", min(ctx.host.memory // 8, 4 * GiB) // MiB * MiB,
                       "redis.maxmemory", "interim"),
        Recommendation("redis.maxmemory-policy", "allkeys-lfu", "redis.policy", "cache role"),
        Recommendation("supervisor.minfds", 4096, "sup.minfds", "interim"),
    ]
    return [r for r in out if r.path not in ctx.fixed]
