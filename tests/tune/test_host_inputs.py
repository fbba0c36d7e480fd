"""Host inputs: the kernel gates prefetching and huge pages, the WAL disk sizes the WAL, the
declared data size caps the caches, and large shared memory gets huge pages and a warning."""

import pytest

from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.services.postgres.tuning import wal as pg_wal
from perfcfg.stages.tune import check, recommend_all, settings
from perfcfg.tune.context import GiB, Host, MiB, TiB, Versions


@pytest.mark.parametrize("os_name, huge", [("darwin", "off"), ("freebsd", "off"),
                                            ("windows", "try")])
@pytest.mark.parametrize("version", [15, 16, 17])
def test_no_prefetch_off_linux_before_18_and_huge_pages_where_the_kernel_has_them(
        make_ctx, os_name, huge, version):
    s = settings(make_ctx(host=Host(64 * GiB, 8, "nvme", 65536, os_name), env="production",
                          versions=Versions(postgres=version)))
    assert s["postgres.effective_io_concurrency"] == 0
    assert s["postgres.maintenance_io_concurrency"] == 0
    # P14: Windows has large pages (given "Lock pages in memory"); try falls back without
    assert s["postgres.huge_pages"] == huge
    assert "budget.nr_hugepages" not in s      # no vm.nr_hugepages off Linux


@pytest.mark.parametrize("os_name", ["darwin", "freebsd", "windows", "linux"])
@pytest.mark.parametrize("storage", ["hdd", "ssd", "san", "nvme"])
def test_postgresql_18_prefetches_everywhere_never_below_its_defaults(make_ctx, os_name, storage):
    """P3/P4/P6: 18 reads ahead through read streams on every kernel, defaults 16/16, and
    maintenance_io_concurrency is each VACUUM worker's stream depth (≤ 100)."""
    s = settings(make_ctx(host=Host(64 * GiB, 8, storage, 65536, os_name), env="production",
                          versions=Versions(postgres=18)))
    assert s["postgres.effective_io_concurrency"] >= 16
    assert 16 <= s["postgres.maintenance_io_concurrency"] <= 100
    assert s["postgres.io_method"] == ("io_uring" if storage == "nvme" and os_name == "linux"
                                       else "worker")


def test_linux_keeps_prefetch(make_ctx):
    s = settings(make_ctx(host=Host(64 * GiB, 8, "nvme", 65536, "linux")))
    assert s["postgres.effective_io_concurrency"] == 1000


def test_hdd_maintenance_io_concurrency_never_below_the_default(make_ctx):
    s = settings(make_ctx(host=Host(16 * GiB, 4, "hdd", 65536)))
    assert (s["postgres.effective_io_concurrency"], s["postgres.maintenance_io_concurrency"]) \
        == (2, 10)


@pytest.mark.parametrize("disk, low, high, timeout", [
    (4 * GiB, 1232 * MiB, 2464 * MiB, None),          # a small VM disk: no 8GB of WAL
    (20 * GiB, 6 * GiB, 12 * GiB, 15 * 60),
    (2 * TiB, 32 * GiB, 64 * GiB, 30 * 60),           # capped: recovery replays max_wal_size
])
def test_wal_disk_sizes_the_wal_and_the_checkpoint_interval(make_ctx, disk, low, high, timeout):
    s = settings(make_ctx(host=Host(16 * GiB, 4, "ssd", 65536, "linux", disk)))
    assert (s["postgres.min_wal_size"], s["postgres.max_wal_size"]) == (low, high)
    assert high == min(64 * GiB, -(-int(disk * 0.6) // (16 * MiB)) * 16 * MiB)
    assert s.get("postgres.checkpoint_timeout") == (None if timeout is None else timeout * 10**6)


def test_large_profile_wal_gets_a_longer_checkpoint_timeout(make_ctx):
    assert pg_wal.checkpoint_timeout(8 * GiB) == 15 * 60
    assert pg_wal.checkpoint_timeout(4 * GiB) is None
    s = settings(make_ctx(db_profile="oltp"))          # PGTune's 8GB for oltp
    assert s["postgres.checkpoint_timeout"] == 15 * 60 * 10**6


def test_data_size_caps_shared_buffers_and_the_cache(make_ctx):
    big = settings(make_ctx())
    small = settings(make_ctx(data_size=1 * GiB))
    assert small["postgres.shared_buffers"] == 1229 * MiB < big["postgres.shared_buffers"]
    assert small["postgres.effective_cache_size"] == 1229 * MiB
    assert small["postgres.work_mem"] >= big["postgres.work_mem"]


def test_huge_pages_try_when_nothing_writes_the_pages_it_needs(make_ctx):
    """P8: without deploy.limits no file of the build reserves the pages: on would make the
    sysctl a start dependency, so try, and explain says why."""
    ctx = make_ctx(host=Host(256 * GiB, 64, "nvme", 1 << 20), env="production")
    s = settings(ctx)
    assert s["postgres.shared_buffers"] >= 32 * GiB and s["postgres.huge_pages"] == "try"
    [why] = [r.reason for r in recommend_all(ctx) if r.path == "postgres.huge_pages"]
    assert "deploy.limits is off" in why
    assert not [f for f in check(ctx, s) if "huge_pages = on" in f.message]


def test_huge_pages_on_with_the_pages_it_needs_once_shared_buffers_is_large(make_ctx):
    ctx = make_ctx(host=Host(256 * GiB, 64, "nvme", 1 << 20), env="production", limits=True)
    s = settings(ctx)
    assert s["postgres.shared_buffers"] >= 32 * GiB and s["postgres.huge_pages"] == "on"
    pages = s["budget.nr_hugepages"]
    assert pages * 2 * MiB >= s["postgres.shared_buffers"] + s["postgres.wal_buffers"]
    assert pages == pg_memory.nr_hugepages(s["postgres.shared_buffers"], s["postgres.wal_buffers"])
    [finding] = [f for f in check(ctx, s) if f.code == "PCF316"]
    assert finding.severity == "warning" and f"vm.nr_hugepages ≥ {pages}" in finding.message


def test_warning_above_100gb_of_shared_buffers(make_ctx):
    ctx = make_ctx(host=Host(2 * TiB, 192, "nvme", 1 << 20), env="production", limits=True)
    s = settings(ctx)
    messages = [f.message for f in check(ctx, s) if f.code == "PCF316"]
    assert any("above ~100GB" in m for m in messages) and len(messages) == 2
    capped = settings(make_ctx(host=Host(2 * TiB, 192, "nvme", 1 << 20), env="production",
                               data_size=50 * GiB))
    assert not [f for f in check(ctx, capped) if "above ~100GB" in f.message]
