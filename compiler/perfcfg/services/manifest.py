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
from typing import TYPE_CHECKING, Any

from perfcfg.services import sysctl
from perfcfg.services.output import Output, Placement, RenderContext, Rendered

if TYPE_CHECKING:
    from perfcfg.core.diagnostics import Diagnostic

NAME = "manifest.json"


def render_json(doc: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, ASCII, one trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def placed(output: Output, service: Any, config: Any, plan: Any) -> Placement | None:
    """Where a file goes on its host and who owns it there: its own place (a file of no
    service's), else its service's placement; None when it is not placed (roles.sql)."""
    if output.place is not None:
        return output.place(config.targets)
    return service.placement(config, plan) if service and service.placement else None


def destination(place: Placement | None, output: Output, name: str, plan: Any) -> str | None:
    """A placed file's path: where the setting naming it says (``hba_file``, ``auth_file``,
    ``aclfile``…), so the daemon reads it there, else its placement's."""
    if place is None:
        return None
    named = plan.value(output.named_by) if output.named_by else None
    return str(named) if named else place.path(name)


def entries(ctx: RenderContext, files: Mapping[str, Rendered]) -> dict[str, dict[str, Any]]:
    overrides = ctx.header.deploy if ctx.header is not None else {}
    out: dict[str, dict[str, Any]] = {}
    targets = ctx.config.targets
    for name, item in files.items():
        service, output = item.service, item.output
        place = placed(output, service, ctx.config, ctx.plan)
        mode = output.deploy_mode if output.deploy_mode is not None else output.mode
        entry: dict[str, Any] = {
            "service": service.name if service else
            output.owner[0] if output.owner else sysctl.HOST,
            "daemon": service.daemon_of(targets) if service else
            output.owner[1] if output.owner else sysctl.KERNEL,
            "destination": None if output.apply else destination(place, output, name, ctx.plan),
            "owner": place.owner if place else "root", "group": place.group if place else "root",
            "mode": f"0{mode:o}", "sha256": hashlib.sha256(item.data).hexdigest()}
        if output.apply:
            entry["apply"] = output.apply(ctx.plan)
        own = overrides.get(name)
        if own is not None:
            entry.update({key: value for key, value in (
                ("destination", own.path), ("owner", own.owner), ("group", own.group),
                ("mode", own.mode)) if value is not None})
        out[name] = entry
    return out


# -- what the manifest may say: checked by validate and build alike --------------------------

# Mode bits no generated file has on the host: nobody but its owner and group writes a
# configuration, and it is no program.
NEVER = 0o002 | 0o111
# A file holding secrets (hashes, or a secret slot's value in clear) is read by its owner and
# group at most, and written by its owner alone.
NEVER_SECRET = NEVER | 0o020 | 0o004


def _mode_words(bits: int) -> str:
    words = [w for b, w in ((0o111, "executable"), (0o022, "writable by others"),
                            (0o020, "group-writable"), (0o002, "world-writable"),
                            (0o004, "world-readable")) if bits & b]
    return " and ".join(dict.fromkeys(words))


def check(config: Any, plan: Any, services: tuple[Any, ...],
          limits: bool, unowned: tuple[Output, ...] = ()) -> list[Diagnostic]:
    """What perfcfg.yaml's ``deploy.files`` may not say: a file perfcfg does not write, two
    files at one destination, a mode that lets others write a file (or read one that holds
    secrets). Runs without rendering, so ``validate`` refuses what ``build`` would.
    ``unowned`` are the files of no one service (the host's sysctl.d, a monitored
    environment's); the caller passes them from the registry, which imports this module."""
    from perfcfg.core.diagnostics import Diagnostic, Related
    from perfcfg.services.output import RenderContext

    ctx = RenderContext(plan, config, None, limits=limits)
    targets = config.targets
    written: dict[str, tuple[Any, Any]] = {}
    for service in services:
        for output in service.outputs:
            if output.render is not None and output.wanted(ctx):
                written[output.file(targets)] = (service, output)
    for output in unowned:
        if output.render is not None and output.wanted(ctx):
            written[output.file(targets)] = (None, output)
    overrides = config.deploy
    out: list[Diagnostic] = []
    for name in sorted(set(overrides) - set(written) - {NAME}):
        path = f"deploy.files.{name}"
        out.append(Diagnostic("PCF210", "error", f"cannot write {path}: perfcfg.yaml's "
                              f"deploy.files names {name!r}, which perfcfg does not write; it "
                              f"writes {', '.join(sorted(written))}", config.spans.get(path),
                              path, "name one of the files perfcfg writes"))
    secret = set(plan.clear) | {n for n, (_, o) in written.items() if o.secret}
    destinations: dict[str, str] = {}
    for name, (service, output) in sorted(written.items()):
        own = overrides.get(name)
        mode_text = getattr(own, "mode", None)
        if mode_text:
            mode, path = int(mode_text, 8), f"deploy.files.{name}.mode"
            bad = mode & (NEVER_SECRET if name in secret else NEVER)
            if bad:
                why = "it holds secrets" if name in secret else "it is a configuration"
                out.append(Diagnostic(
                    "PCF210", "error", f"cannot write {path}: {name} deployed {mode_text} would "
                    f"be {_mode_words(bad)}, and {why}", config.spans.get(path), path,
                    "0600 or 0640 for a file that holds secrets, 0644 at most for the others"))
        if output.apply:
            continue
        dest = getattr(own, "path", None) or \
            destination(placed(output, service, config, plan), output, name, plan)
        if dest is None:
            continue
        if dest in destinations:
            first = destinations[dest]
            path = f"deploy.files.{name}.path"
            where = path if config.spans.get(path) else f"deploy.files.{first}.path"
            out.append(Diagnostic(
                "PCF210", "error", f"cannot write {where}: {name} and {first} would both be "
                f"deployed to {dest}, and one would replace the other", config.spans.get(where),
                where, "give each file its own path",
                (Related(f"{first} goes there too", config.spans.get(
                    f"deploy.files.{first}.path"), f"deploy.files.{first}.path"),)))
            continue
        destinations[dest] = name
    return out


def follow(config: Any, settings: dict[str, Any],
           services: tuple[Any, ...]) -> list[Diagnostic]:
    """A file another file names (pg_hba.conf by ``hba_file``, users.acl by ``aclfile``,
    userlist.txt by ``auth_file``) is read where ``deploy.files`` puts it: the naming setting
    follows the destination, and a preset that sets it elsewhere is an error naming both."""
    from perfcfg.core.diagnostics import Diagnostic, Related
    from perfcfg.core.plan import Setting
    from perfcfg.core.spans import Origin

    out: list[Diagnostic] = []
    for service in services:
        for output in service.outputs:
            if output.named_by is None:
                continue
            file = output.file(config.targets)
            dest = getattr(config.deploy.get(file), "path", None)
            if not dest:
                continue
            key, setting = output.named_by, settings.get(output.named_by)
            # perfcfg's own values (tuned, derived, a built-in preset's) follow; a person's
            # value must agree
            mine = setting is None or setting.origin.kind in ("tuned", "derived", "builtin") \
                or (config.spans.get(key) is not None and
                    config.spans[key].file.startswith("builtin:"))
            if not mine:
                assert setting is not None
                if setting.value != dest:
                    where = f"deploy.files.{file}.path"
                    out.append(Diagnostic(
                        "PCF204", "error", f"invalid value for {key}: it says {file} is at "
                        f"{setting.value}, but perfcfg.yaml's {where} puts it at {dest}",
                        config.spans.get(key), key, f"remove {key}: it follows {where}",
                        (Related(f"{where} is set here", config.spans.get(where), where),)))
                continue
            settings[key] = Setting(key, dest, Origin("derived"),
                                    f"where perfcfg.yaml's deploy.files.{file}.path puts {file}")
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
