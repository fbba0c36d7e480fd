"""Deploy-ready artifacts: files change only with their content, and manifest.json says where
each one goes, who owns it and its digest."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from helpers import copy_example, run, snapshot_tree, write

from perfcfg.services import registry


def _build(project, env="production", *extra):
    result = run("build", "--env", env, "--project", str(project), "--quiet", *extra)
    assert result.code == 0, result.err
    return result


def test_a_program_environment_change_rewrites_only_supervisord_conf(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _build(project)
    out = project / "generated" / "production"
    before = snapshot_tree(out)
    base = project / "presets" / "base.yaml"
    text = base.read_text()
    assert "PAYMENTS_PROVIDER_TIMEOUT: 20" in text
    base.write_text(text.replace("PAYMENTS_PROVIDER_TIMEOUT: 20", "PAYMENTS_PROVIDER_TIMEOUT: 30"))
    result = run("build", "--env", "production", "--project", str(project), "--format", "json")
    assert result.code == 0, result.err
    after = snapshot_tree(out)
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == ["manifest.json", "supervisord.conf"]
    assert sorted(json.loads(result.out)["written"]) == changed


def test_a_set_for_one_daemon_rewrites_only_its_files(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _build(project)
    out = project / "generated" / "production"
    before = snapshot_tree(out)
    _build(project, "production", "--set", "postgres.work_mem=32MB")
    after = snapshot_tree(out)
    # The override is recorded in the headers of the files whose content it changes only:
    # pg_hba.conf and roles.sql keep their bytes, so nothing reloads for them.
    assert sorted(n for n in after if after[n] != before[n]) == [
        "manifest.json", "postgresql.conf"]
    assert "--set postgres.work_mem=32MB" in (out / "postgresql.conf").read_text()
    assert json.loads((out / "manifest.json").read_text())["overrides"] == [
        "postgres.work_mem=32MB"]


def test_a_set_of_perfcfgs_own_keys_marks_exactly_the_files_it_changes(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _build(project)
    out = project / "generated" / "production"
    before = snapshot_tree(out)
    flag = "workload.programs.payments.processes=3"
    _build(project, "production", "--set", flag)
    after = snapshot_tree(out)
    changed = sorted(n for n in after if after[n] != before[n])
    # more processes: supervisord runs them, pgbouncer pools them, PostgreSQL admits them
    assert {"supervisord.conf", "pgbouncer.ini", "manifest.json"} <= set(changed)
    # a file without perfcfg's header (the manifest, the dashboard's JSON) names no override
    headerless = {n for o in registry.outputs() if not o.header for n in o.names}
    for name in after:
        named = f"--set {flag}" in after[name].decode(errors="replace")
        assert named == (name in changed and name not in headerless), name
    assert "roles.sql" not in changed and "users.acl" not in changed


def test_headers_carry_no_inputs_hash_the_manifest_does(example):
    out = example / "generated" / "production"
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["inputs_sha256"]) == 64
    for path in out.iterdir():
        assert manifest["inputs_sha256"].encode() not in path.read_bytes() or \
            path.name == "manifest.json"


def test_manifest_places_every_file_in_debians_layout(example):
    out = example / "generated" / "production"
    manifest = json.loads((out / "manifest.json").read_text())
    files = manifest["files"]
    assert sorted(files) == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    # production targets PostgreSQL 17 and Valkey 8.1 (perfcfg.yaml)
    assert files["postgresql.conf"]["destination"] == "/etc/postgresql/17/main/postgresql.conf"
    assert (files["pg_hba.conf"]["owner"], files["pg_hba.conf"]["mode"]) == ("postgres", "0640")
    assert files["userlist.txt"] == {**files["userlist.txt"], "owner": "postgres",
                                     "group": "postgres", "mode": "0600",
                                     "destination": "/etc/pgbouncer/userlist.txt"}
    assert (files["valkey.conf"]["destination"], files["valkey.conf"]["daemon"]) == (
        "/etc/valkey/valkey.conf", "valkey")
    assert (files["users.acl"]["owner"], files["users.acl"]["destination"]) == (
        "valkey", "/etc/valkey/users.acl")
    assert files["supervisord.conf"]["destination"].startswith("/etc/supervisor/conf.d/")
    # Deterministic: sorted keys, a trailing newline, the same bytes twice.
    text = (out / "manifest.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_deploy_section_overrides_the_placement(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    conf = project / "perfcfg.yaml"
    conf.write_text(conf.read_text() + "deploy:\n  files:\n    userlist.txt:\n"
                    "      path: /srv/pgb/users.txt\n      owner: pgbouncer\n      mode: \"0640\"\n")
    _build(project)
    entry = json.loads((project / "generated/production/manifest.json").read_text())["files"][
        "userlist.txt"]
    assert (entry["destination"], entry["owner"], entry["group"], entry["mode"]) == \
        ("/srv/pgb/users.txt", "pgbouncer", "postgres", "0640")


def test_deploy_section_naming_an_unknown_file_is_an_error(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    conf = project / "perfcfg.yaml"
    conf.write_text(conf.read_text() + "deploy:\n  files:\n    pgbouncer.conf:\n      owner: x\n")
    result = run("build", "--env", "production", "--project", str(project))
    assert result.code == 1
    assert "deploy.files names 'pgbouncer.conf'" in result.err
    assert not (project / "generated").exists()


# -- worker environment and supervisor's expansions ----------------------------------------

WORKER = """\
workload:
  programs:
    - name: web
      command: [/bin/bash, -c, "sleep 1000; exit", web, --port, "81%(process_num)02d"]
      processes: 3
      memory: 50MiB
      directory: "%(here)s"
      environment:
        API_KEY: ${env:API_KEY}
        REDIS_PASSWORD_FILE: /run/secrets/redis
        GREETING: "50% off for %(program_name)s"
      supervisor:
        stdout_logfile: /var/log/app/%(program_name)s-%(process_num)d.log
