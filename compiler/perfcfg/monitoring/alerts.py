"""An environment's monitoring from a compiled Plan: every alert rule (each threshold a number
the plan holds), the scrape targets, the dashboard panels and the exporters' commands, as the
``Watch`` the monitoring files are rendered from (``Plan.monitoring``).

Each service with a ``monitor`` (``services/<daemon>/monitoring.py``) returns its ``Alert``
records and panels for a plan; this module adds one health rule per scraped job (the exporter
answers) and applies the preset's ``monitoring:`` section (a severity or ``for:`` per alert,
waivers that leave one out). The rule expressions select the environment's own jobs
(``<env>-<service>``), so one Prometheus can watch several environments without one's numbers
judging another's daemons.

>>> Scope("staging").job("pgbouncer")
'staging-pgbouncer'
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import TYPE_CHECKING

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.services import registry
from perfcfg.services.monitor import LISTEN_HOST, Alert, Scope, Series, Target, Watch, monitored

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan


def exporter_down(service: str, scope: Scope) -> Alert:
    """Prometheus cannot scrape the service's exporter: every other rule of it goes blind."""
    return Alert(
        "ExporterDown", service, "health", f"up{scope.sel(service)} == 0", "critical", "1m",
        f"Prometheus cannot scrape the {service} exporter of {scope.env}",
        "up is Prometheus's own: 0 when the scrape fails", (),
        (Series("up", scope.labels(service), ok="1", bad="0"),))


def add_logins(config: Config) -> None:
    """A monitored environment's exporters log in like declared clients: each service's
    ``Monitor.clients`` joins ``config.clients`` (unless one of that name is declared)."""
    if not monitored(config):
        return
    declared = {c.name for c in config.clients}
    for service in registry.SERVICES:
        if service.monitor is not None:
            config.clients.extend(c for c in service.monitor.clients(config)
                                  if c.name not in declared)


def watch(plan: Plan, config: Config) -> tuple[Watch, list[Diagnostic]]:
    """The environment's monitoring (whether or not it is monitored: validate checks the
    rules of every environment whose files would have them), and the diagnostics of its
    ``monitoring:`` section."""
    scope = Scope(plan.env)
    alerts, diags = collect(plan, config)
    targets, panels, commands = [], [], {}
    for service in registry.SERVICES:
        monitor = service.monitor
        if monitor is None:
            continue
        targets.append(Target(service.name, scope.job(service.name),
                              f"{LISTEN_HOST}:{monitor.port}", monitor.exporter.name,
                              monitor.exporter.version(config.targets)))
        panels.extend(monitor.panels(plan, config, scope))
        if monitor.deployed is not None:
            commands[service.name] = monitor.deployed(plan, config)
    return Watch(plan.env, tuple(alerts), tuple(targets), tuple(panels), commands), diags


def collect(plan: Plan, config: Config) -> tuple[list[Alert], list[Diagnostic]]:
    """Every alert of the environment, with the preset's settings and waivers applied, and
    the diagnostics for names in ``monitoring:`` that no alert has."""
    scope = Scope(plan.env)
    alerts: list[Alert] = []
    for service in registry.SERVICES:
        if service.monitor is None:
            continue
        alerts.append(exporter_down(service.name, scope))
        alerts.extend(service.monitor.alerts(plan, config, scope))
    return _apply(alerts, config)


def _apply(alerts: list[Alert], config: Config) -> tuple[list[Alert], list[Diagnostic]]:
    names = sorted({a.name for a in alerts})
    diags: list[Diagnostic] = []
    settings = config.monitoring.alerts
    for name in settings:
        if name not in names:
            diags.append(_unknown(config, f"monitoring.alerts.{name}", name, names))
    waived = set()
    for i, waiver in enumerate(config.monitoring.waivers):
        if waiver.alert not in names:
            diags.append(_unknown(config, f"monitoring.waivers[{i}].alert", waiver.alert, names))
        waived.add(waiver.alert)
    out = []
    for alert in alerts:
        if alert.name in waived:
            continue
        own = settings.get(alert.name)
        if own is not None:
            alert = replace(alert, severity=own.severity or alert.severity,
                            for_=own.for_ or alert.for_)
        out.append(alert)
    return out, diags


def _unknown(config: Config, path: str, name: str, names: list[str]) -> Diagnostic:
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.6)
    hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f"the alerts of this environment are: {', '.join(names)}")
    span = config.spans.get(path) or config.spans.get(path.rsplit(".", 1)[0]) \
        or config.spans.get("monitoring")
    return Diagnostic("PCF214", "error", f"no alert named {name!r} in this environment", span,
                      path, hint)
