"""Secrets: SCRAM and ACL hash formats with known answers, no plaintext in any output, never
printed by diagnostics or explain."""

import base64
import hashlib
import hmac
import json
import os
import re

import pytest
from helpers import ENVS, copy_example, run, write

from perfcfg.core import redact
from perfcfg.services import registry
from perfcfg.services.postgres import secrets as pg_secrets
from perfcfg.services.redis import secrets as redis_secrets
from perfcfg.services.supervisor import secrets as sup_secrets
from perfcfg.stages.render import FILES, OPTIONAL_FILES

SCRAM = re.compile(r"^SCRAM-SHA-256\$4096:(?P<salt>[A-Za-z0-9+/]{22}==)"
                   r"\$(?P<stored>[A-Za-z0-9+/]{43}=):(?P<server>[A-Za-z0-9+/]{43}=)$")

# Real-looking values, each unlikely to occur in a file by chance.
EXAMPLE_SECRETS = {
    "BOTFARM_DB_PASSWORD": "Db-pw.7f3kQ2xZ",
    "BOTFARM_PGBOUNCER_ADMIN_PASSWORD": "Adm1n_pw-9LmR4t",
    "BOTFARM_REDIS_PASSWORD": "redis-Pw_Hx83vQe",
    "BOTFARM_REDIS_EXPORTER_PASSWORD": "exporter-Pw_4kT9zQ",
    "SUP_PASSWORD": "sup-Pw_71xQ",
}


def test_scram_secret_has_postgresql_format_and_a_stable_derived_salt():
    secret = pg_secrets.scram_sha256("correct horse", "bot")
    m = SCRAM.match(secret)
    assert m, secret
    assert base64.b64decode(m["salt"]) == pg_secrets.scram_salt("correct horse", "bot")
    assert secret == pg_secrets.scram_sha256("correct horse", "bot")
    assert secret != pg_secrets.scram_sha256("correct horse", "bot2")   # salt differs per user
    assert "correct horse" not in secret


def test_scram_secret_known_answer_rfc7677():
    """RFC 7677 §3: user 'user', password 'pencil'. A server holding our StoredKey/ServerKey must
    accept the RFC's client proof and send the RFC's server signature."""
    salt_b64 = "W22ZaJ0SNY7soEsUEjb6gQ=="
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    secret = pg_secrets.scram_sha256("pencil", "user", 4096, base64.b64decode(salt_b64))
    assert secret.startswith(f"SCRAM-SHA-256$4096:{salt_b64}$")
    stored_b64, server_b64 = secret.split("$")[2].split(":")
    stored, server = base64.b64decode(stored_b64), base64.b64decode(server_b64)
    auth_message = (f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s={salt_b64},i=4096,"
                    f"c=biws,r={nonce}").encode()
    signature = hmac.new(server, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored


def test_scram_secret_matches_a_step_by_step_computation():
    salt = bytes(range(16))
    salted = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = base64.b64encode(hashlib.sha256(client_key).digest()).decode()
    server = base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha256).digest()).decode()
    assert pg_secrets.scram_sha256("s3cret", "bot", salt=salt) == \
        f"SCRAM-SHA-256$4096:{base64.b64encode(salt).decode()}${stored}:{server}"


def test_supervisor_password_hash_known_answer():
    # FIPS 180-1 test vector: SHA-1("abc").
    assert sup_secrets.password_hash("abc") == \
        "{SHA}a9993e364706816aba3e25717850c26c9cd0d89d"


def test_redis_password_hash_known_answer():
    # FIPS 180-2 test vector: SHA-256("abc").
    assert redis_secrets.password_hash("abc") == \
        "#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("line, shown", [
    ("    password: hunter2", "    password: ***"),
    ("    password: 'two words'", "    password: ***"),
    ("  - {name: bot, password: hunter2, admin: true}",
     "  - {name: bot, password: ***, admin: true}"),
    ("  environment: {API_TOKEN: abc123}", "  environment: {API_TOKEN: ***}"),
    ("    password: ${env:BOT_PW}", "    password: ${env:BOT_PW}"),
    ("  password_encryption: md5", "  password_encryption: md5"),
])
def test_redact_line(line, shown):
    assert redact.mask_line(line) == shown


# -- the example, built with real-looking secrets -----------------------------------------

@pytest.fixture
def resolved_example(tmp_path, monkeypatch):
    for name, value in EXAMPLE_SECRETS.items():
        monkeypatch.setenv(name, value)
    root = copy_example(tmp_path, with_generated=False)
    with (root / "presets/base.yaml").open("a") as f:   # a fourth secret, in supervisord.conf
        f.write("supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n"
                "    username: ops\n    password: ${env:SUP_PASSWORD}\n")
    for env in ENVS:
        result = run("build", "--env", env, "--project", str(root), "--secrets", "resolve")
        assert result.code == 0, result.err
        for value in EXAMPLE_SECRETS.values():
            assert value not in result.out + result.err
    return root


