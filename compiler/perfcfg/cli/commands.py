"""What each CLI command does, as functions returning an exit code.

The CLI modules parse arguments and hand over an ``Io`` (streams, environment, colour); these
functions run the pipeline and report. Exit codes: 0 ok, 1 invalid input, 2 usage, 3 stale.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from perfcfg.core.diagnostics import Diagnostic, finalize, has_errors

if TYPE_CHECKING:
    from contextlib import ExitStack

    from perfcfg import model
    from perfcfg.cli.reporters import Redact
    from perfcfg.host.apply import Step
    from perfcfg.stages.pipeline import Request, Result
    from perfcfg.stages.project import Project
    from perfcfg.stages.write import Change
    from perfcfg.verify.monitoring import Proof
    from perfcfg.verify.run import Report

OK, INVALID, USAGE, STALE = 0, 1, 2, 3


@dataclass
class Io:
    out: TextIO
    err: TextIO
    environ: Mapping[str, str] = field(default_factory=dict)
    color: bool = False
    quiet: bool = False        # --quiet: diagnostics and results only, no summary line
    progress: bool = False     # progress lines on err (a terminal, and not --quiet)

    def say(self, line: str) -> None:
        """A summary line on err (what was done), unless --quiet."""
        if not self.quiet:
            self.err.write(f"perfcfg: {line}\n")

    def step(self, line: str) -> None:
        """A progress line on err, only on a terminal and without --quiet."""
        if self.progress:
            self.err.write(f"perfcfg: {line}\n")
            self.err.flush()


def report(io: Io, diagnostics: list[Diagnostic], fmt: str, sources: Mapping[str, str],
           project: Path = Path(".")) -> None:
    from perfcfg.cli import reporters
    from perfcfg.core.redact import line_redactor

    if io.quiet and fmt == "text":
        # An info is an accepted caveat (a waived warning) or a note: --quiet keeps it out of
        # the terminal; json, github and sarif still carry it.
        diagnostics = [d for d in diagnostics if d.severity != "info"]
    if not diagnostics and fmt == "text":
        return

    stream = io.out if fmt != "text" else io.err
    # Spans name project files as the project sees them; a person reads (and a terminal or
    # an editor opens) them from where perfcfg runs, GitHub and code scanning from the
    # repository's root. json keeps the project's names (docs/reporters.md).
    # (outside a repository: from where perfcfg runs, a CI job's checkout root)
    root = (repository_root(project) or Path.cwd().resolve()) if fmt in ("github", "sarif") \
        else None
    names = {"text": lambda f: relative(project / f),
             "github": lambda f: _from(root, project / f),
             "sarif": lambda f: _from(root, project / f)}.get(fmt)
    redact = line_redactor(sources)
    if names is not None:
        moved = moved_names(diagnostics, sources, names)
        diagnostics = [reporters.renamed(d, moved) for d in diagnostics]
        sources = {moved.get(name, name): text for name, text in sources.items()}
        redact = _renamed_redactor(redact, {v: k for k, v in moved.items()})
    root_uri = (root.as_uri().rstrip("/") + "/") if root is not None and fmt == "sarif" else None
    # Code frames quote source lines: a `password:` line next to a mistake must not show it.
    stream.write(reporters.render(diagnostics, fmt, sources, io.color, redact=redact,
                                  root_uri=root_uri))


def moved_names(diagnostics: list[Diagnostic], sources: Mapping[str, str],
                names: Callable[[str], str]) -> dict[str, str]:
    """Each project file a report names (by its span or in its text) → as ``names`` shows it."""
    from perfcfg.cli.reporters import in_project

    # the files read, the files spans point at, and those messages name
    files = {*sources, *(s.file for d in diagnostics for s in
                         (d.span, *(r.span for r in d.related)) if s is not None),
             *(f for d in diagnostics for f in d.files)}
    return {f: names(f) for f in files
            if in_project(f) and not f.startswith(("/", "../")) and names(f) != f}


def _renamed_redactor(redact: Redact, back: dict[str, str]) -> Redact:
    return lambda file, line: redact(back.get(file, file), line)


def _from(root: Path | None, path: Path) -> str:
    import os

    assert root is not None
    return os.path.relpath(path.resolve(), root).replace(os.sep, "/")


def repository_root(start: Path) -> Path | None:
    """The repository that holds ``start``, found as git finds it: the nearest folder upwards
    with a ``.git`` (a directory, or the file of a worktree or submodule)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def find_project(start: Path) -> Path:
    """The project perfcfg runs on without ``--project``: the nearest folder upwards from
    ``start`` holding perfcfg.yaml (as git, pre-commit and ruff find their own files), as a
    path from ``start``; ``start`` itself when there is none (the error then says so)."""
    import os

    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "perfcfg.yaml").is_file():
            return Path(os.path.relpath(folder, here))
    return Path(".")


def validate(io: Io, project: Path, envs: list[str], fmt: str, sets: tuple[str, ...] = ()) -> int:
    from perfcfg.stages import pipeline
    from perfcfg.stages import project as projects
    from perfcfg.stages.layers import Sources

    sources = Sources()
    proj, diags = projects.load_project(project, sources)
    names = envs or (sorted(proj.file.environments) if proj else [])
    found: dict[str, list[Diagnostic]] = {}
    skipped: dict[str, list[str]] = {}
    for env in names if proj else []:
        # Secrets are resolved at build time only: a pre-commit hook or CI lint job does not
        # hold production passwords, and must not need them to say a preset is valid.
        request = pipeline.Request(project, env, secrets_mode="placeholder", render=False,
                                   environ=io.environ, sets=sets)
        result = pipeline.compile_env(request, sources)
        found[env], skipped[env] = result.diagnostics, result.skipped
    diags = finalize(diags + _naming_environments(found))
    report(io, diags, fmt, sources.shown(), project)
    if fmt == "text":
        say_skipped(io, skipped)
    if fmt == "text" and not has_errors(diags):
        io.say(f"{len(names)} environment(s) valid: {', '.join(names)}")
    return INVALID if has_errors(diags) else OK


