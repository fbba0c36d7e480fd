"""The hostile-input corpus: each class of broken promise, several cases each.

Every test names its class (issue 12's numbering) and asserts the promise itself: the exit
code, the diagnostic code, nothing written or the old set intact, no secret in any output
stream. Faults are real: a full disk is a 64 KiB tmpfs, an immutable directory is
``chattr +i``, concurrent builds are separate processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT, run, snapshot_tree, write

SECRET = 'hunter2"x\\y'            # a quote and a backslash: escaped by most encoders
PASSWORDS = {"APP_DB_PASSWORD": "db-password-123", "APP_REDIS_PASSWORD": "redis-password-123"}
HEAD = "extends: [builtin:staging, base.yaml]\n"


@pytest.fixture
def resolved(project, monkeypatch):
    """The conftest project, building with its secrets resolved from the environment."""
    text = (project / "perfcfg.yaml").read_text().replace("mode: placeholder", "mode: resolve")
    write(project / "perfcfg.yaml", text)
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SEKRIT", SECRET)
    return project


def build(project: Path, *args: str):
    return run("build", "--env", "staging", "--project", str(project), *args)


def shows(result, secret: str = SECRET) -> bool:
    """Whether ``secret`` is in any output stream, in clear or in any encoded form."""
    from perfcfg.core.redact import encoded_forms

    text = result.out + result.err
    return any(form in text for form in encoded_forms(secret) if len(form) >= 4)


# -- class 1: a resolved secret reaches the terminal --------------------------------------

@pytest.mark.parametrize("preset, code", [
    ("postgres:\n  work_mem: ${env:SEKRIT}\n", "PCF204"),                 # once an internal error
    ("redis:\n  hz: ${env:SEKRIT}\n", "PCF204"),
    ("pgbouncer:\n  max_client_conn: ${env:SEKRIT}\n", "PCF204"),
    ("supervisor:\n  minfds: ${env:SEKRIT}\n", "PCF204"),
], ids=["postgres-size", "redis-int", "pgbouncer-int", "supervisor-int"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_class1_a_secret_in_a_number_is_a_diagnostic_that_does_not_show_it(
        resolved, preset, code, fmt):
    write(resolved / "presets/staging.yaml", HEAD + preset)
    result = build(resolved, "--format", fmt)
    assert result.code == 1 and code in result.out + result.err
    assert "internal error" not in result.err and not shows(result)
    assert not (resolved / "generated").exists()


@pytest.mark.parametrize("setting", ["postgres.ssl_passphrase_command", "redis.masterauth",
                                     "pgbouncer.auth_query"])
def test_class1_explain_never_prints_a_resolved_secret(resolved, setting):
    service, name = setting.split(".")
    write(resolved / "presets/staging.yaml", HEAD + f"{service}:\n  {name}: ${{env:SEKRIT}}\n")
    for fmt in ("text", "json"):
        result = run("explain", "--env", "staging", "--project", str(resolved), setting,
                     "--format", fmt)
        assert result.code == 0, result.err
        assert not shows(result) and name in result.out


def test_class1_an_internal_error_never_prints_a_resolved_secret(resolved):
    """Whatever the bug, the last word on stderr passes the scrubber (a real process)."""
    code = ("import os, sys, perfcfg.stages.render as r\n"
            "def boom(*a, **k): raise RuntimeError('bad value ' + os.environ['SEKRIT'])\n"
            "r.render_all = boom\n"
            "from perfcfg.cli.main import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")
    env = {**os.environ, "APP_DB_PASSWORD": SECRET}     # resolved before rendering
    proc = subprocess.run([sys.executable, "-c", code, "build", "--env", "staging",
                           "--project", str(resolved)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False, env=env)
    assert proc.returncode == 1 and "internal error" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout and "bad value ***" in proc.stderr


# -- class 2: the last line of defence (PCF211) looks for encoded forms too ---------------

@pytest.mark.parametrize("setting, value", [
    ("redis.masteruser", 'abc"defghijk'),            # redis.conf: \"
    ("redis.masteruser", "abc\\defghijk"),           # redis.conf: \\
    ("redis.masteruser", "abcdéfghijk"),             # redis.conf: \xc3\xa9
    ("postgres.cluster_name", "abc'defghijk"),       # postgresql.conf: ''
    ("postgres.cluster_name", "abc\\defghijk"),      # postgresql.conf: \\
    ("supervisor.identifier", "abc%defghijk"),      # supervisord.conf: %%
    ("pgbouncer.auth_query", "abc'defghijk"),       # pgbouncer.ini
], ids=["redis-quote", "redis-backslash", "redis-utf8", "pg-quote", "pg-backslash",
        "supervisor-percent", "pgbouncer-quote"])
def test_class2_an_escaped_secret_is_still_caught(resolved, monkeypatch, setting, value):
    """The last scan: a password that also occurs, escaped, in another setting's value (by
    chance, or because someone pasted it there) is found in every encoded form."""
    monkeypatch.setenv("APP_REDIS_PASSWORD", value)      # a Redis ACL password: hashed
    service, name = setting.split(".")
    write(resolved / "presets/staging.yaml", HEAD + f"{service}:\n  {name}: {json.dumps(value)}\n")
    result = build(resolved)
    assert result.code == 1 and "error[PCF211]" in result.err, result.err
    assert not (resolved / "generated").exists() and not shows(result, value)


def test_class2_check_never_shows_a_secret_in_its_diff(resolved, monkeypatch):
    """An old file that holds the secret escaped (written by an older perfcfg, or by hand):
    the diff of ``build --check`` shows the line, masked."""
    assert build(resolved).code == 0
    conf = resolved / "generated/staging/redis.conf"
    conf.write_text(conf.read_text() + 'masterauth "db-pass\\"word"\nmasterauth db-password-123\n')
    monkeypatch.setenv("APP_DB_PASSWORD", 'db-pass"word')
    result = build(resolved, "--check")
    assert result.code == 3 and "masterauth" in result.out
    assert not shows(result, 'db-pass"word')


# -- class 7: code frames never show a password -------------------------------------------

@pytest.mark.parametrize("users", [
    "  - name: app\n    password:\n      hunter2-xyz\n    admn: true\n",
    "  - name: app\n    pasword: hunter2-xyz\n",
    "  - name: app\n    password: |\n      hunter2-xyz\n    admn: true\n",
    "  - name: app\n    password: hunter2\n      -xyz\n    admn: true\n",
    "  - name: app\n    secert: hunter2-xyz\n",
    "  - name: app\n    ? password\n    : hunter2-xyz\n    admn: true\n",
    "  - name: app\n    pass_word: hunter2-xyz\n",
    "  - name: app\n    pwd: hunter2-xyz\n",
    "  - name: app\n    pw: hunter2-xyz\n",
    "  - name: app\n    psw: hunter2-xyz\n",
    "  - name: app\n    key: hunter2-xyz\n",
], ids=["value-on-next-line", "misspelt-key", "block-scalar", "continued-plain", "misspelt-secret",
        "explicit-key", "pass_word", "pwd", "pw", "psw", "key"])
def test_class7_code_frames_hide_values_below_or_beside_secret_keys(project, users):
    write(project / "presets/staging.yaml", HEAD + "users:\n" + users)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[" in result.err
    assert "hunter2" not in result.err + result.out


# -- class 19: a secret is a type, not a pattern ------------------------------------------

@pytest.mark.parametrize("setting", ["postgres.application_name", "redis.masteruser",
                                     "pgbouncer.auth_query", "supervisor.identifier"])
@pytest.mark.parametrize("secret", ["k3y5", "s3cr3t7"], ids=["4-chars", "7-chars"])
def test_class19_a_short_secret_outside_a_secret_slot_is_refused(resolved, monkeypatch,
                                                                 setting, secret):
    """Whatever its length: perfcfg knows it is a secret, so it never reaches a file in clear
    where its service has no place for one."""
    monkeypatch.setenv("TAG", secret)
    service, name = setting.split(".")
    write(resolved / "presets/staging.yaml", HEAD + f"{service}:\n  {name}: ${{env:TAG}}\n")
    result = build(resolved)
    assert result.code == 1 and "error[PCF211]" in result.err and setting in result.err
    assert "secret slot" in result.err.replace("\n", " ") or "a secret goes only" in result.err
    assert secret not in result.err + result.out and not (resolved / "generated").exists()


@pytest.mark.parametrize("secret", ["k3y5", "s3cr3t7-long-enough"], ids=["4-chars", "long"])
def test_class19_a_short_secret_in_its_slot_is_kept_from_other_eyes(resolved, monkeypatch,
                                                                    secret):
    """redis.masterauth is a secret slot written in clear: the copy here is 0600, the
    manifest deploys it 0640; deployed world-readable, it is refused."""
    monkeypatch.setenv("PRIMARY", secret)
    write(resolved / "presets/staging.yaml", HEAD + "redis:\n  masterauth: ${env:PRIMARY}\n")
    result = build(resolved)
    assert result.code == 0, result.err
    out = resolved / "generated/staging"
    assert (out / "redis.conf").stat().st_mode & 0o777 == 0o600
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["redis.conf"]["mode"] == "0640"
    assert secret not in (out / "manifest.json").read_text() + result.err + result.out
    text = (resolved / "perfcfg.yaml").read_text() + "deploy:\n  files:\n    redis.conf: " \
        "{mode: \"0644\"}\n"
    write(resolved / "perfcfg.yaml", text)
    refused = build(resolved, "--set", "postgres.work_mem=8MB")
    assert refused.code == 1 and "error[PCF211]" in refused.err and "0644" in refused.err
    assert secret not in refused.err + refused.out


PARENT = ("supervisor.inet_http_server={port: '127.0.0.1:9001', username: admin, "
          "password: hunter2-xyz}")


def test_class19_a_literal_password_set_in_a_parent_map_is_a_secret(project):
    """--set of a parent map: the password inside is hashed in supervisord.conf and masked
    in the headers, the manifest, --check's output and any code frame."""
    write(project / "presets/staging.yaml", HEAD + "policy:\n  waivers:\n    - {rule: PCF401, "
          "reason: a throwaway password on a test host}\n")
    result = build(project, "--set", PARENT)
    assert result.code == 0, result.err
    out = project / "generated/staging"
    everything = "".join(p.read_text() for p in out.iterdir())
    assert "hunter2" not in everything and "{SHA}" in (out / "supervisord.conf").read_text()
    check = build(project, "--set", PARENT, "--set", "postgres.work_mem=9MB", "--check")
    assert check.code == 3 and "hunter2" not in check.out + check.err
    framed = build(project, "--set", PARENT, "--set", "postgres.work_mem=9XB")
    assert framed.code == 1 and "--set" in framed.err and "hunter2" not in framed.err


