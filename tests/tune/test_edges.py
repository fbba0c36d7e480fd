"""Issue 26's rules one at a time: the worker headroom, the WAL for large buffer pools, Valkey 8's
I/O threads, pgbouncer's backlog, the background writer and the guards, where each applies and
where it must not (tests/test_matrix.py pins them on the review's 15 hosts)."""

from __future__ import annotations

import pytest

from perfcfg.services.postgres.tuning import parallel as pg_parallel
from perfcfg.services.postgres.tuning.wal import WAL_SIZES
from perfcfg.stages.tune import recommend_all, settings
from perfcfg.tune.context import GiB, Host, MiB, Pool, Program, TiB, Versions


def _reason(ctx, path: str) -> str:
    return next(r.reason for r in recommend_all(ctx) if r.path == path)


@pytest.mark.parametrize("libraries, extra", [
    ("pg_stat_statements", 0),
    ("pg_stat_statements, auto_explain", 0),
    ("timescaledb", 17),
    ("pg_stat_statements,timescaledb,pg_cron", 18),
    (["pg_cron", "pg_partman_bgw"], 2),
    ("my_own_extension", 1),                # an unknown library may start one worker
], ids=["no-workers", "two-without", "timescaledb", "three", "list", "unknown"])
def test_worker_slots_make_room_for_the_preloaded_libraries(make_ctx, libraries, extra):
    ctx = make_ctx(host=Host(64 * GiB, 16), fixed={"postgres.shared_preload_libraries": libraries})
    s = settings(ctx)
    assert s["postgres.max_worker_processes"] == max(8, 16 + 2 + extra)
    if extra:
        assert "background workers of" in _reason(ctx, "postgres.max_worker_processes")


def test_logical_replication_workers_come_from_the_same_pool(make_ctx):
    plain = settings(make_ctx(host=Host(64 * GiB, 16)))
    logical = settings(make_ctx(host=Host(64 * GiB, 16), fixed={"postgres.wal_level": "logical"}))
    assert logical["postgres.max_worker_processes"] == plain["postgres.max_worker_processes"] \
        + pg_parallel.LOGICAL_REPLICATION_WORKERS


