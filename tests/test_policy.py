"""Security policy (PCF4xx): every rule fails and passes, waivers, severity per environment kind,
and each dangerous setting flipped in the example's production preset."""

import re

import pytest
from helpers import compile_with, copy_example, run, span_of, write

from perfcfg.stages.policy import RULES

KINDS = ("development", "staging", "production")


@pytest.fixture
def kinds(project):
    """The ``project`` fixture with one environment of each kind, each reading
    presets/<kind>.yaml (what compile_with writes the overlay into)."""
    write(project / "perfcfg.yaml", "project: demo\nsecrets: {mode: placeholder}\nenvironments:\n"
          + "".join(f"  {k}: {{preset: presets/{k}.yaml, host: hosts/vm.yaml}}\n" for k in KINDS))
    for kind in KINDS:
        write(project / f"presets/{kind}.yaml", f"extends: [builtin:{kind}, base.yaml]\n")
    return project


def policy_diags(project, overlay, env="production"):
    result = compile_with(project, overlay, env, render=False)
    return [d for d in result.diagnostics if d.code.startswith("PCF4")]


REPLICA = "clients:\n  - {name: replica, user: rep, address: 10.0.0.0/24, replication: true}\n"
SUP_AUTH = "    username: admin\n    password: ${env:SUP_PASSWORD}\n"

