"""PostgreSQL memory from its own budget; work_mem from the pooled connection count."""

import pytest

from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.stages.tune import check, settings
from perfcfg.tune.context import GiB, Host, KiB, MiB

PRIOR = {"budget.postgres": 8 * GiB, "postgres.max_connections": 13,
         "postgres.max_worker_processes": 8, "postgres.max_parallel_workers": 4,
         "postgres.autovacuum_max_workers": 3}


def _values(ctx, **prior):
    return {r.path: r.value for r in pg_memory.recommend(ctx, {**PRIOR, **prior})}


@pytest.mark.parametrize("profile, env, shared_buffers", [
    ("oltp", "staging", 2 * GiB), ("desktop", "staging", 512 * MiB),
    ("oltp", "development", 1 * GiB),
], ids=["quarter", "desktop-sixteenth", "development-cap"])
def test_shared_buffers(make_ctx, profile, env, shared_buffers):
    assert _values(make_ctx(db_profile=profile, env=env))["postgres.shared_buffers"] \
        == shared_buffers


def _pgtune_model(budget, sb, conns, slots):
    return (budget - sb) // ((conns + slots) * 3) // KiB * KiB


def test_work_mem_uses_pooled_connections(make_ctx):
    """Few pooled connections: PGTune's model fits the honest worst case and is kept."""
    v = _values(make_ctx(), **{"postgres.max_connections": 5,
                               "postgres.max_parallel_workers": 0})
    assert v["postgres.work_mem"] == _pgtune_model(8 * GiB, 2 * GiB, 5, 8)
    assert v["budget.postgres_worst_case"] <= 8 * GiB


def test_work_mem_held_so_the_worst_case_fits(make_ctx):
    """200 connections: PGTune's model would not fit, work_mem is the largest that does."""
    ctx = make_ctx(fixed={"postgres.max_connections": 200})
    s = settings(ctx)
    budget_pg, sb = s["budget.postgres"], s["postgres.shared_buffers"]
    assert s["postgres.work_mem"] < _pgtune_model(budget_pg, sb, 200, 8)
    worst = pg_memory.worst_case(ctx, s)
    assert sum(worst.values()) <= budget_pg
    one_kib_more = pg_memory.worst_case(ctx, {**s, "postgres.work_mem": s["postgres.work_mem"]
                                              + KiB})
    assert sum(one_kib_more.values()) > budget_pg - 64 * KiB * (200 + 4) * 4


def test_worst_case_counts_parallel_workers_hash_memory_and_processes(make_ctx):
    ctx = make_ctx(db_profile="oltp")
    s = {"postgres.shared_buffers": 1 * GiB, "postgres.wal_buffers": 16 * MiB,
         "postgres.max_connections": 40, "postgres.max_parallel_workers": 16,
         "postgres.autovacuum_max_workers": 3, "postgres.autovacuum_work_mem": 256 * MiB,
         "postgres.maintenance_work_mem": 512 * MiB, "postgres.work_mem": 100 * MiB}
    parts = pg_memory.worst_case(ctx, s)
    # PostgreSQL 15: hash_mem_multiplier 2.0; oltp: two sort/hash nodes per query
    assert parts["postgres.work_mem"] == (40 + 16) * 100 * MiB * 2 * 2.0
    assert parts["postgres.max_connections"] == (40 + 16 + 3) * pg_memory.PROCESS_BASE
    assert parts["postgres.shared_buffers"] == 1 * GiB + 16 * MiB
    assert parts["postgres.autovacuum_work_mem"] == 3 * 256 * MiB
    fixed = pg_memory.worst_case(ctx, {**s, "postgres.hash_mem_multiplier": 1.0})
    assert fixed["postgres.work_mem"] == parts["postgres.work_mem"] / 2


@pytest.mark.parametrize("version, multiplier", [(13, 1.0), (14, 1.0), (15, 2.0), (17, 2.0)])
def test_hash_mem_multiplier_default_follows_the_version(make_ctx, version, multiplier):
    from perfcfg.tune.context import Versions
    assert pg_memory.hash_mem_multiplier(make_ctx(versions=Versions(postgres=version))) \
        == multiplier


def test_work_mem_held_when_the_floor_would_not_fit(make_ctx):
    v = _values(make_ctx(), **{"budget.postgres": 256 * MiB, "postgres.max_connections": 40})
    assert v["postgres.work_mem"] < pg_memory.WORK_MEM_FLOOR
    assert v["budget.postgres_worst_case"] <= 256 * MiB


@pytest.mark.parametrize("version, cap", [(15, 1 * GiB), (17, 2 * GiB)], ids=["pg15", "pg17"])
def test_autovacuum_work_mem_cap(make_ctx, version, cap):
    from perfcfg.tune.context import Versions
    ctx = make_ctx(versions=Versions(postgres=version), db_profile="dw")
    v = _values(ctx, **{"budget.postgres": 256 * GiB})
    assert v["postgres.autovacuum_work_mem"] == cap


@pytest.mark.parametrize("sb_budget, wal_buffers, huge", [
    (64 * GiB, 16 * MiB, "try"), (1 * GiB, 8 * MiB, "off"),
], ids=["big", "small"])
def test_wal_buffers_and_huge_pages(make_ctx, sb_budget, wal_buffers, huge):
    v = _values(make_ctx(), **{"budget.postgres": sb_budget})
    assert (v["postgres.wal_buffers"], v["postgres.huge_pages"]) == (wal_buffers, huge)


def test_tuned_memory_passes_the_worst_case_check(make_ctx):
    ctx = make_ctx(host=Host(8 * GiB, 2))
    assert [f for f in check(ctx, settings(ctx)) if f.code == "PCF301"] == []
