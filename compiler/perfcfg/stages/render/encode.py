"""Encoders: one function per target format that writes a canonical value safely, or refuses.

Each refuses what the daemon's parser cannot carry (newlines, NUL, control characters, and the
per-format traps of research/target-formats.md) with ``EncodeError``; nothing is silently
altered. ``decode_*`` helpers are the reverse, used by the round-trip property tests.

>>> pg_string("it's C:\\\\tmp")
"'it''s C:\\\\\\\\tmp'"
>>> pgbouncer_value("transaction")
'transaction'
>>> redis_arg('a "b"')
'"a \\\\"b\\\\""'
>>> supervisor_value("50%")
'50%%'
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Iterable

from perfcfg.services import units
from perfcfg.services.catalog import Param

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class EncodeError(ValueError):
    pass


def _no_control(value: str, what: str = "value") -> str:
    if _CONTROL.search(value):
        raise EncodeError(f"the {what} contains a control character (newline, tab, NUL…), "
                          "which this file format cannot carry safely")
    return value


def comment_text(text: str) -> str:
    """Comment text with control characters replaced, so it can never end the comment."""
    return _CONTROL.sub(" ", text)


# -- postgresql.conf ---------------------------------------------------------------------

def pg_string(value: str) -> str:
    _no_control(value)
    if not value.isascii():
        raise EncodeError("PostgreSQL configuration values must be ASCII "
                          "(some parameters silently replace other characters with '?')")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_real(value: float) -> str:
    text = repr(float(value))
    if "e" in text or "inf" in text or "nan" in text:
        raise EncodeError(f"{value!r} cannot be written as a plain decimal")
    return text[:-2] if text.endswith(".0") else text


def pg_value(param: Param, value: Any) -> str:
    if param.type == "bool":
        return "on" if value else "off"
    if param.type == "enum" and re.fullmatch(r"[a-z][a-z0-9_]*", str(value)):
        return str(value)
    if param.type in ("enum", "string"):
        return pg_string(str(value))
    if param.type == "real":
        return pg_real(value)
    if value == -1:
        return "-1"
    try:
        if param.unit in units.PG_BASE_BYTES:
            return units.format_pg_memory(int(value), param.unit)
        if param.unit in units.PG_BASE_US:
            return units.format_pg_time(int(value), param.unit)
    except units.UnitError as exc:
        raise EncodeError(str(exc)) from None
    return str(int(value))


def decode_pg_string(text: str) -> str:
    """The value PostgreSQL's GUC_scanstr makes of a quoted string we wrote."""
    assert text[0] == text[-1] == "'"
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "'" and body[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        elif c == "\\":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# -- pg_hba.conf -------------------------------------------------------------------------

_HBA_TOKEN = re.compile(r"[A-Za-z0-9_.:/+-]+")


def hba_token(value: str) -> str:
    """A pg_hba.conf field: plain when safe, else double-quoted (no quote or newline inside)."""
    _no_control(value, "pg_hba.conf field")
    if _HBA_TOKEN.fullmatch(value) and not value.startswith("+") and not value.startswith("@"):
        return value
    if '"' in value or not value:
        raise EncodeError(f"{value!r} cannot be written as a pg_hba.conf field")
    return f'"{value}"'


# -- pgbouncer.ini and userlist.txt ------------------------------------------------------

def pgbouncer_value(value: Any, param: Param | None = None) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if param is not None and param.type == "octal":
        return f"0{int(value):o}"
    if isinstance(value, float):
        return pg_real(value)
    if isinstance(value, int):
        return str(value)
    text = _no_control(str(value))
    if text != text.strip():
        raise EncodeError("pgbouncer trims spaces around values, so a value cannot start or "
                          "end with a space")
    return text


_CONNSTR_KEY = re.compile(r"[a-z_]+")


def pgbouncer_connstr(pairs: Iterable[tuple[str, Any]]) -> str:
    """A [databases] connection string: ``host=127.0.0.1 dbname='my db'``."""
    out = []
    for key, value in pairs:
        assert _CONNSTR_KEY.fullmatch(key)
        text = _no_control(str(value), f"{key} value")
        if not text:
            raise EncodeError(f"pgbouncer rejects an empty {key}= in a connection string")
        if re.fullmatch(r"[A-Za-z0-9_.:/-]+", text):
            out.append(f"{key}={text}")
        else:
            out.append(f"{key}='" + text.replace("'", "''") + "'")
    return " ".join(out)


def decode_pgbouncer_value(text: str) -> str:
    """What pgbouncer's ini parser makes of ``key = <text>``: the rest of the line, trimmed."""
    return text.strip(" \t")


def decode_pgbouncer_connstr(text: str) -> list[tuple[str, str]]:
    """The pairs pgbouncer's ``parse_database`` reads from a connection string we wrote."""
    pairs, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        eq = text.index("=", i)
        key, i = text[i:eq], eq + 1
        if text[i:i + 1] == "'":
            value, i = _read_doubled(text, i + 1, "'")
            pairs.append((key, value))
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            pairs.append((key, text[i:end]))
            i = end
    return pairs


def _read_doubled(text: str, i: int, quote: str) -> tuple[str, int]:
    """The quoted field starting after its opening ``quote`` at ``i``, where a doubled quote
    stands for one; returns it and the index after the closing quote."""
    out = []
    while True:
        if text[i] == quote and text[i + 1:i + 2] == quote:
            out.append(quote)
            i += 2
        elif text[i] == quote:
            return "".join(out), i + 1
        else:
            out.append(text[i])
            i += 1


PGBOUNCER_MAX_DBNAME = 64   # include/bouncer.h (1.18), with the terminating NUL


def pgbouncer_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value) or value in ("pgbouncer", "*"):
        raise EncodeError(f"{value!r} cannot be a pgbouncer database name in 1.18 "
                          "(letters, digits, '_', '.', '-' only; 'pgbouncer' is reserved)")
    if len(value) >= PGBOUNCER_MAX_DBNAME:
        # pgbouncer refuses to start on a longer [databases] name ("invalid value … no memory?")
        raise EncodeError(f"pgbouncer 1.18 limits database names to "
                          f"{PGBOUNCER_MAX_DBNAME - 1} characters")
    return value


