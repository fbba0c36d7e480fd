"""WAL sizes per profile (development keeps the defaults), lz4 from PostgreSQL 15."""

import pytest

from perfcfg.services.postgres.tuning import wal as pg_wal
from perfcfg.tune.context import GiB, MiB, Versions


@pytest.mark.parametrize("profile, env, sizes", [
    ("web", "production", (1 * GiB, 4 * GiB)), ("oltp", "staging", (2 * GiB, 8 * GiB)),
    ("dw", "production", (4 * GiB, 16 * GiB)), ("desktop", "production", (100 * MiB, 2 * GiB)),
    ("oltp", "development", (80 * MiB, 1 * GiB)),
], ids=["web", "oltp", "dw", "desktop", "development"])
def test_wal_sizes(make_ctx, profile, env, sizes):
    recs = pg_wal.recommend(make_ctx(db_profile=profile, env=env), {})
    assert (recs[0].value, recs[1].value) == sizes


@pytest.mark.parametrize("version, value", [(15, "lz4"), (14, "on")], ids=["pg15", "pg14"])
def test_wal_compression(make_ctx, version, value):
    recs = pg_wal.recommend(make_ctx(versions=Versions(postgres=version)), {})
    assert recs[-1].value == value
