"""Validation reports every problem of a run at once, each with file:line:column and path."""

import pytest
from helpers import compile_with, run, span_of, write


def diags_for(project, text):
    result = compile_with(project, text, render=False)
    return [(d.code, d.span.line if d.span else None, d.path, d.message, d.hint)
            for d in result.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("text, code, line, path, hint", [
    ("postgres:\n  shared_bufers: 1GB\n", "PCF201", 3, "postgres.shared_bufers", "shared_buffers"),
    ("postgres:\n  work_mem: 64mb\n", "PCF204", 3, "postgres.work_mem", "case-sensitive"),
    ("postgres:\n  statement_timeout: 5m\n", "PCF204", 3, "postgres.statement_timeout", None),
    ("postgres:\n  max_connections: 0\n", "PCF205", 3, "postgres.max_connections", None),
    ("postgres:\n  wal_level: archive\n", "PCF204", 3, "postgres.wal_level", "minimal, replica, logical"),
    ("pgbouncer:\n  pool_mode: turbo\n", "PCF204", 3, "pgbouncer.pool_mode", "session"),
    ("pgbouncer:\n  query_wait_timeout: 30s\n", "PCF204", 3, "pgbouncer.query_wait_timeout", "plain seconds"),
    ("pgbouncer:\n  max_client_con: 10\n", "PCF201", 3, "pgbouncer.max_client_con", "max_client_conn"),
    ("redis:\n  maxmemory: 1tb\n", "PCF204", 3, "redis.maxmemory", "powers of 1024"),
    ("redis:\n  maxmemory-policy: lru\n", "PCF204", 3, "redis.maxmemory-policy", "allkeys-lru"),
    ("redis:\n  role: queue\n", "PCF204", 3, "redis.role", None),
    ("supervisor:\n  minfd: 10\n", "PCF201", 3, "supervisor.minfd", "minfds"),
    ("postgres:\n  include: other.conf\n", "PCF206", 3, "postgres.include", None),
    ("workload:\n  programs:\n    - name: worker\n      procesess: 3\n", "PCF201", 5,
     "workload.programs.worker.procesess", "processes"),
    ("workload:\n  programs:\n    - name: worker\n      memory: lots\n", "PCF204", 5,
     "workload.programs.worker.memory", None),
    ("workloads: {}\n", "PCF201", 2, "workloads", "workload"),
    ("clients:\n  - name: bi\n    user: bi\n    address: 10.0.0.0/33\n", "PCF204", 5,
     "clients.bi.address", None),
], ids=lambda v: v if isinstance(v, str) and v.startswith("PCF") else None)
def test_one_mistake_one_precise_diagnostic(project, text, code, line, path, hint):
    found = diags_for(project, text)
    assert [(c, ln, p) for c, ln, p, _, _ in found] == [(code, line, path)], found
    if hint:
        assert hint in (found[0][4] or "") + found[0][3]


def test_unknown_key_points_at_the_key_not_its_value(project):
    # The value is a block mapping on the next lines; the caret belongs under the key.
    result = compile_with(project, "workload:\n  programs:\n    - name: worker\n      env:\n"
                          "        MODE: fast\n", render=False)
    found = [(d.code, span_of(d).line, span_of(d).column, d.path) for d in result.diagnostics
             if d.severity == "error"]
    assert found == [("PCF201", 5, 7, "workload.programs.worker.env")]


def test_unknown_key_inside_an_environment_gets_a_did_you_mean(project):
    # environments is a mapping of records: the environment name in the path is not a field.
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace(" host:", " hots:", 1))
    result = compile_with(project, render=False)
    found = [(d.code, d.path, d.hint) for d in result.diagnostics if d.code == "PCF201"]
    assert found == [("PCF201", "environments.staging.hots", "did you mean 'host'?")]


@pytest.mark.parametrize("storage, hint", [
    ("nvm", "did you mean 'nvme'?"),
    ("SSD", "did you mean 'ssd'? (written in lower case)"),
    ("NVMe", "did you mean 'nvme'? (written in lower case)"),
    ("tape", "allowed: 'hdd', 'ssd', 'san' or 'nvme'"),
])
def test_a_misspelt_choice_gets_a_did_you_mean(project, storage, hint):
    write(project / "hosts/vm.yaml", f"memory: 16GiB\ncpus: 4\nstorage: {storage}\n")
    result = compile_with(project, render=False)
    assert [(d.code, d.path, d.hint) for d in result.diagnostics if d.severity == "error"] == [
        ("PCF204", "host.storage", hint)]


