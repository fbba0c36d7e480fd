"""``perfcfg explain``: a setting's final value and the whole chain that produced it.

For a written value the chain lists every place that set it, in order (built-in preset lines,
preset file lines, --set); for a tuned value also the rule, its reason, formula and inputs.
Secret values are never shown.
"""

from __future__ import annotations

from typing import Any

from perfcfg.core.plan import Setting
from perfcfg.core.encoding import EncodeError
from perfcfg.services import registry
from perfcfg.core.redact import is_secret_key, mask_line
from perfcfg.stages.secrets import is_reference
from perfcfg.core.spans import Origin
from perfcfg.core.units import human

SECRET = "<secret>"


def explain(result: Any, path: str) -> dict[str, Any] | None:
    plan, config = result.plan, result.config
    setting = plan.settings.get(path)
    if setting is not None:
        return _setting(setting, config)
    structural = _structural(config, path)
    if structural is None:
        return None
    chain = [_origin(o) for o in _history(result, path)]
    value = _mask(path, structural)
    return {"path": path, "value": value, "written_as": None, "origin": chain[-1] if chain else
            {"kind": "default"}, "chain": chain, "rule": "", "reason": "", "formula": "",
            "inputs": {}, "deviation": ""}


def _setting(setting: Setting, config: Any) -> dict[str, Any]:
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


def _written(setting: Setting, config: Any) -> str | None:
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
    return out


def _history(result: Any, path: str) -> list[Origin]:
    return list(result.history.get(path, ())) if result.history else []


def _structural(config: Any, path: str) -> Any:
    tree: dict[str, Any] = {
        "workload": config.workload.model_dump(),
        "budget": config.budget.model_dump(),
        "databases": {d.name: d.model_dump() for d in config.databases},
        "users": {u.name: u.model_dump() for u in config.users},
        "clients": {c.name: c.model_dump() for c in config.clients},
        # perfcfg's own single-value keys inside daemon sections (e.g. redis.role)
        **{svc: {k: v for k, v in own.items() if isinstance(v, str)}
           for svc, own in config.own.items()},
    }
    tree["workload"]["programs"] = {p["name"]: p for p in tree["workload"]["programs"]}
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return _jsonable(node)


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


def as_text(found: dict[str, Any]) -> str:
    lines = [f"{found['path']} = {found['written_as'] or _show(found['value'])}"]
    origin = found["origin"]
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
    if found["chain"]:
        lines.append("  set by, in order (the last one wins):")
        for i, step in enumerate(found["chain"], 1):
            lines.append(f"    {i}. {_place(step)}")
    elif origin["kind"] != "tuned":
        lines.append(f"  origin: {_place(origin)}")
    return "\n".join(lines) + "\n"


def _place(origin: dict[str, Any]) -> str:
    if "file" in origin:
        where = f"{origin['file']}:{origin['line']}:{origin['column']}"
        return where + (" (removed with !unset)" if origin.get("detail") == "unset" else "")
    return origin.get("detail") or origin["kind"]


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 20:
        return f"{value} ({human(value)})"
    return str(value)