def say_skipped(io: Io, skipped: Mapping[str, list[str]]) -> None:
    """Which checks did not run, per environment, so that fixing the errors shown is not
    mistaken for the end of them."""
    by_reason: dict[str, list[str]] = {}
    for env, reasons in skipped.items():
        for reason in reasons:
            by_reason.setdefault(reason, []).append(env)
    for reason, envs in by_reason.items():
        io.say(f"{', '.join(envs)}: not checked yet: {reason}; they run once the errors "
               "above are fixed")


def _naming_environments(found: dict[str, list[Diagnostic]]) -> list[Diagnostic]:
    """Every environment's diagnostics; one that not every environment has says which have it
    (two environments on different hosts can fail the same line with different numbers)."""
    where: dict[Diagnostic, list[str]] = {}
    for env, diagnostics in found.items():
        for diag in diagnostics:
            where.setdefault(diag, []).append(env)
    return [diag if len(envs) == len(found) else dataclasses.replace(
                diag, message=f"{diag.message} (environment{'s' if len(envs) > 1 else ''} "
                              f"{', '.join(sorted(set(envs)))})")
            for diag, envs in where.items()]


def build(io: Io, req: Request, out: Path | None, check: bool, fmt: str,
          against: Path | None = None, prune: bool = False) -> int:
    from perfcfg.stages import pipeline
    from perfcfg.stages.render import SECRET_FILES

    result = pipeline.compile_env(req)
    if not result.ok:
        report(io, result.diagnostics, fmt, result.sources.shown(), req.project_dir)
        if fmt == "text":
            say_skipped(io, {req.env: result.skipped})
        return INVALID
    out_dir = out or result.output_dir
    assert out_dir is not None
    shown = relative(out_dir)
    held = inputs_in(out_dir, result)
    if held and not check:
        # the build would put its files among the presets (and --prune could remove them)
        io.err.write(f"perfcfg build: {'--out ' if out else 'the output directory '}{shown} "
                     f"holds the project's {held}: write the files into a folder of their own, "
                     "e.g. --out /tmp/try\n")
        return USAGE if out else INVALID
    # What deploying this build needs, against what is there now (or what is deployed).
    judged = _actions(io, against or out_dir, result)
    if judged is None:
        return INVALID
    found, differs = judged
    if check:
        changes = _stale(io, out_dir, result.files)
        if changes is None:
            return INVALID
        if fmt == "json":
            io.out.write(json.dumps({**_stale_json(req.env, shown, changes), "actions": found},
                                    indent=2) + "\n")
        else:
            report(io, result.diagnostics, fmt, result.sources.shown(), req.project_dir)
            _report_stale(io, shown, changes, build_command(
                req.env, req.project_dir, out, req.host_file, req.sets, req.secrets_mode,
                req.host is not None), previous_files(out_dir), result)
            if not changes:
                io.say(f"{req.env}: {len(result.files)} file(s) in {shown}/ up to date")
            _say_actions(io, req.env, found, "deploying this build would need", differs)
        return STALE if changes else OK
    previous = previous_files(out_dir)
    _say_replaced_edits(io, out_dir, result)
    written = write_files(io, out_dir, result.files, result.secret_files or SECRET_FILES)
    if written is None:
        return INVALID
    removed: list[str] = []
    if prune:
        from perfcfg.stages import write as artifacts

        try:
            removed = artifacts.prune(out_dir, previous, result.files)
        except artifacts.WriteError as exc:
            io.err.write(f"perfcfg: {exc}\n")
            return INVALID
        for name in removed:
            io.say(f"{req.env}: removed {shown}/{name} (an earlier build wrote it; this one "
                   "does not)")
    if fmt == "json":
        io.out.write(json.dumps({"env": req.env, "output": shown, "written": written,
                                 "removed": removed,
                                 "files": sorted(result.files), "actions": found,
                                 "diagnostics": len(result.diagnostics)}, indent=2) + "\n")
    else:
        report(io, result.diagnostics, fmt, result.sources.shown(), req.project_dir)
        io.say(f"{req.env}: {len(written)} file(s) written, "
               f"{len(result.files) - len(written)} unchanged in {shown}/")
        _say_actions(io, req.env, found, "to deploy", differs)
    return OK


def _say_replaced_edits(io: Io, out_dir: Path, result: Result) -> None:
    """A build replaces a file edited by hand since the last build: say so, and where each
    edited value belongs, before the edit is gone."""
    from perfcfg.stages import write as artifacts

    manifest = read_manifest(out_dir)
    if not manifest or not out_dir.is_dir():
        return
    try:
        changes = [c for c in artifacts.compare(out_dir, result.files) if c.status == "changed"]
    except artifacts.WriteError:
        return      # write_files reports what is wrong with the directory
    shown = relative(out_dir)
    for change in changes:
        if edited_by_hand(change, manifest):
            # even with --quiet: the edit is about to be lost
            io.err.write(f"perfcfg: {result.env}: replacing {shown}/{change.name}, which was "
                         "edited by hand since the last build\n")
            for line in hand_edit_advice(change, result, shown):
                io.err.write(f"perfcfg: {line}\n")


