"""Monitoring from the plan: promtool accepts the alert rules and their own tests pass, a wrong
threshold fails those tests, thresholds follow the budget, every metric is in its exporter's
catalog, the preset's monitoring: section applies; build writes the monitoring files (the
exporters' /etc/default files, prometheus.yml, alerts.yml and its tests, a Grafana dashboard
read back through Grafana's own model), explain answers each rule, and verify --monitoring
proves every alert on the real stack."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, group, run

from perfcfg.core.encoding import EncodeError
from perfcfg.monitoring import alerts, check, metrics, promtool
from perfcfg.services.monitor import Alert, Command, monitored
from perfcfg.services.monitor_files import (
    default_file,
    parse_default_file,
    render_rules,
    render_tests,
)
from perfcfg.services.postgres import monitoring as pg_monitoring
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.verify.monitoring import Drilled

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


def rules_of(env: str, *sets: str) -> list[Alert]:
    result = compiled(env, *sets)
    found, diags = alerts.collect(result.plan, result.config)
    assert diags == []
    return found


@pytest.mark.parametrize("env", ENVS)
def test_promtool_checks_the_rules_and_their_tests_pass(env):
    need_promtool()
    found = rules_of(env)
    text = render_rules(found, env)
    assert promtool.check_rules(text).ok, promtool.check_rules(text).output
    outcome = promtool.test_rules(text, render_tests(found))
    assert outcome.ok, outcome.output
    # every rule has a quiet and a firing case
    assert len(re.findall(r"^  - name: ", render_tests(found), re.M)) == 2 * len(found)


@pytest.mark.parametrize("env", ("staging", "production"))
def test_the_committed_rule_files_pass_promtool(env):
    """What build wrote for the example's monitored environments: promtool checks alerts.yml
    (lint warnings fatal) and every case of alerts.test.yml passes, from the files as they are."""
    need_promtool()
    out = EXAMPLE / "generated" / env
    rules, tests = (out / "alerts.yml").read_text(), (out / "alerts.test.yml").read_text()
    assert promtool.check_rules(rules).ok
    outcome = promtool.test_rules(rules, tests)
    assert outcome.ok, outcome.output


def test_validate_hands_the_rules_to_promtool_and_reports_what_it_rejects(monkeypatch):
    """validate runs the real promtool on the compiled rules: a rule it cannot parse (planted
    in the rendered text) is an error naming promtool's words, and the exit code is 1."""
    need_promtool()

    def broken(found: list[Alert], env: str) -> str:
        text = render_rules(found, env)
        assert '"pg_up{' in text
        return text.replace('"pg_up{', '"pg_up{{', 1)

    assert run("validate", "--project", str(EXAMPLE), "--env", "staging").code == 0
    monkeypatch.setattr(check, "render_rules", broken)
    result = run("validate", "--project", str(EXAMPLE), "--env", "staging")
    assert result.code == 1
    assert "error[PCF215]: promtool check rules rejects the alert rules" in result.err
    assert "unexpected left brace" in result.err


def test_validate_without_promtool_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(promtool, "binary", lambda: None)
    result = run("validate", "--project", str(EXAMPLE), "--env", "production")
    assert result.code == 0
    assert "info[PCF216]: alert rules not checked: promtool is not installed" in result.err
    assert "apt-get install prometheus" in result.err
    # an environment that is not monitored has no rules to check
    assert "PCF216" not in run("validate", "--project", str(EXAMPLE), "--env",
                               "development").err


@pytest.mark.parametrize("alert, old, new", [
    ("PostgresConnectionsNearBudget", "> 32", "> 33"),        # a threshold one too high
    ("PgbouncerPoolSaturated", ">= 16", ">= 15"),             # a pool size one too low
    ("RedisMaxmemoryDrift", "!= 1379926016", "!= 1379926017"),  # a drift rule off by one
])
def test_a_wrong_threshold_fails_the_rule_tests(alert, old, new):
    need_promtool()
    found = rules_of("staging")
    text = render_rules(found, "staging")
    rule = next(a for a in found if a.name == alert)
    assert old in rule.expr
    wrong = text.replace(rule.expr.replace('"', '\\"'),
                         rule.expr.replace(old, new).replace('"', '\\"'))
    assert wrong != text
    outcome = promtool.test_rules(wrong, render_tests(found))
    assert not outcome.ok and alert in outcome.output


