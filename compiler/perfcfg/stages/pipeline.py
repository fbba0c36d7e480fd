"""One environment through the whole pipeline: load → resolve → validate → tune → check → policy
→ render.

``compile_env`` never prints and never raises for bad input: it returns a ``Result`` holding the
diagnostics and, when there is no error, the Plan and the rendered files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from perfcfg import __version__, model
from perfcfg.core.config import Config
from perfcfg.core.diagnostics import Diagnostic, finalize, has_errors
from perfcfg.core.files import inside
from perfcfg.core.nodes import path_str
from perfcfg.core.plan import Plan
from perfcfg.core.spans import Origin, Span
from perfcfg.stages import project as projects
from perfcfg.stages.layers import (
    PROJECT_NAMER,
    SET_FILE,
    History,
    Sources,
    apply_set,
    load_chain,
    merge_layers,
    set_source,
)
from perfcfg.stages.validate import Validator, did_you_mean


@dataclass
class Request:
    project_dir: Path
    env: str
    host_file: Path | None = None
    host: model.HostProfile | None = None        # detected host (build --detect)
    sets: tuple[str, ...] = ()
    secrets_mode: str | None = None               # overrides the project's secrets.mode
    environ: Mapping[str, str] = field(default_factory=dict)
    render: bool = True                           # False on the validate path
    overlay: Path | None = None                   # a preset file on top (--overlay)


@dataclass
class Result:
    env: str
    diagnostics: list[Diagnostic]
    sources: Sources
    config: Config | None = None
    plan: Plan | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    output_dir: Path | None = None
    preset_files: list[str] = field(default_factory=list)
    input_hash: str = ""
    history: dict[str, tuple[Origin, ...]] = field(default_factory=dict)   # path → origins
    # the checks that did not run, and why (an input they need is missing or unreadable)
    skipped: list[str] = field(default_factory=list)
    project_dir: Path = Path(".")
    # files written 0600: those holding hashes, and those holding a secret slot's secret
    secret_files: frozenset[str] = frozenset()
    secrets_mode: str = ""      # resolve | placeholder: what the secrets in the files are

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def compile_env(req: Request, sources: Sources | None = None) -> Result:
    sources = sources or Sources()
    result = Result(req.env, [], sources, project_dir=req.project_dir)
    diags = result.diagnostics
    proj, found = projects.load_project(req.project_dir, sources)
    diags.extend(found)
    if proj is None:
        return _done(result)
    env = proj.file.environments.get(req.env)
    if env is None and f"environments.{req.env}" in proj.broken:
        return _done(result)    # its mistake in perfcfg.yaml is reported above
    if env is None:
        names = sorted(proj.file.environments)
        # "--env staging,production" names environments that exist, in one flag
        listed = [e for e in req.env.replace(",", " ").split() if e]
        several = len(listed) > 1 and all(e in names for e in listed)
        diags.append(Diagnostic("PCF119", "error", f"no environment {req.env!r} in perfcfg.yaml",
                                proj.span("environments"), f"environments.{req.env}",
                                "one environment per --env: " + " ".join(
                                    f"--env {e}" for e in listed) if several else
                                did_you_mean(req.env, names) or f"environments: {', '.join(names)}"))
        return _done(result)
    targets, target_spans, found = projects.env_targets(proj, req.env)
    diags.extend(found)
    # Cross-service findings name the target versions "targets.<daemon>" (as perfcfg.yaml
    # writes them) and the host's figures "host.<key>"; both get the line that states them.
    outer_spans: dict[str, Span] = dict(target_spans)
    kind = projects.env_kind(req.env, env)
    host, host_display = _host(req, env, proj, sources, diags, outer_spans)
    shared = tuple(Path(d) for d in proj.file.presets.dirs)
    chain = load_chain(req.project_dir / env.preset, req.project_dir, sources,
                       proj.span(f"environments.{req.env}.preset"), shared,
                       named_by=PROJECT_NAMER)
    diags.extend(chain.diagnostics)
    layers, found = list(chain.layers), list(chain.diagnostics)
    if req.overlay is not None:
        # A rehearsal's preset file (other ports and paths): above every preset, below --set.
        extra = load_chain(req.overlay, req.project_dir, sources, dirs=shared,
                           named_by="--overlay")
        diags.extend(extra.diagnostics)
        found += extra.diagnostics
        seen = {layer.display for layer in layers}
        layers += [layer for layer in extra.layers if layer.display not in seen]
    if not chain.complete or (req.overlay is not None and not extra.complete):
        # A preset that could not be read: without its values every later check would
        # report what it holds as missing.
        result.skipped.append("the checks of the merged presets (a preset file could not be "
                              "read)")
        return _done(result)
    history: History = {}
    tree = merge_layers(layers, history, diags)
    for index, assignment in enumerate(req.sets, 1):
        diags.extend(apply_set(tree, assignment, history, index))
    if req.sets:
        sources.shown_only[SET_FILE] = set_source(req.sets)
    result.preset_files = [layer.display for layer in layers]
    result.history = {path_str(k): tuple(v) for k, v in history.items()}
    validator = Validator(req.env, kind, targets, target_spans)
    config = validator.run(tree, host)
    if not has_errors(validator.diagnostics):
        from perfcfg.monitoring.alerts import add_logins

        add_logins(config)
    config.layout, deploy_files = projects.env_deploy(proj, req.env)
    config.deploy = deploy_files
    config.limits = limits_on(proj.file.deploy, env)
    config.spans.update({k: v for k, v in outer_spans.items() if k not in config.spans})
    config.spans.update({k: v for k, v in proj.spans.items() if k.startswith("deploy.")})
    diags.extend(validator.diagnostics)
    result.config = config
    # Past a mistake the checks go on with the values that are valid (a refused value is
    # left out, as if unset), so one run reports every mistake it can; tuning needs a host
    # and a catalog for every daemon.
    if host is None or not validator.plannable:
        result.skipped.append(
            "tuning, the cross-service checks and the security rules (" +
            ("the host profile could not be read" if host is None else
             "a target version has no catalog") + ")")
        return _done(result)
    from perfcfg.stages import (
        planner,  # tuning and rendering stay off the import path of early errors
    )

    mode = req.secrets_mode or proj.file.secrets.mode
    result.secrets_mode = mode
    plan, found, cross = planner.make_plan(config, history, planner.Secrets(
        mode, req.environ, Path(req.project_dir), tuple(Path(d) for d in proj.file.secrets.dirs),
        hashed=req.render))
    secrets = plan.secrets if plan is not None else []
    result.plan = plan
    diags.extend(found)
    if plan is not None:
        from perfcfg.services import constraints, registry
        from perfcfg.stages import policy

        # What the daemons refuse between their parameters, and what the target host must
        # have (their constraint data).
        diags.extend(constraints.check(config, plan, registry.SERVICES))
        diags.extend(constraints.host_values(config, plan, registry.SERVICES))
        # What the manifest would say of where each file goes, and with which mode.
        from perfcfg.services import manifest

        diags.extend(manifest.check(config, plan, registry.SERVICES,
                                    limits_on(proj.file.deploy, env),
                                    registry.HOST + registry.MONITORING))

        # Cross-service findings (PCF3xx) can be waived like the security rules.
        diags.extend(policy.check(plan, config, cross))
        if not has_errors(diags):
            from perfcfg.monitoring import check as monitoring

            # the monitoring files' alert rules, targets and panels; on the validate path
            # promtool checks the rules too
            plan.monitoring, found = monitoring.compile_watch(plan, config,
                                                              run_promtool=not req.render)
            diags.extend(found)
    if plan is None:
        return _done(result)
    limits = limits_on(proj.file.deploy, env)
    if limits and host.os != "linux":
        diags.append(not_linux(host.os, proj, req.env, env))
        limits = False
    if limits:
        diags.extend(undeclared_memory(config))
    from perfcfg.services.output import Header
    from perfcfg.stages.render import render_all

    if not req.render or has_errors(diags):
        # validate (the pre-commit hook) runs every encoder too: what build would refuse,
        # the hook refuses.
        _, found = render_all(plan, config, None)
        diags.extend(_scrubbed(found, secrets))
        return _done(result)

    # Only rendered headers carry the hash; validate shares one Sources over every
    # environment, where hashing all texts read so far per environment is O(N²).
    result.input_hash = input_hash(sources, req, mode)

    from perfcfg.core.redact import mask_line

    header = Header(req.env, result.preset_files, host_display, result.input_hash, __version__,
                    mode, [mask_line(s) for s in req.sets], deploy_files, limits,
                    project=proj.file.project)
    if req.sets:
        # the files as the presets alone make them: one a --set does not change keeps them
        plain = compile_env(replace(req, sets=()))
        header = replace(header, plain=plain.files if plain.ok else {})
    files, found = render_all(plan, config, header)
    # An encoder's message may quote the value it refused; a resolved secret must not show.
    diags.extend(_scrubbed(found, secrets))
    if not has_errors(diags):
        from perfcfg.stages.render import SECRET_FILES

        result.files = files
        result.secret_files = SECRET_FILES | frozenset(plan.clear)
        out = env.output or proj.file.output
        result.output_dir = req.project_dir / out.replace("{env}", req.env)
    return _done(result)


def limits_on(deploy: model.Deploy, env: model.Environment) -> bool:
    """Whether the build writes the limits' files: the environment's choice, else the
    project's ``deploy.limits``."""
    own = env.deploy.limits if env.deploy is not None else None
    return deploy.limits if own is None else own


