"""The limits' files (issue 14, item 7): systemd drop-ins and a sysctl.d file, written when
perfcfg.yaml asks for them, each value from the budget the daemons' own files are sized from,
explained, placed by the manifest and with the action a change needs."""

from __future__ import annotations

import json
import re

import pytest
from helpers import EXAMPLE, copy_example, run, write

from perfcfg.cli.explain import explain
from perfcfg.stages.pipeline import Request, compile_env

DROPINS = ("systemd-postgresql.conf", "systemd-pgbouncer.conf", "systemd-valkey.conf",
           "systemd-supervisor.conf")


def _compile(project, env="production", *sets: str):
    result = compile_env(Request(project, env, sets=sets))
    assert result.ok, result.diagnostics
    return result


@pytest.fixture(scope="module")
def production():
    return _compile(EXAMPLE)


def values(data: bytes, sep: str) -> dict[str, str]:
    """``key<sep>value`` lines, each checked to follow its ``# reason [rule.id]`` comment."""
    lines = data.decode().splitlines()
    out = {}
    for i, line in enumerate(lines):
        if line and not line.startswith(("#", "[")):
            key, value = line.split(sep, 1)
            assert re.match(r"# .+ \[[a-z]+(\.[a-z_]+)+\]$", lines[i - 1]), lines[i - 1]
            out[key.strip()] = value.strip()
    return out


def limits(data: bytes) -> dict[str, str]:
    """A drop-in's Limit*= lines (its memory lines are tests/test_enforce.py's)."""
    return {k: v for k, v in values(data, "=").items() if k.startswith("Limit")}


def test_only_an_environment_that_asks_gets_the_limits_files():
    for env in ("development", "staging"):
        names = set(_compile(EXAMPLE, env).files)
        assert not {n for n in names if n.startswith(("systemd-", "sysctl"))}
    assert {*DROPINS, "sysctl.conf"} <= set(_compile(EXAMPLE).files)


