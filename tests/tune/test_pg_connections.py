"""max_connections = pooled slots + direct clients + reserved slots, nothing guessed."""

import pytest

from perfcfg.services.postgres.tuning import connections as pg_connections
from perfcfg.tune.context import Pool, Versions

POOLS = {"pgbouncer.default_pool_size": 8, "pgbouncer.reserve_pool_size": 2}


@pytest.mark.parametrize("pools, direct, fixed, version, expected", [
    ((Pool("app", "bot", 80),), 0, {}, 15, 10 + 3),
    ((Pool("app", "bot", 80),), 5, {}, 15, 10 + 5 + 3),
    # without a per-database cap pgbouncer may fill both pools, whatever their clients
    ((Pool("app", "bot", 80), Pool("app", "ops", 1)), 0, {}, 15, 10 + 10 + 3),
    ((Pool("app", "bot", 80),), 0, {"postgres.superuser_reserved_connections": 5}, 15, 15),
    ((Pool("app", "bot", 80),), 0, {"postgres.reserved_connections": 2}, 16, 15),
    ((), 0, {}, 15, 1 + 3),
], ids=["one-pool", "direct-clients", "second-pool-uncapped", "fixed-superuser",
        "pg16-reserved", "no-pools-floor"])
def test_max_connections(make_ctx, pools, direct, fixed, version, expected):
    ctx = make_ctx(pools=pools, direct_clients=direct, fixed=fixed,
                   versions=Versions(postgres=version))
    rec = pg_connections.recommend(ctx, POOLS)[0]
    assert (rec.path, rec.value) == ("postgres.max_connections", expected)
    assert rec.deviation and rec.formula and rec.inputs


def test_max_connections_is_the_sum_of_the_database_caps(make_ctx):
    pools = (Pool("bots", "bot", 80), Pool("bots_reporting", "report", 2, mode="session"))
    caps = {"pgbouncer.databases.bots.max_db_connections": 9,
            "pgbouncer.databases.bots_reporting.max_db_connections": 2}
    rec = pg_connections.recommend(make_ctx(pools=pools, direct_clients=4), {**POOLS, **caps})[0]
    assert rec.value == 9 + 2 + 4 + 3
