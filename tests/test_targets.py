"""Targets: which daemon versions an environment's files are for, and what changes with them.

The project's ``targets`` apply to every environment; an environment's own ``targets`` keys
replace them. The cache daemon is Redis or Valkey (one of the two; the file is named after it).
"""

from __future__ import annotations

import json

import pytest
from helpers import EXAMPLE, ROOT, run, write

from perfcfg.services import registry
from perfcfg.stages.pipeline import Request, compile_env


def targets_file(project, targets: str, env_targets: str = "") -> None:
    write(project / "perfcfg.yaml", f"project: demo\ntargets: {targets}\n"
          "secrets: {mode: placeholder}\nenvironments:\n"
          "  staging:\n    preset: presets/staging.yaml\n    host: hosts/vm.yaml\n"
          + (f"    targets: {env_targets}\n" if env_targets else ""))


def build(project):
    return compile_env(Request(project, "staging"))


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


# -- the example: one environment keeps Debian 12's versions --------------------------------

@pytest.mark.parametrize("env, expected", [
    ("development", {"postgres": ("postgresql", "15"), "pgbouncer": ("pgbouncer", "1.18"),
                     "redis": ("redis", "7.0"), "supervisor": ("supervisor", "4.2")}),
    ("production", {"postgres": ("postgresql", "17"), "pgbouncer": ("pgbouncer", "1.24"),
                    "redis": ("valkey", "8.1"), "supervisor": ("supervisor", "4.3")}),
])
def test_an_environment_overrides_the_projects_targets(env, expected):
    result = compile_env(Request(EXAMPLE, env))
    assert result.ok and result.config is not None
    assert registry.daemons(result.config.targets) == expected
    conf = "valkey.conf" if expected["redis"][0] == "valkey" else "redis.conf"
    other = "redis.conf" if conf == "valkey.conf" else "valkey.conf"
    assert conf in result.files and other not in result.files
    assert result.files[conf].startswith(f"# {conf} for environment {env!r}".encode())


def test_production_of_the_example_carries_no_prepared_statement_warning():
    assert "PCF310" not in codes(compile_env(Request(EXAMPLE, "production")))


# -- pgbouncer: prepared statements from 1.21 -----------------------------------------------

@pytest.mark.parametrize("version, written, warned", [("1.18", False, True),
                                                      ("1.24", True, False)])
def test_transaction_pooling_gets_prepared_statements_from_1_21(project, version, written,
                                                                warned):
    targets_file(project, f'{{pgbouncer: "{version}"}}')
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "pgbouncer:\n  pool_mode: transaction\n")
    result = build(project)
    assert result.ok, result.diagnostics
    ini = result.files["pgbouncer.ini"].decode()
    assert ("\nmax_prepared_statements = " in ini) == written
    assert ("PCF310" in codes(result)) == warned
    if written:
        assert "[pgbouncer.version.max_prepared_statements]" in ini


# -- Redis or Valkey --------------------------------------------------------------------------

def test_valkey_reads_the_redis_section_and_writes_valkey_conf(project):
    targets_file(project, '{valkey: "8.0"}')
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "redis:\n  hz: 20\n")
    result = build(project)
    assert result.ok, result.diagnostics
    assert "redis.conf" not in result.files
    assert "\nhz 20\n" in result.files["valkey.conf"].decode()


def test_an_environment_naming_valkey_replaces_the_projects_redis(project):
    targets_file(project, '{redis: "7.0"}', '{valkey: "8.1"}')
    result = build(project)
    assert result.ok, result.diagnostics
    assert registry.daemons(result.config.targets)["redis"] == ("valkey", "8.1")


def test_redis_and_valkey_together_are_an_error(project):
    targets_file(project, '{redis: "8.0", valkey: "8.1"}')
    result = run("validate", "--project", str(project))
    assert result.code == 1
    assert "error[PCF204]: targets.redis and targets.valkey are both set" in result.err
    assert "perfcfg.yaml:2" in result.err


@pytest.mark.parametrize("targets, key, listed", [
    ('{valkey: "7.2"}', "targets.valkey", "8.0, 8.1"),
    ('{redis: "7.2"}', "targets.redis", "7.0, 8.0"),
    ('{supervisor: "4.1"}', "targets.supervisor", "4.2, 4.3"),
    ("{postgres: 14}", "targets.postgres", "15, 16, 17, 18"),
])
def test_a_version_without_a_catalog_lists_the_supported_ones(project, targets, key, listed):
    targets_file(project, targets)
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "redis:\n  hz: 20\npostgres:\n  work_mem: 8MB\nsupervisor:\n  minfds: 4096\n")
    result = build(project)
    [diag] = [d for d in result.diagnostics if d.code == "PCF207"]
    assert diag.path == key and diag.hint == f"versions with a catalog: {listed}"
    assert diag.span is not None and diag.span.file == "perfcfg.yaml"


# -- the build: features apart from versions --------------------------------------------------

def test_lz4_is_assumed_and_a_build_without_it_is_stated(project):
    targets_file(project, "{postgres: 16}")
    assert "\nwal_compression = lz4\n" in build(project).files["postgresql.conf"].decode()
    targets_file(project, "{postgres: 16, postgres_build: {lz4: false}}")
    assert "\nwal_compression = pglz\n" in build(project).files["postgresql.conf"].decode()


