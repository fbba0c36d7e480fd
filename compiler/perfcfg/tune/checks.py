"""The cross-service invariants no one service owns, and what every service's checks share.

Every finding names **both** sides of a conflict in ``paths``; ``host.*`` and ``targets.*``
paths stand for the host profile and the target versions. A value the preset fixed that breaks
an invariant is an error; tuned values are built never to. Each service checks what its own
daemon needs of the others in its ``checks.py`` (``Service.checks``); the codes are listed in
``docs/diagnostics.md``. Here:

| code   | severity | invariant |
|--------|----------|-----------|
| PCF301 | error    | memory worst case (every service's, workers, OS) ≤ host |
| PCF302 | error    | memory shares stated by the preset add up to at most the host |
| PCF311 | error    | no two services listen on the same port |
| PCF319 | warning  | each program within its max_processes, the workers' memory within the headroom |

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2), (), ())
>>> [f.code for f in generic(ctx, {"a.port": 5432, "b.listen_port": 5432}, {})]
['PCF311']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perfcfg.tune import budget
from perfcfg.tune.context import TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import mib_text

Settings = Mapping[str, Any]
Check = Callable[[TuneContext, Settings], list[Finding]]


def who(ctx: TuneContext, paths: tuple[str, ...]) -> str:
    """Which of ``paths`` the preset fixed, for a finding's message."""
    fixed = [p for p in paths if p in ctx.fixed]
    return f" (set by the preset: {', '.join(fixed)})" if fixed else ""


def fd_limit(ctx: TuneContext, s: Settings, service: str) -> tuple[int, str]:
    """The fd limit ``service`` starts with, and the path that states it: the workload runner's
    (``runner.fds`` fact names its setting) when it starts the daemon, else the host's."""
    runner = ctx.facts.get("runner.fds")
    if service in ctx.supervised and isinstance(runner, str) and runner in s:
        return int(s[runner]), runner
    return ctx.host.open_files, "host.open_files"


def fd_ceiling(path: str, driver: str) -> Check:
    """PCF318 for one fd limit: ``path`` (a unit's LimitNOFILE) may not exceed the kernel's
    fs.nr_open, above which no process may hold fds: the unit does not start, and supervisord
    refuses a minfds it cannot raise its limit to. ``driver`` is the setting it follows
    from, the one a person lowers (each service names its own in its ``checks.py``).

    >>> from perfcfg.tune.context import Host, TuneContext, GiB
    >>> ctx = TuneContext("production", Host(4 * GiB, 2, nr_open=1000), (), ())
    >>> [f.paths for f in fd_ceiling("systemd.x.LimitNOFILE", "x.clients")(ctx,
    ...     {"systemd.x.LimitNOFILE": 1001})]
    [('x.clients', 'systemd.x.LimitNOFILE', 'host.nr_open')]
    """
    def check(ctx: TuneContext, s: Settings) -> list[Finding]:
        value = s.get(path)
        if not isinstance(value, int) or isinstance(value, bool) or value <= ctx.host.nr_open:
            return []
        return [Finding("PCF318", "error", f"{path} = {value} is above the kernel's fs.nr_open "
                        f"({ctx.host.nr_open}): the unit cannot start with it (from {driver} = "
                        f"{s.get(driver)})", (driver, path, "host.nr_open"),
                        f"lower {driver}, or raise fs.nr_open on the host and say so in the "
                        "host profile's nr_open")]
    return check


def memory_parts(ctx: TuneContext, s: Settings, worst: Mapping[str, int]) -> dict[str, int]:
    """Worst-case bytes per consumer, keyed by the setting path that drives it: each service's
    (``worst``), the workers' and the OS reserve."""
    parts = dict(worst)
    parts["budget.workers"] = ctx.worker_memory
    parts["budget.os_reserve"] = int(s.get("budget.os_reserve", budget.os_reserve(ctx)))
    return parts


