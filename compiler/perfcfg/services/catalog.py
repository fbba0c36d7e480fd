"""Parameter catalogs of the target daemons, and coercion of preset values against them.

Catalogs are JSON files generated from the real daemons (``scripts/gen_catalogs.py``; format in
``docs/catalogs.md``). ``coerce`` turns what a preset says into perfcfg's canonical value for
that parameter (bytes, microseconds, seconds, bool, lower-case enum…) or raises ``UnitError``
with a message that states what was expected.

>>> cat = load("postgresql", "15")
>>> coerce(cat, cat.get("work_mem"), "64MB")
67108864
>>> coerce(cat, cat.get("huge_pages"), False)
'off'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from perfcfg.services import units
from perfcfg.services.units import UnitError

CATALOG_FILES = {
    "postgresql": "postgresql-{v}.json",
    "pgbouncer": "pgbouncer-{v}.json",
    "redis": "redis-{v}.json",
    "supervisor": "supervisor-{v}.json",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# pgbouncer's cf_set_int stores into a C int; larger values wrap without an error.
PGBOUNCER_INT_MAX = 2**31 - 1
_BOOL_WORDS = {"on": True, "off": False, "true": True, "false": False, "yes": True,
               "no": False, "1": True, "0": False}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    default: str | None = None
    context: str | None = None
    section: str | None = None

    @property
    def is_memory(self) -> bool:
        return self.type == "memory" or self.unit in units.PG_BASE_BYTES

    @property
    def is_time(self) -> bool:
        return self.unit in units.PG_BASE_US


@dataclass(frozen=True)
class Catalog:
    daemon: str
    version: str
    params: dict[str, Param]
    case_insensitive: bool

    def get(self, name: str, section: str | None = None) -> Param | None:
        key = name.lower() if self.case_insensitive else name
        if section is not None:
            key = f"{section}.{key}"
        return self.params.get(key)

    def names(self, section: str | None = None) -> list[str]:
        if section is None:
            return [p.name for p in self.params.values() if p.section is None]
        return [p.name for p in self.params.values() if p.section == section]


@lru_cache(maxsize=None)
def load(daemon: str, version: str) -> Catalog | None:
    """The catalog for a daemon version, or None when perfcfg has none for that version."""
    filename = CATALOG_FILES[daemon].format(v=version)
    try:
        text = resources.files("perfcfg.schemas.catalogs").joinpath(filename).read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None
    data = json.loads(text)
    ci = daemon in ("postgresql", "redis", "supervisor")
    params: dict[str, Param] = {}
    for name, spec in data["parameters"].items():
        values = tuple(spec["values"]) if spec.get("values") else None
        param = Param(spec.get("name", name.split(".")[-1]), spec["type"], spec.get("unit"),
                      spec.get("min"), spec.get("max"), values, spec.get("default"),
                      spec.get("context"), spec.get("section"))
        key = name.lower() if ci else name
        params[key] = param
    return Catalog(daemon, version, params, ci)


def check_text(value: str) -> str:
    if _CONTROL.search(value):
        raise UnitError("control characters (newline, tab, NUL…) are not allowed in a value")
    return value


def coerce(catalog: Catalog, param: Param, value: Any) -> Any:
    """The canonical value of ``value`` for ``param`` of ``catalog.daemon``."""
    kind = {"postgresql": _pg, "pgbouncer": _pgbouncer, "redis": _redis,
            "supervisor": _supervisor}[catalog.daemon]
    result = kind(param, value)
    _check_range(param, result)
    return result


def _as_bool(value: Any, words: dict[str, bool], spelled: str) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).lower()
    if key in words:
        return words[key]
    raise UnitError(f"expected a boolean ({spelled}), got {value!r}")


def _as_enum(param: Param, value: Any) -> str:
    if isinstance(value, bool):
        # YAML reads yes/no/on/off as booleans; give back the spelling this enum accepts
        # (Redis 7's enable-*-command enums are no/yes/local).
        spelled = [w for w in (("on", "off"), ("yes", "no"), ("true", "false"))
                   if {w[0], w[1]} <= {v.lower() for v in param.values or ()}]
        pair = spelled[0] if spelled else ("on", "off")
        value = pair[0] if value else pair[1]
    text = str(value)
    for allowed in param.values or ():
        if allowed.lower() == text.lower():
            return allowed
    raise UnitError(f"expected one of {', '.join(param.values or ())}, got {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", value.strip()):
            return int(value)
        raise UnitError(f"expected an integer, got {value!r}")
    return value


def _as_real(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnitError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise UnitError(f"expected a number, got {value!r}") from None


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        raise UnitError(f"expected a string, got {value!r}; quote it if you mean the word")
    if isinstance(value, (list, dict)) or value is None:
        raise UnitError(f"expected a string, got {value!r}")
    return check_text(str(value))


def _pg(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return _as_bool(value, _BOOL_WORDS, "on or off")
    if param.type == "enum":
        return _as_enum(param, value)
    if param.type == "string":
        return _as_string(value)
    if param.type == "real":
        return _as_real(value)
    if param.unit in units.PG_BASE_BYTES:
        if value == -1 or value == "-1":
            return -1
        return units.parse_pg_memory(value, param.unit)
    if param.unit in units.PG_BASE_US:
        if value == -1 or value == "-1":
            return -1
        return units.parse_pg_time(value, param.unit)
    return _as_int(value)


def _pgbouncer(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return _as_bool(value, {"1": True, "0": False, "true": True, "false": False,
                                "yes": True, "no": False}, "true/false, written 1/0")
    if param.type == "enum":
        return _as_enum(param, value)
    if param.type == "seconds":
        if isinstance(value, str):
            raise UnitError(f"expected seconds as a number (pgbouncer 1.18 accepts no unit "
                            f"suffix), got {value!r}")
        seconds = _as_real(value)
        if seconds < 0:
            raise UnitError("expected a non-negative number of seconds")
        return int(seconds) if float(seconds).is_integer() else seconds
    if param.type == "octal":
        return _octal(value)
    if param.type == "integer":
        number = _as_int(value)
        if number < 0:
            raise UnitError(f"expected a non-negative integer, got {number} "
                            "(pgbouncer would accept it silently)")
        if number > PGBOUNCER_INT_MAX:
            raise UnitError(f"{number} is outside the range 0 .. {PGBOUNCER_INT_MAX}: pgbouncer keeps only "
                            "the low 32 bits of an integer setting, silently")
        return number
    return _as_string(value)


def _redis(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return _as_bool(value, {"yes": True, "no": False}, "yes or no")
    if param.type == "enum":
        return _as_enum(param, value)
    if param.type == "memory":
        return units.parse_redis_memory(value)
    if param.type == "integer":
        return _as_int(value)
    if param.type == "octal":
        return _octal(value)
    if param.type == "list":
        items = value if isinstance(value, list) else [value]
        return [_as_string(item) for item in items]
    return _as_string(value)


def _supervisor(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return _as_bool(value, {"true": True, "false": False, "yes": True, "no": False,
                                "on": True, "off": False, "1": True, "0": False}, "true or false")
    if param.type == "enum":
        return _as_enum(param, value)
    if param.type == "memory":
        return units.parse_supervisor_bytes(value)
    if param.type == "integer":
        return _as_int(value)
    if param.type == "octal":
        return _octal(value)
    return _as_string(value)


def _octal(value: Any) -> int:
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"0?[0-7]{3}", text):
        raise UnitError(f"expected a file mode in octal as a quoted string like \"0700\", got {value!r}")
    return int(text, 8)


def _check_range(param: Param, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    own = value
    if param.unit in units.PG_BASE_BYTES and value != -1:
        own = value / units.PG_BASE_BYTES[param.unit]
        if value % units.PG_BASE_BYTES[param.unit]:
            raise UnitError(f"{units.human(value)} is finer than this parameter's unit "
                            f"({param.unit}); PostgreSQL would round it")
    elif param.unit in units.PG_BASE_US and value != -1:
        own = value / units.PG_BASE_US[param.unit]
        if value % units.PG_BASE_US[param.unit]:
            raise UnitError(f"this duration is finer than this parameter's unit ({param.unit}); "
                            "PostgreSQL would round it, possibly to 0 = disabled")
    lo, hi = param.min, param.max
    if (lo is not None and own < lo) or (hi is not None and own > hi):
        unit = f" {param.unit}" if param.unit else ""
        raise UnitError(f"{own:g}{unit} is outside the allowed range {lo:g} .. {hi:g}{unit}")
