"""pgbouncer.ini and userlist.txt encoders, and the reverse of each (for the round-trip tests).

>>> pgbouncer_value("transaction")
'transaction'
>>> pgbouncer_connstr([("host", "127.0.0.1"), ("dbname", "my db")])
"host=127.0.0.1 dbname='my db'"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from perfcfg.core.encoding import EncodeError, no_control, plain_decimal, read_doubled
from perfcfg.services.catalog import Param


def pgbouncer_value(value: Any, param: Param | None = None) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if param is not None and param.type == "octal":
        return f"0{int(value):o}"
    if isinstance(value, float):
        return plain_decimal(value)
    if isinstance(value, int):
        return str(value)
    text = no_control(str(value))
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
        text = no_control(str(value), f"{key} value")
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
            value, i = read_doubled(text, i + 1, "'")
            pairs.append((key, value))
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            pairs.append((key, text[i:end]))
            i = end
    return pairs



PGBOUNCER_MAX_DBNAME = 64   # include/bouncer.h (1.18), with the terminating NUL


def pgbouncer_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value) or value in ("pgbouncer", "*"):
        raise EncodeError(f"{value!r} cannot be a pgbouncer database name "
                          "(letters, digits, '_', '.', '-' only; 'pgbouncer' is reserved)")
    if len(value) >= PGBOUNCER_MAX_DBNAME:
        # pgbouncer refuses to start on a longer [databases] name ("invalid value … no memory?")
        raise EncodeError(f"pgbouncer limits database names to "
                          f"{PGBOUNCER_MAX_DBNAME - 1} characters")
    return value


def userlist_line(user: str, secret: str) -> str:
    for what, text in (("user name", user), ("secret", secret)):
        no_control(text, what)
    if len(user.encode()) >= 128:
        raise EncodeError("pgbouncer limits user names to 127 bytes")
    if len(secret.encode()) >= 2048:
        raise EncodeError("pgbouncer limits secrets to 2047 bytes")

    def q(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'
    return f"{q(user)} {q(secret)}"


def decode_userlist_line(line: str) -> tuple[str, str]:
    """The (user, secret) pgbouncer's ``load_auth_file`` reads from a line we wrote."""
    fields: list[str] = []
    i = 0
    while len(fields) < 2:
        while line[i] == " ":
            i += 1
        assert line[i] == '"'
        value, i = read_doubled(line, i + 1, '"')
        fields.append(value)
    return fields[0], fields[1]
