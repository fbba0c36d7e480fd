"""The project file ``perfcfg.yaml``: environments, output directory, target versions.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "perfcfg.yaml").write_text("project: demo\\nenvironments:\\n  dev: {preset: p.yaml, host: h.yaml}\\n")
>>> load_project(d, Sources())[0].environments["dev"].preset
'p.yaml'
"""

from __future__ import annotations

import functools
from pathlib import Path

from perfcfg import model, yamlload
from perfcfg.diagnostics import Diagnostic
from perfcfg.nodes import Mapping
from perfcfg.resolve import Sources
from perfcfg.spans import Span
from perfcfg.validate import Validator

PROJECT_FILE = "perfcfg.yaml"


def load_project(project_dir: Path, sources: Sources, spans: dict | None = None
                 ) -> tuple[model.ProjectFile | None, list[Diagnostic]]:
    path = project_dir / PROJECT_FILE
    if not path.is_file():
        return None, [Diagnostic("PCF117", "error", f"no {PROJECT_FILE} in {project_dir}",
                                 Span(PROJECT_FILE, 1, 1),
                                 hint="run perfcfg in the project directory or pass --project DIR")]
    try:
        data = path.read_bytes()
    except OSError:
        return None, sources.load(path, PROJECT_FILE)[1]   # the loader words the error
    sources.texts[PROJECT_FILE] = data.decode("utf-8", "replace")
    project, diags, versions = _parse_project(data)
    if spans is not None:  # the tuner names the target versions "versions.<daemon>"
        spans.update(versions)
    return project, list(diags)


@functools.lru_cache(maxsize=8)
def _parse_project(data: bytes) -> tuple[model.ProjectFile | None, tuple[Diagnostic, ...],
                                         dict[str, Span]]:
    """Parse and check the project file once per content: every environment of a project
    reads the same file, and re-parsing it per environment made validating N of them O(N²)."""
    tree, diags = yamlload.load_bytes(data, PROJECT_FILE)
    if tree is None or diags:
        return None, tuple(diags), {}
    if not isinstance(tree, Mapping):
        return None, (Diagnostic("PCF115", "error", f"{PROJECT_FILE} must be a mapping",
                                 tree.span),), {}
    checker = Validator("", "", model.Targets())
    project = checker.one("", tree, model.ProjectFile)
    versions = {"versions." + k.split(".", 1)[1]: v for k, v in checker.spans.items()
                if k.startswith("targets.")}
    return project, tuple(checker.diagnostics), versions


def env_kind(name: str, env: model.Environment) -> str:
    """The kind of an environment: stated, else its name if it is one, else production."""
    if env.kind:
        return env.kind
    return name if name in ("development", "staging", "production") else "production"


def load_host(path: Path, display: str, sources: Sources, spans: dict | None = None
              ) -> tuple[model.HostProfile | None, list[Diagnostic]]:
    if not path.is_file():
        return None, [Diagnostic("PCF118", "error", f"host profile {display} does not exist",
                                 Span(display, 1, 1),
                                 hint="write one with: perfcfg host > " + display)]
    tree, diags = sources.load(path, display)
    if tree is None or diags:
        return None, diags
    checker = Validator("", "", model.Targets())
    host = checker.one("host", tree, model.HostProfile)
    if spans is not None:
        spans.update(checker.spans)
    return host, checker.diagnostics
