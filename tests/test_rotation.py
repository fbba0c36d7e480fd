"""Rotating a program's database password is a change like any other.

PostgreSQL, pgbouncer and supervisord run from a project's generated files; two programs, each
logging in through pgbouncer as its own user with the password its environment holds, connect
at start (and exit if they cannot). The ingest user's password is rotated and the project
rebuilt: the actions name roles.sql, pgbouncer's userlist.txt and exactly ``program:ingest``.
Restarting ingest before supervisor's action is followed fails to log in, as it did when
supervisord held the old value; after doing what the actions say, every program restarts and
connects.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import xmlrpc.client
from pathlib import Path

import pytest
from conftest import require_daemon
from helpers import run, write

from perfcfg.harness import procs
from perfcfg.harness.binaries import require
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.supervisor.daemon import Supervisord

pytestmark = pytest.mark.daemons

SECRETS = {"APP_DB_PASSWORD": "app-db-pw-0123456789", "APP_REDIS_PASSWORD": "app-rd-pw-0123456",
           "INGEST_DB_PASSWORD": "ingest-db-pw-first-01", "REPORT_DB_PASSWORD": "report-db-pw-01234"}
ROTATED = "ingest-db-pw-second-02"

PRESET = """\
extends: [builtin:staging]
databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
  - name: ingest
    password: ${env:INGEST_DB_PASSWORD}
  - name: report
    password: ${env:REPORT_DB_PASSWORD}
redis:
  users:
    - name: app
      password: ${env:APP_REDIS_PASSWORD}
      keys: ["app:*"]
      commands: [-@all, +@read, +@write, +@connection]
workload:
  programs:
    - name: ingest
      command: python -m app.ingest
      user: ingest
      run_as: nobody
      supervisor: {startsecs: 1, startretries: 0}
      environment:
        DB_PASSWORD: ${env:INGEST_DB_PASSWORD}
    - name: report
      command: python -m app.report
      user: report
      run_as: daemon
      supervisor: {startsecs: 1, startretries: 0}
      environment:
        DB_PASSWORD: ${env:REPORT_DB_PASSWORD}
"""

# A worker: log in through pgbouncer as its user, with the password from its environment; say
# so and stay up, or exit (supervisord then reports the start as failed).
WORKER = """\
#!/bin/sh
if who=$(PGPASSWORD="$DB_PASSWORD" {psql} -XAt "$DATABASE_URL" -c "SELECT current_user"); then
  echo "connected as $who"
  exec sleep 100000
fi
exit 1
"""


def _build(root: Path, out: Path, monkeypatch) -> dict:
    result = run("build", "--env", "staging", "--project", str(root), "--secrets", "resolve",
                 "--out", str(out), "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)["actions"]


def _psql(pg: PostgresServer, sql: bytes) -> None:
    done = subprocess.run([require("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.dir,
                           "-p", str(pg.port), "-U", "postgres", "-d", "postgres", "-f", "-"],
                          input=sql, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _supervisor_conf(text: str, worker: str, port: int) -> str:
    """Every program runs the worker; its DATABASE_URL reaches the harness's pgbouncer."""
    import re

    text = re.sub(r"^command = .*$", f"command = /bin/sh {worker}", text, flags=re.M)
    return text.replace("@127.0.0.1:6432/", f"@127.0.0.1:{port}/")


def _restart(sup: Supervisord, name: str) -> str:
    """Restart one program; "RUNNING" once it has connected, else supervisord's answer."""
    with sup.rpc() as proxy:
        proxy.supervisor.stopProcess(f"{name}:{name}", True)
        try:
            proxy.supervisor.startProcess(f"{name}:{name}", True)
        except xmlrpc.client.Fault as fault:
            return fault.faultString
        return proxy.supervisor.getProcessInfo(f"{name}:{name}")["statename"]


def test_rotating_a_programs_password_names_that_program_and_every_program_restarts(
        tmp_path, monkeypatch, pg_template_of):
    root = tmp_path / "proj"
    write(root / "perfcfg.yaml", "project: rotation\nsecrets: {mode: placeholder}\n"
          "environments:\n  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 8GiB\ncpus: 2\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/staging.yaml", PRESET)
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    _build(root, out, monkeypatch)
    files = {p.name: p.read_text() for p in out.iterdir()}
    require_daemon("pgbouncer", "1.24")
    folder = tempfile.mkdtemp(prefix="pf-worker-")
    try:
        import os

        os.chmod(folder, 0o755)
        worker = procs.write_file(f"{folder}/worker.sh", WORKER.format(psql=require("psql")),
                                  mode=0o755)
        with PostgresServer(files["postgresql.conf"], pg_template_of("17"),
                            hba_text=files["pg_hba.conf"], version="17") as pg, \
                PgBouncer(files["pgbouncer.ini"], files["userlist.txt"], backend=pg,
                          version="1.24") as bnc:
            _psql(pg, (out / "roles.sql").read_bytes())
            with Supervisord(_supervisor_conf(files["supervisord.conf"], worker,
                                              bnc.port)) as sup:
                # both connected at start (Supervisord waits for RUNNING)
                monkeypatch.setenv("INGEST_DB_PASSWORD", ROTATED)
                actions = _build(root, out, monkeypatch)
                assert actions["supervisor"]["action"] == "reload"
                assert actions["supervisor"]["because"] == ["program:ingest"]
                assert actions["pgbouncer"]["action"] == "reload"
                assert actions["pgbouncer"]["because"] == ["userlist.txt"]
                assert actions["postgres"]["action"] == "none"
                assert actions["postgres"]["run"] == ["roles.sql"]
                assert actions["redis"]["action"] == "none"
                # what the database side says: roles.sql, pgbouncer's RELOAD
                _psql(pg, (out / "roles.sql").read_bytes())
                procs.write_file(f"{bnc.dir}/userlist.txt", (out / "userlist.txt").read_text(),
                                 bnc.account)
                bnc.console("RELOAD")
                # supervisord still holds ingest's old password: its restart cannot log in
                refused = _restart(sup, "ingest")
                assert refused != "RUNNING"
                errors = Path(f"{sup.dir}/logs/ingest.stderr.log").read_text()
                assert "authentication failed" in errors, (refused, errors)
                # supervisor's action: the new file, then reread + update (restarts ingest)
                sup.conf_text = _supervisor_conf((out / "supervisord.conf").read_text(), worker,
                                                 bnc.port)
                procs.write_file(sup.conf, sup.effective_conf())
                done = subprocess.run([sup.python, "-m", "supervisor.supervisorctl", "-c",
                                       sup.conf, "update"], capture_output=True, text=True,
                                      timeout=60)
                assert done.returncode == 0, done.stdout + done.stderr
                assert "ingest: updated process group" in done.stdout
                assert "report" not in done.stdout
                # and every program restarts and connects
                for name in ("ingest", "report"):
                    assert _restart(sup, name) == "RUNNING", name
                logs = {name: Path(f"{sup.dir}/logs/{name}.stdout.log").read_text()
                        for name in ("ingest", "report")}
    finally:
        procs.remove_dir(folder)
    assert logs["ingest"].splitlines()[-1] == "connected as ingest"
    assert logs["report"].count("connected as report") == 2
