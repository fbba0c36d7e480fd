"""PostgreSQL's units: case-sensitive, 1024-based, a bare number in the GUC's base unit.

>>> parse_pg_memory("512MB", "8kB")
536870912
>>> format_pg_memory(536870912, "8kB")
'512MB'
>>> format_pg_time(90_000_000, "ms")
'90s'

A fractional number takes a unit, as PostgreSQL reads it: ``1.5s`` is 1500ms and ``0.5GB`` is
512MB; perfcfg accepts it when it is a whole number of bytes or microseconds (the parameter's
own unit is checked by its coercion).

>>> parse_pg_time("1.5s", "ms"), parse_pg_memory("0.5GB", "8kB")
(1500000, 536870912)
"""

from __future__ import annotations

import re
from fractions import Fraction

from perfcfg.core.units import GiB, KiB, MiB, TiB, UnitError

# guc.c memory_unit_conversion_table / time_unit_conversion_table
PG_MEMORY_UNITS = {"B": 1, "kB": KiB, "MB": MiB, "GB": GiB, "TB": TiB}
PG_TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000,
                 "d": 86_400_000_000}
PG_BASE_BYTES = {"B": 1, "kB": KiB, "8kB": 8 * KiB, "MB": MiB}
PG_BASE_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000}
_PG_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def _split(value: object, what: str) -> tuple[Fraction, str]:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected {what}, got {value!r}")
    if isinstance(value, int):
        return Fraction(value), ""
    m = _PG_NUMBER.fullmatch(value)
    if not m:
        raise UnitError(f"expected {what}, got {value!r}")
    if len(m.group(1)) > 40:   # beyond every range; also beyond Python's int-digit limit
        raise UnitError(f"a number of {len(m.group(1))} digits is out of range")
    number = Fraction(m.group(1))
    if number.denominator != 1 and not m.group(2):
        raise UnitError(f"a bare number is in the parameter's own unit and must be whole, got "
                        f"{value!r}; give a fraction a unit (1.5s, 0.5GB)")
    return number, m.group(2)


def _whole(amount: Fraction, value: object, smallest: str) -> int:
    if amount.denominator != 1:
        raise UnitError(f"{value!r} is not a whole number of {smallest}")
    return int(amount)


def parse_pg_memory(value: object, base_unit: str) -> int:
    """A PostgreSQL memory value → bytes. A bare number is in the GUC's base unit."""
    number, unit = _split(value, "a size like 512MB (units B, kB, MB, GB, TB)")
    if unit == "":
        return _whole(number * PG_BASE_BYTES[base_unit], value, "bytes")
    if unit not in PG_MEMORY_UNITS:
        raise UnitError(f"unknown memory unit {unit!r}; PostgreSQL accepts B, kB, MB, GB, TB "
                        "(case-sensitive)")
    return _whole(number * PG_MEMORY_UNITS[unit], value, "bytes")


def parse_pg_time(value: object, base_unit: str) -> int:
    """A PostgreSQL time value → microseconds. A bare number is in the GUC's base unit."""
    number, unit = _split(value, "a duration like 30s (units us, ms, s, min, h, d)")
    if unit == "":
        return _whole(number * PG_BASE_US[base_unit], value, "microseconds")
    if unit not in PG_TIME_UNITS:
        note = "; 'm' is not minutes" if unit == "m" else ""
        raise UnitError(f"unknown time unit {unit!r}; PostgreSQL accepts us, ms, s, min, h, d "
                        f"(case-sensitive{note})")
    return _whole(number * PG_TIME_UNITS[unit], value, "microseconds")


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