def previous_files(out_dir: Path) -> list[str]:
    """The files the last build wrote into ``out_dir``, from its manifest.json (none when
    there is no readable manifest)."""
    try:
        doc = json.loads((out_dir / "manifest.json").read_text("utf-8"))
        return [*doc["files"], "manifest.json"] if isinstance(doc.get("files"), dict) else []
    except (OSError, ValueError, AttributeError, KeyError):
        return []


def _actions(io: Io, old_dir: Path, result: Result
             ) -> tuple[dict[str, dict[str, str | list[str]]], bool] | None:
    """Per daemon: restart, reload or none, and why (JSON-ready), and whether any daemon's
    file differs from the one in ``old_dir``; None when ``old_dir`` cannot be read."""
    from perfcfg.stages import actions
    from perfcfg.stages import write as artifacts

    assert result.config is not None   # a result with files has its config
    try:
        old = {c.name: c.old for c in artifacts.compare(old_dir, result.files)
               if c.status in ("changed", "unchanged")} if old_dir.exists() else {}
    except artifacts.WriteError as exc:
        io.err.write(f"perfcfg: {exc}\n")
        return None
    found = actions.as_json(actions.actions(old, result.files, result.config.targets))
    return found, any(old.get(n) != d for n, d in result.files.items() if n != "manifest.json")


def _say_actions(io: Io, env: str, found: Mapping[str, Mapping[str, Any]], what: str,
                 changed: bool) -> None:
    from perfcfg.stages import actions

    for line in actions.as_lines(env, actions.from_json(found), changed):
        io.say(f"{what}: {line}")


def check(io: Io, project: Path, envs: list[str], fmt: str) -> int:
    """``build --check`` for every environment (or the named ones): the second hook."""
    from perfcfg.stages import pipeline
    from perfcfg.stages import project as projects
    from perfcfg.stages.layers import Sources

    sources = Sources()
    proj, diags = projects.load_project(project, sources)
    names = envs or (sorted(proj.file.environments) if proj else [])
    # Fresh sources per environment, as `build` has: the input hash of each file header covers
    # exactly the files of its own environment.
    results = []
    for i, env in enumerate(names if proj else [], 1):
        if len(names) > 1:
            io.step(f"{env}: compiling and comparing ({i}/{len(names)})")
        results.append(pipeline.compile_env(pipeline.Request(project, env, environ=io.environ)))
    for result in results:
        sources.shown_only.update(result.sources.shown())
    diags = finalize([*diags, *(d for r in results for d in r.diagnostics)])
    if has_errors(diags):
        report(io, diags, fmt, sources.shown(), project)
        if fmt == "text":
            say_skipped(io, {r.env: r.skipped for r in results})
        return INVALID
    compared = [(r.env, relative(r.output_dir), _stale(io, r.output_dir, r.files))
                for r in results if r.output_dir is not None]
    stale = [(env, shown, changes) for env, shown, changes in compared if changes is not None]
    if len(stale) < len(compared):
        return INVALID
    judged = {r.env: _actions(io, r.output_dir, r) for r in results if r.output_dir is not None}
    if any(a is None for a in judged.values()):
        return INVALID
    orphans = orphaned(project, proj) if proj is not None and not envs else []
    found = {env: j[0] for env, j in judged.items() if j is not None}
    if fmt == "json":
        io.out.write(json.dumps({"environments": [{**_stale_json(*s), "actions": found[s[0]]}
                                                  for s in stale],
                                 "orphaned": [{"env": e, "output": relative(d)}
                                              for e, d in orphans]}, indent=2) + "\n")
    else:
        report(io, diags, fmt, sources.shown(), project)
        for env, shown, changes in stale:
            _report_stale(io, shown, changes, build_command(env, project),
                          previous_files(Path(shown)),
                          next(r for r in results if r.env == env))
            _say_actions(io, env, found[env], "deploying the rebuilt files would need",
                         bool(changes))
        import shlex

        for env, folder in orphans:
            io.err.write(f"perfcfg: {relative(folder)}/ holds a build of environment {env!r}, "
                         "which perfcfg.yaml no longer has (its files are still deployable); "
                         f"run: rm -r -- {shlex.quote(relative(folder))}\n")
        if not any(changes for _, _, changes in stale) and not orphans:
            io.say(f"{len(names)} environment(s) up to date: {', '.join(names)}")
    return STALE if any(changes for _, _, changes in stale) or orphans else OK


def orphaned(project: Path, proj: Project) -> list[tuple[str, Path]]:
    """Output directories of environments perfcfg.yaml no longer has: a folder where an
    output pattern (``generated/{env}``) puts a build, holding a manifest.json of an
    environment that is not in the project."""
    patterns = {e.output or proj.file.output for e in proj.file.environments.values()}
    out = []
    for pattern in sorted(p for p in patterns if "{env}" in p):
        for folder in sorted(project.glob(pattern.replace("{env}", "*"))):
            env = read_manifest(folder).get("environment")
            if isinstance(env, str) and env not in proj.file.environments and \
                    folder == project / pattern.replace("{env}", env):
                out.append((env, folder))
    return out


