"""Number spellings the daemons share when they report a value back.

Pure functions, no processes; each service's ``compare.py`` says how its daemon spells the
rest (units, booleans, enums) on top of these.

>>> c_int("0x10"), c_int("010"), c_int("-7"), c_int("7.5")
(16, 8, -7, None)
"""

from __future__ import annotations


def c_int(text: str) -> int | None:
    """``strtol(text, 0)`` semantics: 0x hex and leading-0 octal, as PG and pgbouncer parse."""
    t = text.strip()
    sign = -1 if t.startswith("-") else 1
    body = t.lstrip("+-")
    try:
        if body.lower().startswith("0x"):
            return sign * int(body, 16)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)
        return sign * int(body, 10)
    except ValueError:
        return None
