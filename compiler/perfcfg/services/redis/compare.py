"""How Redis and Valkey report a value (CONFIG GET), compared with the text perfcfg wrote.

>>> redis_equal("256m", "268435456")
False
>>> redis_equal("256mb", "268435456")
True
"""

from __future__ import annotations

import re

REDIS_MEMORY_UNITS = {"b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
                      "g": 1000**3, "gb": 1024**3}
_REDIS_MEMORY = re.compile(r"(-?\d+)(b|k|kb|m|mb|g|gb)", re.IGNORECASE)
_REDIS_ALIASES = {"replica": "slave"}   # client-output-buffer-limit classes are reported by old name


def redis_tokens(value: str) -> list[str]:
    """Split a redis.conf value like sdssplitargs does (enough for config values)."""
    tokens: list[str] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(\S+)', value):
        if m.group(1) is not None:
            tokens.append(bytes(m.group(1), "utf-8").decode("unicode_escape"))
        elif m.group(2) is not None:
            tokens.append(m.group(2).replace("\\'", "'"))
        else:
            tokens.append(m.group(3))
    return tokens


def redis_normal(value: str) -> str:
    """The form CONFIG GET reports: memory in bytes, bools/enums lower-case, one space."""
    out = []
    for tok in redis_tokens(value):
        m = _REDIS_MEMORY.fullmatch(tok)
        if m:
            tok = str(int(m.group(1)) * REDIS_MEMORY_UNITS[m.group(2).lower()])
        elif tok.lower() in ("yes", "no"):
            tok = tok.lower()
        tok = _REDIS_ALIASES.get(tok.lower(), tok)
        out.append(tok)
    return " ".join(out)


def _classes(value: str) -> dict[str, list[str]]:
    toks = value.split()
    return {toks[i].lower(): toks[i + 1:i + 4] for i in range(0, len(toks) - 3, 4)}


def redis_equal(intended: str, effective: str, enum: bool = False, key: str = "") -> bool:
    """Equal as CONFIG GET reports it; client-output-buffer-limit compares the classes given."""
    a, b = redis_normal(intended), effective.strip()
    if key == "client-output-buffer-limit":
        want, have = _classes(a), _classes(b)
        return bool(want) and all(have.get(c) == v for c, v in want.items())
    return a == b or (enum and a.lower() == b.lower())
