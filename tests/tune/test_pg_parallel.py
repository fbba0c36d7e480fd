"""Worker slots never below 8; parallelism from CPUs (none on one CPU)."""

import pytest

from perfcfg.services.postgres.tuning import parallel as pg_parallel
from perfcfg.tune.context import GiB, Host


@pytest.mark.parametrize("cpus, profile, expected", [
    (1, "web", (8, 1, 0, 0)), (2, "web", (8, 2, 1, 1)), (4, "oltp", (8, 4, 2, 2)),
    (16, "dw", (18, 16, 8, 4)), (16, "web", (18, 16, 4, 4)), (128, "oltp", (130, 128, 4, 4)),
], ids=["1cpu", "2cpu", "4cpu", "16cpu-dw", "16cpu-web", "128cpu"])
def test_parallel_settings(make_ctx, cpus, profile, expected):
    ctx = make_ctx(host=Host(16 * GiB, cpus), db_profile=profile)
    assert tuple(r.value for r in pg_parallel.recommend(ctx, {})) == expected


def test_max_worker_processes_explains_its_deviation(make_ctx):
    assert "8" in pg_parallel.recommend(make_ctx(), {})[0].deviation
