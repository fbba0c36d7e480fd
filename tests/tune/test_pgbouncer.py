"""pgbouncer: pools from CPUs and clients, client limit, timeouts, fds, version gates."""

import pytest

from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.tune.context import GiB, Host, Pool, Program, Versions


def _values(ctx):
    return {r.path: r.value for r in pgbouncer.recommend(ctx, {})}


@pytest.mark.parametrize("cpus, storage, profile, pools, size", [
    (1, "ssd", "web", (Pool("app", "bot", 80),), 5),
    (4, "ssd", "web", (Pool("app", "bot", 80),), 8),
    (4, "hdd", "web", (Pool("app", "bot", 80),), 9),
    (16, "nvme", "web", (Pool("app", "bot", 80),), 32),
    (16, "nvme", "web", (Pool("app", "bot", 80), Pool("app", "admin", 10)), 16),
    (16, "nvme", "web", (Pool("app", "bot", 3),), 3),
    # commit-bound: the WAL flush keeps backends waiting, more of them keep the CPUs busy
    (2, "ssd", "oltp", (Pool("app", "bot", 200),), 10),
    (4, "ssd", "oltp", (Pool("app", "bot", 200),), 16),
    (4, "hdd", "oltp", (Pool("app", "bot", 200),), 27),
    (16, "nvme", "oltp", (Pool("app", "bot", 200),), 48),
], ids=["1cpu-floor", "4cpu", "4cpu-hdd-spindle", "16cpu", "16cpu-two-pools", "few-clients",
        "oltp-2cpu-floor", "oltp-4cpu-ssd", "oltp-4cpu-hdd", "oltp-16cpu-nvme"])
def test_transaction_pool_size(make_ctx, cpus, storage, profile, pools, size):
    ctx = make_ctx(host=Host(16 * GiB, cpus, storage), pools=pools, db_profile=profile)
    assert {d.size for d in pgbouncer.database_pools(ctx, {})} == {size}


def test_session_pool_is_its_clients_with_no_reserve(make_ctx):
    ctx = make_ctx(pools=(Pool("bots", "bot", 80), Pool("bots_reporting", "bot", 2,
                                                         mode="session")))
    dbs = {d.database: d for d in pgbouncer.database_pools(ctx, {})}
    assert (dbs["bots_reporting"].size, dbs["bots_reporting"].reserve,
            dbs["bots_reporting"].cap) == (2, 0, 2)
    assert dbs["bots"].cap == dbs["bots"].size + dbs["bots"].reserve


def test_every_database_gets_explicit_size_reserve_and_cap(make_ctx):
    ctx = make_ctx(pools=(Pool("bots", "bot", 80), Pool("bots_reporting", "bot", 2,
                                                         mode="session")))
    v = _values(ctx)
    for db in ("bots", "bots_reporting"):
        assert {f"pgbouncer.databases.{db}.{k}"
                for k in ("pool_size", "reserve_pool", "max_db_connections")} <= set(v)
    caps = v["pgbouncer.databases.bots.max_db_connections"] + \
        v["pgbouncer.databases.bots_reporting.max_db_connections"]
    assert pgbouncer.server_slots(ctx.pools, v) == caps


def test_declared_size_and_reserve_are_kept(make_ctx):
    ctx = make_ctx(pools=(Pool("app", "bot", 80, pool_size=7, reserve=0),))
    v = _values(ctx)
    assert "pgbouncer.databases.app.pool_size" not in v
    assert v["pgbouncer.databases.app.max_db_connections"] == 7


def test_reserve_stays_within_the_declared_clients(make_ctx):
    ctx = make_ctx(pools=(Pool("app", "bot", 9),), host=Host(16 * GiB, 4, "ssd"),
                   db_profile="web")
    [d] = pgbouncer.database_pools(ctx, {})
    assert (d.size, d.reserve) == (8, 1)


def test_max_client_conn_is_twice_the_clients_never_below_the_default(make_ctx):
    clients = 40 * 2 + 2 * 4
    assert _values(make_ctx())["pgbouncer.max_client_conn"] == 2 * clients
    few = make_ctx(programs=(Program("bot", 10, 1, 1, 0),), pools=(Pool("app", "bot", 10),))
    assert _values(few)["pgbouncer.max_client_conn"] == 100


def test_max_client_conn_cut_by_the_fd_limit_says_so(make_ctx):
    ctx = make_ctx(host=Host(16 * GiB, 4, "ssd", open_files=150))
    r = next(r for r in pgbouncer.recommend(ctx, {}) if r.path == "pgbouncer.max_client_conn")
    caps = sum(d.cap for d in pgbouncer.database_pools(ctx, {}))
    assert r.value == 150 - 10 - caps and "cut to what the fd limit 150 leaves" in r.reason
    assert r.value >= 88        # never below the declared clients


def test_transaction_pooling_and_stuck_worker_timeouts(make_ctx):
    v = _values(make_ctx())
    assert v["pgbouncer.pool_mode"] == "transaction"
    assert 0 < v["pgbouncer.idle_transaction_timeout"] <= 300
    assert v["pgbouncer.query_wait_timeout"] < 120


@pytest.mark.parametrize("pools, timeout", [
    ((Pool("app", "bot", 80),), 600.0),
    ((Pool("app", "bot", 80), Pool("reports", "bi", 2, mode="session")), 600.0),
    ((Pool("app", "bot", 80), Pool("app", "ops", 2)), 60.0),
], ids=["one-pool", "two-databases", "two-pools-share-a-cap"])
def test_server_idle_timeout_short_only_when_pools_share_a_cap(make_ctx, pools, timeout):
    assert _values(make_ctx(pools=pools))["pgbouncer.server_idle_timeout"] == timeout


def test_query_wait_below_client_timeout(make_ctx):
    assert _values(make_ctx(client_timeout=10.0))["pgbouncer.query_wait_timeout"] == 5.0


def test_fd_need_is_check_limits_plus_reserve(make_ctx):
    ctx = make_ctx(pools=(Pool("app", "bot", 80), Pool("app", "admin", 5, pool_size=2)))
    v = _values(ctx)
    size, reserve = v["pgbouncer.default_pool_size"], v["pgbouncer.reserve_pool_size"]
    expected = v["pgbouncer.max_client_conn"] + 10 + (size + reserve) + (2 + reserve)
    assert v["budget.pgbouncer_fds"] == expected


@pytest.mark.parametrize("version, present", [((1, 18), False), ((1, 21), True)],
                         ids=["1.18-absent", "1.21-present"])
def test_max_prepared_statements_gated_on_version(make_ctx, version, present):
    ctx = make_ctx(versions=Versions(pgbouncer=version))
    assert ("pgbouncer.max_prepared_statements" in _values(ctx)) is present


def test_server_slots_count_what_pgbouncer_can_open_within_the_caps():
    pools = (Pool("app", "bot", 80), Pool("app", "ops", 2), Pool("stats", "bot", 40))
    settings = {"pgbouncer.default_pool_size": 8, "pgbouncer.reserve_pool_size": 2}
    assert pgbouncer.server_slots(pools, settings) == 10 + 10 + 10
    assert pgbouncer.server_slots(pools, {**settings, "pgbouncer.max_db_connections": 6}) == 12
    per_db = {"pgbouncer.databases.stats.max_db_connections": 3}
    assert pgbouncer.server_slots(pools, {**settings, **per_db}) == 20 + 3