@pytest.mark.parametrize("flag, target", [
    ("--postgres", "host=127.0.0.1 port=1 password=hunter2-xyz user"),
    ("--postgres", "host=127.0.0.1 port=1 password='hunter2-xyz"),
    ("--pgbouncer", "postgresql://u:hunter2-xyz@127.0.0.1:1/pgbouncer?sslmode=bogus"),
    ("--redis", "redis://u:hunter2-xyz@127.0.0.1:1/x"),
    ("--supervisor", "http://u:hunter2-xyz@127.0.0.1:1:2"),
])
def test_class19_a_malformed_address_never_shows_its_password(project, flag, target):
    for fmt in ("text", "json"):
        result = run("verify", "--env", "staging", "--project", str(project), "--live", flag,
                     target, "--format", fmt)
        assert result.code == 1, result.err
        assert "hunter2" not in result.out + result.err
        assert "Traceback" not in result.err


# -- class 20: verify --live against endpoints that are no daemon ----------------------------

def test_class20_verify_live_without_live_is_a_usage_error(project):
    result = run("verify", "--env", "staging", "--project", str(project), "--postgres",
                 "host=127.0.0.1 password=hunter2-xyz")
    assert result.code == 2 and "--live" in result.err and "hunter2" not in result.err


@contextlib.contextmanager
def silent_endpoint(kind: str, answer: bytes = b""):
    """A socket that accepts and answers ``answer`` (or nothing) to whatever it is sent."""
    import socket
    import tempfile
    import threading

    if kind == "unix":
        folder = tempfile.mkdtemp(prefix="pf-silent-")
        address: str | tuple[str, int] = f"{folder}/s.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = ("127.0.0.1", 0)
    listener.bind(address)
    listener.listen(8)
    stop = threading.Event()
    held = []

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if answer:
                with contextlib.suppress(OSError):
                    conn.settimeout(2)
                    conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield address if kind == "unix" else listener.getsockname()
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
        if kind == "unix":
            shutil.rmtree(folder, ignore_errors=True)


def test_class20_a_silent_supervisor_endpoint_times_out_as_a_row(project, monkeypatch):
    from perfcfg.services.supervisor import daemon

    monkeypatch.setattr(daemon, "LIVE_TIMEOUT", 1.0)
    monkeypatch.setattr(daemon.live_rpc, "__defaults__", (1.0,))
    for kind in ("unix", "tcp"):
        with silent_endpoint(kind) as where:
            url = f"unix://{where}" if kind == "unix" else f"http://{where[0]}:{where[1]}"
            result = run("verify", "--env", "staging", "--project", str(project), "--live",
                         "--supervisor", url)
        assert result.code == 1 and "(connect)" in result.out + result.err, result.err
        assert "timed out" in (result.out + result.err).lower()


@pytest.mark.parametrize("answer", [b"+OK\r\n", b"$5\r\nhello\r\n", b":1\r\n",
                                    b"*2\r\n$1\r\na\r\n:2\r\n", b"-ERR nope\r\n"])
def test_class20_an_odd_redis_reply_is_a_clean_row(project, answer):
    with silent_endpoint("tcp", answer) as (host, port):
        result = run("verify", "--env", "staging", "--project", str(project), "--live",
                     "--redis", f"redis://{host}:{port}/0")
    assert result.code == 1, result.err
    text = result.out + result.err
    assert "(connect)" in text and "object has no attribute" not in text
    assert "Traceback" not in text


# -- class 22: validate checks every static fact build checks -------------------------------

@pytest.mark.parametrize("ref, says", [
    ("${file:/etc/hostname}", "outside the project"),
    ("${file:../../..}", "outside the project"),
    ("${env:A B}", "not an environment variable name"),
    ("${file:secrets}", "not a regular file"),
    ("${file:queue}", "not a regular file"),
], ids=["absolute", "dotdot", "env-name", "directory", "fifo"])
def test_class22_validate_refuses_a_secret_reference_build_would(project, ref, says):
    (project / "secrets").mkdir()
    os.mkfifo(project / "queue")
    write(project / "presets/staging.yaml", HEAD + f"users:\n  - name: app\n    password: "
          f"\"{ref}\"\n")
    validated = run("validate", "--project", str(project))
    built = build(project, "--secrets", "resolve")
    for result in (validated, built):
        assert result.code == 1 and "error[PCF120]" in result.err and says in result.err, \
            result.err
    assert not (project / "generated").exists()


# -- class 23: limits within the kernel's -----------------------------------------------------

@pytest.mark.parametrize("preset, limit", [
    ("redis:\n  maxclients: 2000000\n", "systemd.redis.LimitNOFILE"),
    ("postgres:\n  max_files_per_process: 2147483647\n", "systemd.postgres.LimitNOFILE"),
    ("supervisor:\n  minfds: 2147483647\n", "systemd.supervisor.LimitNOFILE"),
])
def test_class23_an_fd_limit_above_fs_nr_open_is_refused(project, preset, limit):
    write(project / "presets/staging.yaml", HEAD + preset)
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project))
        assert result.code == 1 and "error[PCF318]" in result.err and limit in result.err
    text = (project / "hosts/vm.yaml").read_text() + "nr_open: 4194304\n"
    write(project / "hosts/vm.yaml", text)           # a host that raised fs.nr_open
    raised = run("validate", "--project", str(project))
    assert ("PCF318" in raised.err) == ("maxclients" not in preset), raised.err


