"""``perfcfg explain``: a setting's final value and the whole chain that produced it.

For a written value the chain lists every place that set it, in order (built-in preset lines,
preset file lines, --set); for a tuned value also the rule, its reason, formula and inputs.
Secret values are never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perfcfg.core.encoding import EncodeError
from perfcfg.core.plan import Setting
from perfcfg.core.redact import is_secret_key, mask_line
from perfcfg.core.spans import Origin
from perfcfg.core.units import human
from perfcfg.services import registry
from perfcfg.stages.secrets import is_reference

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.base import Service
    from perfcfg.services.catalog import Param
    from perfcfg.services.monitor import Alert
    from perfcfg.stages.pipeline import Result

SECRET = "<secret>"


ALERTS = "monitoring.alerts."


def explain(result: Result, path: str) -> dict[str, Any] | None:
    found = _explain(result, path)
    if found is not None and is_secret_key(path):
        for step in found["chain"]:
            # a layer's literal password is never shown; a reference is
            if "value" in step and not is_reference(step["value"]):
                step["value"] = SECRET
    return found


def _planned(result: Result) -> tuple[Plan, Config]:
    if result.plan is None or result.config is None:
        raise ValueError(f"{result.env} has no plan to explain: report its diagnostics")
    return result.plan, result.config


def _explain(result: Result, path: str) -> dict[str, Any] | None:
    plan, config = _planned(result)
    if path.startswith(ALERTS):
        alert = _alert(plan, path[len(ALERTS):])
        if alert is not None:
            return _explain_alert(result, path, alert)
    setting = plan.settings.get(path) or plan.settings.get(_catalog_spelling(config, path))
    if setting is not None:
        return _setting(setting, config)
    structural = _structural(config, path)
    if structural is _ABSENT:
        return _input(config, path) or _item_line(result, path) or \
            _daemon_default(config, path)
    chain = [_origin(o) for o in _history(result, path)]
    if structural in (None, "auto"):
        planned = _planned_item(plan, config, path, structural, chain)
        if planned is not None:
            return planned
    value = _mask(path, structural)
    return {"path": path, "value": value, "written_as": None, "origin": chain[-1] if chain else
            {"kind": "default"}, "chain": chain, "rule": "", "reason": "", "formula": "",
            "inputs": {}, "deviation": ""}


def _alert(plan: Plan, key: str) -> Alert | None:
    """The alert ``key`` names: ``Name.pool`` (one of a rule per pool or program), or ``Name``
    when the environment has one rule of that name."""
    watch = plan.monitoring
    if watch is None:
        return None
    keyed = watch.keyed()
    found = [keyed[key]] if key in keyed else [a for a in keyed.values() if a.name == key]
    return found[0] if len(found) == 1 else None


def _explain_alert(result: Result, path: str, alert: Alert) -> dict[str, Any]:
    """An alert rule: its expression, where each number in it comes from (the settings it
    reads, each explained in one line), its severity and for: and who set them."""
    sources = []
    for source in alert.sources:
        found = explain(result, source)
        if found is not None:
            sources.append({"path": source, "value": found["value"],
                            "written_as": found["written_as"], "origin": found["origin"],
                            "rule": found["rule"], "reason": found["reason"]})
    chain = [_origin(o) for o in _history(result, f"monitoring.alerts.{alert.name}")]
    return {"path": path, "value": alert.expr, "written_as": None,
            "origin": {"kind": "alert"}, "chain": chain, "rule": alert.name,
            "reason": alert.summary, "formula": alert.comment, "inputs": {}, "deviation": "",
            "alert": {"name": alert.name, "service": alert.service, "kind": alert.kind,
                      "severity": alert.severity, "for": alert.for_,
                      "labels": alert.labels(), "sources": sources}}


def _catalog_spelling(config: Config, path: str) -> str:
    """``postgres.timezone`` → ``postgres.TimeZone``: a daemon whose parameter names ignore
    case is asked in any case, and its settings are kept in its catalog's spelling."""
    name, _, key = path.partition(".")
    if name not in registry.names() or not key or "." in key:
        return path
    service = registry.by_name(name)
    param = service.param(config.targets, key) if service.case_insensitive else None
    return f"{name}.{param.name}" if param is not None else path


