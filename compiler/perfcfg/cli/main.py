"""The command line: one table of commands and options, two parsers built from it.

``COMMANDS`` declares every command, option, help text and example once. ``perfcfg validate``
and ``perfcfg check`` — the pre-commit hooks — are parsed with an argparse parser built from
that table, so that a hook run never imports typer/click; everything else (every other
command, ``--help`` of any command, shell completion) goes through the Typer app built from the
same table. Every command is a function in ``commands``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcfg import __version__
from perfcfg.cli import commands, reporters

if TYPE_CHECKING:
    # for the annotations only: the hook path imports neither typer nor the pipeline up front
    import argparse

    import typer

    from perfcfg.stages.pipeline import Request

BUG_REPORT = "this is a bug in perfcfg; please report it with the output of the same command " \
             "run with --debug"


@dataclass(frozen=True)
class Opt:
    """One option (``flags``) or positional argument (no flags) of a command."""

    dest: str
    flags: tuple[str, ...]
    help: str
    kind: str = "text"            # text | path | flag | many (repeatable text) | int
    choices: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    metavar: str | None = None
    minimum: int | None = None
    # an --env perfcfg checks itself, so that a missing one is answered with the names
    # perfcfg.yaml offers rather than the parser's bare "Missing option"
    names_env: bool = False
    # what shell completion offers for its value: "env" (the project's environments), "path"
    # (the environment's setting paths), "set" (the same, as PATH=)
    complete: str | None = None

    @property
    def parser_required(self) -> bool:
        return self.required and not self.names_env


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Opt, ...]
    run: Callable[[commands.Io, dict[str, Any]], int]
    examples: tuple[str, ...] = ()
    hook: bool = False            # parsed by argparse: a pre-commit hook never imports typer
    # (option, option, why): given together, one would be silently ignored
    conflicts: tuple[tuple[str, str, str], ...] = ()
    # (option, the option it needs, why): without it, it would be silently ignored
    needs: tuple[tuple[str, str, str], ...] = ()


# Options every command takes, before or after the command's name (main() moves them after).
DEBUG = Opt("debug", ("--debug",), "Show a traceback when perfcfg fails with an internal error.",
            kind="flag", default=False)
QUIET = Opt("quiet", ("--quiet", "-q"), "Print only diagnostics and results: no progress, no "
            "summary line.", kind="flag", default=False)
GLOBAL = (DEBUG, QUIET)
# --project also goes before or after the command, for the commands that read a project.
PROJECT = Opt("project", ("--project",), "Project directory (holds perfcfg.yaml; default: the "
              "nearest folder upwards from here that holds one).", kind="path", metavar="DIR")
# How many values each movable option takes (main() moves them after the command's name).
_MOVABLE = {flag: (0 if o.kind == "flag" else 1)
            for o in (*GLOBAL, PROJECT) for flag in o.flags}

ENV_ONE = Opt("env", ("--env",), "Environment to use (a name under environments: in "
              "perfcfg.yaml).", required=True, metavar="ENV", names_env=True, complete="env")
HOST = Opt("host", ("--host",), "Host profile file instead of the environment's.", kind="path",
           metavar="FILE")
SETS = Opt("sets", ("--set",), "Override a setting (repeatable); VALUE is YAML.", kind="many",
           default=(), metavar="PATH=VALUE", complete="set")
TEXT_JSON = Opt("fmt", ("--format",), "Output format.", choices=("text", "json"), default="text")
OVERLAY = Opt("overlay", ("--overlay",), "A preset file applied on top of the environment's "
              "presets (below --set): a rehearsal's ports and paths in one file.", kind="path",
              metavar="FILE")
SECRETS = Opt("secrets", ("--secrets",), "Resolve the password references, or use "
              "deterministic placeholders (default: the project file's secrets.mode).",
              choices=("resolve", "placeholder"))


def _request(o: dict[str, Any], io: commands.Io, *, detect: bool = False, render: bool = True
             ) -> Request:
    from perfcfg.stages import pipeline

    detected = commands.detected_profile() if detect else None
    return pipeline.Request(o["project"], o["env"], o.get("host"), detected,
                            tuple(o.get("sets", ())), o.get("secrets"), io.environ, render=render,
                            overlay=o.get("overlay"))


def _build(io: commands.Io, o: dict[str, Any]) -> int:
    envs = list(dict.fromkeys(o["envs"]))
    if len(envs) > 1 and (o["out"] is not None or o["fmt"] == "json"):
        io.err.write("perfcfg build: --out and --format json take one --env (perfcfg check "
                     "--format json reports every environment)\n")
        return commands.USAGE
    worst = commands.OK
    for i, env in enumerate(envs, 1):
        if len(envs) > 1:
            io.step(f"{env}: compiling ({i}/{len(envs)})")
        code = commands.build(io, _request({**o, "env": env}, io, detect=o["detect"]), o["out"],
                              o["check"], o["fmt"], o.get("against"), o.get("prune", False))
        # a usage error outranks an invalid environment, which outranks a stale one; each
        # outranks success
        rank = {commands.OK: 0, commands.STALE: 1, commands.INVALID: 2, commands.USAGE: 3}
        worst = max(worst, code, key=rank.__getitem__)
    return worst


def _live_options() -> tuple[Opt, ...]:
    """``verify --live --<service> TARGET``: one option per service verify can read running."""
    from perfcfg.services import registry

    return tuple(Opt(s.name, (f"--{s.name}",), s.verifier.live_help,
                     metavar=s.verifier.live_metavar)
                 for s in registry.SERVICES
                 if s.verifier is not None and s.verifier.read_live is not None)


def _calculators() -> dict[str, Any]:
    """Service → its calculator: the daemons ``perfcfg tune`` takes (each service says)."""
    from perfcfg.services import registry

    return {s.name: s.calculator for s in registry.SERVICES if s.calculator is not None}


def _tune_options() -> tuple[Opt, ...]:
    """The flags only one daemon's calculator reads, once each (its own help says whose)."""
    seen: dict[str, Opt] = {}
    for calc in _calculators().values():
        for name, option in calc.options.items():
            seen.setdefault(name, Opt(name, (f"--{name}",), option.help,
                                      choices=option.choices))
    return tuple(seen.values())


