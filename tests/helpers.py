"""Shared test helpers: run the CLI in-process and copy the example project."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from perfcfg import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "botfarm"
ENVS = ("development", "staging", "production")


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(*args: str, monkeypatch=None) -> Run:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def copy_example(tmp_path: Path, with_generated: bool = True) -> Path:
    dest = tmp_path / "botfarm"
    shutil.copytree(EXAMPLE, dest, ignore=None if with_generated
                    else shutil.ignore_patterns("generated"))
    return dest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def snapshot_tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def printed_commands(text: str) -> list[str]:
    """The commands perfcfg told the user to run (``…; run: CMD`` and ``write one with: CMD``)."""
    import re

    return [m.group(1).strip() for m in re.finditer(r"(?:; run|write one with): (.+)$", text,
                                                   re.MULTILINE)]


def run_as_printed(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a printed command in a shell, from ``cwd``, with this venv's ``perfcfg`` on PATH."""
    import os
    import sys

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True)


def pypi_reachable() -> bool:
    """Whether pip can reach PyPI (the tests that build a virtualenv from it skip otherwise)."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False
