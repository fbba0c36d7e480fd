"""Outputs: the files a build writes, each declared once by its service, and what renderers share.

An :class:`Output` names a file, its mode, whether it holds secrets and the function that
renders it. Renderers get a :class:`RenderContext`: the Plan, the Config, the build's
:class:`Header`, the jinja2 templates of ``templates/`` (layout only: values arrive encoded)
and a place to report values that cannot be written. The render stage loops over
``registry.outputs()``.

>>> Output("redis.conf", lambda ctx, service: b"").mode
420
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.core.encoding import EncodeError, comment_text
from perfcfg.core.plan import Plan, Setting

if TYPE_CHECKING:
    import jinja2

    from perfcfg.core.config import Config
    from perfcfg.model import DeployFile, Targets
    from perfcfg.services.actions import Action
    from perfcfg.services.catalog import Param


class Owner(Protocol):
    """The service an output belongs to, as a renderer uses it (services/base.py's Service)."""

    @property
    def name(self) -> str: ...

    @property
    def encode(self) -> Callable[[Param, Any], str]: ...

    @property
    def placement(self) -> Callable[[Config, Plan], Placement] | None: ...

    def param(self, targets: Targets, name: str, section: str | None = None) -> Param | None: ...

    def daemon_of(self, targets: Targets) -> str: ...


@dataclass(frozen=True)
class Output:
    name: str                                            # the daemon's conventional file name
    # (context, the service it belongs to: None for a file about the host) → bytes
    render: Callable[[RenderContext, Any], bytes] | None = None
    secret: bool = False    # holds password hashes: written 0600
    # holds the programs' own secrets in clear (each in its program's section): a secret
    # file, and the one place those values may be written (PCF211 looks for every other)
    program_secrets: bool = False
    header: bool = True     # starts with perfcfg's header comment
    # A file made from the others once they are rendered (the manifest): it gets their bytes.
    post: Callable[[RenderContext, Mapping[str, Rendered]], bytes] | None = None
    # Mode on the host when it differs from the generated copy's (e.g. 0640: the daemon's group
    # reads it there, while generated/ stays private to whoever builds).
    deploy_mode: int | None = None
    # How the file is used when it is not placed in a directory (roles.sql is run, not copied):
    # plan → the command, which names the plan's own socket and port.
    apply: Callable[[Plan], str] | None = None
    # The file's name when it depends on the targets (valkey.conf for Valkey): targets → name,
    # and every other name it can give (build --check, file modes and the tests know them all).
    named: Callable[[Targets], str] | None = None
    also: tuple[str, ...] = ()
    # An optional file: written only when this says so for the build (perfcfg.yaml's
    # deploy.limits turns on the systemd drop-ins and the sysctl.d file).
    when: Callable[[RenderContext], bool] | None = None
    # Where the file goes when not where its service's files go (a systemd drop-in goes
    # next to the unit, not to /etc/postgresql): targets → Placement.
    place: Callable[[Targets], Placement] | None = None
    # What a change to the file needs, judged by the file itself instead of by its service
    # (a drop-in: daemon-reload and a restart of its unit when a directive changed, nothing
    # when only a comment did): (bytes there before or None, new bytes, targets) → Action.
    changed: Callable[[bytes | None, bytes, Targets], Action] | None = None
    # Who a file that is no service's belongs to, as the manifest and the actions name it:
    # (owner, daemon), e.g. ("monitoring", "prometheus"); None: the host's (sysctl.d).
    owner: tuple[str, str] | None = None
    # The setting that names where the daemon reads this file (pg_hba.conf: postgres.hba_file):
    # it follows the file's destination when perfcfg.yaml's deploy.files moves it.
    named_by: str | None = None

    @property
    def mode(self) -> int:
        return 0o600 if self.secret else 0o644

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.also)

    def file(self, targets: Targets) -> str:
        """The name this output is written under for ``targets``."""
        return self.named(targets) if self.named is not None else self.name

    def wanted(self, ctx: RenderContext) -> bool:
        return self.when is None or self.when(ctx)


@dataclass(frozen=True)
class Rendered:
    """A rendered file, with the service and output that made it (what post outputs read)."""

    service: Owner | None       # None: a file about the host, not one daemon (sysctl.d)
    output: Output
    data: bytes


@dataclass(frozen=True)
class Placement:
    """Where a daemon's packaged install reads its files, and who owns them there."""

    directory: str
    owner: str
    group: str
    # generated name → the name the package uses (Valkey reads valkey.conf, not redis.conf)
    names: Mapping[str, str] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return f"{self.directory.rstrip('/')}/{self.names.get(name, name)}"


