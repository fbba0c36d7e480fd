"""What a service tells monitoring: the records its ``Monitor`` is made of.

A service with a ``monitor`` (``services/<daemon>/monitoring.py``) names its exporter (pinned
like a daemon, its metric names in a catalog), says how the deployed exporter is started (its
Debian ``/etc/default`` file) and by which account, returns its ``Alert`` records for a plan
(each with the ``Series`` its test feeds promtool) and its dashboard ``Panel``s, knows how to
start its exporter against a throwaway daemon (the catalog reader's ``probe``, the live proof's
``live``) and which hand changes (``Drill``) must fire which of its alerts. ``monitoring/``
loops over the registry and never names a daemon.

>>> s = Series("pg_up", (("job", "staging-postgres"),), ok="1", bad="0")
>>> s.selector()
'pg_up{job="staging-postgres"}'
>>> seconds("1h30m"), seconds("90s")
(5400, 90)
>>> Scope("staging").sel("redis", maxmemory_policy="!allkeys-lfu")
'{job="staging-redis",maxmemory_policy!="allkeys-lfu"}'
>>> e = Exporter("redis_exporter", "prometheus-redis-exporter", ("1.45", "1.69"), "1.69",
...              system="1.45")
>>> e.catalog_name("1.69")
'metrics/redis_exporter-1.69.json'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcfg.harness import binaries

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.harness.procs import Account
    from perfcfg.model import Client, Targets

SEVERITIES = ("critical", "warning", "info")
# Environment kinds that get the monitoring files unless the preset says otherwise.
MONITORED_KINDS = ("staging", "production")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> int:
    """A Prometheus duration (``5m``, ``1h30m``) in whole seconds."""
    pairs = re.findall(r"([0-9]+)(ms|[ywdhms])", duration)
    return int(sum(int(n) * _UNIT_SECONDS[u] for n, u in pairs))


def monitored(config: Config) -> bool:
    """Whether the environment gets monitoring: the preset says, else staging and production."""
    stated = config.monitoring.enabled
    return stated if stated is not None else config.kind in MONITORED_KINDS


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
    paths it reads (``explain`` follows them). ``by`` names the labels an aggregating
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
    # labels the rule adds besides its severity (which program or pool a rule watches; a
    # topology's replicas will add the member they watch here)
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
    def key(self) -> str:
        """The name ``explain`` and ``monitoring.alerts`` know it by: its name, and the pool
        or program it watches when one name has a rule per pool or program."""
        return ".".join([self.name, *(v for _, v in self.extra)])

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(s.metric for s in self.series)


@dataclass(frozen=True)
class Scope:
    """Where an environment's alerts look: the job label each service's exporter gets. One
    host per environment today; a topology with replicas adds an ``instance`` matcher per
    member through ``sel``'s ``extra`` and a rule per member (``Alert.extra``)."""

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
class Exporter:
    """One exporter: its upstream name (catalog and folder prefix), its Debian package (which
    is also its program's name, its unit's and its ``/etc/default`` file's), the versions with
    a catalog, the one perfcfg writes for unless ``targets`` names another, and the one
    Debian 12 installs in ``/usr/bin`` (None: none there)."""

    name: str
    package: str
    versions: tuple[str, ...]
    pinned: str
    system: str | None = None

    def catalog_name(self, version: str) -> str:
        """Its metric catalog's file, under the daemons' catalogs (``schemas/catalogs/``)."""
        return f"metrics/{self.name}-{version}.json"

    def version(self, targets: Targets) -> str:
        """The version ``targets`` names (perfcfg.yaml's ``targets.<exporter>``), else pinned."""
        return str(getattr(targets, self.name, None) or self.pinned)

    def binary(self, version: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """The program of ``version``, or None when it is not installed here."""
        own = environ.get(binaries.bindir_variable(self.name, version))
        if own:
            path = f"{own}/{self.package}"
        elif version == self.system:
            path = f"/usr/bin/{self.package}"
        else:
            path = f"{binaries.folder(binaries.prefix(environ), self.name, version)}/bin/{self.package}"
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@dataclass(frozen=True)
class Command:
    """How an exporter is started: its arguments after the program (``{listen}`` stands for
    the address it serves on, ``{dir}`` for its scratch dir), its environment, who runs it
    (None: whoever starts it), and files to write into its scratch dir first (name → text,
    readable by that account only: a password file)."""

    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    account: Account | None = None
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """One dashboard graph: the queries it draws (PromQL, legend), its unit (Grafana's:
    ``short``, ``bytes``, ``percent``) and the compiled numbers drawn as lines across it
    (value, what the number is)."""

    title: str
    queries: tuple[tuple[str, str], ...]
    unit: str = "short"
    lines: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Drill:
    """A hand change the live proof makes to a running daemon, and the alerts it must fire
    (and nothing else). ``act(handle, plan, config, passwords)`` makes the change on the
    service's booted daemon (``passwords``: user → the password the build resolved) and
    returns what undoes it; ``fires`` names the alerts; ``when`` says whether the drill
    applies to the plan (a queue's fill needs a store that must not evict)."""

    name: str
    fires: Callable[[Plan, Config], tuple[str, ...]]
    act: Callable[[Any, Plan, Config, Mapping[str, str]], Callable[[], None]]
    when: Callable[[Plan, Config], bool] = lambda plan, config: True


def _none(*args: Any) -> list[Any]:
    return []


@dataclass(frozen=True)
class Monitor:
    """A service's monitoring: its exporter; its alerts for a plan; the daemons (name and
    versions) its catalog is read against; ``probe(daemon, version)``, a context that starts
    that daemon and yields the exporter ``Command`` reaching it; ``ready``, the sample line
    (``pg_up 1``) that says the exporter reached the daemon; the port it serves on; the
    account Debian's unit runs it as; ``deployed(plan, config)``, the command its
    ``/etc/default`` file gives it on the host; ``live(command, handle, plan, files)``, that
    command pointed at the throwaway daemon ``perfcfg verify`` booted from ``files`` (the
    compiled files by name), with whatever the daemon needs to admit it done the way the
    host would (roles.sql run, a socket's directory opened); its dashboard panels; its
    drills."""

    exporter: Exporter
    alerts: Callable[[Plan, Config, Scope], list[Alert]]
    daemons: Callable[[], list[tuple[str, str]]]
    probe: Callable[[str, str], AbstractContextManager[Command]]
    ready: str
    port: int = 0
    account: str = "prometheus"
    deployed: Callable[[Plan, Config], Command] | None = None
    live: Callable[[Command, Any, Plan, Mapping[str, str]], Command] | None = None
    panels: Callable[[Plan, Config, Scope], list[Panel]] = _none
    drills: tuple[Drill, ...] = ()
    # The direct logins its exporter needs besides the workload's (perfcfg's model.Client
    # records), added to the environment's clients when it is monitored: counted in the
    # connection budget and admitted by the daemon's files like any declared client.
    clients: Callable[[Config], list[Client]] = _none
    # What keeps its exporter from logging in, as the preset stands: (setting path, what is
    # missing, how to add it), reported as PCF217 warnings in a monitored environment.
    logins: Callable[[Plan, Config], list[tuple[str, str, str]]] = _none


# The account Debian's Prometheus packages run as (its exporters' units' User=): the role,
# ACL user and group a daemon admits the exporters with.
ACCOUNT = "prometheus"
# Where the exporters listen and Prometheus scrapes them: Prometheus runs on the environment's
# host, and nothing else need reach an exporter.
LISTEN_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Target:
    """One scrape job of ``prometheus.yml``: a service's exporter, where it listens."""

    service: str
    job: str
    address: str        # host:port
    exporter: str
    version: str


@dataclass(frozen=True)
class Watch:
    """The environment's monitoring as compiled (``Plan.monitoring``): what the monitoring
    files are made of. ``commands``: service → its exporter's command on the host."""

    env: str
    alerts: tuple[Alert, ...]
    targets: tuple[Target, ...]
    panels: tuple[Panel, ...]
    commands: Mapping[str, Command] = field(default_factory=dict)

    def keyed(self) -> dict[str, Alert]:
        """Every alert by the name ``explain`` knows it by: its ``key``, with its service
        after it where several services have a rule of that key (``ExporterDown.redis``)."""
        count: dict[str, int] = {}
        for a in self.alerts:
            count[a.key] = count.get(a.key, 0) + 1
        return {(a.key if count[a.key] == 1 else f"{a.key}.{a.service}"): a for a in self.alerts}