def test_thresholds_follow_the_budget():
    base = {a.name: a for a in rules_of("production")}
    # beyond the headroom's server connections (within them the budget stays as it is)
    doubled = {a.name: a for a in rules_of("production", "databases.botfarm.pool_size=32",
                                           "workload.headroom.server_connections=120")}
    pool = base["PgbouncerPoolSaturated"].expr
    size = int(group(re.search(r">= (\d+)$", pool)))
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


@pytest.mark.parametrize("version, code, line", [
    ("0.11", "PCF215", "an alert rule would never fire: PostgresConnectionsNearBudget: "
     "pg_stat_activity_count of postgres_exporter 0.11 has no label backend_type"),
    ("0.9", "PCF207", "perfcfg has no metric catalog for postgres_exporter 0.9"),
], ids=["lacks-a-label", "no-catalog"])
def test_the_exporter_a_project_targets_is_checked(tmp_path, version, code, line):
    # postgres_exporter 0.11 (Debian 12's) has no backend_type label: the connection rule
    # could not fire; 0.9 has no catalog at all. Both point at the targets line.
    project = tmp_path / "botfarm"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("generated"))
    text = (project / "perfcfg.yaml").read_text()
    (project / "perfcfg.yaml").write_text(text.replace(
        '  supervisor: "4.3"\n', f'  supervisor: "4.3"\n  postgres_exporter: "{version}"\n', 1))
    result = compile_env(Request(project, "staging", render=False))
    assert [(d.code, d.message, d.path) for d in result.diagnostics] == [
        (code, line, "targets.postgres_exporter")]
    assert result.diagnostics[0].span is not None


def test_catalog_lookups_say_why():
    cat = metrics.load("postgres_exporter", "0.17")
    assert cat is not None
    assert metrics.missing(cat, "pg_up", "postgresql-17") is None
    assert "no metric" in str(metrics.missing(cat, "pg_nonesuch", "postgresql-17"))
    assert "only for postgresql-15, postgresql-16" in str(metrics.missing(
        cat, "pg_stat_bgwriter_checkpoints_timed_total", "postgresql-17"))


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


# -- the monitoring files as build writes them ---------------------------------------------------

MONITORING_FILES = {"prometheus.yml", "alerts.yml", "alerts.test.yml", "grafana-dashboard.json",
                    "prometheus-postgres-exporter", "prometheus-pgbouncer-exporter",
                    "prometheus-redis-exporter", "prometheus-node-exporter"}


def built(tmp_path, env: str, *sets: str) -> dict[str, str]:
    out = tmp_path / "-".join([env, *sets]).replace("=", "_")
    args = [a for s in sets for a in ("--set", s)]
    result = run("build", "--env", env, "--project", str(EXAMPLE), "--out", str(out), *args)
    assert result.code == 0, result.err
    return {p.name: p.read_text() for p in out.iterdir()}