# (rule, overlay that breaks it, setting path blamed, overlay that keeps it)
CASES = [
    ("PCF401", "users:\n  - name: app\n    password: hunter2\n", "users.app.password",
     "users:\n  - name: app\n    password: ${file:secrets/app}\n"),
    ("PCF401", "redis:\n  users:\n    - name: app\n      password: hunter2\n",
     "redis.users.app.password", "redis:\n  users:\n    - name: app\n      password: ${env:R}\n"),
    ("PCF401", "supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n"
               "    username: admin\n    password: hunter2\n",
     "supervisor.inet_http_server.password",
     "supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n" + SUP_AUTH),
    ("PCF401", "workload:\n  programs:\n    - name: worker\n      environment: {API_TOKEN: abc}\n",
     "workload.programs.worker.environment.API_TOKEN",
     "workload:\n  programs:\n    - name: worker\n      environment: {LOG_LEVEL: info}\n"),
    ("PCF402", "redis:\n  bind: [0.0.0.0]\n  users: [!unset app]\n", "redis.bind",
     "redis:\n  bind: [0.0.0.0]\n"),
    ("PCF402", "redis:\n  bind: !unset\n  users: [!unset app]\n", "redis.bind",
     "redis:\n  bind: !unset\n"),
    ("PCF403", "redis:\n  protected-mode: no\n", "redis.protected-mode",
     "redis:\n  protected-mode: yes\n"),
    ("PCF404", "redis:\n  users:\n    - name: cache\n      nopass: true\n",
     "redis.users.cache.nopass",
     "redis:\n  users:\n    - name: cache\n      nopass: true\n      enabled: false\n"),
    ("PCF404", "redis:\n  users: [!unset app]\n", "redis.users",
     "redis:\n  users:\n    - name: default\n      enabled: false\n"),
    ("PCF405", "supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n",
     "supervisor.inet_http_server.port",
     "supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n" + SUP_AUTH),
    ("PCF406", "supervisor:\n  inet_http_server:\n    port: '*:9001'\n" + SUP_AUTH,
     "supervisor.inet_http_server.port",
     "supervisor:\n  inet_http_server:\n    port: localhost:9001\n" + SUP_AUTH),
    ("PCF406", "supervisor:\n  inet_http_server:\n    port: '9001'\n" + SUP_AUTH,
     "supervisor.inet_http_server.port",
     "supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n" + SUP_AUTH),
    ("PCF407", "supervisor:\n  unix_http_server:\n    chmod: '0777'\n",
     "supervisor.unix_http_server.chmod", "supervisor:\n  unix_http_server:\n    chmod: '0700'\n"),
    ("PCF407", "supervisor:\n  unix_http_server:\n    chmod: '0770'\n",
     "supervisor.unix_http_server.chmod",
     "supervisor:\n  unix_http_server:\n    chmod: '0770'\n    chown: root:ops\n"),
    ("PCF408", "postgres:\n  listen_addresses: 10.0.0.5\n", "postgres.listen_addresses",
     "postgres:\n  listen_addresses: 10.0.0.5\n  ssl: on\n"),
    ("PCF409", "postgres:\n  listen_addresses: '*'\n  ssl: on\n", "postgres.listen_addresses",
     "postgres:\n  listen_addresses: 'localhost, 10.0.0.5'\n  ssl: on\n"),
    ("PCF410", "postgres:\n  fsync: off\n", "postgres.fsync", "postgres:\n  fsync: on\n"),
    ("PCF410", "postgres:\n  full_page_writes: off\n", "postgres.full_page_writes",
     "postgres:\n  synchronous_commit: off\n"),
    ("PCF411", "clients:\n  - {name: bi, user: bi, method: trust}\n", "clients.bi.method",
     "clients:\n  - {name: bi, user: bi, address: local, method: peer}\n"),
    ("PCF412", "clients:\n  - {name: bi, user: bi, method: md5}\n", "clients.bi.method",
     "clients:\n  - {name: bi, user: bi}\n"),
    ("PCF412", "clients:\n  - {name: bi, user: bi, method: password}\n", "clients.bi.method",
     "clients:\n  - {name: bi, user: bi, method: scram-sha-256}\n"),
    ("PCF412", "postgres:\n  password_encryption: md5\n", "postgres.password_encryption",
     "postgres:\n  password_encryption: scram-sha-256\n"),
    ("PCF413", "pgbouncer:\n  auth_type: trust\n", "pgbouncer.auth_type",
     "pgbouncer:\n  auth_type: scram-sha-256\n"),
    ("PCF413", "pgbouncer:\n  auth_type: any\n", "pgbouncer.auth_type", None),
    ("PCF413", "pgbouncer:\n  auth_type: plain\n", "pgbouncer.auth_type", None),
    ("PCF413", "pgbouncer:\n  auth_type: !unset\n", "pgbouncer.auth_type", None),
    ("PCF414", "pgbouncer:\n  listen_addr: '*'\n", "pgbouncer.listen_addr",
     "pgbouncer:\n  listen_addr: '*'\n  client_tls_sslmode: require\n"
     "  client_tls_cert_file: /etc/pgbouncer/tls.crt\n  client_tls_key_file: /etc/pgbouncer/tls.key\n"),
    ("PCF415", "pgbouncer:\n  admin_users: nobody\n", "pgbouncer.admin_users",
     "pgbouncer:\n  admin_users: app\n"),
    ("PCF415", "pgbouncer:\n  stats_users: app,monitor\n", "pgbouncer.stats_users",
     "users:\n  - {name: monitor, password: '${env:M}', stats: true}\n"),
    ("PCF417", "pgbouncer:\n  listen_addr: 10.0.0.5\n", "pgbouncer.listen_addr",
     "pgbouncer:\n  listen_addr: 10.0.0.5\n  client_tls_sslmode: require\n"
     "  client_tls_cert_file: /etc/pgbouncer/tls.crt\n  client_tls_key_file: /etc/pgbouncer/tls.key\n"),
    ("PCF418", "redis:\n  bind: [10.0.0.5, 127.0.0.1]\n", "redis.bind",
     "redis:\n  bind: [10.0.0.5, 127.0.0.1]\n  tls-port: 6380\n  port: 0\n"
     "  tls-cert-file: /etc/redis/tls.crt\n  tls-key-file: /etc/redis/tls.key\n"),
    ("PCF419", "redis:\n  enable-debug-command: yes\n", "redis.enable-debug-command",
     "redis:\n  enable-debug-command: local\n"),
    ("PCF419", "redis:\n  enable-module-command: 'yes'\n", "redis.enable-module-command",
     "redis:\n  enable-module-command: no\n"),
    ("PCF416", REPLICA, "clients.replica.address",
     REPLICA + "postgres:\n  listen_addresses: 10.0.0.5\n  ssl: on\n"),
    ("PCF422", "workload:\n  programs:\n    - name: worker\n      run_as: !unset\n",
     "workload.programs.worker.run_as",
     "workload:\n  programs:\n    - name: worker\n      run_as: !unset\n"
     "supervisor:\n  user: app\n"),
    ("PCF422", "workload:\n  programs:\n    - name: worker\n      run_as: root\n",
     "workload.programs.worker.run_as", None),
]


