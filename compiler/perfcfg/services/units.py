"""Units, parsed the way each daemon reads them and written back exactly.

perfcfg's canonical values: memory in bytes, PostgreSQL time in microseconds, pgbouncer time
in (float) seconds. Each parser returns a canonical value or raises ``UnitError`` whose message
says what was expected.

>>> parse_pg_memory("512MB", "8kB")
536870912
>>> format_pg_memory(536870912, "8kB")
'512MB'
>>> parse_redis_memory("256m"), parse_redis_memory("256mb")
(256000000, 268435456)
>>> format_redis_memory(268435456)
'256mb'
"""

from __future__ import annotations

import re

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


class UnitError(ValueError):
    """A value that the target daemon would reject or read differently."""


# PostgreSQL: units are case-sensitive and 1024-based (guc.c memory_unit_conversion_table).
PG_MEMORY_UNITS = {"B": 1, "kB": KiB, "MB": MiB, "GB": GiB, "TB": TiB}
PG_TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000,
                 "d": 86_400_000_000}
PG_BASE_BYTES = {"B": 1, "kB": KiB, "8kB": 8 * KiB, "MB": MiB}
PG_BASE_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000}
_PG_NUMBER = re.compile(r"\s*([0-9]+)\s*([A-Za-z]*)\s*")

# Redis memtoull: case-insensitive; k/m/g are powers of 1000, kb/mb/gb powers of 1024.
REDIS_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": KiB, "m": 1000**2, "mb": MiB,
                      "g": 1000**3, "gb": GiB}
# supervisor datatypes.byte_size: KB/MB/GB, case-insensitive, 1024-based.
SUPERVISOR_MEMORY_UNITS = {"": 1, "kb": KiB, "mb": MiB, "gb": GiB}
# perfcfg's own sizes (host profile, workload, budget): IEC and PostgreSQL-style, 1024-based.
OWN_MEMORY_UNITS = {"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB, "TiB": TiB,
                    "kB": KiB, "KB": KiB, "MB": MiB, "GB": GiB, "TB": TiB}


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


def _parse_suffixed(value: object, table: dict[str, int], expected: str) -> int:
    """``<digits><unit>`` with a case-insensitive unit from ``table`` (the key "" = bytes)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected {expected}, got {value!r}")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"([0-9]+)([A-Za-z]*)", value.strip())
    unit = m.group(2).lower() if m else None
    if not m or unit not in table:
        raise UnitError(f"expected {expected}, got {value!r}")
    return int(m.group(1)) * table[unit]


def _format_exact(nbytes: int, table: dict[str, int], spellings: tuple[str, ...]) -> str:
    """The coarsest spelling that divides ``nbytes`` exactly, else plain bytes."""
    for unit in spellings:
        size = table[unit.lower()]
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return str(nbytes)


def parse_redis_memory(value: object) -> int:
    return _parse_suffixed(value, REDIS_MEMORY_UNITS,
                           "a size like 512mb (units b, k, kb, m, mb, g, gb)")


def format_redis_memory(nbytes: int) -> str:
    """Always the 1024-based spelling (``mb``), never the 1000-based ``m``."""
    return _format_exact(nbytes, REDIS_MEMORY_UNITS, ("gb", "mb", "kb"))


def parse_supervisor_bytes(value: object) -> int:
    return _parse_suffixed(value, SUPERVISOR_MEMORY_UNITS, "a size like 50MB (units KB, MB, GB)")


def format_supervisor_bytes(nbytes: int) -> str:
    return _format_exact(nbytes, SUPERVISOR_MEMORY_UNITS, ("GB", "MB", "KB"))


def parse_size(value: object) -> int:
    """perfcfg's own sizes (host memory, per-process memory, budgets): ``16GiB``, ``512MB``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected a size like 16GiB or 512MiB, got {value!r}")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", value)
    if not m or m.group(2) not in OWN_MEMORY_UNITS:
        raise UnitError(f"expected a size like 16GiB or 512MiB (units B, KiB, MiB, GiB, TiB; "
                        f"kB/MB/GB are 1024-based too), got {value!r}")
    return int(float(m.group(1)) * OWN_MEMORY_UNITS[m.group(2)])


def format_size(nbytes: int) -> str:
    """Exact IEC spelling for perfcfg's own sizes: ``format_size(3 * GiB // 2) == '1536MiB'``."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        size = OWN_MEMORY_UNITS[unit]
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return f"{nbytes}B"


def human(nbytes: float) -> str:
    """Approximate, for explanations only: ``human(1.5 * GiB) == '1.5 GiB'``."""
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(nbytes)} B"