def test_missing_key_points_at_the_mapping_that_lacks_it(project):
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace(", host: hosts/vm.yaml", ""))
    result = compile_with(project, render=False)
    found = [(d.code, span_of(d).line, span_of(d).column, d.path, d.hint)
             for d in result.diagnostics]
    assert found == [("PCF203", 4, 3, "environments.staging.host", "add host: to this mapping")]


@pytest.mark.parametrize("text, path, hint", [
    # an overlay meant for the base's 'worker' program, its name misspelt
    ("workload:\n  programs:\n    - name: wroker\n      processes: 8\n",
     "workload.programs.wroker.command",
     "add command: to this mapping; or did you mean 'worker'? (an item under a new name is a "
     "new item, not a change to another)"),
    # top-level named lists too: a client needs its user
    ("clients:\n  - name: migrations\n    user: app\n  - name: migration\n    connections: 3\n",
     "clients.migration.user",
     "add user: to this mapping; or did you mean 'migrations'? (an item under a new name is a "
     "new item, not a change to another)"),
    # a new item whose name is like no other keeps the plain hint
    ("workload:\n  programs:\n    - name: mailer\n      processes: 2\n",
     "workload.programs.mailer.command", "add command: to this mapping"),
])
def test_a_new_item_missing_a_key_asks_whether_its_name_is_misspelt(project, text, path, hint):
    found = [(d.code, d.path, d.hint) for d in diags_for_all(project, text)]
    assert found == [("PCF203", path, hint)], found


def diags_for_all(project, text):
    return [d for d in compile_with(project, text, render=False).diagnostics
            if d.severity == "error"]


@pytest.mark.parametrize("text, hint", [
    ("postgres:\n  shared_buffers: 2GiB\n", "write 2GB (PostgreSQL's units are case-sensitive"),
    ("postgres:\n  work_mem: 64mb\n", "write 64MB ("),
    ("postgres:\n  statement_timeout: 5m\n", "write 5min ("),
    ("postgres:\n  lock_timeout: 30sec\n", "write 30s ("),
    ("redis:\n  maxmemory: 2GiB\n", "write 2gb (Redis's kb/mb/gb are 1024-based"),
    # finer than the parameter's unit: what PostgreSQL would make of it
    ("postgres:\n  statement_timeout: 100us\n",
     "PostgreSQL would read 100us as 0, which turns statement_timeout off; the smallest "
     "nonzero value is 1ms"),
    ("postgres:\n  lock_timeout: 1.0004s\n", "PostgreSQL would round it to 1000ms: write a "
     "whole number of ms, e.g. 1000ms"),
    ("postgres:\n  shared_buffers: 100kB\n", "PostgreSQL would round it to 96kB"),
    # perfcfg's own sizes: the IEC spelling meant
    ("workload:\n  programs:\n    - name: worker\n      memory: 120mb\n", "write 120MiB (sizes "
     "are 1024-based"),
    ("budget:\n  redis: 2g\n", "write 2GiB ("),
    # Not a spelling of a known unit: the general hint, no invented fix.
    ("postgres:\n  work_mem: 64XB\n", "PostgreSQL memory units are B, kB, MB, GB, TB"),
])
def test_a_misspelt_unit_gets_the_value_as_the_daemon_writes_it(project, text, hint):
    [(code, _, _, _, found)] = diags_for(project, text)
    assert code == "PCF204" and found.startswith(hint), found


def test_all_errors_are_reported_together_in_file_order(project):
    found = diags_for(project, "postgres:\n  work_mem: 4XB\n  shared_bufers: 1GB\n"
                               "redis:\n  maxmemory-policy: lru\n")
    assert [(c, ln) for c, ln, *_ in found] == [("PCF204", 3), ("PCF201", 4), ("PCF204", 6)]


def test_missing_environment_and_host(project):
    result = compile_with(project, env="prod", render=False)
    assert [d.code for d in result.diagnostics] == ["PCF119"]
    assert "staging" in (result.diagnostics[0].hint or "")
    (project / "hosts/vm.yaml").unlink()
    result = compile_with(project, render=False)
    assert [d.code for d in result.diagnostics] == ["PCF118"]


