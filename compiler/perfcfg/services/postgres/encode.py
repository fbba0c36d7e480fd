"""postgresql.conf and pg_hba.conf encoders, and the reverse of each (for the round-trip tests).

>>> pg_string("it's C:\\\\tmp")
"'it''s C:\\\\\\\\tmp'"
>>> hba_token("bots")
'bots'
"""

from __future__ import annotations

import math
import re
from typing import Any

from perfcfg.core.encoding import EncodeError, no_control, plain_decimal
from perfcfg.core.units import UnitError
from perfcfg.services.catalog import Param
from perfcfg.services.postgres.units import (
    PG_BASE_BYTES,
    PG_BASE_US,
    format_pg_memory,
    format_pg_time,
)


def pg_string(value: str) -> str:
    no_control(value)
    if not value.isascii():
        raise EncodeError("PostgreSQL configuration values must be ASCII "
                          "(some parameters silently replace other characters with '?')")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_value(param: Param, value: Any) -> str:
    if param.type == "bool":
        return "on" if value else "off"
    if param.type == "enum" and re.fullmatch(r"[a-z][a-z0-9_]*", str(value)):
        return str(value)
    if param.type in ("enum", "string"):
        return pg_string(str(value))
    if param.type == "real":
        try:
            return plain_decimal(value)
        except EncodeError:
            if not math.isfinite(float(value)):
                raise
            # quoted, PostgreSQL reads it with strtod (its lexer reads no exponent unquoted)
            return pg_string(repr(float(value)))
    if value == -1:
        return "-1"
    try:
        if param.unit in PG_BASE_BYTES:
            return format_pg_memory(int(value), param.unit)
        if param.unit in PG_BASE_US:
            return format_pg_time(int(value), param.unit)
    except UnitError as exc:
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


_HBA_TOKEN = re.compile(r"[A-Za-z0-9_.:/+-]+")


def hba_token(value: str) -> str:
    """A pg_hba.conf field: plain when safe, else double-quoted (no quote or newline inside)."""
    no_control(value, "pg_hba.conf field")
    if _HBA_TOKEN.fullmatch(value) and not value.startswith("+") and not value.startswith("@"):
        return value
    if '"' in value or not value:
        raise EncodeError(f"{value!r} cannot be written as a pg_hba.conf field")
    return f'"{value}"'


# Words PostgreSQL reads as keywords in the database and user fields unless quoted.
HBA_KEYWORDS = frozenset({"all", "sameuser", "samerole", "samegroup", "replication"})


def hba_name(value: str) -> str:
    """A database or role *name* in pg_hba.conf: quoted when it is also a keyword, so that a
    role called ``all`` matches that role only.

    >>> hba_name("all"), hba_name("app")
    ('"all"', 'app')
    """
    if value in HBA_KEYWORDS:
        return f'"{value}"'
    return hba_token(value)
