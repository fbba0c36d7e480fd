"""Shared test helpers: run the CLI in-process, copy the example project, compile a project
with an overlay."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

from perfcfg.cli import main as cli
from perfcfg.stages.pipeline import Request, compile_env

if TYPE_CHECKING:
    from perfcfg.core.diagnostics import Diagnostic, Related
    from perfcfg.core.spans import Span
    from perfcfg.stages.pipeline import Result

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


def compile_with(project: Path, overlay: str | None = None, env: str = "staging",
                 **request: Any) -> Result:
    """Compile environment ``env`` of ``project`` (the ``project`` fixture, or any project whose
    ``env`` reads ``presets/<env>.yaml``) with ``overlay``: YAML written after
    ``extends: [builtin:<env>, base.yaml]``, so its first line is line 2 of that preset. With
    no overlay the project is compiled as it is. ``request`` goes to :class:`Request`
    (``render=False``, ``sets=``, ``environ=``, ``secrets_mode=``)."""
    if overlay is not None:
        write(project / f"presets/{env}.yaml", f"extends: [builtin:{env}, base.yaml]\n{overlay}")
    return compile_env(Request(project, env, **request))


def group(match: re.Match[str] | None, index: int = 1) -> str:
    """Group ``index`` of a match the test expects to have found something."""
    assert match is not None, "the text does not have what the test looks for"
    return match.group(index)


def span_of(item: Diagnostic | Related) -> Span:
    """The place a diagnostic (or a place related to it) points at, which the test expects."""
    assert item.span is not None, item
    return item.span


def snapshot_tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def printed_commands(text: str) -> list[str]:
    """The commands perfcfg told the user to run (``…; run: CMD`` and ``write one with: CMD``)."""
    import re

    return [m.group(1).strip() for m in re.finditer(r"(?:\brun|write one with): (.+)$", text,
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


# Tests that change a kernel setting of this host take this lock: several runs of the suite
# on one machine (several sessions, CI jobs on one runner) must not interleave their
# read-change-restore, or each restores a value another one made.
KERNEL_SETTINGS_LOCK = Path("/tmp/perfcfg-kernel-settings.lock")


@contextlib.contextmanager
def raised_kernel_setting(path: Path, by: int, lock: Path = KERNEL_SETTINGS_LOCK
                          ) -> Iterator[int]:
    """Add ``by`` to the integer kernel setting at ``path`` (``/proc/sys/vm/nr_hugepages``) for
    the block, holding the host-wide lock; yields what the kernel really added, and takes
    exactly that back afterwards (not "the value read before": a value another writer changed
    meanwhile stays changed by them)."""
    import fcntl

    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        before = int(path.read_text())
        path.write_text(f"{before + by}\n")
        added = int(path.read_text()) - before
        try:
            yield added
        finally:
            now = int(path.read_text())
            path.write_text(f"{max(0, now - added)}\n")
