"""perfcfg installs beside other pydantic releases and behaves the same there.

pyproject.toml gives users a range (``pydantic>=2.4,<3``) while compiler/perfcfg/model/records.py holds
core schemas generated with the pinned pydantic of the test extra. For the lowest release of
the range and one more (2.10, the first whose pydantic-core no longer checks a schema's keys),
a throwaway virtualenv gets ``pip install -e . pydantic==V`` from PyPI, and there:

- the generated schemas build (the fast path holds) and so do the declarations (the fallback);
- the model grid (tests/model_grid.py) gives, through either, exactly the outcomes the pinned
  release gives here — values, error types, locations and messages;
- ``perfcfg validate`` gives the same output and exit code on the example and on a copy with
  errors in perfcfg's own structures and in a daemon section;
- ``perfcfg schema`` works without jsonschema, which only the tests need.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import model_grid
import pytest
from helpers import ROOT, copy_example, pypi_reachable

from perfcfg import model

pytestmark = [pytest.mark.pypi,
              pytest.mark.skipif(not pypi_reachable(), reason="PyPI unreachable")]

RELEASES = ("2.4.0", "2.10.6")


@pytest.fixture(scope="module")
def venvs(tmp_path_factory) -> dict[str, Path]:
    """One virtualenv per release, built side by side."""
    base = tmp_path_factory.mktemp("pydantic-range")

    def build(release: str) -> Path:
        venv = base / release
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run([str(venv / "bin/pip"), "install", "-q", "-e", str(ROOT),
                               f"pydantic=={release}"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return venv / "bin/python"

    with ThreadPoolExecutor(len(RELEASES)) as pool:
        return dict(zip(RELEASES, pool.map(build, RELEASES), strict=True))


def run_in(python: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COVERAGE_PROCESS_START")}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("release", RELEASES)
def test_that_pydantic_is_installed_and_both_schema_paths_build(venvs, release):
    proc = run_in(venvs[release], "-c", """if True:
        import pydantic, pydantic_core
        from perfcfg import model
        from perfcfg.model import spec as modeldef
        for cls in modeldef.MODELS:
            record = getattr(model, cls.__name__)
            pydantic_core.SchemaValidator(record.__core_schema__)   # what perfcfg runs with
            pydantic_core.SchemaValidator(record._declared_schema())  # the fallback
        print(pydantic.VERSION)""")
    assert (proc.returncode, proc.stdout.strip()) == (0, release), proc.stderr


@pytest.mark.parametrize("declared", [False, True], ids=["generated", "declared"])
@pytest.mark.parametrize("release", RELEASES)
def test_the_model_grid_gives_the_pinned_outcomes(venvs, release, declared):
    proc = run_in(venvs[release], str(ROOT / "tests/model_grid.py"),
                  *(["--declared"] if declared else []))
    assert proc.returncode == 0, proc.stderr
    there, here = json.loads(proc.stdout), model_grid.outcomes(model)
    assert [k for k in here if there.get(k) != here[k]] == []
    assert there.keys() == here.keys()


def broken(tmp_path: Path) -> Path:
    """The example with an out-of-range value and an unknown key in the workload (perfcfg's
    own structures) and a misspelt PostgreSQL parameter."""
    project = copy_example(tmp_path, with_generated=False)
    preset = project / "presets/staging.yaml"
    text = preset.read_text()
    assert "      processes: 8\n" in text
    preset.write_text(text.replace("      processes: 8\n", "      processes: -1\n      procesess: 8\n", 1)
                      + "\npostgres:\n  work_mme: 64MB\n")
    return project


@pytest.mark.parametrize("release", RELEASES)
def test_validate_says_the_same_as_with_the_pinned_pydantic(venvs, release, tmp_path):
    for project, code in ((ROOT / "examples/botfarm", 0), (broken(tmp_path), 1)):
        argv = ["-m", "perfcfg", "validate", "--project", str(project)]
        there, here = run_in(venvs[release], *argv), run_in(Path(sys.executable), *argv)
        assert (there.returncode, there.stdout, there.stderr) == \
            (here.returncode, here.stdout, here.stderr)
        assert here.returncode == code, here.stderr


@pytest.mark.parametrize("release", RELEASES)
def test_schema_works_with_only_the_run_time_dependencies(venvs, release, tmp_path):
    # jsonschema is a test dependency only: `perfcfg schema` writes the schemas with pydantic.
    import jsonschema

    assert run_in(venvs[release], "-c", "import jsonschema").returncode == 1
    proc = run_in(venvs[release], "-m", "perfcfg", "schema", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in ("preset", "project", "host"):
        jsonschema.Draft7Validator.check_schema(
            json.loads((tmp_path / f"{name}.schema.json").read_text()))
