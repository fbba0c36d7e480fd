"""How PostgreSQL reports a value (``pg_settings.setting``), compared with the text perfcfg wrote.

>>> pg_equal("256MB", "32768", "8kB", "integer")
True
>>> pg_equal("tru", "on", None, "bool")
True
"""

from __future__ import annotations

import math
import re

from perfcfg.harness.normalise import c_int

PG_MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
PG_TIME_UNITS_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000,
                    "h": 3_600_000_000, "d": 86_400_000_000}
# pg_settings.unit → (family, size of one base unit)
PG_BASE_UNITS = {"B": ("memory", 1), "kB": ("memory", 1024), "8kB": ("memory", 8192),
                 "MB": ("memory", 1024**2), "ms": ("time", 1000), "s": ("time", 1_000_000),
                 "min": ("time", 60_000_000)}
_PG_NUMBER = re.compile(r"\s*([+-]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+))\s*([A-Za-z]*)\s*")


def pg_unquote(value: str) -> str:
    """A postgresql.conf value as the server sees it: one level of '…' removed."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'").replace("\\\\", "\\")
    return v


def pg_bool(value: str) -> bool | None:
    """PostgreSQL's parse_bool: true/false/yes/no by any prefix, on/off by 2+ letters, 1/0."""
    v = value.strip().lower()
    if not v:
        return None
    for word, result, shortest in (("true", True, 1), ("false", False, 1), ("yes", True, 1),
                                   ("no", False, 1), ("on", True, 2), ("off", False, 2),
                                   ("1", True, 1), ("0", False, 1)):
        if len(v) >= shortest and word.startswith(v):
            return result
    return None


def pg_to_base(value: str, unit: str | None) -> float | None:
    """An intended number with optional unit, in the GUC's base unit (``unit``), unrounded."""
    m = _PG_NUMBER.fullmatch(value)
    if not m:
        return None
    number, suffix = m.groups()
    as_int = c_int(number) if not re.search(r"[.eE]", number) or number[:2] in ("0x", "0X") else None
    n = float(as_int) if as_int is not None else float(number)
    if not suffix:
        return n
    if unit not in PG_BASE_UNITS:
        return None
    family, base = PG_BASE_UNITS[unit]
    table = PG_MEMORY_UNITS if family == "memory" else PG_TIME_UNITS_US
    if suffix not in table:
        return None
    return n * table[suffix] / base


def pg_equal(intended: str, setting: str, unit: str | None, vartype: str) -> bool:
    """Does ``intended`` (file syntax) equal ``pg_settings.setting`` for this GUC?"""
    value = pg_unquote(intended)
    if vartype == "bool":
        return pg_bool(value) is not None and ("on" if pg_bool(value) else "off") == setting
    if vartype == "enum":
        if value.lower() == setting.lower():
            return True
        b = pg_bool(value)   # enums such as synchronous_commit also take boolean spellings
        return b is not None and ("on" if b else "off") == setting
    if vartype in ("integer", "real"):
        base = pg_to_base(value, unit)
        if base is None:
            return False
        if vartype == "integer":
            return round(base) == int(setting)
        return math.isclose(base, float(setting), rel_tol=1e-9, abs_tol=1e-12)
    return value == setting
