"""What every file format's encoder shares: the refusal type and the control-character rule.

Each service's ``encode`` module writes canonical values in its daemon's syntax, or refuses
what the daemon's parser cannot carry (newlines, NUL, control characters, and the per-format
traps listed in docs/catalogs.md) with ``EncodeError``; nothing is silently altered.

>>> comment_text("tuned\\nmax_connections = 1")
'tuned max_connections = 1'
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class EncodeError(ValueError):
    pass


def no_control(value: str, what: str = "value") -> str:
    if CONTROL.search(value):
        raise EncodeError(f"the {what} contains a control character (newline, tab, NUL…), "
                          "which this file format cannot carry safely")
    return value


def comment_text(text: str) -> str:
    """Comment text with control characters replaced, so it can never end the comment."""
    return CONTROL.sub(" ", text)


def plain_decimal(value: float) -> str:
    """A float as a plain decimal (PostgreSQL and pgbouncer read no exponent)."""
    text = repr(float(value))
    if "e" in text or "inf" in text or "nan" in text:
        raise EncodeError(f"{value!r} cannot be written as a plain decimal")
    return text[:-2] if text.endswith(".0") else text


def read_doubled(text: str, i: int, quote: str) -> tuple[str, int]:
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
