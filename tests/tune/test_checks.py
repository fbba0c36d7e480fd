"""Cross-service invariants: each violation is found, with both sides in ``paths``."""

import pytest

from perfcfg.stages.tune import check, settings
from perfcfg.tune import budget
from perfcfg.tune.context import GiB, Host, Shares, Versions

# id: (context changes, preset-fixed values, code, severity, paths that must be named)
VIOLATIONS = {
    "memory-worst-case": ({}, {"postgres.shared_buffers": 14 * GiB}, "PCF301", "error",
                          {"host.memory", "postgres.shared_buffers"}),
    "shares-beyond-host": ({"shares": Shares(postgres=0.9, redis=0.2)}, {}, "PCF302", "error",
                           {"host.memory", "budget.postgres", "budget.redis"}),
    "slots-short": ({}, {"postgres.max_connections": 8}, "PCF303", "error",
                    {"pgbouncer.default_pool_size", "postgres.max_connections"}),
    "reserved-eat-slots": ({}, {"postgres.superuser_reserved_connections": 20,
                                "postgres.max_connections": 15}, "PCF304",
                           "error", {"postgres.superuser_reserved_connections",
                                     "postgres.max_connections"}),
    "pgbouncer-fds": ({"host": Host(16 * GiB, 4, open_files=100)}, {}, "PCF305", "error",
                      {"pgbouncer.max_client_conn", "host.open_files"}),
    "pgbouncer-fds-supervised": ({"supervised": frozenset({"pgbouncer"})},
                                 {"supervisor.minfds": 64}, "PCF305", "error",
                                 {"pgbouncer.max_client_conn", "supervisor.minfds"}),
    "redis-fds": ({"host": Host(16 * GiB, 4, open_files=1024)}, {"redis.maxclients": 5000},
                  "PCF306", "warning", {"redis.maxclients", "host.open_files"}),
    "redis-clients": ({}, {"redis.maxclients": 10}, "PCF307", "error",
                      {"redis.maxclients", "supervisor.programs.bot.numprocs"}),
    "pgbouncer-clients": ({}, {"pgbouncer.max_client_conn": 50}, "PCF308", "error",
                          {"pgbouncer.max_client_conn", "supervisor.programs.bot.numprocs"}),
    "prepared-on-1.18": ({"versions": Versions(pgbouncer=(1, 18))},
                         {"pgbouncer.max_prepared_statements": 100}, "PCF309", "error",
                         {"pgbouncer.max_prepared_statements", "targets.pgbouncer"}),
    "transaction-pooling-1.18": ({"versions": Versions(pgbouncer=(1, 18))}, {}, "PCF310",
                                 "warning",
                                 {"pgbouncer.pool_mode", "targets.pgbouncer"}),
    "port-clash": ({}, {"postgres.port": 6432, "pgbouncer.listen_port": 6432}, "PCF311",
                   "error", {"postgres.port", "pgbouncer.listen_port"}),
    "worker-fds": ({}, {"supervisor.minfds": 32}, "PCF312", "error",
                   {"supervisor.programs.bot", "supervisor.minfds"}),
    "parallel-over-slots": ({}, {"postgres.max_parallel_workers": 32}, "PCF313", "warning",
                            {"postgres.max_parallel_workers", "postgres.max_worker_processes"}),
    "redis-unlimited": ({}, {"redis.maxmemory": 0}, "PCF314", "warning",
                        {"redis.maxmemory", "host.memory"}),
    "query-wait-vs-client": ({"client_timeout": 20.0}, {"pgbouncer.query_wait_timeout": 30.0},
                             "PCF315", "warning", {"pgbouncer.query_wait_timeout",
                                                   "workload.client_timeout"}),
}


@pytest.mark.parametrize("changes, fixed, code, severity, paths", VIOLATIONS.values(),
                         ids=VIOLATIONS.keys())
def test_violation_is_found_with_both_sides(make_ctx, changes, fixed, code, severity, paths):
    ctx = make_ctx(fixed=fixed, **changes)
    found = [f for f in check(ctx, settings(ctx)) if f.code == code]
    assert found, f"{code} not reported"
    assert found[0].severity == severity
    assert paths <= set(found[0].paths)
    assert found[0].message and found[0].hint


def test_staging_host_fits_with_os_reserve_and_no_errors(make_ctx):
    ctx = make_ctx()
    plan, final = budget.plan(ctx), settings(ctx)
    assert plan.os_reserve >= budget.OS_RESERVE_FLOOR
    assert set(plan.parts) == {"postgres", "pgbouncer", "redis"}
    assert plan.os_reserve + plan.workers + sum(plan.parts.values()) <= ctx.host.memory
    assert [f for f in check(ctx, final) if f.severity == "error"] == []


def test_pgbouncer_1_21_has_no_driver_warning(make_ctx):
    ctx = make_ctx(versions=Versions(pgbouncer=(1, 21)))
    assert [f.code for f in check(ctx, settings(ctx))] == []