def test_build_writes_the_monitoring_files_and_a_doubled_pool_moves_its_alert(tmp_path):
    files = built(tmp_path, "production")
    assert set(files) >= MONITORING_FILES
    size = int(group(re.search(r"pool_size=(\d+)", files["pgbouncer.ini"])))
    doubled = built(tmp_path, "production", f"databases.botfarm.pool_size={2 * size}")
    rule = 'pgbouncer_pools_server_active_connections{job=\\"production-pgbouncer\\",' \
           'database=\\"botfarm\\"} >= '
    assert rule + str(size) in files["alerts.yml"]
    assert rule + str(2 * size) not in files["alerts.yml"]
    assert rule + str(2 * size) in doubled["alerts.yml"]
    assert f"# {2 * size} = pgbouncer.databases.botfarm.pool_size" in doubled["alerts.yml"]
    # its test, the drift rule, the dashboard's line and max_connections' alert follow
    assert f'"{2 * size}x' in doubled["alerts.test.yml"]
    assert f"!= {2 * size}" in doubled["alerts.yml"]
    assert f'"value": {2 * size}' in doubled["grafana-dashboard.json"]
    old_max = int(group(re.search(r"^max_connections = (\d+)", files["postgresql.conf"], re.M)))
    new_max = int(group(re.search(r"^max_connections = (\d+)", doubled["postgresql.conf"], re.M)))
    assert new_max > old_max
    assert f"> {pg_monitoring.share_of(new_max)}" in doubled["alerts.yml"]


def test_an_environment_not_monitored_gets_none_of_them(tmp_path):
    assert not MONITORING_FILES & set(built(tmp_path, "development"))


def test_the_manifest_places_them_and_the_actions_name_their_units(tmp_path):
    files = built(tmp_path, "staging")
    manifest = json.loads(files["manifest.json"])["files"]
    assert manifest["prometheus.yml"]["destination"] == "/etc/prometheus/prometheus.yml"
    assert manifest["prometheus-redis-exporter"]["destination"] == \
        "/etc/default/prometheus-redis-exporter"
    assert manifest["grafana-dashboard.json"]["destination"] is None
    assert {manifest[n]["service"] for n in MONITORING_FILES} == {"monitoring"}
    result = run("build", "--env", "staging", "--project", str(EXAMPLE), "--out",
                 str(tmp_path / "staging"), "--set", "databases.botfarm.pool_size=20")
    assert "staging: prometheus: reload (alerts.yml), on the host: systemctl reload " \
           "prometheus" in result.err, result.err
    assert "staging: prometheus-postgres-exporter: none" in result.err


@pytest.mark.parametrize("env, args", [
    ({"DATA_SOURCE_NAME": "user=prometheus host=/run/postgresql dbname=postgres"},
     ("--web.listen-address=127.0.0.1:9187",)),
    ({}, ("-redis.addr=redis://[::1]:6379", "-redis.user=prometheus")),
], ids=["postgres", "redis"])
def test_an_exporter_file_reads_back_as_written(env, args):
    assert parse_default_file(default_file(env, args)) == Command(args, env)


@pytest.mark.parametrize("env, args", [
    ({"DATA_SOURCE_NAME": "password='x'"}, ()),
    ({"X": "a\nARGS=--evil"}, ()),
    ({}, ("--collector.supervisord.url=unix:///run/super visor.sock",)),
    ({"X": "$(reboot)"}, ()),
], ids=["quote", "newline", "space-in-arg", "dollar"])
def test_an_exporter_file_refuses_what_it_cannot_write(env, args):
    with pytest.raises(EncodeError):
        default_file(env, args)


def test_the_dashboard_is_grafanas_own_json_model():
    """Read back through grafana-foundation-sdk, the types Grafana generates from its
    dashboard schema (with the panel plugins' options): every key perfcfg writes survives, so
    each is one Grafana's model has; a planted unknown key does not, so the check can fail."""
    from grafana_foundation_sdk.cog import plugins
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    plugins.register_default_plugins()

    def lost(ours, theirs, path=""):
        if isinstance(ours, dict):
            return [p for k, v in ours.items() for p in (
                [f"{path}.{k}"] if k not in theirs else lost(v, theirs[k], f"{path}.{k}"))]
        if isinstance(ours, list):
            return [p for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                    for p in lost(a, b, f"{path}[{i}]")]
        return [] if ours == theirs else [f"{path}: {ours!r} read as {theirs!r}"]

    for env in ("staging", "production"):
        ours = json.loads((EXAMPLE / "generated" / env / "grafana-dashboard.json").read_text())
        theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
        assert lost(ours, theirs) == []
        assert {p["type"] for p in ours["panels"]} == {"timeseries"} and len(ours["panels"]) >= 6
        ours["panels"][0]["fieldConfig"]["defaults"]["custom"]["lineStyle"] = {"nosuch": 1}
        ours["panels"][0]["nosuch"] = 1
        theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
        assert ".panels[0].nosuch" in lost(ours, theirs)


