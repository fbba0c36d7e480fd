"""What supervisor accepts that its option parser's keys do not say, read off the interpreter
that runs it for ``scripts/gen_catalogs.py`` (docs/catalogs.md): the catalog's
``sets.signals``, the names ``stopsignal`` takes (``supervisor.datatypes.signal_number``:
any ``SIG*`` name of Python's ``signal`` module on the host, with or without ``SIG``, in any
case, or its number).

>>> found = signals()
>>> "TERM" in found["names"] and "KILLX" not in found["names"], 15 in found["numbers"]
(True, True)
"""

from __future__ import annotations

import signal
from typing import Any


def signals() -> dict[str, list[Any]]:
    """The signal names (without ``SIG``) and the numbers supervisor takes: every ``SIG*``
    attribute's value (``SIG_DFL`` and the like included, as ``datatypes.SIGNUMS`` has them)."""
    names, numbers = set(), set()
    for name in dir(signal):
        value = getattr(signal, name)
        if name.startswith("SIG") and isinstance(value, int):
            numbers.add(int(value))
            if not name.startswith("SIG_"):
                names.add(name[3:])
    return {"names": sorted(names), "numbers": sorted(numbers)}
