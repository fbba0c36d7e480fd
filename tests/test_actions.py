"""What a change needs (restart, reload, none), and the real daemons agree."""

from __future__ import annotations

import json
import re

import pytest
from conftest import require_daemon
from helpers import copy_example, run, write

from perfcfg.model import Targets
from perfcfg.services.postgres.daemon import HARNESS_KEYS
from perfcfg.services.registry import by_name


def _build_json(project, *extra, env="development"):
    result = run("build", "--env", env, "--project", str(project), "--format", "json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.fixture
def built(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _build_json(project)
    return project


def _context(service, name):
    param = by_name(service).param(Targets(), name)
    assert param is not None, f"{service} has no parameter {name}"
    return param.context


def test_a_rebuild_with_nothing_changed_needs_nothing(built):
    found = _build_json(built)["actions"]
    assert {name: a["action"] for name, a in found.items()} == {
        "postgres": "none", "pgbouncer": "none", "redis": "none", "supervisor": "none"}


def test_each_kind_of_change_gets_its_action(built):
    found = _build_json(built, "--set", "postgres.shared_buffers=96MB",
                        "--set", "postgres.work_mem=5MB", "--set", "pgbouncer.listen_port=6999",
                        "--set", "redis.maxmemory-policy=volatile-lru")["actions"]
    assert found["postgres"]["action"] == "restart"
    # wal_buffers follows shared_buffers; the restart-only parameters come first.
    assert found["postgres"]["because"] == ["shared_buffers", "wal_buffers", "work_mem"]
    assert found["pgbouncer"] == {**found["pgbouncer"], "action": "restart",
                                  "because": ["listen_port"]}
    # no user of the example's users.acl may run CONFIG SET (the default user is off)
    assert found["redis"]["action"] == "restart" and found["redis"]["because"] == [
        "maxmemory-policy"]
    assert "no user in users.acl may run CONFIG SET" in found["redis"]["how"]
    # The workers' DATABASE_URL follows pgbouncer's port: only their sections change.
    assert found["supervisor"]["action"] == "reload"
    assert all(b.startswith("program:") for b in found["supervisor"]["because"])


def test_reload_only_changes_and_against_a_directory(built, tmp_path):
    deployed = tmp_path / "deployed"
    _build_json(built, "--out", str(deployed))
    found = _build_json(built, "--set", "postgres.work_mem=5MB", "--set",
                        "pgbouncer.server_idle_timeout=300", "--against", str(deployed))["actions"]
    assert found["postgres"]["action"] == "reload" and found["postgres"]["because"] == ["work_mem"]
    assert found["pgbouncer"]["action"] == "reload"
    assert found["pgbouncer"]["because"] == ["server_idle_timeout"]


def test_text_output_names_the_action_and_the_command(built):
    result = run("build", "--env", "development", "--project", str(built), "--set",
                 "postgres.shared_buffers=96MB")
    assert result.code == 0
    assert "development: postgres: restart (shared_buffers, " in result.err
    assert ", on the host: systemctl restart postgresql@15-main" in result.err


@pytest.mark.daemons
def test_postgres_agrees_reload_takes_work_mem_and_shared_buffers_needs_restart(
        built, start_postgres):
    from perfcfg.harness import procs

    out = built / "generated/development"
    pg = start_postgres((out / "postgresql.conf").read_text())
    pending = "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name"

    def deploy_and_reload() -> list[str]:
        procs.write_file(f"{pg.data}/postgresql.conf", (out / "postgresql.conf").read_text(),
                         pg.account)
        pg.query("SELECT pg_reload_conf()")
        return [name for (name,) in pg.query(pending)]

    # The harness gives port, listen_addresses and the placement on the command line: after
    # any reload the file's own values show as pending there; that is the baseline.
    baseline = deploy_and_reload()
    assert set(baseline) <= HARNESS_KEYS

    found = _build_json(built, "--set", "postgres.work_mem=5MB")["actions"]["postgres"]
    assert (found["action"], found["because"]) == ("reload", ["work_mem"])
    assert deploy_and_reload() == baseline
    assert pg.query("SHOW work_mem") == [("5MB",)]

    found = _build_json(built, "--set", "postgres.work_mem=5MB", "--set",
                        "postgres.shared_buffers=96MB")["actions"]["postgres"]
    assert found["action"] == "restart" and found["because"][0] == "shared_buffers"
    restart_only = [b for b in found["because"] if _context("postgres", b) == "postmaster"]
    assert sorted(set(deploy_and_reload()) - set(baseline)) == sorted(restart_only)
    assert pg.query("SHOW work_mem") == [("5MB",)]


@pytest.mark.daemons
def test_postgres_contexts_are_the_servers(start_postgres):
    """The catalog's context decides restart vs reload: it is what pg_settings says."""
    targets = Targets()   # the catalog of the default target, so the server of that version
    pg = start_postgres("", version=str(targets.postgres))
    service = by_name("postgres")
    rows = pg.query("SELECT name, context FROM pg_settings")
    assert len(rows) > 300
    for name, context in rows:
        param = service.param(targets, name)
        assert param is not None and param.context == context, name


@pytest.mark.daemons
def test_pgbouncer_restart_list_is_what_show_config_calls_not_changeable(start_pgbouncer):
    require_daemon("pgbouncer")
    targets = Targets()
    bnc = start_pgbouncer("[databases]\n[pgbouncer]\nauth_type = trust\n",
                          version=targets.pgbouncer)
    service = by_name("pgbouncer")
    config = bnc.config()
    assert len(config) > 50
    for key, row in config.items():
        param = service.param(targets, key)
        assert param is not None and (param.context == "no") == (row["changeable"] == "no"), key


@pytest.mark.daemons
def test_redis_restart_list_is_what_config_set_refuses(start_redis):
    from redis.exceptions import ResponseError

    from perfcfg.services.redis.actions import IMMUTABLE, PROTECTED

    r = start_redis("port 0\n").client()
    immutable: set[str] = set()
    protected: set[str] = set()
    for name, value in r.config_get("*").items():
        try:
            r.config_set(name, value)
        except ResponseError as exc:
            (immutable if "immutable" in str(exc) else protected if "protected" in str(exc)
             else set()).add(name)
    assert (frozenset(immutable), frozenset(protected)) == (IMMUTABLE, PROTECTED)


OPS = ("redis:\n  users:\n    - name: ops\n      password: ${env:OPS_REDIS_PASSWORD}\n"
       "      keys: []\n      commands: [-@all, +@admin, +@connection]\n")


def test_a_redis_user_that_may_run_config_set_gets_a_reload_that_names_it(built):
    (built / "presets/ops.yaml").write_text(OPS)
    _build_json(built, "--overlay", str(built / "presets/ops.yaml"))
    found = _build_json(built, "--overlay", str(built / "presets/ops.yaml"),
                        "--set", "redis.maxmemory-policy=volatile-lru")["actions"]["redis"]
    assert found["action"] == "reload" and found["because"] == ["maxmemory-policy"]
    assert found["how"].startswith("redis-cli --user ops --askpass CONFIG SET")
    _build_json(built, "--overlay", str(built / "presets/ops.yaml"))
    acl = _build_json(built, "--overlay", str(built / "presets/ops.yaml"),
                      "--set", "redis.users.bot.keys=[cache:*]")["actions"]["redis"]
    assert acl == {**acl, "action": "reload", "because": ["users.acl"],
                   "how": "redis-cli --user ops --askpass ACL LOAD"}


@pytest.mark.daemons
def test_redis_agrees_about_who_may_run_config_set_and_acl_load(built, start_redis):
    """ACL DRYRUN asks the real server whether each user of the generated users.acl may run
    the commands a reload needs; perfcfg's reading of the same file must say the same."""
    from perfcfg.services.redis.actions import may_run

    (built / "presets/ops.yaml").write_text(OPS)
    out = built / "out"
    result = run("build", "--env", "development", "--project", str(built), "--out", str(out),
                 "--overlay", str(built / "presets/ops.yaml"))
    assert result.code == 0, result.err
    acl = (out / "users.acl").read_text()
    client = start_redis("port 0\n", acl=acl).client()
    users = {line.split()[1]: line.split()[2:] for line in acl.splitlines()
             if line.startswith("user ")}
    assert set(users) == {"default", "bot", "ops"}
    for name, rules in users.items():
        for command, argv in (("config|set", ["CONFIG", "SET", "maxmemory", "1mb"]),
                              ("acl|load", ["ACL", "LOAD"])):
            answer = client.execute_command("ACL", "DRYRUN", name, *argv)
            allowed = answer in (b"OK", "OK")
            assert may_run(rules, command) == allowed, (name, command, answer)


def test_a_removal_is_named_as_one_not_as_a_change(built):
    # a program and a parameter the last build wrote and this one does not
    first = _build_json(built, "--set", "postgres.bgwriter_delay=100ms")["actions"]
    assert first["postgres"]["because"] == ["bgwriter_delay (new)"]
    preset = built / "presets/development.yaml"
    preset.write_text(preset.read_text().replace(
        "    - name: moderation\n      processes: 1\n", "    - !unset moderation\n"))
    found = _build_json(built)["actions"]
    # (one program fewer also moves the connection budget: those are changes)
    assert "bgwriter_delay (removed)" in found["postgres"]["because"]
    assert "max_connections" in found["postgres"]["because"]
    assert "program:moderation (removed)" in found["supervisor"]["because"]
    assert found["supervisor"]["action"] == "reload"


# -- meaning, not bytes ------------------------------------------------------------------

COMMENT = re.compile(r"^\s*(#|;|--)")
# Files whose lines a daemon reads in any order (within a section): pg_hba.conf (first match
# wins) and roles.sql (statements in sequence) are not among them.
ORDER_FREE = ("postgresql.conf", "pgbouncer.ini", "userlist.txt", "redis.conf", "valkey.conf",
              "users.acl", "supervisord.conf", "sysctl.conf")


def _reworded(data: bytes) -> bytes:
    """Every comment line says something else (a header, a reason naming another need)."""
    return b"\n".join(line + b" (reworded)" if COMMENT.match(line.decode()) else line
                      for line in data.split(b"\n"))


def _reordered(data: bytes) -> bytes:
    """Each section's directive lines in reverse order, the comments gone."""
    out: list[str] = []
    body: list[str] = []
    for line in data.decode().splitlines():
        if line.strip().startswith("["):
            out += reversed(body)
            out.append(line)
            body = []
        elif line.strip() and not COMMENT.match(line):
            body.append(line)
    return ("\n".join(out + list(reversed(body))) + "\n").encode()


def _judged(old: dict[str, bytes], result) -> dict[str, tuple[str, tuple[str, ...]]]:
    from perfcfg.stages import actions

    found = actions.actions(old, result.files, result.config.targets)
    return {name: (a.action, a.run) for name, a in found.items()}


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_a_change_to_comments_or_order_alone_needs_nothing(env):
    from helpers import EXAMPLE

    from perfcfg.stages.pipeline import Request, compile_env

    result = compile_env(Request(EXAMPLE, env))
    # production writes the drop-ins and the sysctl.d file too: every kind of file is here
    assert env != "production" or {"systemd-pgbouncer.conf", "sysctl.conf"} <= set(result.files)
    nothing = dict.fromkeys(_judged(dict(result.files), result), ("none", ()))
    assert _judged({n: _reworded(d) for n, d in result.files.items()}, result) == nothing
    reordered = {n: _reordered(d) if n in ORDER_FREE or n.startswith("systemd-") else d
                 for n, d in result.files.items()}
    assert reordered != dict(result.files)
    assert _judged(reordered, result) == nothing


@pytest.mark.parametrize(("processes", "limit_changes"), [(400, False), (600, True)])
def test_a_drop_in_needs_daemon_reload_and_a_restart_only_when_its_limit_changes(
        tmp_path, processes, limit_changes):
    from perfcfg.stages import actions
    from perfcfg.stages.pipeline import Request, compile_env

    project = copy_example(tmp_path, with_generated=False)
    small = "workload.programs.matcher.memory=8MiB"     # many processes that fit the host
    old = compile_env(Request(project, "production", sets=(small,))).files
    new = compile_env(Request(project, "production", sets=(
        small, f"workload.programs.matcher.processes={processes}")))
    # the reason comment names pgbouncer's new fd need either way
    assert old["systemd-pgbouncer.conf"] != new.files["systemd-pgbouncer.conf"]
    assert new.config is not None
    pgbouncer = actions.actions(old, new.files, new.config.targets)["pgbouncer"]
    assert ("systemd-pgbouncer.conf LimitNOFILE" in pgbouncer.because) is limit_changes
    if limit_changes:
        assert pgbouncer.action == "restart"
        assert pgbouncer.how == "systemctl daemon-reload && systemctl restart pgbouncer"
    else:
        # the pools' lines in pgbouncer.ini change, and the memory limits of its unit's
        # cgroup, which systemd changes live: reloads, never the drop-in's restart
        assert pgbouncer.action == "reload" and "restart" not in pgbouncer.how


# -- headroom: scaling within it is a reload ------------------------------------------------

def _to_deploy(result) -> dict[str, str]:
    lines = [line.split("to deploy: ", 1)[1] for line in result.err.splitlines()
             if "to deploy: " in line]
    return {line.split(": ")[1]: line.split(": ", 2)[2] for line in lines}


def test_scaling_a_program_within_its_ceiling_prints_postgres_none(tmp_path):
    project = copy_example(tmp_path)
    # staging's matcher runs 8 processes, max_processes 16
    found = _to_deploy(run("build", "--env", "staging", "--project", str(project), "--set",
                           "workload.programs.matcher.processes=16"))
    assert found["postgres"] == "none" and found["pgbouncer"] == "none"
    assert found["redis"] == "none"
    assert found["supervisor"].startswith("reload (program:matcher)")
    # development declares no ceiling: the same scaling resizes PostgreSQL (a restart)
    found = _to_deploy(run("build", "--env", "development", "--project", str(project), "--set",
                           "workload.programs.matcher.processes=4"))
    assert found["postgres"].startswith("restart (max_connections")


def test_adding_a_database_within_the_headroom_is_a_reload(tmp_path):
    project = copy_example(tmp_path)
    write(project / "grow.yaml", """\
databases:
  - name: reports
    user: reporter
users:
  - name: reporter
    password: ${env:BOTFARM_REPORTER_PASSWORD}
workload:
  programs:
    - name: reporter
      command: python -m botfarm.reporter
      processes: 2
      database: reports
""")
    found = _to_deploy(run("build", "--env", "staging", "--project", str(project),
                           "--overlay", str(project / "grow.yaml")))
    assert found["postgres"].startswith("reload (pg_hba.conf)")
    assert found["postgres"].endswith("then apply roles.sql (see manifest.json)")
    assert found["pgbouncer"].startswith("reload (")
    assert found["supervisor"].startswith("reload (program:reporter (new))")
    assert found["redis"] == "none"


def test_a_comment_only_change_prints_none_for_its_daemon(tmp_path):
    """The deployed pgbouncer.ini and drop-in say other things in their comments only (a
    reason naming another fd need, another header): build against them prints each daemon,
    pgbouncer with none."""
    project = copy_example(tmp_path)
    deployed = tmp_path / "deployed"
    import shutil

    shutil.copytree(project / "generated/production", deployed)
    for name in ("pgbouncer.ini", "systemd-pgbouncer.conf"):
        (deployed / name).write_bytes(_reworded((deployed / name).read_bytes()))
    result = run("build", "--env", "production", "--project", str(project), "--against",
                 str(deployed))
    assert result.code == 0, result.err
    found = _to_deploy(result)
    assert {"postgres", "pgbouncer", "redis", "supervisor", "host"} <= set(found)
    assert set(found.values()) == {"none"}, found
    # with nothing changed at all, nothing is said
    quiet = run("build", "--env", "production", "--project", str(project))
    assert _to_deploy(quiet) == {}
