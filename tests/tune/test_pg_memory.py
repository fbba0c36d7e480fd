"""PostgreSQL memory from its own budget; work_mem from the pooled connection count."""

import pytest
from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.tune.checks import check
from perfcfg.tune.context import GiB, Host, KiB, MiB
from perfcfg.tune.engine import settings

PRIOR = {"budget.postgres": 8 * GiB, "postgres.max_connections": 13,
         "postgres.max_worker_processes": 8, "postgres.autovacuum_max_workers": 3}


def _values(ctx, **prior):
    return {r.path: r.value for r in pg_memory.recommend(ctx, {**PRIOR, **prior})}


@pytest.mark.parametrize("profile, env, shared_buffers", [
    ("oltp", "staging", 2 * GiB), ("desktop", "staging", 512 * MiB),
    ("oltp", "development", 1 * GiB),
], ids=["quarter", "desktop-sixteenth", "development-cap"])
def test_shared_buffers(make_ctx, profile, env, shared_buffers):
    assert _values(make_ctx(db_profile=profile, env=env))["postgres.shared_buffers"] \
        == shared_buffers


def test_work_mem_uses_pooled_connections(make_ctx):
    v = _values(make_ctx())
    expected = (8 * GiB - 2 * GiB) // ((13 + 8) * 3) // KiB * KiB
    assert v["postgres.work_mem"] == expected


def test_fixed_max_connections_feeds_work_mem(make_ctx):
    ctx = make_ctx(fixed={"postgres.max_connections": 200})
    s = settings(ctx)
    assert s["postgres.max_connections"] == 200
    budget_pg, sb = s["budget.postgres"], s["postgres.shared_buffers"]
    assert s["postgres.work_mem"] == (budget_pg - sb) // ((200 + 8) * 3) // KiB * KiB


def test_work_mem_held_when_the_floor_would_not_fit(make_ctx):
    v = _values(make_ctx(), **{"budget.postgres": 256 * MiB, "postgres.max_connections": 200})
    assert v["postgres.work_mem"] < pg_memory.WORK_MEM_FLOOR
    worst = v["postgres.shared_buffers"] + 200 * v["postgres.work_mem"] * 1.5 \
        + 3 * v["postgres.autovacuum_work_mem"]
    assert worst <= 256 * MiB


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