def test_no_generated_file_holds_a_secret_in_plaintext(resolved_example):
    files = sorted((resolved_example / "generated").rglob("*"))
    # every file once per environment; the cache daemon's is redis.conf or valkey.conf; only
    # production asks for the limits' files (four drop-ins, sysctl.conf, tmpfiles.conf);
    # staging and production are monitored (the monitoring files)
    assert len([p for p in files if p.is_file()]) == \
        (len(set(FILES) - OPTIONAL_FILES) - 1) * len(ENVS) + 6 + 2 * len(registry.MONITORING)
    for path in files:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for value in EXAMPLE_SECRETS.values():
            for form in (value, value.lower(), base64.b64encode(value.encode()).decode()):
                assert form.encode() not in data, f"{form!r} in {path}"


def test_the_secrets_reach_the_files_as_hashes(resolved_example):
    for env in ENVS:
        out = resolved_example / "generated" / env
        userlist = (out / "userlist.txt").read_text()
        assert f'"bot" "{pg_secrets.scram_sha256(EXAMPLE_SECRETS["BOTFARM_DB_PASSWORD"], "bot")}"' \
            in userlist
        acl = (out / "users.acl").read_text()
        assert redis_secrets.password_hash(EXAMPLE_SECRETS["BOTFARM_REDIS_PASSWORD"]) in acl
        assert acl.splitlines()[0].startswith("user default off")
        conf = "redis.conf" if env == "development" else "valkey.conf"   # the targets'
        assert "placeholder" not in (out / conf).read_text().lower()
        sup = sup_secrets.password_hash(EXAMPLE_SECRETS["SUP_PASSWORD"])
        assert f"password = {sup}" in (out / "supervisord.conf").read_text()


def test_explain_never_shows_a_secret(tmp_path, monkeypatch):
    for name, value in EXAMPLE_SECRETS.items():
        monkeypatch.setenv(name, value)
    root = copy_example(tmp_path, with_generated=False)
    project_file = root / "perfcfg.yaml"
    project_file.write_text(project_file.read_text().replace("mode: placeholder", "mode: resolve"))
    with (root / "presets/production.yaml").open("a") as f:
        f.write("supervisor:\n  inet_http_server:\n    port: 127.0.0.1:9001\n"
                "    username: ops\n    password: ${env:SUP_PASSWORD}\n")
    for path in ("supervisor.inet_http_server.password", "users.bot.password",
                 "redis.aclfile"):
        for fmt in ("text", "json"):
            result = run("explain", "--env", "production", "--project", str(root), path,
                         "--format", fmt)
            assert result.code == 0, result.err
            for value in EXAMPLE_SECRETS.values():
                assert value not in result.out + result.err


@pytest.mark.parametrize("command", ["build", "explain"])
def test_a_password_given_with_set_is_never_printed(project, command):
    args = ["--env", "staging", "--project", str(project), "--set", "users.app.password=Set-pw.9q"]
    for fmt in ("text", "json"):
        for extra in (["users.app.password"], ["users.app"], ["users"]) \
                if command == "explain" else ([],):
            result = run(command, *args, "--format", fmt, *extra)
            assert "Set-pw.9q" not in result.out + result.err
        assert ("PCF401" in result.out + result.err) == (command == "build")


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_a_plaintext_password_is_reported_but_never_printed(project, fmt):
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "users:\n  - name: app\n    password: Hunter2-zz\n")
    result = run("validate", "--project", str(project), "--format", fmt)
    assert result.code == 1
    assert "PCF401" in result.out + result.err
    assert "Hunter2-zz" not in result.out + result.err


def test_a_missing_secret_fails_the_build_and_writes_nothing(project, monkeypatch):
    monkeypatch.delenv("APP_DB_PASSWORD", raising=False)
    monkeypatch.setenv("APP_REDIS_PASSWORD", "x-redis-pw")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve",
                 "--format", "json")
    assert result.code == 1
    found = json.loads(result.out)
    assert "APP_DB_PASSWORD" in json.dumps(found) and "x-redis-pw" not in result.out
    assert not (project / "generated").exists()


def test_a_non_ascii_password_is_refused(project, monkeypatch):
    monkeypatch.setenv("APP_DB_PASSWORD", "pässwort")
    monkeypatch.setenv("APP_REDIS_PASSWORD", "x-redis-pw")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve")
    assert result.code == 1 and "PCF121" in result.err and "pässwort" not in result.err