@pytest.mark.parametrize("daemon, flags", [
    ("postgres", ["--memory", "99999999TiB", "--cpus", "4"]),
    ("postgres", ["--memory", "8GiB", "--cpus", "100000"]),
    ("redis", ["--memory", "99999999TiB", "--cpus", "4"]),
    ("pgbouncer", ["--memory", "1GiB", "--cpus", "4", "--connections", "2000000000"]),
], ids=["pg-memory", "pg-cpus", "redis-memory", "pgbouncer-clients"])
def test_class13_tune_prints_only_values_inside_the_catalog(daemon, flags):
    """The calculator keeps its values where build keeps them: inside the target catalog."""
    from perfcfg import model
    from perfcfg.services import registry

    result = run("tune", daemon, *flags, "--format", "json")
    assert result.code in (0, 1), result.err
    service = registry.by_name(daemon)
    checked = 0
    for setting in json.loads(result.out)["settings"]:
        param = service.param(model.Targets(), setting["name"])
        if param is None or param.type not in ("integer", "real", "memory"):
            continue
        service.coerce(param, setting["text"])   # as printed: raises when outside the catalog
        checked += 1
    assert checked


# -- class 24: init writes only a project that validates ---------------------------------------

@pytest.mark.parametrize("envs", [["Prod"], ["staging", "staging"], ["prod eu"], ["1st"]],
                         ids=["capital", "twice", "space", "digit-first"])
def test_class24_init_refuses_environments_that_would_not_validate(tmp_path, envs):
    args = [a for e in envs for a in ("--env", e)]
    result = run("init", str(tmp_path / "new"), "--no-input", *args)
    assert result.code == 2 and "perfcfg: init:" in result.err
    assert not (tmp_path / "new").exists()


def test_class24_what_init_writes_validates(tmp_path):
    result = run("init", str(tmp_path / "new"), "--no-input", "--env", "staging", "--env",
                 "prod-eu", "--name", "shop")
    assert result.code == 0, result.err
    assert run("validate", "--project", str(tmp_path / "new")).code == 0


# -- class 21: where the files go on the host -------------------------------------------------

def deploy(project: Path, files: str) -> None:
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text()
          + "deploy:\n  files:\n" + files)


@pytest.mark.parametrize("file, setting, conf", [
    ("pg_hba.conf", "hba_file", "postgresql.conf"),
    ("users.acl", "aclfile", "redis.conf"),
    ("userlist.txt", "auth_file", "pgbouncer.ini"),
])
def test_class21_a_file_another_names_is_read_where_it_is_deployed(project, file, setting,
                                                                   conf):
    deploy(project, f"    {file}: {{path: /srv/cfg/{file}}}\n")
    assert build(project).code == 0
    out = project / "generated/staging"
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    assert manifest[file]["destination"] == f"/srv/cfg/{file}"
    assert f"/srv/cfg/{file}" in next(line for line in (out / conf).read_text().splitlines()
                                      if line.startswith(setting))


def test_class21_a_preset_that_names_the_file_elsewhere_is_an_error(project):
    deploy(project, "    users.acl: {path: /srv/cfg/users.acl}\n")
    write(project / "presets/staging.yaml", HEAD + "redis:\n  aclfile: /etc/redis/other.acl\n")
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project))
        assert result.code == 1 and "redis.aclfile" in result.err
        assert "deploy.files.users.acl.path" in result.err


@pytest.mark.parametrize("files, says", [
    ("    pg_hba.conf: {path: /etc/postgresql/17/main/postgresql.conf}\n", "both be deployed"),
    ("    userlist.txt: {path: /srv/x}\n    users.acl: {path: /srv/x}\n", "both be deployed"),
    ("    userlist.txt: {mode: \"0666\"}\n", "world-readable"),
    ("    users.acl: {mode: \"0644\"}\n", "world-readable"),
    ("    roles.sql: {mode: \"0777\"}\n", "executable"),
    ("    users.acl: {mode: \"0660\"}\n", "group-writable"),
    ("    postgresql.conf: {mode: \"0646\"}\n", "world-writable"),
    ("    users.acl: {path: /proc/self/mem}\n", "pseudo file system"),
    ("    users.acl: {path: /dev/shm/users.acl}\n", "pseudo file system"),
    ("    users.acl: {path: /etc/redis/}\n", "names a directory"),
    ("    users.acl: {path: /etc/redis/../shadow}\n", "not written plainly"),
    ("    users.acl: {path: //etc/redis/users.acl}\n", "not written plainly"),
    ("    prometheus.yml: {mode: \"0666\"}\n", "world-writable"),
], ids=["shared-with-a-default", "shared", "userlist-0666", "acl-0644", "roles-0777",
        "acl-group-writable", "conf-world-writable", "proc", "dev", "directory", "dotdot",
        "double-slash", "monitoring-world-writable"])
def test_class21_destinations_and_modes_perfcfg_refuses(project, files, says):
    deploy(project, files)
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project))
        assert result.code == 1 and says in result.err, result.err
        assert "internal error" not in result.err
    assert not (project / "generated").exists()


@pytest.mark.parametrize("files", [
    "    pg_hba.conf: {mode: \"0640\"}\n    userlist.txt: {mode: \"0600\", owner: pgbouncer}\n",
    "    postgresql.conf: {mode: \"0644\", path: /etc/postgresql/17/main/postgresql.conf}\n",
    "    redis.conf: {mode: \"0640\"}\n    roles.sql: {mode: \"0400\"}\n",
    "    alerts.yml: {mode: \"0640\"}\n",          # a monitoring file is one perfcfg writes
])
def test_class21_sound_destinations_and_modes_build(project, files):
    deploy(project, files)
    assert run("validate", "--project", str(project)).code == 0
    assert build(project).code == 0


# -- classes 3, 4, 11: one checked, all-or-nothing write path -----------------------------

@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64k"):
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(f"cannot mount a tmpfs: {proc.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> None:
    """Fill the file system of ``path`` to the last byte."""
    for name, chunk in (("fill", 4096), ("fill2", 1)):
        fd = os.open(path / name, os.O_WRONLY | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * chunk):
                pass
        os.close(fd)


def one_clear_line(result) -> None:
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfcfg: "), result.err
    assert "internal error" not in result.err and "bug" not in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("first", [True, False], ids=["first-build", "rebuild"])
def test_class3_a_full_disk_leaves_the_old_set_and_no_temp_files(project, tmp_path, first):
    # room for one build of staging, its monitoring files (about 90 kB) included
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        out = disk / "out"
        if not first:
            assert build(project, "--out", str(out)).code == 0
        before = snapshot_tree(disk) if not first else {}
        fill(disk)
        result = build(project, "--out", str(out), "--set", "postgres.work_mem=8MB")
        one_clear_line(result)
        assert "No space left" in result.err
        (disk / "fill").unlink()
        with contextlib.suppress(FileNotFoundError):
            (disk / "fill2").unlink()
        assert snapshot_tree(disk) == before   # no temp file, nothing half written


def test_class3_short_writes_are_continued(tmp_path, monkeypatch):
    """``os.write`` may write fewer bytes than asked: the rest is written, not dropped."""
    from perfcfg.stages import write as artifacts

    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    data = {"a.conf": b"x" * 10_000 + b"\n", "b.conf": b"y\n"}
    assert artifacts.write(tmp_path / "o", data, frozenset()) == ["a.conf", "b.conf"]
    monkeypatch.undo()
    assert (tmp_path / "o/a.conf").read_bytes() == data["a.conf"]


def test_class3_stray_temp_files_of_an_interrupted_build_are_removed(project):
    assert build(project).code == 0
    out = project / "generated/staging"
    for stray in (".redis.conf.abcd1234.perfcfg-tmp", ".pg_hba.conf.x1y2z3w4",
                  ".userlist.txt.abcdefgh.perfcfg-old"):
        (out / stray).write_text("half")
    (out / ".keep-me").write_text("not perfcfg's")
    assert build(project, "--set", "postgres.work_mem=8MB").code == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".keep-me"]


