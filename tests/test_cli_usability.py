"""The CLI a newcomer meets: --version, global options anywhere, readable --help, completion."""

import os
import subprocess
import sys

import pytest
from helpers import EXAMPLE, ROOT, run

from perfcfg import __version__
from perfcfg.cli import commands
from perfcfg.cli import main as cli


def test_version():
    result = run("--version")
    assert result.code == 0 and result.out == f"perfcfg {__version__}\n"


@pytest.mark.parametrize("command", ["validate", "check", "build"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_command(command, where):
    extra = ["--env", "staging", "--check"] if command == "build" else []
    movable = ["--quiet", "--debug", "--project", str(EXAMPLE)]
    args = [*movable, command, *extra] if where == "before" else [command, *extra, *movable]
    result = run(*args)
    # --quiet: no summary line; the example's accepted warning is a diagnostic, still shown.
    assert result.code == 0, result.err
    assert "up to date" not in result.err and "valid:" not in result.err


def test_project_before_the_command_is_the_one_used(tmp_path):
    result = run("--project", str(tmp_path), "validate")
    assert result.code == 1 and "PCF117" in result.err


@pytest.mark.parametrize(("cwd", "flags", "named"), [
    ("repo", "", "--project botfarm"),                         # a project below: the repository
    ("repo", "--project botfarm/perfcfg.yaml", "--project botfarm"),   # the file, not its dir
])
def test_no_project_here_names_the_project_near_by(tmp_path, cwd, flags, named):
    import re
    import shutil

    from helpers import run_as_printed

    shutil.copytree(EXAMPLE, tmp_path / "repo/botfarm")
    where = tmp_path / cwd
    missed = run_as_printed(f"perfcfg validate {flags}", where)
    assert missed.returncode == 1 and "PCF117" in missed.stderr, missed.stderr
    hint = re.search(r"hint: .*?(--project \S+)$", missed.stderr, re.MULTILINE)
    assert hint and hint.group(1) == named, missed.stderr
    found = run_as_printed(f"perfcfg validate {hint.group(1)}", where)   # as printed, from there
    assert found.returncode == 0, found.stderr


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
def test_help_has_readable_metavars_and_examples(command):
    result = run(command, "--help")
    assert result.code == 0
    text = result.out
    assert "<bool>" not in text and "<list" not in text, text
    # Options show what to type (DIR, ENV, PATH=VALUE, text|json), never a Python type.
    assert not [line for line in text.splitlines() if line.lstrip().startswith("-")
                and ("<str>" in line or "<path>" in line)], text
    assert "Examples:" in text
    for example in cli.BY_NAME[command].examples:
        assert example in text


@pytest.mark.parametrize("command", [c for c in cli.COMMANDS if c.hook])
def test_hook_path_parser_is_built_from_the_same_table(command):
    # The argparse parser of a hook command knows exactly the options the typer app shows.
    parser = cli._argparse(command)
    flags = {f for action in parser._actions for f in action.option_strings} - {"-h", "--help"}
    assert flags == {f for o in cli._options(command) for f in o.flags}


def test_every_command_example_parses():
    # Each example of --help is a valid command line (checked with the real parsers, not run).
    for command in cli.COMMANDS:
        for example in command.examples:
            args = example.split(">")[0].split()[1:]
            result = run(*args, "--help")
            assert result.code == 0, example


def test_shell_completion_completes_commands_and_options():
    env = dict(os.environ, _PERFCFG_COMPLETE="complete_bash", COMP_WORDS="perfcfg val",
               COMP_CWORD="1")
    code = "import sys; from perfcfg.cli.main import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.split() == ["validate"]
    env.update(COMP_WORDS="perfcfg validate --for", COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.split() == ["--format"]


def _broken_project_below(tmp_path, monkeypatch):
    from helpers import copy_example, write

    monkeypatch.chdir(tmp_path)
    project = copy_example(tmp_path / "deploy", with_generated=False)
    write(project / "presets/staging.yaml",
          (project / "presets/staging.yaml").read_text() + "postgres:\n  work_mem: 64mb\n")
    return project


def test_github_annotations_name_files_from_the_current_directory(tmp_path, monkeypatch):
    _broken_project_below(tmp_path, monkeypatch)
    result = run("validate", "--format", "github", "--project", "deploy/botfarm")
    assert result.code == 1
    files = {p.split("=", 1)[1] for line in result.out.splitlines()
             for p in line.split("::")[1].split(" ", 1)[1].split(",") if p.startswith("file=")}
    assert "deploy/botfarm/presets/staging.yaml" in files
    for name in files:
        assert name.startswith("builtin:") or (tmp_path / name).is_file(), name


def test_sarif_names_files_from_the_current_directory_and_validates(tmp_path, monkeypatch):
    import json

    from test_reporters import _sarif_validator

    _broken_project_below(tmp_path, monkeypatch)
    result = run("validate", "--format", "sarif", "--project", "deploy/botfarm")
    assert result.code == 1
    log = json.loads(result.out)
    assert not list(_sarif_validator().iter_errors(log))
    run_ = log["runs"][0]
    assert run_["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.as_uri() + "/"}}
    located = [loc["physicalLocation"]["artifactLocation"]
               for r in run_["results"] for loc in r["locations"] if "physicalLocation" in loc]
    assert {"uri": "deploy/botfarm/presets/staging.yaml", "uriBaseId": "%SRCROOT%"} in located
    for artifact in located:
        if "uriBaseId" in artifact:
            assert (tmp_path / artifact["uri"]).is_file(), artifact


@pytest.mark.parametrize("args", [
    ["build", "--env", "staging", "--out", "README.md"],
    ["build", "--env", "staging", "--out", "/proc/x"],
    ["build", "--env", "staging", "--out", "README.md/x"],
    ["schema", "--out", "/proc/zz"],
    ["schema", "--out", "README.md"],
], ids=["out-is-a-file", "out-in-proc", "out-below-a-file", "schema-in-proc", "schema-file"])
def test_filesystem_mistakes_are_one_line_user_errors(args, tmp_path, monkeypatch):
    from helpers import copy_example

    project = copy_example(tmp_path, with_generated=False)
    monkeypatch.chdir(project)
    (project / "README.md").write_text("mine\n")
    result = run("-q", *args)
    assert result.code in (1, 2)
    own = [line for line in result.err.splitlines() if line.startswith("perfcfg:")]
    assert len(own) == 1 and "internal error" not in result.err, result.err
    assert args[-1] in own[0]
    assert (project / "README.md").read_text() == "mine\n"


@pytest.mark.parametrize("command", [["host"], ["schema"]])
def test_a_full_standard_output_is_a_one_line_user_error(command):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "perfcfg", *command], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr == "perfcfg: cannot write the output: No space left on device\n"


def test_check_advice_works_when_run_as_printed(tmp_path, monkeypatch):
    # From a directory above a project whose name needs quoting: a changed file, a missing
    # one, an extra one; every command check prints is run as printed, then check is green.
    from helpers import copy_example, printed_commands, run_as_printed

    project = copy_example(tmp_path)
    spaced = project.rename(tmp_path / "bot farm")
    monkeypatch.chdir(tmp_path)
    conf = spaced / "generated/staging/postgresql.conf"
    conf.write_text(conf.read_text().replace("max_connections = ", "max_connections = 1 #"))
    (spaced / "generated/production/valkey.conf").unlink()
    (spaced / "generated/development/notes.txt").write_text("mine\n")
    result = run("check", "--project", "bot farm")
    assert result.code == 3
    commands = printed_commands(result.err)
    assert len(commands) == 3, result.err      # two rebuilds, one removal
    for command in commands:
        done = run_as_printed(command, tmp_path)
        assert done.returncode == 0, (command, done.stderr)
    assert run("check", "--project", "bot farm").code == 0


def test_build_check_advice_keeps_the_flags_of_the_build(tmp_path, monkeypatch):
    from helpers import copy_example, printed_commands, run_as_printed

    project = copy_example(tmp_path)
    monkeypatch.chdir(project / "presets")
    args = ["build", "--env", "staging", "--project", "..", "--out", str(tmp_path / "try out"),
            "--set", "redis.hz=100"]
    assert run(*args).code == 0
    (tmp_path / "try out/valkey.conf").write_text("hz 10\n")
    result = run(*args, "--check")
    [command] = printed_commands(result.err)
    assert result.code == 3 and "--set redis.hz=100" in command
    assert run_as_printed(command, project / "presets").returncode == 0
    assert run(*args, "--check").code == 0


def test_missing_host_profile_advice_works_as_printed(tmp_path, monkeypatch):
    from helpers import copy_example, printed_commands, run_as_printed

    project = copy_example(tmp_path, with_generated=False)
    (project / "perfcfg.yaml").write_text((project / "perfcfg.yaml").read_text().replace(
        "hosts/laptop.yaml", "hosts/new/this machine.yaml"))
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--project", "botfarm", "--env", "development")
    assert result.code == 1 and "PCF118" in result.err
    [command] = printed_commands(result.err)
    assert "botfarm/hosts/new" in command     # from here, not from the project
    assert run_as_printed(command, tmp_path).returncode == 0
    assert run("validate", "--project", "botfarm", "--env", "development").code == 0


def test_check_progress_names_each_environment_on_a_terminal_only():
    import io

    from perfcfg.cli import commands

    for progress, quiet in ((True, False), (False, False), (False, True)):
        err = io.StringIO()
        streams = commands.Io(io.StringIO(), err, {}, quiet=quiet, progress=progress)
        assert commands.check(streams, EXAMPLE, [], "text") == 0
        steps = [line for line in err.getvalue().splitlines() if "compiling" in line]
        assert len(steps) == (3 if progress else 0)
        assert ("up to date" in err.getvalue()) is not quiet


def test_progress_is_on_only_for_a_terminal_without_quiet(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert cli._io(quiet=False).progress and not cli._io(quiet=True).progress
    monkeypatch.undo()
    assert not cli._io(quiet=False).progress      # pytest's stderr is not a terminal


def test_a_file_built_with_set_says_so_in_its_header(tmp_path):
    out = tmp_path / "out"
    assert run("build", "--env", "staging", "--project", str(EXAMPLE), "--out", str(out),
               "--set", "postgres.work_mem=16MB", "--set", "redis.bind=[127.0.0.1, 10.0.0.1]").code == 0
    # A file whose content the overrides change names them; one they leave alone keeps the
    # bytes of the build without them (no header line); the manifest names all.
    heads = {name: "\n".join((out / name).read_text().split("\n", 8)[:8])
             for name in ("postgresql.conf", "valkey.conf", "pgbouncer.ini", "supervisord.conf")}
    both = "overrides: --set postgres.work_mem=16MB --set 'redis.bind=[127.0.0.1, 10.0.0.1]'\n"
    assert both in heads["postgresql.conf"] and both in heads["valkey.conf"]
    assert "overrides:" not in heads["pgbouncer.ini"] + heads["supervisord.conf"]
    import json

    assert json.loads((out / "manifest.json").read_text())["overrides"] == [
        "postgres.work_mem=16MB", "redis.bind=[127.0.0.1, 10.0.0.1]"]
    plain = tmp_path / "plain"
    assert run("build", "--env", "staging", "--project", str(EXAMPLE), "--out", str(plain)).code == 0
    assert "overrides:" not in (plain / "postgresql.conf").read_text()


def test_quiet_when_all_is_well_one_line_when_nothing_changed(tmp_path):
    from helpers import copy_example

    project = copy_example(tmp_path)
    fresh = run("build", "--env", "staging", "--project", str(project), "--check")
    own = [line for line in fresh.err.splitlines() if line.startswith("perfcfg:")]
    count = len(list((project / "generated/staging").iterdir()))
    assert fresh.code == 0 and len(own) == 1 and f" {count} file(s)" in own[0] and \
        "up to date" in own[0]
    first = run("schema", "--out", str(tmp_path / "schemas"))
    assert first.code == 0 and "3 schema file(s) written" in first.err
    again = run("schema", "--out", str(tmp_path / "schemas"))
    assert again.code == 0
    assert again.err.endswith("already up to date; nothing written\n") and \
        again.err.count("\n") == 1


def test_build_of_several_environments(tmp_path):
    import io

    from helpers import copy_example

    project = copy_example(tmp_path)
    (project / "generated/production/valkey.conf").unlink()
    result = run("build", "--env", "staging", "--env", "production", "--project", str(project),
                 "--check")
    count = len(list((project / "generated/staging").iterdir()))
    assert result.code == 3 and f"staging: {count} file(s)" in result.err
    assert "production/valkey.conf: missing" in result.err
    assert run("build", "--env", "staging", "--env", "production", "--project",
               str(project)).code == 0
    assert run("check", "--project", str(project)).code == 0
    assert run("build", "--env", "staging", "--env", "production", "--out", str(tmp_path),
               "--project", str(project)).code == 2
    # progress on a terminal: one line per environment
    err = io.StringIO()
    values = {"envs": ["staging", "production"], "project": project, "host": None,
              "detect": False, "out": None, "sets": [], "check": True, "fmt": "text",
              "secrets": None}
    streams = commands.Io(io.StringIO(), err, {}, progress=True)
    assert cli._build(streams, values) == 0
    assert [line for line in err.getvalue().splitlines() if "compiling" in line] == [
        "perfcfg: staging: compiling (1/2)", "perfcfg: production: compiling (2/2)"]


def test_a_host_file_outside_the_project_is_named_as_typed(tmp_path):
    result = run("build", "--env", "staging", "--project", str(EXAMPLE), "--host",
                 str(tmp_path / "nope.yaml"))
    assert result.code == 1
    assert f"host profile {tmp_path / 'nope.yaml'} is outside the project directory" in \
        result.err
    # a file that does not exist has no line 1 to point at
    assert "nope.yaml:1:1" not in result.err and " --> " not in result.err


def test_several_environments_in_one_env_flag_get_the_flags_to_write(tmp_path):
    import re
    import shutil

    from helpers import run_as_printed

    shutil.copytree(EXAMPLE, tmp_path / "botfarm")
    done = run_as_printed("perfcfg validate --env staging,production --project botfarm", tmp_path)
    assert done.returncode == 1 and "PCF119" in done.stderr, done.stderr
    hint = re.search(r"hint: one environment per --env: (.+)$", done.stderr, re.MULTILINE)
    assert hint and hint.group(1) == "--env staging --env production", done.stderr
    again = run_as_printed(f"perfcfg validate {hint.group(1)} --project botfarm", tmp_path)
    assert again.returncode == 0 and "2 environment(s) valid" in again.stderr, again.stderr


def test_quiet_leaves_an_accepted_caveat_out_of_the_terminal_but_not_out_of_json(tmp_path):
    from helpers import copy_example, write

    project = copy_example(tmp_path, with_generated=False)
    base = project / "presets" / "base.yaml"
    write(base, base.read_text() + "policy:\n  waivers:\n    - rule: PCF310\n"
          "      reason: the bots run asyncpg with statement_cache_size=0\n")
    # development targets pgbouncer 1.18, whose transaction pooling carries the caveat
    loud = run("validate", "--project", str(project), "--env", "development")
    quiet = run("validate", "-q", "--project", str(project), "--env", "development")
    as_json = run("validate", "-q", "--project", str(project), "--env", "development",
                  "--format", "json")
    assert loud.code == quiet.code == as_json.code == 0
    assert "info[PCF310]" in loud.err and "waived by" in loud.err
    assert "info[PCF310]" not in quiet.err
    assert '"PCF310"' in as_json.out


def test_validate_names_the_environments_a_diagnostic_is_for_unless_it_is_all_of_them():
    # Each environment's host makes a different PCF301 at the same --set; a wrong unit is the
    # same mistake everywhere and is shown once, without a list of environments.
    over = run("validate", "--project", str(EXAMPLE), "--set", "postgres.work_mem=64MB")
    memory = [line for line in over.err.splitlines() if line.startswith("error[PCF301]")]
    assert len(memory) == 3 and all(line.endswith(")") for line in memory)
    assert {line.rsplit("(environment ", 1)[1] for line in memory} == \
        {"staging)", "development)", "production)"}
    unit = run("validate", "--project", str(EXAMPLE), "--set", "postgres.work_mem=64mb")
    [line] = [line for line in unit.err.splitlines() if line.startswith("error[PCF204]")]
    assert "(environment" not in line


@pytest.mark.parametrize("args", [["build"], ["explain", "postgres.work_mem"], ["verify"],
                                  ["build", "--check"]])
def test_a_missing_env_names_the_environments_of_the_project(args, capsys):
    result = run(*args, "--project", str(EXAMPLE))
    err = result.err + capsys.readouterr().err
    assert result.code == 2
    assert f"perfcfg {args[0]}: --env is required: " in err
    assert "has development, staging, production (e.g. --env development)" in err


def test_a_missing_env_on_the_hook_path_names_them_too(capsys):
    # check and validate default to every environment; the hook parser builds the same options
    command = next(c for c in cli.COMMANDS if c.name == "build")
    assert cli._hook(command, ["--project", str(EXAMPLE)]) == 2
    assert "--env is required: " in capsys.readouterr().err


def test_a_missing_env_without_a_project_says_so(tmp_path, capsys):
    result = run("build", "--project", str(tmp_path))
    err = result.err + capsys.readouterr().err
    assert result.code == 2 and "no environment could be read from" in err


@pytest.mark.parametrize("words, cword, offered, not_offered", [
    ("perfcfg build --env ", 3, ["development", "production", "staging"], []),
    ("perfcfg explain --env staging postgres.work", 4, ["postgres.work_mem"], ["redis.bind"]),
    ("perfcfg explain --env staging databases.botfarm.pool", 4,
     ["databases.botfarm.pool_mode", "databases.botfarm.pool_size"], []),
    ("perfcfg validate --set redis.maxmemory-p", 3, ["redis.maxmemory-policy="], []),
    ("perfcfg check --env prod", 3, ["production"], ["staging"]),
], ids=["build-env", "explain-path", "explain-item", "set-path", "check-env"])
def test_completion_offers_environments_and_setting_paths(words, cword, offered, not_offered):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, _PERFCFG_COMPLETE="complete_bash", COMP_WORDS=words,
               COMP_CWORD=str(cword))
    done = subprocess.run([str(Path(sys.executable).parent / "perfcfg")], env=env,
                          cwd=EXAMPLE / "presets", capture_output=True, text=True, timeout=60)
    shown = done.stdout.split()
    assert set(offered) <= set(shown) and not set(not_offered) & set(shown), done
