"""A wheel (not the editable checkout) carries templates, presets, schemas and catalogs, and
perfcfg's types (py.typed)."""

import os
import subprocess
import sys

import pytest
from helpers import EXAMPLE, ROOT


@pytest.mark.slow
def test_wheel_is_self_contained(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w",
                            str(wheels), str(ROOT)], check=True, capture_output=True, text=True)
    # The build backend's own warnings (pip -v shows them): the license is an SPDX string.
    assert "deprecat" not in (built.stdout + built.stderr).lower()
    wheel = next(wheels.glob("perfcfg-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import perfcfg; print(perfcfg.__file__)"],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target)), where  # the wheel, not the source tree
    # PEP 561: a package's mypy (a plug-in's author's) reads perfcfg's own types from it
    (tmp_path / "plugin.py").write_text("from perfcfg.services.output import Placement\n\n"
                                        "Placement(1, 'root', 'root')\n")
    typed = subprocess.run([sys.executable, "-m", "mypy", "plugin.py"], env=env, cwd=tmp_path,
                           capture_output=True, text=True)
    assert 'Argument 1 to "Placement" has incompatible type "int"' in typed.stdout, typed.stdout
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "perfcfg", "build", "--env", "production",
                           "--project", str(EXAMPLE), "--out", str(out)], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("postgresql.conf", "pgbouncer.ini", "valkey.conf", "supervisord.conf"):
        assert (out / name).read_bytes() == (EXAMPLE / "generated/production" / name).read_bytes()


def test_test_extra_pins_what_verify_needs():
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["verify"] and set(extras["verify"]) <= set(extras["test"])
