"""The Plan: every setting perfcfg will write, with its value and why it has that value.

A ``Setting`` is either written by a person (origin = the preset line or --set) or tuned by a
rule (origin kind ``tuned``, with the rule id, its inputs and formula), or derived from the
topology (origin kind ``derived``: e.g. pgbouncer's [databases] host from postgres.port).

>>> s = Setting("postgres.work_mem", 64 << 20, Origin("set", None, "--set postgres.work_mem=64MB"))
>>> s.service, s.name
('postgres', 'work_mem')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perfcfg.core.spans import Origin


@dataclass(frozen=True)
class Setting:
    path: str
    value: Any
    origin: Origin
    reason: str = ""
    rule: str = ""
    formula: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    deviation: str = ""
    history: tuple[Origin, ...] = ()

    @property
    def service(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def tuned(self) -> bool:
        return self.origin.kind == "tuned"


@dataclass(frozen=True)
class ProgramPlan:
    name: str
    argv: tuple[str, ...]
    processes: int
    environment: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]      # [program:x] keys in canonical form


@dataclass(frozen=True)
class HbaRule:
    type: str          # local | host | hostssl
    database: str
    user: str
    address: str       # "" for local
    method: str
    comment: str
    # database and user are names, never pg_hba keywords (a role called "all" is quoted)
    literal: bool = False


@dataclass
class Plan:
    env: str
    kind: str
    settings: dict[str, Setting]
    databases: list[dict[str, Any]]
    users: list[tuple[str, str]]            # (name, auth-file secret)
    programs: list[ProgramPlan]
    hba: list[HbaRule]
    secrets: list[str]                      # resolved secret values, for leak scans only
    acl: list[str] = field(default_factory=list)   # Redis ACL file lines, passwords hashed

    def service(self, name: str, section: str | None = None,
                nested: tuple[str, ...] = ()) -> list[Setting]:
        """Settings of one service, or of one of its nested sections, in path order; the
        settings of the ``nested`` sections are left out of the service's own."""
        prefix = f"{name}." if section is None else f"{name}.{section}."
        out = []
        for path in sorted(self.settings):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            if section is None and rest.split(".", 1)[0] in nested and "." in rest:
                continue
            out.append(self.settings[path])
        return out

    def value(self, path: str, default: Any = None) -> Any:
        setting = self.settings.get(path)
        return default if setting is None else setting.value
