"""No secret value appears in any output of any command.

One project holds secrets in every place a preset may: database users, Redis ACL users,
supervisord's HTTP server, and programs' environments (``${env:…}`` and ``${file:…}``, whole
and inside a URL). Every command runs on it the way a user (or CI) would — validate, build
(text and JSON, and --check against a changed secret), check, explain, host --env, verify
(booting the real daemons: it passes), verify --live against unreachable daemons whose DSNs
carry a password, apply --dry-run — and what each prints on standard output and standard error
is searched for every value, as it is and in every form an encoder escapes it to.
"""

from __future__ import annotations

import pytest
from conftest import require_daemon
from helpers import run, write

from perfcfg.core.redact import encoded_forms

SECRETS = {"APP_DB_PASSWORD": "app-db-pw-Zq81x0", "APP_REDIS_PASSWORD": "app-rd-pw-Yv27w9",
           "WORKER_DB_PASSWORD": "worker-db-pw-Xu36v8", "API_KEY": "api-key-Wt45u7",
           "SUPERVISOR_HTTP_PASSWORD": "sup-http-pw-Vs54t6"}
FROM_FILE = "token-from-a-file-Ur63s5"
DSN_PASSWORD = "dsn-pw-Tq72r4"

PRESET = """\
extends: [builtin:staging]
databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
  - name: worker
    password: ${env:WORKER_DB_PASSWORD}
redis:
  users:
    - name: app
      password: ${env:APP_REDIS_PASSWORD}
      keys: ["app:*"]
      commands: [-@all, +@read, +@write, +@connection]
supervisor:
  inet_http_server:
    port: 127.0.0.1:9001
    username: ops
    password: ${env:SUPERVISOR_HTTP_PASSWORD}
workload:
  programs:
    - name: worker
      command: python -m app.worker
      user: worker
      processes: 2
      environment:
        DATABASE_URL: postgresql://worker:${env:WORKER_DB_PASSWORD}@127.0.0.1:6432/app
        API_KEY: ${env:API_KEY}
        TOKEN: ${file:secrets/token}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    write(root / "perfcfg.yaml", "project: leaks\nsecrets: {mode: resolve}\nenvironments:\n"
          "  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 8GiB\ncpus: 2\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/staging.yaml", PRESET)
    write(root / "secrets/token", FROM_FILE + "\n")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    for key in ("PERFCFG_POSTGRES_DSN", "PERFCFG_PGBOUNCER_DSN", "PERFCFG_REDIS_URL",
                "PERFCFG_SUPERVISOR_URL"):
        monkeypatch.delenv(key, raising=False)
    return root


def _shown(results) -> str:
    return "".join(r.out + r.err for r in results)


def _leaks(text: str) -> list[str]:
    values = [*SECRETS.values(), FROM_FILE, DSN_PASSWORD]
    return sorted({v for v in values for form in encoded_forms(v) if form in text})


def test_no_command_prints_a_secret(project):
    p = ["--project", str(project)]
    env = ["--env", "staging", *p]
    results = [run("validate", *p), run("build", *env), run("build", *env, "--format", "json")]
    assert all(r.code == 0 for r in results), _shown(results)
    # the built files hold the programs' secrets (0600): --check against a rotated one diffs
    # supervisord.conf, and the diff must not show either value
    conf = project / "generated/staging/supervisord.conf"
    conf.write_text(conf.read_text().replace(SECRETS["API_KEY"], "an-older-api-key-Sr81q3"))
    results += [run("build", *env, "--check"), run("check", *p),
                run("check", *p, "--format", "json")]
    assert results[-3].code == 3 and "supervisord.conf" in results[-3].err
    for path in ("users.worker.password", "workload.programs.worker.environment.API_KEY",
                 "supervisor.inet_http_server.password", "redis.users.app.password"):
        results.append(run("explain", *env, path))
        results.append(run("explain", *env, path, "--format", "json"))
    results += [run("host", *env),
                run("verify", *env, "--live", "--postgres",
                    f"host=127.0.0.1 port=1 user=app password={DSN_PASSWORD} connect_timeout=2",
                    "--redis", f"redis://app:{DSN_PASSWORD}@127.0.0.1:1/0",
                    "--supervisor", f"http://ops:{DSN_PASSWORD}@127.0.0.1:1"),
                run("apply", *env, "--dry-run")]
    assert _leaks(_shown(results)) == []
    # and the test can see one: the same search finds a value that is printed
    assert _leaks(f"x {SECRETS['API_KEY']} y") == [SECRETS["API_KEY"]]


@pytest.mark.daemons
def test_verify_passes_on_programs_with_secrets_and_prints_none(project):
    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("redis", "8.0"),
                            ("supervisor", "4.3")):
        require_daemon(daemon, version)
    found = run("verify", "--env", "staging", "--project", str(project))
    as_json = run("verify", "--env", "staging", "--project", str(project), "--format", "json")
    assert found.code == 0, found.out + found.err
    assert ", 0 differ" in found.err
    assert as_json.code == 0, as_json.out
    assert _leaks(_shown([found, as_json])) == []
