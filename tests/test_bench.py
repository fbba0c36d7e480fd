"""The benchmark scripts run (a smoke test: one run, nothing timed or asserted about speed)."""

import subprocess
import sys

import pytest
from helpers import ROOT


@pytest.mark.slow
def test_cli_latency_runs_once_and_writes_its_table(tmp_path):
    out = tmp_path / "cli_latency.md"
    proc = subprocess.run([sys.executable, str(ROOT / "bench/cli_latency.py"), "--runs", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in out.read_text().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1].split()[0] for row in rows] == ["perfcfg", "check-jsonschema",
                                                             "python", "perfcfg", "perfcfg"]
    assert "broken copy" in rows[3]   # the error path, which must exit 1 (checked by the bench)
    assert rows[1].endswith("| 1.00 |")   # the baseline of the ratio column
    assert proc.stdout == out.read_text()