@pytest.mark.parametrize("blocker", ["redis.conf", "userlist.txt", "supervisord.conf"])
def test_class4_a_directory_in_place_of_a_file_changes_nothing(project, blocker):
    assert build(project).code == 0
    out = project / "generated/staging"
    (out / blocker).unlink()
    (out / blocker).mkdir()
    before = snapshot_tree(out)
    result = build(project, "--set", "postgres.work_mem=8MB")
    one_clear_line(result)
    assert "is a directory" in result.err
    assert snapshot_tree(out) == before


def test_class4_a_failed_rename_puts_the_old_set_back(project, monkeypatch):
    """The last rename fails (a fault between renames): the files already replaced are
    restored, so the directory never holds half of each build."""

    assert build(project).code == 0
    out = project / "generated/staging"
    before = snapshot_tree(out)
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(5, "Input/output error", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    result = build(project, "--set", "postgres.work_mem=8MB", "--set", "redis.hz=20",
                   "--set", "pgbouncer.max_client_conn=900", "--set", "supervisor.minfds=4096")
    one_clear_line(result)
    monkeypatch.undo()
    assert len(calls) > 3 and snapshot_tree(out) == before


def chattr(path: Path, flag: str) -> None:
    proc = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1" and shutil.which("chattr"):
            pytest.fail(f"chattr {flag}: {proc.stderr.strip()}")
        pytest.skip(f"chattr {flag}: {proc.stderr.strip() or 'not available'}")


@pytest.mark.parametrize("kind", ["immutable", "read-only-mount"])
def test_class11_an_unwritable_output_directory_is_one_line(project, tmp_path, kind):
    out = tmp_path / "disk" / "out"
    if kind == "immutable":
        out.mkdir(parents=True)
        chattr(out, "+i")
        cleanup = lambda: chattr(out, "-i")  # noqa: E731
        ctx: contextlib.AbstractContextManager = contextlib.nullcontext()
    else:
        ctx = tmpfs(tmp_path / "disk", "1m")
        cleanup = lambda: None  # noqa: E731
    with ctx:
        if kind == "read-only-mount":
            out.mkdir()
            subprocess.run(["mount", "-o", "remount,ro", str(tmp_path / "disk")], check=True)
        try:
            result = build(project, "--out", str(out))
            one_clear_line(result)
            assert list(out.iterdir()) == []
        finally:
            cleanup()


@pytest.mark.parametrize("target", ["file", "/dev/null", "/proc", "/proc/self", "/sys/kernel"])
def test_class11_out_must_be_a_directory_perfcfg_may_use(project, tmp_path, target):
    if target == "file":
        target = str(write(tmp_path / "a-file", "keep\n"))
    result = build(project, "--out", target)
    one_clear_line(result)
    for check in (build(project, "--out", target, "--check"),):
        one_clear_line(check)
    if target.endswith("a-file"):
        assert Path(target).read_text() == "keep\n"


def test_class11_a_full_stdout_is_one_line_and_exit_1(project):
    proc = subprocess.run(f"{sys.executable} -m perfcfg explain --env staging --project "
                          f"{project} postgres.work_mem > /dev/full", shell=True,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "No space left" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@pytest.mark.parametrize("first", [True, False], ids=["first-build", "rebuild"])
def test_class11_an_append_only_directory_changes_nothing_and_says_so(project, tmp_path,
                                                                      first):
    """chattr +a takes new files but lets none be replaced or removed: the build used to
    leave its temporary files there and say nothing was changed."""
    out = tmp_path / "out"
    out.mkdir()
    if not first:
        assert build(project, "--out", str(out)).code == 0
    before = snapshot_tree(out)
    chattr(out, "+a")
    try:
        result = build(project, "--out", str(out), "--set", "postgres.work_mem=8MB")
        names = sorted(p.name for p in out.iterdir())
    finally:
        chattr(out, "-a")
    one_clear_line(result)
    assert "append-only" in result.err and "nothing was changed" in result.err
    assert not [n for n in names if n.startswith(".")]          # no temporary file left
    assert snapshot_tree(out) == before


# -- class 15: concurrent builds of one environment ---------------------------------------

@pytest.mark.slow
def test_class15_concurrent_builds_never_mix_their_files(project):
    """Eight processes build one environment with different values into one directory, three
    rounds: afterwards every file is the one the manifest of one and the same build names."""
    out = project / "generated/staging"
    for round_ in range(3):
        procs = [subprocess.Popen(
            [sys.executable, "-m", "perfcfg", "build", "--env", "staging", "--project",
             str(project), "--set", f"postgres.work_mem={4 + i + 8 * round_}MB"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT) for i in range(8)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        # The manifest of one build names the digest of every file: a mixed set differs.
        manifest = json.loads((out / "manifest.json").read_text())["files"]
        assert {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
                for name in manifest} == {name: e["sha256"] for name, e in manifest.items()}
        assert sorted(manifest) == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
        assert not [p for p in out.iterdir() if p.name.startswith(".")]


# -- class 17: what a build leaves is quiet on --check -----------------------------------

def test_class17_out_in_the_project_does_not_report_the_inputs_as_extra(project):
    # a build among the inputs is refused (tests/test_option_conflicts.py); --check writes
    # nothing there and names no input as a file perfcfg does not write
    before = snapshot_tree(project)
    assert build(project, "--out", str(project)).code == 2
    assert snapshot_tree(project) == before
    result = build(project, "--out", str(project), "--check")
    assert result.code == 3 and ": missing" in result.err
    assert ": extra" not in result.err, result.err


def test_class17_extra_scan_reads_no_fifo_and_no_big_file(project):
    assert build(project).code == 0
    out = project / "generated/staging"
    os.mkfifo(out / "queue.conf")                   # reading it would block forever
    (out / "redis.conf").unlink()
    os.mkfifo(out / "redis.conf")
    with open(out / "huge.txt", "wb") as f:          # sparse: 3 GB that cost nothing to make
        f.truncate(3 << 30)
    result = build(project, "--check")
    assert result.code == 3 and "queue.conf" not in result.err     # not a file perfcfg writes
    assert "huge.txt: extra" in result.err and "redis.conf: changed" in result.err
    assert len(result.out) < 10_000
    assert build(project).code == 0 and (out / "redis.conf").is_file()


# -- class 5: pass-through keys may not repeat what perfcfg writes -------------------------

PROGRAM = ("workload:\n  programs:\n    - name: worker\n      supervisor:\n        {key}: {value}\n")


@pytest.mark.parametrize("key, value, owner", [
    ("command", '"/bin/sh -c evil"', "command"),
    ("environment", '"EVIL=1"', "environment"),
    ("numprocs", "99", "processes"),
    ("directory", "/tmp", "directory"),
    ("user", "root", "run_as"),
])
def test_class5_a_program_cannot_repeat_a_key_perfcfg_writes(project, key, value, owner):
    write(project / "presets/staging.yaml", HEAD + PROGRAM.format(key=key, value=value))
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project))
        assert result.code == 1 and "error[PCF206]" in result.err, result.err
        assert f"workload.programs.worker.{owner}" in result.err     # both places are named
    assert not (project / "generated").exists()


@pytest.mark.parametrize("preset, first, second", [
    ("postgres:\n  work_mem: 8MB\n  Work_Mem: 16MB\n", "postgres.work_mem", "postgres.Work_Mem"),
    ("redis:\n  slaveof: 10.0.0.1 6379\n  replicaof: 10.0.0.2 6379\n", "redis.slaveof",
     "redis.replicaof"),
    ("redis:\n  hash-max-ziplist-entries: 10\n  hash-max-listpack-entries: 20\n",
     "redis.hash-max-ziplist-entries", "redis.hash-max-listpack-entries"),
], ids=["pg-case", "redis-slaveof", "redis-ziplist"])
def test_class5_one_parameter_under_two_spellings_is_an_error(project, preset, first, second):
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF103]" in result.err
    assert f"{second} sets the same parameter as {first}" in result.err


@pytest.mark.parametrize("key, value, owner", [
    ("Command", "evil", "command"),
    ("NUMPROCS", "9", "processes"),
    ("Environment", '"EVIL=1"', "environment"),
    ("User", "root", "run_as"),
    ("DIRECTORY", "/tmp", "directory"),
])
def test_class5_a_program_key_is_compared_as_supervisord_compares_it(project, key, value,
                                                                    owner):
    """supervisord lower-cases an option's name: Command would be a second command line
    beside perfcfg's, and the last one wins."""
    write(project / "presets/staging.yaml", HEAD + PROGRAM.format(key=key, value=value))
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project))
        assert result.code == 1 and "error[PCF206]" in result.err, result.err
        assert f"workload.programs.worker.{owner}" in result.err
    assert not (project / "generated").exists()


