"""``promtool check rules`` and ``promtool test rules`` on rule files in a scratch dir.

promtool comes with Debian's ``prometheus`` package; ``validate`` runs the check when it is
installed and otherwise says how to install it (``INSTALL_HINT``).

>>> Outcome(0, "SUCCESS").ok
True
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from perfcfg.harness import procs

INSTALL_HINT = ("install promtool to check them: apt-get install prometheus (Debian and Ubuntu "
                "ship it in that package), or a Prometheus release's promtool on the PATH")


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def binary() -> str | None:
    return shutil.which("promtool") or (
        "/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)


def _run(args: list[str], files: Mapping[str, str], timeout: float = 60) -> Outcome:
    program = binary()
    if program is None:
        raise FileNotFoundError("promtool")
    workdir = procs.scratch_dir("pf-prom-")
    try:
        for name, text in files.items():
            procs.write_file(f"{workdir}/{name}", text, mode=0o644)
        done = subprocess.run([program, *args], cwd=workdir, capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        return Outcome(done.returncode, (done.stdout + done.stderr).strip())
    finally:
        procs.remove_dir(workdir)


def check_rules(rules: str, name: str = "alerts.yml") -> Outcome:
    """``promtool check rules --lint-fatal``: syntax, PromQL, templates, duplicate rules."""
    return _run(["check", "rules", "--lint-fatal", name], {name: rules})


def test_rules(rules: str, tests: str, rules_name: str = "alerts.yml",
               tests_name: str = "alerts.test.yml") -> Outcome:
    """``promtool test rules``: every case of ``tests`` against ``rules``."""
    return _run(["test", "rules", tests_name], {rules_name: rules, tests_name: tests})
