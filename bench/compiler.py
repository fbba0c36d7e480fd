"""Compiler speed and scale: cold ``perfcfg build`` latency, and validate/build-all cost for
generated projects of 1…1,000 environments (wall time and peak RSS of the child process).

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


def run(size: Size, log=print) -> dict:
    return {"cold_build": cold_build(size.cold_runs, log), "scale": scale(size.scale_envs, log)}
