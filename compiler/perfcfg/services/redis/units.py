"""Redis's sizes (``memtoull``): case-insensitive; k/m/g are powers of 1000, kb/mb/gb of 1024.

>>> parse_redis_memory("256m"), parse_redis_memory("256mb")
(256000000, 268435456)
>>> format_redis_memory(268435456)
'256mb'
"""

from __future__ import annotations

from perfcfg.core.units import GiB, KiB, MiB, format_exact, parse_suffixed

REDIS_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": KiB, "m": 1000**2, "mb": MiB,
                      "g": 1000**3, "gb": GiB}


def parse_redis_memory(value: object) -> int:
    return parse_suffixed(value, REDIS_MEMORY_UNITS,
                          "a size like 512mb (units b, k, kb, m, mb, g, gb)")


def format_redis_memory(nbytes: int) -> str:
    """Always the 1024-based spelling (``mb``), never the 1000-based ``m``."""
    return format_exact(nbytes, REDIS_MEMORY_UNITS, ("gb", "mb", "kb"))
