"""The monitoring part of compiling an environment: its ``Watch`` (the alert rules, targets,
panels and exporter commands the monitoring files are made of), whose names in the preset's
``monitoring:`` section must exist, every metric its rules select must be in the pinned
exporter's catalog, and, on the validate path, ``promtool check rules`` must accept them (when
promtool is installed; otherwise an information diagnostic says how to get it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from perfcfg.core.diagnostics import Diagnostic, has_errors
from perfcfg.monitoring import metrics, promtool
from perfcfg.monitoring.alerts import watch
from perfcfg.services import registry
from perfcfg.services.monitor import Alert, Watch, monitored
from perfcfg.services.monitor_files import render_rules

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.core.spans import Span

_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def selectors(expr: str) -> list[tuple[str, tuple[str, ...]]]:
    """The metrics an expression selects and the label names it matches on.

    >>> selectors('sum by (job) (pg_stat_activity_count{job="x",backend_type="client backend"}) > 2')
    [('pg_stat_activity_count', ('job', 'backend_type'))]
    """
    return [(m.group(1), tuple(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*!?=", m.group(2))))
            for m in _SELECTOR.finditer(expr)]


def _span(config: Config, path: str) -> Span | None:
    """The span of ``path``, or of the first line written under it (a list's first entry)."""
    if path in config.spans:
        return config.spans[path]
    under = [s for key, s in config.spans.items() if key.startswith(f"{path}.") and s]
    return min(under, key=lambda s: (s.file, s.line)) if under else None


def unknown_metrics(alerts: list[Alert], config: Config) -> list[tuple[str, str]]:
    """(exporter, why) a rule would never fire: a metric (or label) the targeted version of
    its exporter does not report for the targeted daemon version. ``up`` and
    ``job``/``instance`` are Prometheus's own."""
    daemons = registry.daemons(config.targets)
    problems = []
    for alert in alerts:
        monitor = registry.by_name(alert.service).monitor
        if monitor is None:
            continue
        exporter_version = monitor.exporter.version(config.targets)
        cat = metrics.load(monitor.exporter.name, exporter_version)
        daemon, version = daemons[alert.service]
        for metric, labels in selectors(alert.expr):
            if metric == "up":
                continue
            own = tuple(label for label in labels if label not in ("job", "instance"))
            why = (f"no catalog {monitor.exporter.catalog_name(exporter_version)}"
                   if cat is None else metrics.missing(cat, metric, f"{daemon}-{version}", own))
            if why:
                problems.append((monitor.exporter.name, f"{alert.name}: {why}"))
    return problems


def compile_watch(plan: Plan, config: Config, run_promtool: bool
                  ) -> tuple[Watch | None, list[Diagnostic]]:
    """The environment's monitoring (None when it is not monitored) and what is wrong with it."""
    if not monitored(config):
        return None, []
    found, diags = watch(plan, config)
    for service in registry.SERVICES:
        if service.monitor is None:
            continue
        exporter = service.monitor.exporter
        version = exporter.version(config.targets)
        if version not in exporter.versions:
            path = f"targets.{exporter.name}"
            diags.append(Diagnostic(
                "PCF207", "error", f"perfcfg has no metric catalog for {exporter.name} "
                f"{version}", config.spans.get(path), path,
                f"supported: {', '.join(exporter.versions)} (schemas/catalogs/metrics/)"))
            return None, diags
        for path, what, hint in service.monitor.logins(plan, config):
            diags.append(Diagnostic("PCF217", "warning", what, _span(config, path), path, hint))
    return (None if has_errors(diags) else found), diags + diagnostics(
        list(found.alerts), plan, config, run_promtool and not has_errors(diags))


def diagnostics(alerts: list[Alert], plan: Plan, config: Config, run_promtool: bool
                ) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    span = config.spans.get("monitoring")
    for exporter, problem in unknown_metrics(alerts, config):
        # a version the project chose is where to look; perfcfg's own pin is no line of it
        path = f"targets.{exporter}"
        where = (path, config.spans[path]) if path in config.spans else ("monitoring", span)
        diags.append(Diagnostic(
            "PCF215", "error", f"an alert rule would never fire: {problem}", where[1], where[0],
            "this exporter version does not report it for this daemon version "
            "(schemas/catalogs/metrics/): target another one, or waive the alert under "
            "monitoring.waivers"))
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