@pytest.mark.parametrize("preset", [
    "workload:\n  programs:\n    - name: worker\n      supervisor:\n        stopwaitsecs: 5\n"
    "        STOPWAITSECS: 9\n",
    "workload:\n  programs:\n    - name: worker\n      supervisor:\n        Priority: 5\n"
    "        priority: 9\n",
])
def test_class5_one_program_option_under_two_spellings_is_an_error(project, preset):
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF103]" in result.err, result.err


@pytest.mark.parametrize("preset, path", [
    ("redis:\n  REQUIREPASS: hunter2-xyz\n", "redis.REQUIREPASS"),
    ("redis:\n  Include: /etc/redis/other.conf\n", "redis.Include"),
    ("postgres:\n  Include_Dir: conf.d\n", "postgres.Include_Dir"),
    ("postgres:\n  CONFIG_FILE: /etc/x.conf\n", "postgres.CONFIG_FILE"),
])
def test_class5_a_managed_key_is_managed_in_any_case(project, preset, path):
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF206]" in result.err and path in result.err
    assert "hunter2-xyz" not in result.err


@pytest.mark.parametrize("value", ["[1, 2]", "{a: 1}", "abc", "1.5"])
def test_class5_program_options_are_checked_like_any_parameter(project, value):
    write(project / "presets/staging.yaml", HEAD + PROGRAM.format(key="stopwaitsecs",
                                                                  value=value))
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "internal error" not in result.err
    assert "workload.programs.worker.supervisor.stopwaitsecs" in result.err


# -- class 6: renames through --set ------------------------------------------------------

RENAMES = {
    "program": ("workload:\n  programs:\n    - name: other\n      command: x\n",
                "workload.programs.other.name=worker"),
    "database": ("databases:\n  - name: other\n    user: app\n", "databases.other.name=app"),
    "user": ("users:\n  - name: other\n    password: ${env:APP_DB_PASSWORD}\n",
             "users.other.name=app"),
    "client": ("clients:\n  - {name: a, user: app}\n  - {name: b, user: app}\n",
               "clients.b.name=a"),
    "redis-user": ("redis:\n  users:\n    - name: other\n      password: ${env:X}\n",
                   "redis.users.other.name=app"),
}


@pytest.mark.parametrize("kind", sorted(RENAMES))
def test_class6_a_rename_onto_another_name_is_an_error(project, kind):
    preset, assignment = RENAMES[kind]
    write(project / "presets/staging.yaml", HEAD + preset)
    assert run("validate", "--project", str(project)).code == 0
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project), "--set", assignment)
        assert result.code == 1 and "error[PCF204]" in result.err
        assert "two items of" in result.err
    assert not (project / "generated").exists()


# -- class 10: user input never becomes an internal error --------------------------------

def _deep_extends(project: Path) -> None:
    for i in range(1000):
        write(project / f"presets/c{i}.yaml", f"extends: [c{i + 1}.yaml]\n" if i < 999 else
              "postgres: {}\n")
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml, c0.yaml]\n")


def _nested(project: Path) -> None:
    write(project / "presets/staging.yaml", HEAD + "postgres:\n  x: " + "[" * 900 + "]" * 900)


# name → (the staging preset, or what writes the project; extra CLI arguments; the code expected)
INTERNAL: dict[str, tuple[str | Callable[[Path], None], tuple[str, ...], str | None]] = {
    "list-in-program-key": (HEAD + PROGRAM.format(key="startsecs", value="[1]"), (), "PCF203"),
    "leading-comma-listen": (HEAD + 'postgres:\n  listen_addresses: ",127.0.0.1"\n', (), None),
    "nul": (HEAD + 'postgres:\n  work_mem: "a\0b"\n', (), "PCF102"),
    "undefined-alias": (HEAD + "postgres:\n  work_mem: *nope\n", (), "PCF102"),
    "5000-digits": (HEAD + "postgres:\n  work_mem: " + "9" * 5000 + "\n", (), "PCF205"),
    "5000-digits-quoted": (HEAD + 'postgres:\n  work_mem: "' + "9" * 5000 + '"\n', (), "PCF20"),
    "5000-digits-set": (HEAD, ("--set", "workload.programs.worker.processes=" + "9" * 5000),
                        "PCF50"),
    "infinity": (HEAD + "postgres:\n  random_page_cost: 1e999\n", (), "PCF20"),
    "nested-900": (_nested, (), "PCF102"),
    "extends-1000": (_deep_extends, (), "PCF116"),
    "secret-in-a-number": (HEAD + "redis:\n  maxmemory: ${env:APP_DB_PASSWORD}\n", (), "PCF204"),
}


@pytest.mark.parametrize("name", sorted(INTERNAL))
def test_class10_hostile_input_is_a_diagnostic(project, name, monkeypatch):
    preset, extra, code = INTERNAL[name]
    monkeypatch.setenv("APP_DB_PASSWORD", "db-password-123")
    if callable(preset):
        preset(project)
    else:
        write(project / "presets/staging.yaml", preset)
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project), *extra)
        assert "internal error" not in result.err and "Traceback" not in result.err, result.err
        assert result.code in (0, 1)
        if code is not None:
            assert result.code == 1 and f"error[{code}" in result.err, result.err


@pytest.mark.parametrize("output", ["generated/\0{env}", "gen\nerated"])
def test_class10_a_control_character_in_output_is_a_diagnostic(project, output):
    text = (project / "perfcfg.yaml").read_text() + f"output: {output!r}\n".replace("'", '"')
    write(project / "perfcfg.yaml", text.replace("\0", "\\0").replace("\n\"", "\\n\""))
    result = build(project)
    assert result.code == 1 and "error[PCF" in result.err and "internal" not in result.err


@pytest.mark.parametrize("args", [
    ["--memory", "1GiB", "--cpus", "1", "--version", "abc"],
    ["--memory", "1GiB", "--cpus", "1", "--version", "16.x"],
    ["--memory", "0", "--cpus", "1"],                       # class 17: exit 0 with 0MB before
    ["--memory", "1KiB", "--cpus", "1"],
])
def test_class10_tune_refuses_bad_flags_as_usage_errors(args):
    result = run("tune", "postgres", *args)
    assert result.code == 2 and "internal error" not in result.err and result.out == ""


# -- class 12: validate (the hook) refuses what build refuses ----------------------------

