"""verify --live: drift between a running deployment and what an environment compiles to."""

from __future__ import annotations

import json

import pytest

from helpers import copy_example, run


@pytest.mark.daemons
def test_verify_live_exits_0_then_1_naming_a_hand_change(tmp_path, start_postgres):
    project = copy_example(tmp_path, with_generated=False)
    assert run("build", "--env", "development", "--project", str(project), "--quiet").code == 0
    conf = (project / "generated/development/postgresql.conf").read_text()
    pg = start_postgres(conf)
    # The harness puts the server on its own port and socket (command line): the deployment
    # being checked is that one, so the environment is compiled with the same three values.
    sets = ["--set", f"postgres.port={pg.port}", "--set", "postgres.listen_addresses=127.0.0.1",
            "--set", f"postgres.unix_socket_directories={pg.dir}"]
    dsn = f"host={pg.dir} port={pg.port} user=postgres"
    live = ["verify", "--env", "development", "--project", str(project), "--live", *sets]
    before = run(*live, "--postgres", dsn)
    assert before.code == 0, before.out + before.err
    assert "differ" in before.err and ", 0 differ" in before.err

    pg.query("ALTER SYSTEM SET work_mem = '77MB'")
    pg.query("SELECT pg_reload_conf()")
    after = run(*live, "--postgres", dsn)
    assert after.code == 1
    assert "work_mem" in after.out and "78848 kB" in after.out      # 77MB as pg_settings says
    as_json = run(*live, "--postgres", dsn, "--format", "json")
    assert as_json.code == 1
    rows = json.loads(as_json.out)["differences"]
    assert [(r["daemon"], r["setting"], r["effective"]) for r in rows] == [
        ("postgresql", "work_mem", "78848 kB")]


def test_verify_live_takes_the_dsn_from_the_environment_and_says_when_unreachable(
        tmp_path, monkeypatch):
    project = copy_example(tmp_path, with_generated=False)
    monkeypatch.setenv("PERFCFG_POSTGRES_DSN", "host=/nonexistent port=1 user=nobody "
                       "password=hunter2-secret connect_timeout=2")
    result = run("verify", "--env", "development", "--project", str(project), "--live")
    assert result.code == 1
    assert "could not be reached" in result.err and "hunter2-secret" not in result.out + result.err


def test_verify_live_without_a_target_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PERFCFG_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("PERFCFG_REDIS_URL", raising=False)
    project = copy_example(tmp_path, with_generated=False)
    result = run("verify", "--env", "development", "--project", str(project), "--live")
    assert result.code == 2 and "--postgres DSN" in result.err
