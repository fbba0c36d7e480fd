"""supervisor values: true/false booleans, sizes in KB/MB/GB, octal modes.

>>> from perfcfg.services.catalog import load
>>> cat = load("supervisor", "4", case_insensitive=True)
>>> coerce(cat.get("logfile_maxbytes", "supervisord"), "50MB")
52428800
"""

from __future__ import annotations

from typing import Any

from perfcfg.services.catalog import Param, as_bool, as_enum, as_int, as_string, octal, ranged
from perfcfg.services.supervisor.units import parse_supervisor_bytes

BOOL_HINT = "supervisor booleans are true or false"
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True,
               "off": False, "1": True, "0": False}


def _canonical(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return as_bool(value, _BOOL_WORDS, "true or false")
    if param.type == "enum":
        return as_enum(param, value)
    if param.type == "memory":
        return parse_supervisor_bytes(value)
    if param.type == "integer":
        return as_int(value)
    if param.type == "octal":
        return octal(value)
    return as_string(value)


coerce = ranged(_canonical)


def unit_hint(param: Param) -> str | None:
    if param.type == "memory":
        return "supervisor sizes are bytes or KB, MB, GB (1024-based), e.g. 50MB"
    return None