def _host_os() -> tuple[str, ...]:
    """The kernels a host profile names (its ``os``): the calculator takes the same."""
    from typing import get_args, get_type_hints

    from perfcfg.model import records

    return tuple(get_args(get_type_hints(records.HostProfile)["os"]))


def _tune(io: commands.Io, o: dict[str, Any]) -> int:
    from perfcfg.core import units

    calcs = _calculators()
    daemon = o["daemon"]
    options = {}
    for opt in _tune_options():
        if o.get(opt.dest) is None:
            continue
        if opt.dest not in calcs[daemon].options:
            owners = [d for d, c in calcs.items() if opt.dest in c.options]
            takes = ["--memory", "--cpus", "--connections", "--version", "--os", "--wal-disk",
                     "--data-size"] + \
                [f"--{k}" for k in calcs[daemon].options]
            io.err.write(f"perfcfg tune: --{opt.dest} only applies to {' and '.join(owners)}; "
                         f"{daemon} takes {', '.join(takes)}\n")
            return commands.USAGE
        options[opt.dest] = o[opt.dest]
    sizes: dict[str, int | None] = {}
    for dest in ("memory", "wal_disk", "data_size"):
        try:
            sizes[dest] = None if o[dest] is None else units.parse_size(o[dest])
        except units.UnitError as exc:
            io.err.write(f"perfcfg tune: --{dest.replace('_', '-')}: {exc}\n")
            return commands.USAGE
    memory = sizes["memory"]
    assert memory is not None    # a required option
    host = commands.CalcHost(o["os"], sizes["wal_disk"], sizes["data_size"])
    return commands.tune(io, daemon, memory, o["cpus"], o["connections"], o["version"], options,
                         o["fmt"], host)


