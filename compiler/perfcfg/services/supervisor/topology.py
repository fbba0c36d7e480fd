"""supervisord's part of the topology: one ``[program:x]`` per workload program — its command,
process count and name pattern, options the preset passes through and the tuned ones, and an
environment with what every service the program talks to says it needs (their URLs)."""

from __future__ import annotations

import re
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
        env = {}
        for key, raw in prog.environment.items():
            text, found = _resolved(t, f"workload.programs.{prog.name}.environment.{key}",
                                    _env_text(raw))
            if text is None:
                continue
            env[key] = text
            if found:
                t.program_secrets.setdefault(prog.name, []).extend(found)
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


# ${env:NAME} or ${file:path} anywhere in a value (a URL can hold a password).
_REFERENCE = re.compile(r"\$\{(?:env|file):[^}]+\}")


def _resolved(t: Topology, path: str, text: str) -> tuple[str | None, list[str]]:
    """``text`` with every secret reference in it resolved (placeholders in a placeholder
    build), and the values it got; None when one cannot be (PCF120 is reported).

    A program's secrets go into its own section of supervisord.conf, a root-only file: each
    worker gets its own and no other's, and supervisord's own environment carries none.

    >>> from types import SimpleNamespace as NS
    >>> t = NS(resolve=lambda path, ref: {"${env:PW}": "s3cret-pw"}[ref])
    >>> _resolved(t, "p", "postgresql://bot:${env:PW}@db/app")
    ('postgresql://bot:s3cret-pw@db/app', ['s3cret-pw'])
    """
    found: list[str] = []
    failed = False

    def one(m: re.Match[str]) -> str:
        nonlocal failed
        value = t.resolve(path, m.group(0))
        if value is None:
            failed = True
            return ""
        found.append(value)
        return value

    text = _REFERENCE.sub(one, text)
    return (None, []) if failed else (text, found)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