def test_auto_without_a_rule_is_an_error(project):
    found = diags_for(project, "postgres:\n  commit_delay: auto\n")
    assert [(c, p) for c, _, p, *_ in found] == [("PCF208", "postgres.commit_delay")]


def test_missing_secret_is_an_error_without_the_value(project):
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text().replace(
        "placeholder", "resolve"))
    result = compile_with(project)
    assert [(d.code, d.path) for d in result.diagnostics if d.severity == "error"] == [
        ("PCF120", "users.app.password"), ("PCF120", "redis.users.app.password")]
    assert result.files == {}
    environ = {"APP_DB_PASSWORD": "hunter2-xyz", "APP_REDIS_PASSWORD": "redis-pw-xyz"}
    result = compile_with(project, environ=environ)
    assert result.ok and result.files
    for data in result.files.values():
        assert b"hunter2-xyz" not in data and b"redis-pw-xyz" not in data


def test_a_host_memory_in_another_spelling_gets_the_iec_one(project):
    write(project / "hosts/vm.yaml", "memory: 16G\ncpus: 4\n")
    result = compile_with(project, render=False)
    assert [(d.code, d.path, d.hint) for d in result.diagnostics if d.severity == "error"] == [
        ("PCF204", "host.memory", "write 16GiB (sizes are 1024-based: B, KiB, MiB, GiB, TiB)")]


def test_a_fraction_with_a_unit_is_written_as_a_whole_number_postgresql_reads(project):
    result = compile_with(project, "postgres:\n  statement_timeout: 1.5s\n  work_mem: 1.5MB\n")
    assert result.ok, [d.message for d in result.diagnostics]
    conf = result.files["postgresql.conf"].decode()
    assert "\nstatement_timeout = 1500ms\n" in conf and "\nwork_mem = 1536kB\n" in conf


# A user's databases name the databases it reaches through pgbouncer: one that is not declared
# under databases: would get no pool and no pg_hba line, so it is an error, not skipped.
@pytest.mark.parametrize("names, index, bad, hint", [
    ("[ap]", 0, "ap", "did you mean 'app'?"),
    ("[app, billing]", 1, "billing", "declare it under databases:"),
], ids=["typo", "unknown"])
def test_a_user_database_that_is_not_declared_is_an_error(project, names, index, bad, hint):
    result = compile_with(project, f"users:\n  - name: app\n    databases: {names}\n",
                          render=False)
    found = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.code, d.path, span_of(d).file, span_of(d).line) for d in found] == [
        ("PCF204", f"users.app.databases[{index}]", "presets/staging.yaml", 4)]
    assert f"no database named {bad!r}" in found[0].message
    assert "(declared: app)" in found[0].message and hint in (found[0].hint or "")


def test_a_program_database_that_is_not_declared_says_which_are(project):
    result = compile_with(project, "workload:\n  programs:\n    - name: worker\n"
                          "      database: ap\n", render=False)
    found = [(d.code, d.path, d.message, d.hint) for d in result.diagnostics]
    assert found == [("PCF204", "workload.programs.worker.database",
                      "invalid value for workload.programs.worker.database: no database named "
                      "'ap' under databases (declared: app)", "did you mean 'app'?")]


@pytest.mark.parametrize("how", ["overlay", "set"])
def test_an_undeclared_user_database_from_an_overlay_or_set_points_there(project, how,
                                                                          monkeypatch):
    monkeypatch.chdir(project)
    overlay = write(project / "rehearsal.yaml",
                    "users:\n  - name: app\n    databases: [app, apps]\n")
    extra = ["--overlay", str(overlay)] if how == "overlay" else \
        ["--set", "users.app.databases=[app, apps]"]
    out = project / "out"
    result = run("build", "--env", "staging", "--project", str(project), *extra,
                 "--out", str(out))
    assert result.code == 1 and not out.exists()
    where = "rehearsal.yaml:3:22" if how == "overlay" else "--set:1:21"
    assert "error[PCF204]: invalid value for users.app.databases[1]: no database named 'apps'" \
        in result.err
    assert f"--> {where}" in result.err and "did you mean 'app'?" in result.err