def _id(case):
    return f"{case[0]}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_rule_fails(kinds, case):
    code, bad, path, _ = case
    found = [(d.code, d.severity, d.path) for d in policy_diags(kinds, bad)]
    assert (code, RULES[code].severity["production"], path) in found, found


@pytest.mark.parametrize("case", [c for c in CASES if c[3] is not None], ids=_id)
def test_rule_passes(kinds, case):
    code, _, _, good = case
    found = [(d.code, d.path) for d in policy_diags(kinds, good)]
    assert all(c != code for c, _ in found), found


def test_every_rule_has_a_failing_case_and_a_passing_case():
    assert {c[0] for c in CASES} == set(RULES)
    assert {c[0] for c in CASES if c[3] is not None} == set(RULES)


def test_the_base_project_and_every_builtin_preset_pass_every_rule(kinds):
    for env in KINDS:
        assert policy_diags(kinds, None, env) == [], env


def test_diagnostic_points_at_the_setting_line_and_says_how_to_fix(kinds):
    [d] = policy_diags(kinds, "# a comment\nredis:\n  protected-mode: no\n")
    assert (d.span.file, d.span.line) == ("presets/production.yaml", 4)
    assert "protected-mode" in d.hint and "Why:" in d.hint


# -- severity per environment kind --------------------------------------------------------

@pytest.mark.parametrize("overlay, code, severities", [
    ("redis:\n  protected-mode: no\n", "PCF403", ("warning", "error", "error")),
    ("postgres:\n  fsync: off\n", "PCF410", (None, "error", "error")),
    ("postgres:\n  listen_addresses: 10.0.0.5\n", "PCF408", (None, "warning", "error")),
    ("redis:\n  bind: [0.0.0.0]\n  users: [!unset app]\n", "PCF402", ("error", "error", "error")),
    ("pgbouncer:\n  auth_type: md5\n", "PCF413", ("warning", "error", "error")),
], ids=lambda v: v if isinstance(v, str) and v.startswith("PCF") else None)
def test_severity_depends_on_the_environment_kind(kinds, overlay, code, severities):
    for kind, expected in zip(KINDS, severities, strict=True):
        found = [d.severity for d in policy_diags(kinds, overlay, kind) if d.code == code]
        assert found == ([expected] if expected else []), kind


def test_the_severity_table_covers_every_kind():
    for rule in RULES.values():
        assert set(rule.severity) == set(KINDS), rule.code
        assert rule.why and rule.fix and rule.title, rule.code


# -- waivers ------------------------------------------------------------------------------

WAIVED = "redis:\n  protected-mode: no\npolicy:\n  waivers:\n    - rule: PCF403\n" \
         "      reason: the box sits in an isolated lab VLAN\n"


def test_a_waiver_turns_the_error_into_a_warning_naming_it(kinds):
    result = compile_with(kinds, WAIVED, "production", render=False)
    assert result.ok
    [d] = [d for d in result.diagnostics if d.code == "PCF403"]
    assert d.severity == "warning"
    assert "waived by policy.waivers[0]: the box sits in an isolated lab VLAN" in d.message
    assert span_of(d.related[0]).line == 6


@pytest.mark.parametrize("env, unwaived, waived", [("production", "error", "warning"),
                                                   ("development", "warning", "info")])
def test_a_waiver_lowers_a_security_finding_one_severity_like_a_cross_service_one(
        kinds, env, unwaived, waived):
    # One waiver rule for PCF3xx and PCF4xx alike: error → warning, warning → info.
    plain = policy_diags(kinds, "redis:\n  protected-mode: no\n", env)
    assert [(d.code, d.severity) for d in plain] == [("PCF403", unwaived)]
    found = policy_diags(kinds, WAIVED, env)
    assert [(d.code, d.severity) for d in found] == [("PCF403", waived)]


