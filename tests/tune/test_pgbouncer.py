"""pgbouncer: pools from CPUs and clients, client limit, timeouts, fds, version gates."""

import pytest
from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.tune.context import GiB, Host, Pool, Versions


def _values(ctx):
    return {r.path: r.value for r in pgbouncer.recommend(ctx, {})}


@pytest.mark.parametrize("cpus, storage, pools, size", [
    (1, "ssd", (Pool("app", "bot", 80),), 5),
    (4, "ssd", (Pool("app", "bot", 80),), 8),
    (4, "hdd", (Pool("app", "bot", 80),), 9),
    (16, "nvme", (Pool("app", "bot", 80),), 32),
    (16, "nvme", (Pool("app", "bot", 80), Pool("app", "admin", 10)), 16),
    (16, "nvme", (Pool("app", "bot", 3),), 3),
], ids=["1cpu-floor", "4cpu", "4cpu-hdd-spindle", "16cpu", "16cpu-two-pools", "few-clients"])
def test_default_pool_size(make_ctx, cpus, storage, pools, size):
    ctx = make_ctx(host=Host(16 * GiB, cpus, storage), pools=pools)
    assert pgbouncer.default_pool_size(ctx) == size


def test_max_client_conn_covers_workers_plus_headroom(make_ctx):
    ctx = make_ctx()
    clients = 40 * 2 + 2 * 4
    assert _values(ctx)["pgbouncer.max_client_conn"] == clients + 20


def test_transaction_pooling_and_stuck_worker_timeouts(make_ctx):
    v = _values(make_ctx())
    assert v["pgbouncer.pool_mode"] == "transaction"
    assert 0 < v["pgbouncer.idle_transaction_timeout"] <= 300
    assert v["pgbouncer.query_wait_timeout"] < 120
    assert v["pgbouncer.server_idle_timeout"] < 600


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


def test_server_slots_capped_by_clients_and_max_db_connections():
    pools = (Pool("app", "bot", 80), Pool("app", "ops", 2), Pool("stats", "bot", 40))
    settings = {"pgbouncer.default_pool_size": 8, "pgbouncer.reserve_pool_size": 2}
    assert pgbouncer.server_slots(pools, settings) == 10 + 2 + 10
    assert pgbouncer.server_slots(pools, {**settings, "pgbouncer.max_db_connections": 6}) == 12
