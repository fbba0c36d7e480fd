"""Each worker gets its own secrets and none of another's, with the real supervisord.

Two programs, each running as its own user and logging in as its own database user, each with
its secrets in its environment (``${env:…}`` and ``${file:…}``). supervisord starts from the
generated supervisord.conf with an environment that holds no secret; each program runs a
probe that reports its own environment and everything it can read of the others': every
``/proc/<pid>/environ`` on the machine it may open, supervisord.conf, supervisord's own
environment. Each finds its own secrets and not one of the other's.

The same run with the secrets handed over the way perfcfg did before (``%(ENV_X)s`` in the
file, the values in supervisord's environment, as a systemd EnvironmentFile gives them) shows
every worker holding every secret: the test tells the two apart.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from helpers import run, write

from perfcfg.harness import procs
from perfcfg.services.supervisor.daemon import Supervisord

pytestmark = pytest.mark.daemons

SECRETS = {"APP_DB_PASSWORD": "app-db-pw-0123456789", "APP_REDIS_PASSWORD": "app-rd-pw-0123456",
           "INGEST_DB_PASSWORD": "ingest-db-pw-0123456", "REPORT_DB_PASSWORD": "report-db-pw-01234"}
INGEST_TOKEN = "ingest-token-from-a-file-0123"
OWN = {"ingest": {SECRETS["INGEST_DB_PASSWORD"], INGEST_TOKEN},
       "report": {SECRETS["REPORT_DB_PASSWORD"]}}
# Users every Debian host has, one per program: a worker runs as a user of its own.
RUN_AS = {"ingest": "nobody", "report": "daemon"}

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
      supervisor: {startsecs: 1}
      environment:
        DB_PASSWORD: ${env:INGEST_DB_PASSWORD}
        API_TOKEN: ${file:secrets/ingest-token}
    - name: report
      command: python -m app.report
      user: report
      run_as: daemon
      supervisor: {startsecs: 1}
      environment:
        DB_PASSWORD: ${env:REPORT_DB_PASSWORD}
"""

# What a compromised worker could do: read its own environment, and every other process's
# and every file it is allowed to. It prints what it found and sleeps.
PROBE = r"""
import glob, json, os, sys, time
def read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return None
others = {}
for path in glob.glob("/proc/[0-9]*/environ"):
    if path != f"/proc/{os.getpid()}/environ":
        text = read(path)
        if text:
            others[path] = text
print(json.dumps({"own": read("/proc/self/environ"), "others": others,
                  "files": {p: read(p) for p in sys.argv[1:]}, "home": os.environ.get("HOME"),
                  "user": os.environ.get("USER")}), flush=True)
time.sleep(100000)
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    write(root / "perfcfg.yaml", "project: secrets\nsecrets: {mode: placeholder}\n"
          "environments:\n  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 8GiB\ncpus: 2\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/staging.yaml", PRESET)
    write(root / "secrets/ingest-token", INGEST_TOKEN + "\n")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    result = run("build", "--env", "staging", "--project", str(root), "--secrets", "resolve")
    assert result.code == 0, result.err
    for key in SECRETS:
        monkeypatch.delenv(key)      # supervisord starts with no secret in its environment
    return root


def _probe_conf(conf: str, probe: str, readable: list[str]) -> str:
    """Every program runs the probe (with its user, environment and everything else as
    generated), which also tries to read ``readable``."""
    command = f"command = /usr/bin/python3 {probe} {' '.join(readable)}"
    return re.sub(r"^command = .*$", command, conf, flags=re.M)


def _reports(sup: Supervisord) -> dict[str, dict]:
    out = {}
    for program in RUN_AS:
        with open(f"{sup.dir}/logs/{program}.stdout.log") as fh:
            out[program] = json.loads(fh.readline())
    return out


def _secrets_in(text: str | None) -> set[str]:
    every = set(SECRETS.values()) | {INGEST_TOKEN}
    return {s for s in every if text and s in text}


def _run(conf: str, readable: list[str]) -> tuple[dict[str, dict], str]:
    folder = tempfile.mkdtemp(prefix="pf-probe-")
    os.chmod(folder, 0o755)
    probe = procs.write_file(f"{folder}/probe.py", PROBE, mode=0o644)
    try:
        with Supervisord(_probe_conf(conf, probe, readable)) as sup:
            deadline = 30
            while deadline and not all(Path(f"{sup.dir}/logs/{p}.stdout.log").exists() and
                                       Path(f"{sup.dir}/logs/{p}.stdout.log").stat().st_size
                                       for p in RUN_AS):
                import time

                time.sleep(0.2)
                deadline -= 1
            assert sup.proc is not None
            own = Path(f"/proc/{sup.proc.pid}/environ").read_text(errors="replace")
            return _reports(sup), own
    finally:
        procs.remove_dir(folder)


def test_each_worker_sees_its_own_secrets_and_none_of_the_others(project):
    conf_path = project / "generated/staging/supervisord.conf"
    conf = conf_path.read_text()
    # in clear in the program's own section, in a 0600 file
    assert f'DB_PASSWORD="{SECRETS["INGEST_DB_PASSWORD"]}"' in conf
    assert conf_path.stat().st_mode & 0o777 == 0o600
    reports, supervisord_env = _run(conf, [str(conf_path)])
    assert _secrets_in(supervisord_env) == set()
    for program, report in reports.items():
        assert _secrets_in(report["own"]) == OWN[program], program
        seen = set().union(*(_secrets_in(t) for t in report["others"].values()))
        seen |= set().union(*(_secrets_in(t) for t in report["files"].values()))
        assert seen == set(), (program, seen)
        assert report["files"] == {str(conf_path): None}     # root's file: unreadable
        assert report["user"] == RUN_AS[program]
        assert report["home"] == f"/home/{RUN_AS[program]}"   # not supervisord's (root's)


def test_the_way_before_hands_every_worker_every_secret(project, monkeypatch):
    """``%(ENV_X)s`` in the file and the values in supervisord's environment: the channel
    this replaced. Every worker inherits supervisord's environment, so each holds them all."""
    conf = (project / "generated/staging/supervisord.conf").read_text()
    for key, value in (*SECRETS.items(), ("INGEST_TOKEN", INGEST_TOKEN)):
        conf = conf.replace(f'"{value}"', f'"%(ENV_{key})s"')
        monkeypatch.setenv(key, value)
    reports, supervisord_env = _run(conf, [])
    every = set(SECRETS.values()) | {INGEST_TOKEN}
    assert _secrets_in(supervisord_env) == every
    for report in reports.values():
        assert _secrets_in(report["own"]) == every
