"""Compare an intended value with the value a daemon reports, the way that daemon spells it.

Pure functions, no processes: each daemon handle feeds its effective values through these.

>>> pg_equal("256MB", "32768", "8kB", "integer")
True
>>> pg_equal("tru", "on", None, "bool")
True
>>> redis_equal("256m", "268435456")
False
>>> redis_equal("256mb", "268435456")
True
>>> pgbouncer_equal("0777", "511")
True
"""

from __future__ import annotations

import math
import re

# -- PostgreSQL ------------------------------------------------------------------------------

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


def c_int(text: str) -> int | None:
    """``strtol(text, 0)`` semantics: 0x hex and leading-0 octal, as PG and pgbouncer parse."""
    t = text.strip()
    sign = -1 if t.startswith("-") else 1
    body = t.lstrip("+-")
    try:
        if body.lower().startswith("0x"):
            return sign * int(body, 16)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)
        return sign * int(body, 10)
    except ValueError:
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


# -- pgbouncer -------------------------------------------------------------------------------

def pgbouncer_equal(intended: str, effective: str, enum: bool = False) -> bool:
    """pgbouncer reads ints with strtol(…, 0) and times as float seconds; enums any case."""
    i, e = intended.strip(), effective.strip()
    if i == e or (enum and i.lower() == e.lower()):
        return True
    ii, ei = c_int(i), c_int(e)
    if ii is not None and ei is not None:
        return ii == ei
    try:
        return math.isclose(float(i), float(e), rel_tol=1e-9)
    except ValueError:
        return False


# -- Redis -----------------------------------------------------------------------------------

REDIS_MEMORY_UNITS = {"b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
                      "g": 1000**3, "gb": 1024**3}
_REDIS_MEMORY = re.compile(r"(-?\d+)(b|k|kb|m|mb|g|gb)", re.IGNORECASE)
_REDIS_ALIASES = {"replica": "slave"}   # client-output-buffer-limit classes are reported by old name


def redis_tokens(value: str) -> list[str]:
    """Split a redis.conf value like sdssplitargs does (enough for config values)."""
    tokens: list[str] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(\S+)', value):
        if m.group(1) is not None:
            tokens.append(bytes(m.group(1), "utf-8").decode("unicode_escape"))
        elif m.group(2) is not None:
            tokens.append(m.group(2).replace("\\'", "'"))
        else:
            tokens.append(m.group(3))
    return tokens


def redis_normal(value: str) -> str:
    """The form CONFIG GET reports: memory in bytes, bools/enums lower-case, one space."""
    out = []
    for tok in redis_tokens(value):
        m = _REDIS_MEMORY.fullmatch(tok)
        if m:
            tok = str(int(m.group(1)) * REDIS_MEMORY_UNITS[m.group(2).lower()])
        elif tok.lower() in ("yes", "no"):
            tok = tok.lower()
        tok = _REDIS_ALIASES.get(tok.lower(), tok)
        out.append(tok)
    return " ".join(out)


def _classes(value: str) -> dict[str, list[str]]:
    toks = value.split()
    return {toks[i].lower(): toks[i + 1:i + 4] for i in range(0, len(toks) - 3, 4)}


def redis_equal(intended: str, effective: str, enum: bool = False, key: str = "") -> bool:
    """Equal as CONFIG GET reports it; client-output-buffer-limit compares the classes given."""
    a, b = redis_normal(intended), effective.strip()
    if key == "client-output-buffer-limit":
        want, have = _classes(a), _classes(b)
        return bool(want) and all(have.get(c) == v for c, v in want.items())
    return a == b or (enum and a.lower() == b.lower())
