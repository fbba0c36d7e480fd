"""The command line: argument parsing only; every command is a function in ``commands``.

``perfcfg validate`` and ``perfcfg check`` — the pre-commit hooks — are parsed with argparse so
that they do not pay for importing typer/click; every other command goes through the Typer app
(which also lists them in ``--help``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import List, Optional

from perfcfg import commands

BUG_REPORT = "this is a bug in perfcfg; please report it with the output of the same command " \
             "run with --debug"


def _io() -> commands.Io:
    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    return commands.Io(sys.stdout, sys.stderr, dict(os.environ), color)


def _guard(func, debug: bool) -> int:
    try:
        return func()
    except KeyboardInterrupt:
        return commands.INVALID
    except BrokenPipeError:   # `perfcfg check | head`: the reader left; not perfcfg's fault
        # As the Python docs advise: point stdout at devnull so the flush at exit cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return commands.INVALID
    except Exception as exc:  # an internal error: say so, never dump a trace unless asked
        if debug:
            raise
        sys.stderr.write(f"perfcfg: internal error: {type(exc).__name__}: {exc}\n"
                         f"perfcfg: {BUG_REPORT}\n")
        return commands.INVALID


# The pre-commit commands: parsed with argparse, so a hook run never imports typer/click.
_FAST: dict[str, tuple[str, tuple[str, ...], Callable[..., int]]] = {
    "validate": ("Validate every environment (or the named ones) without writing anything.",
                 ("text", "json", "github", "sarif"), commands.validate),
    "check": ("Check that every environment's generated files are up to date (exit 3 if not).",
              ("text", "json"), commands.check),
}


def _fast(command: str, argv: list[str]) -> int:
    import argparse

    description, formats, run = _FAST[command]
    parser = argparse.ArgumentParser(prog=f"perfcfg {command}", description=description)
    parser.add_argument("--project", type=Path, default=Path("."))
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--format", choices=formats, default="text")
    parser.add_argument("--debug", action="store_true")
    if command == "validate":   # what-if: would this override pass, in every environment?
        parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                            help="Override a setting (repeatable), as build --set does.")
    args = parser.parse_args(argv)
    extra = {"sets": tuple(args.set)} if command == "validate" else {}
    return _guard(lambda: run(_io(), args.project, args.env, args.format, **extra), args.debug)


def main(argv: list[str] | None = None) -> int:
    # perfcfg uses no pydantic plugins; where pydantic is imported at all (`perfcfg schema`, or a
    # pydantic-core other than the one perfcfg.model was generated with), looking them up would
    # scan every installed distribution's entry points.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _FAST:
        try:
            return _fast(argv[0], argv[1:])
        except SystemExit as exc:  # argparse usage errors exit 2, like click's
            return int(exc.code or 0)
    app = _typer_app()
    try:
        app(args=argv, prog_name="perfcfg", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:
        # typer's (vendored) click exceptions: usage errors know how to show themselves.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            return int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            return commands.INVALID
        raise
    return _EXIT[0]


_EXIT = [0]


def _typer_app():
    import typer

    app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Compile YAML presets into tuned configs for PostgreSQL, pgbouncer, "
                           "Redis and supervisord.")
    project_opt = typer.Option(Path("."), "--project", help="Project directory (holds perfcfg.yaml).")
    host_opt = typer.Option(None, "--host", help="Host profile file instead of the environment's.")
    set_opt = typer.Option([], "--set", help="Override a setting: PATH=VALUE (repeatable).")

    def finish(code: int) -> None:
        _EXIT[0] = code

    @app.command()
    def build(env: str = typer.Option(..., "--env", help="Environment to compile."),
              project: Path = project_opt, host: Optional[Path] = host_opt,
              detect: bool = typer.Option(False, "--detect", help="Detect this machine as the host."),
              out: Optional[Path] = typer.Option(None, "--out", help="Output directory."),
              sets: List[str] = set_opt,
              check: bool = typer.Option(False, "--check", help="Write nothing; exit 3 if stale."),
              fmt: str = typer.Option("text", "--format", help="text or json."),
              secrets: Optional[str] = typer.Option(None, "--secrets",
                                                    help="resolve or placeholder."),
              debug: bool = typer.Option(False, "--debug")) -> None:
        """Compile one environment into its seven files."""
        _choice(fmt, ("text", "json"), "--format")
        if secrets is not None:
            _choice(secrets, ("resolve", "placeholder"), "--secrets")
        io = _io()
        finish(_guard(lambda: commands.build(
            io, _request(env, project, host, detect, sets, secrets, io), out, check, fmt), debug))

    @app.command()
    def validate(project: Path = project_opt,
                 env: List[str] = typer.Option([], "--env", help="Environment(s) to validate."),
                 fmt: str = typer.Option("text", "--format", help="text, json, github or sarif."),
                 sets: List[str] = set_opt,
                 debug: bool = typer.Option(False, "--debug")) -> None:
        """Validate every environment without writing anything (the pre-commit path)."""
        _choice(fmt, ("text", "json", "github", "sarif"), "--format")
        finish(_guard(lambda: commands.validate(_io(), project, env, fmt, tuple(sets)), debug))

    @app.command()
    def check(project: Path = project_opt,
              env: List[str] = typer.Option([], "--env", help="Environment(s) to check."),
              fmt: str = typer.Option("text", "--format", help="text or json."),
              debug: bool = typer.Option(False, "--debug")) -> None:
        """build --check for every environment (or the named ones): exit 3 if any is stale."""
        _choice(fmt, ("text", "json"), "--format")
        finish(_guard(lambda: commands.check(_io(), project, env, fmt), debug))

    @app.command()
    def explain(path: str = typer.Argument(..., help="Setting path, e.g. postgres.work_mem."),
                env: str = typer.Option(..., "--env"), project: Path = project_opt,
                host: Optional[Path] = host_opt, sets: List[str] = set_opt,
                fmt: str = typer.Option("text", "--format", help="text or json."),
                debug: bool = typer.Option(False, "--debug")) -> None:
        """Show a setting's final value and the chain that produced it."""
        _choice(fmt, ("text", "json"), "--format")
        io = _io()
        finish(_guard(lambda: commands.explain(
            io, _request(env, project, host, False, sets, None, io), path, fmt), debug))

    @app.command()
    def verify(env: str = typer.Option(..., "--env", help="Environment to verify."),
               project: Path = project_opt, host: Optional[Path] = host_opt,
               sets: List[str] = set_opt, debug: bool = typer.Option(False, "--debug")) -> None:
        """Boot the installed daemons from the compiled files on loopback and compare their
        effective values with the intended ones (writes nothing in the project)."""
        io = _io()
        finish(_guard(lambda: commands.verify(
            io, _request(env, project, host, False, sets, None, io)), debug))

    @app.command()
    def schema(out: Optional[Path] = typer.Option(None, "--out", help="Directory to write into."),
               debug: bool = typer.Option(False, "--debug")) -> None:
        """Write the JSON Schemas of presets, the project file and host profiles."""
        finish(_guard(lambda: commands.schema(_io(), out), debug))

    @app.command()
    def host(fmt: str = typer.Option("yaml", "--format", help="yaml or json."),
             debug: bool = typer.Option(False, "--debug")) -> None:
        """Detect this machine and print it as a host-profile file."""
        _choice(fmt, ("yaml", "json"), "--format")
        finish(_guard(lambda: commands.host(_io(), fmt), debug))

    @app.command()
    def tune(daemon: str = typer.Argument(..., help="postgres, pgbouncer or redis."),
             memory: str = typer.Option(..., "--memory", help="Memory for this daemon, e.g. 16GiB."),
             cpus: int = typer.Option(..., "--cpus", min=1),
             storage: str = typer.Option("ssd", "--storage", help="hdd, ssd, san or nvme."),
             profile: str = typer.Option("web", "--profile",
                                         help="web, oltp, dw, mixed or desktop."),
             connections: Optional[int] = typer.Option(None, "--connections", min=1),
             version: Optional[str] = typer.Option(None, "--version", help="e.g. 16 or 1.18."),
             role: str = typer.Option("cache", "--role", help="Redis: cache or store."),
             fmt: str = typer.Option("text", "--format", help="text or json."),
             debug: bool = typer.Option(False, "--debug")) -> None:
        """PGTune-style calculator from flags alone: a conf fragment with a reason per line."""
        _choice(daemon, ("postgres", "pgbouncer", "redis"), "DAEMON")
        _choice(storage, ("hdd", "ssd", "san", "nvme"), "--storage")
        _choice(profile, ("web", "oltp", "dw", "mixed", "desktop"), "--profile")
        _choice(role, ("cache", "store"), "--role")
        _choice(fmt, ("text", "json"), "--format")
        from perfcfg.services import units

        try:
            size = units.parse_size(memory)
        except units.UnitError as exc:
            raise typer.BadParameter(str(exc), param_hint="--memory") from None
        finish(_guard(lambda: commands.tune(_io(), daemon, size, cpus, storage, profile,
                                            connections, version, role, fmt), debug))

    return app


def _choice(value: str, allowed: tuple[str, ...], option: str) -> None:
    import typer

    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)


def _request(env, project, host, detect, sets, secrets, io):
    from perfcfg.stages import pipeline

    detected = commands.detected_profile() if detect else None
    return pipeline.Request(project, env, host, detected, tuple(sets), secrets, io.environ)
