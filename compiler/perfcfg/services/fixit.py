"""Fix-it hints for a value whose only mistake is the spelling of its unit.

>>> fix_unit("2GiB", {"gib": "GB"}, "PostgreSQL's GB is 1024-based")
"write 2GB (PostgreSQL's GB is 1024-based)"
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER_UNIT = re.compile(r"\s*([0-9]+)\s*([A-Za-z]+)\s*")


def fix_unit(value: Any, spellings: dict[str, str], why: str) -> str | None:
    """The value with the daemon's spelling of its unit, when ``spellings`` knows the one used."""
    match = _NUMBER_UNIT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    number, unit = match.groups()
    fixed = spellings.get(unit.lower())
    return f"write {number}{fixed} ({why})" if fixed and fixed != unit else None