COMMANDS: tuple[Command, ...] = (
    Command("build", "Compile environments into their files, and say what deploying them "
            "needs per daemon (restart, reload or none).", (
        Opt("envs", ("--env",), "Environment to compile (repeatable).", kind="many",
            required=True, metavar="ENV", names_env=True, complete="env"),
        PROJECT, HOST,
        Opt("detect", ("--detect",), "Detect this machine and use it as the host.", kind="flag",
            default=False),
        Opt("out", ("--out",), "Output directory (default: the project's output:).", kind="path",
            metavar="DIR"),
        SETS, OVERLAY,
        Opt("check", ("--check",), "Write nothing; show a diff and exit 3 if a file is stale, "
            "missing or extra.", kind="flag", default=False),
        Opt("prune", ("--prune",), "Also remove the files an earlier build wrote (listed in "
            "its manifest.json) that this build no longer produces; never any other file.",
            kind="flag", default=False),
        Opt("against", ("--against",), "Say what deploying needs compared with the files in "
            "this directory (e.g. what is deployed) instead of the output directory.",
            kind="path", metavar="DIR"),
        TEXT_JSON, SECRETS),
        lambda io, o: _build(io, o),
        conflicts=(("host", "detect", "--detect uses this machine as the host"),
                   ("check", "prune", "--check writes nothing, so it removes nothing")),
        examples=("perfcfg build --env staging --project examples/botfarm",
                  "perfcfg build --env staging --env production --project examples/botfarm",
                  "perfcfg build --env staging --project examples/botfarm --check",
                  "perfcfg build --env staging --set postgres.work_mem=16MB --out /tmp/try")),
    Command("validate", "Validate every environment (or the named ones) without writing "
            "anything: the pre-commit path.", (
        PROJECT,
        Opt("envs", ("--env",), "Environment to validate (repeatable; default: all).",
            kind="many", default=(), metavar="ENV", complete="env"),
        Opt("fmt", ("--format",), "Output format.", choices=reporters.FORMATS,
            default="text"),
        SETS),
        lambda io, o: commands.validate(io, o["project"], list(o["envs"]), o["fmt"],
                                        tuple(o["sets"])),
        examples=("perfcfg validate --project examples/botfarm",
                  "perfcfg validate --env staging --set postgres.work_mem=16MB",
                  "perfcfg validate --format sarif > perfcfg.sarif"),
        hook=True),
    Command("check", "Check that every environment's generated files are up to date (exit 3 "
            "if not): validate, then build --check each environment.", (
        PROJECT,
        Opt("envs", ("--env",), "Environment to check (repeatable; default: all).", kind="many",
            default=(), metavar="ENV", complete="env"),
        TEXT_JSON),
        lambda io, o: commands.check(io, o["project"], list(o["envs"]), o["fmt"]),
        examples=("perfcfg check --project examples/botfarm",
                  "perfcfg check --env production --format json"),
        hook=True),
    Command("explain", "Show a setting's final value and the chain that produced it.", (
        Opt("path", (), "Setting path, e.g. postgres.work_mem.", required=True, metavar="PATH",
            complete="path"),
        ENV_ONE, PROJECT, HOST, SETS, TEXT_JSON),
        lambda io, o: commands.explain(io, _request(o, io, render=False), o["path"], o["fmt"]),
        examples=("perfcfg explain --env staging --project examples/botfarm "
                  "postgres.shared_buffers",
                  "perfcfg explain --env production databases.botfarm.pool_size --format json")),
    Command("verify", "Boot the installed daemons from the compiled files on loopback and "
            "compare their effective values with the intended ones (writes nothing in the "
            "project); with --live, compare a running deployment instead.", (
            ENV_ONE, PROJECT, HOST, SETS, OVERLAY, TEXT_JSON, SECRETS,
            Opt("live", ("--live",), "Compare the running daemons named by --postgres, "
                "--pgbouncer, --redis and --supervisor (each one else by PERFCFG_POSTGRES_DSN, "
                "PERFCFG_PGBOUNCER_DSN, PERFCFG_REDIS_URL, PERFCFG_SUPERVISOR_URL) with what "
                "the environment compiles to: drift.", kind="flag", default=False),
            Opt("monitoring", ("--monitoring",), "Also start each daemon's pinned exporter "
                "from its compiled file and a real Prometheus with the compiled prometheus.yml "
                "and alerts.yml: every target must be up and no alert fire at rest, then each "
                "drill (a hand change, or load) must fire exactly the alerts it names.",
                kind="flag", default=False),
            *_live_options()),
        lambda io, o: commands.verify(io, _request(o, io), o["fmt"], live=o["live"],
                                      targets={opt.dest: o[opt.dest] for opt in _live_options()},
                                      monitoring=o["monitoring"]),
        needs=tuple((opt.dest, "live", "only --live compares a running daemon")
                    for opt in _live_options()),
        examples=("perfcfg verify --env staging --project examples/botfarm",
                  "perfcfg verify --env staging --monitoring --set redis.role=store",
                  "perfcfg verify --env production --secrets placeholder --format json",
                  "perfcfg verify --env production --live --postgres 'host=/run/postgresql "
                  "user=postgres' --pgbouncer 'host=/run/postgresql port=6432 dbname=pgbouncer "
                  "user=pgbouncer' --redis redis://monitor@127.0.0.1:6379/0 "
                  "--supervisor unix:///run/supervisor.sock")),
    Command("apply", "Deploy an environment on this host, as root: install the manifest's "
            "files, make the directories they name, do each daemon's action in the one order "
            "that works (PostgreSQL, roles.sql, pgbouncer, Redis, supervisor), then verify "
            "--live. A second run does nothing.", (
            ENV_ONE, PROJECT, HOST, SETS, OVERLAY,
            Opt("secrets", ("--secrets",), "Resolve the password references (the default: a "
                "deploy needs the real ones), or use placeholders for a rehearsal.",
                choices=("resolve", "placeholder")),
            Opt("dry_run", ("--dry-run",), "Print the steps and the commands they amount to; "
                "change nothing.", kind="flag", default=False)),
        lambda io, o: commands.apply(io, _request(o, io), o["dry_run"]),
        examples=("perfcfg apply --env production --project examples/botfarm --dry-run",
                  "perfcfg apply --env production --project examples/botfarm")),
    Command("schema", "Write the JSON Schemas of presets, the project file and host profiles "
            "(to standard output without --out).", (
        Opt("out", ("--out",), "Directory to write the schema files into.", kind="path",
            metavar="DIR"),),
        lambda io, o: commands.schema(io, o["out"]),
        examples=("perfcfg schema --out schemas",)),
    Command("host", "Detect this machine and print it as a host-profile file; with --env, "
            "also its kernel settings and fd limit against what that environment needs.", (
        Opt("fmt", ("--format",), "Output format.", choices=("yaml", "json"), default="yaml"),
        Opt("env", ("--env",), "Also compare this machine's kernel settings (somaxconn, "
            "overcommit, huge pages) and fd limit with what this environment needs (exit 1 "
            "when one falls short).", metavar="ENV", complete="env"),
        PROJECT, HOST, SETS),
        lambda io, o: commands.host(io, o["fmt"], _request(o, io, render=False)
                                    if o["env"] else None),
        needs=tuple((d, "env", "without --env, host prints this machine alone") for d in
                    ("project", "host", "sets")),
        examples=("perfcfg host > examples/botfarm/hosts/this-machine.yaml",
                  "perfcfg host --env production --project examples/botfarm")),
    Command("init", "Start a new project in DIR: perfcfg.yaml, presets that extend the "
            "built-ins, a host profile of this machine, pre-commit hooks and a .gitignore for "
            "secrets. Asks on a terminal; the flags answer every question.", (
        Opt("directory", (), "Directory of the new project (created if missing).", kind="path",
            default=Path("."), metavar="DIR"),
        Opt("name", ("--name",), "Project name (default: the directory's name).",
            metavar="NAME"),
        Opt("envs", ("--env",), "Environment to create (repeatable; default: development and "
            "production).", kind="many", default=(), metavar="ENV"),
        Opt("db_profile", ("--db-profile",), "Database workload.",
            choices=("web", "oltp", "dw", "mixed", "desktop")),
        Opt("no_input", ("--no-input",), "Ask nothing, even on a terminal.", kind="flag",
            default=False)),
        lambda io, o: commands.init(io, o["directory"], o["name"], list(o["envs"]),
                                    o["db_profile"], sys.stdin.isatty() and not o["no_input"]),
        examples=("perfcfg init shop",
                  "perfcfg init deploy/shop --name shop --env staging --env production "
                  "--db-profile oltp --no-input")),
    Command("tune", "PGTune-style calculator from flags alone: a conf fragment with a reason "
            "per line.", (
        Opt("daemon", (), "The daemon to tune.", choices=tuple(_calculators()), metavar="DAEMON",
            required=True),
        Opt("memory", ("--memory",), "Memory for this daemon, e.g. 16GiB.", required=True,
            metavar="SIZE"),
        Opt("cpus", ("--cpus",), "CPUs for this daemon.", kind="int", required=True,
            metavar="N", minimum=1),
        *_tune_options(),
        Opt("connections", ("--connections",), "Expected client connections.", kind="int",
            metavar="N", minimum=1),
        Opt("version", ("--version",), "Daemon version, e.g. 16 or 1.18 (default: perfcfg's "
            "target).", metavar="VERSION"),
        Opt("os", ("--os",), "The host's kernel, as a host profile's os: (default: linux).",
            choices=_host_os(), default="linux"),
        Opt("wal_disk", ("--wal-disk",), "Size of the disk holding the WAL, e.g. 200GiB "
            "(sizes max_wal_size, as a host profile's wal_disk:).", metavar="SIZE"),
        Opt("data_size", ("--data-size",), "Data the database holds, e.g. 40GiB (as the "
            "workload's data_size:).", metavar="SIZE"),
        TEXT_JSON),
        _tune,
        examples=("perfcfg tune postgres --memory 16GiB --cpus 4 --profile oltp",
                  "perfcfg tune postgres --pooler none --memory 16GiB --cpus 4 --profile web",
                  "perfcfg tune postgres --memory 64GiB --cpus 16 --os darwin --wal-disk 200GiB "
                  "--data-size 40GiB",
                  "perfcfg tune redis --memory 2GiB --cpus 2 --role store")),
)
BY_NAME = {c.name: c for c in COMMANDS}


