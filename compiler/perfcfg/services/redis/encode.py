"""redis.conf and ACL-file encoders, and the reverse (for the round-trip tests).

>>> redis_arg('a "b"')
'"a \\\\"b\\\\""'
"""

from __future__ import annotations

import re
from typing import Any

from perfcfg.core.encoding import EncodeError, no_control
from perfcfg.services.catalog import Param
from perfcfg.services.redis.units import format_redis_memory


def redis_arg(value: str) -> str:
    """One argument, double-quoted with Redis's escapes when it is not a plain token."""
    no_control(value)
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
    (Redis's ACLLoadFromFile), so each word must be printable ASCII without quotes or backslashes."""
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


def list_text(param: Param, items: list[str]) -> list[str]:
    """A list directive's argument strings: ``bind`` takes every address on one line, the
    others (``save``) one line per item; an empty list is written ``""`` (none)."""
    if not items:
        return ['""']
    # Split as Redis does (ASCII blanks only): str.split() would also cut at U+0085 or U+2028,
    # writing two arguments where the preset gave one.
    args = [" ".join(redis_arg(a) for a in re.split(r"[ \t]+", item.strip(" \t")) if a)
            for item in items]
    return [" ".join(args)] if param.name == "bind" else args


def redis_value(param: Param, value: Any) -> str:
    """The text after the directive's name; a list directive written on several lines
    (``save``) gives them one per line."""
    if param.type == "list":
        return "\n".join(list_text(param, list(value)))
    if param.type == "bool":
        return "yes" if value else "no"
    if param.type == "memory":
        return format_redis_memory(int(value))
    if param.type == "octal":
        return f"{int(value):o}"
    if isinstance(value, int):
        return str(value)
    return redis_arg(str(value))
