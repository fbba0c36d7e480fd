"""``perfcfg host --env ENV``: the machine's kernel settings and fd limit against what the
environment's plan needs (PCF317), read from fake /proc trees and from this machine's."""

from __future__ import annotations

import io
import json
import re
import resource
from pathlib import Path

import pytest
import yaml
from helpers import EXAMPLE, ROOT, group, run
from test_hostdetect import FakeRoot

from perfcfg.cli import commands
from perfcfg.host import detect as hostdetect
from perfcfg.host import limits as hostlimits
from perfcfg.stages.pipeline import Request, compile_env


def machine(tmp_path: Path, somaxconn=4096, overcommit=1, hugepages=0,
            nofile=("65536", "65536")) -> Path:
    root = FakeRoot(tmp_path / "root")
    root.write("/proc/sys/net/core/somaxconn", f"{somaxconn}\n")
    root.write("/proc/sys/vm/overcommit_memory", f"{overcommit}\n")
    root.write("/proc/sys/vm/nr_hugepages", f"{hugepages}\n")
    root.write("/proc/self/limits",
               "Limit                     Soft Limit           Hard Limit           Units\n"
               f"Max open files            {nofile[0]:<20} {nofile[1]:<20} files\n")
    # the unified hierarchy, where MemoryHigh is in force (tests/test_kernel.py tries v1)
    root.write("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
    return root.base


def host(root: Path, env: str = "production", fmt: str = "yaml", *sets: str):
    out, err = io.StringIO(), io.StringIO()
    req = Request(EXAMPLE, env, sets=tuple(sets), render=False)
    code = commands.host(commands.Io(out, err), fmt, req, root=str(root))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def plan():
    result = compile_env(Request(EXAMPLE, "production", render=False))
    assert result.plan is not None
    return result.plan


def test_a_machine_that_has_everything_passes(tmp_path, plan):
    pages = plan.value("sysctl.vm.nr_hugepages")
    code, out, err = host(machine(tmp_path, hugepages=pages))
    assert code == 0 and err == ""
    assert f"vm.nr_hugepages = {pages}: wants ≥ {pages}, ok" in out
    # still a host profile: the report is comments
    assert yaml.safe_load(out)["open_files"] == 65536


def test_each_shortfall_is_flagged_with_the_setting_that_needs_it(tmp_path, plan):
    code, out, err = host(machine(tmp_path, somaxconn=128, hugepages=10,
                                  nofile=("1024", "4096")))
    assert code == 1
    found = re.findall(r"error\[PCF317\]: (\S+)", err)
    assert found == ["net.core.somaxconn", "postgres", "redis"]
    assert "= path: systemd.redis.LimitNOFILE" in err
    assert f"LimitNOFILE={plan.value('systemd.redis.LimitNOFILE')}" in err
    assert "net.core.somaxconn = 128: needs ≥ 4096, TOO LOW" in out
    # PostgreSQL is checked against what its drop-in writes, max_files_per_process + 64
    written = plan.value("systemd.postgres.LimitNOFILE")
    assert written > 1024 and f"postgres needs {written} open files" in err
    # huge_pages = try starts without them: a warning, not an error
    assert re.findall(r"warning\[PCF317\]: (\S+)", err) == ["vm.nr_hugepages"]
    assert "vm.nr_hugepages = 10: wants ≥" in out
    # the other daemons' needs fit in 1024 open files: not flagged
    assert "open files (pgbouncer) = 1024: needs ≥ 870, ok" in out


def test_overcommit_is_needed_only_when_redis_persists(tmp_path):
    root = machine(tmp_path, overcommit=0, hugepages=100000)
    assert host(root)[0] == 0
    code, out, err = host(root, "production", "yaml", "redis.role=store")
    assert code == 1 and "vm.overcommit_memory is 0 on this machine; the plan needs = 1" in err
    assert "vm.overcommit_memory = 0: needs = 1, WRONG" in out


def test_json_carries_the_checks_and_the_diagnostics(tmp_path):
    code, out, _ = host(machine(tmp_path, somaxconn=128, hugepages=100000), fmt="json")
    doc = json.loads(out)
    assert code == 1 and doc["memory"] == "16GiB"
    checks = doc["limits"]["checks"]
    assert checks["net.core.somaxconn"] == {"current": 128, "needed": 4096, "compare": ">=",
                                            "ok": False, "path": "sysctl.net.core.somaxconn"}
    assert doc["limits"]["nofile"] == {"soft": 65536, "hard": 65536}
    assert [d["code"] for d in doc["diagnostics"]] == ["PCF317"]


def test_unreadable_values_are_shown_not_flagged(tmp_path):
    root = FakeRoot(tmp_path / "bare")    # no /proc/sys at all
    root.write("/proc/self/limits", "Max open files            65536                65536     "
               "           files\n")
    code, out, err = host(root.base)
    assert code == 0 and "net.core.somaxconn = unknown: needs ≥ 4096, cannot be read" in out


def test_without_env_the_output_is_the_profile_as_before():
    result = run("host")
    assert result.code == 0 and "what environment" not in result.out
    assert yaml.safe_load(result.out)["cpus"] >= 1


def test_this_machine_as_it_is():
    """The real /proc/sys and the limits perfcfg runs with, through the command line."""
    result = run("host", "--env", "production", "--project", str(EXAMPLE), "--format", "json")
    doc = json.loads(result.out)
    checks = doc["limits"]["checks"]
    real = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert checks["net.core.somaxconn"]["current"] == real
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert doc["limits"]["nofile"]["soft"] == (None if soft == resource.RLIM_INFINITY else soft)
    assert doc["limits"]["nofile"]["hard"] == (None if hard == resource.RLIM_INFINITY else hard)
    short = sorted(k for k, c in checks.items() if not c["ok"] and c["current"] is not None)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert result.code == (1 if errors else 0)
    # only what the daemons run without is a warning: huge pages, THP, swapping, dirty pages,
    # MemoryHigh on a v1 hierarchy
    assert {d["path"] for d in doc["diagnostics"] if d["severity"] == "warning"} <= \
        {"sysctl.vm.nr_hugepages", "sysctl.vm.swappiness", "sysctl.vm.dirty_bytes",
         "sysctl.vm.dirty_background_bytes", "sysfs.kernel.mm.transparent_hugepage.enabled",
         "systemd.pgbouncer.MemoryHigh"}
    assert sorted(d["path"] for d in doc["diagnostics"]) == sorted(checks[k]["path"]
                                                                  for k in short)
    v1 = not Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert ("cgroup hierarchy" in checks) is v1


def test_the_documented_example_is_the_real_output(tmp_path):
    doc = (ROOT / "docs" / "diagnostics.md").read_text()
    section = doc[doc.index("## PCF317"):]
    shown = group(re.search(r"^```text\n(.*?)^```", section, re.M | re.S))
    _, _, err = host(machine(tmp_path, somaxconn=128, overcommit=0, hugepages=0,
                             nofile=("1024", "524288")))
    assert err == shown


def test_every_sysctl_the_plan_may_need_is_read():
    limits = hostdetect.limits(hostlimits.keys(), sysfs=hostlimits.sysfs_keys())
    thp = "kernel.mm.transparent_hugepage.enabled"
    assert set(limits.sysctls) == {"net.core.somaxconn", "vm.nr_hugepages",
                                   "vm.overcommit_memory", "vm.swappiness",
                                   "vm.dirty_bytes", "vm.dirty_background_bytes", thp}
    assert all(isinstance(v, int) for k, v in limits.sysctls.items() if k != thp)
    # the word in brackets of "always [madvise] never"
    assert limits.sysctls[thp] in ("always", "madvise", "never")


def _write(root: Path, inside: str, text: str) -> None:
    path = root / inside.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _running(root: Path, pidfile: str, pid: int, soft: str, hard: str) -> None:
    _write(root, pidfile, f"{pid}\n")
    _write(root, f"/proc/{pid}/limits",
           "Limit                     Soft Limit           Hard Limit           Units\n"
           f"Max open files            {soft:<20} {hard:<20} files\n")


def test_a_running_daemon_started_without_its_limit_is_flagged(tmp_path, plan):
    # the case: pgbouncer started through su ran with 1024 and nothing flagged it
    root = machine(tmp_path, hugepages=plan.value("sysctl.vm.nr_hugepages"))
    _running(root, plan.value("redis.pidfile"), 4242, "1024", "524288")
    _running(root, plan.value("pgbouncer.pidfile"), 4343, "1024", "1024")
    code, out, err = host(root)
    assert code == 1
    need = max(plan.settings["systemd.redis.LimitNOFILE"].inputs.values())
    assert re.findall(r"error\[PCF317\]: (.*)", err) == [
        f"the running redis (pid 4242) has a soft limit of 1024 open files; it needs {need}: "
        "it was started without its unit's LimitNOFILE (through su or runuser, say)"]
    assert "prlimit --pid 4242 --nofile=" in err
    # pgbouncer's 1024 covers its need: a row, not a finding
    assert "open files (pgbouncer, running as pid 4343) = 1024: needs ≥ 870, ok" in out


def test_a_stale_pid_file_is_not_a_running_daemon(tmp_path, plan):
    root = machine(tmp_path, hugepages=plan.value("sysctl.vm.nr_hugepages"))
    _write(root, plan.value("redis.pidfile"), "999999\n")   # no /proc/999999
    code, out, _ = host(root)
    assert code == 0 and "running as pid" not in out


@pytest.mark.daemons
def test_the_real_redis_started_under_a_low_limit_is_found_by_its_pid_file(tmp_path):
    """A real redis-server started with a soft limit of 1024 (as su/runuser leave it), its pid
    file where the plan's redis.pidfile says: perfcfg host reads its limit from /proc."""
    import subprocess
    import time

    from conftest import require_daemon

    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require

    require_daemon("redis")
    pidfile = tmp_path / "redis.pid"
    proc = subprocess.Popen(
        ["prlimit", "--nofile=1024:1024", require("redis-server"), "--port",
         str(procs.free_port()), "--bind", "127.0.0.1", "--save", "", "--pidfile", str(pidfile),
         "--daemonize", "no", "--logfile", ""], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.1)
        out, err = io.StringIO(), io.StringIO()
        req = Request(EXAMPLE, "production", sets=(f"redis.pidfile={pidfile}",), render=False)
        code = commands.host(commands.Io(out, err), "json", req)
        doc = json.loads(out.getvalue())
        row = doc["limits"]["checks"][f"open files (redis, running as pid {proc.pid})"]
        assert row["current"] == 1024 and row["ok"] is False and code == 1
        assert any(d["message"].startswith(f"the running redis (pid {proc.pid})")
                   for d in doc["diagnostics"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
