"""The monitoring files of a monitored environment, rendered from ``Plan.monitoring`` (the
``Watch`` that ``monitoring/`` makes of every service's ``Monitor``):

- one ``/etc/default`` file per exporter (``prometheus-postgres-exporter``…): the command its
  Debian unit starts it with (``ARGS``) and its connection variables;
- ``prometheus.yml``: a scrape job per exporter and the rule file;
- ``alerts.yml``: the alert rules, each under the comment naming where its numbers come from;
- ``alerts.test.yml``: the rules' own ``promtool test rules`` cases, a healthy series that
  must not fire each rule and one just past its threshold that must;
- ``grafana-dashboard.json``: a dashboard (Grafana's import format) with the compiled numbers
  drawn as threshold lines.

They belong to no daemon perfcfg configures: the manifest lists them under ``monitoring``, and
``build``'s actions name the unit each change needs (``prometheus``: reload, an exporter:
restart). They are written when the environment is monitored (``monitoring.enabled``, on by
default for staging and production).

>>> print(default_file({"DATA_SOURCE_NAME": "user=prometheus dbname=postgres"},
...                    ("--web.listen-address=127.0.0.1:9187",)), end="")
DATA_SOURCE_NAME='user=prometheus dbname=postgres'
ARGS='--web.listen-address=127.0.0.1:9187'
>>> parse_default_file("ARGS='-a -b'\\n# c\\nX='y z'\\n")
Command(args=('-a', '-b'), env={'X': 'y z'}, account=None, files={})
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from perfcfg.core.encoding import EncodeError, comment_text
from perfcfg.services.actions import Action, by_content
from perfcfg.services.monitor import LISTEN_HOST, Alert, Command, Panel, Watch, monitored, seconds
from perfcfg.services.output import Output, Placement, RenderContext

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service

OWNER = "monitoring"
PROMETHEUS = "prometheus"
RULES = "alerts.yml"
TESTS = "alerts.test.yml"
CONFIG = "prometheus.yml"
DASHBOARD = "grafana-dashboard.json"
# Debian's prometheus package reads /etc/prometheus/prometheus.yml; the rule file and its
# tests go beside it (prometheus.yml names the rule file relative to itself).
PROMETHEUS_DIR = "/etc/prometheus"
DEFAULTS_DIR = "/etc/default"
# How often Prometheus scrapes and evaluates the rules: its own default is 1m, which leaves a
# 1m for: between one and two samples; 15s gives every for: four samples at least.
INTERVAL = "15s"
# The rules' tests: each input series holds one sample per minute.
TEST_STEP = 60
# Grafana's dashboard JSON model version this file is written in (Grafana 10.x).
SCHEMA_VERSION = 39


def _watch(ctx: RenderContext) -> Watch | None:
    return ctx.plan.monitoring if isinstance(ctx.plan.monitoring, Watch) else None


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> list[str]:
    return [comment_text(line) for line in text.splitlines()]


def _file(ctx: RenderContext, name: str, body: str, about: str) -> bytes:
    """A YAML or /etc/default file: perfcfg's header, what the file is for, then ``body``."""
    return ctx.template("monitoring", name, body=body,
                        about=[comment_text(line) for line in textwrap.wrap(about, 92)])


# -- an exporter's /etc/default file -----------------------------------------------------------

_SAFE = re.compile(r"^[^'\n\\$`\"]*$")


def default_file(env: Mapping[str, str], args: Iterable[str]) -> str:
    """The variables of a Debian ``/etc/default`` file, read by the unit's EnvironmentFile=
    (and sourced by the sysvinit script): each value single-quoted, ``ARGS`` word-split by
    the unit's ``$ARGS``, so no argument may hold a space."""
    lines = []
    for key, value in [*env.items(), ("ARGS", " ".join(_arg(a) for a in args))]:
        if not _SAFE.match(value):
            raise EncodeError(f"{key}={value!r}: a quote, backslash, $, backtick or newline "
                              "cannot be written in an /etc/default file")
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


def _arg(arg: str) -> str:
    if not arg or any(c.isspace() for c in arg):
        raise EncodeError(f"exporter argument {arg!r} is empty or holds a space, which the "
                          "unit's $ARGS would split")
    return arg


def parse_default_file(text: str) -> Command:
    """The reverse of ``default_file``: the arguments and variables it gives (what the live
    proof starts an exporter with)."""
    env: dict[str, str] = {}
    args: tuple[str, ...] = ()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        value = shlex.split(value)[0] if value.strip() else ""
        if key == "ARGS":
            args = tuple(value.split())
        else:
            env[key] = value
    return Command(args, env)