def userlist_line(user: str, secret: str) -> str:
    for what, text in (("user name", user), ("secret", secret)):
        _no_control(text, what)
    if len(user.encode()) >= 128:
        raise EncodeError("pgbouncer 1.18 limits user names to 127 bytes")
    if len(secret.encode()) >= 2048:
        raise EncodeError("pgbouncer 1.18 limits secrets to 2047 bytes")
    q = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
    return f"{q(user)} {q(secret)}"


def decode_userlist_line(line: str) -> tuple[str, str]:
    """The (user, secret) pgbouncer's ``load_auth_file`` reads from a line we wrote."""
    fields: list[str] = []
    i = 0
    while len(fields) < 2:
        while line[i] == " ":
            i += 1
        assert line[i] == '"'
        value, i = _read_doubled(line, i + 1, '"')
        fields.append(value)
    return fields[0], fields[1]


# -- redis.conf --------------------------------------------------------------------------

def redis_arg(value: str) -> str:
    """One argument, double-quoted with Redis's escapes when it is not a plain token."""
    _no_control(value)
    if value and re.fullmatch(r"[A-Za-z0-9_.:/@+*-]+", value) and not value.startswith("#"):
        return value
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch < "\x7f":
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


_ACL_WORD = re.compile(r"[!-~]+")


def acl_line(line: str) -> str:
    """A Redis ACL file line. The file is split on spaces with no quoting and no comments
    (research §4.3), so each word must be printable ASCII without quotes or backslashes."""
    words = line.split(" ")
    if words[:1] != ["user"] or len(words) < 3:
        raise EncodeError("an ACL file line must start with 'user NAME'")
    for word in words:
        if not _ACL_WORD.fullmatch(word) or any(c in word for c in "\"'\\"):
            raise EncodeError("an ACL rule must be one word of printable ASCII without quotes "
                              "or backslashes")
    return line


def decode_redis_arg(text: str) -> str:
    """The one argument Redis's ``sdssplitargs`` reads from an argument we wrote."""
    if not text.startswith('"'):
        assert text and not re.search(r"[\s\"']", text)
        return text
    assert text.endswith('"') and len(text) >= 2
    body, out, i = text[1:-1], bytearray(), 0
    escapes = {"n": 10, "r": 13, "t": 9, "b": 8, "a": 7}
    while i < len(body):
        c = body[i]
        if c == "\\" and body[i + 1] == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif c == "\\":
            out.extend(bytes([escapes[body[i + 1]]]) if body[i + 1] in escapes
                       else body[i + 1].encode("utf-8"))
            i += 2
        else:
            assert c != '"', "an unescaped quote would end the argument"
            out.extend(c.encode("utf-8"))
            i += 1
    return out.decode("utf-8")


def redis_value(param: Param, value: Any) -> str:
    if param.type == "bool":
        return "yes" if value else "no"
    if param.type == "memory":
        return units.format_redis_memory(int(value))
    if param.type == "octal":
        return f"{int(value):o}"
    if isinstance(value, int):
        return str(value)
    return redis_arg(str(value))


# -- supervisord.conf --------------------------------------------------------------------

def supervisor_value(value: Any, param: Param | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if param is not None and param.type == "memory":
        return units.format_supervisor_bytes(int(value))
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
    _no_control(text, what)
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
        _no_control(arg, "command argument")
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