def check_memory(ctx: TuneContext, s: Settings, worst: Mapping[str, int]) -> list[Finding]:
    if budget.findings(ctx):
        return []   # the stated shares already overshoot the host: PCF302 says why
    parts = memory_parts(ctx, s, worst)
    total, host = sum(parts.values()), ctx.host.memory
    if total <= host:
        return []
    order = sorted((p for p in parts if parts[p]), key=lambda p: (p not in ctx.fixed, -parts[p]))
    # the workers' share is the programs': name the ones that take the most, where their
    # memory is declared, so the finding points at the program and not only at the host
    programs = sorted((p for p in ctx.programs if p.processes * p.memory),
                      key=lambda p: -p.processes * p.memory)[:3]
    takers = tuple(f"workload.programs.{p.name}.{key}" for p in programs
                   for key in ("memory", "processes"))
    paths = ("host.memory", *(q for q in order if q != "budget.workers"), *takers)
    detail = ", ".join(f"{p} {mib_text(parts[p])}" for p in order)
    if programs:
        detail += " (" + ", ".join(f"{p.name} {p.processes} × {mib_text(p.memory)}"
                                   for p in programs) + ")"
    return [Finding("PCF301", "error",
                    f"worst-case memory {mib_text(total)} exceeds the host's {mib_text(host)} "
                    f"by {mib_text(total - host)}: {detail}{who(ctx, paths)}",
                    paths, "lower the fixed sizes, declare less worker memory, or use a bigger "
                           "host; PostgreSQL counts (max_connections + max_parallel_workers) × "
                           "work_mem × nodes × hash_mem_multiplier; explain's "
                           "budget.postgres_worst_case shows each part")]


def check_ports(ctx: TuneContext, s: Settings) -> list[Finding]:
    by_port: dict[int, list[str]] = {}
    for path, value in s.items():
        if path.endswith((".port", ".listen_port")) and value:
            # an http server's port may be "host:port" (or a bare port)
            by_port.setdefault(int(str(value).rpartition(":")[2]), []).append(path)
    return [Finding("PCF311", "error", f"port {port} is used by {' and '.join(sorted(paths))}",
                    tuple(sorted(paths)), "give each service its own port")
            for port, paths in sorted(by_port.items()) if len(paths) > 1]


BEYOND = ("the budget follows it (connections, memory, fds), so what was sized for the ceiling "
          "changes with it: a restart where the action says so, where growing within the "
          "headroom is a reload")


def beyond(what: str, key: str, limit: str, paths: tuple[str, ...], hint: str) -> Finding:
    """PCF319: what runs is past a ceiling the environment declared (allowed: a warning, since
    it costs only the restart the ceiling was declared to avoid)."""
    return Finding("PCF319", "warning", f"{what}, above {key} {limit}: {BEYOND}", paths, hint)


def check_headroom(ctx: TuneContext, s: Settings) -> list[Finding]:
    """A program past its ``max_processes``, the workers' memory past the headroom's."""
    runner = ctx.facts.get("runner.programs", "programs")
    out = [beyond(f"{p.name} runs {p.processes} processes", "its max_processes", str(p.ceiling),
                  (f"{runner}.{p.name}.numprocs", f"workload.programs.{p.name}.max_processes"),
                  f"raise max_processes to at least {p.processes}")
           for p in ctx.programs if p.ceiling and p.processes > p.ceiling]
    declared = ctx.headroom.worker_memory
    memory = sum(p.sized * p.memory for p in ctx.programs)
    if declared and memory > declared:
        out.append(beyond(f"the workers need {mib_text(memory)}", "the headroom's worker_memory",
                          mib_text(declared), ("workload.headroom.worker_memory",),
                          f"raise workload.headroom.worker_memory to at least "
                          f"{mib_text(memory)}"))
    return out


def generic(ctx: TuneContext, s: Settings, worst: Mapping[str, int]) -> list[Finding]:
    """PCF301 (given each service's worst case), PCF302, PCF311 and PCF319's workload part."""
    return [*check_memory(ctx, s, worst), *budget.findings(ctx), *check_ports(ctx, s),
            *check_headroom(ctx, s)]
