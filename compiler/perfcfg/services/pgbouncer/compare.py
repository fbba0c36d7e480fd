"""How pgbouncer reports a value (SHOW CONFIG), compared with the text perfcfg wrote.

>>> pgbouncer_equal("0777", "511")
True
"""

from __future__ import annotations

import math

from perfcfg.harness.normalise import c_int


def pgbouncer_equal(intended: str, effective: str, enum: bool = False) -> bool:
    """pgbouncer reads ints with strtol(…, 0) and times as float seconds; enums any case."""
    i, e = intended.strip(), effective.strip()
    if i == e or (enum and i.lower() == e.lower()):
        return True
    ii, ei = c_int(i), c_int(e)
    if ii is not None and ei is not None:
        return ii == ei
    try:
        return math.isclose(float(i), float(e), rel_tol=1e-9)
    except ValueError:
        return False
