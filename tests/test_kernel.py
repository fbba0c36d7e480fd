"""The kernel side of the plan (issue 26, item 5): transparent huge pages off (tmpfiles.d),
swappiness, dirty bytes on a spinning disk, overcommit for a cache that forks, each from the
plan with its reason; none on a host that is not Linux (PCF322); ``perfcfg host`` compares each
with this machine; systemd's own tools read the files, and this kernel has every key."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import EXAMPLE, copy_example, write
from test_hostdetect import FakeRoot

from perfcfg.cli import commands
from perfcfg.cli.explain import explain
from perfcfg.core.plan import Plan
from perfcfg.services.postgres.tuning.limits import DIRTY_BACKGROUND_BYTES, DIRTY_BYTES
from perfcfg.stages.pipeline import Request, Result, compile_env

THP = "kernel.mm.transparent_hugepage.enabled"
THP_FILE = "/sys/kernel/mm/transparent_hugepage/enabled"


def _compile(project: Path, env: str = "production", *sets: str) -> Result:
    result = compile_env(Request(project, env, sets=sets))
    assert result.ok, result.diagnostics
    return result


def plan_of(result: Result) -> Plan:
    assert result.plan is not None
    return result.plan


def sysctls(result: Result) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in result.files["sysctl.conf"].decode()
                .splitlines() if line and not line.startswith("#"))


def on_host(tmp_path: Path, host: str) -> Path:
    """The example with the production host profile replaced."""
    project = copy_example(tmp_path, with_generated=False)
    write(project / "hosts" / "prod-nvme.yaml", host)
    return project


HOST = "memory: 64GiB\ncpus: 16\nstorage: {storage}\nopen_files: 1048576\n"


@pytest.fixture(scope="module")
def production() -> Result:
    return _compile(EXAMPLE)


def test_transparent_huge_pages_are_turned_off_at_boot(production):
    lines = [x for x in production.files["tmpfiles.conf"].decode().splitlines()
             if x and not x.startswith("#")]
    assert lines == [f"w {THP_FILE} - - - - never"]
    why = explain(production, f"sysfs.{THP}")
    assert why is not None and why["rule"] == "host.sysfs.transparent_hugepage"
    assert "PostgreSQL" in why["reason"] and why["value"] == "never"


def test_swappiness_keeps_the_budgeted_memory_in_ram(production):
    assert sysctls(production)["vm.swappiness"] == "1"
    why = explain(production, "sysctl.vm.swappiness")
    assert why is not None and why["rule"] == "host.sysctl.swappiness"
    assert "budget.postgres" in why["inputs"]


@pytest.mark.parametrize("storage, dirty", [("hdd", True), ("ssd", False), ("nvme", False),
                                            ("san", False)])
def test_dirty_bytes_only_on_a_spinning_disk(tmp_path, storage, dirty):
    result = _compile(on_host(tmp_path, HOST.format(storage=storage)))
    got = sysctls(result)
    assert ("vm.dirty_bytes" in got) is dirty
    assert ("vm.dirty_background_bytes" in got) is dirty
    if dirty:
        assert int(got["vm.dirty_background_bytes"]) == DIRTY_BACKGROUND_BYTES
        assert int(got["vm.dirty_bytes"]) == DIRTY_BYTES
        # both far below the kernel's ratios of this host's RAM (10 % and 20 %)
        assert DIRTY_BYTES < 64 * (1 << 30) // 20
        why = explain(result, "sysctl.vm.dirty_bytes")
        assert why is not None and "checkpoint" in why["reason"]


@pytest.mark.parametrize("sets, source", [
    (("redis.replicaof=10.0.0.5 6379",), "redis.replicaof"),
    (("redis.appendonly=true",), "redis.persistence"),
    (("redis.role=store",), "redis.persistence")])
def test_a_cache_that_forks_gets_overcommit(sets, source):
    result = _compile(EXAMPLE, "production", *sets)
    assert sysctls(result)["vm.overcommit_memory"] == "1"
    why = explain(result, "sysctl.vm.overcommit_memory")
    assert why is not None and source in why["inputs"] and "fork" in why["reason"]


def test_a_cache_that_never_forks_leaves_overcommit_alone(production):
    assert "sysctl.vm.overcommit_memory" not in plan_of(production).settings


@pytest.mark.parametrize("system", ["windows", "darwin", "freebsd"])
def test_a_host_that_is_not_linux_gets_no_kernel_files_and_is_told(tmp_path, system):
    project = on_host(tmp_path, HOST.format(storage="hdd") + f"os: {system}\n")
    result = compile_env(Request(project, "production"))
    assert result.ok
    # (this bigger host's pools pass the example's declared headroom: PCF319, not ours)
    found = [d for d in result.diagnostics if d.code != "PCF319"]
    assert [d.code for d in found] == ["PCF322"]
    assert found[0].path == "environments.production.deploy.limits"
    assert not [n for n in result.files if n.startswith(("systemd-", "sysctl", "tmpfiles"))]
    assert not [p for p in plan_of(result).settings if p.startswith(("sysctl.", "sysfs."))]


def test_a_linux_host_is_not_told(production):
    assert [d.code for d in production.diagnostics] == []


# -- perfcfg host: each one against this machine --------------------------------------------

def machine(tmp_path: Path, thp: str = "always madvise [never]", swappiness: int = 1,
            dirty: tuple[int, int] = (0, 0), cgroup: str = "v2") -> Path:
    root = FakeRoot(tmp_path / "root")
    if cgroup == "v2":
        root.write("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
    root.write("/proc/sys/net/core/somaxconn", "4096\n")
    root.write("/proc/sys/vm/overcommit_memory", "0\n")
    root.write("/proc/sys/vm/nr_hugepages", "100000\n")
    root.write("/proc/sys/vm/swappiness", f"{swappiness}\n")
    root.write("/proc/sys/vm/dirty_background_bytes", f"{dirty[0]}\n")
    root.write("/proc/sys/vm/dirty_bytes", f"{dirty[1]}\n")
    root.write(THP_FILE, f"{thp}\n")
    root.write("/proc/self/limits",
               "Limit                     Soft Limit           Hard Limit           Units\n"
               "Max open files            65536                65536                files\n")
    return root.base


def host(project: Path, root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    req = Request(project, "production", render=False)
    code = commands.host(commands.Io(out, err), "yaml", req, root=str(root))
    return code, out.getvalue(), err.getvalue()


def test_a_machine_set_as_planned_passes(tmp_path):
    project = on_host(tmp_path, HOST.format(storage="hdd"))
    code, out, err = host(project, machine(tmp_path, dirty=(DIRTY_BACKGROUND_BYTES,
                                                            DIRTY_BYTES)))
    assert code == 0 and err == "", err
    assert f"{THP} = never: wants = never, ok" in out
    assert "vm.swappiness = 1: wants ≤ 1, ok" in out
    assert f"vm.dirty_bytes = {DIRTY_BYTES}: wants ≤ {DIRTY_BYTES}, ok" in out


def test_each_kernel_setting_off_plan_is_a_warning_naming_its_fix(tmp_path):
    project = on_host(tmp_path, HOST.format(storage="hdd"))
    code, out, err = host(project, machine(tmp_path, thp="[always] madvise never",
                                           swappiness=60, dirty=(0, 0)))
    # the daemons run without any of them: warnings, exit 0
    assert code == 0
    found = re.findall(r"warning\[PCF317\]: (\S+)", err)
    assert sorted(found) == [THP, "vm.dirty_background_bytes", "vm.dirty_bytes",
                             "vm.swappiness"]
    assert f"{THP} = always: wants = never, WRONG" in out
    assert "vm.swappiness = 60: wants ≤ 1, TOO HIGH" in out
    # 0 means the kernel's ratio of RAM: far more than the plan's bytes
    assert f"vm.dirty_bytes = 0: wants ≤ {DIRTY_BYTES}, TOO HIGH" in out
    assert f"echo never > {THP_FILE}" in err and "sysctl -w vm.swappiness=1" in err


def test_an_ssd_host_does_not_check_dirty_bytes(tmp_path):
    project = on_host(tmp_path, HOST.format(storage="ssd"))
    code, out, _ = host(project, machine(tmp_path))
    assert code == 0 and "vm.dirty_bytes = 0: not needed by this plan" in out


def running(root: Path, pidfile: str, pid: int, cgroup: str, limit: str | None) -> None:
    """A daemon running as ``pid`` in the cgroup ``cgroup`` (v2), its memory.max ``limit``."""
    write(root / pidfile.lstrip("/"), f"{pid}\n")
    write(root / f"proc/{pid}/limits", "Max open files            1048576              "
                                       "1048576              files\n")
    write(root / f"proc/{pid}/cgroup", f"0::{cgroup}\n")
    if limit is not None:
        write(root / f"sys/fs/cgroup{cgroup}/memory.max", f"{limit}\n")


def test_a_running_daemon_without_its_memory_limit_is_flagged(tmp_path, production):
    plan = plan_of(production)
    root = machine(tmp_path)
    want = plan.value("systemd.redis.MemoryMax")
    running(root, plan.value("redis.pidfile"), 4242, "/system.slice/valkey-server.service",
            None)    # started by hand: no limit on its cgroup
    running(root, plan.value("pgbouncer.pidfile"), 4343, "/system.slice/pgbouncer.service",
            str(plan.value("systemd.pgbouncer.MemoryMax")))
    code, out, err = host(EXAMPLE, root)
    assert code == 0, err
    assert re.findall(r"warning\[PCF317\]: (the running .*?);", err) == [
        "the running redis (pid 4242) has no memory limit"]
    assert f"its unit's MemoryMax is {want}" in err and "systemctl daemon-reload" in err
    assert f"memory limit (redis, running as pid 4242) = unknown: wants ≤ {want}" in out
    pgb = plan.value("systemd.pgbouncer.MemoryMax")
    assert f"memory limit (pgbouncer, running as pid 4343) = {pgb}: wants ≤ {pgb}, ok" in out


def test_a_v1_hierarchy_is_told_that_memory_high_is_not_in_force(tmp_path):
    code, out, err = host(EXAMPLE, machine(tmp_path, cgroup="v1"))
    assert code == 0
    assert "cgroup hierarchy = v1: MemoryHigh not in force" in out
    assert re.findall(r"warning\[PCF317\]: this machine's memory cgroups are v1", err)
    assert "systemd.unified_cgroup_hierarchy" in err


# -- systemd's tools read the files; this kernel has every key ------------------------------

@pytest.mark.daemons
@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-tmpfiles is not installed (apt-get install systemd)")
def test_systemd_tmpfiles_reads_the_file(production, tmp_path):
    def create(data: bytes) -> subprocess.CompletedProcess[str]:
        conf = tmp_path / "perfcfg.conf"
        conf.write_bytes(data)
        # --root: applied inside an empty tree, so this machine's /sys is never written
        (tmp_path / "root").mkdir(exist_ok=True)
        return subprocess.run(["systemd-tmpfiles", f"--root={tmp_path / 'root'}", "--create",
                               str(conf)], capture_output=True, text=True, timeout=60)

    done = create(production.files["tmpfiles.conf"])
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert not list((tmp_path / "root").iterdir())
    # the check can fail: a line systemd-tmpfiles cannot parse is reported
    bad = create(production.files["tmpfiles.conf"].replace(b"\nw ", b"\nw% "))
    assert bad.returncode != 0 and "perfcfg.conf" in bad.stderr


def test_this_kernel_has_every_key_and_accepts_each_value(tmp_path):
    result = _compile(on_host(tmp_path, HOST.format(storage="hdd")), "production",
                      "redis.appendonly=true")
    for key, value in sysctls(result).items():
        assert Path("/proc/sys", key.replace(".", "/")).is_file(), key
        assert int(value) >= 0
    for line in result.files["tmpfiles.conf"].decode().splitlines():
        if line.startswith("w "):
            _, path, *_, value = line.split()
            # the file lists the words it accepts: "always [madvise] never"
            choices = Path(path).read_text().replace("[", "").replace("]", "").split()
            assert value in choices, (path, choices)


@pytest.mark.daemons
def test_a_real_redis_in_its_cgroup_is_found_within_its_memory_max(tmp_path, production):
    """Two real redis-servers, one in a memory cgroup with the generated MemoryMax (as its
    unit with the drop-in starts it), one without: perfcfg host reads each one's limit from
    the cgroup its pid is in."""
    import json
    import time

    from conftest import require_daemon

    from perfcfg.harness import cgroup, procs
    from perfcfg.harness.binaries import require

    require_daemon("redis")
    kind, why = cgroup.where()
    if kind is None:
        pytest.fail(f"no memory cgroup can be made on this machine: {why}")
    want = int(plan_of(production).value("systemd.redis.MemoryMax"))

    def start(name: str) -> tuple[subprocess.Popen[bytes], Path]:
        pidfile = tmp_path / f"{name}.pid"
        proc = procs.spawn([require("redis-server"), "--port", str(procs.free_port()),
                            "--bind", "127.0.0.1", "--save", "", "--pidfile", str(pidfile),
                            "--daemonize", "no", "--logfile", ""], str(tmp_path / f"{name}.log"))
        for _ in range(100):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.1)
        return proc, pidfile

    def report(pidfile: Path) -> dict:
        out, err = io.StringIO(), io.StringIO()
        req = Request(EXAMPLE, "production", sets=(f"redis.pidfile={pidfile}",), render=False)
        commands.host(commands.Io(out, err), "json", req)
        return json.loads(out.getvalue())

    with cgroup.MemoryCgroup(want, name="redis") as cg:
        started = []
        try:
            with procs.limits(cgroup=cg.procs_file):
                started.append(start("inside"))
            started.append(start("outside"))
            (inside, inside_pid), (outside, outside_pid) = started
            assert inside.pid in cg.pids() and outside.pid not in cg.pids()
            doc = report(inside_pid)
            row = doc["limits"]["checks"][f"memory limit (redis, running as pid {inside.pid})"]
            assert row == {"current": want, "needed": want, "compare": "<=", "ok": True,
                           "path": "systemd.redis.MemoryMax"}
            doc = report(outside_pid)
            row = doc["limits"]["checks"][f"memory limit (redis, running as pid {outside.pid})"]
            assert row["ok"] is False
            assert any(d["message"].startswith(f"the running redis (pid {outside.pid}) has")
                       for d in doc["diagnostics"])
        finally:
            for proc, _ in started:
                proc.terminate()
                proc.wait(timeout=30)
