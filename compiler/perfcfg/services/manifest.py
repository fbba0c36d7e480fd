"""manifest.json: where each generated file goes on the host, who owns it, and its digest.

``generated/<env>/`` holds the files; the manifest says where each one is deployed (Debian's
packaged layout for the target versions unless perfcfg.yaml's ``deploy.files`` says otherwise),
with which owner, group and mode, and the SHA-256 of its bytes. It also carries the hash of
every input, which the files' headers no longer do: a change that does not touch a file leaves
its bytes alone, so a configuration manager reloads only the daemons whose files changed.

>>> import json; json.loads(render_json({"a": 1, "b": [2]}))
{'a': 1, 'b': [2]}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from perfcfg.services import sysctl
from perfcfg.services.output import Output, RenderContext, Rendered

NAME = "manifest.json"


def render_json(doc: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, ASCII, one trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def entries(ctx: RenderContext, files: Mapping[str, Rendered]) -> dict[str, dict[str, Any]]:
    overrides = ctx.header.deploy if ctx.header is not None else {}
    out: dict[str, dict[str, Any]] = {}
    targets = ctx.config.targets
    for name, item in files.items():
        service, output = item.service, item.output
        place = output.place(targets) if output.place else \
            service.placement(ctx.config, ctx.plan) if service and service.placement else None
        mode = output.deploy_mode if output.deploy_mode is not None else output.mode
        entry: dict[str, Any] = {
            "service": service.name if service else
            output.owner[0] if output.owner else sysctl.HOST,
            "daemon": service.daemon_of(targets) if service else
            output.owner[1] if output.owner else sysctl.KERNEL,
            "destination": place.path(name) if place and not output.apply else None,
            "owner": place.owner if place else "root", "group": place.group if place else "root",
            "mode": f"0{mode:o}", "sha256": hashlib.sha256(item.data).hexdigest()}
        if output.apply:
            entry["apply"] = output.apply
        own = overrides.get(name)
        if own is not None:
            entry.update({key: value for key, value in (
                ("destination", own.path), ("owner", own.owner), ("group", own.group),
                ("mode", own.mode)) if value is not None})
        out[name] = entry
    for name in sorted(set(overrides) - set(files)):
        ctx.fail(f"deploy.files.{name}", ValueError(
            f"perfcfg.yaml's deploy.files names {name!r}, which perfcfg does not write; it "
            f"writes {', '.join(sorted(files))}"))
    return out


def manifest_json(ctx: RenderContext, files: Mapping[str, Rendered]) -> bytes:
    h = ctx.header
    if h is None:
        raise ValueError("no manifest without layout: validate lays out no file")
    doc = {"environment": h.env, "perfcfg": h.version, "presets": list(h.presets),
           "host_profile": h.host, "inputs_sha256": h.hash, "secrets": h.secrets,
           "overrides": list(h.sets),
           "files": entries(ctx, files)}
    return render_json(doc).encode("ascii")


OUTPUT = Output(NAME, post=manifest_json, header=False)