def _io(quiet: bool = False) -> commands.Io:
    from typing import TextIO, cast

    from perfcfg.core.redact import ScrubbedStream

    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    # Everything a command prints passes the secret scrubber: no resolved secret reaches a
    # terminal, whatever path (a report, a diff, explain) would carry it there.
    return commands.Io(cast(TextIO, ScrubbedStream(sys.stdout)),
                       cast(TextIO, ScrubbedStream(sys.stderr)), dict(os.environ), color,
                       quiet=quiet, progress=not quiet and sys.stderr.isatty())


def _guard(func: Callable[[], int], debug: bool) -> int:
    try:
        code = func()
        sys.stdout.flush()    # `perfcfg host > /dev/full` fails here, where it can be reported
        return code
    except KeyboardInterrupt:
        return commands.INVALID
    except BrokenPipeError:   # `perfcfg check | head`: the reader left; not perfcfg's fault
        _silence_stdout()
        return commands.INVALID
    except OSError as exc:    # the filesystem said no: `> /dev/full`, a permission, a full disk
        if debug:
            raise
        if exc.filename is None:   # writing standard output failed
            sys.stderr.write(f"perfcfg: cannot write the output: {exc.strerror or exc}\n")
            _silence_stdout()
        else:
            sys.stderr.write(f"perfcfg: {exc.filename}: {exc.strerror or exc}\n")
        return commands.INVALID
    except Exception as exc:  # an internal error: say so, never dump a trace unless asked
        if debug:
            raise
        # An exception's text may quote a value: it passes the secret scrubber too.
        from perfcfg.core.redact import scrub_known

        sys.stderr.write(scrub_known(f"perfcfg: internal error: {type(exc).__name__}: {exc}\n"
                                     f"perfcfg: {BUG_REPORT}\n"))
        return commands.INVALID


