"""The shape of a cross-service finding (PCF3xx); the codes themselves live in :mod:`checks`.

>>> Finding("PCF303", "error", "too few slots", ("postgres.max_connections",), "raise it").severity
'error'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    paths: tuple[str, ...]      # every setting involved: both sides of a conflict
    hint: str
