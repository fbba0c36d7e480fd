"""verify --live: drift between a running deployment and what an environment compiles to."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import require_daemon
from helpers import Run, copy_example, group, run, write

from perfcfg.harness import procs
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.supervisor.verify import supervisor_stand_in
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.verify.intended import from_result
from perfcfg.verify.run import live_variables

LIVE_VARIABLES = tuple(live_variables().values())


@pytest.mark.daemons
def test_verify_live_exits_0_then_1_naming_a_hand_change(tmp_path, start_postgres):
    project = copy_example(tmp_path, with_generated=False)
    # The deployment lets its superuser in over TCP from this host (a declared direct client):
    # the harness's own trust line for the socket is then not needed once it has started.
    overlay = write(project / "harness.yaml", "clients:\n  - name: harness\n    user: postgres\n"
                    "    address: 127.0.0.1/32\n    method: trust\n")
    build = ("--env", "development", "--project", str(project), "--overlay", str(overlay))
    assert run("build", *build, "--quiet").code == 0
    conf = (project / "generated/development/postgresql.conf").read_text()
    hba = (project / "generated/development/pg_hba.conf").read_text()
    pg = start_postgres(conf, hba_text=hba)
    # The harness puts the server on its own port, socket and data directory (command line):
    # the deployment being checked is that one, so the environment is compiled with the same
    # values (a live check compares the placement: on a real host it is the file's).
    sets = ["--set", f"postgres.port={pg.port}", "--set", "postgres.listen_addresses=127.0.0.1",
            "--set", f"postgres.unix_socket_directories={pg.dir}",
            *(arg for name, value in pg.placement().items()
              for arg in ("--set", f"postgres.{name}={value}"))]
    hba_path = Path(pg.data) / "pg_hba.conf"
    procs.write_file(hba_path, hba, pg.account)
    pg.query("SELECT pg_reload_conf()")     # the generated pg_hba.conf alone, from here on
    dsn = f"host=127.0.0.1 port={pg.port} user=postgres"

    def sql(statement: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement)

    live = ["verify", *build, "--live", *sets]
    before = run(*live, "--postgres", dsn)
    assert before.code == 0, before.out + before.err
    assert "differ" in before.err and ", 0 differ" in before.err

    sql("ALTER SYSTEM SET work_mem = '77MB'")
    sql("SELECT pg_reload_conf()")
    after = run(*live, "--postgres", dsn)
    assert after.code == 1
    # the effective value as postgresql.conf writes it, not as pg_settings has it (78848 kB)
    assert "work_mem" in after.out and "77MB" in after.out
    as_json = run(*live, "--postgres", dsn, "--format", "json")
    assert as_json.code == 1
    rows = json.loads(as_json.out)["differences"]
    assert [(r["daemon"], r["setting"], r["effective"]) for r in rows] == [
        ("postgresql", "work_mem", "77MB")]
    sql("ALTER SYSTEM RESET work_mem")
    sql("SELECT pg_reload_conf()")
    assert run(*live, "--postgres", dsn).code == 0

    # What postgresql.conf does not say: settings of a role and of a database, and pg_hba.conf
    # (read as it is on disk: a line added by hand shows before any reload)
    sql("CREATE ROLE bot LOGIN")
    sql("ALTER ROLE bot SET statement_timeout = '1h'")
    sql("CREATE DATABASE app")
    sql("ALTER DATABASE app SET work_mem = '64MB'")
    with hba_path.open("a") as f:
        f.write("host all all 0.0.0.0/0 trust\n")
    lines = len(hba_path.read_text().splitlines())
    drift = run(*live, "--postgres", dsn, "--format", "json")
    assert drift.code == 1
    assert sorted((r["setting"], r["intended"], r["effective"])
                  for r in json.loads(drift.out)["differences"]) == [
        ("database app: work_mem", "(postgresql.conf's)", "64MB"),
        (f"pg_hba.conf line {lines}", "(none)", "host all all 0.0.0.0/0 trust"),
        ("role bot: statement_timeout", "(postgresql.conf's)", "1h")]


def test_verify_live_takes_the_dsn_from_the_environment_and_says_when_unreachable(
        tmp_path, monkeypatch):
    project = copy_example(tmp_path, with_generated=False)
    monkeypatch.setenv("PERFCFG_POSTGRES_DSN", "host=/nonexistent port=1 user=nobody "
                       "password=hunter2-secret connect_timeout=2")
    result = run("verify", "--env", "development", "--project", str(project), "--live")
    assert result.code == 1
    assert "could not be reached" in result.err and "hunter2-secret" not in result.out + result.err


def test_verify_live_without_a_target_is_a_usage_error(tmp_path, monkeypatch):
    for variable in LIVE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    project = copy_example(tmp_path, with_generated=False)
    result = run("verify", "--env", "development", "--project", str(project), "--live")
    assert result.code == 2 and "--postgres DSN" in result.err


# -- pgbouncer, Redis and supervisord: each started from the generated files by the harness ------

PASSWORDS = {"BOTFARM_DB_PASSWORD": "bot-pw-0123456789",
             "BOTFARM_PGBOUNCER_ADMIN_PASSWORD": "admin-pw-0123456789",
             "BOTFARM_REDIS_PASSWORD": "redis-pw-0123456789",
             "BOTFARM_REDIS_EXPORTER_PASSWORD": "exporter-pw-0123456789"}


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    """The example's development and staging files, built with real secrets (the admin console
    and the Redis ACL need them)."""
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    for variable in LIVE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    project = copy_example(tmp_path, with_generated=False)
    assert run("build", "--env", "development", "--env", "staging", "--project", str(project),
               "--secrets", "resolve", "--quiet").code == 0
    return project


def harness_overlay(project, env: str, section: str, values: dict[str, object],
                    extra: dict[str, object] | None = None) -> Path:
    """A rehearsal overlay: the values the harness gives the daemon (its port, scratch paths)
    for the keys the environment writes, so that what runs is what the environment compiles to
    with this overlay, and nothing else differs; ``extra`` goes into the section as it is."""
    want = from_result(compile_env(Request(project, env)))
    written = {"pgbouncer": want["pgbouncer"].settings, "redis": want["redis"].values,
               "supervisor": {k.partition(".")[2] for k in want["supervisor"].values
                              if k.startswith("supervisord.")}}[section]
    overlay = {section: {**{k: v for k, v in values.items() if k in written}, **(extra or {})}}
    return write(project / f"rehearsal-{section}.yaml", yaml.safe_dump(overlay))


def live(project, env: str, overlay: Path | None, *targets: str) -> Run:
    extra = ["--overlay", str(overlay)] if overlay is not None else []
    return run("verify", "--env", env, "--project", str(project), "--live", *extra, *targets)


def table_rows(out: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split(" | ")] for line in out.splitlines()[2:]]


@pytest.mark.daemons
@pytest.mark.parametrize("env, version, pool", [("development", "1.18", "5"),
                                                ("staging", "1.24", "16")])
def test_pgbouncer_drift_after_a_console_set_and_after_an_ini_reload(
        deployed, start_pgbouncer, env, version, pool):
    out = deployed / f"generated/{env}"
    bnc = start_pgbouncer((out / "pgbouncer.ini").read_text(), (out / "userlist.txt").read_text(),
                          version=version)
    overlay = harness_overlay(deployed, env, "pgbouncer", {
        "listen_addr": "127.0.0.1", "listen_port": bnc.port, "unix_socket_dir": bnc.dir,
        "logfile": f"{bnc.dir}/pgbouncer.log", "pidfile": f"{bnc.dir}/pgbouncer.pid",
        "auth_file": f"{bnc.dir}/userlist.txt"})
    # the admin user of the generated userlist, over TCP with its password
    dsn = (f"host=127.0.0.1 port={bnc.port} dbname=pgbouncer user=pgbouncer_admin "
           f"password={PASSWORDS['BOTFARM_PGBOUNCER_ADMIN_PASSWORD']}")
    before = live(deployed, env, overlay, "--pgbouncer", dsn)
    assert before.code == 0, before.out + before.err
    assert "pgbouncer running now" in before.err and ", 0 differ" in before.err

    bnc.console("SET default_pool_size = 7")
    after_set = live(deployed, env, overlay, "--pgbouncer", dsn)
    assert after_set.code == 1, after_set.out + after_set.err
    assert table_rows(after_set.out) == [["pgbouncer", "default_pool_size", pool, "7"]]

    # A hand edit of the [databases] line, then RELOAD (which also undoes the SET above)
    ini = Path(bnc.conf).read_text()
    assert f" pool_size={pool} " in ini
    procs.write_file(bnc.conf, ini.replace(f" pool_size={pool} ", " pool_size=3 "), bnc.account)
    bnc.console("RELOAD")
    after_reload = live(deployed, env, overlay, "--pgbouncer", dsn)
    assert after_reload.code == 1, after_reload.out + after_reload.err
    assert table_rows(after_reload.out) == [["pgbouncer", "databases.botfarm.pool_size", pool,
                                             "3"]]
    shown = before.out + before.err + after_set.out + after_set.err + after_reload.out
    assert PASSWORDS["BOTFARM_PGBOUNCER_ADMIN_PASSWORD"] not in shown + after_reload.err


# A user of the deployment that may change it (the test's own hand changes) and read it.
OPS = {"name": "ops", "password": "${env:BOTFARM_REDIS_OPS_PASSWORD}", "keys": ["*"],
       "channels": ["*"], "commands": ["+@all"]}
OPS_PASSWORD = "ops-pw-0123456789"


@pytest.mark.daemons
@pytest.mark.parametrize("env, daemon, version", [("development", "redis", "7.0"),
                                                  ("staging", "valkey", "8.1")])
def test_cache_drift_after_config_set_and_acl_setuser_in_text_and_json(
        deployed, monkeypatch, tmp_path, env, daemon, version):
    require_daemon(daemon, version)
    monkeypatch.setenv("BOTFARM_REDIS_OPS_PASSWORD", OPS_PASSWORD)
    users = write(deployed / "users.yaml", yaml.safe_dump({"redis": {"users": [OPS]}}))
    built = run("build", "--env", env, "--project", str(deployed), "--overlay", str(users),
                "--secrets", "resolve", "--out", str(tmp_path / "out"), "--quiet")
    assert built.code == 0, built.err
    out = tmp_path / "out"
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    # the ACL file exactly as generated: the harness logs in as the deployment's own user
    with handle((out / f"{daemon}.conf").read_text(), acl_text=(out / "users.acl").read_text(),
                version=version, harness_user=False, username="ops",
                password=OPS_PASSWORD) as r:
        overlay = harness_overlay(deployed, env, "redis", {
            "port": r.port, "bind": "127.0.0.1", "daemonize": "no", "supervised": "no",
            "dir": r.dir, "logfile": "", "pidfile": f"{r.dir}/redis.pid", "unixsocket": "",
            "aclfile": f"{r.dir}/users.acl"}, {"users": [OPS]})
        url = f"redis://ops:{OPS_PASSWORD}@127.0.0.1:{r.port}/0"
        before = live(deployed, env, overlay, "--redis", url, "--secrets", "resolve")
        assert before.code == 0, before.out + before.err
        assert f"{daemon} running now" in before.err and ", 0 differ" in before.err

        with r.client() as client:
            client.config_set("maxmemory-policy", "allkeys-lru")
        after = live(deployed, env, overlay, "--redis", url)
        as_json = live(deployed, env, overlay, "--redis", url, "--format", "json")
        with r.client() as client:
            client.config_set("maxmemory-policy", "allkeys-lfu")
            client.acl_setuser("intruder", enabled=True, passwords=["+intruder-pw-0123"],
                               keys=["*"], commands=["+@all"])
            client.execute_command("ACL", "SETUSER", "bot", "+@admin", "~other:*",
                                   ">another-pw-0123")
        users_drift = live(deployed, env, overlay, "--redis", url, "--format", "json",
                           "--secrets", "resolve")
    assert after.code == 1
    assert table_rows(after.out) == [[daemon, "maxmemory-policy", "allkeys-lfu", "allkeys-lru"]]
    assert as_json.code == 1
    found = json.loads(as_json.out)
    assert found["checked"] == [daemon] and found["ok"] is False
    assert [(d["daemon"], d["setting"], d["intended"], d["effective"])
            for d in found["differences"]] == [
        (daemon, "maxmemory-policy", "allkeys-lfu", "allkeys-lru")]
    drift = json.loads(users_drift.out)
    rows = {d["setting"]: (d["intended"], d["effective"]) for d in drift["differences"]}
    assert rows.pop("acl user intruder") == ("(not in users.acl)", "on")
    assert rows.pop("acl user bot.password") == ("users.acl's", "another")
    assert rows.pop("acl user bot.keys") == ("~cache:* ~ratelimit:* ~session:*",
                                             "~cache:* ~other:* ~ratelimit:* ~session:*")
    if version == "7.0":
        # Redis 7.0 reports categories expanded into commands: said, not compared
        assert any("command rules not compared" in note for note in drift["notes"])
    else:
        intended, effective = rows.pop("acl user bot.commands")
        assert effective == intended + " +@admin"
    assert rows == {}
    shown = as_json.out + as_json.err + after.out + after.err + users_drift.out
    assert OPS_PASSWORD not in shown + users_drift.err and "another-pw" not in shown


@pytest.mark.daemons
def test_supervisor_drift_after_supervisorctl_stops_a_process(deployed, start_supervisord):
    # Programs run a stand-in command (as verify does): command, user and directory belong to
    # this host, and verify never compares them.
    conf = (deployed / "generated/development/supervisord.conf").read_text()
    sup = start_supervisord(supervisor_stand_in(conf))
    url = f"unix://{sup.socket}"
    # the harness writes the programs' logs into its scratch dir: the rehearsal's log directory
    overlay = harness_overlay(deployed, "development", "supervisor",
                              {"childlogdir": f"{sup.dir}/logs"})
    before = live(deployed, "development", overlay, "--supervisor", url)
    assert before.code == 0, before.out + before.err
    assert "supervisor running now" in before.err and ", 0 differ" in before.err
    # XML-RPC reports no [supervisord] key and not every program key: said, never passed over
    assert "not compared" in before.err and "loglevel" in before.err

    stop = subprocess.run([sup.python, "-m", "supervisor.supervisorctl", "-s", url, "stop",
                           "matcher:matcher_01"], capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    after = live(deployed, "development", overlay, "--supervisor", url)
    assert after.code == 1
    assert table_rows(after.out) == [["supervisor", "program:matcher.processes RUNNING",
                                      "matcher_00, matcher_01", "matcher_00"]]


@pytest.mark.daemons
def test_supervisor_over_http_with_credentials_and_with_a_wrong_password(deployed,
                                                                          start_supervisord):
    conf = supervisor_stand_in((deployed / "generated/staging/supervisord.conf").read_text())
    sup = start_supervisord(conf + "\n[inet_http_server]\nport = 127.0.0.1:9001\n"
                            "username = ops\npassword = s3cret-http\n")
    # the harness moved the port to a free one: read it back from the file it started
    port = group(re.search(r"^port = 127\.0\.0\.1:(\d+)$", Path(sup.conf).read_text(), re.M))
    overlay = harness_overlay(deployed, "staging", "supervisor", {"childlogdir": f"{sup.dir}/logs"})
    good = live(deployed, "staging", overlay, "--supervisor",
                f"http://ops:s3cret-http@127.0.0.1:{port}")
    assert good.code == 0, good.out + good.err
    wrong = live(deployed, "staging", None, "--supervisor",
                 f"http://ops:wrong-s3cret@127.0.0.1:{port}", "--format", "json")
    assert wrong.code == 1
    found = json.loads(wrong.out)
    assert found["refused"] == ["supervisor"]
    assert [(d["setting"], "401" in d["effective"]) for d in found["differences"]] == [
        ("(connect)", True)]
    shown = good.out + good.err + wrong.out + wrong.err
    assert "s3cret-http" not in shown and "wrong-s3cret" not in shown


@pytest.mark.parametrize("option, target, secret", [
    ("--pgbouncer", "host=127.0.0.1 port=1 dbname=pgbouncer user=ops password=s3cret-pgb "
     "connect_timeout=2", "s3cret-pgb"),
    ("--supervisor", "http://ops:s3cret-sup@127.0.0.1:1", "s3cret-sup"),
    ("--supervisor", "unix:///nonexistent/supervisor.sock", None),
    ("--redis", "redis://ops:s3cret-rds@127.0.0.1:1/0", "s3cret-rds"),
])
def test_an_unreachable_daemon_is_a_row_without_its_secret(tmp_path, monkeypatch, option, target,
                                                           secret):
    for variable in LIVE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    project = copy_example(tmp_path, with_generated=False)
    result = run("verify", "--env", "development", "--project", str(project), "--live",
                 option, target)
    assert result.code == 1
    assert "(connect)" in result.out and "could not be reached" in result.err
    if secret is not None:
        assert secret not in result.out + result.err


def test_each_daemon_takes_its_option_else_its_variable(tmp_path, monkeypatch):
    for variable in LIVE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PERFCFG_SUPERVISOR_URL", "unix:///nonexistent/supervisor.sock")
    project = copy_example(tmp_path, with_generated=False)
    result = run("verify", "--env", "development", "--project", str(project), "--live",
                 "--pgbouncer", "host=127.0.0.1 port=1 dbname=pgbouncer connect_timeout=2",
                 "--format", "json")
    assert result.code == 1
    assert json.loads(result.out)["refused"] == ["pgbouncer", "supervisor"]
