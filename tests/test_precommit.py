"""The pre-commit hooks: their definitions, and the real ``pre-commit try-repo`` on a project.

``try-repo`` builds the hook's virtualenv from a git repository, so the test commits a copy of
the current working tree (tracked and new files) to a temporary repository and points
pre-commit at it: it tests this code, not the last commit. Building that virtualenv needs
PyPI; the end-to-end tests are skipped only when PyPI cannot be reached.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import EXAMPLE, ROOT, group, pypi_reachable

HOOKS = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


@pytest.mark.parametrize("hook_id", ["perfcfg-validate", "perfcfg-check"])
def test_hook_runs_once_per_commit_on_the_whole_project(hook_id):
    hook = HOOKS[hook_id]
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False and hook["require_serial"] is True
    assert hook["entry"] == {"perfcfg-validate": "perfcfg validate",
                             "perfcfg-check": "perfcfg check"}[hook_id]


@pytest.mark.parametrize("path, validate, check", [
    ("perfcfg.yaml", True, True),
    ("deploy/perfcfg.yaml", True, True),
    ("presets/staging.yaml", True, True),
    ("presets/shared/base.yml", True, True),
    ("hosts/prod-nvme.yaml", True, True),
    ("generated/staging/postgresql.conf", False, True),
    ("deploy/generated/production/userlist.txt", False, True),
    ("README.md", False, False),
    ("app/settings.yaml", False, False),
    ("presets/notes.txt", False, False),
])
def test_hook_files_regex(path, validate, check):
    assert bool(re.search(HOOKS["perfcfg-validate"]["files"], path)) is validate
    assert bool(re.search(HOOKS["perfcfg-check"]["files"], path)) is check


# -- end to end -----------------------------------------------------------------------------

needs_pypi = pytest.mark.skipif(not pypi_reachable(), reason="PyPI unreachable: pre-commit "
                                "cannot build the hook's virtualenv")


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """A committed copy of the working tree: what try-repo installs."""
    repo = tmp_path_factory.mktemp("perfcfg-src")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "working tree")
    return repo


def typo(project: Path) -> None:
    preset = project / "presets/staging.yaml"
    preset.write_text(preset.read_text() + "\npostgres:\n  work_mme: 64MB\n")


def stale(project: Path) -> None:
    conf = project / "generated/staging/postgresql.conf"
    conf.write_text(re.sub(r"(?m)^max_connections = .*$", "max_connections = 1000",
                           conf.read_text()))


MUTATIONS = {"clean": lambda project: None, "typo": typo, "stale": stale}


# try-repo builds the hook's virtualenv in a throw-away store on every call (~15 s), so each
# tree is tried once with both hooks (no hook id = every hook of the repository).
@pytest.mark.precommit
@needs_pypi
@pytest.mark.parametrize("tree, results, shown", [
    ("clean", {"validate": "Passed", "check": "Passed"}, []),
    ("typo", {"validate": "Failed", "check": "Failed"},
     ["error[PCF201]", "did you mean 'work_mem'?", "presets/staging.yaml:"]),
    # validate reads the sources only; a stale generated file is perfcfg-check's business.
    ("stale", {"validate": "Passed", "check": "Failed"},
     ["-max_connections = 1000", "postgresql.conf: changed",
      "out of date; run: perfcfg build --env staging"]),
], ids=["clean", "typo", "stale"])
def test_try_repo(tree, results, shown, hook_repo, tmp_path):
    project = tmp_path / "deploy"
    shutil.copytree(EXAMPLE, project)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "botfarm")
    MUTATIONS[tree](project)
    git(project, "add", "-A")   # staged: pre-commit checks what would be committed
    env = {**os.environ, "PRE_COMMIT_COLOR": "never"}
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo),
                           "--all-files"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    found = dict(re.findall(r"perfcfg (validate|check)\.+(Passed|Failed)", output))
    assert found == results, output
    assert proc.returncode == (0 if set(results.values()) == {"Passed"} else 1)
    for text in shown:
        assert text in output


def readme_hooks() -> str:
    section = (ROOT / "README.md").read_text().split("## Diagnostics and the pre-commit hook")[1]
    return group(re.search(r"```yaml\n(# pre-commit hooks.*?)```", section, re.S))


def test_the_readme_shows_the_hooks_init_writes():
    from perfcfg.cli.init import scaffold

    assert readme_hooks() == scaffold("shop", ["production"], "web", "memory: 1GiB\n")[
        ".pre-commit-config.yaml"]


@pytest.mark.slow
def test_the_readme_hooks_work_as_printed(tmp_path):
    """The README's .pre-commit-config.yaml, as printed, in a repository holding a project
    from perfcfg init, with perfcfg on PATH (the venv, as the README says): a clean commit
    passes, a typo fails with its diagnostic."""
    repo = tmp_path / "repo"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PRE_COMMIT_COLOR": "never", "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    subprocess.run(["perfcfg", "init", str(repo), "--no-input"], env=env, check=True,
                   capture_output=True)
    (repo / ".pre-commit-config.yaml").write_text(readme_hooks())
    subprocess.run(["perfcfg", "build", "--env", "development", "--env", "production"],
                   cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")

    def hooks() -> tuple[dict, str]:
        done = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        output = done.stdout + done.stderr
        return dict(re.findall(r"perfcfg (validate|check)\.+(Passed|Failed)", output)), output

    found, output = hooks()
    assert found == {"validate": "Passed", "check": "Passed"}, output
    preset = repo / "presets/production.yaml"
    preset.write_text(preset.read_text() + "\npostgres:\n  work_mme: 64MB\n")
    git(repo, "add", "-A")
    found, output = hooks()
    assert found == {"validate": "Failed", "check": "Failed"}, output
    assert "did you mean 'work_mem'?" in output
