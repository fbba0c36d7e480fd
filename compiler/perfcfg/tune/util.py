"""Helpers every recommender shares: fixed-or-prior lookups, rounding, building Recommendations.

>>> floor_to(5 * MiB + 123, MiB) == 5 * MiB
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import MiB, Recommendation, TuneContext


def floor_to(value: float, unit: int) -> int:
    """Round down to a whole number of ``unit`` (a GUC's base unit, or MiB for tidy output)."""
    return int(value // unit) * unit


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def need(prior: Mapping[str, Any], path: str) -> Any:
    """A value an earlier group (or the preset) must have set; the engine's order guarantees it."""
    if path not in prior:
        raise KeyError(f"{path} is not known yet: run the groups through perfcfg.stages.tune")
    return prior[path]


def pick(ctx: TuneContext, path: str, tuned: Any) -> Any:
    """The preset's fixed value for ``path`` if any, else the tuned one (same-group dependencies)."""
    return ctx.fixed.get(path, tuned)


def runs(ctx: TuneContext, service: str) -> bool:
    return ctx.runs(service)


def mib_text(n: int) -> str:
    """Bytes as a short human size for reasons and formulas (not for config files)."""
    if n >= 1 << 30 and n % (1 << 30) == 0:
        return f"{n >> 30}GiB"
    if n >= MiB:
        return f"{n / MiB:.0f}MiB" if n % MiB == 0 else f"{n / MiB:.1f}MiB"
    return f"{math.ceil(n / 1024)}KiB"


def rec(path: str, value: Any, rule: str, reason: str, formula: str = "",
        inputs: Mapping[str, Any] | None = None, deviation: str = "") -> Recommendation:
    return Recommendation(path, value, rule, reason, formula, dict(inputs or {}), deviation)