def test_the_environment_choice_wins_over_the_projects(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    text = (project / "perfcfg.yaml").read_text()
    text = text.replace("      limits: true\n", "      limits: false\n")
    write(project / "perfcfg.yaml", text + "deploy:\n  limits: true\n")
    assert "sysctl.conf" not in _compile(project).files
    assert "sysctl.conf" in _compile(project, "staging").files


def test_each_dropin_value_is_the_budget_its_daemon_is_sized_from(production):
    plan, files = production.plan, production.files
    # never below Debian's valkey-server unit's own LimitNOFILE=65535; the ACL file's
    # directory stays writable under its ProtectSystem=strict
    assert limits(files["systemd-valkey.conf"]) == {
        "LimitNOFILE": str(max(65535, plan.value("budget.redis_fds")))}
    assert values(files["systemd-valkey.conf"], "=")["ReadWritePaths"] == "-/etc/valkey"
    assert plan.value("budget.redis_fds") == plan.value("redis.maxclients") + 32
    assert limits(files["systemd-pgbouncer.conf"]) == {
        "LimitNOFILE": str(max(1024, plan.value("budget.pgbouncer_fds")))}
    assert limits(files["systemd-supervisor.conf"]) == {
        "LimitNOFILE": str(plan.value("supervisor.minfds")),
        "LimitNPROC": str(plan.value("supervisor.minprocs"))}
    assert limits(files["systemd-postgresql.conf"]) == {"LimitNOFILE": "1064"}


def test_a_bigger_workload_raises_the_limits_with_its_budget():
    result = _compile(EXAMPLE, "production", "workload.programs.notifier.processes=300",
                      "workload.programs.notifier.db_connections=4",
                      "workload.programs.notifier.redis_connections=120",
                      "postgres.max_files_per_process=4000")
    plan = result.plan
    pgb, rds = plan.value("budget.pgbouncer_fds"), plan.value("budget.redis_fds")
    assert pgb > 1024 and rds > 65535
    assert limits(result.files["systemd-pgbouncer.conf"]) == {"LimitNOFILE": str(pgb)}
    assert limits(result.files["systemd-valkey.conf"]) == {"LimitNOFILE": str(rds)}
    assert limits(result.files["systemd-postgresql.conf"]) == {"LimitNOFILE": "4064"}
    assert limits(result.files["systemd-supervisor.conf"])["LimitNPROC"] == \
        str(plan.value("supervisor.minprocs"))


def test_sysctl_covers_every_backlog_and_the_huge_pages_asked_for(production):
    plan = production.plan
    got = values(production.files["sysctl.conf"], " = ")
    assert got == {"net.core.somaxconn": "4096",
                   "vm.nr_hugepages": str(plan.value("budget.nr_hugepages")),
                   "vm.swappiness": "1"}   # tests/test_kernel.py's
    assert plan.value("postgres.huge_pages") == "try"
    # 2MiB pages hold all of shared_buffers and wal_buffers
    assert int(got["vm.nr_hugepages"]) * 2 << 20 > \
        plan.value("postgres.shared_buffers") + plan.value("postgres.wal_buffers")


def test_a_larger_backlog_raises_somaxconn_and_no_huge_pages_drop_the_reservation():
    result = _compile(EXAMPLE, "production", "pgbouncer.listen_backlog=6000",
                      "redis.tcp-backlog=5000", "postgres.huge_pages=off")
    got = values(result.files["sysctl.conf"], " = ")
    assert got == {"net.core.somaxconn": "6000", "vm.swappiness": "1"}
    why = explain(result, "sysctl.net.core.somaxconn")
    assert why is not None
    assert why["rule"] == "host.sysctl.somaxconn" and "6000" in why["reason"]
    assert why["inputs"]["redis.tcp-backlog"] == 5000


@pytest.mark.parametrize("sets", [("redis.role=store",), ("redis.appendonly=true",),
                                  ('redis.save=["900 1"]',)])
def test_a_persisting_cache_daemon_gets_overcommit(sets):
    result = _compile(EXAMPLE, "production", *sets)
    assert values(result.files["sysctl.conf"], " = ")["vm.overcommit_memory"] == "1"
    why = explain(result, "sysctl.vm.overcommit_memory")
    assert why is not None
    assert why["rule"] == "host.sysctl.overcommit_memory" and "fork" in why["reason"]


def test_a_cache_that_never_persists_leaves_overcommit_alone(production):
    assert "vm.overcommit_memory" not in values(production.files["sysctl.conf"], " = ")
    assert "sysctl.vm.overcommit_memory" not in production.plan.settings


@pytest.mark.parametrize("path, rule", [
    ("systemd.postgres.LimitNOFILE", "pg.limits.nofile"),
    ("systemd.pgbouncer.LimitNOFILE", "pgbouncer.limits.nofile"),
    ("systemd.redis.LimitNOFILE", "redis.limits.nofile"),
    ("systemd.supervisor.LimitNOFILE", "supervisor.limits.nofile"),
    ("systemd.supervisor.LimitNPROC", "supervisor.limits.nproc"),
    ("sysctl.net.core.somaxconn", "host.sysctl.somaxconn"),
    ("sysctl.vm.nr_hugepages", "host.sysctl.nr_hugepages.wanted")])   # huge_pages = try
def test_explain_answers_every_limit(production, path, rule):
    why = explain(production, path)
    assert why is not None
    assert why["rule"] == rule and why["formula"] and why["inputs"]
    assert why["value"] == production.plan.value(path)
    result = run("explain", "--env", "production", "--project", str(EXAMPLE), path)
    assert result.code == 0 and f"tuned by rule {rule}" in result.out


def test_the_manifest_places_them_where_systemd_and_sysctl_read_them(production):
    files = json.loads(production.files["manifest.json"])["files"]
    where = {name: (e["destination"], e["owner"], e["mode"], e["service"])
             for name, e in files.items() if name in (*DROPINS, "sysctl.conf")}
    assert where == {
        "systemd-postgresql.conf": (
            "/etc/systemd/system/postgresql@17-main.service.d/perfcfg.conf", "root", "0644",
            "postgres"),
        "systemd-pgbouncer.conf": (
            "/etc/systemd/system/pgbouncer.service.d/perfcfg.conf", "root", "0644", "pgbouncer"),
        "systemd-valkey.conf": (
            "/etc/systemd/system/valkey-server.service.d/perfcfg.conf", "root", "0644", "redis"),
        "systemd-supervisor.conf": (
            "/etc/systemd/system/supervisor.service.d/perfcfg.conf", "root", "0644",
            "supervisor"),
        "sysctl.conf": ("/etc/sysctl.d/60-perfcfg.conf", "root", "0644", "host")}


def test_a_redis_target_gets_redis_servers_dropin(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace('  valkey: "8.1"\n', '  redis: "7.0"\n'))
    result = _compile(project)
    assert "systemd-redis.conf" in result.files and "systemd-valkey.conf" not in result.files
    entry = json.loads(result.files["manifest.json"])["files"]["systemd-redis.conf"]
    assert entry["destination"] == "/etc/systemd/system/redis-server.service.d/perfcfg.conf"


def _build_json(project, *extra):
    result = run("build", "--env", "production", "--project", str(project), "--format", "json",
                 *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)["actions"]


def test_a_changed_limit_needs_daemon_reload_and_a_restart_of_that_unit_only(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    first = _build_json(project)
    assert first["host"] == {
        "action": "reload", "because": ["sysctl.conf (new)", "tmpfiles.conf (new)"],
        "how": "sysctl --system && systemd-tmpfiles --create /etc/tmpfiles.d/perfcfg.conf"}
    assert _build_json(project)["host"]["action"] == "none"
    found = _build_json(project, "--set", "postgres.max_files_per_process=2000")
    assert found["postgres"] == {
        "action": "restart", "because": ["systemd-postgresql.conf LimitNOFILE",
                                        "max_files_per_process (new)"],
        "how": "systemctl daemon-reload && systemctl restart postgresql@17-main"}
    assert found["pgbouncer"]["action"] == found["host"]["action"] == "none"
    found = _build_json(project, "--set", "redis.tcp-backlog=8000")
    # somaxconn follows the backlog
    assert found["host"] == {"action": "reload", "because": ["sysctl.conf net.core.somaxconn"],
                             "how": "sysctl --system"}
    assert found["redis"]["because"] == ["tcp-backlog"]
    assert found["pgbouncer"]["action"] == "none"


def test_a_set_that_leaves_a_limit_alone_leaves_its_file_alone(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _build_json(project)
    before = {n: (project / "generated/production" / n).read_bytes() for n in DROPINS}
    _build_json(project, "--set", "postgres.work_mem=32MB")
    assert before == {n: (project / "generated/production" / n).read_bytes() for n in DROPINS}
