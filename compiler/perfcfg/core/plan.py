"""The Plan: every setting perfcfg will write, with its value and why it has that value.

A ``Setting`` is either written by a person (origin = the preset line or --set) or tuned by a
rule (origin kind ``tuned``, with the rule id, its inputs and formula), or derived from the
topology (origin kind ``derived``: one daemon's address from another's settings).

>>> s = Setting("exampled.work_mem", 64 << 20, Origin("set", None, "--set exampled.work_mem=64MB"))
>>> s.service, s.name
('exampled', 'work_mem')
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


@dataclass
class Plan:
    env: str
    kind: str
    settings: dict[str, Setting]
    # Each service's part of the topology, in the shape its outputs read (a database's hba
    # rules and roles, a pooler's databases, an ACL, the worker programs): service → part.
    parts: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)   # resolved secret values, for leak scans
    # The alert rules, scrape targets and dashboard panels of a monitored environment
    # (services/monitor.py's Watch, made by monitoring/ from every service's Monitor).
    monitoring: Any = None
    # secret reference path (``users.bot.password``) → its resolved value: what the live proof
    # of the monitoring logs in with (never printed; ``secrets`` holds the same values)
    resolved: dict[str, str] = field(default_factory=dict)
    # files that hold a secret in clear (a secret slot's), with the secrets each may hold
    clear: dict[str, set[str]] = field(default_factory=dict)
    # resolve | placeholder: whether the files carry the real secrets' hashes (verify --live
    # compares passwords only then)
    secrets_mode: str = ""
    # program → the resolved secrets of its environment: written in clear into its own section
    # of the root-only file that runs it, and nowhere else
    program_secrets: dict[str, list[str]] = field(default_factory=dict)

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
