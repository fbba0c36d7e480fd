"""Options that cannot work together are usage errors, outputs cannot collide or land among
the inputs, and check reports a build of an environment the project no longer has."""

import json

import pytest
from helpers import run, write


@pytest.mark.parametrize("args, says", [
    (["build", "--env", "staging", "--host", "hosts/vm.yaml", "--detect"],
     "--host and --detect cannot be given together"),
    (["build", "--env", "staging", "--check", "--prune"],
     "--check and --prune cannot be given together"),
    (["verify", "--env", "staging", "--redis", "redis://127.0.0.1:1/0"],
     "--redis needs --live"),
    (["verify", "--env", "staging", "--postgres", "host=x"], "--postgres needs --live"),
    (["host", "--set", "postgres.work_mem=4MB"], "--set needs --env"),
    (["host", "--host", "hosts/vm.yaml"], "--host needs --env"),
], ids=["host-detect", "check-prune", "redis-live", "postgres-live", "host-set", "host-host"])
def test_an_option_that_would_be_ignored_is_a_usage_error(project, monkeypatch, args, says):
    monkeypatch.chdir(project)
    done = run(*args)
    assert done.code == 2 and says in done.err, done.err
    assert not (project / "generated").exists()


@pytest.mark.parametrize("output, says", [
    ("generated/{environment}", "{environment} is not a placeholder"),
    ("out", "environments production, staging all write into out"),
    ("presets", "presets holds the project's presets"),
])
def test_an_output_environments_would_share_or_that_holds_inputs_is_refused(project, output,
                                                                           says):
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace(
        "environments:\n", f"output: {output}\nenvironments:\n"
        "  production: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n"))
    done = run("validate", "--project", str(project))
    assert done.code == 1 and says in done.err, done.err


def test_one_environment_may_write_without_env(project):
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text.replace("environments:\n", "output: out\nenvironments:\n"))
    assert run("validate", "--project", str(project)).code == 0


@pytest.mark.parametrize("out", ["presets", ".", "hosts"])
def test_out_into_a_folder_of_inputs_is_refused(project, monkeypatch, out):
    monkeypatch.chdir(project)
    before = sorted(p.name for p in (project / out).iterdir())
    done = run("build", "--env", "staging", "--out", out)
    assert done.code == 2 and "holds the project's" in done.err, done.err
    assert sorted(p.name for p in (project / out).iterdir()) == before


def test_check_reports_the_build_of_a_removed_environment(project, monkeypatch):
    monkeypatch.chdir(project)
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text + "  old: {preset: presets/staging.yaml, host: "
          "hosts/vm.yaml}\n")
    assert run("build", "--env", "staging", "--env", "old").code == 0
    write(project / "perfcfg.yaml", text)
    done = run("check")
    assert done.code == 3
    assert "generated/old/ holds a build of environment 'old', which perfcfg.yaml no longer " \
        "has" in done.err
    assert json.loads(run("check", "--format", "json").out)["orphaned"] == [
        {"env": "old", "output": "generated/old"}]
    from helpers import printed_commands, run_as_printed

    for command in printed_commands(done.err):
        assert run_as_printed(command, project).returncode == 0
    assert run("check").code == 0
