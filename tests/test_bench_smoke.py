"""Smoke test for the benchmark harness (bench/): ``python -m bench --quick`` runs end to end.

Benchmarks are not tests: nothing here looks at a timing or a ratio, only that every section
ran and wrote its tables, so the harness cannot rot unnoticed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfcfg.harness.binaries import missing

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("### Bot fleet", "### Database", "### Write-heavy", "### Cache",
            "### Compiler speed and scale")

pytestmark = pytest.mark.daemons


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    lacking = [b for d in ("postgresql", "pgbouncer", "redis") for b in missing(d)]
    if lacking:
        message = f"bench smoke test needs {', '.join(lacking)} (run .ci/install.sh)"
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    return done, out


def test_quick_run_exits_zero(quick_run):
    done, _ = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.parametrize("heading", SECTIONS)
def test_every_section_has_a_table(quick_run, heading):
    _, out = quick_run
    text = (out / "results.md").read_text()
    assert heading in text
    assert "| nproc |" in text


def test_results_json_holds_every_section(quick_run):
    _, out = quick_run
    data = json.loads((out / "results.json").read_text())
    assert {"fleet", "database", "writes", "cache", "compiler", "machine", "command"} <= set(data)
    assert set(data["writes"]["tpcb-like"]) == {"perfcfg", "stock", "PGTune", "timescaledb-tune"}
    assert all(f["alive"] for f in data["cache"]["fill"].values())
    assert [r["build_exit"] for r in data["compiler"]["scale"]] == [0, 0]
