"""PostgreSQL values: a preset value → perfcfg's canonical value (bytes, microseconds, on/off…),
and the hints a wrong one gets.

>>> from perfcfg.services.catalog import load
>>> cat = load("postgresql", "15", case_insensitive=True)
>>> coerce(cat.get("work_mem"), "64MB")
67108864
>>> coerce(cat.get("huge_pages"), False)
'off'
>>> fix_it(cat.get("work_mem"), "2GiB")
"write 2GB (PostgreSQL's units are case-sensitive and 1024-based: MB means MiB)"
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from perfcfg.core.units import UnitError, human
from perfcfg.services.catalog import (
    BOOL_WORDS,
    Param,
    as_bool,
    as_enum,
    as_int,
    as_path,
    as_real,
    as_string,
    check_addresses,
    check_range,
)
from perfcfg.services.fixit import fix_unit
from perfcfg.services.postgres.units import (
    PG_BASE_BYTES,
    PG_BASE_US,
    PG_TIME_UNITS,
    parse_pg_memory,
    parse_pg_time,
)

BOOL_HINT = "PostgreSQL booleans are on or off"
# Enum values that exist only in a build with a library (targets.postgres_build): value → feature.
BUILD_VALUES = {"lz4": "lz4", "zstd": "zstd", "io_uring": "liburing"}
# Strings PostgreSQL keeps in a NAMEDATALEN buffer: it truncates them to 63 bytes without an
# error (perfcfg verify showed a 300,000-character cluster_name come back cut).
NAME_LENGTH_GUCS = frozenset({"application_name", "cluster_name"})
NAME_MAX_BYTES = 63
# Where the cluster's files are (placement.py): absolute, so that the server finds them
# whatever directory it is started from and the manifest knows where they are deployed.
PATH_GUCS = frozenset({"data_directory", "hba_file", "ident_file", "external_pid_file"})
_MEMORY_HINT = "PostgreSQL memory units are B, kB, MB, GB, TB (case-sensitive)"
_TIME_HINT = "PostgreSQL time units are us, ms, s, min, h, d (case-sensitive)"
# Unit spellings people carry over from elsewhere → PostgreSQL's own (same meaning).
_MEMORY_FIXES = {"b": "B", "k": "kB", "kb": "kB", "kib": "kB", "m": "MB", "mb": "MB",
                 "mib": "MB", "g": "GB", "gb": "GB", "gib": "GB", "t": "TB", "tb": "TB",
                 "tib": "TB"}
_TIME_FIXES = {"usec": "us", "msec": "ms", "sec": "s", "secs": "s", "second": "s",
               "seconds": "s", "m": "min", "mins": "min", "minute": "min", "minutes": "min",
               "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "day": "d", "days": "d"}


def coerce(param: Param, value: Any) -> Any:
    """The canonical value; a size or duration finer than the GUC's unit is refused, because
    PostgreSQL would round it (a timeout possibly to 0 = disabled)."""
    if param.context == "internal":
        raise UnitError(f"{param.name} is read-only: PostgreSQL sets it itself (at initdb or "
                        "when it was built) and refuses it in postgresql.conf")
    result = _canonical(param, value)
    own = result
    if param.type == "real":
        # a real is in its own unit already (vacuum_cost_delay = 1.5 is 1.5 ms): nothing rounds
        check_range(param, result)
        return result
    if param.unit in PG_BASE_BYTES and result != -1 and not isinstance(result, bool):
        if result % PG_BASE_BYTES[param.unit]:
            raise UnitError(f"{human(result)} is finer than this parameter's unit "
                            f"({param.unit}); PostgreSQL would round it")
        own = result / PG_BASE_BYTES[param.unit]
    elif param.unit in PG_BASE_US and result != -1 and not isinstance(result, bool):
        if result % PG_BASE_US[param.unit]:
            raise UnitError(f"this duration is finer than this parameter's unit ({param.unit}); "
                            "PostgreSQL would round it, possibly to 0 = disabled")
        own = result / PG_BASE_US[param.unit]
    check_range(param, own)
    return result


def pg_bool(value: Any) -> bool:
    """A boolean as PostgreSQL's parse_bool reads it: on, off, true, false, yes, no, 1, 0 in
    any case, or any unambiguous prefix of them (``tru``, ``of``; not ``o``).

    >>> pg_bool("TRU"), pg_bool("of"), pg_bool(1)
    (True, False, True)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "0", "on"):
        return text != "0"
    if text in ("of", "off"):
        return False
    for word, meaning in (("true", True), ("false", False), ("yes", True), ("no", False)):
        if text and word.startswith(text):
            return meaning
    return as_bool(value, BOOL_WORDS, "on or off")


