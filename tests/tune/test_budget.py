"""Memory split: OS reserve, workers, pgbouncer, Redis (+ fork headroom), PostgreSQL the rest."""

import pytest

from perfcfg.services.postgres.tuning.memory import BUDGET_MIN
from perfcfg.services.redis import budget as redis_budget
from perfcfg.tune import budget
from perfcfg.tune.context import GiB, Host, MiB, Shares


@pytest.mark.parametrize("memory, reserve", [
    (1 * GiB, 256 * MiB), (4 * GiB, 409 * MiB), (16 * GiB, 1638 * MiB), (1024 * GiB, 8 * GiB),
], ids=["1GiB-floor", "4GiB-10pct", "16GiB-10pct", "1TiB-cap"])
def test_os_reserve_auto(make_ctx, memory, reserve):
    assert budget.os_reserve(make_ctx(host=Host(memory, 4))) == reserve


def test_parts_add_up_to_the_host(make_ctx):
    b = budget.plan(make_ctx())
    assert b.total <= b.host and b.host - b.total < 2 * MiB and b.shortfall == 0
    assert b.workers == 40 * 120 * MiB + 2 * 200 * MiB


@pytest.mark.parametrize("persistence, role, factor", [
    (False, "cache", 1.0), (True, "cache", 2.0), (False, "store", 2.0),
], ids=["cache", "cache-with-rdb", "store"])
def test_redis_budget_includes_fork_headroom(make_ctx, persistence, role, factor):
    ctx = make_ctx(redis_persistence=persistence, redis_role=role, shares=Shares(redis=1 * GiB))
    b = budget.plan(ctx)
    maxmemory = b.details["redis"].inputs["maxmemory"]
    assert b.parts["redis"] <= 1 * GiB
    assert b.parts["redis"] == int(maxmemory * redis_budget.FRAGMENTATION * factor) \
        + redis_budget.BASE


@pytest.mark.parametrize("shares, field, value", [
    (Shares(postgres=0.5), "postgres", 8 * GiB),
    (Shares(postgres=6 * GiB), "postgres", 6 * GiB),
    (Shares(os_reserve=1 * GiB), "os_reserve", 1 * GiB),
], ids=["pg-fraction", "pg-bytes", "os-bytes"])
def test_stated_shares_win(make_ctx, shares, field, value):
    b = budget.plan(make_ctx(shares=shares))
    assert (b.os_reserve if field == "os_reserve" else b.parts[field]) == value


def test_stated_shares_beyond_host_leave_a_shortfall(make_ctx):
    b = budget.plan(make_ctx(shares=Shares(postgres=0.9, redis=0.2)))
    assert b.shortfall > 0


def test_small_host_still_gets_minimums(make_ctx):
    ctx = make_ctx(host=Host(1 * GiB, 1), programs=(), pools=())
    b = budget.plan(ctx)
    assert b.parts["postgres"] >= BUDGET_MIN
    assert b.details["redis"].inputs["maxmemory"] >= redis_budget.MIN_MAXMEMORY
    assert b.shortfall == 0


def test_recommendations_cover_every_part(make_ctx):
    paths = [r.path for r in budget.recommend(make_ctx(), {})]
    assert paths == ["budget.os_reserve", "budget.workers", "budget.pgbouncer", "budget.redis",
                     "budget.postgres"]


def test_findings_name_the_stated_shares(make_ctx):
    found = budget.findings(make_ctx(shares=Shares(postgres=0.9, redis=0.2)))
    assert [f.code for f in found] == ["PCF302"]
    assert set(found[0].paths) == {"host.memory", "budget.postgres", "budget.redis"}