def exporter_file(service: Service) -> str:
    """The generated name of ``service``'s exporter file: its Debian package's name."""
    assert service.monitor is not None
    return service.monitor.exporter.package


def exporter_output(service: Service) -> Output:
    monitor = service.monitor
    assert monitor is not None
    name = exporter_file(service)
    unit = monitor.exporter.package

    def render(ctx: RenderContext, owner: Any) -> bytes:
        watch = _watch(ctx)
        command = watch.commands.get(service.name) if watch is not None else None
        if command is None:
            return b""
        listen = f"{LISTEN_HOST}:{monitor.port}"
        try:
            body = default_file(command.env, (a.replace("{listen}", listen)
                                              for a in command.args))
        except EncodeError as exc:
            ctx.fail(f"{OWNER}.{service.name}", exc)
            return b""
        return _file(ctx, name, body,
                     f"How Debian's {unit} unit starts {monitor.exporter.name} (as user "
                     f"{monitor.account}), which Prometheus scrapes on {listen}.")

    return Output(name, render, when=_monitored, owner=(OWNER, unit),
                  place=lambda targets: Placement(DEFAULTS_DIR, "root", "root"),
                  changed=by_content(lambda targets: Action("restart", (name,),
                                                            f"systemctl restart {unit}")))


def _monitored(ctx: RenderContext) -> bool:
    return monitored(ctx.config)


# -- prometheus.yml ----------------------------------------------------------------------------

def scrape_config(watch: Watch, rule_file: str = RULES, interval: str = INTERVAL,
                  addresses: Mapping[str, str] | None = None) -> str:
    """``prometheus.yml``: one job per exporter (``addresses``: service → host:port instead of
    the compiled one, for a throwaway run), evaluating ``rule_file``."""
    lines = ["global:", f"  scrape_interval: {interval}", f"  evaluation_interval: {interval}",
             "rule_files:", f"  - {_q(rule_file)}", "scrape_configs:"]
    for target in watch.targets:
        address = (addresses or {}).get(target.service, target.address)
        lines += [f"  # {target.exporter} {target.version}, the exporter of {target.service}",
                  f"  - job_name: {_q(target.job)}",
                  "    static_configs:", f"      - targets: [{_q(address)}]"]
    return "\n".join(lines) + "\n"


def _prometheus_yml(ctx: RenderContext, owner: Any) -> bytes:
    watch = _watch(ctx)
    if watch is None:
        return b""
    return _file(ctx, CONFIG, scrape_config(watch),
                 "Prometheus's scrape jobs for the exporters of this environment, "
                              "and its alert rules (alerts.yml).")


# -- alerts.yml --------------------------------------------------------------------------------

def render_rules(alerts: Iterable[Alert], env: str) -> str:
    """``alerts.yml``: one group per service, each rule under the comment naming its numbers."""
    lines = ["groups:"]
    by_service: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_service.setdefault(alert.service, []).append(alert)
    for service, group in by_service.items():
        lines += [f"  - name: {_q(f'{env}-{service}')}", "    rules:"]
        for alert in group:
            lines += [f"      # {line}" for line in _comment(alert.comment)]
            lines += [f"      - alert: {alert.name}",
                      f"        expr: {_q(alert.expr)}",
                      f"        for: {alert.for_}",
                      "        labels:",
                      *(f"          {k}: {_q(v)}" for k, v in alert.labels().items()),
                      "        annotations:",
                      f"          summary: {_q(alert.summary)}"]
    return "\n".join(lines) + "\n"


def _alerts_yml(ctx: RenderContext, owner: Any) -> bytes:
    watch = _watch(ctx)
    if watch is None:
        return b""
    return _file(ctx, RULES, render_rules(watch.alerts, watch.env),
                 "Alert rules: every threshold is a number perfcfg compiled for "
                              "this environment (perfcfg explain --env ENV monitoring.alerts."
                              "NAME says where it comes from); promtool test rules "
                              f"{TESTS} proves each one.")


# -- the rules' tests --------------------------------------------------------------------------

