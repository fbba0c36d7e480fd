"""PostgreSQL's units: case-sensitive, 1024-based, a bare number in the GUC's base unit.

>>> parse_pg_memory("512MB", "8kB")
536870912
>>> format_pg_memory(536870912, "8kB")
'512MB'
>>> format_pg_time(90_000_000, "ms")
'90s'
"""

from __future__ import annotations

import re

from perfcfg.core.units import GiB, KiB, MiB, TiB, UnitError

# guc.c memory_unit_conversion_table / time_unit_conversion_table
PG_MEMORY_UNITS = {"B": 1, "kB": KiB, "MB": MiB, "GB": GiB, "TB": TiB}
PG_TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000,
                 "d": 86_400_000_000}
PG_BASE_BYTES = {"B": 1, "kB": KiB, "8kB": 8 * KiB, "MB": MiB}
PG_BASE_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000}
_PG_NUMBER = re.compile(r"\s*([0-9]+)\s*([A-Za-z]*)\s*")


def _split(value: object, what: str) -> tuple[int, str]:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected {what}, got {value!r}")
    if isinstance(value, int):
        return value, ""
    m = _PG_NUMBER.fullmatch(value)
    if not m:
        raise UnitError(f"expected {what}, got {value!r}")
    return int(m.group(1)), m.group(2)


def parse_pg_memory(value: object, base_unit: str) -> int:
    """A PostgreSQL memory value → bytes. A bare number is in the GUC's base unit."""
    number, unit = _split(value, "a size like 512MB (units B, kB, MB, GB, TB)")
    if unit == "":
        return number * PG_BASE_BYTES[base_unit]
    if unit not in PG_MEMORY_UNITS:
        raise UnitError(f"unknown memory unit {unit!r}; PostgreSQL accepts B, kB, MB, GB, TB "
                        "(case-sensitive)")
    return number * PG_MEMORY_UNITS[unit]


def parse_pg_time(value: object, base_unit: str) -> int:
    """A PostgreSQL time value → microseconds. A bare number is in the GUC's base unit."""
    number, unit = _split(value, "a duration like 30s (units us, ms, s, min, h, d)")
    if unit == "":
        return number * PG_BASE_US[base_unit]
    if unit not in PG_TIME_UNITS:
        note = "; 'm' is not minutes" if unit == "m" else ""
        raise UnitError(f"unknown time unit {unit!r}; PostgreSQL accepts us, ms, s, min, h, d "
                        f"(case-sensitive{note})")
    return number * PG_TIME_UNITS[unit]


def format_pg_memory(nbytes: int, base_unit: str) -> str:
    """The coarsest exact PostgreSQL spelling; refuses sizes finer than the base unit."""
    base = PG_BASE_BYTES[base_unit]
    if nbytes % base:
        raise UnitError(f"{nbytes} bytes is not a whole number of {base_unit} "
                        "(PostgreSQL would round it)")
    for unit in ("TB", "GB", "MB", "kB"):
        size = PG_MEMORY_UNITS[unit]
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return str(nbytes // base) if base_unit != "B" else f"{nbytes}B"


def format_pg_time(us: int, base_unit: str) -> str:
    base = PG_BASE_US[base_unit]
    if us % base:
        raise UnitError(f"{us} µs is finer than this parameter's unit ({base_unit}); "
                        "PostgreSQL would round it, possibly to 0 = disabled")
    for unit in ("d", "h", "min", "s", "ms", "us"):
        size = PG_TIME_UNITS[unit]
        if us and us % size == 0:
            return f"{us // size}{unit}"
    return "0"