ENCODER_ONLY = {
    "quote-in-environment": "workload.programs.worker.environment.X='a\"b'",
    "newline-in-environment": 'workload.programs.worker.environment.X="a\\nb"',
    "comment-in-directory": 'workload.programs.worker.directory="/srv/a ;b"',
    "percent-in-command": 'workload.programs.worker.command="a\\x00b"',
    "bad-pgbouncer-name": "databases.app.dbname=" + "x" * 70,
}


@pytest.mark.parametrize("name", sorted(ENCODER_ONLY))
def test_class12_validate_says_what_build_says(project, name):
    assignment = ENCODER_ONLY[name]
    built = run("build", "--env", "staging", "--project", str(project), "--set", assignment)
    checked = run("validate", "--project", str(project), "--set", assignment)
    assert built.code == 1, built.err
    assert checked.code == 1, checked.err

    def codes(text: str) -> set[str]:
        import re

        return set(re.findall(r"error\[(PCF\d+)\]", text))
    assert codes(built.err) == codes(checked.err)


# -- class 13: what is written is what the daemon keeps ----------------------------------

@pytest.mark.parametrize("host", [
    "memory: 16GiB\ncpus: 4096\nstorage: ssd\n",
    "memory: 64TiB\ncpus: 4096\nstorage: nvme\nopen_files: 1073741816\n",
    "memory: 256MiB\ncpus: 1\nstorage: hdd\nopen_files: 256\n",
], ids=["4096-cpus", "64TiB-4096-cpus", "smallest"])
def test_class13_every_tuned_value_is_inside_its_catalog_range(project, host):
    """Whatever the host, a tuned value is one the daemon accepts unchanged: each passes the
    same range check a value written in a preset passes."""
    from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US
    from perfcfg.services.registry import SERVICES
    from perfcfg.stages.pipeline import Request, compile_env

    write(project / "hosts/vm.yaml", host)
    result = compile_env(Request(project, "staging", secrets_mode="placeholder"))
    assert result.plan is not None, result.diagnostics
    services = {s.name: s for s in SERVICES}
    checked = []
    for path, setting in result.plan.settings.items():
        service, _, name = path.partition(".")
        if not setting.tuned or service not in services or "." in name or \
                isinstance(setting.value, bool) or not isinstance(setting.value, (int, float)):
            continue
        assert result.config is not None
        param = services[service].param(result.config.targets, name)
        if param is None or setting.value == -1:
            continue
        # in the catalog's unit: PostgreSQL's GUC units; the other catalogs are in bytes
        own = setting.value / (PG_BASE_BYTES.get(param.unit or "") or
                               PG_BASE_US.get(param.unit or "") or 1)
        assert param.min is None or own >= param.min, (path, own, param)
        assert param.max is None or own <= param.max, (path, own, param)
        checked.append(path)
    assert len(checked) > 20


@pytest.mark.parametrize("preset, code", [
    ("pgbouncer:\n  listen_port: 99999\n", "PCF205"),
    ("pgbouncer:\n  listen_port: 0\n", "PCF205"),
    ("redis:\n  save: [\"900\u00851\"]\n", "PCF102"),
    ("redis:\n  bind: [\"127.0.0.1\u20281.2.3.4\"]\n", "PCF102"),
    ("workload:\n  programs:\n    - name: worker\n      command: \"a\u2029b\"\n", "PCF102"),
], ids=["port-99999", "port-0", "nel-in-save", "ls-in-bind", "ps-in-command"])
def test_class13_values_a_daemon_would_change_are_refused(project, preset, code):
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and f"error[{code}]" in result.err, result.err


@pytest.mark.parametrize("host", ["cpus: true", "cpus: 0", "cpus: 5000", "memory: 1KiB",
                                  "memory: 1PiB", "open_files: 1"])
def test_class13_absurd_host_figures_are_refused(project, host):
    key = host.split(":")[0]
    lines = {"memory": "16GiB", "cpus": "4", "storage": "ssd", "open_files": "65536"}
    lines[key] = host.split(": ")[1]
    write(project / "hosts/vm.yaml", "".join(f"{k}: {v}\n" for k, v in lines.items()))
    result = run("validate", "--project", str(project))
    assert result.code == 1 and f"host.{key}" in result.err, result.err


# -- class 14: a name never changes meaning ----------------------------------------------

@pytest.mark.parametrize("database, user", [("app", "all"), ("replication", "app"),
                                            ("all", "sameuser"), ("samerole", "samegroup")])
def test_class14_hba_keywords_as_names_are_quoted(project, database, user):
    write(project / "presets/staging.yaml", HEAD + f"databases:\n  - name: {database}\n"
          f"    user: {user}\n" + (f"users:\n  - name: {user}\n    password: ${{env:X}}\n"
                                   if user != "app" else "") +
          f"workload:\n  programs:\n    - name: worker\n      database: {database}\n")
    result = build(project)
    assert result.code == 0, result.err
    lines = (project / "generated/staging/pg_hba.conf").read_text().splitlines()
    comment = lines.index(f"# pgbouncer pool {database}/{user}")
    fields = lines[comment + 1].split()
    for name, field in ((database, fields[1]), (user, fields[2])):
        assert field == (f'"{name}"' if name in ("all", "replication", "sameuser", "samerole",
                                                 "samegroup") else name)


@pytest.mark.parametrize("user", ["all", "sameuser", "samerole"])
def test_class14_a_direct_client_named_like_a_keyword_admits_only_that_role(project, user):
    """A client's user is a role: written bare, ``all`` would let every role in."""
    write(project / "presets/staging.yaml", HEAD + f"clients:\n  - name: tool\n"
          f"    user: {user}\n    address: 10.0.0.7/32\n")
    result = build(project)
    assert result.code == 0, result.err
    lines = (project / "generated/staging/pg_hba.conf").read_text().splitlines()
    row = lines[lines.index("# client tool") + 1].split()
    assert row[1] == "all" and row[2] == f'"{user}"', row     # database keyword, user name
    roles = (project / "generated/staging/roles.sql").read_text()
    assert f'"{user}"' in roles                                   # and the role is created


@pytest.mark.parametrize("preset, path", [
    ("users:\n  - name: public\n    password: ${env:X}\n", "users.public.name"),
    ("users:\n  - name: none\n    password: ${env:X}\n", "users.none.name"),
    ("users:\n  - name: pg_app\n    password: ${env:X}\n", "users.pg_app.name"),
    ("databases:\n  - name: app\n    user: pg_owner\n", "databases.app.user"),
    ("clients:\n  - name: tool\n    user: public\n", "clients.tool.user"),
    ("workload:\n  programs:\n    - name: worker\n      user: none\n",
     "workload.programs.worker.user"),
])
def test_class14_reserved_role_names_are_refused(project, preset, path):
    """CREATE ROLE refuses public, none and pg_*, so roles.sql would fail under psql."""
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF204]" in result.err and path in result.err, \
        result.err
    assert "reserved by PostgreSQL" in result.err


def test_class14_names_in_urls_are_percent_encoded(project):
    write(project / "presets/staging.yaml", HEAD + "workload:\n  programs:\n"
          "    - name: worker\n      user: \"bot@x y\"\n")
    assert build(project).code == 0
    conf = (project / "generated/staging/supervisord.conf").read_text()
    assert "postgresql://bot%%40x%%20y@127.0.0.1:6432/app" in conf   # supervisor's %% is %


def test_class14_an_unknown_database_of_a_program_is_an_error(project):
    write(project / "presets/staging.yaml", HEAD + "workload:\n  programs:\n"
          "    - name: worker\n      database: ap\n")
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF204]" in result.err and "did you mean 'app'" in \
        result.err


# -- class 8: reads are confined to the project -----------------------------------------

@pytest.mark.parametrize("ref", ["/etc/hostname", "../outside.txt", "link.txt",
                                 "nested/../../outside.txt"])