"""


# the project fixture's own secrets, for the builds that resolve them
FIXTURE_SECRETS = {"APP_DB_PASSWORD": "app-db-pw-0123", "APP_REDIS_PASSWORD": "app-rd-pw-0123"}


def _with_worker(project, programs: str = WORKER, monkeypatch=None):
    for key, value in FIXTURE_SECRETS.items():
        if monkeypatch is not None:
            monkeypatch.setenv(key, value)
    base = project / "presets" / "base.yaml"
    text = base.read_text()
    base.write_text(text[:text.index("workload:")] + programs)
    return project


def test_env_references_are_resolved_into_the_programs_section_and_expansions_stay_live(
        project, monkeypatch):
    _with_worker(project, WORKER.replace("        GREETING", "        DSN: postgresql://app:"
                                         "${file:secrets/db}@db/app\n        GREETING"),
                 monkeypatch)
    (project / "secrets").mkdir()
    (project / "secrets/db").write_text("from-a-file-0123\n")
    monkeypatch.setenv("API_KEY", "k-from-the-build-0123")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve")
    assert result.code == 0, result.err
    assert "PCF401" not in result.err          # a *_FILE path is not a plaintext secret
    conf = (project / "generated/staging/supervisord.conf").read_text()
    assert "command = /bin/bash -c 'sleep 1000; exit' web --port '81%(process_num)02d'" in conf
    # the secret is the program's own, in its own section of the 0600 file
    assert 'API_KEY="k-from-the-build-0123"' in conf
    assert 'DSN="postgresql://app:from-a-file-0123@db/app"' in conf
    assert (project / "generated/staging/supervisord.conf").stat().st_mode & 0o777 == 0o600
    assert 'GREETING="50%% off for %(program_name)s"' in conf
    assert "directory = %(here)s" in conf
    assert "stdout_logfile = /var/log/app/%(program_name)s-%(process_num)d.log" in conf
    # and never on a terminal
    assert "k-from-the-build-0123" not in result.out + result.err
    # a placeholder build writes placeholders, never the value
    placeholder = run("build", "--env", "staging", "--project", str(project), "--out",
                      str(project / "review"))
    assert placeholder.code == 0, placeholder.err
    review = (project / "review/supervisord.conf").read_text()
    assert "k-from-the-build-0123" not in review and 'API_KEY="placeholder-' in review


def test_a_secret_of_a_program_that_reaches_another_file_is_still_a_leak(project, monkeypatch):
    """PCF211 lets a program's secret into supervisord.conf only: the same reference given to a
    setting of another file that is no secret's slot is still refused, naming that setting."""
    _with_worker(project, monkeypatch=monkeypatch)
    base = project / "presets/base.yaml"
    text = base.read_text()
    base.write_text(text.replace("redis:\n", "redis:\n  masteruser: ${env:API_KEY}\n", 1))
    monkeypatch.setenv("API_KEY", "k-from-the-build-0123")
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve")
    assert result.code == 1
    first = result.err.split("PCF211", 1)[1].splitlines()[0]
    assert "redis.masteruser" in first and "supervisord.conf" not in first


