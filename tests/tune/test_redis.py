"""Redis: maxmemory from its budget, policy by role, io-threads by CPUs, fd-bounded maxclients."""

import pytest

from perfcfg.services.redis import tuning as redis
from perfcfg.tune import budget
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
    assert _values(ctx)["redis.maxmemory"] == budget.plan(ctx).details["redis"].inputs["maxmemory"]


@pytest.mark.parametrize("cpus, env, bots, threads", [
    (1, "production", 40, 1), (4, "production", 2000, 1), (8, "production", 40, 1),
    (8, "production", 500, 2), (32, "production", 500, 8), (64, "production", 500, 8),
    (16, "development", 500, 1),
], ids=["1", "4-cpus-many-clients", "8-cpus-few-clients", "8-cpus-1000-clients", "32",
        "64-capped", "development"])
def test_io_threads_only_above_the_documented_threshold(make_ctx, cpus, env, bots, threads):
    ctx = make_ctx(host=Host(16 * GiB, cpus), env=env, programs=(Program("bot", bots, 1, 2, 0),))
    assert _values(ctx)["redis.io-threads"] == threads


def test_io_threads_on_request(make_ctx):
    from perfcfg.stages.tune import settings
    assert settings(make_ctx(fixed={"redis.io-threads": 4}))["redis.io-threads"] == 4


@pytest.mark.parametrize("open_files, supervised, maxclients", [
    (65536, frozenset(), 10000), (100, frozenset(), 100 - 32),
    (100, frozenset({"redis"}), 10000), (1 << 20, frozenset(), 2 * (6000 * 2 + 2 * 4)),
], ids=["default-floor", "bounded-by-fds", "supervised-raises-fds", "twice-the-clients"])
def test_maxclients(make_ctx, open_files, supervised, maxclients):
    bots = 6000 if open_files == 1 << 20 else 100
    ctx = make_ctx(host=Host(16 * GiB, 4, open_files=open_files), supervised=supervised,
                   programs=(Program("bot", bots, 2, 2, 0), Program("cron", 2, 1, 4, 0)))
    v = _values(ctx)
    assert v["redis.maxclients"] == maxclients
    assert v["budget.redis_fds"] == maxclients + 32


@pytest.mark.parametrize("role", ["cache", "store"])
def test_every_lazyfree_is_on(make_ctx, role):
    v = _values(make_ctx(redis_role=role))
    assert {k: v[f"redis.{k}"] for k in redis.LAZYFREE} == dict.fromkeys(redis.LAZYFREE, True)
