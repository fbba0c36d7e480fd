"""The CLI a newcomer meets: --version, global options anywhere, readable --help, completion."""

import os
import subprocess
import sys

import pytest

from helpers import EXAMPLE, ROOT, run

from perfcfg import __version__, cli


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


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
def test_help_has_readable_metavars_and_examples(command):
    result = run(command, "--help")
    assert result.code == 0
    text = result.out
    assert "<bool>" not in text and "<list" not in text and "<path>" not in text, text
    # Options show what to type (DIR, ENV, PATH=VALUE, text|json), never a Python type.
    assert not [line for line in text.splitlines()
                if line.lstrip().startswith("-") and "<str>" in line], text
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
    code = "import sys; from perfcfg.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.split() == ["validate"]
    env.update(COMP_WORDS="perfcfg validate --for", COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.split() == ["--format"]
