"""Config + provenance → Plan: fixed values, tuned values, derived topology, secrets.

The order is: the values a person fixed; the tuning engine (stages/tune.py) fills every
``auto`` (and every tunable value left unset); each service derives what follows from the
others' settings and makes its part of the topology (``Service.derive``, ``Service.topology``,
in registry order); then the cross-service checks run over the whole Plan. The planner knows
the shape of this, never a daemon: every service says its own part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfcfg.core.config import AUTO, Config
from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.nodes import path_str
from perfcfg.core.plan import Plan, Setting
from perfcfg.core.spans import Origin
from perfcfg.model import parse_share
from perfcfg.services import manifest, registry
from perfcfg.services.base import Service
from perfcfg.services.topology import Topology
from perfcfg.stages import secrets as secret_refs
from perfcfg.stages import tune
from perfcfg.stages.layers import History
from perfcfg.tune import context as tc


@dataclass(frozen=True)
class Secrets:
    """How ``${env:…}`` and ``${file:…}`` resolve for this build."""

    mode: str                                   # resolve | placeholder
    environ: Mapping[str, str]
    project_dir: Path
    dirs: tuple[Path, ...] = ()                 # the project file's secrets.dirs
    hashed: bool = True                         # False on validate: skip slow key derivations


def make_plan(config: Config, history: History, secrets: Secrets
              ) -> tuple[Plan | None, list[Diagnostic], list[Diagnostic]]:
    """The Plan, the planning diagnostics, and the cross-service findings (PCF3xx) apart,
    because a preset's waivers apply to those."""
    diags: list[Diagnostic] = []
    hist = {path_str(k): tuple(v) for k, v in history.items()}
    settings: dict[str, Setting] = {}
    autos: set[str] = set()
    for path, value in _fixed_values(config):
        if value == AUTO:
            autos.add(path)
            continue
        chain = hist.get(path) or hist.get(_program_history_path(path), ())
        origin = chain[-1] if chain else Origin("derived")
        settings[path] = Setting(path, value, origin, history=chain)
    ctx = tune_context(config, {p: s.value for p, s in settings.items()})
    in_range = _range_keeper(config)
    services = {s.name: s for s in registry.SERVICES}
    for rec in tune.recommend_all(ctx, placing=True):
        if rec.path in settings:
            continue
        chain = hist.get(rec.path, ())
        owner = services.get(rec.path.split(".", 1)[0])
        value = owner.canonical(rec.path, rec.value) \
            if owner is not None and owner.canonical is not None else rec.value
        value, capped = in_range(rec.path, value)
        settings[rec.path] = Setting(rec.path, value, Origin("tuned", None, rec.rule),
                                     rec.reason + capped, rec.rule, rec.formula,
                                     dict(rec.inputs), rec.deviation, chain)
        autos.discard(rec.path)
    for path in sorted(autos):
        diags.append(Diagnostic("PCF208", "error", f"perfcfg has no rule to tune {path}",
                                config.spans.get(path), path,
                                "give it a value, or remove it to keep the daemon's default"))
    for service in registry.SERVICES:
        if service.derive is not None:
            service.derive(config, settings)
    diags.extend(manifest.follow(config, settings, registry.SERVICES))
    resolver = secret_refs.SecretResolver(secrets.mode, secrets.environ, secrets.project_dir,
                                          secrets.dirs)
    leaked: list[str] = []
    resolved: dict[str, str] = {}

    def resolve(path: str, ref: Any) -> str | None:
        try:
            value = resolver.resolve(ref)
        except secret_refs.SecretError as exc:
            diags.append(Diagnostic("PCF120", "error", f"{path}: {exc}", config.spans.get(path),
                                    path, exc.hint))
            return None
        leaked.append(value)
        resolved[path] = value
        return value

    topology = Topology(config, settings, resolve, secrets.hashed, diags, leaked, {},
                        [s.client_env for s in registry.SERVICES if s.client_env is not None])
    for service in registry.SERVICES:
        if service.topology is not None:
            topology.parts[service.name] = service.topology(topology)
    placed = secret_refs.place(config, settings, resolve, registry.SERVICES, leaked)
    diags.extend(placed.diagnostics)
    plan = Plan(config.env, config.kind, settings, topology.parts, leaked, resolved=resolved,
                clear=placed.clear, secrets_mode=secrets.mode,
                program_secrets=topology.program_secrets)
    return plan, diags, _checks(ctx, plan, config)


def _range_keeper(config: Config) -> Callable[[str, Any], tuple[Any, str]]:
    """``(path, value) → (value, note)``: a tuned value brought inside its parameter's range
    in the target's catalog (services.catalog.kept_in_range), with a note for the reason when
    it had to be."""
    from perfcfg.services.catalog import kept_in_range

    services = {s.name: s for s in registry.SERVICES}

    def keep(path: str, value: Any) -> tuple[Any, str]:
        name, _, key = path.partition(".")
        service = services.get(name)
        param = service.param(config.targets, key) if service and "." not in key else None
        if service is None or param is None:
            return value, ""
        return kept_in_range(param, service.coerce, value, service.title)

    return keep


# -- inputs ------------------------------------------------------------------------------

def runner() -> Service | None:
    """The service that runs the workload's programs (its options are a program's own)."""
    return next((s for s in registry.SERVICES if s.program_section), None)


