"""supervisor values: true/false booleans, sizes in KB/MB/GB, octal modes.

>>> from perfcfg.services.catalog import load
>>> cat = load("supervisor", "4", case_insensitive=True)
>>> coerce(cat.get("logfile_maxbytes", "supervisord"), "50MB")
52428800
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.core.units import UnitError
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


def check_value(sets: Mapping[str, Any], param: Param, value: Any) -> None:
    """What supervisor's converters refuse among the values its catalog lists: a signal its
    interpreter does not know (``datatypes.signal_number``), an exit code outside 0–255
    (``list_of_exitcodes``)."""
    if param.name == "stopsignal" and "signals" in sets:
        _check_signal(sets["signals"], str(value))
    elif param.name == "exitcodes":
        for code in (c.strip() for c in str(value).split(",")) if str(value).strip() else ():
            if not code.lstrip("-").isdigit() or not 0 <= int(code) <= 255:
                raise UnitError(f"{code!r} is not an exit code: supervisor takes 0 to 255 "
                                "(a list like 0,2)")


def _check_signal(signals: Mapping[str, Any], text: str) -> None:
    if text.strip().lstrip("-").isdigit():
        if int(text) in signals["numbers"]:
            return
        raise UnitError(f"{text} is not a signal number supervisor knows")
    name = text.strip().upper()
    if (name[3:] if name.startswith("SIG") else name) not in signals["names"]:
        raise UnitError(f"{text!r} is not a signal name: supervisor takes "
                        f"{', '.join(signals['names'][:12])}… (with or without SIG)")
