"""supervisord.conf encoders, and the reverse (for the round-trip tests).

>>> supervisor_value("50%")
'50%%'
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Iterable

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


def decode_supervisor_value(text: str) -> str:
    """What supervisor makes of ``key = <text>``: trimmed, cut at an inline comment, then
    ``%``-expanded once (``%%`` → ``%``; any other ``%`` would be a reference or an error)."""
    value = text.strip()
    m = re.search(r"\s[;#]", value)
    if m:
        value = value[:m.start()].rstrip()
    assert "%" not in value.replace("%%", ""), "a live %-reference"
    return value.replace("%%", "%")


def decode_supervisor_environment(text: str) -> list[tuple[str, str]]:
    """The pairs of an ``environment =`` value we wrote (values are always double-quoted)."""
    value = decode_supervisor_value(text)
    pairs = re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"(?:,|$)', value)
    assert ",".join(f'{k}="{v}"' for k, v in pairs) == value
    return pairs


_SUPERVISOR_REF = re.compile(r"%\((program_name|process_num|group_name|numprocs)\)(s|0?[0-9]*d)")


def supervisor_template(text: str) -> str:
    """A value where perfcfg's whitelisted ``%(process_num)02d``-style references stay live and
    every other ``%`` is literal (e.g. ``process_name``)."""
    _supervisor_checked(text)
    parts, last = [], 0
    for m in _SUPERVISOR_REF.finditer(text):
        parts.append(text[last:m.start()].replace("%", "%%"))
        parts.append(m.group(0))
        last = m.end()
    parts.append(text[last:].replace("%", "%%"))
    return "".join(parts)


def supervisor_command(argv: list[str]) -> str:
    """``command=`` from an argv list; supervisor splits it again with shlex at spawn."""
    for arg in argv:
        no_control(arg, "command argument")
    line = shlex.join(argv)
    if shlex.split(line) != argv:
        raise EncodeError("the command does not survive shell-style splitting")
    return supervisor_value(line)


def supervisor_environment(pairs: Iterable[tuple[str, str]]) -> str:
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
        out.append(f'{key}="' + value.replace("%", "%%") + '"')
    return ",".join(out)
