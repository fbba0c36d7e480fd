"""What ``perfcfg tune <service>`` asks of a service: the flags only its daemon reads, the tuning
context they make, and how its fragment reads. A service with a :class:`Calculator` in its record
can be tuned stand-alone; ``cli/calculator.py`` runs the engine and never names a daemon.

>>> inp = CalcInput("exampled", 1 << 30, 2, options={"mode": "fast"})
>>> inp.option("mode"), inp.option("other", "dflt")
('fast', 'dflt')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perfcfg.tune.context import Recommendation, TuneContext


@dataclass(frozen=True)
class CalcInput:
    daemon: str                         # the service to tune
    memory: int                         # bytes this daemon may use
    cpus: int
    connections: int | None = None      # client connections (a database: max_connections)
    version: str | None = None          # as its targets key takes it ("16", "1.18", "7.0")
    options: Mapping[str, str] = field(default_factory=dict)   # the flags only it reads
    # the host and workload inputs ``perfcfg build`` reads from the host profile and the
    # workload, for every daemon: the kernel, the WAL disk, the data the database holds
    os: str = "linux"
    wal_disk: int | None = None
    data_size: int | None = None

    def option(self, name: str, default: str | None = None) -> str:
        value = self.options.get(name, default)
        assert value is not None, name
        return value


class InputError(ValueError):
    """A flag value the calculator cannot work with (the CLI exits 2 with the message)."""

    def __init__(self, flag: str, message: str):
        super().__init__(f"{flag}: {message}")
        self.flag = flag


@dataclass(frozen=True)
class Option:
    """A flag only this daemon's calculator reads."""

    default: str
    choices: tuple[str, ...]
    help: str


def _no_check(inp: CalcInput) -> None:
    return None


def _nothing(inp: CalcInput, ctx: TuneContext) -> list[Recommendation]:
    return []


@dataclass(frozen=True)
class Calculator:
    # flag name (without --) → its default, choices and help
    options: Mapping[str, Option]
    # the engine's base context (this host, no workload, no OS reserve) → this daemon's, with
    # the services it runs alone or with, its workload and its version
    context: Callable[[CalcInput, TuneContext], TuneContext]
    # the daemon's conf fragment from its recommendations
    fragment: Callable[[CalcInput, list[Recommendation]], list[str]]
    # a value as its file writes it (the JSON output's ``text``)
    text: Callable[[str, Any], str]
    # the given options as the header's words
    header: Callable[[CalcInput], list[str]] = lambda inp: []
    # refuses inputs its daemon could not run with (InputError)
    check: Callable[[CalcInput], None] = _no_check
    # lines that echo a fixed input, before the tuned ones
    echo: Callable[[CalcInput, TuneContext], list[Recommendation]] = _nothing
    # rule-id prefixes in the order its lines read (others keep the engine's order)
    order: tuple[str, ...] = ()
    # the --version values it takes for these options (None: its service's catalogs'), e.g.
    # Valkey's releases for the cache calculator's --flavour valkey
    versions: Callable[[CalcInput], list[str]] | None = None
