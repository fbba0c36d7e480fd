"""Runs every service's tuning groups in one order, and every cross-service check.

Each service declares its groups with a phase (``Service.tuning``); the groups run phase by
phase, in service order within a phase, after the memory budget and before the host's kernel
settings, which need everything. Each group sees the preset's fixed values and every earlier
recommendation; a path the preset fixed is never recommended. A build adds the services'
``placing`` groups (where the files go), which are not tuning: the stand-alone calculator
leaves them out.

>>> from perfcfg.tune.context import Host, Pool, Program, GiB
>>> ctx = context(env="staging", host=Host(16 * GiB, 4), programs=(Program("bot", 40, 2, 1, 64 << 20),),
...               pools=(Pool("app", "bot", 80),), fixed={"postgres.max_connections": 50})
>>> recs = recommend_all(ctx)
>>> "postgres.max_connections" in {r.path for r in recs}, len(recs) > 50
(False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perfcfg.services import registry
from perfcfg.tune import budget, checks, enforce, limits
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.findings import Finding

Group = Callable[[TuneContext, Mapping[str, Any]], list[Recommendation]]
# The budget runs before every service's groups; the kernel settings after them all, and the
# cgroup limits that enforce the budget last (their reasons name the kernel's overcommit).
BUDGET_PHASE, KERNEL_PHASE, ENFORCE_PHASE = 0, 1000, 1001


def context(**fields: Any) -> TuneContext:
    """A tuning context with every registered service's memory part (the budget's parts) and
    the facts each states whatever the input (``fields``' own facts win)."""
    parts = tuple(s.memory for s in registry.SERVICES if s.memory is not None)
    facts = {k: v for s in registry.SERVICES for k, v in s.facts.items()}
    facts.update(fields.pop("facts", {}))
    return TuneContext(**{"parts": parts, "facts": facts, **fields})


def groups(placing: bool = False) -> list[tuple[str | None, Group]]:
    """(service, group) in run order; ``placing``: also where the files go, after tuning."""
    phased: list[tuple[int, int, str | None, Group]] = [(BUDGET_PHASE, 0, None, budget.recommend)]
    for order, service in enumerate(registry.SERVICES):
        phased += [(phase, order, service.name, group) for phase, group in service.tuning]
    needs = tuple((s.name, s.needs) for s in registry.SERVICES if s.needs is not None)
    phased.append((KERNEL_PHASE, 0, None, limits.group(needs)))
    worst = tuple((s.name, s.worst_case) for s in registry.SERVICES if s.worst_case is not None)
    phased.append((ENFORCE_PHASE, 0, None, enforce.group(worst)))
    ordered = [(name, group) for _, _, name, group in sorted(phased, key=lambda g: g[:2])]
    if placing:
        ordered += [(s.name, group) for s in registry.SERVICES for group in s.placing]
    return ordered


def recommend_all(ctx: TuneContext, placing: bool = False) -> list[Recommendation]:
    known: dict[str, Any] = dict(ctx.fixed)
    out: list[Recommendation] = []
    for service, group in groups(placing):
        if service is not None and not ctx.runs(service):
            continue
        for r in group(ctx, known):
            if r.path in ctx.fixed:
                continue
            known[r.path] = r.value
            out.append(r)
    return out


def settings(ctx: TuneContext) -> dict[str, Any]:
    """The final plan as path → canonical value: the preset's fixed values over the tuned ones."""
    return {**{r.path: r.value for r in recommend_all(ctx)}, **ctx.fixed}


def check(ctx: TuneContext, values: Mapping[str, Any]) -> list[Finding]:
    """Every cross-service finding (PCF3xx) over the final values, sorted."""
    running = [s for s in registry.SERVICES if ctx.runs(s.name)]
    worst: dict[str, int] = {}
    for service in running:
        if service.worst_case is not None:
            worst.update(service.worst_case(ctx, values))
    found = checks.generic(ctx, values, worst)
    found += [f for s in running for c in s.checks for f in c(ctx, values)]
    return sorted(found, key=lambda f: (f.code, f.paths))
