"""Config: the validated input of one environment, as the validate stage hands it on.

Every daemon parameter is already in its canonical form (bytes, microseconds, on/off…) or
``"auto"``; perfcfg's own structures are the records of :mod:`perfcfg.model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfcfg import model
from perfcfg.core.spans import Span

AUTO = "auto"   # a value the preset leaves to the tuner


@dataclass
class Config:
    env: str
    kind: str
    targets: model.Targets
    host: model.HostProfile | None
    services: dict[str, dict[str, Any]]           # service → param → canonical value or "auto"
    own: dict[str, dict[str, Any]]                # service → perfcfg's own key → its value
    databases: list[model.Database]
    users: list[model.User]
    clients: list[model.Client]
    workload: model.Workload
    budget: model.Budget
    policy: model.Policy
    spans: dict[str, Span] = field(default_factory=dict)  # setting path → span of its value
    layout: str = "debian"    # perfcfg.yaml's deploy.layout: where the daemons' files go
    limits: bool = False      # perfcfg.yaml's deploy.limits: the kernel's files are written too
    # named items left out for a refused value they need (``databases.reports``): references
    # to them are not reported a second time
    broken: frozenset[str] = frozenset()
    monitoring: model.Monitoring = field(default_factory=model.Monitoring)
    # perfcfg.yaml's deploy.files: generated file name → where and how it is deployed
    deploy: dict[str, Any] = field(default_factory=dict)
