"""What ``perfcfg verify`` asks of a service: the values its daemon should report, how to boot
the daemon from the compiled files and compare, and how to read a running one (``--live``).

A service that can be verified puts a :class:`Verifier` in its record; ``verify/`` loops over
the registry and never names a daemon. Every function that starts or connects to a daemon
imports its client lazily: the pre-commit path imports the services, never their clients.

>>> Booted([("hz", "10", "500")], 3).compared
3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfcfg.core.plan import Plan
    from perfcfg.services.catalog import Catalog, Param

# (setting, intended, effective): one value a daemon does not run as written
Row = tuple[str, str, str]


@dataclass
class Boot:
    """What a service's boot step is given: the compiled files, what its daemon should report,
    the daemon and version the targets name, the host the files were sized for, and the
    handles of the services booted before it (``Verifier.needs``)."""

    stack: ExitStack                  # what it starts is entered here and stops with verify
    files: Mapping[str, str]          # generated file name → text
    want: Any                         # its Verifier.intended(...)
    daemon: str
    version: str
    host_memory: int                  # bytes the host profile gives the stack
    machine_memory: int               # bytes this machine has
    handles: Mapping[str, Any]        # service name → the handle its boot step returned
    notes: list[str] = field(default_factory=list)   # what the harness changed, and why


@dataclass(frozen=True)
class Booted:
    rows: list[Row]                   # values that differ from what the file says
    compared: int                     # values compared (the harness's own overrides left out)
    handle: Any = None                # for the services that need this one


@dataclass(frozen=True)
class Verifier:
    # Plan → what the daemon should report, in whatever shape its comparison takes
    intended: Callable[[Plan, Catalog], Any]
    # starts the daemon from the files (entering it in Boot.stack) and compares; a refusal is
    # a harness DaemonError carrying the daemon's own words
    boot: Callable[[Boot], Booted] | None = None
    # services whose booted handle its boot step needs (its files point at them)
    needs: tuple[str, ...] = ()
    # notes for a refusal (e.g. a value only some builds of the daemon accept)
    refusal_notes: Callable[[Exception], list[str]] = lambda err: []
    # --live: the variable naming a running daemon when the command line does not, how to
    # read its state, and how to compare that state with ``intended`` (rows, values compared;
    # it may add notes)
    live_variable: str = ""
    live_metavar: str = "URL"           # what ``--<service>`` takes, and its help text
    live_help: str = ""
    # the Python packages its client needs (perfcfg's verify extra installs them)
    clients: tuple[str, ...] = ()
    read_live: Callable[[str], Any] | None = None
    compare_live: Callable[[Any, Any, list[str]], tuple[list[Row], int]] | None = None


def file_values(plan: Plan, name: str, cat: Catalog, encode: Callable[[Param, Any], str],
                nested: tuple[str, ...] = ()) -> dict[str, str]:
    """Service ``name``'s main-section settings as its file writes them: parameter → text
    (``nested``: its sections written elsewhere, left out)."""
    out = {}
    for setting in plan.service(name, nested=nested):
        param = cat.get(setting.name)
        if param is not None:
            out[param.name] = encode(param, setting.value)
    return out