@dataclass(frozen=True)
class Header:
    """What a build states about itself: the header of every file and the manifest say it."""

    env: str
    presets: Sequence[str]        # the preset files, as the project names them
    host: str                     # the host profile's file, or "detected"
    hash: str                     # of every input (the manifest carries it, not the files)
    version: str                  # perfcfg's
    secrets: str                  # resolve | placeholder
    sets: Sequence[str] = ()      # the --set flags, secrets masked
    # perfcfg.yaml's deploy.files: generated name → where it goes and who owns it there
    deploy: Mapping[str, DeployFile] = field(default_factory=dict)
    limits: bool = False          # deploy.limits: write the files that put the limits in force
    project: str = ""             # perfcfg.yaml's project: the monitoring files' job names
    # With --set: the files as the presets alone make them (a file the flags do not change
    # keeps these bytes); empty without --set, or when that build fails.
    plain: Mapping[str, bytes] = field(default_factory=dict)


class Line(TypedDict):
    """One ``name = value`` line of a template, its comment the reason when tuned."""

    name: str
    value: str
    comment: str


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    loader = jinja2.FunctionLoader(
        lambda name: resources.files("perfcfg.templates").joinpath(name).read_text("utf-8"))
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


class RenderContext:
    """``header=None`` (validate): every encoder runs and reports, no file is laid out
    (``layout`` is false)."""

    def __init__(self, plan: Plan, config: Config, header: Header | None, *,
                 limits: bool = False) -> None:
        self.plan, self.config, self.header = plan, config, header
        self.layout = header is not None
        # Without a header, ``limits`` says whether deploy.limits is on: the manifest's checks
        # ask which files a build would write without laying any out.
        self.limits = header.limits if header is not None else limits
        self.service: Owner | None = None          # the service rendering now
        self.diagnostics: list[Diagnostic] = []

    def fail(self, path: str, exc: Exception) -> None:
        self.diagnostics.append(Diagnostic(
            "PCF210", "error", f"cannot write {path}: {exc}", self.config.spans.get(path), path,
            "change the value; perfcfg refuses values the daemon would misread"))

    def unknown(self, setting: Setting) -> None:
        """A setting the target's catalog does not know: never drop it silently."""
        self.diagnostics.append(Diagnostic(
            "PCF212", "error", f"{setting.path} is not a parameter of the target version",
            self.config.spans.get(setting.path), setting.path,
            "remove it, or change the target version in perfcfg.yaml"))

    def file(self, output: Output) -> str:
        return output.file(self.config.targets)

    def header_lines(self, filename: str, overrides: bool = True) -> list[str]:
        h = self.header
        if h is None:
            raise ValueError("no header without layout: validate lays out no file")
        lines = [f"{filename} for environment {h.env!r}, generated by perfcfg {h.version}.",
                 "Do not edit: change the presets and run perfcfg build.",
                 f"presets: {', '.join(h.presets)}",
                 f"host profile: {h.host}"]
        # Not what the presets say: the file was built with overrides. A file whose content
        # they do not change is written without this line (render_all compares it with the
        # build without them), so its bytes do not change; the manifest lists them all.
        if h.sets and overrides:
            lines.append("overrides: " + " ".join(f"--set {shlex.quote(s)}" for s in h.sets))
        if h.secrets == "placeholder":
            lines.append("secrets: PLACEHOLDERS (built with --secrets placeholder; not deployable)")
        return [comment_text(line) for line in lines]

    def param(self, service: Owner, name: str, section: str | None = None) -> Param | None:
        return service.param(self.config.targets, name, section)

    def lines(self, service: Owner, settings: list[Setting],
              fmt: Callable[[Param, Any], str] | None = None, section: str | None = None
              ) -> list[Line]:
        """``name = value`` lines for ``settings``, each encoded by ``fmt`` (the service's
        encoder by default) and commented with its reason when tuned."""
        encode = fmt or service.encode
        out: list[Line] = []
        for setting in settings:
            param = self.param(service, setting.name, section)
            if param is None:
                self.unknown(setting)
                continue
            try:
                value = encode(param, setting.value)
            except EncodeError as exc:
                self.fail(setting.path, exc)
                continue
            out.append({"name": param.name, "value": value, "comment": reason_comment(setting)})
        return out

    def template(self, name: str, filename: str | None = None, overrides: bool = True,
                 **values: Any) -> bytes:
        """Render ``templates/<name>.j2``; the header names ``filename`` (default ``name``)
        and, unless ``overrides`` is false, the --set flags that may touch it."""
        if not self.layout:
            return b""
        text = _environment().get_template(f"{name}.j2").render(
            header=self.header_lines(filename or name, overrides), **values)
        return text.encode("ascii", "strict") if text.isascii() else text.encode("utf-8")


def limits_on(ctx: RenderContext) -> bool:
    """perfcfg.yaml asks for the files that put the plan's limits in force (deploy.limits)."""
    return ctx.limits


def reason_comment(setting: Setting) -> str:
    if setting.tuned and setting.reason:
        return comment_text(f"{setting.reason} [{setting.rule}]")
    return ""