def test_class8_secret_files_are_confined_to_the_project(resolved, ref, tmp_path):
    write(tmp_path / "outside.txt", "outside-secret-123\n")
    os.symlink(tmp_path / "outside.txt", resolved / "link.txt")
    result = build(resolved, "--set", f"users.app.password=${{file:{ref}}}")
    assert result.code == 1 and "error[PCF120]" in result.err and "outside the project" in \
        result.err
    assert "outside-secret-123" not in result.out + result.err


def test_class8_secrets_dirs_allows_a_directory(resolved, tmp_path):
    write(tmp_path / "run/secrets/db", "from-run-secrets-1\n")
    text = (resolved / "perfcfg.yaml").read_text().replace(
        "mode: resolve", f"mode: resolve, dirs: [{tmp_path / 'run/secrets'}]")
    write(resolved / "perfcfg.yaml", text)
    assert build(resolved, "--set", "users.app.password=${file:"
                 f"{tmp_path / 'run/secrets/db'}}}").code == 0


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside.yaml", "link.yaml"])
def test_class8_extends_is_confined_and_foreign_lines_are_never_shown(project, target,
                                                                      tmp_path):
    write(tmp_path / "outside.yaml", "postgres: {work_mem: 64MB}\nsecret-line: x\n")
    os.symlink(tmp_path / "outside.yaml", project / "presets/link.yaml")
    write(project / "presets/staging.yaml", f"extends: [builtin:staging, base.yaml, {target}]\n")
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF116]" in result.err and "outside the project" in \
        result.err
    assert "root:" not in result.err and "secret-line" not in result.err


def _shared_presets(project, tmp_path, dirs: str) -> None:
    """A monorepo's shared preset beside the project, and perfcfg.yaml listing ``dirs``."""
    write(tmp_path / "shared/fleet.yaml", "postgres:\n  work_mem: 24MB\n")
    write(tmp_path / "elsewhere/other.yaml", "postgres:\n  work_mem: 48MB\n")
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace("environments:", f"presets: {{dirs: {dirs}}}\n"
                                                 "environments:", 1))


def test_class8_presets_dirs_lets_extends_read_a_shared_directory(project, tmp_path):
    _shared_presets(project, tmp_path, f"[{os.path.relpath(tmp_path / 'shared', project)}]")
    write(project / "presets/staging.yaml",
          "extends: [builtin:staging, base.yaml, ../../shared/fleet.yaml]\n")
    result = run("explain", "postgres.work_mem", "--env", "staging", "--project", str(project))
    assert result.code == 0, result.err
    assert result.out.startswith("postgres.work_mem = 24MB") and "../shared/fleet.yaml:2:" in \
        result.out


@pytest.mark.parametrize("target", ["../../elsewhere/other.yaml", "../../shared/../elsewhere/"
                                    "other.yaml", "link.yaml"])
def test_class8_presets_dirs_allows_only_what_it_lists(project, tmp_path, target):
    _shared_presets(project, tmp_path, f"[{tmp_path / 'shared'}]")
    os.symlink(tmp_path / "elsewhere/other.yaml", tmp_path / "shared/link.yaml")
    if target == "link.yaml":
        target = "../../shared/link.yaml"   # inside the listed directory, pointing out of it
    write(project / "presets/staging.yaml", f"extends: [builtin:staging, base.yaml, {target}]\n")
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF116]" in result.err
    assert "list ../elsewhere there" in result.err   # the hint names the directory to list
    assert "48MB" not in result.err


@pytest.mark.parametrize("host", ["/etc/passwd", "/etc/hostname", "/etc/os-release"])
def test_class8_a_host_file_that_is_not_yaml_is_never_echoed(project, host):
    text = Path(host).read_text()
    result = build(project, "--host", host)
    assert result.code == 1
    assert not any(line.strip() and len(line) > 6 and line in result.err
                   for line in text.splitlines())


SHADOW = ("root:$6$Zq3x$Hq1dD9uWnq0secrethashofroot0000000000000000000000000000000000:19000:"
          "0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")


@pytest.mark.parametrize("how, command, fmt", [
    ("perfcfg.yaml", "validate", "text"), ("perfcfg.yaml", "validate", "json"),
    ("perfcfg.yaml", "validate", "sarif"), ("perfcfg.yaml", "validate", "github"),
    ("perfcfg.yaml", "build", "text"), ("--host", "build", "text"), ("--host", "build", "json"),
])
def test_class8_a_host_profile_outside_the_project_is_never_read(project, tmp_path, how,
                                                                 command, fmt):
    """/etc/shadow parses as YAML (its lines end in :::): read, its hashes would be quoted in
    every report format, and a pull request to perfcfg.yaml makes CI print them."""
    shadow = write(tmp_path / "etc/shadow", SHADOW)
    args = [command, "--project", str(project), "--format", fmt]
    if command == "build":
        args[1:1] = ["--env", "staging"]
    if how == "--host":
        args += ["--host", str(shadow)]
    else:
        text = (project / "perfcfg.yaml").read_text().replace(
            "host: hosts/vm.yaml", f"host: {os.path.relpath(shadow, project)}")
        write(project / "perfcfg.yaml", text)
    result = run(*args)
    assert result.code == 1
    text = result.out + result.err
    assert "outside the project directory" in text and "PCF101" in text
    assert "Zq3x" not in text and "secrethash" not in text and "daemon:*" not in text


def test_class8_hosts_dirs_allows_a_directory_of_profiles(project, tmp_path):
    shared = write(tmp_path / "fleet/vm.yaml", "memory: 8GiB\ncpus: 2\n")
    text = (project / "perfcfg.yaml").read_text().replace(
        "host: hosts/vm.yaml", f"host: {os.path.relpath(shared, project)}")
    write(project / "perfcfg.yaml", text + f"hosts: {{dirs: [{tmp_path / 'fleet'}]}}\n")
    assert run("validate", "--project", str(project)).code == 0
    assert build(project, "--host", str(shared)).code == 0


# -- class 9: reads are bounded ----------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "dev-zero-via-dirs", "huge", "directory"])
def test_class9_secret_files_are_read_with_bounds(resolved, kind):
    path = resolved / "secrets" / "db"
    path.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero-via-dirs":
        text = (resolved / "perfcfg.yaml").read_text().replace(
            "mode: resolve", "mode: resolve, dirs: [/dev]")
        write(resolved / "perfcfg.yaml", text)
        path = Path("/dev/zero")
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(3 << 30)
    else:
        path.mkdir()
    result = build(resolved, "--set", f"users.app.password=${{file:{path}}}")
    assert result.code == 1 and "error[PCF120]" in result.err, result.err


@pytest.mark.parametrize("kind", ["fifo", "huge"])
def test_class9_preset_and_host_files_are_read_with_bounds(project, kind):
    path = project / "hosts/vm.yaml"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as f:
            f.truncate(3 << 30)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and ("PCF101" in result.err or "PCF107" in result.err)


@pytest.mark.daemons
def test_class13_14_postgres_reads_the_hba_names_and_host_names_perfcfg_writes(
        project, start_postgres):
    """A role named ``all``, a database named ``replication`` and a host name in
    listen_addresses: the real PostgreSQL loads the pg_hba.conf perfcfg writes (it refuses
    ``db.example.com/32``), with the names quoted so that they are not keywords."""
    write(project / "hosts/vm.yaml", "memory: 1GiB\ncpus: 1\nstorage: ssd\nopen_files: 65536\n")
    write(project / "presets/staging.yaml", HEAD + "postgres:\n  listen_addresses: "
          "db.example.com\n  ssl: on\n  ssl_cert_file: /x.crt\n  ssl_key_file: /x.key\n"
          "databases:\n  - name: replication\n    user: all\n"
          "users:\n  - name: all\n    password: ${env:X}\n"
          "workload:\n  programs:\n    - name: worker\n      database: replication\n")
    from perfcfg.stages.pipeline import Request, compile_env

    result = compile_env(Request(project, "staging", secrets_mode="placeholder"))
    assert result.ok, result.diagnostics
    hba = result.files["pg_hba.conf"].decode()
    assert 'host   "replication"  "all"' in hba and "db.example.com  " in hba
    pg = start_postgres("shared_buffers = 32MB\n", hba_text=hba)
    rows = pg.query("SELECT database, user_name, address, error FROM pg_hba_file_rules "
                    "WHERE type = 'host'")
    # PostgreSQL 15 shows a quoted name without its quotes; no error means it loaded the file
    assert (["replication"], ["all"], "db.example.com", None) in rows, rows
    assert all(error is None for *_, error in rows), rows


