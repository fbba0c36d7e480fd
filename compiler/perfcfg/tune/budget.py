"""The host's memory split: OS reserve, workers, then each service's part.

Each service that runs on the host claims its part (a :class:`Part`, carried by the tuning
context): a ``fixed`` part is what the daemon needs whatever the host (a pooler's buffers); a
``share`` part takes its share of what the fixed parts leave (a cache); a ``rest`` part takes
what is left after those (the database). Stated shares win inside each part. Each part is what
that daemon may really use at worst, so the parts add up to at most the host's memory (a
``shortfall`` says by how much a preset overshot).

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> b = plan(TuneContext("staging", Host(16 * GiB, 4), (), ()))
>>> b.os_reserve // MiB, b.total <= 16 * GiB, b.shortfall
(1638, True, 0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import floor_to, mib_text, rec

# A minimal Debian host (kernel, systemd, journald, sshd, cron, supervisord itself) idles at
# ~150–200 MiB RSS, and the kernel keeps vm.min_free_kbytes free: 256 MiB is the floor.
OS_RESERVE_FLOOR = 256 * MiB
# On bigger hosts the kernel's own needs (page tables, slab, socket buffers) grow with RAM;
# 10% keeps them and the admin's tools out of the daemons' budgets, capped where that stops.
OS_RESERVE_FRACTION = 0.10
OS_RESERVE_CAP = 8 * GiB

Phase = Literal["fixed", "share", "rest"]
PHASES: tuple[Phase, ...] = ("fixed", "share", "rest")


@dataclass(frozen=True)
class Part:
    """A service's claim on the host's memory: ``size(ctx, free)`` gets the bytes free at its
    phase's turn and returns the ``budget.<service>`` recommendation, whose value is what the
    daemon may use at worst (its reason and inputs say how)."""

    service: str
    phase: Phase
    size: Callable[[TuneContext, int], Recommendation]


@dataclass(frozen=True)
class Budget:
    host: int
    os_reserve: int
    workers: int
    parts: Mapping[str, int] = field(default_factory=dict)     # service → bytes at worst
    details: Mapping[str, Recommendation] = field(default_factory=dict)  # service → its rec

    @property
    def total(self) -> int:
        return self.os_reserve + self.workers + sum(self.parts.values())

    @property
    def shortfall(self) -> int:
        """Bytes the parts exceed the host by (0 when they fit)."""
        return max(0, self.total - self.host)


def stated(ctx: TuneContext, name: str) -> int | None:
    """Bytes the preset stated for budget part ``name`` (a fraction is of the host), or None."""
    value = ctx.shares.of(name)
    if value is None or isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int) else floor_to(ctx.host.memory * value, MiB)


def os_reserve(ctx: TuneContext) -> int:
    given = stated(ctx, "os_reserve")
    if given is not None:
        return given
    auto = min(OS_RESERVE_CAP, floor_to(ctx.host.memory * OS_RESERVE_FRACTION, MiB))
    return max(OS_RESERVE_FLOOR, auto)


def _parts(ctx: TuneContext) -> list[Part]:
    """Every part, phase by phase, in service order."""
    return [p for phase in PHASES for p in ctx.parts if p.phase == phase]


def _idle(service: str) -> Recommendation:
    """The part of a service this host does not run (the stand-alone calculator's others)."""
    return rec(f"budget.{service}", 0, f"budget.{service}",
               f"{service} does not run on this host", "0", {})


def plan(ctx: TuneContext) -> Budget:
    reserve = int(ctx.fixed.get("budget.os_reserve", os_reserve(ctx)))
    workers = ctx.worker_memory
    free = ctx.host.memory - reserve - workers
    sizes: dict[str, int] = {}
    details: dict[str, Recommendation] = {}
    taken = dict.fromkeys(PHASES, 0)
    for part in _parts(ctx):
        # fixed parts see the host after the workers; shares what the fixed parts leave (none
        # below 0); the rest what the shares leave too (below 0 when the others overshoot the
        # host, so the rest part can say by how much)
        left = {"fixed": free, "share": max(0, free - taken["fixed"]),
                "rest": free - taken["fixed"] - taken["share"]}[part.phase]
        found = part.size(ctx, left) if ctx.runs(part.service) else _idle(part.service)
        sizes[part.service], details[part.service] = int(found.value), found
        taken[part.phase] += int(found.value)
    return Budget(ctx.host.memory, reserve, workers, sizes, details)


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    b = plan(ctx)
    return [
        rec("budget.os_reserve", b.os_reserve, "budget.os_reserve",
            f"kernel, system daemons and page tables keep {mib_text(b.os_reserve)}",
            "stated share, else max(256MiB, min(10% × host, 8GiB))",
            {"host_memory": ctx.host.memory, "stated": ctx.shares.of("os_reserve")}),
        rec("budget.workers", b.workers, "budget.workers",
            f"{ctx.worker_processes} worker processes (each program's max_processes) at their "
            "declared RSS" + (", at least the headroom's worker_memory"
                              if ctx.headroom.worker_memory else ""),
            "max(Σ max(processes, max_processes) × memory, headroom.worker_memory)",
            {p.name: (p.sized, p.memory) for p in ctx.programs}),
        *b.details.values(),
    ]


def findings(ctx: TuneContext) -> list[Finding]:
    """PCF302 when the shares the preset stated (plus the workers) do not fit the host."""
    running = [p.service for p in ctx.parts if ctx.runs(p.service)]   # in service order
    named = tuple(f"budget.{name}" for name in ("os_reserve", *running)
                  if ctx.shares.of(name) is not None)
    b = plan(ctx)
    if not named or not b.shortfall:
        return []
    return [Finding("PCF302", "error",
                    f"stated memory shares plus workers need {mib_text(b.total)}, "
                    f"{mib_text(b.shortfall)} more than the host's {mib_text(b.host)}",
                    ("host.memory", *named), "leave a share auto, or lower the stated shares")]
