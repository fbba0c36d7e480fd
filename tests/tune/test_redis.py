"""Redis: maxmemory from its budget, policy by role, io-threads by CPUs, fd-bounded maxclients."""

import pytest
from perfcfg.tune import budget
from perfcfg.services.redis import tuning as redis
from perfcfg.tune.context import GiB, Host, Program


def _values(ctx):
    return {r.path: r.value for r in redis.recommend(ctx, {})}


@pytest.mark.parametrize("role, persistence, policy, appendonly, save", [
    ("cache", False, "allkeys-lfu", False, ()),
    ("cache", True, "allkeys-lfu", None, None),
    ("store", False, "noeviction", True, redis.DEFAULT_SAVE),
], ids=["cache", "cache-with-persistence", "store"])
def test_policy_and_persistence_by_role(make_ctx, role, persistence, policy, appendonly, save):
    v = _values(make_ctx(redis_role=role, redis_persistence=persistence))
    assert v["redis.maxmemory-policy"] == policy
    assert v.get("redis.appendonly") == appendonly and v.get("redis.save") == save


def test_maxmemory_is_the_budget_plan(make_ctx):
    ctx = make_ctx()
    assert _values(ctx)["redis.maxmemory"] == budget.plan(ctx).redis_maxmemory


@pytest.mark.parametrize("cpus, env, threads", [
    (1, "production", 1), (3, "production", 1), (4, "production", 2), (8, "production", 4),
    (64, "production", 8), (16, "development", 1),
], ids=["1", "3", "4", "8", "64-capped", "development"])
def test_io_threads(make_ctx, cpus, env, threads):
    assert _values(make_ctx(host=Host(16 * GiB, cpus), env=env))["redis.io-threads"] == threads


@pytest.mark.parametrize("open_files, supervised, maxclients", [
    (65536, frozenset(), 100 * 2 + 2 * 4 + 32), (100, frozenset(), 100 - 32),
    (100, frozenset({"redis"}), 100 * 2 + 2 * 4 + 32),
], ids=["plenty", "bounded-by-fds", "supervised-raises-fds"])
def test_maxclients(make_ctx, open_files, supervised, maxclients):
    ctx = make_ctx(host=Host(16 * GiB, 4, open_files=open_files), supervised=supervised,
                   programs=(Program("bot", 100, 2, 2, 0), Program("cron", 2, 1, 4, 0)))
    v = _values(ctx)
    assert v["redis.maxclients"] == maxclients
    assert v["budget.redis_fds"] == maxclients + 32
