"""The invalid corpus: every case is a small project perfcfg must refuse, precisely.

Each ``tests/cases/invalid/<case>/`` holds a ``case.yaml`` and the files of its project that
differ from ``tests/cases/invalid/_shared/`` (a valid project: perfcfg.yaml, hosts/vm.yaml,
presets/base.yaml and presets/staging.yaml); the project is _shared/ with the case's files
over it::

    about: what the case shows
    args: [build, --env, staging, --set, postgres.work_mem=64mb]   # after `perfcfg`
    environ: {}            # optional: the case's secrets environment (APP_* and BOTFARM_*
                           # variables of the outer environment are removed first)
    expected:              # every diagnostic, in report order: CODE file:line
      - PCF204 --set:1
    without: [hosts/vm.yaml]   # optional: files of _shared/ the project must not have

The test runs the CLI (``--project`` is added) and asserts exit code 1, the exact list of
diagnostics, a message, a hint and (for schema problems) a setting path on each, no
traceback, and that nothing was written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import run, snapshot_tree

CASES = Path(__file__).parent / "cases" / "invalid"
SHARED = CASES / "_shared"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.yaml").is_file())
# Codes about a setting: their diagnostics must name its path (file-level problems need not).
SETTING_CODES = ("PCF2",)


def load_case(name: str) -> dict:
    return yaml.safe_load((CASES / name / "case.yaml").read_text())


def materialise(name: str, project: Path) -> Path:
    """Case ``name`` as a whole project in ``project``: _shared/, the case's files over it,
    less the files its case.yaml lists under ``without``."""
    shutil.copytree(SHARED, project)
    shutil.copytree(CASES / name, project, ignore=shutil.ignore_patterns("case.yaml"),
                    dirs_exist_ok=True)
    for rel in load_case(name).get("without", []):
        (project / rel).unlink()
        folder = (project / rel).parent
        if folder != project and not any(folder.iterdir()):
            folder.rmdir()   # a case without hosts/vm.yaml has no hosts/ either, as before
    return project


def run_case(name: str, tmp_path: Path, monkeypatch, fmt: str):
    case = load_case(name)
    project = materialise(name, tmp_path / name)
    if "environ" in case:
        # The CLI reads os.environ at its edge: a developer's own secrets must not leak in.
        for key in list(os.environ):
            if key.startswith(("APP_", "BOTFARM_")):
                monkeypatch.delenv(key)
        for key, value in case["environ"].items():
            monkeypatch.setenv(key, value)
    before = snapshot_tree(project)
    # from the project, as a user runs perfcfg: files are named as from there
    monkeypatch.chdir(project)
    result = run(*case["args"], "--project", str(project), "--format", fmt)
    return case, result, before, snapshot_tree(project)


def diagnostic_line(d: dict) -> str:
    # a diagnostic about a file that does not exist has no line to point at
    return f"{d['code']} {d['file']}:{d['line']}" if d["file"] else f"{d['code']} -"


def test_the_corpus_is_large_enough():
    assert len(CASE_NAMES) >= 40


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_reports_exactly_the_expected_diagnostics(name, tmp_path, monkeypatch):
    case, result, before, after = run_case(name, tmp_path, monkeypatch, "json")
    assert result.code == 1, result.err
    found = json.loads(result.out)["diagnostics"]
    assert [diagnostic_line(d) for d in found] == case["expected"]
    for d in found:
        assert d["message"] and d["hint"], d
        if d["code"].startswith(SETTING_CODES):
            assert d["path"], d
    assert after == before, "an invalid project must not get any file written"


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_text_report_is_clean(name, tmp_path, monkeypatch):
    case, result, before, after = run_case(name, tmp_path, monkeypatch, "text")
    assert result.code == 1
    assert "Traceback" not in result.err + result.out and "internal error" not in result.err
    codes = [line.split()[0] for line in case["expected"]]
    assert [c for c in codes if not any(f"{severity}[{c}]" in result.err
                                        for severity in ("error", "warning", "info"))] == []
    assert after == before
