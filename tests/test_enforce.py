"""The budget enforced by the kernel (issue 26, item 4): each drop-in's MemoryHigh/MemoryMax
from its daemon's part of the budget, the postmaster's OOM protection, and a runaway worker of
a real supervisord contained by the generated MemoryMax in a memory cgroup on this machine."""

from __future__ import annotations

import os
import re
import signal
import stat
import time
from pathlib import Path

import pytest
from conftest import require_daemon
from helpers import EXAMPLE, copy_example, write

from perfcfg.cli.explain import explain
from perfcfg.core.plan import Plan
from perfcfg.harness import cgroup, procs
from perfcfg.services.supervisor.context import OWN_MEMORY
from perfcfg.stages import tune
from perfcfg.stages.pipeline import Request, Result, compile_env
from perfcfg.tune.context import GiB, Host, MiB, Pool, Program
from perfcfg.tune.enforce import MARGIN_CAP, MARGIN_FLOOR, OOM_PROTECT, margin

DROPINS = {"postgres": "systemd-postgresql.conf", "pgbouncer": "systemd-pgbouncer.conf",
           "redis": "systemd-valkey.conf", "supervisor": "systemd-supervisor.conf"}
SIZE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _compile(project: Path, env: str = "production", *sets: str) -> Result:
    result = compile_env(Request(project, env, sets=sets))
    assert result.ok, result.diagnostics
    return result


def plan_of(result: Result) -> Plan:
    assert result.plan is not None
    return result.plan


def directives(data: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in data.decode().splitlines()
                if line and not line.startswith(("#", "[")))


def size(text: str) -> int:
    """A systemd size (``176M``) in bytes."""
    m = re.fullmatch(r"(\d+)([KMGT]?)", text)
    assert m, text
    return int(m.group(1)) * SIZE[m.group(2)]


