"""supervisord.conf encoders, and the reverse (for the round-trip tests).

>>> supervisor_value("50%")
'50%%'
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from perfcfg.core.encoding import EncodeError, no_control
from perfcfg.services.catalog import Param
from perfcfg.services.supervisor.units import format_supervisor_bytes


def supervisor_value(value: Any, param: Param | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if param is not None and param.type == "memory":
        return format_supervisor_bytes(int(value))
    if param is not None and param.type == "octal":
        return f"0{int(value):03o}"
    if isinstance(value, int):
        return str(value)
    return _supervisor_checked(str(value)).replace("%", "%%")


# [program:x] keys whose values supervisor %-expands (process_num, program_name, ENV_X…);
# the log paths are expanded twice.
TWICE = ("stdout_logfile", "stderr_logfile")
TEMPLATES = ("process_name", "directory", *TWICE)


def option_value(param: Param, value: Any) -> str:
    """A value as supervisord.conf writes it: a program's templates keep their expansions
    live, every other value is literal."""
    if param.section == "program" and param.name in TEMPLATES and isinstance(value, str):
        return supervisor_template(value, param.name in TWICE)
    return supervisor_value(value, param)


# supervisorctl reads every value back over XML-RPC, and XML 1.0 has no way to carry these:
# a value holding one makes supervisord's answers unparseable.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _supervisor_chars(text: str, what: str = "value") -> str:
    """Refuse the characters neither supervisord.conf nor supervisorctl's XML-RPC can carry."""
    no_control(text, what)
    if _NOT_XML.search(text):
        raise EncodeError(f"the {what} contains U+FFFE, U+FFFF or a lone surrogate, which "
                          "supervisorctl's XML-RPC cannot carry")
    return text


def _supervisor_checked(text: str) -> str:
    _supervisor_chars(text)
    if text != text.strip():
        raise EncodeError("supervisor trims spaces around values")
    if re.search(r"\s[;#]", text):
        raise EncodeError("supervisor reads ' ;' and ' #' as the start of a comment, even inside "
                          "quotes, and there is no escape for it")
    return text


def decode_supervisor_value(text: str, expansions: Mapping[str, Any] | None = None) -> str:
    """What supervisor makes of ``key = <text>``: trimmed, cut at an inline comment, then
    ``%``-expanded once (``%%`` → ``%``; ``%(name)s`` from ``expansions``, as supervisor does
    with Python's ``%`` operator; without ``expansions`` a live reference is a bug)."""
    value = text.strip()
    m = re.search(r"\s[;#]", value)
    if m:
        value = value[:m.start()].rstrip()
    if expansions is not None:
        return value % expansions
    assert "%" not in value.replace("%%", ""), "a live %-reference"
    return value.replace("%%", "%")


def decode_supervisor_environment(text: str, expansions: Mapping[str, Any] | None = None
                                  ) -> list[tuple[str, str]]:
    """The pairs of an ``environment =`` value we wrote (values are always double-quoted)."""
    value = decode_supervisor_value(text, expansions)
    pairs = re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"(?:,|$)', value)
    assert ",".join(f'{k}="{v}"' for k, v in pairs) == value
    return pairs


# supervisor's own expansions in [program:x] values (supervisor/options.py,
# processes_from_section): command, environment, directory, the log paths and process_name
# see all of them; ENV_X is supervisord's environment (and the program's own environment).
EXPANSIONS = ("program_name", "process_num", "group_name", "numprocs", "host_node_name", "here")
# A reference: %(name)s, or with a printf conversion and flags (%(process_num)02d).
SUPERVISOR_REF = re.compile(r"%\((" + "|".join(EXPANSIONS) +
                            r"|ENV_[A-Za-z_][A-Za-z0-9_]*)\)[-#0 +]*[0-9]*(?:\.[0-9]+)?[sdiouxXr]")


def live_references(text: str) -> list[str]:
    """The supervisor expansions ``text`` uses (they are written live, not escaped)."""
    return [m.group(1) for m in SUPERVISOR_REF.finditer(text)]


def _escape_except_references(text: str, literal: str = "%%") -> str:
    parts, last = [], 0
    for m in SUPERVISOR_REF.finditer(text):
        parts.append(text[last:m.start()].replace("%", literal))
        parts.append(m.group(0))
        last = m.end()
    parts.append(text[last:].replace("%", literal))
    return "".join(parts)


def supervisor_template(text: str, expanded_twice: bool = False) -> str:
    """A value where supervisor's expansions (``%(process_num)02d``, ``%(ENV_X)s``…) stay
    live and every other ``%`` is literal. supervisor expands the log paths twice (once when
    it reads them, once per process), so a literal ``%`` there is written ``%%%%``."""
    _supervisor_checked(text)
    return _escape_except_references(text, "%%%%" if expanded_twice else "%%")


def supervisor_command(argv: list[str]) -> str:
    """``command=`` from an argv list; supervisor splits it again with shlex at spawn."""
    for arg in argv:
        no_control(arg, "command argument")
    line = shlex.join(argv)
    if shlex.split(line) != argv:
        raise EncodeError("the command does not survive shell-style splitting")
    return supervisor_template(line)


def supervisor_environment(pairs: Iterable[tuple[str, str]]) -> str:
    """``environment =``: ``KEY="value"`` pairs. A secret reference arrives resolved (the
    planner puts each program's secrets into its own section of this root-only file, so no
    worker gets another's and supervisord's own environment carries none); supervisor's own
    expansions (``%(ENV_X)s``, ``%(process_num)d``) stay live."""
    out = []
    for key, value in pairs:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise EncodeError(f"{key!r} is not a valid environment variable name")
        _supervisor_chars(value, f"value of {key}")
        if '"' in value or "\\" in value or value.startswith("'") or value.endswith("'"):
            raise EncodeError(f"supervisor cannot carry the value of {key}: it contains a "
                              "double quote or backslash, or starts/ends with a single quote")
        if re.search(r"\s[;#]", value):
            raise EncodeError(f"the value of {key} contains ' ;' or ' #', which supervisor "
                              "reads as a comment")
        out.append(f'{key}="' + _escape_except_references(value) + '"')
    return ",".join(out)
