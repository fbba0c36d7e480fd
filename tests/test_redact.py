"""Errors that stay safe: no secret value in any report, no traceback for a user's mistake."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT, run, write

from perfcfg.core.redact import mask_line

SECRET = "hunter2-xyz"
HEAD = "extends: [builtin:staging, base.yaml]\n"


@pytest.mark.parametrize("line, shown", [
    ("    password: hunter2", "    password: ***"),
    ("    password: 'hunter2'  # rotated monthly", "    password: ***  # rotated monthly"),
    ("  - {name: app, password: hunter2, admin: true}",
     "  - {name: app, password: ***, admin: true}"),
    ("password: [hunter2, x]", "password: ***"),
    ("    PAYMENTS_API_TOKEN: tok_123", "    PAYMENTS_API_TOKEN: ***"),
    ("users.app.password=hunter2", "users.app.password=***"),
    ("    password: ${env:APP_DB_PASSWORD}", "    password: ${env:APP_DB_PASSWORD}"),
    ("  password_encryption: md5", "  password_encryption: md5"),
    ("  work_mem: 64MB", "  work_mem: 64MB"),
    ("postgres.work_mem=64MB", "postgres.work_mem=64MB"),
], ids=["block", "quoted-with-comment", "flow", "list", "env-token", "set-flag", "reference",
        "not-a-secret-key", "plain-setting", "plain-set-flag"])
def test_mask_line(line, shown):
    assert mask_line(line) == shown


def _users(password_line: str, extra: str = "") -> str:
    return HEAD + f"users:\n  - name: app\n    {password_line}\n{extra}"


# name → (files to write, CLI args after the command, environment, formats)
ALL_FORMATS = ("text", "json", "github", "sarif")
SCENARIOS = {
    "password-of-wrong-type": (
        {"presets/staging.yaml": _users(f"password: [{SECRET}]")}, ["validate"], {}, ALL_FORMATS),
    "mistake-next-to-a-password-line": (
        {"presets/staging.yaml": _users(f"password: {SECRET}", "    admn: true\n")},
        ["validate"], {}, ALL_FORMATS),
    "password-that-looks-like-octal": (
        {"presets/staging.yaml": _users("password: 0123456789")}, ["validate"], {}, ALL_FORMATS),
    "set-password-into-a-missing-item": (
        {}, ["build", "--env", "staging", "--set", f"users.nobody.password={SECRET}"], {},
        ("text", "json")),
    "secret-file-the-encoder-refuses": (
        {"perfcfg.yaml": "project: demo\nenvironments:\n"
                         "  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n",
         "presets/staging.yaml": HEAD + "supervisor:\n  inet_http_server:\n"
                                        "    port: 127.0.0.1:9001\n"
                                        "    password: ${file:secrets/http.txt}\n",
         "secrets/http.txt": f"{SECRET} ;x\n"},
        ["build", "--env", "staging"], {"APP_DB_PASSWORD": "db-pw-123"}, ("text", "json")),
}
SCENARIO_RUNS = [(name, fmt) for name, (*_, formats) in SCENARIOS.items() for fmt in formats]


@pytest.mark.parametrize("name, fmt", SCENARIO_RUNS, ids=[f"{n}-{f}" for n, f in SCENARIO_RUNS])
def test_no_report_contains_a_secret_value(name, fmt, project, monkeypatch):
    files, args, environ, _ = SCENARIOS[name]
    for path, text in files.items():
        write(project / path, text)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    result = run(*args, "--project", str(project), "--format", fmt)
    assert result.code == 1, result.err
    assert "error" in result.out + result.err          # something was reported…
    assert SECRET not in result.out + result.err        # …and the secret is not in it
    assert "0123456789" not in result.out + result.err


@pytest.mark.parametrize("args", [["validate"], ["build", "--env", "staging"]],
                         ids=["validate", "build"])
def test_a_user_error_never_shows_a_traceback_even_with_debug(args, project):
    write(project / "presets/staging.yaml", HEAD + "postgres:\n  work_mem: 64mb\n")
    result = run(*args, "--project", str(project), "--debug")
    assert result.code == 1 and "error[PCF204]" in result.err
    assert "Traceback" not in result.err + result.out


# A real process: what the user sees when perfcfg itself breaks, with and without --debug.
BROKEN = ("import sys, perfcfg.stages.pipeline as p\n"
          "p.compile_env = lambda *a, **k: 1 / 0\n"
          "from perfcfg.cli.main import main\n"
          "raise SystemExit(main(sys.argv[1:]))\n")


@pytest.mark.parametrize("command", [["validate"], ["build", "--env", "staging"]],
                         ids=["validate", "build"])
@pytest.mark.parametrize("debug, traceback", [(False, False), (True, True)],
                         ids=["plain", "debug"])
def test_internal_errors_show_a_traceback_only_with_debug(command, debug, traceback, project):
    args = [*command, "--project", str(project), *(["--debug"] if debug else [])]
    proc = subprocess.run([sys.executable, "-c", BROKEN, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 1
    assert ("Traceback (most recent call last)" in proc.stderr) is traceback
    assert "ZeroDivisionError" in proc.stderr
    if not debug:
        assert "internal error" in proc.stderr and "--debug" in proc.stderr


def test_resolved_secrets_are_scrubbed_from_messages():
    # Encoders may quote the value they refuse; after a build resolved secrets, any message
    # passes through scrub (pipeline._scrubbed) with the resolved values.
    from perfcfg.core.redact import scrub

    assert scrub(f"cannot write x: {SECRET!r} has ' ;'", [SECRET, ""]) == \
        "cannot write x: '***' has ' ;'"
    assert scrub(None, [SECRET]) is None