def test_a_waiver_does_not_hide_other_rules(kinds):
    found = policy_diags(kinds, WAIVED.replace("redis:\n", "redis:\n  users: [!unset app]\n"))
    assert ("PCF404", "error") in [(d.code, d.severity) for d in found]


def test_an_unused_waiver_is_reported_as_info(kinds):
    found = policy_diags(kinds, WAIVED.replace("  protected-mode: no\n", "  port: 6380\n"))
    assert [(d.code, d.severity, d.span.line) for d in found] == [("PCF421", "info", 6)]


@pytest.mark.parametrize("waiver, code, path", [
    ("    - {rule: PCF499, reason: because}\n", "PCF420", "policy.waivers[0].rule"),
    ("    - {rule: PCF40, reason: because}\n", "PCF204", "policy.waivers[0].rule"),
    ("    - {rule: PCF403, reason: '  '}\n", "PCF204", "policy.waivers[0].reason"),
    ("    - {rule: PCF403}\n", "PCF203", "policy.waivers[0].reason"),
    ("    - {rule: PCF403, reason: ok, until: 2027}\n", "PCF201", "policy.waivers[0].until"),
    ("    - {rule: PCF403, reason: a}\n    - {rule: PCF403, reason: b}\n", "PCF420",
     "policy.waivers[1].rule"),
], ids=["unknown-rule", "bad-code", "empty-reason", "no-reason", "unknown-key", "twice"])
def test_an_invalid_waiver_is_an_error_at_its_line(kinds, waiver, code, path):
    result = compile_with(kinds, "policy:\n  waivers:\n" + waiver, "production", render=False)
    found = [(d.code, d.severity, d.path, span_of(d).line) for d in result.diagnostics
             if d.severity == "error"]
    assert found == [(code, "error", path, 3 + waiver.count("\n"))]
    # a waiver with a mistake waives nothing and is not reported again as matching nothing
    assert [d.path for d in result.diagnostics if d.code == "PCF421"] == \
        (["policy.waivers[0].rule"] if code == "PCF420" and "b}" in waiver else [])


def test_an_unknown_policy_key_is_an_error(kinds):
    result = compile_with(kinds, "policy:\n  waiver: []\n", "production", render=False)
    assert [(d.code, d.path) for d in result.diagnostics] == [("PCF201", "policy.waiver")]


# -- the example's production preset, one dangerous setting at a time ---------------------

# (rule, section, lines put at the top of that section, the line the diagnostic points at)
FLIPS = [
    ("PCF401", "users", ["  - name: bot", "    password: hunter2"], 2),
    ("PCF402", "redis", ["  bind: [0.0.0.0]", "  users: [{name: default, nopass: true}]"], 1),
    ("PCF403", "redis", ["  protected-mode: no"], 1),
    ("PCF404", "redis", ["  users: [{name: default, nopass: true}]"], 1),
    ("PCF405", "supervisor", ["  inet_http_server: {port: '127.0.0.1:9001'}"], 1),
    ("PCF406", "supervisor", ["  inet_http_server:", "    port: '0.0.0.0:9001'",
                              "    username: ops", "    password: ${env:SUP_PASSWORD}"], 2),
    ("PCF407", "supervisor", ["  unix_http_server: {chmod: '0777'}"], 1),
    ("PCF408", "postgres", ["  listen_addresses: 10.0.0.5"], 1),
    ("PCF409", "postgres", ["  listen_addresses: '*'", "  ssl: on"], 1),
    ("PCF410", "postgres", ["  fsync: off"], 1),
    ("PCF410", "postgres", ["  full_page_writes: off"], 1),
    ("PCF411", "clients", ["  - {name: bi, user: bi, method: trust}"], 1),
    ("PCF412", "clients", ["  - {name: bi, user: bi, method: md5}"], 1),
    ("PCF412", "postgres", ["  password_encryption: md5"], 1),
    ("PCF413", "pgbouncer", ["  auth_type: plain"], 1),
    ("PCF414", "pgbouncer", ["  listen_addr: '*'"], 1),
    ("PCF415", "pgbouncer", ["  admin_users: root"], 1),
    ("PCF417", "pgbouncer", ["  listen_addr: 10.1.2.3"], 1),
    ("PCF418", "redis", ["  bind: [10.1.2.3]"], 1),
    ("PCF419", "redis", ["  enable-protected-configs: yes"], 1),
]


