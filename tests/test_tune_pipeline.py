"""Any host from 1 GiB/1 CPU to 1 TiB/128 CPUs compiles end to end, and the budgets add up."""

import pytest
from helpers import compile_with, span_of, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfcfg.core.units import GiB, MiB
from perfcfg.services import registry
from perfcfg.stages.render import FILES, OPTIONAL_FILES

BUDGETS = ("os_reserve", "workers", "pgbouncer", "redis", "postgres")
REDIS_USER = "redis:\n  users:\n    - {name: app, password: \"${env:R}\", keys: [\"app:*\"]}\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memory_mib=st.integers(1024, 1024 * 1024), cpus=st.integers(1, 128),
       storage=st.sampled_from(["hdd", "ssd", "san", "nvme"]),
       open_files=st.sampled_from([1024, 4096, 65536, 1048576]),
       env=st.sampled_from(["development", "staging", "production"]))
def test_every_host_compiles_and_budgets_fit(project, memory_mib, cpus, storage, open_files, env):
    write(project / "perfcfg.yaml", "project: demo\nsecrets: {mode: placeholder}\nenvironments:\n"
          f"  {env}: {{preset: presets/{env}.yaml, host: hosts/vm.yaml}}\n")
    write(project / "hosts/vm.yaml", f"memory: {memory_mib}MiB\ncpus: {cpus}\n"
          f"storage: {storage}\nopen_files: {open_files}\n")
    result = compile_with(project, REDIS_USER, env)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    # every output once (the cache daemon's file is redis.conf or valkey.conf, not both),
    # without the limits' files this project does not ask for; the monitoring files in the
    # environments monitored by default
    monitoring = len(registry.MONITORING) if env != "development" else 0
    assert errors == [] and len(result.files) == \
        len(set(FILES) - OPTIONAL_FILES) - 1 + monitoring, errors
    plan = result.plan
    assert plan is not None
    assert sum(plan.value(f"budget.{b}") for b in BUDGETS) <= memory_mib * MiB
    assert plan.value("postgres.shared_buffers") >= 16 * 8192
    assert plan.value("redis.maxmemory") > 0
    assert plan.value("postgres.max_connections") > plan.value("postgres.superuser_reserved_connections")


def test_the_smallest_host_still_gets_sane_minimums(project):
    write(project / "hosts/vm.yaml", "memory: 1GiB\ncpus: 1\nstorage: hdd\nopen_files: 1024\n")
    plan = compile_with(project, REDIS_USER).plan
    assert plan is not None
    assert plan.value("postgres.shared_buffers") >= 32 * MiB
    assert plan.value("postgres.work_mem") >= 64 * 1024
    assert plan.value("budget.os_reserve") >= 256 * MiB
    assert plan.value("postgres.shared_buffers") < 1 * GiB


def test_client_timeout_keeps_pgbouncer_queue_wait_below_it(project):
    result = compile_with(project, "workload:\n  client_timeout: 8s\n", render=False)
    assert result.plan is not None, result.diagnostics
    assert result.plan.settings["pgbouncer.query_wait_timeout"].value == 4.0


def test_queue_wait_not_below_the_client_timeout_is_a_warning_naming_both(project):
    result = compile_with(project, "workload:\n  client_timeout: 500ms\n"
                          "pgbouncer:\n  query_wait_timeout: 30\n", render=False)
    [found] = [d for d in result.diagnostics if d.code == "PCF315"]
    assert (found.severity, found.path, span_of(found).line) == \
        ("warning", "pgbouncer.query_wait_timeout", 5)
    assert [(r.path, span_of(r).line) for r in found.related] == [("workload.client_timeout", 3)]
    assert "0.5 s" in found.message


def _old_pcf301_postgres_part(plan) -> float:
    """The check before issue 15: shared_buffers + max_connections × work_mem × 1.5 +
    autovacuum workers × autovacuum_work_mem (no hash_mem_multiplier, no parallel workers)."""
    v = plan.value
    return (v("postgres.shared_buffers") + v("postgres.max_connections") * v("postgres.work_mem")
            * 1.5 + v("postgres.autovacuum_max_workers") * v("postgres.autovacuum_work_mem"))


def test_pcf301_counts_hash_memory_and_parallel_workers_on_the_example(example):
    """A work_mem the old PCF301 let through (well inside PostgreSQL's share) is now an error:
    with hash_mem_multiplier 2.0 and 16 parallel workers it cannot fit the 64 GiB host."""
    tuned = compile_with(example, env="production").plan
    assert tuned is not None
    result = compile_with(example, env="production", sets=("postgres.work_mem=140MB",))
    plan = result.plan
    assert plan is not None
    assert _old_pcf301_postgres_part(plan) <= plan.value("budget.postgres")
    [finding] = [d for d in result.diagnostics if d.code == "PCF301"]
    assert finding.severity == "error" and finding.path == "postgres.work_mem"
    # and what perfcfg tunes itself fits by the same honest count
    assert tuned.value("budget.postgres_worst_case") <= tuned.value("budget.postgres")
    assert not [d for d in compile_with(example, env="production").diagnostics
                if d.code == "PCF301"]


def test_a_darwin_host_gets_no_prefetching(example):
    """Issue 15: the example's laptop (os: darwin) gets effective_io_concurrency and
    maintenance_io_concurrency 0 — PostgreSQL ≤ 17 on macOS refuses to start otherwise."""
    assert "os: darwin" in (example / "hosts/laptop.yaml").read_text()
    plan = compile_with(example, env="development").plan
    assert plan is not None
    assert plan.value("postgres.effective_io_concurrency") == 0
    assert plan.value("postgres.maintenance_io_concurrency") == 0
    assert plan.value("postgres.huge_pages") == "off"
    linux = compile_with(example, env="staging").plan
    assert linux is not None
    assert linux.value("postgres.effective_io_concurrency") > 0


def test_spare_connections_are_declared_counted_and_explained(project):
    """Item 3: the slack is the preset's (default 3, in builtin:production), counted in
    max_connections beside the pools, the direct clients and the reserved slots, and explained."""
    from perfcfg.cli import explain as explainer

    plans = {}
    for spare in (None, 0, 10):
        overlay = REDIS_USER + ("" if spare is None else f"postgres:\n  spare_connections: {spare}\n")
        result = compile_with(project, overlay, render=False)
        assert result.plan is not None, result.diagnostics
        plans[spare] = result
    mc = {k: r.plan.value("postgres.max_connections") for k, r in plans.items() if r.plan}
    assert mc[0] == mc[None] - 3 and mc[10] == mc[None] + 7
    answer = explainer.explain(plans[None], "postgres.spare_connections")
    assert answer is not None and answer["value"] == 3
    assert answer["origin"]["file"] == "builtin:production"
    connections = explainer.explain(plans[10], "postgres.max_connections")
    assert connections is not None and connections["inputs"]["spare_connections"] == 10
    assert "10 spare" in connections["reason"]


@pytest.mark.parametrize("value", ["-1", "many", "true", "1001"])
def test_spare_connections_must_be_a_small_whole_number(project, value):
    result = compile_with(project, REDIS_USER + f"postgres:\n  spare_connections: {value}\n",
                          render=False)
    [found] = [d for d in result.diagnostics if d.path == "postgres.spare_connections"]
    assert found.code == "PCF204" and "0 to 1000" in found.message
    assert (span_of(found).line, span_of(found).column) == (6, 22)   # after REDIS_USER
