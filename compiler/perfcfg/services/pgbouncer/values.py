"""pgbouncer values: plain numbers and seconds, 1/0 booleans, C ints that wrap silently.

>>> from perfcfg.services.catalog import load
>>> cat = load("pgbouncer", "1.18")
>>> coerce(cat.get("query_wait_timeout"), 1.5)
1.5
>>> coerce(cat.get("server_reset_query_always"), "yes")
True
"""

from __future__ import annotations

from typing import Any

from perfcfg.core.units import UnitError
from perfcfg.services.catalog import (
    Param,
    as_bool,
    as_enum,
    as_int,
    as_path,
    as_real,
    as_string,
    check_addresses,
    octal,
    ranged,
)

BOOL_HINT = "pgbouncer booleans are true or false (written 1 or 0)"
INTEGER_HINT = "use 0 or a positive whole number"
# pgbouncer's cf_set_int stores into a C int; larger values wrap without an error.
PGBOUNCER_INT_MAX = 2**31 - 1
_BOOL_WORDS = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}


# Where pgbouncer's files are (placement.py): absolute, or pgbouncer resolves them against the
# directory it is started from ("" — no log file, no pid file, no socket — stays allowed).
PATH_KEYS = frozenset({"logfile", "pidfile", "unix_socket_dir", "auth_file"})


def _canonical(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return as_bool(value, _BOOL_WORDS, "true/false, written 1/0")
    if param.type == "enum":
        return as_enum(param, value)
    if param.type == "seconds":
        if isinstance(value, str):
            raise UnitError(f"expected seconds as a number ({param.release} accepts no unit "
                            f"suffix), got {value!r}")
        seconds = as_real(value)
        if seconds < 0:
            raise UnitError("expected a non-negative number of seconds")
        return int(seconds) if float(seconds).is_integer() else seconds
    if param.type == "octal":
        return octal(value)
    if param.type == "integer":
        number = as_int(value)
        if number < 0:
            raise UnitError(f"expected a non-negative integer, got {number} "
                            "(pgbouncer would accept it silently)")
        if number > PGBOUNCER_INT_MAX:
            raise UnitError(f"{number} is outside the range 0 .. {PGBOUNCER_INT_MAX}: pgbouncer "
                            "keeps only the low 32 bits of an integer setting, silently")
        return number
    if param.name in PATH_KEYS:
        return as_path(value, "pgbouncer")
    text = as_string(value)
    if param.name == "listen_addr" and text.strip():   # '' is the Unix socket only
        check_addresses([a.strip() for a in text.split(",")], ",", everywhere=("*",))
    return text


coerce = ranged(_canonical)


def unit_hint(param: Param) -> str | None:
    if param.type == "seconds":
        return "pgbouncer times are plain seconds, e.g. 30 or 1.5"
    if param.name in PATH_KEYS:
        return "write an absolute path, e.g. /var/run/postgresql for unix_socket_dir"
    return None


# A databases: entry's key that its [databases] line does not write runs with these
# [pgbouncer] settings (explain names them for the pool). Each database's line writes its own
# pool_size and reserve_pool; pool_mode only when the entry sets one.
POOL_FALLBACKS = {"pool_size": "pgbouncer.default_pool_size",
                  "reserve_pool": "pgbouncer.reserve_pool_size",
                  "pool_mode": "pgbouncer.pool_mode"}
