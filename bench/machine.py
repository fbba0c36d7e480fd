"""What the numbers were measured on: CPUs, model, RAM, kernel and every version that matters.

>>> "nproc" in describe()
True
"""

from __future__ import annotations

import os
import platform
import re
import subprocess

from perfcfg import __version__
from perfcfg.harness.binaries import require
from perfcfg.services.postgres.programs import SYSTEM_BINDIR as PG_BINDIR

PGBENCH = f"{PG_BINDIR}/pgbench"


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def _cpu_model() -> str:
    text = _first_line(["sh", "-c", "lscpu | grep 'Model name'"])
    return re.sub(r"^Model name:\s*", "", text)


def _ram() -> str:
    with open("/proc/meminfo") as f:
        kib = int(f.readline().split()[1])
    return f"{kib / 1024 / 1024:.1f} GiB"


def describe() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "cpu model": _cpu_model(),
        "RAM": _ram(),
        "kernel": platform.release(),
        "PostgreSQL": _first_line([require("postgres"), "--version"]),
        "pgbench": _first_line([PGBENCH, "--version"]),
        "pgbouncer": _first_line([require("pgbouncer"), "--version"]),
        "Redis": _first_line([require("redis-server"), "--version"]),
        "Python": platform.python_version(),
        "perfcfg": __version__,
    }
