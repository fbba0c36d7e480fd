import pytest
from hypothesis import given, strategies as st

from perfcfg.core import units
from perfcfg.core.units import GiB, KiB, MiB, UnitError
from perfcfg.services.postgres import units as pg_units
from perfcfg.services.redis import units as redis_units


@pytest.mark.parametrize("text, base, expected", [
    ("512MB", "8kB", 512 * MiB), ("1GB", "kB", GiB), ("64kB", "kB", 64 * KiB), (16384, "8kB", 128 * MiB),
    ("4096", "kB", 4 * MiB),
])
def test_pg_memory(text, base, expected):
    assert pg_units.parse_pg_memory(text, base) == expected


@pytest.mark.parametrize("text", ["128mb", "1KB", "4kb", "1.5GB", "1 GiB", "-"])
def test_pg_memory_rejects_what_postgres_rejects(text):
    with pytest.raises(UnitError):
        pg_units.parse_pg_memory(text, "kB")


@pytest.mark.parametrize("text, base, expected", [
    ("250ms", "ms", 250_000), ("1min", "ms", 60_000_000), ("10s", "s", 10_000_000), (500, "ms", 500_000),
])
def test_pg_time(text, base, expected):
    assert pg_units.parse_pg_time(text, base) == expected


def test_pg_time_m_is_not_minutes():
    with pytest.raises(UnitError, match="'m' is not minutes"):
        pg_units.parse_pg_time("5m", "ms")


def test_pg_time_finer_than_base_unit_is_refused():
    with pytest.raises(UnitError, match="finer"):
        pg_units.format_pg_time(100, "ms")


@pytest.mark.parametrize("text, expected", [
    ("256m", 256_000_000), ("256mb", 256 * MiB), ("1G", 1000**3), ("1gb", GiB), ("100", 100), ("2k", 2000),
])
def test_redis_memory(text, expected):
    assert redis_units.parse_redis_memory(text) == expected


@given(st.integers(min_value=1, max_value=1 << 40))
def test_redis_memory_round_trips(n):
    assert redis_units.parse_redis_memory(redis_units.format_redis_memory(n)) == n


@given(st.integers(min_value=1, max_value=1 << 30).map(lambda n: n * 8192))
def test_pg_memory_round_trips(n):
    assert pg_units.parse_pg_memory(pg_units.format_pg_memory(n, "8kB"), "8kB") == n


@pytest.mark.parametrize("text, expected", [("16GiB", 16 * GiB), ("512MB", 512 * MiB), ("1.5GiB", 3 * GiB // 2)])
def test_own_sizes(text, expected):
    assert units.parse_size(text) == expected
