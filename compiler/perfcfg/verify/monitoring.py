"""``perfcfg verify --monitoring``: the monitoring files proven against the real stack.

While ``perfcfg verify`` has the environment's daemons running from the compiled files, each
service's pinned exporter is started from its compiled ``/etc/default`` file (pointed at the
throwaway daemon by the service's ``Monitor.live``) and a real Prometheus from the compiled
``prometheus.yml`` (its targets the exporters' loopback ports) and ``alerts.yml``. Then:
every target must be up and no alert pending or firing at rest; then each service's drills,
one at a time (a hand change, or load), must fire exactly the alerts they name — read from
Prometheus's ``/api/v1/alerts`` — and nothing else, and the environment must be quiet again
after the drill is undone. Everything it starts stops with verify's daemons.

To see an alert within seconds, the run scrapes and evaluates every second and gives every
rule ``for: 5s``: the rules' expressions and thresholds are the compiled ones.

>>> Drilled("CONFIG SET maxmemory", ("RedisMaxmemoryDrift",), ("RedisMaxmemoryDrift",)).ok
True
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from perfcfg.services import registry
from perfcfg.services.monitor import LISTEN_HOST, Watch
from perfcfg.services.monitor_files import (
    exporter_file,
    parse_default_file,
    render_rules,
    scrape_config,
)

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.monitoring.prometheus import Prometheus
    from perfcfg.services.monitor import Drill
    from perfcfg.stages.pipeline import Result

# The run's pace: Prometheus scrapes and evaluates every second; every rule's for: is this.
INTERVAL = "1s"
FOR = "5s"
# How long a target may take to come up, an alert to fire, the stack to quiet down.
UP_SECONDS = 60
FIRE_SECONDS = 90
QUIET_SECONDS = 90
# After the alerts a drill names fire: how long the others get to show up too.
SETTLE_SECONDS = 3


@dataclass(frozen=True)
class Drilled:
    """One drill: the alerts it must fire and those that fired (or pended) when they did."""

    name: str
    expected: tuple[str, ...]
    fired: tuple[str, ...]
    error: str = ""
    # the alerts as Prometheus's /api/v1/alerts reported them (labels, annotations, state,
    # value), when they fired
    alerts: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error and set(self.fired) == set(self.expected)


@dataclass
class Proof:
    targets: dict[str, str] = field(default_factory=dict)        # job → health
    at_rest: list[str] = field(default_factory=list)             # alerts pending/firing at rest
    drills: list[Drilled] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)             # what could not run, and why
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.targets) and not self.errors and not self.at_rest and all(
            h == "up" for h in self.targets.values()) and all(d.ok for d in self.drills)


def prove(result: Result, handles: Mapping[str, Any], stack: ExitStack,
          progress: Callable[[str], None] = lambda line: None) -> Proof:
    """The proof, on the daemons ``handles`` (service name → what verify booted)."""
    from perfcfg.harness.errors import DaemonError
    from perfcfg.monitoring.exporters import ExporterProcess
    from perfcfg.monitoring.prometheus import Prometheus

    assert result.plan is not None and result.config is not None
    plan, config = result.plan, result.config
    watch = plan.monitoring
    proof = Proof()
    if not isinstance(watch, Watch):
        proof.errors.append(f"{plan.env} is not monitored (monitoring.enabled)")
        return proof
    files = {name: data.decode("utf-8") for name, data in result.files.items()}
    addresses: dict[str, str] = {}
    for service in registry.SERVICES:
        monitor = service.monitor
        if monitor is None or monitor.live is None:
            continue
        handle = handles.get(service.name)
        target = next(t for t in watch.targets if t.service == service.name)
        program = monitor.exporter.binary(target.version)
        if handle is None or program is None:
            proof.skipped.append(f"{target.job}: " + (
                f"{target.exporter} {target.version} is not installed" if program is None
                else f"{service.name} was not started"))
            continue
        progress(f"{target.exporter} {target.version}: starting from {exporter_file(service)}")
        deployed = parse_default_file(files[exporter_file(service)])
        # where the file says it listens becomes a free port of this run's
        listen = f"{LISTEN_HOST}:{monitor.port}"
        deployed = replace(deployed, args=tuple(a.replace(listen, "{listen}")
                                                for a in deployed.args))
        command = monitor.live(deployed, handle, plan, files)
        try:
            exporter = stack.enter_context(ExporterProcess(program, command))
        except DaemonError as err:
            proof.errors.append(f"{target.exporter} did not start: {err.message}: "
                                f"{err.log_tail.strip()[-300:]}")
            continue
        addresses[service.name] = f"127.0.0.1:{exporter.port}"
    if proof.errors or not addresses:
        return proof
    # only the scraped services' rules: a service not started here has no exporter to judge
    alerts = [replace(a, for_=FOR) for a in watch.alerts if a.service in addresses]
    jobs = replace(watch, targets=tuple(t for t in watch.targets if t.service in addresses))
    progress("prometheus: starting with the compiled prometheus.yml and alerts.yml")
    prom = stack.enter_context(Prometheus(
        scrape_config(jobs, interval=INTERVAL, addresses=addresses),
        {"alerts.yml": render_rules(alerts, watch.env)}))
    with contextlib.suppress(DaemonError):   # which are not is what the proof reports
        prom.wait(lambda: _all_up(prom, len(addresses)), UP_SECONDS, "every target up")
    proof.targets = {t["labels"]["job"]: t["health"] for t in prom.targets()}
    if not all(h == "up" for h in proof.targets.values()):
        return proof
    # a for: and a few evaluations past the first scrape: a rule that would fire at rest has
    proof.at_rest = _quiet_after(prom, seconds=_seconds(FOR) + 3)
    if proof.at_rest:
        return proof
    names = {a.name for a in alerts}
    for service in registry.SERVICES:
        if service.monitor is None or service.name not in addresses:
            continue
        for drill in service.monitor.drills:
            expected = tuple(sorted(drill.fires(plan, config)))
            if not drill.when(plan, config):
                continue
            if not set(expected) <= names:
                proof.skipped.append(f"{drill.name}: {', '.join(sorted(set(expected) - names))} "
                                     "waived")
                continue
            progress(f"drill: {drill.name}, expecting {', '.join(expected)}")
            proof.drills.append(_drill(prom, drill, handles[service.name], plan, config,
                                       expected))
            if not proof.drills[-1].ok:
                return proof
    return proof


def _drill(prom: Prometheus, drill: Drill, handle: object, plan: Plan, config: Config,
           expected: tuple[str, ...]) -> Drilled:
    from perfcfg.harness.errors import DaemonError

    undo = drill.act(handle, plan, config, plan.resolved)
    try:
        try:
            prom.wait(lambda: set(expected) <= set(_names(prom, "firing")), FIRE_SECONDS,
                      f"{', '.join(expected)} firing")
        except DaemonError:
            return Drilled(drill.name, expected, tuple(sorted(_names(prom, None))),
                           f"not firing within {FIRE_SECONDS}s")
        time.sleep(SETTLE_SECONDS)
        active = prom.alerts(state=None)
        fired = tuple(sorted({a["labels"]["alertname"] for a in active}))
    finally:
        undo()
    left = _quiet_after(prom, seconds=0, timeout=QUIET_SECONDS)
    return Drilled(drill.name, expected, fired,
                   f"still active after the drill was undone: {', '.join(left)}" if left else "",
                   tuple(active))


def _names(prom: Prometheus, state: str | None) -> list[str]:
    return [a["labels"]["alertname"] for a in prom.alerts(state=state)]


def _all_up(prom: Prometheus, count: int) -> bool:
    found = prom.targets()
    return len(found) == count and all(t["health"] == "up" for t in found)


def _quiet_after(prom: Prometheus, seconds: float, timeout: float = 0) -> list[str]:
    """The alerts pending or firing after ``seconds``, or once none are (within ``timeout``)."""
    time.sleep(seconds)
    deadline = time.monotonic() + timeout
    while True:
        active = sorted(set(_names(prom, None)))
        if not active or time.monotonic() >= deadline:
            return active
        time.sleep(0.5)


def _seconds(duration: str) -> int:
    from perfcfg.services.monitor import seconds

    return seconds(duration)


def table(proof: Proof) -> str:
    """The drills as an aligned ``drill | expected | fired | ok`` table."""
    rows = [("drill", "expected", "fired", "ok")] + [
        (d.name, ", ".join(d.expected), ", ".join(d.fired) or "-",
         "yes" if d.ok else f"NO: {d.error}" if d.error else "NO") for d in proof.drills]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    fired = [_alert_line(a) for d in proof.drills for a in d.alerts]
    return "\n".join([lines[0], "-+-".join("-" * w for w in widths), *lines[1:],
                      *(["", "as Prometheus reported them (/api/v1/alerts):"] if fired else []),
                      *fired]) + "\n"


def _alert_line(alert: Mapping[str, Any]) -> str:
    """``Name{label="v",…} state, value V: summary``, one line per alert."""
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(alert["labels"].items())
                      if k != "alertname")
    return (f"  {alert['labels']['alertname']}{{{labels}}} {alert['state']}, value "
            f"{alert.get('value', '')}: {alert.get('annotations', {}).get('summary', '')}")
