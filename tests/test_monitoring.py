"""Alert rules from the plan: promtool accepts them and their own tests pass, a wrong threshold
fails those tests, thresholds follow the budget, every metric is in its exporter's catalog, the
preset's monitoring: section applies, and a live Prometheus fires a drift rule on a real cache."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import ROOT

from perfcfg.harness import procs
from perfcfg.monitoring import alerts, check, metrics, promtool
from perfcfg.monitoring.exporters import ExporterProcess
from perfcfg.monitoring.prometheus import Prometheus, config_text, scrape_config
from perfcfg.services.monitor import monitored
from perfcfg.services.postgres import monitoring as pg_monitoring
from perfcfg.services.redis import monitoring as redis_monitoring
from perfcfg.stages.pipeline import Request, compile_env

EXAMPLE = ROOT / "examples" / "botfarm"
ENVS = ("development", "staging", "production")


def need_promtool() -> None:
    if promtool.binary() is None:
        message = "promtool not installed (run .ci/install.sh)"
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def compiled(env: str, *sets: str, overlay: Path | None = None):
    project = overlay.parent if overlay is not None else EXAMPLE
    result = compile_env(Request(project, env, sets=sets, render=False, overlay=overlay))
    assert result.ok, result.diagnostics
    return result


def overlay_in_copy(tmp_path: Path, text: str) -> Path:
    """``text`` as an overlay file inside a copy of the example (overlays stay in a project)."""
    project = tmp_path / "botfarm"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("generated"))
    (project / "overlay.yaml").write_text(text)
    return project / "overlay.yaml"


def rules_of(env: str, *sets: str) -> list[alerts.Alert]:
    result = compiled(env, *sets)
    found, diags = alerts.collect(result.plan, result.config)
    assert diags == []
    return found


@pytest.mark.parametrize("env", ENVS)
def test_promtool_checks_the_rules_and_their_tests_pass(env):
    need_promtool()
    found = rules_of(env)
    text = alerts.render_rules(found, env)
    assert promtool.check_rules(text).ok, promtool.check_rules(text).output
    outcome = promtool.test_rules(text, alerts.render_tests(found, env))
    assert outcome.ok, outcome.output
    # every rule has a quiet and a firing case
    assert len(re.findall(r"^  - name: ", alerts.render_tests(found, env), re.M)) == 2 * len(found)


@pytest.mark.parametrize("alert, old, new", [
    ("PostgresConnectionsNearBudget", "> 20", "> 21"),        # a threshold one too high
    ("PgbouncerPoolSaturated", ">= 16", ">= 15"),             # a pool size one too low
    ("RedisMaxmemoryDrift", "!= 1560281088", "!= 1560281089"),  # a drift rule off by one
])
def test_a_wrong_threshold_fails_the_rule_tests(alert, old, new):
    need_promtool()
    found = rules_of("staging")
    text = alerts.render_rules(found, "staging")
    rule = next(a for a in found if a.name == alert)
    assert old in rule.expr
    wrong = text.replace(rule.expr.replace('"', '\\"'),
                         rule.expr.replace(old, new).replace('"', '\\"'))
    assert wrong != text
    outcome = promtool.test_rules(wrong, alerts.render_tests(found, "staging"))
    assert not outcome.ok and alert in outcome.output


def test_thresholds_follow_the_budget():
    base = {a.name: a for a in rules_of("production")}
    doubled = {a.name: a for a in rules_of("production", "databases.botfarm.pool_size=32")}
    pool = base["PgbouncerPoolSaturated"].expr
    size = int(re.search(r">= (\d+)$", pool).group(1))
    assert doubled["PgbouncerPoolSaturated"].expr == pool.replace(f">= {size}", ">= 32")
    assert doubled["PgbouncerPoolSizeDrift"].expr.endswith("!= 32")
    # a bigger pool raises max_connections, and the connection alert moves with it
    assert doubled["PostgresConnectionsNearBudget"].expr != base["PostgresConnectionsNearBudget"].expr
    assert "databases.botfarm.pool_size" in doubled["PgbouncerPoolSaturated"].comment


def test_the_cache_role_decides_what_an_eviction_means():
    cache = {a.name: a for a in rules_of("staging")}
    store = {a.name: a for a in rules_of("staging", "redis.role=store")}
    assert (cache["RedisEvictions"].severity, store["RedisEvictions"].severity) == (
        "info", "critical")
    assert 'maxmemory_policy!="noeviction"' in store["RedisMaxmemoryPolicyDrift"].expr


@pytest.mark.parametrize("env", ENVS)
def test_every_selected_metric_is_in_the_pinned_exporters_catalog(env):
    result = compiled(env)
    assert check.unknown_metrics(rules_of(env), result.config) == []


def test_a_metric_the_exporter_lacks_is_found():
    # postgres_exporter 0.11 has no backend_type label: the connection rule could not fire
    object.__setattr__(pg_monitoring.MONITOR, "exporter",
                       replace(pg_monitoring.EXPORTER, pinned="0.11"))
    try:
        result = compile_env(Request(EXAMPLE, "staging", render=False))
    finally:
        object.__setattr__(pg_monitoring.MONITOR, "exporter", pg_monitoring.EXPORTER)
    assert [(d.code, d.message) for d in result.diagnostics] == [(
        "PCF215", "an alert rule would never fire: PostgresConnectionsNearBudget: "
        "pg_stat_activity_count of postgres_exporter 0.11 has no label backend_type")]


def test_catalog_lookups_say_why():
    cat = metrics.load("postgres_exporter", "0.17")
    assert metrics.missing(cat, "pg_up", "postgresql-17") is None
    assert "no metric" in metrics.missing(cat, "pg_nonesuch", "postgresql-17")
    assert "only for postgresql-15, postgresql-16" in metrics.missing(
        cat, "pg_stat_bgwriter_checkpoints_timed_total", "postgresql-17")


def test_the_monitoring_section_sets_severity_and_for_and_waives(tmp_path):
    overlay = overlay_in_copy(
        tmp_path, "monitoring:\n  alerts:\n    PgbouncerClientsWaiting: {severity: critical, "
        "for: 30s}\n  waivers:\n    - alert: RedisEvictions\n"
        "      reason: the cache evicts by design\n")
    result = compiled("staging", overlay=overlay)
    found, diags = alerts.collect(result.plan, result.config)
    by_name = {a.name: a for a in found}
    assert diags == []
    assert (by_name["PgbouncerClientsWaiting"].severity,
            by_name["PgbouncerClientsWaiting"].for_) == ("critical", "30s")
    assert "RedisEvictions" not in by_name


@pytest.mark.parametrize("text, code", [
    ("monitoring:\n  waivers:\n    - alert: RedisEviction\n      reason: r\n", "PCF214"),
    ("monitoring:\n  alerts:\n    RedisDown: {for: 5 minutes}\n", "PCF204"),
    ("monitoring:\n  alerts:\n    RedisDown: {severity: page}\n", "PCF204"),
])
def test_a_wrong_monitoring_section_is_a_diagnostic(tmp_path, text, code):
    overlay = overlay_in_copy(tmp_path, text)
    result = compile_env(Request(overlay.parent, "staging", render=False, overlay=overlay))
    assert not result.ok
    assert [d.code for d in result.diagnostics if d.severity == "error"] == [code]


def test_monitoring_is_on_for_staging_and_production_by_default(tmp_path):
    assert [monitored(compiled(env).config) for env in ENVS] == [False, True, True]
    overlay = overlay_in_copy(tmp_path, "monitoring: {enabled: true}\n")
    assert monitored(compiled("development", overlay=overlay).config)


# -- a live Prometheus ---------------------------------------------------------------------------

@pytest.mark.daemons
def test_a_live_prometheus_fires_the_drift_rule_and_nothing_else(tmp_path):
    """The cache as staging compiles it, the pinned redis_exporter and a real Prometheus with
    staging's Redis rules (for: shortened): at rest the target is up and nothing fires; a hand
    CONFIG SET maxmemory fires RedisMaxmemoryDrift and nothing else; nothing is left running."""
    need_promtool()
    from conftest import require_daemon

    from perfcfg.services.redis.daemon import ValkeyServer

    require_daemon("valkey", "8.1")
    program = redis_monitoring.EXPORTER.binary(redis_monitoring.EXPORTER.pinned)
    if program is None:
        pytest.fail("redis_exporter is not installed (run .ci/install.sh)")
    result = compiled("staging")
    plan = result.plan
    rules = [replace(a, for_="0m") for a in rules_of("staging") if a.service == "redis"]
    conf = (f"maxmemory {plan.value('redis.maxmemory')}\n"
            f"maxmemory-policy {plan.value('redis.maxmemory-policy')}\n"
            f"maxclients {plan.value('redis.maxclients')}\n")
    started: list[int] = []
    with ValkeyServer(conf) as cache:
        command = redis_monitoring.Command(
            ("-web.listen-address", "{listen}", "-redis.addr", f"redis://127.0.0.1:{cache.port}"))
        with ExporterProcess(program, command) as exporter:
            job = scrape_config("staging-redis", [f"127.0.0.1:{exporter.port}"], interval="1s")
            text = config_text([job], ["alerts.yml"], interval="1s")
            with Prometheus(text, {"alerts.yml": alerts.render_rules(rules, "staging")}) as prom:
                started += [cache.proc.pid, exporter.proc.pid, prom.proc.pid]
                prom.wait(lambda: [t for t in prom.targets() if t["health"] == "up"], 30,
                          "the exporter's target up")
                # a few evaluations at rest: nothing fires
                prom.wait(lambda: _evaluated(prom), 30, "a rule evaluation")
                assert prom.alerts(state=None) == []
                with cache.client() as c:
                    c.config_set("maxmemory", str(int(plan.value("redis.maxmemory")) // 2))
                firing = prom.wait(lambda: prom.alerts(), 60, "an alert firing")
                assert {a["labels"]["alertname"] for a in firing} == {"RedisMaxmemoryDrift"}
            assert not os.path.exists(prom.dir)
    assert not [pid for pid in started if procs.alive(pid)]


def _evaluated(prom: Prometheus) -> bool:
    groups = prom.api("rules")["groups"]
    return bool(groups) and all(g.get("lastEvaluation", "").startswith("2") and
                                g["lastEvaluation"] > "2001" for g in groups) and \
        _scraped(prom)


def _scraped(prom: Prometheus) -> bool:
    with urllib.request.urlopen(f"{prom.url}/api/v1/query?query=redis_up", timeout=5) as r:
        return b'"1"' in r.read()