def test_the_dashboard_draws_the_compiled_numbers():
    result = compiled("staging")
    board = json.loads((EXAMPLE / "generated/staging/grafana-dashboard.json").read_text())
    lines = {step["value"] for p in board["panels"]
             for step in p["fieldConfig"]["defaults"]["thresholds"]["steps"]}
    assert {int(result.plan.value("postgres.max_connections")),
            int(result.plan.value("redis.maxmemory")),
            int(result.plan.value("pgbouncer.max_client_conn"))} <= lines


@pytest.mark.parametrize("env", ("staging", "production"))
def test_explain_answers_each_rule_with_the_settings_its_numbers_come_from(env):
    watch = compiled(env).plan.monitoring
    for key, alert in watch.keyed().items():
        result = run("explain", "--env", env, "--project", str(EXAMPLE),
                     f"monitoring.alerts.{key}", "--format", "json")
        assert result.code == 0, (key, result.err)
        found = json.loads(result.out)["alert"]
        assert found["name"] == alert.name and found["severity"] == alert.severity
        assert [s["path"] for s in found["sources"]] == list(alert.sources)
        if alert.kind in ("threshold", "drift"):
            # the compiled value the rule compares with is in its comment, with the settings
            # it comes from; explain shows them
            literal = re.findall(r'(\d+)$|!="([^"]+)"', alert.expr)
            # (any eviction at all is no compiled number: RedisEvictions is the role's rule)
            compared = [c for c in [a or b for a, b in literal][-1:] if c != "0"]
            assert alert.sources and all(c in alert.comment for c in compared), key
    text = run("explain", "--env", env, "--project", str(EXAMPLE),
               "monitoring.alerts.PgbouncerPoolSaturated").out
    assert "pgbouncer.databases.botfarm.pool_size = " in text and "tuned by rule" in text


def test_a_redis_acl_without_the_exporters_user_is_a_warning(tmp_path):
    project = tmp_path / "botfarm"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("generated"))
    staging = project / "presets/staging.yaml"
    staging.write_text(staging.read_text().replace(", monitored.yaml]", "]"))
    result = run("validate", "--project", str(project), "--env", "staging")
    assert result.code == 0 and "warning[PCF217]" in result.err
    assert "redis.users" in result.err and "name: prometheus" in result.err
    assert "warning[PCF217]" not in run("validate", "--project", str(EXAMPLE)).err


# -- the proof against the real stack ------------------------------------------------------------

def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # the command name in parentheses may hold spaces: the fields follow its last ")"
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _descends_from_us(pid: int) -> bool:
    """Started by this test process (verify runs in it): another session's verify, running at
    the same time on a shared machine, starts exporters of its own that are not ours to
    count."""
    me, seen = os.getpid(), set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        pid = _parent(pid)
        if pid == me:
            return True
    return False


def _ours() -> set[int]:
    """Running exporters and Prometheus servers this test process started from a scratch
    dir of perfcfg's."""
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        if argv and (b"exporter" in argv[0] or argv[0].endswith(b"prometheus")) and \
                any(b"/tmp/pf-" in a for a in argv) and _descends_from_us(int(pid)):
            found.add(int(pid))
    return found


def _scratch() -> set[str]:
    return {p for prefix in ("pf-exp-", "pf-prm-") for p in glob.glob(f"/tmp/{prefix}*")}


