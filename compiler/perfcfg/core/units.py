"""perfcfg's own sizes and the unit machinery every daemon's units share.

perfcfg's canonical values: memory in bytes, time in microseconds (PostgreSQL) or seconds
(pgbouncer). Each daemon's own spelling lives in its service (``services/<daemon>/units.py``);
this module owns perfcfg's own sizes (host memory, per-process memory, budgets) and the
suffixed-size parser/formatter the daemons reuse.

>>> parse_size("16GiB") == 16 * GiB
True
>>> format_size(3 * GiB // 2)
'1536MiB'
"""

from __future__ import annotations

import re

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


class UnitError(ValueError):
    """A value that the target daemon would reject or read differently."""


# perfcfg's own sizes (host profile, workload, budget): IEC and PostgreSQL-style, 1024-based.
OWN_MEMORY_UNITS = {"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB, "TiB": TiB,
                    "kB": KiB, "KB": KiB, "MB": MiB, "GB": GiB, "TB": TiB}

def parse_suffixed(value: object, table: dict[str, int], expected: str) -> int:
    """``<digits><unit>`` with a case-insensitive unit from ``table`` (the key "" = bytes)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected {expected}, got {value!r}")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"([0-9]+)([A-Za-z]*)", value.strip())
    unit = m.group(2).lower() if m else None
    if not m or unit not in table:
        raise UnitError(f"expected {expected}, got {value!r}")
    return int(m.group(1)) * table[unit]


def format_exact(nbytes: int, table: dict[str, int], spellings: tuple[str, ...]) -> str:
    """The coarsest spelling that divides ``nbytes`` exactly, else plain bytes."""
    for unit in spellings:
        size = table[unit.lower()]
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return str(nbytes)


def parse_size(value: object) -> int:
    """perfcfg's own sizes (host memory, per-process memory, budgets): ``16GiB``, ``512MB``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected a size like 16GiB or 512MiB, got {value!r}")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", value)
    if not m or m.group(2) not in OWN_MEMORY_UNITS:
        raise UnitError(f"expected a size like 16GiB or 512MiB (units B, KiB, MiB, GiB, TiB; "
                        f"kB/MB/GB are 1024-based too), got {value!r}")
    return int(float(m.group(1)) * OWN_MEMORY_UNITS[m.group(2)])


_SIZE_LETTER = {"k": "KiB", "m": "MiB", "g": "GiB", "t": "TiB", "b": "B"}


def size_spelling(value: str) -> str | None:
    """The size a near-miss spelling means, when only the unit's spelling is off
    (``16G``, ``16gb``, ``512 mi``, ``2Tib``), else None.

    >>> size_spelling("16G"), size_spelling("512mb"), size_spelling("2 tib"), size_spelling("x")
    ('16GiB', '512MiB', '2TiB', None)
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtb])(?:i?b?|ib?)\s*", value, re.IGNORECASE)
    if not m:
        return None
    spelled = f"{m.group(1)}{_SIZE_LETTER[m.group(2).lower()]}"
    return spelled if spelled != value else None


def format_size(nbytes: int) -> str:
    """Exact IEC spelling for perfcfg's own sizes: ``format_size(3 * GiB // 2) == '1536MiB'``."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        size = OWN_MEMORY_UNITS[unit]
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return f"{nbytes}B"


def human(nbytes: float) -> str:
    """Approximate, for explanations only: ``human(1.5 * GiB) == '1.5 GiB'``."""
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(nbytes)} B"