def test_a_secret_slot_in_clear_is_written_0600_and_deployed_0640(project, monkeypatch):
    """masterauth has no hashed form: it is a secret slot, written in clear into a redis.conf
    that only its owner reads here and that the manifest keeps 0640 on the host."""
    for name, value in (("APP_DB_PASSWORD", "x-db-pw-long"), ("APP_REDIS_PASSWORD", "x-rd-pw-long"),
                        ("PRIMARY_PW", "Pw.4")):
        monkeypatch.setenv(name, value)
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "redis:\n  masterauth: ${env:PRIMARY_PW}\n")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve")
    assert result.code == 0, result.err
    out = project / "generated/staging"
    assert "masterauth Pw.4" in (out / "redis.conf").read_text()
    assert (out / "redis.conf").stat().st_mode & 0o777 == 0o600
    assert json.loads((out / "manifest.json").read_text())["files"]["redis.conf"]["mode"] == \
        "0640"
    assert "Pw.4" not in result.err + result.out


@pytest.mark.parametrize("setting, code", [
    ("redis:\n  requirepass: ${env:X}\n", "PCF206"),
    ("redis:\n  tls-key-file-pass: literal-pw\n", "PCF401"),
    ("redis:\n  masterauth: literal-pw\n", "PCF401"),
])
def test_redis_password_directives(project, setting, code):
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n" + setting)
    result = run("validate", "--project", str(project))
    assert result.code == 1 and f"[{code}]" in result.err and "literal-pw" not in result.err


def test_a_missing_secret_is_one_error_per_reference_and_nothing_else(tmp_path, monkeypatch):
    # The admin user is declared; its unresolvable password must not also be reported as
    # "missing from the auth file" (PCF415).
    project = copy_example(tmp_path, with_generated=False)
    (project / "perfcfg.yaml").write_text((project / "perfcfg.yaml").read_text().replace(
        "mode: placeholder", "mode: resolve"))
    for name in [k for k in os.environ if k.startswith("BOTFARM_")]:
        monkeypatch.delenv(name)
    result = run("build", "--env", "staging", "--project", str(project))
    codes = [line.split("]")[0] for line in result.err.splitlines() if line.startswith("error[")]
    assert result.code == 1 and codes == ["error[PCF120"] * 4, result.err


def test_the_readme_deploy_build_works_as_written_and_leaves_generated_alone(tmp_path):
    """README "Deploying", step 1: with each '…' filled in, the command builds (it names every
    variable the example needs) and writes outside the committed placeholder build."""
    import shutil

    from helpers import EXAMPLE, ROOT, group, run_as_printed, snapshot_tree

    text = (ROOT / "README.md").read_text().split("## Deploying", 1)[1].split("\n2. ", 1)[0]
    command = " ".join(group(re.search(r"`(BOTFARM_[^`]+)`", text, re.S)).split())
    command = command.replace("…", "correct-horse-battery").replace("/tmp/", f"{tmp_path}/")
    shutil.copytree(EXAMPLE, tmp_path / "examples/botfarm")    # the commands' paths, from a copy
    before = snapshot_tree(tmp_path / "examples/botfarm/generated")
    done = run_as_printed(command, tmp_path)
    assert done.returncode == 0, (command, done.stderr)
    assert (tmp_path / "botfarm-production/userlist.txt").exists(), done.stderr
    assert snapshot_tree(tmp_path / "examples/botfarm/generated") == before


def test_a_missing_secret_file_is_named_from_where_perfcfg_runs(project, monkeypatch):
    # ${file:} paths are read from the project directory; a person runs perfcfg from elsewhere
    monkeypatch.setenv("APP_REDIS_PASSWORD", "x-redis-pw")
    monkeypatch.chdir(project.parent)
    write(project / "presets/staging.yaml", (project / "presets/staging.yaml").read_text()
          + "users:\n  - name: app\n    password: ${file:secrets/db}\n")
    args = ("build", "--env", "staging", "--project", project.name, "--secrets", "resolve",
            "--out", "out")
    result = run(*args)
    assert result.code == 1
    here = f"{project.name}/secrets/db"
    assert f"cannot read secret file secrets/db ({here}): " in result.err
    assert f"hint: write the secret to {here} (a ${{file:…}} path is read from the project " \
        "directory)" in result.err
    # as printed, the path works from here
    write(project.parent / here, "s3cret-from-file\n")
    again = run(*args)
    assert again.code == 0, again.err
    assert "s3cret-from-file" not in again.err + again.out


def test_a_missing_variable_hint_names_the_variable_to_export(project, monkeypatch):
    monkeypatch.delenv("APP_DB_PASSWORD", raising=False)
    monkeypatch.setenv("APP_REDIS_PASSWORD", "x-redis-pw")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets",
                 "resolve")
    assert result.code == 1
    assert "hint: export APP_DB_PASSWORD=… for the build, or build with --secrets placeholder" \
        in result.err
