"""The memory budget enforced by the kernel: each daemon's systemd unit gets ``MemoryHigh`` and
``MemoryMax`` from its part of the budget, and the postmaster an ``OOMScoreAdjust``.

The budget (``budget.py``) is arithmetic: nothing stops a worker that leaks or a Redis whose
fragmentation outgrows its factor from taking the others' memory. A cgroup does. For each
service with a part of the budget, its need is the larger of that part and its worst case
(``Service.worst_case``, PCF301's sum: a preset that fixed a size above the part still starts),
and its unit gets

- ``MemoryHigh`` = need + margin: above it the kernel reclaims the daemon's own pages and
  throttles it, so an overshoot slows the daemon that overshot instead of the host;
- ``MemoryMax`` = need + 2 × margin: the hard stop, where the OOM killer acts inside the
  daemon's cgroup only.

The margin (10 % of the need, at least 32MiB, at most 1GiB) covers what the budget's
arithmetic leaves out and the cgroup counts: the daemon's binary and libraries, its page
tables, socket buffers. The margins come out of the OS reserve (scaled down together where
they would not fit in it), so the ``MemoryHigh`` values add up to at most the host.

The workload's programs run in the cgroup of the unit that starts them (the ``runner.unit``
fact names the service: supervisord), with the daemons it starts itself: supervisord has no
cgroup of its own per program, so its unit's limit holds the workers' declared memory
(``budget.workers``), supervisord's own (``runner.own_memory``) and the parts of the daemons
it supervises. A cgroup per program would need each command wrapped (``systemd-run --scope``
needs systemd's bus and puts a process between supervisord and the worker it signals); the
unit's limit keeps supervisord's process tree as it is and still confines a runaway to the
workers: it is killed inside that cgroup (the OOM killer picks the largest process there) and
supervisord restarts it; the database and the cache do not notice.

A service that must outlive an OOM kill of its children (the ``oom.protect.<service>`` fact:
the environment that lets the children reset their own score) gets ``OOMScoreAdjust=-1000``;
its children go back to 0, so the killer picks one of them, never the process that
supervises them.

>>> from perfcfg.tune.context import Host, TuneContext, GiB, MiB
>>> m = margin(4 * GiB)
>>> m // MiB, margin(10 * MiB) // MiB, margin(100 * GiB) // MiB
(410, 32, 1024)

The margin doubles as the runner's slack: one worker may outgrow its declared memory by up to
the margin while the others stay at theirs; a worker whose real RSS is above what its
program declares is throttled, then killed: the declaration is now a limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perfcfg.tune.context import GiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import ceil_div, clamp, mib_text, rec

PREFIX = "systemd."
# The margin over a daemon's need, as a fraction of it and within these bounds (see above).
MARGIN_FRACTION = 0.10
MARGIN_FLOOR = 32 * MiB
MARGIN_CAP = 1 * GiB
# systemd.exec(5): -1000 exempts a process from the OOM killer (PostgreSQL's documentation,
# "Linux Memory Overcommit", asks for it on the postmaster and 0 for its children).
OOM_PROTECT = -1000
# The fact naming the service whose unit runs the workload's programs, and the one giving
# that runner's own memory (the budget's OS reserve holds it; its cgroup counts it).
RUNNER = "runner.unit"
RUNNER_OWN = "runner.own_memory"
# ``oom.protect.<service>`` → the Environment= that lets the service's children reset their
# own OOM score.
PROTECT = "oom.protect."

WorstFn = Callable[[TuneContext, Mapping[str, Any]], dict[str, int]]


def margin(need: int) -> int:
    """Bytes over ``need`` before throttling (and twice that before the OOM killer), in MiB."""
    return ceil_div(int(clamp(need * MARGIN_FRACTION, MARGIN_FLOOR, MARGIN_CAP)), MiB) * MiB


def margins(needs: Mapping[str, int], room: int) -> dict[str, int]:
    """Each unit's margin, scaled down together (whole MiB) when they would not fit in
    ``room``, the OS reserve: the ``MemoryHigh`` values then add up to at most the host.

    >>> margins({"a": 512 * MiB, "b": 8 * MiB}, 256 * MiB) == {"a": 52 * MiB, "b": 32 * MiB}
    True
    >>> [m // MiB for m in margins({"a": 2 * GiB, "b": MiB, "c": MiB}, 128 * MiB).values()]
    [97, 15, 15]
    """
    wanted = {service: margin(need) for service, need in needs.items()}
    total = sum(wanted.values())
    if total <= room:
        return wanted
    return {service: max(MiB, m * room // total // MiB * MiB) for service, m in wanted.items()}


def _limits(service: str, need: int, m: int, why: str, inputs: Mapping[str, Any],
            overcommit: bool) -> list[Recommendation]:
    cut = ("the kernel's OOM killer acts inside this cgroup only"
           + ("; with vm.overcommit_memory = 1 the kernel no longer refuses an allocation, "
              "so this limit is what stops an overshoot" if overcommit else ""))
    scaled = " (the margins scaled to fit the OS reserve)" if m < margin(need) else ""
    formula = ("need + margin, margin = clamp(10% × need, 32MiB, 1GiB), Σ margins ≤ os_reserve",
               "need + 2 × margin")
    return [
        rec(f"{PREFIX}{service}.MemoryHigh", need + m, "host.cgroup.memory_high",
            f"{why} is {mib_text(need)}, plus a margin of {mib_text(m)}{scaled} for what the "
            "budget does not count (binary, page tables, socket buffers): above it the kernel "
            "reclaims and throttles this unit's processes instead of letting them take the "
            "others' memory",
            formula[0], {**inputs, "need": need, "margin": m}),
        rec(f"{PREFIX}{service}.MemoryMax", need + 2 * m, "host.cgroup.memory_max",
            f"the hard stop, one more margin over MemoryHigh: {cut}",
            formula[1], {**inputs, "need": need, "margin": m}),
    ]


def _protect(service: str, env: str, overcommit: bool) -> list[Recommendation]:
    why = ("when the OOM killer acts, in this unit's cgroup at its MemoryMax or on the host"
           + (" (vm.overcommit_memory = 1 lets allocations through that the kernel would "
              "have refused)" if overcommit else "") + ", it kills a child, never the process "
           "that supervises them and their shared memory")
    return [
        rec(f"{PREFIX}{service}.OOMScoreAdjust", OOM_PROTECT, "host.cgroup.oom_protect", why,
            f"{OOM_PROTECT}: exempt from the OOM killer", {"overcommit": overcommit}),
        rec(f"{PREFIX}{service}.Environment", env, "host.cgroup.oom_children",
            f"its children reset their own score to 0 at fork ({OOM_PROTECT} is inherited "
            "otherwise, and a runaway child would be exempt too)", env, {}),
    ]


def group(worst: Sequence[tuple[str, WorstFn]]
          ) -> Callable[[TuneContext, Mapping[str, Any]], list[Recommendation]]:
    """The tuning group, after the kernel settings: ``worst`` is every service's worst-case
    function (service name, function)."""
    worst_of = dict(worst)

    def recommend(ctx: TuneContext, known: Mapping[str, Any]) -> list[Recommendation]:
        if ctx.host.os != "linux":
            return []   # cgroups and systemd units are Linux's
        overcommit = known.get("sysctl.vm.overcommit_memory") == 1
        runner = ctx.facts.get(RUNNER)
        units: dict[str, tuple[int, str, dict[str, Any]]] = {}
        supervised = 0
        for part in ctx.parts:
            service = part.service
            if not ctx.runs(service) or f"budget.{service}" not in known:
                continue
            share = int(known[f"budget.{service}"])
            fn = worst_of.get(service)
            at_worst = sum(fn(ctx, known).values()) if fn is not None else 0
            if service in ctx.supervised and isinstance(runner, str):
                supervised += max(share, at_worst)
                continue
            why = ("its worst case (from the sizes the preset fixed, above its part)"
                   if at_worst > share else f"its part of the host's memory (budget.{service})")
            units[service] = (max(share, at_worst), why,
                              {f"budget.{service}": share, "worst_case": at_worst})
        own = 0
        if isinstance(runner, str) and ctx.runs(runner) and "budget.workers" in known:
            workers = int(known["budget.workers"])
            own = int(ctx.facts.get(RUNNER_OWN, 0))
            units[runner] = (workers + own + supervised,
                             "the workers' declared memory (budget.workers, Σ processes × "
                             f"memory) and {mib_text(own)} for the runner itself"
                             + (" and the daemons it starts" if supervised else ""),
                             {"budget.workers": workers, "own": own, "supervised": supervised})
        needs = {service: ceil_div(need, MiB) * MiB for service, (need, _, _) in units.items()}
        # the runner's own memory and the margins both come out of the OS reserve
        room = max(0, int(known.get("budget.os_reserve", 0)) - own)
        out: list[Recommendation] = []
        for service, m in margins(needs, room).items():
            _, why, inputs = units[service]
            out += _limits(service, needs[service], m, why,
                           {**inputs, "budget.os_reserve": room}, overcommit)
        for key, env in sorted(ctx.facts.items()):
            service = key[len(PROTECT):]
            if key.startswith(PROTECT) and ctx.runs(service) and isinstance(env, str):
                out += _protect(service, env, overcommit)
        return out
    return recommend
