"""One path convention: commands find the project upwards; every path in a message is as the
user types it from where they stand; github and sarif name files from the repository's root
whatever the working directory."""

import json
import re
import subprocess

import pytest
from helpers import printed_commands, run, run_as_printed, write

BROKEN = "extends: [builtin:staging, base.yaml]\npostgres:\n  work_mem: 64mb\n"


@pytest.fixture
def repo(project):
    """The ``project`` fixture as the root of a git repository, with one mistake in it."""
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    write(project / "presets/staging.yaml", BROKEN)
    return project


@pytest.mark.parametrize("where", [".", "presets", "hosts"])
def test_every_command_finds_the_project_upwards(project, where, monkeypatch):
    monkeypatch.chdir(project / where)
    assert run("validate").code == 0
    assert run("check").code == 3          # nothing built yet: every file is missing
    assert run("explain", "--env", "staging", "postgres.work_mem").code == 0
    built = run("build", "--env", "staging")
    assert built.code == 0 and (project / "generated/staging/postgresql.conf").is_file()
    assert run("check").code == 0


@pytest.mark.parametrize("where, shown", [
    (".", "presets/staging.yaml:3:13"),
    ("presets", "staging.yaml:3:13"),
    ("hosts", "../presets/staging.yaml:3:13"),
])
def test_text_names_files_from_where_perfcfg_runs(repo, where, shown, monkeypatch):
    monkeypatch.chdir(repo / where)
    done = run("validate")
    assert done.code == 1 and f" --> {shown}\n" in done.err, done.err


@pytest.mark.parametrize("where", [".", "presets", "hosts"])
def test_github_and_sarif_name_files_from_the_repository_root(repo, where, monkeypatch):
    monkeypatch.chdir(repo / where)
    github = run("validate", "--format", "github")
    assert github.code == 1 and "::error file=presets/staging.yaml,line=3," in github.out
    sarif = json.loads(run("validate", "--format", "sarif").out)["runs"][0]
    assert sarif["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["results"] for loc in r["locations"]}
    assert uris == {"presets/staging.yaml"}


def test_an_annotation_names_every_file_one_way(repo, monkeypatch):
    # a conflict between two files: the annotation's file and its note's place are both
    # named from the repository root
    write(repo / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "postgres:\n  max_connections: 4\n")
    write(repo / "presets/base.yaml", (repo / "presets/base.yaml").read_text()
          .replace("processes: 4", "processes: 40"))
    monkeypatch.chdir(repo / "presets")
    out = run("validate", "--format", "github").out
    line = next(x for x in out.splitlines() if "PCF303" in x)
    files = re.findall(r"file=([^,]+)", line) + re.findall(r"\(([\w./-]+\.yaml):\d+:\d+\)",
                                                          line)
    assert files and all(f.startswith("presets/") for f in files), line


def test_a_missing_host_from_a_subdirectory_gets_the_path_from_there(project, monkeypatch):
    monkeypatch.chdir(project / "presets")
    done = run("build", "--env", "staging", "--host", "hosts/vm.yaml")
    assert done.code == 1
    assert "host profile hosts/vm.yaml does not exist" in done.err
    assert "did you mean --host ../hosts/vm.yaml?" in done.err
    # a profile that is nowhere: made on the machine it describes, the command for this one
    # writes where --host looks
    done = run("build", "--env", "staging", "--host", "hosts/prod.yaml")
    assert "on the machine it describes" in done.err
    command = printed_commands(done.err)[0]
    assert command == "mkdir -p hosts && perfcfg host > hosts/prod.yaml", command


@pytest.mark.parametrize("named_by, typo, meant", [
    ("perfcfg.yaml", "presets/stagin.yaml", "presets/staging.yaml"),
    ("extends", "bse.yaml", "base.yaml"),
    ("--overlay", "stagng.yaml", "staging.yaml"),
])
def test_a_missing_preset_gets_the_path_its_namer_takes(project, named_by, typo, meant,
                                                       monkeypatch):
    monkeypatch.chdir(project / "presets")
    args: list[str] = []
    if named_by == "perfcfg.yaml":
        text = (project / "perfcfg.yaml").read_text()
        write(project / "perfcfg.yaml", text.replace("presets/staging.yaml", typo))
    elif named_by == "extends":
        write(project / "presets/staging.yaml", f"extends: [builtin:staging, {typo}]\n")
    else:
        args = ["--overlay", typo]
    done = run("build", "--env", "staging", "--out", "/dev/null/x", *args)
    assert done.code == 1
    assert f"did you mean '{meant}'?" in done.err, done.err


def test_a_project_below_is_still_offered(tmp_path):
    write(tmp_path / "deploy/shop/perfcfg.yaml", "project: x\n")
    done = run_as_printed("perfcfg validate", tmp_path)
    assert done.returncode == 1 and "--project deploy/shop" in done.stderr