def paths(result: Result) -> list[str]:
    """Every setting path ``explain`` answers for in this environment: the plan's settings,
    each leaf of perfcfg's own sections, and every main parameter of the target catalogs."""
    plan, config = _planned(result)
    found = set(plan.settings) | set(_item_lines(plan))

    def leaves(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                leaves(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            found.add(prefix)

    leaves("", _tree(config))
    if plan.monitoring is not None:
        found.update(f"{ALERTS}{key}" for key in plan.monitoring.keyed())
    found.update(f"targets.{daemon}" for daemon in _targets(config))
    if config.host is not None:
        found.update(f"host.{key}" for key in config.host.model_dump())
    for service in registry.SERVICES:
        cat = service.catalog(config.targets)
        for param in cat.params.values() if cat else ():
            if param.section == service.section:
                found.add(f"{service.name}.{param.name}")
    return sorted(found)


def _planned_item(plan: Plan, config: Config, path: str, value: Any,
                  chain: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An item's key left to perfcfg (``databases.reports.pool_size: auto``, or unset): what
    the plan writes for that item, from the setting that writes it (its own line's value),
    else the setting of the same name the item then runs with (``pool_mode``)."""
    parts = path.split(".")
    if len(parts) != 3:
        return None
    section, name, key = parts
    own = next((s for p, s in plan.settings.items()
                if p.endswith(f".{section}.{name}.{key}")), None)
    if own is not None:
        found = _setting(own, config)
        found.update(path=path, chain=chain or found["chain"],
                     reason=f"{value or 'unset'}: written for {name} as {own.path}; "
                            f"{found['reason']}".rstrip("; "))
        return found
    entry = _entry(plan, section, name)
    if entry is not None and key in entry:
        return {"path": path, "value": _jsonable(entry[key]), "written_as": None,
                "origin": {"kind": "derived"}, "chain": chain, "rule": "",
                "reason": f"{value or 'unset'}: written for {name} as {entry[key]}",
                "formula": "", "inputs": {}, "deviation": ""}
    # what the item runs with when its line names nothing (the service's fallback)
    fallbacks = {k: v for s in registry.SERVICES for k, v in s.fallbacks.items()}
    shared = plan.settings.get(fallbacks.get(f"{section}.{key}", ""))
    if entry is None or shared is None:
        return None
    found = _setting(shared, config)
    found.update(path=path, written_as=None, chain=chain,
                 reason=f"unset: nothing is written for {name}, so it runs with "
                        f"{shared.path}; {found['reason']}".rstrip("; "))
    return found


def _items(plan: Plan) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(service, nested section) → the lines the service's part of the plan writes for the
    items of that section (pgbouncer's ``[databases]`` lines)."""
    out = {}
    for service in registry.SERVICES:
        part = plan.parts.get(service.name)
        if service.nested and isinstance(part, list) and \
                all(isinstance(e, dict) and "name" in e for e in part):
            out[(service.name, service.nested[0])] = part
    return out


def _entry(plan: Plan, section: str, name: str) -> dict[str, Any] | None:
    """The plan's line for item ``name`` of ``section`` (a database's ``[databases]`` line)."""
    return next((e for (_, nested), entries in _items(plan).items() if nested == section
                 for e in entries if e["name"] == name), None)


def _item_lines(plan: Plan) -> dict[str, Any]:
    """``<service>.<nested section>.<item>.<key>`` → the value written on that item's line,
    for every service that writes items of one of the plan's sections."""
    return {f"{service}.{section}.{entry['name']}.{key}": value
            for (service, section), entries in _items(plan).items()
            for entry in entries for key, value in entry.items() if key != "name"}


def _item_line(result: Result, path: str) -> dict[str, Any] | None:
    """A value of an item's line that no setting holds (a pool size the preset declares on
    the database): the line's value, with the history of the preset key that gave it."""
    lines = _item_lines(_planned(result)[0])
    if path not in lines:
        return None
    section, name, key = path.split(".", 1)[1].split(".", 2)
    chain = [_origin(o) for o in _history(result, f"{section}.{name}.{key}")]
    return {"path": path, "value": _jsonable(lines[path]), "written_as": str(lines[path]),
            "origin": chain[-1] if chain else {"kind": "derived"}, "chain": chain, "rule": "",
            "reason": f"written on {name}'s line" + (f" from {section}.{name}.{key}"
                                                     if chain else ""),
            "formula": "", "inputs": {}, "deviation": ""}


def _targets(config: Config) -> dict[str, str]:
    return {k: v for k, v in config.targets.model_dump().items() if v is not None}


def _input(config: Config, path: str) -> dict[str, Any] | None:
    """A target version (``targets.<daemon>``) or a host figure (``host.<key>``): inputs the
    cross-service checks name, with the line that states them."""
    head, _, key = path.partition(".")
    if head == "targets" and key in _targets(config):
        value: Any = _targets(config)[key]
        reason = (f"the {key} version the files are written for: its catalog checks every "
                  f"{key} parameter")
        default = "perfcfg's default target (perfcfg.yaml's targets sets it)"
    elif head == "host" and config.host is not None and key in config.host.model_dump():
        value = _jsonable(config.host.model_dump()[key])
        reason = "a figure of the host profile the budget is planned for"
        default = "the host profile's default, or detected on this host"
    else:
        return None
    span = config.spans.get(path)
    origin = {"kind": "file", "file": span.file, "line": span.line, "column": span.column} \
        if span is not None else {"kind": "default", "detail": default}
    return {"path": path, "value": value, "written_as": None, "origin": origin, "chain": [],
            "rule": "", "reason": reason, "formula": "", "inputs": {}, "deviation": ""}


def _daemon_default(config: Config, path: str) -> dict[str, Any] | None:
    """A parameter perfcfg leaves alone: the daemon's own default, from its catalog."""
    name, _, key = path.partition(".")
    if name not in registry.names() or not key:
        return None
    service = registry.by_name(name)
    cat = service.catalog(config.targets)
    section, _, key = key.rpartition(".") if service.subsections else ("", "", key)
    if cat is None or (section and section not in service.subsections):
        return None
    param = cat.get(key, section or service.section)
    if param is None:
        return None
    catalog = f"catalog {cat.daemon}-{cat.version}.json"
    return {"path": path, "value": param.default, "written_as": _default_written(service, param),
            "origin": {"kind": "daemon-default", "detail": catalog}, "chain": [], "rule": "",
            "reason": "not set by perfcfg: the daemon's default applies", "formula": "",
            "inputs": {}, "deviation": ""}


def _default_written(service: Service, param: Param) -> str | None:
    """The default as the daemon's file would write it (``5min``, not ``300``), if it can be."""
    if param.default in (None, "") or param.unit is None:
        return None
    try:
        return str(service.encode(param, service.coerce(param, param.default)))
    except Exception:   # a default perfcfg's coercion does not take: show it as catalogued
        return None


def _setting(setting: Setting, config: Config) -> dict[str, Any]:
    secret = setting.reason == "secret reference" or is_secret_key(setting.path)
    return {
        "path": setting.path,
        "value": SECRET if secret else _jsonable(setting.value),
        "written_as": SECRET if secret else _written(setting, config),
        "origin": _origin(setting.origin),
        "chain": [_origin(o) for o in setting.history],
        "rule": setting.rule,
        "reason": setting.reason,
        "formula": setting.formula,
        "inputs": {k: _jsonable(v) for k, v in sorted(setting.inputs.items())},
        "deviation": setting.deviation,
    }


def _written(setting: Setting, config: Config) -> str | None:
    if setting.service not in registry.names():
        return None
    service = registry.by_name(setting.service)
    parts = setting.path.split(".")
    section = service.section
    if service.subsections or len(parts) > 2:
        # a program's key (workload.programs.X.key) or a nested section (supervisor.S.key)
        section = "program" if parts[1] == "programs" else (parts[1] if len(parts) == 3
                                                            else service.section)
    param = service.param(config.targets, setting.name, section)
    if param is None:
        return None
    try:
        return service.encode(param, setting.value)
    except EncodeError:
        return None


def _origin(origin: Origin) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": origin.kind}
    if origin.span is not None:
        out.update(file=origin.span.file, line=origin.span.line, column=origin.span.column)
    if origin.detail:  # a --set flag may carry a literal password: mask it like a code frame
        out["detail"] = mask_line(origin.detail)
    if origin.written is not None:
        out["value"] = mask_line(origin.written)
    return out


def _history(result: Result, path: str) -> list[Origin]:
    return list(result.history.get(path, ())) if result.history else []


def _tree(config: Config) -> dict[str, Any]:
    """perfcfg's own sections, with named lists keyed by name (the setting paths' shape)."""
    tree: dict[str, Any] = {
        "workload": config.workload.model_dump(),
        "budget": config.budget.model_dump(),
        "databases": {d.name: d.model_dump() for d in config.databases},
        "users": {u.name: u.model_dump() for u in config.users},
        "clients": {c.name: c.model_dump() for c in config.clients},
        # perfcfg's own single-value keys inside daemon sections (redis.role,
        # postgres.spare_connections)
        **{svc: {k: _named(v) for k, v in own.items() if isinstance(v, (str, int, list))}
           for svc, own in config.own.items()},
        "policy": config.policy.model_dump(),
    }
    tree["workload"]["programs"] = {p["name"]: p for p in tree["workload"]["programs"]}
    return {key: _jsonable(value) for key, value in tree.items()}


def _named(value: Any) -> Any:
    """A named list (redis.users) keyed by name, as its setting paths are."""
    if isinstance(value, list):
        return {item.name: item.model_dump() for item in value if hasattr(item, "name")}
    return value


_ABSENT = object()


def _structural(config: Config, path: str) -> Any:
    """The value at ``path`` in perfcfg's own sections (None is a value: "not set"), or
    ``_ABSENT``."""
    node: Any = _tree(config)
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _mask(path: str, value: Any) -> Any:
    """The value with every literal secret inside it replaced (references stay visible)."""
    if isinstance(value, dict):
        return {k: _mask(f"{path}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(path, v) for v in value]
    if is_secret_key(path) and value is not None and not is_reference(value):
        return SECRET
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def as_text(found: dict[str, Any], place_of: Callable[[str], str] | None = None) -> str:
    """The answer for a person; ``place_of`` names a project file as seen from where perfcfg runs
    (the places of the chain; JSON keeps the project's names)."""
    # a directive written on several lines (Redis's save) is shown on one
    shown = found["written_as"].replace("\n", ", ") if found["written_as"] else None
    lines = [f"{found['path']} = {shown or _show(found['value'])}"]
    origin = found["origin"]
    if origin["kind"] == "alert":
        return _alert_text(found, lines, place_of)
    if origin["kind"] == "tuned":
        lines.append(f"  tuned by rule {found['rule']}: {found['reason']}")
        if found["formula"]:
            lines.append(f"  formula: {found['formula']}")
        for key, value in found["inputs"].items():
            lines.append(f"    {key} = {_show(value)}")
        if found["deviation"]:
            lines.append(f"  differs from PGTune: {found['deviation']}")
    elif origin["kind"] == "derived":
        lines.append(f"  derived: {found['reason']}")
    elif origin["kind"] == "daemon-default":
        lines.append(f"  {found['reason']}, from the {origin['detail']}")
    elif found["reason"]:
        lines.append(f"  {found['reason']}")
    if found["chain"]:
        lines.append("  set by, in order (the last one wins):")
        for i, step in enumerate(found["chain"], 1):
            value = f": {step['value']}" if step.get("value") is not None else ""
            lines.append(f"    {i}. {_place(step, place_of)}{value}")
    elif origin["kind"] not in ("tuned", "daemon-default"):
        lines.append(f"  origin: {_place(origin, place_of)}")
    return "\n".join(lines) + "\n"


def _alert_text(found: dict[str, Any], lines: list[str],
                place_of: Callable[[str], str] | None = None) -> str:
    alert = found["alert"]
    lines.append(f"  alert {alert['name']} ({alert['service']}, {alert['kind']}): "
                 f"severity {alert['severity']}, for {alert['for']}")
    lines.append(f"  fires when: {found['reason']}")
    lines.append(f"  numbers: {found['formula']}")
    if alert["sources"]:
        lines.append("  from:")
    for source in alert["sources"]:
        how = f"tuned by rule {source['rule']}" if source["origin"]["kind"] == "tuned" else \
            f"derived: {source['reason']}" if source["origin"]["kind"] == "derived" else \
            f"set at {_place(source['origin'], place_of)}"
        lines.append(f"    {source['path']} = {source['written_as'] or _show(source['value'])}"
                     f" ({how})")
    if found["chain"]:
        lines.append("  severity or for: set by, in order (the last one wins):")
        for i, step in enumerate(found["chain"], 1):
            lines.append(f"    {i}. {_place(step, place_of)}")
    return "\n".join(lines) + "\n"


def _place(origin: dict[str, Any], shown: Callable[[str], str] | None = None) -> str:
    if "file" in origin:
        file = shown(origin["file"]) if shown is not None else origin["file"]
        where = f"{file}:{origin['line']}:{origin['column']}"
        return where + (" (removed with !unset)" if origin.get("detail") == "unset" else "")
    return str(origin.get("detail") or origin["kind"])


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 20:
        return f"{value} ({human(value)})"
    return str(value)


