"""The monitoring part of validation: the environment's alerts compile (names in the preset's
``monitoring:`` section exist), every metric they select is in the pinned exporter's catalog,
and, on the validate path, ``promtool check rules`` accepts them (when promtool is installed;
otherwise an information diagnostic says how to get it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from perfcfg.core.diagnostics import Diagnostic, has_errors
from perfcfg.monitoring import metrics, promtool
from perfcfg.monitoring.alerts import collect, render_rules
from perfcfg.services import registry
from perfcfg.services.monitor import Alert, monitored

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def selectors(expr: str) -> list[tuple[str, tuple[str, ...]]]:
    """The metrics an expression selects and the label names it matches on.

    >>> selectors('sum by (job) (pg_stat_activity_count{job="x",backend_type="client backend"}) > 2')
    [('pg_stat_activity_count', ('job', 'backend_type'))]
    """
    return [(m.group(1), tuple(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*!?=", m.group(2))))
            for m in _SELECTOR.finditer(expr)]


def unknown_metrics(alerts: list[Alert], config: Config) -> list[str]:
    """Why a rule would never fire: a metric (or label) its pinned exporter does not report
    for the targeted daemon version. ``up`` and ``job``/``instance`` are Prometheus's own."""
    daemons = registry.daemons(config.targets)
    problems = []
    for alert in alerts:
        monitor = registry.by_name(alert.service).monitor
        if monitor is None:
            continue
        cat = metrics.load(monitor.exporter.name, monitor.exporter.pinned)
        daemon, version = daemons[alert.service]
        for metric, labels in selectors(alert.expr):
            if metric == "up":
                continue
            own = tuple(label for label in labels if label not in ("job", "instance"))
            why = (f"no catalog {monitor.exporter.catalog_name(monitor.exporter.pinned)}"
                   if cat is None else metrics.missing(cat, metric, f"{daemon}-{version}", own))
            if why:
                problems.append(f"{alert.name}: {why}")
    return problems


def diagnostics(plan: Plan, config: Config, run_promtool: bool) -> list[Diagnostic]:
    if not monitored(config):
        return []
    alerts, diags = collect(plan, config)
    span = config.spans.get("monitoring")
    for problem in unknown_metrics(alerts, config):
        diags.append(Diagnostic(
            "PCF215", "error", f"an alert rule would never fire: {problem}", span, "monitoring",
            "the pinned exporter does not report it for this daemon version "
            "(schemas/catalogs/); waive the alert under monitoring.waivers"))
    if not run_promtool or has_errors(diags):
        return diags
    if promtool.binary() is None:
        # an information line shows no hint, so the way to install it is in the message
        diags.append(Diagnostic("PCF216", "info", "alert rules not checked: promtool is not "
                                f"installed; {promtool.INSTALL_HINT}", span, "monitoring",
                                promtool.INSTALL_HINT))
        return diags
    outcome = promtool.check_rules(render_rules(alerts, plan.env))
    if not outcome.ok:
        diags.append(Diagnostic(
            "PCF215", "error", f"promtool check rules rejects the alert rules: {outcome.output}",
            span, "monitoring", "an alert setting under monitoring.alerts may be malformed"))
    return diags
