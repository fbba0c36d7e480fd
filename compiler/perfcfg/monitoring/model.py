"""What a service tells monitoring, and the records the alert rules are made of.

A service with a ``monitor`` (``services/<daemon>/monitoring.py``) names its exporter, returns
its ``Alert`` records for a plan (each with the ``Series`` its test feeds promtool), and knows
how to start its exporter against a throwaway daemon (the catalog reader's ``probe``).

>>> s = Series("pg_up", (("job", "staging-postgres"),), ok="1", bad="0")
>>> s.selector()
'pg_up{job="staging-postgres"}'
>>> seconds("1h30m"), seconds("90s")
(5400, 90)
>>> Scope("staging").sel("redis", maxmemory_policy="!allkeys-lfu")
'{job="staging-redis",maxmemory_policy!="allkeys-lfu"}'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcfg.monitoring.exporters import Command, Exporter

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

SEVERITIES = ("critical", "warning", "info")
# The test files' step: each input series holds one sample per minute.
INTERVAL = 60
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> int:
    """A Prometheus duration (``5m``, ``1h30m``) in whole seconds."""
    pairs = re.findall(r"([0-9]+)(ms|[ywdhms])", duration)
    return int(sum(int(n) * _UNIT_SECONDS[u] for n, u in pairs))


@dataclass(frozen=True)
class Series:
    """One input series of a rule's test: its values while healthy and while the alert must
    fire, each a value or a promtool step (``0+1``: a counter going up by one a minute)."""

    metric: str
    labels: tuple[tuple[str, str], ...]
    ok: str
    bad: str

    def selector(self) -> str:
        inner = ",".join(f"{k}={json.dumps(v)}" for k, v in self.labels)
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True)
class Alert:
    """One alerting rule. ``kind`` is ``threshold`` (a compiled limit, with a share of it),
    ``drift`` (the running value differs from the compiled one) or ``health`` (up, running).
    ``comment`` says where each number of ``expr`` comes from; ``sources`` are the setting
    paths it reads (``explain`` starts there). ``by`` names the labels an aggregating
    expression keeps (None: the first series' labels)."""

    name: str
    service: str
    kind: str
    expr: str
    severity: str
    for_: str
    summary: str
    comment: str
    sources: tuple[str, ...]
    series: tuple[Series, ...]
    by: tuple[str, ...] | None = None
    # labels the rule adds besides its severity (which program a per-program rule watches)
    extra: tuple[tuple[str, str], ...] = ()

    def labels(self) -> dict[str, str]:
        """The rule's own labels: its service (rules of one name in several services stay
        apart, for routing and for promtool's duplicate check), ``extra``, its severity."""
        return {"service": self.service, **dict(self.extra), "severity": self.severity}

    def firing_labels(self) -> dict[str, str]:
        first = dict(self.series[0].labels)
        kept = first if self.by is None else {k: v for k, v in first.items() if k in self.by}
        return {**kept, **self.labels()}

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(s.metric for s in self.series)


@dataclass(frozen=True)
class Scope:
    """Where an environment's alerts look: the job label each service's exporter gets."""

    env: str

    def job(self, service: str) -> str:
        return f"{self.env}-{service}"

    def labels(self, service: str, **extra: str) -> tuple[tuple[str, str], ...]:
        """A test series' labels: the job, a made-up instance, and ``extra``."""
        return (("job", self.job(service)), ("instance", f"{service}.test:9100"),
                *sorted(extra.items()))

    def sel(self, service: str, **extra: str) -> str:
        """A PromQL label matcher for the service's job (``{job="staging-redis"}``);
        a value starting with ``!`` matches everything else (``!=``)."""
        parts = [f"job={json.dumps(self.job(service))}"]
        for key, value in sorted(extra.items()):
            op, text = ("!=", value[1:]) if value.startswith("!") else ("=", value)
            parts.append(f"{key}{op}{json.dumps(text)}")
        return "{" + ",".join(parts) + "}"



@dataclass(frozen=True)
class Monitor:
    """A service's monitoring: its exporter; its alerts for a plan; the daemons (name and
    versions) its catalog is read against; ``probe(daemon, version)``, a context that starts
    that daemon and yields the exporter ``Command`` reaching it; and ``ready``, the sample line
    (``pg_up 1``) that says the exporter reached the daemon."""

    exporter: Exporter
    alerts: Callable[[Plan, Config, Scope], list[Alert]]
    daemons: Callable[[], list[tuple[str, str]]]
    probe: Callable[[str, str], AbstractContextManager[Command]]
    ready: str
