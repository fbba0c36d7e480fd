"""Compiler speed and scale: cold ``perfcfg build`` latency, validate/build-all cost for
generated projects of 1…1,000 environments, and validate/build of one environment with
1,250…10,000 programs (wall time and peak RSS of the child process).

Each measurement is one child process waited with ``os.wait4``, so its peak memory is its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import fleetgen
from bench.sizes import Size
from bench.stats import median, percentile

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples/botfarm"


@dataclass(frozen=True)
class Child:
    seconds: float
    peak_rss_mb: float
    code: int


def measure(argv: list[str]) -> Child:
    """Wall time (process start to exit) and peak RSS of one child process.

    Peak RSS comes from GNU time (``%M``) when installed: ``wait4`` of a child forked from
    this Python would report this process's RSS at fork time as the child's peak.
    """
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    with tempfile.NamedTemporaryFile("r", prefix="pf-bench-time-") as rss:
        wrapped = [timer, "-f", "%M", "-o", rss.name, *argv] if timer else argv
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        text = rss.read().strip().splitlines()
    peak_kb = int(text[-1]) if timer and text and text[-1].isdigit() else usage.ru_maxrss
    return Child(elapsed, peak_kb / 1024, code)


def perfcfg_argv() -> list[str]:
    script = Path(sys.executable).parent / "perfcfg"
    return [str(script)] if script.exists() else [sys.executable, "-m", "perfcfg"]


def cold_build(runs: int, log=print) -> dict:
    """``perfcfg build --env production`` of the example project into a temp dir, ``runs`` times."""
    samples: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="pf-bench-cold-") as out:
        argv = perfcfg_argv() + ["build", "--env", "production", "--project", str(EXAMPLE),
                                 "--out", out]
        measure(argv)   # first run warms the page cache (and .pyc files); not counted
        for _ in range(runs):
            samples.append(measure(argv))
    secs = [s.seconds * 1000 for s in samples]
    result = {"runs": runs, "median_ms": median(secs), "p90_ms": percentile(secs, 90),
              "min_ms": min(secs), "peak_rss_mb": max(s.peak_rss_mb for s in samples),
              "failures": sum(s.code != 0 for s in samples)}
    log(f"  cold build: median {result['median_ms']:.0f} ms, p90 {result['p90_ms']:.0f} ms")
    return result


def scale(sizes: tuple[int, ...], log=print) -> list[dict]:
    """Validate all and build all for a generated project of each size."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="pf-bench-scale-") as tmp:
            root = fleetgen.generate(Path(tmp), n)
            validate = measure(perfcfg_argv() + ["validate", "--project", str(root)])
            build = measure([sys.executable, "-m", "bench.buildall", str(root)])
        rows.append({"environments": n, "validate_s": validate.seconds,
                     "validate_rss_mb": validate.peak_rss_mb, "validate_exit": validate.code,
                     "build_s": build.seconds, "build_rss_mb": build.peak_rss_mb,
                     "build_exit": build.code, "build_ms_per_env": build.seconds * 1000 / n})
        log(f"  scale {n}: validate {validate.seconds:.2f} s, build {build.seconds:.2f} s "
            f"({build.peak_rss_mb:.0f} MiB)")
    return rows


# Programs per preset file: a preset is at most 1 MiB (PCF107), so a big workload is split
# over files that extend each other, as a team with that many programs would split it.
PROGRAMS_PER_FILE = 2000


def programs_project(root: Path, n: int) -> Path:
    """One environment with ``n`` single-process programs (no database or Redis connections,
    so only the workload's size varies), on a host big enough for all of them."""
    (root / "presets").mkdir(parents=True)
    (root / "hosts").mkdir()
    (root / "perfcfg.yaml").write_text(
        "project: fleet\nsecrets: {mode: placeholder}\nenvironments:\n"
        "  staging: {preset: presets/staging.yaml, host: hosts/big.yaml}\n")
    (root / "hosts/big.yaml").write_text("memory: 4TiB\ncpus: 64\nstorage: ssd\n"
                                         "open_files: 1048576\n")
    parts = []
    for first in range(0, n, PROGRAMS_PER_FILE):
        name = f"programs{first // PROGRAMS_PER_FILE}.yaml"
        parts.append(name)
        (root / "presets" / name).write_text("workload:\n  programs:\n" + "".join(
            f"    - name: p{i}\n      command: python -m fleet.p{i}\n      memory: 10MiB\n"
            f"      db_connections: 0\n      redis_connections: 0\n      run_as: fleet\n"
            for i in range(first, min(n, first + PROGRAMS_PER_FILE))))
    (root / "presets/staging.yaml").write_text(
        f"extends: [builtin:staging, {', '.join(parts)}]\n"
        "databases:\n  - {name: app, user: app}\n"
        "users:\n  - {name: app, password: '${env:APP_PASSWORD}'}\n"
        "redis:\n  users:\n    - {name: app, password: '${env:APP_PASSWORD}', keys: ['a:*'], "
        "commands: [+@read]}\n")
    return root


def programs(sizes: tuple[int, ...], log=print) -> list[dict]:
    """Validate and build one environment of each number of programs."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="pf-bench-programs-") as tmp:
            root = programs_project(Path(tmp) / "fleet", n)
            validate = measure(perfcfg_argv() + ["validate", "--project", str(root)])
            build = measure(perfcfg_argv() + ["build", "--env", "staging", "--project",
                                              str(root), "--out", str(Path(tmp) / "out")])
        rows.append({"programs": n, "validate_s": validate.seconds,
                     "validate_rss_mb": validate.peak_rss_mb, "validate_exit": validate.code,
                     "build_s": build.seconds, "build_rss_mb": build.peak_rss_mb,
                     "build_exit": build.code})
        log(f"  programs {n}: validate {validate.seconds:.2f} s, build {build.seconds:.2f} s")
    return rows


def run(size: Size, log=print) -> dict:
    return {"cold_build": cold_build(size.cold_runs, log), "scale": scale(size.scale_envs, log),
            "programs": programs(size.scale_programs, log)}