def need_of(result: Result, service: str) -> int:
    """What the limits are sized from: the part of the budget (the workers' and its own for
    supervisord)."""
    if service == "supervisor":
        return int(plan_of(result).value("budget.workers")) + OWN_MEMORY
    return -(-int(plan_of(result).value(f"budget.{service}")) // MiB) * MiB


@pytest.fixture(scope="module")
def production() -> Result:
    return _compile(EXAMPLE)


@pytest.mark.parametrize("service", sorted(DROPINS))
def test_each_dropin_holds_its_daemon_to_its_part_of_the_budget(production, service):
    got = directives(production.files[DROPINS[service]])
    need = need_of(production, service)
    m = margin(need)
    assert MARGIN_FLOOR <= m <= MARGIN_CAP
    assert size(got["MemoryHigh"]) == need + m
    assert size(got["MemoryMax"]) == need + 2 * m
    why = explain(production, f"systemd.{service}.MemoryHigh")
    assert why is not None and why["rule"] == "host.cgroup.memory_high"
    assert why["inputs"]["need"] == need and why["inputs"]["margin"] == m


@pytest.mark.parametrize("memory, cpus", [(1, 1), (2, 1), (3, 2), (4, 2), (6, 2), (8, 4), (16, 4),
                                          (64, 16), (96, 32), (256, 32), (2048, 192)],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("persists", [False, True], ids=["cache", "persisting"])
def test_the_throttling_limits_add_up_to_the_host_on_every_size(memory, cpus, persists):
    workers = max(2, memory)          # a worker per GiB, 64MiB each
    ctx = tune.context(env="production", host=Host(memory * GiB, cpus),
                       programs=(Program("bot", workers, 1, 1, 64 * MiB),),
                       pools=(Pool("app", "bot", workers),),
                       facts={"redis.persistence": persists})
    values = tune.settings(ctx)
    high = {p: v for p, v in values.items() if p.endswith(".MemoryHigh")}
    assert {p.split(".")[1] for p in high} == {"postgres", "pgbouncer", "redis", "supervisor"}
    for path, value in high.items():
        assert values[path.replace("High", "Max")] > value
    # every daemon and the workers throttled within the host: the margins come out of the
    # OS reserve
    assert sum(high.values()) <= memory * GiB


def test_a_fixed_size_above_the_part_raises_the_limit_to_the_worst_case(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    result = _compile(project, "production", "budget.postgres=8GiB",
                      "postgres.shared_buffers=12GB")
    limit = size(directives(result.files["systemd-postgresql.conf"])["MemoryHigh"])
    assert plan_of(result).value("budget.postgres") == 8 * GiB
    assert limit > plan_of(result).value("budget.postgres_worst_case") > 12 * GiB
    why = explain(result, "systemd.postgres.MemoryHigh")
    assert why is not None and "worst case" in why["reason"]


def test_the_postmaster_is_exempt_from_the_oom_killer_and_its_backends_are_not(production):
    got = directives(production.files["systemd-postgresql.conf"])
    assert got["OOMScoreAdjust"] == str(OOM_PROTECT)
    env = dict(word.split("=", 1) for word in got["Environment"].split())
    assert env == {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj", "PG_OOM_ADJUST_VALUE": "0"}
    for name in ("systemd-pgbouncer.conf", "systemd-valkey.conf", "systemd-supervisor.conf"):
        assert "OOMScoreAdjust" not in directives(production.files[name])


def test_the_oom_reason_names_overcommit_when_the_cache_asks_for_it():
    result = _compile(EXAMPLE, "production", "redis.appendonly=true")
    why = explain(result, "systemd.postgres.OOMScoreAdjust")
    assert why is not None and "overcommit" in why["reason"]
    assert why["inputs"] == {"overcommit": True}


@pytest.mark.parametrize("system", ["windows", "darwin"])
def test_a_host_without_cgroups_gets_no_memory_limits(tmp_path, system):
    project = copy_example(tmp_path, with_generated=False)
    host = project / "hosts" / "prod-nvme.yaml"
    write(host, host.read_text() + f"os: {system}\n")
    result = compile_env(Request(project, "production"))
    assert not [p for p in plan_of(result).settings if p.startswith("systemd.")
                and p.rsplit(".", 1)[1] in ("MemoryHigh", "MemoryMax", "OOMScoreAdjust")]


# -- a runaway worker of a real supervisord, held by the generated MemoryMax ----------------

RUNAWAY = """\
import signal, time
signal.signal(signal.SIGUSR1, lambda *_: None)
signal.pause()                    # until the test says go
hog = []
while len(hog) < 4096:            # 4GiB at most: a limit that does not hold fails the test
    hog.append(b"x" * (1 << 20))  # written, so every page is charged
time.sleep(3600)
"""
STEADY = """\
import time
kept = b"y" * (16 << 20)
time.sleep(3600)
"""
LAB_PRESET = """\
extends: [builtin:production]
databases:
  - name: lab
    user: lab
users:
  - name: lab
    password: ${{env:LAB_PASSWORD}}
redis:
  users:
    - name: lab
      password: ${{env:LAB_REDIS_PASSWORD}}
      keys: ["lab:*"]
      commands: [+@read, +@write]
workload:
  programs:
    - name: runaway
      command: {python} {dir}/runaway.py
      processes: 1
      db_connections: 1
      redis_connections: 1
      memory: 48MiB
      run_as: nobody
    - name: steady
      command: {python} {dir}/steady.py
      processes: 2
      db_connections: 1
      redis_connections: 1
      memory: 48MiB
      run_as: nobody
"""


def _lab(tmp_path: Path, scripts: str) -> Result:
    project = copy_example(tmp_path, with_generated=False)
    write(project / "presets" / "lab.yaml",
          LAB_PRESET.format(python="/usr/bin/python3", dir=scripts))
    write(project / "hosts" / "lab.yaml", "memory: 2GiB\ncpus: 2\nstorage: ssd\n"
                                          "open_files: 65536\n")
    with open(project / "perfcfg.yaml", "a", encoding="utf-8") as f:
        f.write("  lab:\n    preset: presets/lab.yaml\n    host: hosts/lab.yaml\n"
                "    deploy:\n      limits: true\n")
    return _compile(project, "lab")


def _states(sup: object) -> dict[str, tuple[str, int]]:
    from perfcfg.services.supervisor.daemon import Supervisord

    assert isinstance(sup, Supervisord)
    return {p["name"]: (p["statename"], p["pid"]) for p in sup.process_info()}


@pytest.mark.daemons
def test_a_runaway_worker_is_killed_at_the_generated_memory_max_and_the_others_live_on(
        tmp_path):
    require_daemon("supervisor")
    from perfcfg.services.supervisor.daemon import Supervisord

    kind, why = cgroup.where()
    if kind is None:
        pytest.fail(f"no memory cgroup can be made on this machine: {why}")
    scripts = procs.scratch_dir("pf-runaway-")
    for name, text in (("runaway.py", RUNAWAY), ("steady.py", STEADY)):
        Path(scripts, name).write_text(text)
    os.chmod(scripts, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    result = _lab(tmp_path, scripts)
    unit = directives(result.files["systemd-supervisor.conf"])
    memory_max, memory_high = size(unit["MemoryMax"]), size(unit["MemoryHigh"])
    # the unit's limit is the workers' declared memory (3 × 48MiB), supervisord's own and
    # the margins (scaled into this small host's OS reserve)
    sized = explain(result, "systemd.supervisor.MemoryMax")
    assert sized is not None and sized["inputs"]["need"] == 3 * 48 * MiB + OWN_MEMORY
    assert memory_max == sized["inputs"]["need"] + 2 * sized["inputs"]["margin"]
    with cgroup.MemoryCgroup(memory_max, memory_high, name="supervisor") as cg, \
            procs.limits(cgroup=cg.procs_file), \
            Supervisord(result.files["supervisord.conf"].decode()) as sup:
        before = _states(sup)
        assert {s for s, _ in before.values()} == {"RUNNING"}, before
        assert sup.proc is not None and sup.proc.pid in cg.pids()
        assert cg.usage() < memory_max // 2      # what the programs hold at rest
        os.kill(before["runaway"][1], signal.SIGUSR1)
        deadline = time.monotonic() + 60
        while cg.oom_kills() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cg.oom_kills() >= 1, f"not killed; the cgroup holds {cg.usage()} bytes"
        assert cg.peak() <= memory_max
        deadline = time.monotonic() + 30
        after = _states(sup)
        while after["runaway"][1] in (0, before["runaway"][1]) and time.monotonic() < deadline:
            time.sleep(0.2)
            after = _states(sup)
        # supervisord saw it die by SIGKILL and started it again; the steady ones never noticed
        assert after["runaway"][1] not in (0, before["runaway"][1])
        log = Path(sup.log).read_text()
        assert re.search(r"exited: runaway \(terminated by SIGKILL", log), log[-2000:]
        for name in ("steady_00", "steady_01"):
            assert after[name] == before[name] == ("RUNNING", before[name][1])
        assert sup.proc.poll() is None
    assert not cg.path.exists()


# -- a runaway backend of a real PostgreSQL, held by the generated drop-in -------------------

RUNAWAY_SQL = ("SELECT count(*) FROM (SELECT g FROM generate_series(1, 400000000) g "
               "GROUP BY g) s")


@pytest.mark.daemons
def test_a_runaway_backend_is_killed_at_the_generated_memory_max_and_the_postmaster_lives(
        tmp_path, pg_template_of):
    require_daemon("postgresql", "17")
    import psycopg

    from perfcfg.services.postgres.daemon import PostgresServer

    result = _lab(tmp_path, str(tmp_path))
    unit = directives(result.files["systemd-postgresql.conf"])
    memory_max = size(unit["MemoryMax"])
    env = dict(word.split("=", 1) for word in unit["Environment"].split())
    # a container without CAP_SYS_RESOURCE cannot lower a score (this machine's case): the
    # postmaster then runs at +100, which proves as well that the Environment= line makes its
    # children reset their own score (and the OOM killer still picks the largest, the runaway)
    protect = int(unit["OOMScoreAdjust"]) if procs.can_lower_oom_score() else 100
    with cgroup.MemoryCgroup(memory_max, size(unit["MemoryHigh"]), name="postgres") as cg, \
            procs.limits(cgroup=cg.procs_file, oom_score_adj=protect, environment=env), \
            PostgresServer(result.files["postgresql.conf"].decode(), pg_template_of("17"),
                           version="17") as pg:
        assert pg.proc is not None
        postmaster = pg.proc.pid
        assert postmaster in cg.pids()
        assert Path(f"/proc/{postmaster}/oom_score_adj").read_text().strip() == str(protect)
        with pg.connect() as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert backend is not None
            # the backend reset its own score: the OOM killer may pick it
            assert Path(f"/proc/{backend[0]}/oom_score_adj").read_text().strip() == "0"
            # a query whose hash table grows past every limit but the cgroup's
            conn.execute("SET work_mem = '2GB'")
            conn.execute("SET hash_mem_multiplier = 100")
            with pytest.raises(psycopg.OperationalError):
                conn.execute(RUNAWAY_SQL)
        assert cg.oom_kills() >= 1
        assert cg.peak() <= memory_max
        # the postmaster saw its child killed, reset the others and took connections again
        assert pg.proc.poll() is None
        deadline = time.monotonic() + 60
        while True:
            try:
                assert pg.query("SELECT 1") == [(1,)]
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert pg.proc.pid == postmaster and pg.proc.poll() is None
        log = procs.tail(pg.log, f"{pg.data}/log/*", lines=200)
        assert re.search(r"terminated by signal 9", log), log
    assert not cg.path.exists()


# -- PCF323: a limit from a default -----------------------------------------------------------

def test_a_program_without_declared_memory_is_told_its_default_becomes_a_limit(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    base = project / "presets" / "base.yaml"
    write(base, base.read_text().replace("      memory: 80MiB\n", "", 1))   # the notifier's
    result = compile_env(Request(project, "production"))
    assert result.ok and [d.code for d in result.diagnostics] == ["PCF323"]
    found = result.diagnostics[0]
    assert found.path == "workload.programs.notifier.memory" and "128MiB" in found.message
    assert found.span is not None and found.span.file == "presets/base.yaml"
    # the default it warns about is the one the limit is made of
    assert result.config is not None
    notifier = [p for p in result.config.workload.programs if p.name == "notifier"]
    assert notifier[0].memory == 128 * MiB
    # (each program sized for its ceiling, and no less than the headroom's worker_memory)
    workload = result.config.workload
    assert plan_of(result).value("budget.workers") == max(
        sum(max(p.processes, p.max_processes or 0) * p.memory for p in workload.programs),
        (workload.headroom.worker_memory if workload.headroom else None) or 0)
    # without the limits the default only skews the budget: no warning
    assert [d.code for d in compile_env(Request(project, "staging")).diagnostics] == []


def test_every_program_of_the_example_declares_its_memory(production):
    assert [d for d in production.diagnostics if d.code == "PCF323"] == []
