"""Rendering: Plan → every service's files, byte for byte reproducible.

Each file is declared once, by its service (``services/<daemon>/outputs.py``), and rendered
there with the service's own encoders; the jinja2 templates in ``templates/`` only lay the
lines out. This stage loops over the registry and adds the last line of defence (PCF211).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from perfcfg.core.config import Config
from perfcfg.core.diagnostics import Diagnostic
from perfcfg.core.plan import Plan
from perfcfg.services import registry
from perfcfg.services.output import Header, RenderContext, Rendered
from perfcfg.stages.secrets import leaked_into

# Every name a build may write (redis.conf or valkey.conf, after the targets).
FILES = registry.file_names()
# Mode 0600: they hold password hashes (SCRAM, SHA-256; supervisord's HTTP server password
# as unsalted SHA-1), which can be guessed offline by whoever reads them.
SECRET_FILES = frozenset(n for o in registry.outputs() if o.secret for n in o.names)
# Written only when the build asks for them (perfcfg.yaml's deploy.limits).
OPTIONAL_FILES = frozenset(n for o in registry.outputs() if o.when is not None for n in o.names)


def render_all(plan: Plan, config: Config, header: Header | None
               ) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """The files, or without a ``header`` only the encoders' verdicts: ``validate`` runs
    every encoder ``build`` runs, so the hook refuses what the build would (without jinja2)."""
    ctx = RenderContext(plan, config, header)
    layout = ctx.layout
    rendered = {}
    # each service's own files, then those of no one service: the host's (sysctl.d) and the
    # monitoring files
    owners = [(s, s.outputs) for s in registry.SERVICES] + [(None, registry.HOST),
                                                             (None, registry.MONITORING)]
    for service, outputs in owners:
        ctx.service = service
        for output in outputs:
            if output.render is not None and (output.wanted(ctx) or not layout):
                rendered[output.file(config.targets)] = Rendered(service, output,
                                                                 output.render(ctx, service))
    if header is not None and header.plain:
        _unchanged_by_overrides(rendered, header.plain)
    files = {name: item.data for name, item in rendered.items()}
    if not layout:
        return files, ctx.diagnostics
    leaks = _leaks(plan, config, files)
    for output in registry.POST:
        assert output.post is not None
        files[output.name] = output.post(ctx, rendered)
    return files, ctx.diagnostics + leaks


def _unchanged_by_overrides(rendered: dict[str, Rendered], plain: Mapping[str, bytes]) -> None:
    """A file whose content the --set flags do not change keeps the bytes of the build without
    them: its header does not name them either, so the file is not rewritten (nor its daemon
    reloaded) for an override that is not its own. ``plain``: the same build without --set."""
    for name, item in rendered.items():
        lines = item.data.split(b"\n")
        head = [i for i, line in enumerate(lines[:12]) if b" overrides: --set " in line]
        if head and plain.get(name) == b"\n".join(lines[:head[0]] + lines[head[0] + 1:]):
            rendered[name] = replace(item, data=plain[name])


def _leaks(plan: Plan, config: Config, files: dict[str, bytes]) -> list[Diagnostic]:
    """The last scan: a secret found in a file that is not its secret slot's (the slots'
    files hold theirs on purpose, kept 0600 or 0640); the programs' own secrets go in clear
    into the one file that hands them to the programs, and only there."""
    theirs = {v for values in plan.program_secrets.values() for v in values}
    carriers = {o.file(config.targets) for o in registry.outputs() if o.program_secrets}

    def allowed(name: str) -> set[str]:
        return plan.clear.get(name, set()) | (theirs if name in carriers else set())

    found = [(name, path) for name, data in sorted(files.items())
             if leaked_into({name: data}, [s for s in plan.secrets if s not in allowed(name)])
             for path in [_leaking_setting(plan, data)]]
    return [Diagnostic("PCF211", "error", f"a secret would be written in clear into {name}"
                       + (f" by {path}" if path else ""), config.spans.get(path) if path else
                       None, path, "secrets reach the files hashed (SCRAM, SHA) or in a "
                       "secret slot's file kept 0600 or 0640; a password that also occurs in "
                       "the file by chance is too weak")
            for name, path in found]


def _leaking_setting(plan: Plan, data: bytes) -> str | None:
    """The setting that carries a resolved secret into the file, if one does (else the secret
    occurs there by chance)."""
    from perfcfg.core.redact import encoded_forms

    return next((path for path, setting in sorted(plan.settings.items())
                 if isinstance(setting.value, str) and setting.value in plan.secrets
                 and any(f.encode() in data for f in encoded_forms(setting.value))), None)
