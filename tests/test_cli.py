"""The CLI contract: commands, exit codes 0/1/2/3, atomic and idempotent writes."""

import json
import re
import stat

import pytest
from helpers import ENVS, group, run, snapshot_tree, write

from perfcfg.core.units import parse_size


def files(root, env="staging"):
    """The files a build of ``env`` writes: every output the services declare for its targets,
    but the optional ones its project does not ask for (the registry says which): the limits'
    files (deploy.limits), and the monitoring files of an environment that is not monitored."""
    from perfcfg.services import registry
    from perfcfg.services.output import RenderContext
    from perfcfg.stages.pipeline import Request, compile_env

    result = compile_env(Request(root, env, render=False))
    assert result.plan is not None and result.config is not None
    ctx = RenderContext(result.plan, result.config, None)
    return sorted(o.file(result.config.targets) for o in registry.outputs() if o.wanted(ctx))


def build(root, env="staging", *extra):
    return run("build", "--env", env, "--project", str(root), *extra)


def test_build_writes_every_file_and_is_idempotent(project):
    first = build(project)
    assert first.code == 0, first.err
    out = project / "generated/staging"
    assert sorted(p.name for p in out.iterdir()) == files(project)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    second = build(project)
    assert second.code == 0 and f"0 file(s) written, {len(files(project))} unchanged" in second.err
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before