def _canonical(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return pg_bool(value)
    if param.type == "enum":
        return as_enum(param, value)
    if param.type == "string" and param.name in PATH_GUCS:
        return as_path(value, "PostgreSQL")
    if param.name == "DateStyle":
        # PostgreSQL reports it in capitals, ", "-separated: written so, verify compares it
        return ", ".join(part.strip().upper() for part in as_string(value).split(","))
    if param.type == "string":
        text = as_string(value)
        if param.name in NAME_LENGTH_GUCS and len(text.encode()) > NAME_MAX_BYTES:
            raise UnitError(f"{param.name} is at most {NAME_MAX_BYTES} bytes: PostgreSQL "
                            "silently truncates a longer one")
        if param.name == "listen_addresses" and text.strip():   # '' is Unix sockets only
            check_addresses([a.strip() for a in text.split(",")], ",", everywhere=("*",))
        return text
    if param.type == "real":
        if param.unit in PG_BASE_US and isinstance(value, str) and \
                re.fullmatch(r"\s*[-+]?[0-9.]+(e[-+]?[0-9]+)?\s*[a-z]+\s*", value, re.I):
            # a real with a time unit takes one, in any of PostgreSQL's: 1500us is 1.5 (ms)
            return _real_time(param, value)
        number = as_real(value)
        if number and abs(number) < sys.float_info.min:
            # strtod reports underflow for a denormal number, and PostgreSQL refuses it
            raise UnitError(f"{value!r} is too close to 0 for PostgreSQL (below "
                            f"{sys.float_info.min:g}); write 0 or a larger number")
        return number
    if param.unit in PG_BASE_BYTES:
        if value == -1 or value == "-1":
            return -1
        return parse_pg_memory(value, param.unit)
    if param.unit in PG_BASE_US:
        if value == -1 or value == "-1":
            return -1
        return parse_pg_time(value, param.unit)
    return as_int(value)


def _real_time(param: Param, value: str) -> float:
    found = re.fullmatch(r"\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)\s*([a-z]+)\s*", value, re.I)
    assert found is not None and param.unit is not None
    number, unit = found.groups()
    if unit not in PG_TIME_UNITS:
        raise UnitError(f"unknown time unit {unit!r}; PostgreSQL accepts us, ms, s, min, h, d "
                        "(case-sensitive)")
    try:
        amount = float(number)
    except ValueError:
        raise UnitError(f"expected a number, got {value!r}") from None
    return amount * PG_TIME_UNITS[unit] / PG_TIME_UNITS[param.unit]


def unit_hint(param: Param) -> str | None:
    if param.unit in ("B", "kB", "8kB", "MB"):
        return _MEMORY_HINT
    if param.unit in ("us", "ms", "s", "min"):
        return _TIME_HINT
    return None


def fix_it(param: Param, value: Any) -> str | None:
    """``2GiB`` → ``2GB`` (PostgreSQL's GB is 1024-based), ``5m`` → ``5min``; a value finer
    than the parameter's unit gets what PostgreSQL would make of it and the nearest whole one."""
    if param.name in PATH_GUCS:
        return "write an absolute path, e.g. /var/lib/postgresql/17/main for data_directory"
    finer = _finer(param, value)
    if finer:
        return finer
    example = "MB" if param.unit in ("B", "kB", "8kB", "MB") else \
        "s" if param.unit in ("us", "ms", "s", "min") else None
    if example and isinstance(value, (int, float)) and not isinstance(value, bool):
        # `work_mem: 16` is 16kB to PostgreSQL, out of range: the unit was most likely meant
        return (f"a number without a unit is in {param.unit} here ({value} is "
                f"{value}{param.unit}); write the unit, e.g. {value}{example}")
    if param.unit in ("B", "kB", "8kB", "MB"):
        return fix_unit(value, _MEMORY_FIXES,
                        "PostgreSQL's units are case-sensitive and 1024-based: MB means MiB")
    if param.unit in ("us", "ms", "s", "min"):
        return fix_unit(value, _TIME_FIXES, "PostgreSQL time units are us, ms, s, min, h, d")
    return None


def _finer(param: Param, value: Any) -> str | None:
    base = PG_BASE_US.get(param.unit or "") or PG_BASE_BYTES.get(param.unit or "")
    if base is None or param.type != "integer":
        return None
    try:
        amount = _canonical(param, value)
    except UnitError:
        return None
    if isinstance(amount, bool) or amount == -1 or amount % base == 0:
        return None
    near = round(amount / base)   # PostgreSQL rounds to the nearest whole unit (rint)
    if near == 0 and param.unit in PG_BASE_US:
        return (f"PostgreSQL would read {value} as 0, which turns {param.name} off; the "
                f"smallest nonzero value is 1{param.unit}")
    shown = f"{near * 8}kB" if param.unit == "8kB" else f"{near}{param.unit}"
    return f"PostgreSQL would round it to {shown}: write a whole number of {param.unit}, " \
        f"e.g. {shown}"


# -- what the binary takes (the catalog's sets, read off it: services/postgres/readers.py) --

# Parameters whose value is a time zone: a name of the build's time zone data (any case), a
# POSIX TZ specification (std name, offset, optional daylight name and rule) or an offset.
TIMEZONE_GUCS = frozenset({"TimeZone", "log_timezone"})
_POSIX_TZ = re.compile(r"(?:[A-Za-z]{3,}|<[+-]?[A-Za-z0-9]+>)[+-]?\d{1,3}(?::\d{1,2}){0,2}"
                       r"(?:(?:[A-Za-z]{3,}|<[+-]?[A-Za-z0-9]+>)(?:[+-]?\d{1,3}(?::\d{1,2}){0,2})?"
                       r"(?:,[^,\s]+,[^,\s]+)?)?")
_OFFSET = re.compile(r"[+-]?\d+(?:\.\d+)?(?::\d{1,2}){0,2}")


def check_value(sets: Mapping[str, Any], param: Param, value: Any) -> None:
    """Refuse what this version's binary refuses among the values its catalog lists: a time
    zone it has no data for, a date style or other key word it does not know (or two it
    will not take together), a time zone abbreviation file it lacks."""
    if param.type == "bool" and isinstance(value, bool):
        said = sets.get("refused", {}).get(param.name, {}).get("on" if value else "off")
        if said:
            raise UnitError(said)
    if not isinstance(value, str):
        return
    if param.name in TIMEZONE_GUCS and "timezones" in sets:
        _check_timezone(sets["timezones"], param, value)
    elif param.name == "timezone_abbreviations" and "timezone_abbreviations" in sets:
        if value not in sets["timezone_abbreviations"]:
            raise UnitError(f"no time zone abbreviation file {value!r} in this PostgreSQL; "
                            f"it has {', '.join(sets['timezone_abbreviations'])}")
    elif param.name in sets.get("words", {}):
        _check_words(sets["words"][param.name], param, value)


def _check_timezone(names: list[str], param: Param, value: str) -> None:
    if value.lower() in _lower_names(tuple(names)) or _POSIX_TZ.fullmatch(value) or \
            _OFFSET.fullmatch(value):
        return
    raise UnitError(f"{value!r} is not a time zone this PostgreSQL knows: a name of its time "
                    "zone data (Europe/Berlin, UTC), a POSIX specification (EST5EDT) or an "
                    "offset in hours (+3)")


@cache
def _lower_names(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


def _check_words(known: Mapping[str, Any], param: Param, value: str) -> None:
    words = [w.strip() for w in value.split(",")]
    if words == [""]:
        if not known["empty"]:
            raise UnitError(f"{param.name} cannot be empty; it takes {', '.join(known['words'])}")
        return
    any_case = bool(known["any_case"])

    def fold(word: str) -> str:
        return word.lower() if any_case else word

    allowed = {fold(w): w for w in known["words"]}
    for word in words:
        if fold(word) not in allowed:
            raise UnitError(f"{word!r} is not a key word of {param.name}; it takes "
                            f"{', '.join(known['words'])}")
    given = {fold(w) for w in words}
    for a, b in known["conflicts"]:
        if fold(a) in given and fold(b) in given:
            raise UnitError(f"{param.name} takes {a} or {b}, not both (PostgreSQL: conflicting "
                            "specifications)")
# postgres.spare_connections: perfcfg's own key, ordinary slots beyond the pools and the direct
# clients (an operator's psql, a pg_dump, a second monitoring agent). PostgreSQL's reserved
# slots are for superusers (and pg_use_reserved_connections roles) only, so they do not serve
# these; 1000 is far beyond any operator's need and keeps a typo from sizing memory for it.
SPARE_CONNECTIONS_DEFAULT = 3
SPARE_CONNECTIONS_MAX = 1000


def spare_connections(value: Any) -> int:
    """``postgres.spare_connections``: a whole number of slots, 0 to 1000."""
    if isinstance(value, int) and not isinstance(value, bool) \
            and 0 <= value <= SPARE_CONNECTIONS_MAX:
        return value
    raise UnitError(f"expected a whole number of connections from 0 to {SPARE_CONNECTIONS_MAX}, "
                    f"got {value!r}")
