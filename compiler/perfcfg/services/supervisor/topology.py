"""supervisord's part of the topology: one ``[program:x]`` per workload program — its command,
process count and name pattern, options the preset passes through and the tuned ones, and an
environment with what every service the program talks to says it needs (their URLs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfcfg.services.topology import Topology

PROGRAMS = "supervisor.programs."


@dataclass(frozen=True)
class ProgramPlan:
    name: str
    argv: tuple[str, ...]
    processes: int
    environment: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]      # [program:x] keys in canonical form


def topology(t: Topology) -> list[ProgramPlan]:
    # Each program's tuned and fixed [program:x] keys, gathered in one pass over the settings
    # (a pass per program made 10,000 programs cost O(N²)).
    by_program: dict[str, dict[str, Any]] = {}
    for path, setting in t.settings.items():
        if path.startswith(PROGRAMS) and path.count(".") >= 3:
            name, key = path[len(PROGRAMS):].rsplit(".", 1)   # names may hold "."
            by_program.setdefault(name, {})[key] = setting.value
    out = []
    for prog in t.config.workload.programs:
        env = {k: _env_text(v) for k, v in prog.environment.items()}
        for key, value in t.program_env(prog).items():
            env.setdefault(key, value)
        if prog.run_as:
            # supervisord changes only the uid: without these the worker keeps supervisord's
            # HOME (root's), and writes its caches and dot-files there
            home = prog.home or prog.directory or f"/home/{prog.run_as}"
            for key, value in (("HOME", home), ("USER", prog.run_as), ("LOGNAME", prog.run_as)):
                env.setdefault(key, value)
        options: dict[str, Any] = {"numprocs": prog.processes, "autostart": True,
                                   "autorestart": True}
        if prog.processes > 1:
            options["process_name"] = "%(program_name)s_%(process_num)02d"
        if prog.directory:
            options["directory"] = prog.directory
        if prog.run_as:
            options["user"] = prog.run_as
        options.update(by_program.get(prog.name, {}))
        out.append(ProgramPlan(prog.name, tuple(prog.argv), prog.processes,
                               tuple(sorted(env.items())), tuple(sorted(options.items()))))
    return out


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