def not_linux(system: str, proj: projects.Project, name: str,
              env: model.Environment) -> Diagnostic:
    """PCF322: deploy.limits on a host whose kernel has no sysctl.d, /sys or systemd."""
    own = env.deploy is not None and env.deploy.limits is not None
    where = f"environments.{name}.deploy.limits" if own else "deploy.limits"
    return Diagnostic(
        "PCF322", "warning", f"deploy.limits asks for the files that put the plan's limits in "
        f"force, but the host profile says os: {system}: sysctl.d, tmpfiles.d and systemd "
        "drop-ins are Linux's, so none is written", proj.span(where), where,
        "turn deploy.limits off for this environment; on Windows PostgreSQL takes huge pages "
        "only when its service account holds the 'Lock pages in memory' right "
        "(SeLockMemoryPrivilege), and its fd and memory limits are the service's own")


def undeclared_memory(config: Config) -> list[Diagnostic]:
    """PCF323: a program whose memory no preset declares, when its runner's unit enforces it."""
    out = []
    for program in config.workload.programs:
        base = f"workload.programs.{program.name}"
        if f"{base}.memory" in config.spans or not program.processes:
            continue
        out.append(Diagnostic(
            "PCF323", "warning", f"program {program.name} declares no memory: with "
            f"deploy.limits its runner's unit holds the workers to their declared memory "
            f"(MemoryHigh, MemoryMax), so the default of {program.memory >> 20}MiB per process "
            "becomes a limit that throttles, then kills, a worker that needs more",
            config.spans.get(base), f"{base}.memory",
            "declare memory: the RSS one process reaches at its busiest (ps -o rss= -p PID), "
            "with headroom"))
    return out