def eval_minutes(alert: Alert) -> int:
    """When a test looks: after the rule's ``for:`` and a rate window of up to 10 minutes."""
    return -(-seconds(alert.for_) // 60) + 11


def render_tests(alerts: Iterable[Alert], rule_file: str = RULES) -> str:
    """``promtool test rules`` cases: per alert, healthy series that must not fire it and
    series just past its threshold that must."""
    lines = [f"rule_files: [{_q(rule_file)}]", f"evaluation_interval: {TEST_STEP}s", "tests:"]
    for alert in alerts:
        at = eval_minutes(alert)
        for firing in (False, True):
            what = "fires" if firing else "stays quiet"
            lines += [f"  - name: {_q(f'{alert.key} ({alert.service}) {what}')}",
                      f"    interval: {TEST_STEP}s", "    input_series:"]
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


def _alerts_test_yml(ctx: RenderContext, owner: Any) -> bytes:
    watch = _watch(ctx)
    if watch is None:
        return b""
    return _file(ctx, TESTS, render_tests(watch.alerts),
                 f"The alert rules' own tests: promtool test rules {TESTS}. Each "
                              "rule has a healthy series that must not fire it and one just "
                              "past its threshold that must.")


# -- the Grafana dashboard ---------------------------------------------------------------------

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_W, PANEL_H = 12, 8


def dashboard(watch: Watch, project: str) -> dict[str, Any]:
    """Grafana's dashboard JSON model (Dashboards → New → Import): one time series panel per
    ``Panel``, its compiled numbers drawn as threshold lines, on a Prometheus data source
    chosen at import (the ``datasource`` variable)."""
    panels = [_panel(i, p) for i, p in enumerate(watch.panels)]
    return {
        "title": f"{project} {watch.env} (perfcfg)",
        "uid": f"perfcfg-{project}-{watch.env}"[:40],
        "tags": ["perfcfg", project, watch.env],
        "timezone": "browser", "editable": True, "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION, "version": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource",
            "query": "prometheus", "hide": 0, "refresh": 1}]},
        "annotations": {"list": []},
        "panels": panels,
    }


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": "red", "value": value} for value, _ in sorted(panel.lines)]
    what = "; ".join(f"{label} = {value:g}" for value, label in panel.lines)
    return {
        "id": index + 1, "type": "timeseries", "title": panel.title,
        "description": f"Lines: {what}" if what else "",
        "datasource": DATASOURCE,
        "gridPos": {"h": PANEL_H, "w": PANEL_W, "x": (index % 2) * PANEL_W,
                    "y": (index // 2) * PANEL_H},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr,
                     "legendFormat": legend} for i, (expr, legend) in enumerate(panel.queries)],
        "fieldConfig": {"defaults": {
            "unit": panel.unit,
            "thresholds": {"mode": "absolute", "steps": steps},
            "custom": {"thresholdsStyle": {"mode": "line" if panel.lines else "off"}},
        }, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
    }


def _dashboard_json(ctx: RenderContext, owner: Any) -> bytes:
    watch = _watch(ctx)
    if watch is None or not ctx.layout:
        return b""
    project = (ctx.header.project if ctx.header is not None else "") or "perfcfg"
    return (json.dumps(dashboard(watch, project), indent=2, sort_keys=True, ensure_ascii=True)
            + "\n").encode("ascii")


def _reload(name: str) -> Callable[[bytes | None, bytes, Targets], Action]:
    # Prometheus rereads its config and rule files on SIGHUP: Debian's unit's ExecReload.
    return by_content(lambda targets: Action("reload", (name,), f"systemctl reload {PROMETHEUS}"))


_PLACED = lambda targets: Placement(PROMETHEUS_DIR, "root", "root")  # noqa: E731

OUTPUTS: tuple[Output, ...] = (
    Output(CONFIG, _prometheus_yml, when=_monitored, owner=(OWNER, PROMETHEUS), place=_PLACED,
           changed=_reload(CONFIG)),
    Output(RULES, _alerts_yml, when=_monitored, owner=(OWNER, PROMETHEUS), place=_PLACED,
           changed=_reload(RULES)),
    # the tests change with the rules: nothing to reload, run them before the reload
    Output(TESTS, _alerts_test_yml, when=_monitored, owner=(OWNER, PROMETHEUS), place=_PLACED,
           changed=by_content(lambda targets: Action("none"))),
    Output(DASHBOARD, _dashboard_json, header=False, when=_monitored, owner=(OWNER, "grafana"),
           apply=lambda plan: "import into Grafana: Dashboards > New > Import, with the "
                              "Prometheus that reads prometheus.yml as its data source",
           changed=by_content(lambda targets: Action("none", run=(DASHBOARD,)))),
)
