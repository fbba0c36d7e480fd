"""The engine: dependency order, fixed values respected and fed forward, services gated."""

import pytest

from perfcfg.stages.tune import context, recommend_all, settings
from perfcfg.tune.context import GiB, Host, MiB, Pool, Program


def test_groups_run_in_dependency_order(make_ctx):
    paths = [r.path for r in recommend_all(make_ctx())]
    order = ["budget.postgres", "pgbouncer.default_pool_size", "postgres.max_connections",
             "postgres.max_worker_processes", "postgres.work_mem", "redis.maxmemory",
             "supervisor.minfds"]
    assert [paths.index(p) for p in order] == sorted(paths.index(p) for p in order)


def test_every_recommendation_explains_itself(make_ctx):
    for r in recommend_all(make_ctx()):
        assert r.reason and "\n" not in r.reason and r.formula and r.rule, r.path


@pytest.mark.parametrize("fixed", [
    {"postgres.max_connections": 120}, {"pgbouncer.default_pool_size": 30},
    {"redis.maxmemory": 512 * MiB}, {"supervisor.minfds": 4096},
], ids=["max_connections", "default_pool_size", "maxmemory", "minfds"])
def test_fixed_paths_are_skipped_and_kept(make_ctx, fixed):
    ctx = make_ctx(fixed=fixed)
    assert not {r.path for r in recommend_all(ctx)} & set(fixed)
    assert {k: settings(ctx)[k] for k in fixed} == fixed


def test_fixed_pool_size_feeds_max_connections(make_ctx):
    s = settings(make_ctx(fixed={"pgbouncer.default_pool_size": 30}))
    # the pool and its reserve, 3 direct clients, 3 spare slots, 3 reserved for superusers
    assert s["postgres.max_connections"] == 30 + s["pgbouncer.reserve_pool_size"] + 3 + 3 + 3


def test_services_not_run_are_not_tuned(make_ctx):
    paths = {r.path for r in recommend_all(make_ctx(services=frozenset({"postgres"})))}
    assert not any(p.startswith(("redis.", "pgbouncer.", "supervisor.")) for p in paths)


def test_one_gib_one_cpu_host_compiles_with_sane_minimums():
    ctx = context(env="production", host=Host(1 * GiB, 1),
                  programs=(Program("bot", 4, 1, 1, 48 * MiB),), pools=(Pool("app", "bot", 4),))
    s = settings(ctx)
    assert s["postgres.shared_buffers"] >= 32 * MiB
    assert s["postgres.work_mem"] >= 4 * MiB
    assert s["redis.maxmemory"] >= 8 * MiB
    assert s["postgres.max_parallel_workers_per_gather"] == 0
    assert s["redis.io-threads"] == 1