def _silence_stdout() -> None:
    # As the Python docs advise for a broken pipe: point stdout at devnull so that the flush at
    # exit cannot fail a second time.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _given(o: Opt, value: Any) -> bool:
    return value not in (None, False, (), []) and value != o.default


def _conflict(command: Command, values: dict[str, Any]) -> str | None:
    """The first pair of options given together that cannot be, or an option given without
    the one it needs: perfcfg would otherwise ignore one of them without a word."""
    opts = {o.dest: o for o in command.options}

    def flag(dest: str) -> str:
        return opts[dest].flags[0]

    given = {d for d, o in opts.items() if _given(o, values.get(d))}
    for a, b, why in command.conflicts:
        if {a, b} <= given:
            return f"{flag(a)} and {flag(b)} cannot be given together: {why}"
    for a, b, why in command.needs:
        if a in given and b not in given:
            return f"{flag(a)} needs {flag(b)}: {why}"
    return None


def _run(command: Command, values: dict[str, Any]) -> int:
    conflict = _conflict(command, values)
    if conflict is not None:
        sys.stderr.write(f"perfcfg {command.name}: {conflict}\n"
                         f"Try 'perfcfg {command.name} --help' for help.\n")
        return commands.USAGE
    if "project" in values and values["project"] is None:
        values["project"] = commands.find_project(Path.cwd())
    for o in command.options:
        if o.names_env and not values.get(o.dest):
            return _missing_env(command, values)
    return _guard(lambda: command.run(_io(values["quiet"]), values), values["debug"])


