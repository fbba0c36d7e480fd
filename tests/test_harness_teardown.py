"""A test that fails while its daemons run must still leave no process and no scratch dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perfcfg.harness.procs import alive
from perfcfg.services.postgres.daemon import PostgresServer

pytestmark = pytest.mark.daemons

INNER_TESTS = '''
import json, os

def record(handle):
    with open(os.environ["PF_RECORD"], "a") as f:
        f.write(json.dumps({"pids": handle.pids(), "dir": handle.dir}) + "\\n")

def test_postgres_and_pgbouncer_fail(start_postgres, start_pgbouncer):
    pg = start_postgres("max_connections = 20\\n")
    with pg.connect() as conn:
        conn.execute("SELECT 1")
        record(pg)
        record(start_pgbouncer("[databases]\\napp = dbname=postgres\\n[pgbouncer]\\nauth_type = trust\\n",
                               '"postgres" ""\\n', backend=pg))
        assert False, "deliberate failure with daemons running"

def test_redis_fails(start_redis):
    record(start_redis("save 60 1\\n"))
    raise RuntimeError("deliberate error with redis running")

def test_supervisord_fails(start_supervisord):
    record(start_supervisord("[supervisord]\\n[program:s]\\ncommand=/bin/sleep 1000\\nnumprocs=2\\n"
                             "process_name=%(program_name)s_%(process_num)d\\n"))
    assert 1 == 2
'''


def test_failing_tests_inside_fixtures_still_tear_down(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    record = tmp_path / "record.jsonl"
    env = {**os.environ, "PF_RECORD": str(record)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 failed" in result.stdout, result.stdout
    handles = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(handles) == 4
    for handle in handles:
        assert handle["pids"], handle
        assert [p for p in handle["pids"] if alive(p)] == [], handle
        assert not os.path.exists(handle["dir"])


def test_exception_inside_the_context_manager_still_tears_down(pg_template) -> None:
    seen: dict = {}
    with pytest.raises(RuntimeError, match="deliberate"), PostgresServer("", pg_template) as pg, \
            pg.connect() as conn:
        conn.execute("SELECT 1")
        seen.update(pids=pg.pids(), dir=pg.dir)
        raise RuntimeError("deliberate failure inside the context")
    assert len(seen["pids"]) >= 5
    assert [p for p in seen["pids"] if alive(p)] == []
    assert not os.path.exists(seen["dir"])


@pytest.mark.parametrize("require, outcome, code", [("", "skipped", 0), ("1", "error", 1)],
                         ids=["local-skips", "ci-fails"])
def test_missing_daemon_skips_locally_and_fails_in_ci(tmp_path: Path, require: str,
                                                      outcome: str, code: int) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    # Point the harness at a redis-server that does not exist, as on a machine without it.
    (tmp_path / "test_inner.py").write_text(
        "from perfcfg.harness import binaries\n"
        "binaries.BINARIES['redis-server'] = '/nonexistent/redis-server'\n\n"
        "def test_needs_redis(start_redis):\n    start_redis('')\n")
    env = {**os.environ, "PERFCFG_REQUIRE_DAEMONS": require}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-rs", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert f"1 {outcome}" in result.stdout, result.stdout   # a fixture failure is an error
    assert result.returncode == code
    assert "redis-server not installed" in result.stdout