@pytest.mark.daemons
def test_verify_monitoring_proves_every_alert_on_the_real_stack():
    """perfcfg verify --monitoring on staging with a store (a queue that must not evict): the
    daemons from the compiled files, each pinned exporter from its compiled /etc/default file,
    a real Prometheus with the compiled prometheus.yml and alerts.yml; every target up, no
    alert at rest, each drill fires exactly its alerts; nothing of it is left running."""
    need_promtool()
    from conftest import require_daemon

    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("valkey", "8.1"),
                            ("supervisor", "4.3")):
        require_daemon(daemon, version)
    before_procs, before_dirs = _ours(), _scratch()
    result = run("verify", "--env", "staging", "--project", str(EXAMPLE), "--monitoring",
                 "--set", "redis.role=store", "--format", "json")
    assert result.code == 0, result.err
    proof = json.loads(result.out)["monitoring"]
    assert proof["ok"] and proof["at_rest"] == [] and proof["skipped"] == []
    assert set(proof["targets"].values()) == {"up"} and len(proof["targets"]) == 4
    assert {d["drill"]: sorted(d["fired"]) for d in proof["drills"]} == {
        "ALTER SYSTEM SET max_connections + restart": ["PostgresMaxConnectionsDrift"],
        "clients fill a pool until they wait": ["PgbouncerClientsWaiting",
                                                "PgbouncerPoolSaturated"],
        "CONFIG SET maxmemory": ["RedisMaxmemoryDrift"],
        "a noeviction queue filled past its alert": ["RedisMemoryNearMax"],
        "supervisorctl stop of a program": ["WorkersNotRunning"],
    }
    assert _ours() - before_procs == set() and _scratch() - before_dirs == set()
    # the README's Monitoring section shows this run: its table says what fired
    readme = (ROOT / "README.md").read_text().split(f"{README_PROOF}\n", 1)[1]
    rows = [line.split(" | ") for line in readme.split("\n\n", 1)[0].splitlines()[2:]]
    assert {r[0].strip(): sorted(r[2].strip().split(", ")) for r in rows} == {
        d["drill"]: sorted(d["fired"]) for d in proof["drills"]}


README_PROOF = ("$ perfcfg verify --env staging --project examples/botfarm --monitoring "
                "--set redis.role=store")


def test_the_readme_explains_a_rule_with_the_real_output():
    command = ("$ perfcfg explain --env staging --project examples/botfarm "
               "monitoring.alerts.PgbouncerPoolSaturated")
    shown = (ROOT / "README.md").read_text().split(f"{command}\n", 1)[1].split("```", 1)[0]
    result = run("explain", "--env", "staging", "--project", str(EXAMPLE),
                 "monitoring.alerts.PgbouncerPoolSaturated")
    assert result.code == 0 and result.out == shown


def test_a_drill_that_fires_another_alert_fails():
    assert not Drilled("x", ("RedisMaxmemoryDrift",), ("RedisDown", "RedisMaxmemoryDrift")).ok
    assert not Drilled("x", ("RedisMaxmemoryDrift",), ()).ok


def test_verify_monitoring_needs_a_monitored_environment():
    result = run("verify", "--env", "development", "--project", str(EXAMPLE), "--monitoring")
    assert result.code == 2 and "is not monitored" in result.err


@pytest.mark.parametrize("bind, address", [
    ('["127.0.0.1 -::1"]', "redis://127.0.0.1:6379"),      # one entry, two addresses
    ('["localhost -::1"]', "redis://localhost:6379"),
    ('["-::1", "10.0.0.5"]', "redis://[::1]:6379"),          # IPv6 in brackets
    ('["*", "-::*"]', "redis://127.0.0.1:6379"),             # every address: loopback is one
], ids=["one-entry", "host-name", "ipv6", "any"])
def test_the_redis_exporter_reaches_any_bind_redis_accepts(bind, address):
    result = compile_env(Request(EXAMPLE, "staging", sets=(f"redis.bind={bind}",)))
    assert result.ok, [d.message for d in result.diagnostics if d.severity == "error"]
    command = parse_default_file(result.files["prometheus-redis-exporter"].decode())
    assert f"-redis.addr={address}" in command.args
