"""What a service's part of the topology is made from, and the record each step gets.

After tuning, the planner asks every service, in registry order, for the values that follow
from the others' (``Service.derive``: a pooler's admin users, a database's listen address), then
for its part of the topology (``Service.topology``: pg_hba rules and roles, a pooler's
databases, an ACL, the worker programs). A worker program's environment is what every service
a worker talks to says it needs (``Service.client_env``: a URL naming its host and port).

>>> from types import SimpleNamespace as NS
>>> t = Topology(NS(), {}, lambda path, ref: "pw", True, [], [], {})
>>> t.resolve("users.bot.password", "${env:X}"), t.part("exampled") is None
('pw', True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.diagnostics import Diagnostic
    from perfcfg.core.plan import Setting


@dataclass
class Topology:
    config: Config
    settings: dict[str, Setting]            # every fixed, tuned and derived setting
    # a secret reference at a setting path → its value, or None after adding a PCF120
    # diagnostic (the value is also kept for the leak scans)
    resolve: Callable[[str, Any], str | None]
    hashed: bool                            # False on validate: skip slow key derivations
    diags: list[Diagnostic]
    leaked: list[str]                       # resolved secret values, for leak scans only
    parts: dict[str, Any]                   # the parts of the services before this one
    # what each service a worker talks to puts in its environment (Service.client_env)
    client_envs: Sequence[Callable[[Topology, Any], dict[str, str]]] = ()
    # program → the secrets its environment holds, resolved: written in clear into the one
    # output that hands each program its own (Output.program_secrets), and nowhere else
    program_secrets: dict[str, list[str]] = field(default_factory=dict)

    def part(self, service: str) -> Any:
        return self.parts.get(service)

    @cached_property
    def databases(self) -> dict[str, Any]:
        """The declared databases by name, made once: a lookup per worker program must not
        be a pass over every database (16k of each was minutes)."""
        return {db.name: db for db in self.config.databases}

    def database_of(self, program: Any) -> Any:
        """The database a program uses: the one it names, else the first declared."""
        first = self.config.databases[0]
        return self.databases.get(program.database or first.name, first)

    def program_env(self, program: Any) -> dict[str, str]:
        """The variables every service a worker program talks to says it needs."""
        env: dict[str, str] = {}
        for client_env in self.client_envs:
            for key, value in client_env(self, program).items():
                env.setdefault(key, value)
        return env
