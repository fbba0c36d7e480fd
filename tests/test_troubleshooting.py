"""README "Troubleshooting": each error happens as shown, and its fix works."""

import os
import re
import subprocess

import pytest
from helpers import ROOT, copy_example, printed_commands, run, run_as_printed, write


def shown_errors() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Troubleshooting", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```text\n(.+)\n```", section)


def test_the_section_lists_five_errors():
    assert len(shown_errors()) == 5


def test_command_not_found_and_the_venv_fix(tmp_path):
    shown = shown_errors()[0]
    bare = subprocess.run(["bash", "-c", "perfcfg --version"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert bare.returncode == 127
    assert shown.split(": ", 1)[1] in bare.stderr      # "perfcfg: command not found"
    if not (ROOT / ".venv/bin/activate").exists():
        pytest.skip("no .venv in the checkout (tests run from another environment)")
    fixed = subprocess.run(["bash", "-c", f". {ROOT}/.venv/bin/activate && perfcfg --version"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert fixed.returncode == 0 and fixed.stdout.startswith("perfcfg ")


def test_no_project_here_and_the_project_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("validate")
    assert result.code == 1 and shown_errors()[1] in result.err
    assert run("validate", "--project", "examples/botfarm").code == 0


def test_a_secret_that_is_not_set_and_both_fixes(tmp_path, monkeypatch):
    project = copy_example(tmp_path, with_generated=False)
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text().replace(
        "mode: placeholder", "mode: resolve"))
    for name in [k for k in os.environ if k.startswith("BOTFARM_")]:
        monkeypatch.delenv(name)
    result = run("build", "--env", "staging", "--project", str(project))
    assert result.code == 1 and shown_errors()[2] in result.err
    assert run("build", "--env", "staging", "--project", str(project),
               "--secrets", "placeholder").code == 0
    for name in ("BOTFARM_DB_PASSWORD", "BOTFARM_PGBOUNCER_ADMIN_PASSWORD",
                 "BOTFARM_REDIS_PASSWORD", "BOTFARM_REDIS_EXPORTER_PASSWORD"):
        monkeypatch.setenv(name, "correct-horse-battery")
    assert run("build", "--env", "staging", "--project", str(project)).code == 0


def test_a_unit_spelt_another_way_and_the_hint_fix(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    preset = project / "presets/staging.yaml"
    text = preset.read_text()
    write(preset, text + "postgres:\n  work_mem: 16mb\n")
    result = run("validate", "--project", str(project), "--env", "staging")
    assert result.code == 1 and shown_errors()[3] in result.err and "write 16MB" in result.err
    write(preset, text + "postgres:\n  work_mem: 16MB\n")
    assert run("validate", "--project", str(project), "--env", "staging").code == 0


def test_check_exits_3_and_the_printed_fix(tmp_path, monkeypatch):
    project = copy_example(tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    conf = project / "generated/staging/postgresql.conf"
    conf.write_text(conf.read_text().replace("max_connections = ", "max_connections = 1 #"))
    result = run("check", "--project", "examples/botfarm")
    assert result.code == 3 and shown_errors()[4] in result.err
    for command in printed_commands(result.err):
        assert run_as_printed(command, tmp_path).returncode == 0
    assert run("check", "--project", "examples/botfarm").code == 0


@pytest.mark.slow
def test_every_quickstart_command_works_from_the_repository_root(tmp_path):
    # A copy of what the commands touch, so that the checkout stays as it is.
    import shutil

    shutil.copytree(ROOT / "examples/botfarm", tmp_path / "examples/botfarm")
    block = (ROOT / "README.md").read_text().split("## Quickstart", 1)[1].split("```bash\n", 1)[1]
    lines = [line.split("  #")[0].strip() for line in block.split("```", 1)[0].splitlines()]
    assert len(lines) >= 8
    for line in filter(None, lines):
        done = run_as_printed(line.replace("/tmp/try", str(tmp_path / "try")), tmp_path)
        assert done.returncode == 0, (line, done.stderr)
    assert (tmp_path / "examples/botfarm/hosts/this-machine.yaml").read_text().startswith("#")