def write_files(io: Io, out_dir: Path, files: dict[str, bytes],
                secret: frozenset[str]) -> list[str] | None:
    """Write into ``out_dir``; a directory that cannot be written is the user's to fix: one
    line saying where and why, and None."""
    from perfcfg.stages import write as artifacts

    shown = relative(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        io.err.write(f"perfcfg: cannot write into {shown}: it is a file, not a directory\n")
        return None
    try:
        return artifacts.write(out_dir, files, secret)
    except artifacts.WriteError as exc:     # a fault of the directory: one line
        io.err.write(f"perfcfg: {exc}\n")
        return None
    except OSError as exc:
        where = relative(Path(exc.filename)) if exc.filename else shown
        io.err.write(f"perfcfg: cannot write into {shown}: "
                     f"{'' if where == shown else where + ': '}{exc.strerror or exc}\n")
        return None


def _stale(io: Io, out_dir: Path, files: dict[str, bytes]) -> list[Change] | None:
    """What differs in ``out_dir``; None (and one line) when it cannot be compared."""
    from perfcfg.stages import write as artifacts

    try:
        return [c for c in artifacts.compare(out_dir, files) if c.status != "unchanged"]
    except artifacts.WriteError as exc:
        io.err.write(f"perfcfg: {exc}\n")
        return None


def _stale_json(env: str, shown: str, changes: list[Change]) -> dict[str, object]:
    return {"env": env, "output": shown,
            "stale": [{"file": c.name, "status": c.status} for c in changes]}


def _report_stale(io: Io, shown: str, changes: list[Change], rebuild: str,
                  previous: list[str], result: Result) -> None:
    """The diff, one line per file, and the commands that fix it, runnable from here."""
    import shlex

    for change in changes:
        io.out.write(change.diff(Path(shown)))
    for change in changes:
        note = " (perfcfg does not write it)" if change.status == "extra" else ""
        io.err.write(f"perfcfg: {shown}/{change.name}: {change.status}{note}\n")
    stale = [c for c in changes if c.status != "extra"]
    ours = [c for c in changes if c.status == "extra" and c.name in previous]
    extra = [c for c in changes if c.status == "extra" and c.name not in previous]
    manifest = read_manifest(Path(shown))
    inputs_changed = manifest.get("inputs_sha256") not in (None, result.input_hash)
    for change in stale:
        if not edited_by_hand(change, manifest):
            continue
        io.err.write(f"perfcfg: {shown}/{change.name} was edited by hand since the last build "
                     "(it differs from what manifest.json records)"
                     + ("; the presets changed since too" if inputs_changed else "") + "\n")
        for line in hand_edit_advice(change, result, shown):
            io.err.write(f"perfcfg: {line}\n")
    if stale:
        why = "the presets or the host profile changed since the last build; " \
            if inputs_changed else ""
        io.err.write(f"perfcfg: {len(stale)} file(s) out of date; {why}run: {rebuild}\n")
    if ours:
        io.err.write(f"perfcfg: {len(ours)} file(s) an earlier build wrote and this one does "
                     f"not; run: {rebuild} --prune\n")
    if extra:
        paths = " ".join(shlex.quote(f"{shown}/{c.name}") for c in extra)
        io.err.write(f"perfcfg: {len(extra)} file(s) in the output directory that perfcfg does "
                     f"not write; move them elsewhere or delete them; run: rm -- {paths}\n")


def inputs_in(out_dir: Path, result: Result) -> str | None:
    """The first input of the build (perfcfg.yaml, a preset, a host profile) in the folder
    ``out_dir``, as shown from here; None when it holds none."""
    from perfcfg.cli.reporters import in_project

    target = out_dir.resolve()
    for name in sorted(result.sources.texts):
        if in_project(name) and (result.project_dir / name).resolve().parent == target:
            return relative(result.project_dir / name)
    return None


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The last build's manifest.json in ``out_dir`` ({} when there is none to read)."""
    try:
        doc = json.loads((out_dir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def edited_by_hand(change: Change, manifest: Mapping[str, Any]) -> bool:
    """Whether the file on disk is not what the last build wrote: its SHA-256 differs from
    the one the manifest records (a file the presets made stale still has it)."""
    import hashlib

    entry = manifest.get("files", {}).get(change.name) if isinstance(
        manifest.get("files"), dict) else None
    if change.old is None or not isinstance(entry, dict) or "sha256" not in entry:
        return False
    return bool(hashlib.sha256(change.old).hexdigest() != entry["sha256"])


def hand_edit_advice(change: Change, result: Result, shown: str) -> list[str]:
    """Per hand-edited line, where its value belongs: a value the preset writes is changed
    there; one perfcfg tunes or derives is put back by the next build (pinning it in a preset
    would turn its tuning off, so explain says what it follows); only a value perfcfg leaves
    to the daemon is one to write in the preset."""
    from perfcfg.cli.reporters import in_project

    out: list[str] = []
    env = result.env
    for key, value in _hand_edits(change, result):
        name = key.split(".", 1)[1]
        setting = result.plan.settings.get(key) if result.plan is not None else None
        said = f"{shown}/{change.name} says {name} = {value}"
        if setting is None:
            out.append(f"{said}, which perfcfg leaves to the daemon: to keep it, write "
                       f"{key}: {value} in the environment's preset, then rebuild")
        elif setting.origin.kind == "builtin":
            out.append(f"{said}; perfcfg's built-in preset writes it "
                       f"({setting.origin.label()}): to keep it, write {key}: {value} in the "
                       "environment's preset, then rebuild")
        elif setting.origin.span is not None:
            span = setting.origin.span
            where = relative(result.project_dir / span.file) if in_project(span.file) \
                else span.file
            out.append(f"{said}; it comes from {where}:{span.line}:{span.column}: change it "
                       "there, then rebuild")
        elif setting.origin.kind in ("tuned", "derived"):
            out.append(f"{said}; perfcfg {setting.origin.kind} it, and the next build writes "
                       f"it again: to move it, change what it follows (perfcfg explain "
                       f"--env {env} {key})")
        else:
            out.append(f"{said}; it comes from {setting.origin.label()}")
    return out


def _hand_edits(change: Change, result: Result | None) -> list[tuple[str, str]]:
    """``(setting path, value)`` for each ``name = value`` (or ``name value``) line the file
    on disk has and the build does not: a hand edit, and the preset key that would carry it."""
    from perfcfg.services import registry

    if result is None or result.config is None or change.old is None or change.new is None:
        return []
    owner = next((s for s in registry.SERVICES for o in s.outputs
                  if change.name in (o.name, *o.also)), None)
    if owner is None:
        return []
    new_lines = set(change.new.decode("utf-8", "replace").splitlines())
    out = []
    for line in change.old.decode("utf-8", "replace").splitlines():
        text = line.strip()
        if not text or text in new_lines or text.startswith(("#", ";", "[", "--")):
            continue
        name, sep, value = text.partition(" = ") if " = " in text else text.partition(" ")
        if sep and owner.param(result.config.targets, name.strip()) is not None:
            out.append((f"{owner.name}.{name.strip()}", value.strip()))
    return out


def build_command(env: str, project: Path, out: Path | None = None, host: Path | None = None,
                  sets: tuple[str, ...] = (), secrets: str | None = None,
                  detect: bool = False) -> str:
    """The ``perfcfg build`` command line that rebuilds ``env``, as typed from here."""
    import shlex

    words = ["perfcfg", "build", "--env", env]
    if relative(project) != ".":
        words += ["--project", relative(project)]
    for flag, path in (("--host", host), ("--out", out)):
        if path is not None:
            words += [flag, relative(path)]
    if detect:
        words.append("--detect")
    for item in sets:
        words += ["--set", item]
    if secrets:
        words += ["--secrets", secrets]
    return " ".join(shlex.quote(w) for w in words)


def relative(path: Path) -> str:
    """``path`` as seen from the current directory, the way a user would type it."""
    import os

    cwd = Path.cwd()
    if path.is_absolute() and not path.is_relative_to(cwd):
        return str(path)      # /tmp/out stays /tmp/out, not ../../tmp/out
    try:
        return os.path.relpath(path, cwd).replace(os.sep, "/")
    except ValueError:
        return str(path)


def explain(io: Io, req: Request, path: str, fmt: str) -> int:
    from perfcfg.cli import explain as explainer
    from perfcfg.stages import pipeline

    req.render = False
    result = pipeline.compile_env(req)
    if result.plan is None:
        report(io, result.diagnostics, "text" if fmt == "text" else "json",
               result.sources.shown(), req.project_dir)
        return INVALID
    found = explainer.explain(result, path)
    if found is None:
        from perfcfg.stages.validate import did_you_mean

        hint = did_you_mean(path, explainer.paths(result)) or \
            "setting paths look like postgres.shared_buffers"
        io.err.write(f"perfcfg: {path} is not a setting of environment {req.env!r}; {hint}\n")
        return INVALID
    from perfcfg.cli.reporters import in_project

    io.out.write(json.dumps(found, indent=2, sort_keys=True) + "\n" if fmt == "json"
                 else explainer.as_text(found, lambda f: relative(req.project_dir / f)
                                         if in_project(f) else f))
    return OK


def verify(io: Io, req: Request, fmt: str = "text", live: bool = False,
           targets: Mapping[str, str | None] | None = None, monitoring: bool = False) -> int:
    """Compile like build (writing nothing), boot the installed daemons, compare; 1 on any
    difference, on a daemon that refused its file, or when no daemon could be started.
    ``live``: compare the running daemons at ``targets`` (or the environment variables)
    instead of booting throwaway ones. ``monitoring``: also prove the monitoring files on the
    booted daemons (their exporters, a real Prometheus, the drills); 1 when that fails."""
    import importlib.util

    from perfcfg.services import registry

    clients = dict.fromkeys(m for s in registry.SERVICES if s.verifier for m in s.verifier.clients)
    lacking = [m for m in clients if importlib.util.find_spec(m) is None]
    if lacking:
        io.err.write(f"perfcfg: verify needs the Python packages {', '.join(lacking)}; install "
                     "them with: pip install 'perfcfg[verify]'\n")
        return INVALID
    from perfcfg.stages import pipeline
    from perfcfg.verify import run as verifier

    io.step(f"{req.env}: compiling")
    result = pipeline.compile_env(req)
    report(io, result.diagnostics, "text", result.sources.shown(), req.project_dir)
    if not result.ok:
        return INVALID
    if live and monitoring:
        io.err.write("perfcfg: verify --monitoring boots its own daemons; it cannot be "
                     "combined with --live\n")
        return USAGE
    if monitoring and result.plan is not None and result.plan.monitoring is None:
        io.err.write(f"perfcfg: {req.env} is not monitored: set monitoring: {{enabled: true}} "
                     "in its preset (staging and production are by default)\n")
        return USAGE
    proof: Proof | None = None
    if live:
        # each service: its option, else its environment variable
        given = targets or {}
        variables = verifier.live_variables()
        wanted = {s: t for s, v in variables.items() if (t := given.get(s) or io.environ.get(v))}
        if not wanted:
            io.err.write("perfcfg: verify --live needs at least one of --postgres DSN, "
                         "--pgbouncer DSN, --redis URL, --supervisor URL (or "
                         f"{' / '.join(variables.values())})\n")
            return USAGE
        found = verifier.verify_live(result, wanted)
    else:
        def prove(handles: dict[str, Any], stack: ExitStack, _report: Report) -> None:
            nonlocal proof
            from perfcfg.verify import monitoring as drills

            proof = drills.prove(result, handles, stack,
                                 progress=lambda line: io.step(f"{req.env}: {line}"))

        found = verifier.verify(result, progress=lambda line: io.step(f"{req.env}: {line}"),
                                then=prove if monitoring else None)
    code = INVALID if found.rows or not found.verified_anything else OK
    if proof is not None and not proof.ok:
        code = INVALID
    if fmt == "json":
        io.out.write(json.dumps({
            "env": req.env, "ok": code == OK, "checked": found.checked,
            "refused": found.refused, "missing": found.missing, "notes": found.notes,
            "compared": found.compared,
            "differences": [{"daemon": r.daemon, "setting": r.setting, "intended": r.intended,
                             "effective": r.effective} for r in found.rows],
            **({"monitoring": _proof_json(proof)} if proof is not None else {})},
            indent=2, sort_keys=True) + "\n")
        return code
    for daemon, binaries in sorted(found.missing.items()):
        io.err.write(f"perfcfg: {daemon} not verified: {', '.join(binaries)} not installed "
                     f"(.ci/install-daemons.sh installs every supported version; "
                     f"{verifier.bindir_hint(daemon)} points at binaries of your own)\n")
    for note in found.notes:
        io.err.write(f"perfcfg: note: {note}\n")
    if not found.verified_anything:
        io.err.write("perfcfg: nothing verified: none of the daemons is installed\n")
        return INVALID
    if found.rows:
        io.out.write(verifier.table(found.rows))
    if found.refused:
        io.err.write(f"perfcfg: {req.env}: {', '.join(found.refused)} "
                     + ("could not be reached\n" if live else "refused the compiled files\n"))
    if found.checked:
        how = "running now" if live else "started from the compiled files"
        io.say(f"{req.env}: {', '.join(found.checked)} {how}; "
               f"{found.compared} value(s) compared, {len(found.rows)} differ")
    if proof is not None:
        _report_proof(io, req.env, proof)
    return code


def _report_proof(io: Io, env: str, proof: Proof) -> None:
    from perfcfg.verify import monitoring as drills

    for line in [*proof.skipped]:
        io.err.write(f"perfcfg: monitoring: skipped {line}\n")
    for line in proof.errors:
        io.err.write(f"perfcfg: monitoring: {line}\n")
    down = [job for job, health in sorted(proof.targets.items()) if health != "up"]
    if down:
        io.err.write(f"perfcfg: monitoring: target(s) not up: {', '.join(down)}\n")
    if proof.at_rest:
        io.err.write(f"perfcfg: monitoring: alerts active at rest: {', '.join(proof.at_rest)}\n")
    if proof.drills:
        io.out.write(drills.table(proof))
    io.say(f"{env}: monitoring: {len(proof.targets)} target(s) up, no alert at rest, "
           f"{sum(d.ok for d in proof.drills)} of {len(proof.drills)} drill(s) fired exactly "
           "their alerts" if proof.ok else f"{env}: monitoring: the proof failed")


def _proof_json(proof: Proof) -> dict[str, Any]:
    return {"ok": proof.ok, "targets": proof.targets, "at_rest": proof.at_rest,
            "skipped": proof.skipped, "errors": proof.errors,
            "drills": [{"drill": d.name, "expected": list(d.expected), "fired": list(d.fired),
                        "ok": d.ok, "error": d.error, "alerts": list(d.alerts)}
                       for d in proof.drills]}
def apply(io: Io, req: Any, dry_run: bool = False) -> int:
    """``perfcfg apply``: install the environment's files on this host and bring its daemons
    to them, in order (host/apply.py); 1 when something is missing, a step fails or verify
    finds a difference."""
    import os

    from perfcfg.host import apply as applier
    from perfcfg.stages import pipeline
    from perfcfg.stages import project as projects
    from perfcfg.stages.layers import Sources
    from perfcfg.stages.secrets import SecretResolver

    if not dry_run and os.geteuid() != 0:
        io.err.write("perfcfg: apply installs files owned by the daemons' users and starts the "
                     "daemons as them: run it as root (--dry-run shows the steps as anyone)\n")
        return INVALID
    # A deploy writes the real secrets' hashes: placeholders only when asked for by name.
    req.secrets_mode = req.secrets_mode or "resolve"
    io.step(f"{req.env}: compiling")
    result = pipeline.compile_env(req)
    report(io, result.diagnostics, "text", result.sources.texts)
    if not result.ok:
        return INVALID
    proj, _ = projects.load_project(req.project_dir, Sources())
    assert proj is not None and result.config is not None
    resolver = SecretResolver(req.secrets_mode, io.environ, Path(req.project_dir),
                              tuple(Path(d) for d in proj.file.secrets.dirs))
    again = apply_command(req)
    applied = applier.plan_steps(result, proj.file.project, resolver.resolve)
    for note in applied.notes:
        io.err.write(f"perfcfg: note: {note}\n")
    if applied.missing:
        for line in applied.missing:
            io.err.write(f"perfcfg: {req.env}: missing: {line}\n")
        io.err.write(f"perfcfg: {req.env}: nothing changed; make what is missing, then run: "
                     f"{again}\n")
        return INVALID
    if dry_run:
        for i, step in enumerate(applied.steps, 1):
            io.out.write(f"{i}. {step.title}\n")
            for line in step.shown:
                io.out.write(f"     {line}\n")
        io.say(f"{req.env}: {len(applied.steps)} step(s) to do" if applied.steps else
               f"{req.env}: nothing to do")
        return OK
    if not applied.steps:
        io.say(f"{req.env}: nothing to do: every file is in place and every daemon runs it")
    else:
        applier.run_steps(applied, lambda line: io.say(f"{req.env}: {line}"))
    if applied.failed is not None:
        done = len(applied.done)
        io.err.write(f"perfcfg: {req.env}: step {done + 1} failed: {applied.failed.title}: "
                     f"{applied.error}\n")
        io.err.write(f"perfcfg: {req.env}: done before it: {_done(applied.done)}\n")
        for line in applied.failed.shown:
            io.err.write(f"perfcfg: {req.env}: the failed step by hand: {line}\n")
        io.err.write(f"perfcfg: {req.env}: fix what it says, then run: {again} (what is done "
                     "is not done again)\n")
        return INVALID
    return _apply_verify(io, req, result, applier, resolver.resolve)


def _done(steps: list[Step]) -> str:
    """The steps done, the directories and files counted: "7 directory(ies) made, 8 file(s)
    installed; postgres: restart (shared_buffers)"."""
    made = sum(s.title.startswith("make ") for s in steps)
    placed = sum(s.title.startswith("install ") for s in steps)
    rest = [s.title for s in steps if not s.title.startswith(("make ", "install "))]
    counted = [f"{made} directory(ies) made"] * bool(made) + \
        [f"{placed} file(s) installed"] * bool(placed)
    return "; ".join([", ".join(counted)] * bool(counted) + rest) or "nothing"


def _apply_verify(io: Io, req: Any, result: Any, applier: Any, resolve: Any) -> int:
    """verify --live of what now runs, as apply leaves it."""
    from perfcfg.verify import run as verifier

    rt = applier._runtime(result, resolve)
    for late in applier.wait_all_ready(rt):
        io.err.write(f"perfcfg: {req.env}: {late}\n")
    targets, users, notes = applier.live_targets(rt)
    for note in notes:
        io.err.write(f"perfcfg: note: {note}\n")
    found = verifier.verify_live(result, targets, as_user=users)
    for note in found.notes:
        io.err.write(f"perfcfg: note: {note}\n")
    if found.rows:
        io.out.write(verifier.table(found.rows))
    io.say(f"{req.env}: verify --live: {', '.join(found.checked) or 'nothing'} running; "
           f"{found.compared} value(s) compared, {len(found.rows)} differ")
    return INVALID if found.rows else OK


def apply_command(req: Any) -> str:
    """The ``perfcfg apply`` command line that runs this one again, as typed from here."""
    import shlex

    words = ["perfcfg", "apply", "--env", req.env]
    if relative(req.project_dir) != ".":
        words += ["--project", relative(req.project_dir)]
    if req.host_file is not None:
        words += ["--host", relative(req.host_file)]
    if getattr(req, "overlay", None) is not None:
        words += ["--overlay", relative(req.overlay)]
    for item in req.sets:
        words += ["--set", item]
    if req.secrets_mode == "placeholder":
        words += ["--secrets", "placeholder"]
    return " ".join(shlex.quote(w) for w in words)


def schema(io: Io, out: Path | None) -> int:
    from perfcfg.cli import schema as schemas

    documents = schemas.documents()
    if out is None:
        io.out.write(json.dumps(documents, indent=2, sort_keys=True) + "\n")
        return OK
    files = {name: (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
             for name, doc in documents.items()}
    written = write_files(io, out, files, frozenset())
    if written is None:
        return INVALID
    io.say(f"{len(written)} schema file(s) written to {out}" if written else
           f"{len(files)} schema file(s) in {out} already up to date; nothing written")
    return OK


def host(io: Io, fmt: str, req: Request | None = None, root: str = "/") -> int:
    """Print this machine as a host profile; with ``req`` (an environment), also its kernel
    settings and fd limit against what that environment's plan needs (1 when one falls
    short). ``root``: the filesystem to read (tests give a fake /proc tree)."""
    from perfcfg.host import detect as hostdetect

    detected = hostdetect.detect(root, use_psutil=root == "/")
    if req is None:
        io.out.write(hostdetect.to_json(detected) if fmt == "json"
                     else hostdetect.to_yaml(detected))
        return OK
    from perfcfg.host import limits as hostlimits
    from perfcfg.stages import pipeline

    result = pipeline.compile_env(req)
    if result.plan is None:
        report(io, result.diagnostics, "text" if fmt != "json" else "json",
               result.sources.shown(), req.project_dir)
        return INVALID
    limits = hostdetect.limits(hostlimits.keys(), root, hostlimits.pidfiles(result.plan),
                               hostlimits.sysfs_keys())
    rows, found = hostlimits.check(result.plan, limits)
    if fmt == "json":
        from perfcfg.cli import reporters

        doc = json.loads(hostdetect.to_json(detected))
        doc["limits"] = hostlimits.as_json(req.env, rows, limits)
        doc["diagnostics"] = json.loads(reporters.render_json(found))["diagnostics"]
        io.out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    else:
        io.out.write(hostdetect.to_yaml(detected) + hostlimits.as_text(req.env, rows, limits))
        report(io, found, "text", {}, req.project_dir)
    return INVALID if has_errors(found) else OK


def detected_profile() -> model.HostProfile:
    """This machine as a HostProfile (``build --detect``)."""
    from perfcfg import model
    from perfcfg.host import detect as hostdetect

    h = hostdetect.detect()
    return model.HostProfile(memory=h.memory, cpus=h.cpus, storage=h.storage,
                             open_files=max(h.open_files, 256), os=h.os,
                             locales=list(h.locales) if h.locales is not None else None,
                             **({"nr_open": h.nr_open} if h.nr_open else {}))


@dataclass(frozen=True)
class CalcHost:
    """The host and workload inputs ``perfcfg tune`` shares with a host profile."""

    os: str = "linux"
    wal_disk: int | None = None
    data_size: int | None = None


LINUX_HOST = CalcHost()


def tune(io: Io, daemon: str, memory: int, cpus: int, connections: int | None,
         version: str | None, options: Mapping[str, str], fmt: str,
         host: CalcHost = LINUX_HOST) -> int:
    from perfcfg.cli import calculator

    inp = calculator.CalcInput(daemon, memory, cpus, connections, version, dict(options),
                               os=host.os, wal_disk=host.wal_disk, data_size=host.data_size)
    try:
        calculator.validate(inp)
    except calculator.InputError as exc:
        io.err.write(f"perfcfg tune: {exc}\n")
        return USAGE
    if fmt == "json":
        io.out.write(json.dumps(calculator.calculate_data(inp), indent=2, sort_keys=True) + "\n")
    else:
        io.out.write(calculator.calculate_text(inp))
    errors = [f for f in calculator.findings(inp) if f.severity == "error"]
    for f in errors:
        io.err.write(f"perfcfg tune: error[{f.code}]: {f.message}\n"
                     + (f"  hint: {f.hint}\n" if f.hint else ""))
    return 1 if errors else OK


def _validates(files: Mapping[str, str], envs: list[str]) -> str:
    """The first error ``perfcfg validate`` would report on the scaffold, or "" (it is
    written to a scratch directory and validated there, every environment)."""
    import tempfile

    from perfcfg.stages import pipeline

    with tempfile.TemporaryDirectory(prefix="perfcfg-init-") as scratch:
        root = Path(scratch)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        for env in envs:
            result = pipeline.compile_env(pipeline.Request(root, env, render=False,
                                                           secrets_mode="placeholder"))
            errors = [d for d in result.diagnostics if d.severity == "error"]
            if errors:
                return f"{errors[0].code}: {errors[0].message}"
    return ""


def init(io: Io, directory: Path, name: str | None, envs: list[str], db_profile: str | None,
         ask: bool) -> int:
    """Write a new project into ``directory`` (never over an existing file), then say what to
    run next, as commands that work from here."""
    import shlex

    from perfcfg.cli import init as scaffolding
    from perfcfg.host import detect as hostdetect

    if (directory / "perfcfg.yaml").exists():
        io.err.write(f"perfcfg: {relative(directory / 'perfcfg.yaml')} already exists; "
                     "init starts a new project only\n")
        return INVALID
    # perfcfg.yaml's project: pattern; a folder called "my shop" gives "my-shop"
    default_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", directory.resolve().name).strip("-.")
    default_name = default_name if re.match(r"[A-Za-z_]", default_name) else "app"
    if ask:
        name = name or _ask(io, "Project name", default_name)
        if not envs:
            envs = _ask(io, "Environments (comma-separated)", "development,production").split(",")
        db_profile = db_profile or _ask(io, "Database workload (web, oltp, dw, mixed, desktop)",
                                        "web")
    envs = [e.strip() for e in envs if e.strip()] or ["development", "production"]
    twice = sorted({e for e in envs if envs.count(e) > 1})
    if twice:
        io.err.write(f"perfcfg: init: environment {twice[0]!r} is named twice; name each "
                     "environment once\n")
        return USAGE
    # the rule perfcfg.yaml's environments follow (model.rules.env_names), not a looser one
    bad = [e for e in envs if not re.fullmatch(r"[a-z][a-z0-9_-]*", e)]
    bad_name = name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}", name)
    if bad or bad_name or (db_profile or "web") not in ("web", "oltp", "dw", "mixed", "desktop"):
        what = f"environment name {bad[0]!r} (lower-case letters, digits, '-' or '_')" if bad \
            else \
            f"project name {name!r} (letters, digits, '_', '.', '-')" if bad_name else \
            f"workload {db_profile!r}"
        io.err.write(f"perfcfg: init: invalid {what}\n")
        return USAGE
    in_repo = _in_repository(directory)
    files = scaffolding.scaffold(name or default_name, envs, db_profile or "web",
                                 hostdetect.to_yaml(hostdetect.detect()), in_repo)
    taken = [path for path in files if (directory / path).exists()]
    if taken:
        io.err.write(f"perfcfg: init: {relative(directory / taken[0])} already exists; "
                     "nothing written\n")
        return INVALID
    refused = _validates(files, envs)
    if refused:
        # init writes only a project that validates: whatever slipped past the checks above
        io.err.write(f"perfcfg: init: the project would not validate ({refused}); nothing "
                     "written\n")
        return USAGE
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    shown = relative(directory)
    project = "" if shown == "." else f" --project {shlex.quote(shown)}"
    io.say(f"new project in {shown}/: {', '.join(sorted(files))}")
    if in_repo:
        io.say(f"pre-commit reads the repository root's .pre-commit-config.yaml: move "
               f"{shown}/.pre-commit-config.yaml there (or merge its hooks into yours)")
    # check covers every environment, so the build before it must too: a build of the first
    # one alone would leave check failing on the files of the others
    built = "".join(f" --env {shlex.quote(env)}" for env in envs)
    for step in (f"perfcfg validate{project}",
                 f"perfcfg build{built}{project}",
                 f"perfcfg check{project}"):
        io.say(f"next, run: {step}")
    return OK


def _ask(io: Io, question: str, default: str) -> str:
    io.err.write(f"{question} [{default}]: ")
    io.err.flush()
    answer = input().strip()
    return answer or default


def _in_repository(directory: Path) -> str:
    """The project's folder relative to the enclosing git repository's root ("" if it is the
    root or there is none): pre-commit runs hooks from the root."""
    here = directory.resolve()
    for parent in (here, *here.parents):
        if (parent / ".git").exists():
            return "" if parent == here else here.relative_to(parent).as_posix()
    return ""
