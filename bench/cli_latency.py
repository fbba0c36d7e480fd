"""CLI latency of the pre-commit path: `perfcfg validate` vs check-jsonschema vs bare Python.

Each run is a new process (cold interpreter, warm disk cache, byte-compiled modules as after
``pip install``), launched through the installed console scripts as a pre-commit hook would.
The three commands run alternately, so a noisy neighbour slows all of them alike; the table gives median and p90 wall time and the ratio of
each median to check-jsonschema's.

    python bench/cli_latency.py [--runs 30] [--out bench/results/cli_latency.md]

perfcfg validates all three environments of examples/botfarm (project file, host profiles,
presets, daemon catalogs, tuning and cross-service checks); check-jsonschema makes one schema
pass over the same preset files. A fourth row is perfcfg on a broken copy of the example
(three errors in the staging preset, reported with code frames; exit 1): a hook that says no
must be as quick as one that says yes. The fifth is the other hook, ``perfcfg check``, which
also renders every environment and compares the files with the committed ones.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "examples/botfarm"
SCHEMA = "schemas/preset.schema.json"


def script(name: str) -> str:
    """The console script installed next to this interpreter (what a hook's venv runs)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed; pip install -e '.[test]'")
    return found


# Three mistakes in the staging preset: an out-of-range value, a misspelt key (both in
# perfcfg's own workload section) and a misspelt Redis parameter.
BREAK = [("      processes: 8\n", "      processes: -1\n      procesess: 8\n"),
         ("\nworkload:\n", "\nredis:\n  maxmemory-polcy: allkeys-lru\n\nworkload:\n")]


def broken_copy(into: Path) -> Path:
    """A copy of the example whose staging preset has three errors."""
    dest = into / "broken"
    shutil.copytree(ROOT / PROJECT, dest, ignore=shutil.ignore_patterns("generated"))
    preset = dest / "presets" / "staging.yaml"
    text = preset.read_text()
    for old, new in BREAK:
        if old not in text:
            raise SystemExit(f"bench: {PROJECT}/presets/staging.yaml changed; update BREAK")
        text = text.replace(old, new, 1)
    preset.write_text(text)
    return dest


def commands(broken: Path) -> dict[str, tuple[list[str], int]]:
    """Each command with the exit code it must give."""
    presets = sorted(str(p.relative_to(ROOT)) for p in (ROOT / PROJECT / "presets").glob("*.yaml"))
    return {
        f"perfcfg validate --project {PROJECT}": (
            [script("perfcfg"), "validate", "--project", PROJECT], 0),
        f"check-jsonschema --schemafile {SCHEMA} <{len(presets)} presets>": (
            [script("check-jsonschema"), "--schemafile", SCHEMA, *presets], 0),
        "python -c pass": ([sys.executable, "-c", "pass"], 0),
        "perfcfg validate --project <broken copy: 3 errors>": (
            [script("perfcfg"), "validate", "--project", str(broken)], 1),
        # The second hook: renders all three environments and compares with generated/.
        f"perfcfg check --project {PROJECT}": (
            [script("perfcfg"), "check", "--project", PROJECT], 0),
    }


def once(argv: list[str], expected: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != expected:
        raise SystemExit(f"{argv[0]} exited {proc.returncode}, not {expected}: "
                         f"{proc.stderr.decode()[-500:]}")
    return elapsed


def compile_perfcfg() -> None:
    """Byte-compile perfcfg as ``pip install`` does for a hook's virtualenv (and did for
    check-jsonschema here): an editable install under PYTHONDONTWRITEBYTECODE=1 would
    otherwise recompile every perfcfg module on every run."""
    import perfcfg

    package = Path(perfcfg.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)


def measure(runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="perfcfg-latency-") as scratch:
        cmds = commands(broken_copy(Path(scratch)))
        times: dict[str, list[float]] = {name: [] for name in cmds}
        compile_perfcfg()
        for argv, expected in cmds.values():   # one unmeasured run each: fill the disk cache
            once(argv, expected)
        for _ in range(runs):
            for name, (argv, expected) in cmds.items():
                times[name].append(once(argv, expected))
    return times


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _lscpu().splitlines()
                if line.startswith("Model name")), platform.processor() or "unknown CPU")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{cpu}, {nproc} CPUs (nproc), Python {platform.python_version()}, {platform.system()}"


def _lscpu() -> str:
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def table(times: dict[str, list[float]], runs: int) -> str:
    names = list(times)
    baseline = statistics.median(times[names[1]])
    lines = [f"Machine: {machine()}; {runs} runs per command, alternating.", "",
             "| command | median ms | p90 ms | median / check-jsonschema |",
             "|---|---:|---:|---:|"]
    for name in names:
        median = statistics.median(times[name])
        lines.append(f"| `{name}` | {median * 1000:.0f} | {p90(times[name]) * 1000:.0f} | "
                     f"{median / baseline:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/cli_latency.md")
    args = parser.parse_args(argv)
    result = table(measure(args.runs), args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(result)
    sys.stdout.write(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
