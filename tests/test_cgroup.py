"""harness.cgroup: a memory cgroup with a unit's limits, which the children spawned inside
``procs.limits(cgroup=…)`` join, removed with whatever still runs in it, even when the test
fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from perfcfg.harness import cgroup, procs


@pytest.fixture
def kind() -> str:
    found, why = cgroup.where()
    if found is None:
        pytest.fail(f"no memory cgroup can be made on this machine: {why}")
    return found


def test_the_limit_is_written_where_the_hierarchy_keeps_it(kind):
    with cgroup.MemoryCgroup(64 << 20, 48 << 20, name="probe") as cg:
        name = "memory.max" if kind == "v2" else "memory.limit_in_bytes"
        assert int((cg.path / name).read_text()) == 64 << 20
        # v1 has no MemoryHigh: the handle says it is not in force rather than pretend
        assert cg.memory_high == (48 << 20 if kind == "v2" else None)
        assert cg.pids() == [] and cg.oom_kills() == 0


def test_a_failing_test_still_leaves_no_cgroup_and_no_process(kind, tmp_path):
    made: list[Path] = []
    child = 0
    with pytest.raises(RuntimeError, match="planted"), \
            cgroup.MemoryCgroup(64 << 20, name="probe") as cg:
        made.append(cg.path)
        with procs.limits(cgroup=cg.procs_file):
            proc = procs.spawn(["sleep", "300"], str(tmp_path / "sleep.log"))
        child = proc.pid
        assert cg.pids() == [child]
        raise RuntimeError("planted")
    # close() killed it (SIGKILL) and removed the cgroup before the error went on
    assert proc.wait(timeout=10) == -9
    assert child == proc.pid and not made[0].exists()


def test_children_spawned_outside_stay_where_they_were(kind, tmp_path):
    with cgroup.MemoryCgroup(64 << 20, name="probe") as cg:
        proc = procs.spawn(["sleep", "300"], str(tmp_path / "sleep.log"))
        try:
            time.sleep(0.05)
            assert proc.pid not in cg.pids() and proc.poll() is None
        finally:
            proc.kill()
            proc.wait(timeout=10)