def test_secret_files_are_0600(project):
    build(project)
    for name in ("userlist.txt", "users.acl"):
        assert stat.S_IMODE((project / "generated/staging" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((project / "generated/staging/redis.conf").stat().st_mode) == 0o644


def test_check_after_build_is_clean_and_edits_are_stale(project):
    assert build(project).code == 0
    assert build(project, "staging", "--check").code == 0
    conf = project / "generated/staging/postgresql.conf"
    conf.write_text(conf.read_text().replace("max_connections =", "max_connections = 1 #"))
    (project / "generated/staging/extra.conf").write_text("x\n")
    (project / "generated/staging/redis.conf").unlink()
    result = build(project, "staging", "--check")
    assert result.code == 3
    assert "--- a/" in result.out and "+++ b/" in result.out and "-max_connections = 1 #" in result.out
    assert "postgresql.conf: changed" in result.err
    assert "redis.conf: missing" in result.err and "extra.conf: extra" in result.err
    assert not (project / "generated/staging/redis.conf").exists()   # --check writes nothing


def test_check_json(project):
    result = build(project, "staging", "--check", "--format", "json")
    assert result.code == 3
    assert {s["status"] for s in json.loads(result.out)["stale"]} == {"missing"}


def test_invalid_input_exits_1_and_writes_nothing(project):
    assert build(project).code == 0
    before = snapshot_tree(project / "generated")
    write(project / "presets/staging.yaml",
          "extends: [builtin:staging, base.yaml]\npostgres:\n  work_mem: 64mb\n")
    result = build(project)
    assert result.code == 1
    assert "presets/staging.yaml:3:13" in result.err and "postgres.work_mem" in result.err
    assert snapshot_tree(project / "generated") == before


def test_validate_ok_and_yaml_syntax_error(project):
    assert run("validate", "--project", str(project)).code == 0
    write(project / "presets/base.yaml", "databases: [\n")
    result = run("validate", "--project", str(project))
    # An unclosed bracket is reported where it opens, not at the end of the file.
    assert result.code == 1 and "presets/base.yaml:1:13" in result.err and "PCF102" in result.err


def test_validate_json(project):
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\nredis: {hz: x}\n")
    result = run("validate", "--project", str(project), "--format", "json")
    data = json.loads(result.out)
    assert result.code == 1
    assert [(d["code"], d["line"], d["path"]) for d in data["diagnostics"]] == [
        ("PCF201", 2, "redis.hz")] or data["diagnostics"][0]["path"] == "redis.hz"


@pytest.mark.parametrize("args", [
    ["build"], ["build", "--env"], ["frobnicate"], ["validate", "--format", "xml"],
    ["build", "--env", "staging", "--format", "yaml"], ["validate", "--bogus"],
])
def test_usage_errors_exit_2(args, project):
    assert run(*args).code == 2


def test_explain_shows_value_and_chain(project):
    result = run("explain", "--env", "staging", "--project", str(project),
                 "postgres.log_min_duration_statement")
    assert result.code == 0
    assert "250ms" in result.out and "builtin:staging:7:31" in result.out
    data = json.loads(run("explain", "--env", "staging", "--project", str(project),
                          "postgres.shared_buffers", "--format", "json").out)
    assert data["origin"]["kind"] == "tuned" and data["rule"] and data["written_as"]


def test_explain_never_prints_secrets(project):
    write(project / "presets/staging.yaml",
          "extends: [builtin:staging, base.yaml]\nusers:\n  - name: app\n    password: plain-pw-123\n")
    result = run("explain", "--env", "staging", "--project", str(project), "users.app.password")
    assert result.code == 0 and "plain-pw-123" not in result.out


def test_explain_unknown_path(project):
    result = run("explain", "--env", "staging", "--project", str(project), "postgres.shared_bufer")
    assert result.code == 1 and "postgres.shared_buffers" in result.err


def test_internal_errors_do_not_dump_a_traceback(project, monkeypatch):
    from perfcfg.stages import pipeline

    monkeypatch.setattr(pipeline, "compile_env", lambda *a, **k: 1 / 0)
    result = build(project)
    assert result.code == 1 and "internal error" in result.err and "Traceback" not in result.err
    assert "report" in result.err


def test_schema_command_writes_draft7_schemas(tmp_path):
    import jsonschema

    assert run("schema", "--out", str(tmp_path)).code == 0
    for name in ("preset", "project", "host"):
        jsonschema.Draft7Validator.check_schema(json.loads((tmp_path / f"{name}.schema.json").read_text()))


@pytest.mark.parametrize("env", ENVS)
def test_example_builds_and_checks(example, env):
    assert build(example, env, "--check").code == 0
    assert build(example, env).code == 0


@pytest.mark.parametrize("args, expected", [
    (["postgres", "--memory", "16GiB", "--cpus", "4", "--profile", "oltp"], "shared_buffers = 4GB"),
    (["pgbouncer", "--memory", "1GiB", "--cpus", "4", "--connections", "200"], "pool_mode = transaction"),
    (["redis", "--memory", "2GiB", "--cpus", "2"], "maxmemory-policy allkeys-lfu"),
])
def test_tune_calculator(args, expected):
    result = run("tune", *args)
    assert result.code == 0 and expected in result.out


def test_tune_postgres_without_a_pooler_gets_pgtune_connections_and_a_fitting_work_mem():
    """Issue 15: no pooler, no --connections → PGTune's 200 for web, and a work_mem sized so
    200 backends (plus the parallel workers) fit the 16GiB by perfcfg's worst case."""
    from perfcfg.cli.calculator import CalcInput, context
    from perfcfg.core.units import parse_size
    from perfcfg.services.postgres.tuning.memory import worst_case

    args = ["postgres", "--pooler", "none", "--memory", "16GiB", "--cpus", "4", "--storage",
            "ssd", "--profile", "web"]
    result = run("tune", *args)
    assert result.code == 0, result.err
    assert "pooler none" in result.out.splitlines()[0]
    printed = dict(line.split("  #")[0].split(" = ") for line in result.out.splitlines()
                   if " = " in line and not line.startswith("#"))
    assert printed["max_connections"] == "200"
    values = {f"postgres.{k}": int(v) if v.isdigit() else parse_size(v)
              for k, v in printed.items()
              if k in ("max_connections", "max_parallel_workers", "autovacuum_max_workers")
              or v[-2:] in ("kB", "MB", "GB")}
    ctx = context(CalcInput("postgres", 16 << 30, 4,
                            options={"storage": "ssd", "profile": "web", "pooler": "none"}))
    total = sum(worst_case(ctx, values).values())
    assert 0.95 * (16 << 30) <= total <= 16 << 30
    pooled = run("tune", *args[:1], *args[3:])
    assert "pooler pgbouncer" in pooled.out.splitlines()[0]
    assert "max_connections = 200 " not in pooled.out


def _printed(out: str) -> dict[str, str]:
    return dict(line.split("  #")[0].split(" = ") for line in out.splitlines()
                if " = " in line and not line.startswith("#"))


@pytest.mark.parametrize("version, os_name, eio", [
    ("17", "darwin", "0"), ("17", "windows", "0"), ("17", "linux", "256"),
    ("18", "darwin", "256"), ("18", "windows", "256"),
], ids=["17-darwin", "17-windows", "17-linux", "18-darwin", "18-windows"])
def test_tune_takes_the_host_kernel_as_build_does(version, os_name, eio):
    """P1: tune printed Linux prefetch (256) that PostgreSQL ≤ 17 refuses on macOS and
    Windows; 18 prefetches through its I/O workers everywhere."""
    result = run("tune", "postgres", "--memory", "16GiB", "--cpus", "4", "--version", version,
                 "--os", os_name)
    assert result.code == 0, result.err
    printed = _printed(result.out)
    assert printed["effective_io_concurrency"] == eio
    assert f"os {os_name}" in result.out.splitlines()[0]
    assert printed.get("io_method", "worker") == "worker"       # io_uring is Linux's


def test_tune_takes_the_wal_disk_and_the_data_size_as_build_does():
    base = ["postgres", "--memory", "64GiB", "--cpus", "8", "--profile", "dw"]
    plain, given = _printed(run("tune", *base).out), run(
        "tune", *base, "--wal-disk", "20GiB", "--data-size", "10GiB")
    assert given.code == 0, given.err
    sized = _printed(given.out)
    assert (plain["max_wal_size"], sized["max_wal_size"]) == ("16GB", "12GB")
    assert sized["shared_buffers"] == "12GB" != plain["shared_buffers"]    # data × 1.2
    assert (plain["random_page_cost"], sized["random_page_cost"]) == ("4", "1.1")   # P5
    assert "wal disk 20GiB, data size 10GiB" in given.out.splitlines()[0]
    data = json.loads(run("tune", *base, "--data-size", "10GiB", "--format", "json").out)
    assert data["inputs"]["data_size"] == 10 << 30 and data["inputs"]["os"] == "linux"


@pytest.mark.parametrize("args", [
    ["--memory", "1GiB", "--cpus", "1", "--pooler", "none"],
    ["--memory", "2GiB", "--cpus", "2", "--pooler", "none", "--profile", "oltp"],
    ["--memory", "4GiB", "--cpus", "8", "--connections", "900"],
    ["--memory", "1GiB", "--cpus", "4", "--pooler", "none", "--connections", "120",
     "--profile", "dw"],
], ids=["1GiB-web-none", "2GiB-oltp-none", "4GiB-pooled-900", "1GiB-dw-120"])
def test_tune_says_when_the_connections_cannot_fit_and_what_would(args):
    """P2: 1GiB/1 CPU/200 direct connections printed shared_buffers 16MB, work_mem 158kB and
    exit 0. Now exit 1 with how many the memory holds, and that many fit."""
    result = run("tune", "postgres", *args)
    assert result.code == 1 and "error[PCF320]" in result.err, result.err
    holds = int(group(re.search(r"holds (\d+)", result.err)))
    assert holds >= 1 and f"admit at most {holds} connections" in result.err
    assert "error[PCF320]" in result.out                     # the fragment says it too
    connections = [a for i, a in enumerate(args) if i and args[i - 1] == "--connections"]
    rest = [a for i, a in enumerate(args)
            if a != "--connections" and not (i and args[i - 1] == "--connections")]
    fits = run("tune", "postgres", *rest, "--connections", str(holds))
    assert fits.code == 0 and "PCF320" not in fits.err, fits.err
    assert int(connections[0] if connections else "200") > holds
    printed = _printed(fits.out)
    assert parse_size(printed["work_mem"]) >= 4 << 20        # no query starved any more


@pytest.mark.parametrize("args, threads", [
    (["--flavour", "valkey"], "8"), (["--flavour", "valkey", "--version", "8.0"], "8"),
    (["--flavour", "redis", "--version", "8.0"], "1"), ([], "1"),
], ids=["valkey-newest", "valkey-8.0", "redis-8.0", "default-redis"])
def test_tune_redis_knows_valkey_8_from_redis(args, threads):
    """P13 through the calculator: Valkey 8's I/O threads are for multi-core hosts."""
    result = run("tune", "redis", "--memory", "8GiB", "--cpus", "32", *args)
    assert result.code == 0, result.err
    assert f"\nio-threads {threads}\n" in result.out


def test_tune_valkey_takes_valkey_versions_only():
    result = run("tune", "redis", "--memory", "8GiB", "--cpus", "4", "--flavour", "valkey",
                 "--version", "7.0")
    assert result.code == 2 and "supported: 8.0, 8.1" in result.err


@pytest.mark.parametrize("flag", ["--wal-disk", "--data-size"])
def test_tune_bad_host_size_exits_2(flag):
    result = run("tune", "postgres", "--memory", "4GiB", "--cpus", "2", flag, "lots")
    assert result.code == 2 and flag in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("args, says", [
    (["--memory", "0", "--cpus", "2"], "--memory: 0KiB is below the 256MiB"),
    (["--memory", "128MiB", "--cpus", "2"], "--memory: 128MiB is below the 256MiB"),
    (["--memory", "4GiB", "--cpus", "2", "--connections", "2"], "--connections: 2 leaves no"),
    (["--memory", "4GiB", "--cpus", "2", "--version", "abc"], "'abc' is not a supported postgres"),
    (["--memory", "4GiB", "--cpus", "2", "--version", "10"], "supported: 15, 16, 17, 18"),
], ids=["zero-memory", "tiny-memory", "connections-below-reserved", "version-abc",
        "version-10"])
def test_tune_bad_inputs_exit_2_with_a_message(args, says):
    result = run("tune", "postgres", *args)
    assert result.code == 2 and says in result.err and result.out == ""
    assert "Traceback" not in result.err


@pytest.mark.parametrize("daemon, flag, value, only", [
    ("redis", "--profile", "dw", "postgres"), ("pgbouncer", "--storage", "hdd", "postgres"),
    ("redis", "--pooler", "none", "postgres"), ("postgres", "--role", "store", "redis"),
    ("pgbouncer", "--role", "cache", "redis"),
])
def test_tune_refuses_a_flag_the_daemon_does_not_read(daemon, flag, value, only):
    # a flag another daemon reads would be silently ignored: a usage error names who reads it
    result = run("tune", daemon, "--memory", "4GiB", "--cpus", "2", flag, value)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"perfcfg tune: {flag} only applies to {only}; {daemon} takes ")


def test_tune_says_what_the_reserved_slots_are_for_with_and_without_a_pooler():
    def reason(*extra):
        out = run("tune", "postgres", "--memory", "4GiB", "--cpus", "2", *extra).out
        return next(line for line in out.splitlines()
                    if line.startswith("superuser_reserved_connections"))
    assert "when the pools are full" in reason()
    assert "when every other slot is taken" in reason("--pooler", "none")


def test_tune_reports_the_build_checks():
    result = run("tune", "postgres", "--pooler", "none", "--memory", "4GiB", "--cpus", "2",
                 "--connections", "20000")
    assert result.code == 1 and "error[PCF301]" in result.err and "# error[PCF301]" in result.out


def test_tune_json_and_bad_memory():
    data = json.loads(run("tune", "postgres", "--memory", "4GiB", "--cpus", "2", "--format", "json").out)
    assert any(s["path"] == "postgres.shared_buffers" for s in data["settings"])
    assert run("tune", "postgres", "--memory", "lots", "--cpus", "2").code == 2


@pytest.mark.parametrize("edit, code, says", [
    (None, 0, "3 environment(s) up to date"),
    ("stale", 3, "generated/staging/postgresql.conf: changed"),
    ("invalid", 1, "error[PCF204]"),
], ids=["fresh", "stale", "invalid"])
def test_check_every_environment(example, edit, code, says):
    if edit == "stale":
        conf = example / "generated/staging/postgresql.conf"
        conf.write_text(conf.read_text().replace("max_connections = ", "max_connections = 1 #"))
    if edit == "invalid":
        write(example / "presets/staging.yaml",
              (example / "presets/staging.yaml").read_text() + "postgres:\n  work_mem: 64mb\n")
    before = snapshot_tree(example)
    result = run("check", "--project", str(example))
    assert result.code == code and says in result.err
    assert snapshot_tree(example) == before


def test_check_json_lists_each_environment(example):
    (example / "generated/production/valkey.conf").unlink()
    result = run("check", "--project", str(example), "--format", "json")
    assert result.code == 3
    assert {e["env"]: e["stale"] for e in json.loads(result.out)["environments"]} == {
        "development": [], "staging": [],
        "production": [{"file": "valkey.conf", "status": "missing"}]}


@pytest.mark.parametrize("command, allowed", [
    ("validate", set()),
    # check renders the files, so jinja2 is its business; typer/click still are not.
    ("check", {"jinja2"}),
], ids=["validate", "check"])
def test_hook_commands_import_only_what_they_need(command, allowed):
    import subprocess
    import sys

    from helpers import EXAMPLE, ROOT

    # pydantic too: the hook path validates with pydantic-core and the generated perfcfg.model.
    heavy = ("jinja2", "psutil", "jsonschema", "typer", "click", "rich", "pydantic")
    code = ("import sys, io, json, contextlib\nfrom perfcfg.cli.main import main\n"
            "quiet = io.StringIO()\n"
            "with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):\n"
            f"    code = main([{command!r}, '--project', {str(EXAMPLE)!r}])\n"
            f"print(json.dumps([code, [m for m in {heavy!r} if m in sys.modules]]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert json.loads(out) == [0, sorted(allowed)]


def test_validate_does_not_need_the_secrets_that_build_needs(project, monkeypatch):
    # A pre-commit hook or a CI lint job has no production passwords.
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text().replace(
        "placeholder", "resolve"))
    monkeypatch.delenv("APP_DB_PASSWORD", raising=False)
    assert run("validate", "--project", str(project)).code == 0
    result = build(project)
    assert result.code == 1 and "error[PCF120]" in result.err


def test_validate_tries_an_override_on_every_environment(tmp_path):
    from helpers import copy_example

    project = copy_example(tmp_path, with_generated=False)
    # The same --set in each of the three environments is one diagnostic, pointed at the flag.
    ok = run("validate", "--project", str(project), "--set", "postgres.work_mem=16MB")
    assert ok.code == 0 and "3 environment(s) valid" in ok.err, ok.err
    bad = run("validate", "--project", str(project), "--set", "postgres.work_mem=16mb")
    assert bad.code == 1 and bad.err.count("error[PCF204]") == 1 and "--> --set:1:" in bad.err


@pytest.mark.parametrize("command", ["validate", "check"])
def test_shared_files_are_read_and_checked_once_per_process(command, tmp_path, monkeypatch):
    # Work per environment must not grow with the number of environments: perfcfg.yaml names
    # them all, so validating it (or re-parsing shared presets) per environment is O(N²)
    # (bench/README.md, "Scaling"). `check` gives each environment its own Sources, as `build`
    # does; the caches are by content, so it shares them too. Counted, not timed.
    from helpers import copy_example

    from perfcfg import model
    from perfcfg.stages import layers as resolve
    from perfcfg.stages import load as yamlload
    from perfcfg.stages import project as projects

    example = copy_example(tmp_path, with_generated=command == "check")
    resolve.forget_parsed()
    monkeypatch.setattr(projects, "_CHECKED", {})
    calls = {"project": 0, "parse": 0}
    real_validate, real_parse = model.ProjectFile.model_validate, yamlload.load_bytes

    def count_project(obj):
        calls["project"] += 1
        return real_validate(obj)

    def count_parse(*args):
        calls["parse"] += 1
        return real_parse(*args)

    monkeypatch.setattr(model.ProjectFile, "model_validate", count_project)
    monkeypatch.setattr(yamlload, "load_bytes", count_parse)
    assert run(command, "--project", str(example)).code == 0
    files = 1 + len(list((example / "hosts").glob("*.yaml"))) + \
        len(list((example / "presets").glob("*.yaml")))
    assert calls == {"project": 1, "parse": files}


def test_a_set_flag_does_not_leak_into_the_next_build_of_the_same_process(tmp_path):
    # Parsed trees are shared by every build of a process; --set and !unset work on the
    # merged copy only.
    from helpers import copy_example

    example = copy_example(tmp_path)
    out = tmp_path / "out"
    assert run("build", "--env", "staging", "--project", str(example), "--out", str(out),
               "--set", "redis.hz=100", "--set", "workload.programs.matcher.processes=3").code == 0
    assert "hz 100" in (out / "valkey.conf").read_text()   # staging targets Valkey 8.1
    assert run("check", "--project", str(example)).code == 0   # committed files, no --set