def _proc(pid: int, name: str) -> list[str]:
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read().decode().split("\0")


@pytest.mark.daemons
def test_supervisord_gives_each_process_its_port_and_the_key_from_its_section(
        project, start_supervisord, monkeypatch):
    _with_worker(project, monkeypatch=monkeypatch)
    monkeypatch.setenv("API_KEY", "k-from-the-build-0123")
    assert run("build", "--env", "staging", "--project", str(project), "--secrets",
               "resolve").code == 0
    conf = (project / "generated/staging/supervisord.conf").read_text()
    monkeypatch.delenv("API_KEY")        # supervisord's own environment carries no secret
    sup = start_supervisord(conf)
    procs = sorted(sup.process_info(), key=lambda p: p["name"])
    assert [p["name"] for p in procs] == ["web_00", "web_01", "web_02"]
    ports = [_proc(p["pid"], "cmdline")[-2] for p in procs]
    assert ports == ["8100", "8101", "8102"]
    for p in procs:
        env = dict(item.split("=", 1) for item in _proc(p["pid"], "environ") if "=" in item)
        assert env["API_KEY"] == "k-from-the-build-0123"
        assert env["REDIS_PASSWORD_FILE"] == "/run/secrets/redis"
        assert env["GREETING"] == "50% off for web"
        assert os.readlink(f"/proc/{p['pid']}/cwd") == sup.dir


# -- check/build advice that works -------------------------------------------------------

def test_a_hand_edit_is_told_where_each_value_belongs(example, monkeypatch):
    monkeypatch.chdir(example)
    conf = example / "generated/production/postgresql.conf"
    text = conf.read_text()
    edited = {"work_mem": "32MB", "log_min_duration_statement": "1s"}
    for key, value in edited.items():
        line = next(x for x in text.splitlines() if x.startswith(f"{key} = "))
        text = text.replace(line, f"{key} = {value}")
    conf.write_text(text + "wal_writer_delay = 100ms\n")
    cache = example / "generated/production/valkey.conf"
    cache.write_text(cache.read_text().replace("\nmaxmemory 4gb\n", "\nmaxmemory 3gb\n"))
    result = run("check", "--env", "production")
    assert result.code == 3
    said = "generated/production/postgresql.conf says"
    assert "postgresql.conf was edited by hand since the last build" in result.err
    # tuned: never pinned, explain says what it follows
    assert f"{said} work_mem = 32MB; perfcfg tuned it, and the next build writes it again: " \
        "to move it, change what it follows (perfcfg explain --env production " \
        "postgres.work_mem)" in result.err
    assert "write postgres.work_mem" not in result.err
    # written by a built-in preset: the environment's preset overrides it
    assert f"{said} log_min_duration_statement = 1s; perfcfg's built-in preset writes it " \
        "(builtin:production:" in result.err
    # written by the project's own preset: change it there
    assert "generated/production/valkey.conf says maxmemory = 3gb; it comes from " \
        "presets/production.yaml:19:14: change it there, then rebuild" in result.err
    # left to the daemon: the one value to write in the preset
    assert f"{said} wal_writer_delay = 100ms, which perfcfg leaves to the daemon: to keep it, " \
        "write postgres.wal_writer_delay: 100ms in the environment's preset" in result.err
    # build says what it replaces, before the edit is gone
    built = run("build", "--env", "production", "--quiet")
    assert built.code == 0
    assert "replacing generated/production/postgresql.conf, which was edited by hand" in \
        built.err and f"{said} work_mem = 32MB" in built.err


def test_presets_changed_since_the_build_say_rebuild_and_nothing_else(example, monkeypatch):
    monkeypatch.chdir(example)
    base = example / "presets/base.yaml"
    base.write_text(base.read_text().replace("processes: 4", "processes: 5", 1))
    result = run("check", "--env", "production")
    assert result.code == 3
    assert "the presets or the host profile changed since the last build; run: perfcfg " \
        "build --env production" in result.err
    assert "edited by hand" not in result.err and " says " not in result.err
    built = run("build", "--env", "production")
    assert built.code == 0 and "replacing" not in built.err


