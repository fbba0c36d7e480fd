"""``perfcfg verify`` for supervisord: boot it from supervisord.conf with every program running
a stand-in command as this user, compare its options and each program's processes; or read a
running one over XML-RPC (``--live``).

>>> names("bot", "%(program_name)s_%(process_num)02d", 2)
['bot_00', 'bot_01']
>>> supervisor_stand_in("[program:a]\\ncommand = /srv/a\\nuser = bot\\n")
'[program:a]\\ncommand = /bin/sleep 1000\\n'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfcfg.core.plan import Plan
from perfcfg.services.catalog import Catalog
from perfcfg.services.supervisor.encode import option_value, supervisor_value
from perfcfg.services.supervisor.outputs import NESTED
from perfcfg.services.verifier import Boot, Booted, Row, Verifier

STAND_IN_COMMAND = "/bin/sleep 1000"
# Keys of a [program:x] that name this host's users and paths: verify runs programs as itself.
DROPPED = ("user", "directory")
# Program keys the harness owns (it runs a stand-in command as itself, logging into its
# scratch dir), or that getAllConfigInfo reports only expanded (process_name: see names()).
HOST_KEYS = frozenset({"command", "user", "directory", "process_name"})


@dataclass(frozen=True)
class Want:
    values: dict[str, str]               # "supervisord.KEY" / "program:NAME.KEY" → value
    programs: dict[str, int]             # program → numprocs
    process_names: dict[str, list[str]]  # program → its processes' names


def names(program: str, process_name: str | None, numprocs: int) -> list[str]:
    """The process names supervisor makes from ``process_name`` (its ``%`` expansion)."""
    if not process_name:
        return [program]
    return [process_name % {"program_name": program, "process_num": n, "group_name": program,
                            "numprocs": numprocs} for n in range(numprocs)]


def intended(plan: Plan, cat: Catalog) -> Want:
    out = {f"supervisord.{s.name}": supervisor_value(s.value, cat.get(s.name, "supervisord"))
           for s in plan.service("supervisor", nested=NESTED)
           if cat.get(s.name, "supervisord") is not None}
    for prog in plan.parts["supervisor"]:
        for key, value in prog.options:
            if key in HOST_KEYS:
                continue
            param = cat.get(key, "program")
            # as the file has it: a log path keeps its live %(process_num)02d
            out[f"program:{prog.name}.{key}"] = option_value(param, value) \
                if param is not None else supervisor_value(value, param)
        if prog.environment:
            # compared as the parsed dict, so written without the %-escaping of the file
            out[f"program:{prog.name}.environment"] = ",".join(
                f'{k}="{v}"' for k, v in prog.environment)
    return Want(out, {p.name: p.processes for p in plan.parts["supervisor"]},
                {p.name: names(p.name, dict(p.options).get("process_name"), p.processes)
                 for p in plan.parts["supervisor"]})


def supervisor_stand_in(text: str, command: str = STAND_IN_COMMAND) -> str:
    """Every program runs ``command`` as ourselves; all its other options stay as generated."""
    out, program = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            program = stripped.startswith("[program:")
        elif program and "=" in stripped and not stripped.startswith((";", "#")):
            key = stripped.split("=", 1)[0].strip().lower()
            if key in DROPPED:
                continue
            if key == "command":
                line = f"command = {command}\n"
        out.append(line)
    return "".join(out)


def process_rows(info: list[dict[str, Any]], want: Want) -> list[Row]:
    """Each program's processes exist under the intended names and are RUNNING."""
    out = []
    for program, expected in sorted(want.process_names.items()):
        running = sorted(p["name"] for p in info
                         if p["group"] == program and p["statename"] == "RUNNING")
        if running != sorted(expected):
            out.append((f"program:{program}.processes RUNNING", ", ".join(expected),
                        ", ".join(running) or "none"))
    for group in sorted({p["group"] for p in info} - set(want.process_names)):
        found = sorted(p["name"] for p in info if p["group"] == group)
        out.append((f"program:{group}", "not in the plan", ", ".join(found)))
    return out


def boot(b: Boot) -> Booted:
    from perfcfg.services.supervisor.daemon import Supervisord

    want: Want = b.want
    b.notes.append(f"supervisor: every program ran {STAND_IN_COMMAND!r} as this user "
                   f"({', '.join(DROPPED)} and command not compared)")
    sup = b.stack.enter_context(Supervisord(supervisor_stand_in(b.files["supervisord.conf"]),
                                            version=b.version))
    rows = sup.mismatches(want.values) + process_rows(sup.process_info(), want)
    return Booted(rows, len(want.values), sup)


def read_live(url: str) -> Any:
    from perfcfg.services.supervisor.daemon import live_state

    return live_state(url)


def compare_live(state: Any, want: Want, notes: list[str]) -> tuple[list[Row], int]:
    from perfcfg.services.supervisor.daemon import supervisor_mismatches

    info, processes = state
    rows, unread = supervisor_mismatches(info, want.values)
    if unread:
        keys = sorted({path.rpartition(".")[2] for path in unread})
        notes.append(f"supervisor: XML-RPC does not report {', '.join(keys)}: "
                     f"{len(unread)} value(s) not compared")
    return rows + process_rows(processes, want), len(want.values) - len(unread)


# `verify --live --supervisor`: what it takes
HELP = ("XML-RPC address of the running supervisord, unix:///run/supervisor.sock or "
        "http://user:password@host:port (with --live).")
VERIFIER = Verifier(intended, boot, live_variable="PERFCFG_SUPERVISOR_URL", read_live=read_live,
                    compare_live=compare_live, live_metavar="URL",
                    live_help=HELP, clients=("supervisor",))