def test_a_value_the_stated_build_lacks_is_refused(project):
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "postgres:\n  wal_compression: zstd\n")
    targets_file(project, "{postgres: 16}")   # the Debian/PGDG build has zstd
    assert build(project).ok
    targets_file(project, "{postgres: 16, postgres_build: {zstd: false}}")
    result = build(project)
    assert codes(result) == ["PCF204"]
    assert "expected one of pglz, on, off, lz4, got 'zstd'" in result.diagnostics[0].message


# -- the schema, the catalogs and the README agree -------------------------------------------

def test_the_schema_offers_exactly_the_versions_the_catalogs_have():
    schema = json.loads((ROOT / "schemas/project.schema.json").read_text())
    props = schema["definitions"]["Targets"]["properties"]

    def offered(key: str) -> list[str]:
        prop = props[key]
        enum = prop["anyOf"][0]["enum"] if "anyOf" in prop else prop["enum"]
        return [str(v) for v in enum]

    catalogs = {key: versions for s in registry.SERVICES
                for key, versions in s.target_versions().items()}
    assert {key: offered(key) for key in catalogs} == catalogs


def _gen_versions():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_versions",
                                                  ROOT / "scripts" / "gen_versions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_command_makes_the_schemas_and_readme_table_from_the_catalogs():
    """scripts/gen_versions.py --check passes on the committed files, and fails on a README
    whose table offers a version no catalog has (the stale state it exists to catch)."""
    gen = _gen_versions()
    assert gen.main(["--check"]) == 0
    readme = (ROOT / "README.md").read_text()
    planted = readme.replace("| `pgbouncer` | `1.18`, `1.24` |", "| `pgbouncer` | `1.18`, `1.99` |")
    assert planted != readme
    assert gen.readme_table(planted) == readme


# -- upgrades: parameters another version removed or adds ------------------------------------

@pytest.mark.parametrize("version, setting, says, hint", [
    (17, "vacuum_defer_cleanup_age: 1000", "was removed in PostgreSQL 16 (last in 15); the "
     "target is 17", "instead: hot_standby_feedback = on"),
    (17, "promote_trigger_file: /tmp/x", "was removed in PostgreSQL 16", "pg_ctl promote"),
    (17, "old_snapshot_threshold: 1min", "was removed in PostgreSQL 17 (last in 16)",
     "transaction_timeout"),
    (17, "db_user_namespace: on", "was removed in PostgreSQL 17 (last in 16)",
     "its own role"),
    (17, "io_method: worker", "needs PostgreSQL 18 or later; the target is 17",
     "target PostgreSQL 18 or later (targets.postgres)"),
])
def test_a_parameter_of_another_version_names_that_version(project, version, setting, says,
                                                            hint):
    targets_file(project, f"{{postgres: {version}}}")
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          f"postgres:\n  {setting}\n")
    result = run("validate", "--project", str(project))
    assert result.code == 1
    assert says in result.err and hint in result.err and "error[PCF201]" in result.err
    targets_file(project, "{postgres: 15}" if "removed" in says else "{postgres: 18}")
    assert run("validate", "--project", str(project)).code == 0


# -- version rules in the tuner ----------------------------------------------------------------

def tuned(result, path):
    setting = result.plan.settings.get(path)
    return None if setting is None else (setting.value, setting.rule, setting.reason)


@pytest.mark.parametrize("targets, method, workers", [
    ("{postgres: 18}", "io_uring", None),                                  # Debian/PGDG build
    ("{postgres: 18, postgres_build: {liburing: false}}", "worker", 4),   # npm / PyPI build
])
def test_postgres_18_tunes_asynchronous_io(project, targets, method, workers):
    targets_file(project, targets)
    write(project / "hosts/vm.yaml", "memory: 64GiB\ncpus: 16\nstorage: nvme\nopen_files: 65536\n")
    result = build(project)
    assert result.ok, result.diagnostics
    conf = result.files["postgresql.conf"].decode()
    value, rule, reason = tuned(result, "postgres.io_method")
    assert (value, rule) == (method, "pg.version.io_method") and "PostgreSQL 18+ rule" in reason
    assert f"\nio_method = {method}\n" in conf
    if workers is None:
        assert "\nio_workers" not in conf
    else:
        assert tuned(result, "postgres.io_workers")[0] == workers
        assert f"\nio_workers = {workers}\n" in conf


def test_postgres_17_has_no_asynchronous_io_but_16_rules_apply(project):
    targets_file(project, "{postgres: 17}")
    result = build(project)
    assert tuned(result, "postgres.io_method") is None
    value, rule, reason = tuned(result, "postgres.vacuum_buffer_usage_limit")
    assert (value, rule) == (16 * 2**20, "pg.version.vacuum_buffer_usage_limit")
    assert "PostgreSQL 16+ rule" in reason
    targets_file(project, "{postgres: 15}")
    assert tuned(build(project), "postgres.vacuum_buffer_usage_limit") is None


@pytest.mark.parametrize("cache, lazy", [('{redis: "8.0"}', True), ('{valkey: "8.1"}', None)])
def test_valkey_keeps_its_lazyfree_defaults(project, cache, lazy):
    targets_file(project, cache)
    result = build(project)
    assert result.ok, result.diagnostics
    eviction = tuned(result, "redis.lazyfree-lazy-eviction")
    assert (eviction[0] if eviction else None) == lazy
    conf = result.files["valkey.conf" if "valkey" in cache else "redis.conf"].decode()
    assert ("\nlazyfree-lazy-eviction yes\n" in conf) == bool(lazy)