@pytest.mark.parametrize("memory, profile, wal_disk, expected", [
    (1 * TiB, "dw", None, None),               # P9: 16GB of WAL for ~190GB of buffers before
    (256 * GiB, "oltp", None, None),            # a quarter of the buffers, whatever it is
    (16 * GiB, "oltp", None, 8 * GiB),          # the profile table still rules small hosts
    (1 * TiB, "dw", 100 * GiB, 60 * GiB),       # a declared WAL disk decides
], ids=["1t-dw", "256g-oltp", "16g-oltp", "1t-dw-wal-disk"])
def test_max_wal_size_keeps_up_with_shared_buffers(make_ctx, memory, profile, wal_disk, expected):
    ctx = make_ctx(host=Host(memory, 32, "nvme", 1 << 20, "linux", wal_disk), db_profile=profile,
                   env="production")
    s = settings(ctx)
    quarter = min(64 * GiB, s["postgres.shared_buffers"] // 4 // GiB * GiB)
    if expected is None:
        assert s["postgres.max_wal_size"] == quarter > WAL_SIZES[profile][1]
    elif wal_disk is None:
        assert s["postgres.max_wal_size"] == expected
    else:
        assert abs(s["postgres.max_wal_size"] - expected) <= 16 * MiB
    if wal_disk is None and quarter > 16 * GiB:
        assert "declare host.wal_disk" in _reason(ctx, "postgres.max_wal_size")


@pytest.mark.parametrize("cache, cpus, env, threads", [
    ({"valkey": (8, 0)}, 64, "production", 8),      # P13: 1 thread on 64 CPUs before
    ({"valkey": (8, 1)}, 4, "staging", 2),
    ({"valkey": (8, 1)}, 2, "production", 1),       # no spare core for a thread
    ({"valkey": (8, 1)}, 64, "development", 1),
    ({"valkey": None}, 64, "production", 1),         # Redis 7: a measured bottleneck only
], ids=["valkey-64", "valkey-4", "valkey-2", "valkey-dev", "redis-few-clients"])
def test_valkey_8_io_threads(make_ctx, cache, cpus, env, threads):
    ctx = make_ctx(host=Host(64 * GiB, cpus), env=env, versions=Versions(**cache))
    assert settings(ctx)["redis.io-threads"] == threads


@pytest.mark.parametrize("processes", [10, 400, 4000], ids=["few", "many", "capped"])
def test_pgbouncer_backlog_holds_every_client_and_never_changes_with_scaling(make_ctx, processes):
    """P12: 128 with max_client_conn 1600 refused a reconnect storm; a backlog sized from the
    clients would turn scaling the workers into a pgbouncer restart (it is read at start)."""
    ctx = make_ctx(programs=(Program("bot", processes, 2, 1, 8 * MiB),),
                   pools=(Pool("app", "bot", processes * 2),),
                   host=Host(64 * GiB, 8, open_files=1 << 20))
    s = settings(ctx)
    assert s["pgbouncer.listen_backlog"] == 4096 >= min(4096, s["pgbouncer.max_client_conn"])


@pytest.mark.parametrize("storage, env, memory, written", [
    ("nvme", "production", 16 * GiB, True), ("ssd", "staging", 16 * GiB, True),
    ("hdd", "production", 16 * GiB, False), ("nvme", "development", 16 * GiB, False),
    ("ssd", "production", 2 * GiB, False),
], ids=["nvme", "ssd", "hdd", "development", "small-buffers"])
def test_background_writer_only_where_it_pays(make_ctx, storage, env, memory, written):
    s = settings(make_ctx(host=Host(memory, 4, storage), env=env))
    assert ("postgres.bgwriter_delay" in s) == written
    assert ("postgres.bgwriter_lru_maxpages" in s) == written


@pytest.mark.parametrize("storage, limit", [("hdd", None), ("ssd", 2000), ("san", 2000),
                                            ("nvme", 4000)])
def test_autovacuum_cost_limit_by_storage(make_ctx, storage, limit):
    assert settings(make_ctx(host=Host(16 * GiB, 4, storage))).get(
        "postgres.autovacuum_vacuum_cost_limit") == limit


@pytest.mark.parametrize("profile, env, version, lock, transaction", [
    ("web", "production", 17, True, True), ("oltp", "staging", 18, True, True),
    ("oltp", "production", 16, True, False),        # transaction_timeout exists from 17
    ("web", "development", 17, False, False), ("dw", "production", 17, False, False),
    ("mixed", "production", 17, False, False), ("desktop", "production", 17, False, False),
])
def test_timeouts_only_where_safe(make_ctx, profile, env, version, lock, transaction):
    s = settings(make_ctx(db_profile=profile, env=env, versions=Versions(postgres=version)))
    assert ("postgres.lock_timeout" in s, "postgres.transaction_timeout" in s) == \
        (lock, transaction)
    assert "postgres.statement_timeout" not in s


@pytest.mark.parametrize("profile, data_size, limit", [
    ("web", None, 5 * GiB), ("oltp", None, 5 * GiB), ("mixed", None, 20 * GiB),
    ("dw", None, None), ("dw", 100 * GiB, 100 * GiB), ("dw", 1 * GiB, 20 * GiB),
])
def test_temp_file_limit(make_ctx, profile, data_size, limit):
    s = settings(make_ctx(db_profile=profile, data_size=data_size))
    assert s.get("postgres.temp_file_limit") == limit


@pytest.mark.parametrize("profile, locks", [("dw", 256), ("mixed", 128), ("oltp", None)])
def test_max_locks_for_partitioned_profiles(make_ctx, profile, locks):
    assert settings(make_ctx(db_profile=profile)).get("postgres.max_locks_per_transaction") == locks


@pytest.mark.parametrize("limits, huge", [(False, "try"), (True, "on")])
def test_huge_pages_on_needs_the_build_to_write_the_pages(make_ctx, limits, huge):
    """P8: on is a start dependency on vm.nr_hugepages: only when deploy.limits writes it."""
    ctx = make_ctx(host=Host(256 * GiB, 32, "nvme", 1 << 20), env="production", limits=limits)
    s = settings(ctx)
    assert s["postgres.huge_pages"] == huge and s["budget.nr_hugepages"] > 0


@pytest.mark.parametrize("memory, role, persistence, capped", [
    (1 * TiB, "store", False, True), (1 * TiB, "cache", True, True),
    (1 * TiB, "cache", False, False), (64 * GiB, "store", False, False),
], ids=["1t-store", "1t-persisting-cache", "1t-cache", "64g-store"])
def test_a_persisting_redis_stops_where_its_forks_stall(make_ctx, memory, role, persistence,
                                                        capped):
    """P10: every RDB save and AOF rewrite forks; the fork stops Redis ~60ms per GiB."""
    from perfcfg.services.redis import budget as redis_budget
    from perfcfg.stages.tune import check

    ctx = make_ctx(host=Host(memory, 32), redis_role=role, redis_persistence=persistence)
    s = settings(ctx)
    assert (s["redis.maxmemory"] == redis_budget.FORK_MAXMEMORY_CAP) == capped
    if capped:
        assert "shard more data" in _reason(ctx, "redis.maxmemory")
    assert not [f for f in check(ctx, s) if f.code == "PCF321"]


def test_a_stated_large_persisting_redis_is_warned_with_the_stall(make_ctx):
    from perfcfg.stages.tune import check
    from perfcfg.tune.context import Shares

    ctx = make_ctx(host=Host(1 * TiB, 32), redis_role="store",
                   shares=Shares(os_reserve=None, redis=0.3))
    s = settings(ctx)
    assert s["redis.maxmemory"] > 64 * GiB
    [found] = [f for f in check(ctx, s) if f.code == "PCF321"]
    assert found.severity == "warning" and "shard" in found.hint