def test_prune_removes_only_what_an_earlier_build_wrote(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    out = project / "generated/production"
    _build(project)
    (out / "notes.txt").write_text("mine\n")
    # An earlier build wrote old.conf (its manifest lists it); this one does not.
    (out / "old.conf").write_text("x\n")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["old.conf"] = {}
    (out / "manifest.json").write_text(json.dumps(manifest))
    checked = run("build", "--env", "production", "--project", str(project), "--check")
    assert checked.code == 3
    assert "1 file(s) an earlier build wrote and this one does not; run: perfcfg build " \
        "--env production" in checked.err and "--prune" in checked.err
    result = run("build", "--env", "production", "--project", str(project), "--prune",
                 "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["removed"] == ["old.conf"]
    assert not (out / "old.conf").exists() and (out / "notes.txt").read_text() == "mine\n"


def test_overlay_applies_a_preset_file_above_the_presets_and_below_set(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    overlay = write(project / "rehearsal.yaml", "postgres:\n  port: 15432\n  work_mem: 6MB\n"
                    "pgbouncer:\n  listen_port: 16432\n")
    out = tmp_path / "rehearsal"
    result = run("build", "--env", "production", "--project", str(project), "--overlay",
                 str(overlay), "--set", "postgres.work_mem=7MB", "--out", str(out))
    assert result.code == 0, result.err
    pg = (out / "postgresql.conf").read_text()
    assert "\nport = 15432\n" in pg and "\nwork_mem = 7MB\n" in pg
    assert "port=15432" in (out / "pgbouncer.ini").read_text()
    assert "127.0.0.1:16432/botfarm" in (out / "supervisord.conf").read_text()
    assert "rehearsal.yaml" in json.loads((out / "manifest.json").read_text())["presets"][-1]


def test_an_overlay_mistake_is_named_as_an_overlay_and_as_typed(tmp_path, monkeypatch):
    project = copy_example(tmp_path, with_generated=False)
    write(tmp_path / "elsewhere.yaml", "postgres:\n  port: 15432\n")
    monkeypatch.chdir(tmp_path)
    outside = run("build", "--env", "production", "--project", str(project), "--overlay",
                  "elsewhere.yaml", "--out", "out")
    assert outside.code == 1
    assert "error[PCF116]: --overlay names elsewhere.yaml, which is outside the project " \
        "directory" in outside.err
    typo = run("build", "--env", "production", "--project", str(project), "--overlay",
               "botfarm/presets/bse.yaml", "--out", "out")
    assert typo.code == 1 and "error[PCF113]" in typo.err
    # an --overlay path is relative to where perfcfg runs, not to a file naming it: the
    # suggestion is written from there too
    assert "did you mean 'botfarm/presets/base.yaml'? (paths are relative to where perfcfg " \
        "runs)" in typo.err
    assert not (tmp_path / "out").exists()


def _named_by() -> list[tuple[str, str]]:
    from perfcfg.services import registry

    return sorted((output.named_by, output.name) for service in registry.SERVICES
                  for output in service.outputs if output.named_by)


@pytest.mark.parametrize(("setting", "name"), _named_by())
def test_the_manifest_places_a_file_where_the_setting_naming_it_says(example, setting, name):
    where = f"/srv/elsewhere/{name}"
    result = run("build", "--env", "production", "--project", str(example), "--set",
                 f"{setting}={where}", "--out", str(example / "out"))
    assert result.code == 0, result.err
    files = json.loads((example / "out/manifest.json").read_text())["files"]
    assert files[name]["destination"] == where
    # and without the setting, next to its daemon's other files
    plain = json.loads((example / "generated/production/manifest.json").read_text())["files"]
    assert plain[name]["destination"] != where
    assert plain[name]["destination"].startswith("/etc/")


def test_pg_ident_conf_goes_where_ident_file_says_and_a_new_one_needs_a_reload(example):
    found = json.loads((example / "generated/staging/manifest.json").read_text())["files"]
    conf = (example / "generated/staging/postgresql.conf").read_text()
    assert f"ident_file = '{found['pg_ident.conf']['destination']}'" in conf
    (example / "generated/staging/pg_ident.conf").unlink()
    result = run("build", "--env", "staging", "--project", str(example), "--format", "json")
    assert json.loads(result.out)["actions"]["postgres"] == {
        "action": "reload", "because": ["pg_ident.conf (new)"],
        "how": "systemctl reload postgresql@17-main (or SELECT pg_reload_conf())"}