def _missing_env(command: Command, values: dict[str, Any]) -> int:
    """A command run without --env: say which environments perfcfg.yaml offers (exit 2)."""
    from perfcfg.stages import project as projects
    from perfcfg.stages.layers import Sources

    names: list[str] = []
    try:
        proj, _ = projects.load_project(values.get("project") or Path("."), Sources())
        names = list(proj.file.environments) if proj is not None else []
    except Exception:   # an unreadable project is reported by the command, once --env is given
        names = []
    where = f"{values.get('project') or Path('.')}/perfcfg.yaml"
    offer = (f": {where} has {', '.join(names)} (e.g. --env {names[0]})"
             if names else f": no environment could be read from {where}")
    sys.stderr.write(f"perfcfg {command.name}: --env is required{offer}\n"
                     f"Try 'perfcfg {command.name} --help' for help.\n")
    return 2


def _options(command: Command) -> tuple[Opt, ...]:
    return (*command.options, *GLOBAL)


def _examples(command: Command, keep_lines: str = "") -> str:
    return f"Examples:\n\n{keep_lines}" + "\n".join(f"  {e}" for e in command.examples)


# --- shell completion ----------------------------------------------------------------------

def complete(what: str, params: dict[str, Any], incomplete: str) -> list[str]:
    """What the shell offers for a value: the project's environments, or the setting paths of
    the environment named so far (explain's paths; ``PATH=`` for --set). Never an error: a
    project that does not load offers nothing."""
    from perfcfg.stages import project as projects
    from perfcfg.stages.layers import Sources

    project = params.get("project") or commands.find_project(Path.cwd())
    try:
        proj, _ = projects.load_project(Path(project), Sources())
        if proj is None:
            return []
        envs = sorted(proj.file.environments)
        if what == "env":
            return [e for e in envs if e.startswith(incomplete)]
        env = params.get("env") or next(iter(params.get("envs") or ()), None) or envs[0]
        from perfcfg.cli import explain as explainer
        from perfcfg.stages import pipeline

        result = pipeline.compile_env(pipeline.Request(Path(project), env, render=False,
                                                       secrets_mode="placeholder"))
        if result.plan is None:
            return []
        paths = [p for p in explainer.paths(result) if p.startswith(incomplete)]
    except Exception:   # completion must never print a traceback into the shell
        return []
    return [f"{p}=" for p in paths] if what == "set" else paths


# --- the hook path: argparse --------------------------------------------------------------

def _argparse(command: Command) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog=f"perfcfg {command.name}", description=command.help, epilog=_examples(command),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    for o in _options(command):
        kwargs: dict[str, Any] = {"help": o.help}
        if o.kind == "flag":
            kwargs["action"] = "store_true"
        else:
            kwargs.update(metavar=o.metavar, default=o.default)
            if o.choices:
                kwargs["choices"] = o.choices
            if o.kind == "many":
                kwargs.update(action="append", default=[])
            if o.kind in ("path", "int"):
                kwargs["type"] = Path if o.kind == "path" else int
        if o.flags:
            parser.add_argument(*o.flags, dest=o.dest, required=o.parser_required, **kwargs)
        else:
            parser.add_argument(o.dest, **kwargs)
    return parser


def _hook(command: Command, argv: list[str]) -> int:
    try:
        values = vars(_argparse(command).parse_args(argv))
    except SystemExit as exc:   # argparse's usage errors exit 2, like click's
        return int(exc.code or 0)
    return _run(command, values)


# --- everything else: the Typer app --------------------------------------------------------