@pytest.mark.parametrize("preset", [
    "workload:\n  programs:\n    - name: worker\n      user: " + "u" * 300 + "\n",
    "databases:\n  - name: app\n    user: " + "u" * 64 + "\n",
    "clients:\n  - {name: c, user: " + "u" * 300_000 + "}\n",
    "clients:\n  - {name: c, user: app, database: " + "d" * 64 + "}\n",
], ids=["program-user", "database-user", "client-user-300k", "client-database"])
def test_class13_names_postgresql_would_truncate_are_refused(project, preset):
    write(project / "presets/staging.yaml", HEAD + preset)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF204]" in result.err and "63" in result.err


@pytest.mark.parametrize("setting", ["cluster_name", "application_name"])
def test_class13_a_name_postgresql_would_cut_is_refused(project, setting):
    write(project / "presets/staging.yaml", HEAD + f"postgres:\n  {setting}: {'a' * 300_000}\n")
    result = run("validate", "--project", str(project))
    assert result.code == 1 and "error[PCF204]" in result.err and "63 bytes" in result.err
    write(project / "presets/staging.yaml", HEAD + f"postgres:\n  {setting}: {'a' * 63}\n")
    assert run("validate", "--project", str(project)).code == 0


# -- class 18: a listen address the daemon cannot bind -------------------------------------

BAD_ADDRESSES = [
    ("redis", "bind", "[127.0.0.256]", "'127.0.0.256' is not an IPv4 address"),
    ("redis", "bind", "[\"127.0.0.1,::1\"]", "holds a comma: this daemon separates addresses "
                                              "with spaces"),
    ("redis", "bind", "[\"bad_host!\"]", "'bad_host!' is neither an IP address nor a host name"),
    ("postgres", "listen_addresses", "\"127.0.0.1 ::1\"", "holds a space: this daemon separates "
                                                          "addresses with a comma"),
    ("postgres", "listen_addresses", "\"10.0.0.5, fe80::zz\"", "'fe80::zz' is not an IPv6 "
                                                               "address"),
    ("pgbouncer", "listen_addr", "\"10.0.0.999\"", "'10.0.0.999' is not an IPv4 address"),
    ("pgbouncer", "listen_addr", "\"db host\"", "holds a space"),
]


@pytest.mark.parametrize("service, key, value, says", BAD_ADDRESSES,
                         ids=[f"{s}-{v}" for s, _, v, _ in BAD_ADDRESSES])
def test_class18_an_address_the_daemon_cannot_bind_is_a_diagnostic(project, service, key,
                                                                    value, says):
    write(project / "presets/staging.yaml", f"{HEAD}{service}:\n  {key}: {value}\n")
    result = run("validate", "--project", str(project), "--format", "json")
    assert result.code == 1
    [found] = [d for d in json.loads(result.out)["diagnostics"] if d["severity"] == "error"]
    assert (found["code"], found["path"], found["file"], found["line"]) == (
        "PCF204", f"{service}.{key}", "presets/staging.yaml", 3)
    assert says in found["message"]


@pytest.mark.parametrize("service, key, value", [
    ("redis", "bind", "[localhost, -::1]"), ("redis", "bind", "[\"127.0.0.1 -::1\"]"),
    ("redis", "bind", "[\"*\", \"-::*\"]"), ("postgres", "listen_addresses", "\"127.0.0.1, ::1\""),
    ("postgres", "listen_addresses", "\"\""), ("pgbouncer", "listen_addr", "\"*\""),
    ("pgbouncer", "listen_addr", "db-1.internal.example"),
])
def test_class18_addresses_and_host_names_the_daemon_binds_pass(project, service, key, value):
    write(project / "presets/staging.yaml", f"{HEAD}{service}:\n  {key}: {value}\n")
    result = run("validate", "--project", str(project), "--format", "json")
    assert not [d for d in json.loads(result.out)["diagnostics"]
                if d["code"] == "PCF204"], result.out


@pytest.mark.daemons
@pytest.mark.parametrize("bind, starts", [
    ("127.0.0.256", False), ("127.0.0.1,::1", False), ("bad_host!", False),
    ("localhost -::1", True), ("127.0.0.1", True),
])
def test_class18_redis_agrees_about_which_binds_it_can_listen_on(project, bind, starts):
    """perfcfg refuses exactly the bind values the real redis-server cannot start with."""
    from conftest import require_daemon

    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require

    require_daemon("redis")
    write(project / "presets/staging.yaml", f"{HEAD}redis:\n  bind: {json.dumps([bind])}\n")
    refused = run("validate", "--project", str(project)).code == 1
    up, log = _stays_up([require("redis-server"), "--port", str(procs.free_port()), "--bind",
                         *bind.split(), "--save", "", "--daemonize", "no", "--logfile", ""])
    assert up == starts, log[-2000:]
    assert refused == (not starts)


def _stays_up(argv: list[str], seconds: float = 4, **popen) -> tuple[bool, str]:
    """Whether a daemon started with ``argv`` is still running after ``seconds`` (it was
    stopped then), and what it printed."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)
    try:
        proc.wait(timeout=seconds)
        up = False
    except subprocess.TimeoutExpired:
        up = True
    finally:
        proc.terminate()
        log = proc.communicate(timeout=30)[0]
    return up, log


@pytest.mark.daemons
@pytest.mark.parametrize("listen, starts", [
    ("127.0.0.1 ::1", False), ("127.0.0.256", False), ("127.0.0.1, ::1", True),
])
def test_class18_postgres_agrees_about_which_listen_addresses_it_can_use(project, pg_template,
                                                                        listen, starts):
    """perfcfg refuses exactly the listen_addresses the real PostgreSQL stops on (a space
    between addresses is "invalid list syntax"; an address it cannot translate, no socket)."""
    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require

    write(project / "presets/staging.yaml",
          f"{HEAD}postgres:\n  listen_addresses: {json.dumps(listen)}\n")
    refused = run("validate", "--project", str(project)).code == 1
    scratch = procs.scratch_dir("pf-listen-", pg_template.account)
    try:
        pg_template.copy_to(f"{scratch}/data")
        up, log = _stays_up(
            [require("postgres", pg_template.version), "-D", f"{scratch}/data", "-p",
             str(procs.free_port()), "-k", scratch, "-c", f"listen_addresses={listen}"],
            **pg_template.account.popen_kwargs())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert up == starts, log[-2000:]
    assert refused == (not starts)


@pytest.mark.slow
def test_class20_a_silent_endpoint_of_every_daemon_times_out_as_a_row(project):
    """PostgreSQL, pgbouncer and Redis endpoints that accept and then say nothing: each is a
    (connect) row after its client's timeout, and verify ends instead of waiting for ever."""
    with silent_endpoint("tcp") as pg, silent_endpoint("tcp") as bouncer, \
            silent_endpoint("tcp") as cache:
        result = run("verify", "--env", "staging", "--project", str(project), "--live",
                     "--postgres", f"host={pg[0]} port={pg[1]} user=u password=hunter2-xyz",
                     "--pgbouncer", f"postgresql://u:hunter2-xyz@{bouncer[0]}:{bouncer[1]}/x",
                     "--redis", f"redis://u:hunter2-xyz@{cache[0]}:{cache[1]}/0")
    text = result.out + result.err
    assert result.code == 1, text
    assert text.count("(connect)") == 3, text
    assert "Traceback" not in text and "hunter2" not in text
