"""Alert rules from a compiled Plan: every threshold a number the plan holds, every rule with
its own ``promtool test rules`` case just below and just above that threshold.

Each service with a ``monitor`` (``services/<daemon>/monitoring.py``) returns its ``Alert``
records for a plan; this module adds one health rule per scraped job (the exporter answers),
applies the preset's ``monitoring:`` section (a severity or ``for:`` per alert, waivers that
leave one out) and renders ``alerts.yml`` and its test file. The rule expressions select the
environment's own jobs (``<env>-<service>``), so one Prometheus can watch several environments
without one's numbers judging another's daemons.

>>> Scope("staging").job("pgbouncer")
'staging-pgbouncer'
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.services import registry
from perfcfg.services.monitor import Alert, Scope, Series, seconds

# The test files' step: each input series holds one sample per minute.
INTERVAL = 60

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


# -- alerts.yml -------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def render_rules(alerts: Iterable[Alert], env: str) -> str:
    """``alerts.yml``: one group per service, each rule under the comment naming its numbers."""
    lines = [f"# Alert rules of environment {env}: every threshold is a number perfcfg compiled",
             "# for it; `perfcfg explain` says where each comes from. Checked by promtool check",
             "# rules and proven by the rules' own tests (alerts.test.yml).", "groups:"]
    by_service: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_service.setdefault(alert.service, []).append(alert)
    for service, group in by_service.items():
        lines += [f"  - name: {_q(f'{env}-{service}')}", "    rules:"]
        for alert in group:
            lines += [f"      # {line}" for line in alert.comment.splitlines()]
            lines += [f"      - alert: {alert.name}",
                      f"        expr: {_q(alert.expr)}",
                      f"        for: {alert.for_}",
                      "        labels:",
                      *(f"          {k}: {_q(v)}" for k, v in alert.labels().items()),
                      "        annotations:",
                      f"          summary: {_q(alert.summary)}"]
    return "\n".join(lines) + "\n"


# -- the rules' tests -------------------------------------------------------------------------

def eval_minutes(alert: Alert) -> int:
    """When a test looks: after the rule's ``for:`` and a rate window of up to 10 minutes."""
    return -(-seconds(alert.for_) // 60) + 11


def render_tests(alerts: Iterable[Alert], env: str, rule_file: str = "alerts.yml") -> str:
    """``promtool test rules`` cases: per alert, healthy series that must not fire it and
    series just past its threshold that must."""
    lines = [f"# The alert rules' own tests for environment {env}: promtool test rules FILE",
             f"rule_files: [{_q(rule_file)}]", f"evaluation_interval: {INTERVAL}s", "tests:"]
    for alert in alerts:
        at = eval_minutes(alert)
        for firing in (False, True):
            what = "fires" if firing else "stays quiet"
            lines += [f"  - name: {_q(f'{alert.name} ({alert.service}) {what}')}",
                      f"    interval: {INTERVAL}s", "    input_series:"]
            for s in alert.series:
                lines += [f"      - series: {_q(s.selector())}",
                          f"        values: {_q(f'{s.bad if firing else s.ok}x{at + 5}')}"]
            lines += ["    alert_rule_test:", f"      - eval_time: {at}m",
                      f"        alertname: {alert.name}"]
            if not firing:
                lines.append("        exp_alerts: []")
                continue
            labels = alert.firing_labels()
            lines += ["        exp_alerts:", "          - exp_labels:"]
            lines += [f"              {k}: {_q(v)}" for k, v in sorted(labels.items())]
            lines += ["            exp_annotations:", f"              summary: {_q(alert.summary)}"]
    return "\n".join(lines) + "\n"