def _host(req: Request, env: model.Environment, proj: projects.Project, sources: Sources,
          diags: list[Diagnostic], spans: dict[str, Span]
          ) -> tuple[model.HostProfile | None, str]:
    if req.host is not None:
        return req.host, "detected"
    path = req.host_file or (req.project_dir / env.host)
    display = _display(path, req.project_dir)
    if req.host_file is not None and display.startswith("../"):
        display = str(req.host_file)   # outside the project: as typed, not ../../../x
    named_at = None if req.host_file else proj.span(f"environments.{req.env}.host")
    allowed = [req.project_dir, *(req.project_dir / d for d in proj.file.hosts.dirs)]
    if not inside(path, allowed):
        # Confined like extends and ${file:}: a cloned project (or a pull request to
        # perfcfg.yaml) must not make perfcfg read /etc/shadow and quote its lines.
        diags.append(Diagnostic(
            "PCF101", "error", f"host profile {display} is outside the project directory",
            named_at, f"environments.{req.env}.host" if named_at else None,
            "host profiles are read from the project directory (after resolving .. and "
            "symbolic links) and the directories perfcfg.yaml lists under hosts.dirs; list "
            "its directory there, or copy the profile into the project"))
        return None, display
    host, found = projects.load_host(path, display, sources, named_at, spans, req.host_file,
                                     req.project_dir)
    diags.extend(found)
    return host, display


def _display(path: Path, base: Path) -> str:
    from perfcfg.stages.layers import display_name

    return display_name(path.resolve(), base.resolve())


def input_hash(sources: Sources, req: Request, mode: str) -> str:
    """SHA-256 over every input text (not secret values), the --set flags and perfcfg's version."""
    h = hashlib.sha256()
    for name in sorted(sources.texts):
        h.update(name.encode() + b"\0" + sources.texts[name].encode() + b"\0")
    for assignment in req.sets:
        h.update(b"set\0" + assignment.encode() + b"\0")
    h.update(f"env\0{req.env}\0secrets\0{mode}\0perfcfg\0{__version__}".encode())
    if req.host is not None:
        h.update(repr(req.host.model_dump()).encode())
    return h.hexdigest()


def _scrubbed(diagnostics: list[Diagnostic], secrets: list[str]) -> list[Diagnostic]:
    from dataclasses import replace

    from perfcfg.core.redact import scrub

    return [replace(d, message=scrub(d.message, secrets) or "", hint=scrub(d.hint, secrets))
            for d in diagnostics]


def _done(result: Result) -> Result:
    result.diagnostics = finalize(once_per_place(result.diagnostics))
    return result


def once_per_place(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A value the loader refused (an ambiguous number, a tag) is read on as text; that it is
    then not a valid value of its setting is the same mistake, and is not reported twice."""
    refused = {d.span for d in diagnostics
               if d.severity == "error" and d.code.startswith("PCF1") and d.span is not None}
    return [d for d in diagnostics
            if not (d.code.startswith("PCF2") and d.span in refused)]


