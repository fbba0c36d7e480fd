"""Autovacuum workers by CPUs; earlier vacuums for OLTP-like profiles."""

import pytest

from perfcfg.services.postgres.tuning import autovacuum as pg_autovacuum
from perfcfg.tune.context import GiB, Host


@pytest.mark.parametrize("cpus, workers", [(4, 3), (16, 4), (32, 5)], ids=["4", "16", "32"])
def test_workers(make_ctx, cpus, workers):
    recs = pg_autovacuum.recommend(make_ctx(host=Host(64 * GiB, cpus)), {})
    assert recs[1].value == workers


@pytest.mark.parametrize("profile, tuned", [("oltp", True), ("dw", False)], ids=["oltp", "dw"])
def test_scale_factors_only_for_oltp_like(make_ctx, profile, tuned):
    paths = {r.path for r in pg_autovacuum.recommend(make_ctx(db_profile=profile), {})}
    assert ("postgres.autovacuum_vacuum_scale_factor" in paths) is tuned
