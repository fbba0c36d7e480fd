"""max_connections = pooled slots + direct clients + spare + reserved slots, nothing guessed."""

import pytest

from perfcfg.services.postgres.tuning import connections as pg_connections
from perfcfg.tune.context import Pool, Versions

POOLS = {"pgbouncer.default_pool_size": 8, "pgbouncer.reserve_pool_size": 2}
SPARE = 3       # postgres.spare_connections' default


@pytest.mark.parametrize("pools, direct, fixed, version, expected", [
    ((Pool("app", "bot", 80),), 0, {}, 15, 10 + SPARE + 3),
    ((Pool("app", "bot", 80),), 5, {}, 15, 10 + 5 + SPARE + 3),
    # without a per-database cap pgbouncer may fill both pools, whatever their clients
    ((Pool("app", "bot", 80), Pool("app", "ops", 1)), 0, {}, 15, 10 + 10 + SPARE + 3),
    ((Pool("app", "bot", 80),), 0, {"postgres.superuser_reserved_connections": 5}, 15,
     10 + SPARE + 5),
    ((Pool("app", "bot", 80),), 0, {"postgres.reserved_connections": 2}, 16, 10 + SPARE + 3 + 2),
    ((), 0, {}, 15, SPARE + 3),
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
    assert rec.value == 9 + 2 + 4 + SPARE + 3


@pytest.mark.parametrize("spare", [0, 1, 3, 25])
def test_spare_slots_are_counted_in_max_connections_and_shown(make_ctx, spare):
    ctx = make_ctx(pools=(Pool("app", "bot", 80),), direct_clients=2,
                   facts={"postgres.spare_connections": spare})
    rec = pg_connections.recommend(ctx, POOLS)[0]
    assert rec.value == 10 + 2 + spare + 3
    assert rec.inputs["spare_connections"] == spare
    assert f"{spare} spare" in rec.reason and "spare" in rec.formula


def test_without_a_spare_slot_no_pooled_user_is_refused_but_an_operator_would_be(make_ctx):
    """Σ pools + direct + reserved + spare = max_connections: the PCF303 check counts the spare
    slots, so a preset that fixes max_connections at the pools' sum is told it has none."""
    from perfcfg.services.postgres.checks import check_slots

    ctx = make_ctx(pools=(Pool("app", "bot", 80),), direct_clients=2,
                   fixed={"postgres.max_connections": 10 + 2 + 3})
    found = check_slots(ctx, {**POOLS, "postgres.max_connections": 10 + 2 + 3})
    assert [f.code for f in found] == ["PCF303"]
    assert "3 spare" in found[0].message and "spare_connections" in found[0].hint
