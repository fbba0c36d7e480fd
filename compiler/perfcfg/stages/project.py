"""The project file ``perfcfg.yaml``: environments, output directory, target versions.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "perfcfg.yaml").write_text("project: demo\\nenvironments:\\n  dev: {preset: p.yaml, host: h.yaml}\\n")
>>> proj = load_project(d, Sources())[0]
>>> proj.file.environments["dev"].preset, proj.span("environments.dev.preset").label()
('p.yaml', 'perfcfg.yaml:3:17')
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from perfcfg import model
from perfcfg.core.diagnostics import Diagnostic
from perfcfg.core.nodes import Mapping
from perfcfg.core.spans import Span
from perfcfg.stages.layers import Sources
from perfcfg.stages.validate import Validator

PROJECT_FILE = "perfcfg.yaml"
_TOP = Span(PROJECT_FILE, 1, 1)


@dataclass(frozen=True)
class Project:
    """The validated project file and where each of its values is written."""

    file: model.ProjectFile
    spans: dict[str, Span]
    # environments left out for a mistake already reported (``environments.prod``)
    broken: frozenset[str] = frozenset()

    @cached_property
    def target_spans(self) -> dict[str, Span]:
        """Where each ``targets.*`` version is written (cross-service findings name them)."""
        return {k: v for k, v in self.spans.items() if k.startswith("targets.")}

    def span(self, path: str) -> Span:
        """The span of ``path`` (e.g. ``environments.staging.host``), else the file's top:
        diagnostics about the project point at the line that names the culprit."""
        return self.spans.get(path, _TOP)


def load_project(project_dir: Path, sources: Sources
                 ) -> tuple[Project | None, list[Diagnostic]]:
    path = project_dir / PROJECT_FILE
    if not path.is_file():
        # no span: there is no line to point at in a file that does not exist
        return None, [Diagnostic("PCF117", "error", f"no {PROJECT_FILE} in {project_dir}",
                                 None, hint=_where_hint(project_dir))]
    tree, loaded = sources.load(path, PROJECT_FILE)
    if tree is None:
        return None, loaded
    if not isinstance(tree, Mapping):
        return None, [*loaded, Diagnostic(
            "PCF115", "error", f"{PROJECT_FILE} must be a mapping", tree.span,
            hint="start it with keys like project: and environments:")]
    # A value the loader refused (an ambiguous number) is read on as the text it would be
    # quoted, so that the rest of the file and every environment are still checked.
    project, diags = _checked(sources.texts[PROJECT_FILE], tree)
    return project, [*loaded, *diags]


def _where_hint(project_dir: Path) -> str:
    """Where the project probably is, as a --project that works from here: --project given the
    file itself, a project above (run from presets/) or just below (run from a repository that
    holds one, like examples/botfarm in perfcfg's own). Two levels each way at most: an error
    path must stay fast in a big tree."""
    generic = "run perfcfg in the project directory or pass --project DIR"
    if project_dir.name == PROJECT_FILE and project_dir.is_file():
        return (f"--project takes the directory that holds it: "
                f"--project {shlex.quote(str(project_dir.parent))}")
    if not project_dir.exists():
        return f"there is no {project_dir} here ({Path.cwd()}): {generic}"
    if not project_dir.is_dir():
        return generic
    for parent in project_dir.resolve().parents[:2]:
        if (parent / PROJECT_FILE).is_file():
            shown = os.path.relpath(parent)
            return f"{PROJECT_FILE} is in {shown}: pass --project {shlex.quote(shown)}"
    found = sorted(p.parent for pattern in (f"*/{PROJECT_FILE}", f"*/*/{PROJECT_FILE}")
                   for p in project_dir.glob(pattern)
                   if not any(part.startswith(".") for part in p.relative_to(project_dir).parts))
    if found:
        below = [shlex.quote(os.path.relpath(p)) for p in found[:3]]
        return f"projects below: {', '.join(below)}; pass one with --project {below[0]}"
    return generic


# Validated project files by content, for the whole process: every environment asks for the
# project, and it names every environment, so checking it each time would cost O(N²).
_CHECKED: dict[str, tuple[Project | None, list[Diagnostic]]] = {}


def _checked(text: str, tree: Mapping) -> tuple[Project | None, list[Diagnostic]]:
    if text not in _CHECKED:
        if len(_CHECKED) >= 16:
            _CHECKED.pop(next(iter(_CHECKED)))
        checker = Validator("", "", model.Targets())
        project = checker.one("", tree, model.ProjectFile)
        found = list(checker.diagnostics)
        if project is not None:
            found += _outputs(project, checker.spans)
        _CHECKED[text] = (Project(project, checker.spans, frozenset(checker.broken))
                          if project else None, found)
    return _CHECKED[text]


def _outputs(project: model.ProjectFile, spans: dict[str, Span]) -> list[Diagnostic]:
    """Each environment's output directory: ``{env}`` is its one placeholder, no two
    environments share one (each build would replace the other's files and ``check`` would
    fail for ever), and none is a folder of the project's inputs."""
    import posixpath
    import re

    out: list[Diagnostic] = []
    by_dir: dict[str, list[str]] = {}
    inputs = {posixpath.dirname(posixpath.normpath(p)) or "."
              for e in project.environments.values() for p in (e.preset, e.host)}
    for name, env in sorted(project.environments.items()):
        where = f"environments.{name}.output" if env.output else "output"
        pattern = env.output or project.output
        for m in re.finditer(r"\{([^}]*)\}", pattern):
            if m.group(1) != "env":
                out.append(Diagnostic(
                    "PCF204", "error", f"invalid value for {where}: {m.group()} is not a "
                    "placeholder perfcfg fills in", spans.get(where, _TOP), where,
                    "write {env}, the one placeholder (the environment's name)"))
        folder = posixpath.normpath(pattern.replace("{env}", name))
        by_dir.setdefault(folder, []).append(name)
        if folder in inputs:
            out.append(Diagnostic(
                "PCF204", "error", f"invalid value for {where}: {folder} holds the project's "
                "presets or host profiles; a build would write its files among them",
                spans.get(where, _TOP), where, "write them apart, e.g. generated/{env}"))
    for folder, names in by_dir.items():
        if len(names) > 1:
            owned = [n for n in names if project.environments[n].output]
            where = f"environments.{owned[-1]}.output" if owned else "output"
            out.append(Diagnostic(
                "PCF204", "error", f"invalid value for {where}: environments "
                f"{', '.join(names)} all write into {folder}: each build would replace the "
                "other's files, and check would never pass", spans.get(where, _TOP), where,
                "put {env} in it (generated/{env}), or give each environment its own "
                "output"))
    return out


# PostgreSQL's layout when neither the project nor the environment names one (modeldef.Deploy).
DEFAULT_LAYOUT = "debian"


def env_deploy(proj: Project, name: str) -> tuple[str, dict[str, model.DeployFile]]:
    """Environment ``name``'s layout (its own ``deploy.layout``, else the project's) and the
    project's per-file placement."""
    own = proj.file.environments[name].deploy
    layout = (own.layout if own is not None else None) or proj.file.deploy.layout
    return layout or DEFAULT_LAYOUT, dict(proj.file.deploy.files)


def env_targets(proj: Project, name: str) -> tuple[model.Targets, dict[str, Span],
                                                  list[Diagnostic]]:
    """The versions environment ``name`` is built for: the project's ``targets`` with the
    environment's own ``targets`` keys replacing them (naming one flavour of a service, e.g.
    valkey, replaces the other), where each is written, and a diagnostic when one service is
    given two daemons."""
    from perfcfg.services import registry

    base = proj.file.targets
    env = proj.file.environments[name]
    spans = dict(proj.target_spans)
    if env.targets is None:
        targets = base
    else:
        given = env.targets.given
        fields = {k: getattr(base, k) for k in model.Targets.FIELDS}
        for service in registry.SERVICES:
            if given & set(service.flavours):
                fields.update(dict.fromkeys(service.flavours))
                for d in service.flavours:
                    spans.pop(f"targets.{d}", None)
        fields.update({k: getattr(env.targets, k) for k in given})
        spans.update({f"targets.{key}": span for path, span in proj.spans.items()
                      for key in [_env_target(path, name)] if key})
        targets = model.Targets(**fields)
    diags = []
    for service in registry.SERVICES:
        named = [d for d in service.flavours if getattr(targets, d, None)]
        if len(named) > 1:
            keys = [f"targets.{d}" for d in named]
            diags.append(Diagnostic(
                "PCF204", "error", f"{' and '.join(keys)} are both set: perfcfg writes the "
                f"{service.name}: section for one daemon", spans.get(keys[-1], _TOP), keys[-1],
                f"keep one of {' or '.join(keys)} (an environment's targets may name the "
                "other)"))
    return targets, spans, diags


def _env_target(path: str, env: str) -> str | None:
    """``targets.X`` for ``environments.<env>.targets.X``, else None."""
    prefix = f"environments.{env}.targets."
    return path[len(prefix):] if path.startswith(prefix) else None


def env_kind(name: str, env: model.Environment) -> str:
    """The kind of an environment: stated, else its name if it is one, else production."""
    if env.kind:
        return env.kind
    return name if name in ("development", "staging", "production") else "production"


def _host_command(path: Path) -> str:
    """``perfcfg host > FILE`` as typed from the current directory (creating its folder)."""
    import os
    import shlex

    shown = path if path.is_absolute() and not path.is_relative_to(Path.cwd()) else \
        Path(os.path.relpath(path))
    command = f"perfcfg host > {shlex.quote(shown.as_posix())}"
    if not path.parent.is_dir():
        command = f"mkdir -p {shlex.quote(shown.parent.as_posix())} && {command}"
    return command


def _missing_host_hint(path: Path, typed: Path | None, project_dir: Path | None) -> str:
    """A --host path that names a file of the project as if typed from the project (from
    presets/, ``--host hosts/prod.yaml``) gets the path from here; otherwise the profile is
    made on the machine it describes (here only when that is this one)."""
    import os

    if typed is not None and not typed.is_absolute() and project_dir is not None:
        meant = project_dir / typed
        if meant.resolve() != path.resolve() and meant.is_file():
            shown = os.path.relpath(meant)
            return (f"--host is read from where perfcfg runs, not from the project: did you "
                    f"mean --host {shlex.quote(shown)}?")
    return ("make it on the machine it describes (perfcfg host there, and copy its output "
            "here); for this machine, run: " + _host_command(path))


def load_host(path: Path, display: str, sources: Sources, named_at: Span | None = None,
              spans: dict[str, Span] | None = None, typed: Path | None = None,
              project_dir: Path | None = None
              ) -> tuple[model.HostProfile | None, list[Diagnostic]]:
    """``named_at`` is where the path is written (perfcfg.yaml), for a missing file;
    ``typed`` the path as given to --host."""
    if not path.exists():
        return None, [Diagnostic("PCF118", "error", f"host profile {display} does not exist",
                                 named_at,   # --host FILE: no line to point at
                                 hint=_missing_host_hint(path, typed, project_dir),
                                 files=(display,))]
    tree, loaded = sources.load(path, display)
    if tree is None:
        return None, loaded
    checker = Validator("", "", model.Targets())
    host = checker.one("host", tree, model.HostProfile)
    if spans is not None:  # cross-service findings name host.memory, host.open_files…
        spans.update(checker.spans)
    return host, [*loaded, *checker.diagnostics]
