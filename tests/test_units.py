import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@pytest.mark.parametrize("text", ["128mb", "1KB", "4kb", "1 GiB", "-", "1.5", "1.5 GiB"])
def test_pg_memory_rejects_what_postgres_rejects(text):
    with pytest.raises(UnitError):
        pg_units.parse_pg_memory(text, "kB")


@pytest.mark.parametrize("text, base, expected", [
    ("250ms", "ms", 250_000), ("1min", "ms", 60_000_000), ("10s", "s", 10_000_000), (500, "ms", 500_000),
])
def test_pg_time(text, base, expected):
    assert pg_units.parse_pg_time(text, base) == expected


@pytest.mark.parametrize("text, base, expected", [
    # PostgreSQL reads a fraction with a unit: 1.5s is 1500ms, 0.5GB is 512MB
    ("1.5s", "ms", 1_500_000), ("0.25min", "s", 15_000_000), ("2.5ms", "us", 2500),
])
def test_pg_time_takes_a_fraction_with_a_unit(text, base, expected):
    assert pg_units.parse_pg_time(text, base) == expected


@pytest.mark.parametrize("text, base, expected", [
    ("1.5GB", "8kB", 1536 * MiB), ("0.5MB", "kB", 512 * KiB), ("2.25kB", "B", 2304),
])
def test_pg_memory_takes_a_fraction_with_a_unit(text, base, expected):
    assert pg_units.parse_pg_memory(text, base) == expected


@pytest.mark.parametrize("text, match", [
    ("1.5", "must be whole"), ("0.0000001s", "whole number of microseconds"),
    ("1.5us", "whole number of microseconds"),
])
def test_pg_time_refuses_a_fraction_it_cannot_carry(text, match):
    with pytest.raises(UnitError, match=match):
        pg_units.parse_pg_time(text, "ms")


@pytest.mark.parametrize("text, expected", [
    ("16G", "16GiB"), ("512mb", "512MiB"), ("2 tib", "2TiB"), ("1.5g", "1.5GiB"),
    ("64Ki", "64KiB"), ("16GiB", None), ("16 apples", None), ("G", None),
])
def test_a_size_spelling_near_perfcfgs_own_is_named(text, expected):
    assert units.size_spelling(text) == expected


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
