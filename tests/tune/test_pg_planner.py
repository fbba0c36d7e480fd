"""Page costs and I/O concurrency by storage (PostgreSQL ≥ 13 units), statistics and JIT."""

import pytest

from perfcfg.services.postgres.tuning import planner as pg_planner
from perfcfg.tune.context import GiB, Host, Versions


@pytest.mark.parametrize("storage, profile, version, rpc, eio", [
    ("hdd", "web", 15, 4.0, 2), ("ssd", "web", 15, 1.1, 256), ("san", "oltp", 15, 1.1, 300),
    ("nvme", "web", 15, 1.1, 1000), ("ssd", "dw", 15, 4.0, 256), ("ssd", "web", 12, 1.1, 200),
], ids=["hdd", "ssd", "san", "nvme", "dw-on-ssd", "pg12-old-units"])
def test_costs_by_storage(make_ctx, storage, profile, version, rpc, eio):
    ctx = make_ctx(host=Host(16 * GiB, 4, storage), db_profile=profile,
                   versions=Versions(postgres=version))
    v = {r.path: r for r in pg_planner.recommend(ctx, {})}
    assert v["postgres.random_page_cost"].value == rpc
    assert v["postgres.effective_io_concurrency"].value == eio


def test_ssd_io_concurrency_deviation_names_the_unit_change(make_ctx):
    v = {r.path: r for r in pg_planner.recommend(make_ctx(), {})}
    assert "13" in v["postgres.effective_io_concurrency"].deviation


@pytest.mark.parametrize("profile, target, jit", [("dw", 500, None), ("oltp", 100, False)],
                         ids=["dw", "oltp"])
def test_statistics_and_jit(make_ctx, profile, target, jit):
    v = {r.path: r.value for r in pg_planner.recommend(make_ctx(db_profile=profile), {})}
    assert v["postgres.default_statistics_target"] == target
    assert v.get("postgres.jit") == jit