def _fixed_values(config: Config) -> Iterator[tuple[str, Any]]:
    for service, params in config.services.items():
        for name, value in params.items():
            yield f"{service}.{name}", value
    for owner in registry.SERVICES:
        own = config.own.get(owner.name, {})
        for section in owner.subsections:
            for name, value in own.get(section, {}).items():
                yield f"{owner.name}.{section}.{name}", value
    run = runner()
    if run is not None:
        for program in config.workload.programs:
            for name, value in getattr(program, run.program_field).items():
                yield f"{run.name}.programs.{program.name}.{name}", value


def _program_history_path(path: str) -> str:
    """Where a person wrote a program's option: under the program, in the workload."""
    run, parts = runner(), path.split(".")
    if run is not None and parts[:2] == [run.name, "programs"] and len(parts) == 4:
        return f"workload.programs.{parts[2]}.{run.program_field}.{parts[3]}"
    return path


def _headroom(config: Config) -> tc.Headroom:
    h = config.workload.headroom
    if h is None:
        return tc.Headroom()
    return tc.Headroom(h.server_connections, h.client_connections, h.worker_memory)


def tune_context(config: Config, fixed: dict[str, Any]) -> tc.TuneContext:
    """The tuning rules' view of the environment: the host, the workload, and what each
    service adds (its versions, facts, pools, memory share)."""
    host = config.host
    assert host is not None
    fields: dict[str, Any] = {
        "env": config.kind,
        "host": tc.Host(host.memory, host.cpus, host.storage, host.open_files, host.os,
                        host.wal_disk, host.nr_open),
        # the workload's programs and pools come from the services that run and pool them
        "programs": (),
        "pools": (),
        "direct_clients": sum(c.connections for c in config.clients if not c.replication),
        "db_profile": config.workload.db_profile,
        "client_timeout": config.workload.client_timeout,
        "data_size": config.workload.data_size,
        "fixed": fixed,
        "layout": config.layout,
        "headroom": _headroom(config),
        "limits": config.limits,
    }
    versions: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    shares: dict[str, Any] = {"os_reserve": parse_share(config.budget.os_reserve)}
    for service in registry.SERVICES:
        if service.context is None:
            continue
        part = service.context(config)
        fields.update(part.fields)
        versions.update(part.versions)
        facts.update(part.facts)
        shares.update(part.shares)
    return tune.context(**fields, versions=tc.Versions(**versions), facts=facts,
                        shares=tc.Shares(**shares))


# -- cross-service checks ----------------------------------------------------------------

def _checks(ctx: tc.TuneContext, plan: Plan, config: Config) -> list[Diagnostic]:
    values = {path: s.value for path, s in plan.settings.items()}
    out = []
    for finding in tune.check(ctx, values):
        spans = [_written_at(config, p) for p in finding.paths]
        first_path, first_span = _primary(spans)
        related = tuple(Related(_side(plan, config, p, s), s, p)
                        for p, s in spans if p != first_path)
        severity = finding.severity
        if severity == "error" and not any(s for _, s in spans):
            severity = "warning"  # only tuned values involved: perfcfg's own miss, not the user's
        out.append(Diagnostic(finding.code, severity, finding.message, first_span, first_path,
                              finding.hint, related))
    return out


def _written_at(config: Config, path: str) -> tuple[str, Any]:
    """The path a person wrote for a check's path, and where: a program's process count is its
    ``processes``, a program is its workload entry."""
    parts = path.split(".")
    aliases = [path, _program_history_path(path)]
    run = runner()
    if run is not None and parts[:2] == [run.name, "programs"] and len(parts) in (3, 4):
        key = [run.program_owned.get(parts[3], parts[3])] if parts[3:] else []
        aliases.append(".".join(["workload", *parts[1:3], *key]))
    if parts[:2] == ["workload", "programs"] and len(parts) == 4:
        # a program whose value is its default: point at how many it runs, else at it
        aliases += [".".join([*parts[:3], "processes"]), ".".join(parts[:3])]
    return next(((a, config.spans[a]) for a in aliases if config.spans.get(a)), (path, None))


def _primary(spans: list[tuple[str, Any]]) -> tuple[str | None, Any]:
    """Where to report a conflict: the line a person edits to fix it, so a project's preset
    before a built-in preset, and a preset before the host profile or the target versions."""
    written = [(p, s) for p, s in spans if s]
    if not written:
        return spans[0] if spans else (None, None)
    return min(written, key=lambda ps: (ps[1].file.startswith("builtin:"),
                                        ps[0].startswith(("host.", "targets."))))


def _side(plan: Plan, config: Config, path: str, span: Any) -> str:
    if path.startswith("host."):
        return f"{path} comes from the host profile"
    if path.startswith("targets."):
        return (f"{path} is the target version, set here" if span else
                f"{path} is perfcfg's default target version (perfcfg.yaml's targets sets it)")
    setting = plan.settings.get(path)
    if setting is None:
        return f"{path} is set here" if span else f"{path} is involved"
    if span is None:
        return f"{path} is {'tuned' if setting.tuned else 'derived'} by perfcfg (no preset sets it)"
    service, _, name = path.partition(".")
    written = getattr(config.budget, name, None) if service == "budget" else \
        config.services.get(service, {}).get(name)
    how = "tuned" if setting.tuned and written == AUTO else "set"
    return f"{path} is {how} here"