def _typer_app() -> typer.Typer:
    import inspect
    from typing import Literal, Optional

    import typer

    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                      context_settings={"help_option_names": ["--help", "-h"]},
                      epilog="--debug, --quiet and --project may be given before or after the "
                             "command's name. Shell completion: perfcfg --install-completion "
                             "(bash, zsh, fish), then start a new shell.")

    def param(o: Opt) -> inspect.Parameter:
        if o.choices:
            annotation: Any = Literal[o.choices]   # typer checks it and shows text|json
        else:
            annotation = {"text": str, "path": Path, "flag": bool, "many": list[str],
                          "int": int}[o.kind]
        if not o.parser_required and o.kind != "flag" and o.default is None:
            annotation = Optional[annotation]  # noqa: UP045 (typer inspects it at run time)
        default = ... if o.parser_required else \
            (list(o.default or ()) if o.kind == "many" else o.default)
        shown = o.help + (" [required]" if o.names_env else "")
        common: dict[str, Any] = {"help": shown, "min": o.minimum} if o.kind == "int" else \
            {"help": shown}
        if o.complete is not None:
            what = o.complete
            common["autocompletion"] = lambda ctx, incomplete: complete(
                what, dict(ctx.params), incomplete)
        if o.flags:
            # A flag shows no type; an option shows its metavar (DIR, ENV), not <path>/<str>.
            info = typer.Option(default, *o.flags, metavar="" if o.kind == "flag" else o.metavar,
                                show_default=o.kind != "flag" and o.default not in (None, ()),
                                **common)
        else:
            info = typer.Argument(default, metavar=o.metavar, **common)
        return inspect.Parameter(o.dest, inspect.Parameter.KEYWORD_ONLY, default=info,
                                 annotation=annotation)

    def add(command: Command) -> None:
        def run(**values: Any) -> None:
            code = _run(command, values)
            if code:
                raise typer.Exit(code)

        params = [param(o) for o in _options(command)]
        # typer reads the options off inspect.signature(), which honours __signature__; a
        # function's type does not declare the attribute.
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        run.__doc__ = command.help
        # "\b" keeps click from re-wrapping the examples into one paragraph.
        app.command(command.name, epilog=_examples(command, "\b\n"))(run)

    def version(value: bool) -> None:
        if value:
            typer.echo(f"perfcfg {__version__}")
            raise typer.Exit()

    def group(**values: Any) -> None:
        """Compile YAML presets into tuned configs for PostgreSQL, pgbouncer, Redis and
        supervisord."""

    # The movable options are listed here for --help; main() hands them to the command.
    params = [inspect.Parameter("show_version", inspect.Parameter.KEYWORD_ONLY,
                                annotation=bool, default=typer.Option(
                                    False, "--version", callback=version, is_eager=True,
                                    metavar="", help="Print perfcfg's version and exit.")),
              *(param(o) for o in (*GLOBAL, PROJECT))]
    group.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # as run's
    group.__annotations__ = {p.name: p.annotation for p in params}
    app.callback()(group)

    for command in COMMANDS:
        add(command)
    return app


def _move_global_options(argv: list[str]) -> list[str]:
    """``perfcfg --debug --project x validate …`` → ``perfcfg validate --debug --project x …``:
    each command declares the global options, so one parser sees them wherever they were."""
    moved: list[str] = []
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        flag = argv[i].split("=", 1)[0]
        if flag not in _MOVABLE:
            break
        take = 1 if "=" in argv[i] else 1 + _MOVABLE[flag]
        moved += argv[i:i + take]
        i += take
    if not moved or i >= len(argv):
        return argv
    return [argv[i], *moved, *argv[i + 1:]]


def main(argv: list[str] | None = None) -> int:
    # perfcfg uses no pydantic plugins; where pydantic is imported at all (`perfcfg schema`, or a
    # pydantic-core that refuses a schema of perfcfg.model), looking them up would scan every
    # installed distribution's entry points.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    argv = _move_global_options(list(sys.argv[1:] if argv is None else argv))
    command = BY_NAME.get(argv[0]) if argv else None
    if command is not None and command.hook and not {"--help", "-h"} & set(argv):
        return _hook(command, argv[1:])
    try:
        # Standalone: typer shows its own usage errors (exit 2); a command exits with its code.
        _typer_app()(args=argv, prog_name="perfcfg")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return commands.OK
