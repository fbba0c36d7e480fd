"""supervisor's sizes (``datatypes.byte_size``): KB/MB/GB, case-insensitive, 1024-based.

>>> parse_supervisor_bytes("50MB") == 50 * 1024 * 1024
True
>>> format_supervisor_bytes(50 * 1024 * 1024)
'50MB'
"""

from __future__ import annotations

from perfcfg.core.units import GiB, KiB, MiB, format_exact, parse_suffixed

SUPERVISOR_MEMORY_UNITS = {"": 1, "kb": KiB, "mb": MiB, "gb": GiB}


def parse_supervisor_bytes(value: object) -> int:
    return parse_suffixed(value, SUPERVISOR_MEMORY_UNITS, "a size like 50MB (units KB, MB, GB)")


def format_supervisor_bytes(nbytes: int) -> str:
    return format_exact(nbytes, SUPERVISOR_MEMORY_UNITS, ("GB", "MB", "KB"))
