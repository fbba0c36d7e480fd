"""supervisord programs and the rlimits its children inherit."""

import pytest

from perfcfg.services.supervisor import tuning as supervisor
from perfcfg.tune.context import Program


def _values(ctx, prior=None):
    return {r.path: r.value for r in supervisor.recommend(ctx, prior or {})}


@pytest.mark.parametrize("processes, has_name", [(1, False), (2, True)], ids=["single", "many"])
def test_process_name_only_when_numprocs_above_one(make_ctx, processes, has_name):
    v = _values(make_ctx(programs=(Program("bot", processes, 1, 1, 0),)))
    assert v["supervisor.programs.bot.numprocs"] == processes
    assert ("supervisor.programs.bot.process_name" in v) is has_name


def test_program_defaults_for_workers(make_ctx):
    v = _values(make_ctx(programs=(Program("bot", 4, 1, 1, 0, stop_seconds=40),)))
    assert v["supervisor.programs.bot.stopwaitsecs"] == 45
    assert v["supervisor.programs.bot.stopasgroup"] and v["supervisor.programs.bot.killasgroup"]
    assert v["supervisor.programs.bot.startsecs"] >= 1
    for stream in ("stdout", "stderr"):
        assert 0 < v[f"supervisor.programs.bot.{stream}_logfile_maxbytes"] <= 50 * 2 ** 20


def test_log_rotation_fits_the_disk_budget(make_ctx):
    ctx = make_ctx(env="production", programs=(Program("bot", 200, 1, 1, 0),))
    v = _values(ctx)
    size = v["supervisor.programs.bot.stdout_logfile_maxbytes"]
    backups = v["supervisor.programs.bot.stdout_logfile_backups"]
    assert 200 * 2 * size * (backups + 1) <= supervisor.LOG_DISK_BUDGET["production"]


def test_one_programs_scaling_leaves_the_others_log_size_alone(make_ctx):
    # supervisor restarts a program whose section changes: 24 → 30 workers of one program must
    # not change another's log size (it did: 12MiB → 9MiB restarted every program)
    def size(processes):
        ctx = make_ctx(env="development", programs=(Program("matcher", processes, 1, 1, 0),
                                                    Program("payments", 2, 1, 1, 0)))
        return _values(ctx)["supervisor.programs.payments.stdout_logfile_maxbytes"]
    sizes = {processes: size(processes) for processes in range(2, 33)}
    assert all(s & (s - 1) == 0 for s in sizes.values()), sizes   # powers of two
    # it changes only where the share crosses a power of two: 5 sizes over a 16× range,
    # where the exact share would change with every new process
    assert len(set(sizes.values())) <= 5, sizes


@pytest.mark.parametrize("supervised, prior, minfds", [
    (frozenset(), {"budget.pgbouncer_fds": 5000}, 1024),
    (frozenset({"pgbouncer"}), {"budget.pgbouncer_fds": 5000}, 5120),
    (frozenset({"redis"}), {"budget.redis_fds": 10032}, 10240),
], ids=["pgbouncer-outside", "pgbouncer-supervised", "redis-supervised"])
def test_minfds_covers_supervised_daemons(make_ctx, supervised, prior, minfds):
    assert _values(make_ctx(supervised=supervised), prior)["supervisor.minfds"] == minfds


def test_minfds_covers_a_hungry_worker(make_ctx):
    v = _values(make_ctx(programs=(Program("crawler", 2, 1, 1, 0, open_files=3000),)))
    assert v["supervisor.minfds"] >= 3000 + 2 + 64