def flip(preset, section, lines):
    """Put ``lines`` at the top of ``section`` (added at the end if absent); their first line."""
    text = preset.read_text().splitlines()
    header = f"{section}:"
    if header not in text:
        text.append(header)
    at = text.index(header) + 1
    text[at:at] = lines
    preset.write_text("\n".join(text) + "\n")
    return at + 1


@pytest.mark.parametrize("code, section, lines, blamed", FLIPS,
                         ids=[f"{f[0]}-{f[2][f[3] - 1].split(':')[0].strip(' -{')}" for f in FLIPS])
def test_flipping_a_dangerous_setting_in_production_fails_validate(tmp_path, code, section,
                                                                   lines, blamed, monkeypatch):
    root = copy_example(tmp_path, with_generated=False)
    monkeypatch.chdir(root)
    first = flip(root / "presets/production.yaml", section, lines)
    result = run("validate", "--project", str(root), "--env", "production")
    assert result.code == 1, result.err
    line = first + blamed - 1
    assert re.search(rf"error\[{code}\]:.*\n *--> presets/production\.yaml:{line}:", result.err), \
        result.err


def test_the_unmodified_example_production_passes(tmp_path):
    root = copy_example(tmp_path, with_generated=False)
    result = run("validate", "--project", str(root), "--env", "production")
    assert result.code == 0 and "PCF4" not in result.err, result.err


def test_the_readme_documents_every_rule_with_its_severities():
    from helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    for rule in RULES.values():
        sev = [rule.severity[k] or "–" for k in ("production", "staging", "development")]
        assert f"| `{rule.code}` | {rule.title} | {' | '.join(sev)} | {rule.why} | {rule.fix} |" \
            in readme, rule.code


def _waive_310(project, rule="PCF310"):
    return compile_with(
        project, "redis:\n  users:\n    - {name: app, password: \"${env:R}\", keys: [\"app:*\"]}\n"
        f"policy:\n  waivers:\n    - rule: {rule}\n      reason: asyncpg has statement_cache_size=0\n")


def test_a_cross_service_warning_can_be_waived_to_an_info(project):
    from helpers import write

    # PCF310 is pgbouncer 1.18's: 1.21 and later carry prepared statements
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace("project: demo\n",
                                                 "project: demo\ntargets: {pgbouncer: \"1.18\"}\n"))
    before = [d for d in compile_with(project).diagnostics if d.code == "PCF310"]
    assert [d.severity for d in before] == ["warning"]
    after = [d for d in _waive_310(project).diagnostics if d.code == "PCF310"]
    assert [d.severity for d in after] == ["info"]
    assert "waived by policy.waivers[0]: asyncpg" in after[0].message
    assert any(r.path == "policy.waivers[0]" and r.span for r in after[0].related)


def test_a_waiver_for_an_unknown_cross_service_code_is_refused(project):
    codes = [d.code for d in _waive_310(project, "PCF399").diagnostics]
    assert "PCF420" in codes


@pytest.mark.parametrize("overlay, says", [
    ("redis:\n  bind: [10.0.0.5, 127.0.0.1]\n", "bind 10.0.0.5 is beyond loopback and no "
     "tls-port is set"),
    ("redis:\n  bind: !unset\n", "no bind is set, so Redis listens on every interface and no "
     "tls-port is set"),
])
def test_pcf418_says_where_redis_listens_not_its_own_title_again(kinds, overlay, says):
    [found] = [d for d in policy_diags(kinds, overlay) if d.code == "PCF418"]
    title = "Redis beyond loopback without TLS: "
    assert found.message.startswith(title + says), found.message
    assert "beyond loopback without TLS" not in found.message[len(title):]
