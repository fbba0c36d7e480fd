"""The committed example artifacts: fresh, deterministic, snapshotted, schema-valid."""

import pytest
from helpers import ENVS, EXAMPLE, ROOT

from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.stages.render import FILES

# Built once at collection: each environment's file names follow its targets (redis.conf or
# valkey.conf), and the snapshots are one per (environment × file).
COMPILED = {env: compile_env(Request(EXAMPLE, env)) for env in ENVS}
PAIRS = [(env, name) for env in ENVS for name in sorted(COMPILED[env].files)]


@pytest.fixture(scope="module")
def compiled():
    return COMPILED


@pytest.mark.parametrize("env", ENVS)
def test_committed_outputs_are_fresh(compiled, env):
    result = compiled[env]
    assert result.ok, result.diagnostics
    assert set(result.files) <= set(FILES)
    folder = EXAMPLE / "generated" / env
    on_disk = {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}
    assert on_disk == result.files, f"run: perfcfg build --env {env} --project examples/botfarm"


@pytest.mark.parametrize("env, name", PAIRS, ids=[f"{n}-{e}" for e, n in PAIRS])
def test_snapshot(compiled, env, name, snapshot):
    assert compiled[env].files[name].decode() == snapshot


@pytest.mark.parametrize("env", ENVS)
def test_build_twice_gives_identical_bytes(compiled, env):
    assert compile_env(Request(EXAMPLE, env)).files == compiled[env].files


def test_outputs_hold_no_absolute_project_path_or_crlf(compiled):
    for result in compiled.values():
        for data in result.files.values():
            assert str(ROOT).encode() not in data and b"\r" not in data and data.endswith(b"\n")


def test_every_example_preset_has_the_schema_modeline():
    for path in sorted((EXAMPLE / "presets").glob("*.yaml")) + sorted((EXAMPLE / "hosts").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.is_file(), target


def test_committed_schemas_are_fresh():
    import json

    from perfcfg.cli import schema

    for name, doc in schema.documents().items():
        assert json.loads((ROOT / "schemas" / name).read_text()) == doc, "run: perfcfg schema --out schemas"


@pytest.mark.parametrize("env", ENVS)
def test_workers_point_at_pgbouncer_and_redis(compiled, env):
    plan = compiled[env].plan
    port = plan.value("pgbouncer.listen_port")
    for program in plan.parts["supervisor"]:
        env_vars = dict(program.environment)
        assert f"127.0.0.1:{port}/botfarm" in env_vars["DATABASE_URL"]
        # The URL names the ACL user and never carries a password.
        assert env_vars["REDIS_URL"] == f"redis://bot@127.0.0.1:{plan.value('redis.port')}/0"
    for db in plan.parts["pgbouncer"]:
        assert db["port"] == plan.value("postgres.port")


@pytest.mark.parametrize("env", ENVS)
def test_budgets_fit_the_host(compiled, env):
    plan, host = compiled[env].plan, compiled[env].config.host
    parts = ("os_reserve", "workers", "pgbouncer", "redis", "postgres")
    total = sum(plan.value(f"budget.{p}") for p in parts)
    assert total <= host.memory
    assert plan.value("postgres.shared_buffers") < plan.value("budget.postgres")
    assert plan.value("redis.maxmemory") < plan.value("budget.redis")
    assert not [d for d in compiled[env].diagnostics if d.severity == "error"]


def test_staging_explain_shows_the_budget_arithmetic():
    from helpers import run

    out = run("explain", "--env", "staging", "--project", str(EXAMPLE), "budget.postgres").out
    assert "host − os_reserve − workers − pgbouncer − redis" in out and "16 GiB" in out
