"""JSON Schemas for editors and other validators (draft-07, which yaml-language-server reads).

Three documents: ``preset.schema.json`` (perfcfg's own sections from the pydantic models, and
every daemon parameter of the target versions from the catalogs), ``project.schema.json`` and
``host.schema.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perfcfg import model
from perfcfg.model import rules as modelrules
from perfcfg.model import spec as modeldef
from perfcfg.services import catalog as catalogs
from perfcfg.services import registry
from perfcfg.services.base import Service

if TYPE_CHECKING:
    from pydantic import BaseModel

DRAFT7 = "http://json-schema.org/draft-07/schema#"
AUTO = {"const": "auto"}
SECRET = {"type": "string", "pattern": modelrules.SECRET_REF.pattern}


def documents() -> dict[str, dict[str, Any]]:
    return {
        "preset.schema.json": preset_schema(model.Targets()),
        "project.schema.json": _targets(_model_schema(modeldef.ProjectFile,
                                                      "perfcfg project file")),
        "host.schema.json": _model_schema(modeldef.HostProfile, "perfcfg host profile"),
    }


def _model_schema(cls: type[BaseModel], title: str) -> dict[str, Any]:
    schema = _draft7(cls.model_json_schema(mode="validation"))
    schema["$schema"] = DRAFT7
    schema["title"] = title
    return schema


def _targets(schema: dict[str, Any]) -> dict[str, Any]:
    """Offer exactly the versions that have a catalog under each ``targets`` key, and at most
    one flavour of a service (redis or valkey)."""
    targets = schema["definitions"]["Targets"]
    props = targets["properties"]
    for service in registry.SERVICES:
        for key, versions in service.target_versions().items():
            prop = props[key]
            typed = prop.get("type", "string")
            enum: dict[str, Any] = {
                "type": typed, "enum": [int(v) if typed == "integer" else v for v in versions]}
            if "anyOf" in prop:
                prop["anyOf"][0] = enum
            else:
                props[key] = {k: prop[k] for k in ("title", "default") if k in prop} | enum
        if service.flavours:
            targets.setdefault("allOf", []).append(
                {"not": {"required": list(service.flavours)}})
    return schema


def _draft7(schema: dict[str, Any]) -> dict[str, Any]:
    """pydantic writes 2020-12 ``$defs``; draft-07 readers want ``definitions``."""
    defs = schema.pop("$defs", {})
    if defs:
        schema["definitions"] = defs
    rewritten: dict[str, Any] = _rewrite_refs(schema)
    return rewritten


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/definitions/") if k == "$ref" else _rewrite_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def preset_schema(targets: model.Targets) -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    props: dict[str, Any] = {
        "extends": {"description": "Presets this one builds on, applied first: 'builtin:NAME' "
                                   "or a path relative to this file.",
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    }
    sections: tuple[tuple[str, type[BaseModel]], ...] = (
        ("workload", modeldef.Workload), ("budget", modeldef.Budget),
        ("monitoring", modeldef.Monitoring))
    for name, cls in sections:
        sub = _draft7(cls.model_json_schema())
        definitions.update(sub.pop("definitions", {}))
        props[name] = sub
    lists: tuple[tuple[str, type[BaseModel]], ...] = (
        ("databases", modeldef.Database), ("users", modeldef.User), ("clients", modeldef.Client))
    for name, cls in lists:
        sub = _draft7(cls.model_json_schema())
        definitions.update(sub.pop("definitions", {}))
        props[name] = {"type": "array", "items": {"anyOf": [sub, {"type": "string"}]}}
    for service in registry.SERVICES:
        props[service.name] = _service(service, targets, service.section)
        for section in service.subsections:
            props[service.name]["properties"][section] = _service(service, targets, section)
        if service.own_schema is not None:
            props[service.name]["properties"].update(service.own_schema(_draft7))
    policy = _draft7(modeldef.Policy.model_json_schema())
    definitions.update(policy.pop("definitions", {}))
    props["policy"] = policy
    # A preset is an overlay: any field may come from a base, except the names that merge
    # list items.
    props = _optional(props)
    definitions = _optional(definitions)
    for name in ("databases", "users", "clients"):
        props[name]["items"]["anyOf"][0]["required"] = ["name"]
    for service in registry.SERVICES:
        for key in service.record_keys:
            props[service.name]["properties"][key]["items"]["anyOf"][0]["required"] = ["name"]
    definitions["Waiver"]["required"] = ["rule", "reason"]
    definitions["AlertWaiver"]["required"] = ["alert", "reason"]
    props["workload"]["properties"]["programs"]["items"] = {
        "anyOf": [{"$ref": "#/definitions/Program", }, {"type": "string"}]}
    definitions["Program"]["required"] = ["name"]
    return {"$schema": DRAFT7, "title": "perfcfg preset", "type": "object",
            "additionalProperties": False, "properties": props, "definitions": definitions}


def _optional(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _optional(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional(v) for v in node]
    return node


def _service(service: Service, targets: model.Targets, section: str | None
             ) -> dict[str, Any]:
    cat = service.catalog(targets)
    props: dict[str, Any] = {}
    for param in (cat.params.values() if cat else ()):
        if param.section != section:
            continue
        props[param.name] = {"anyOf": [_param(param), AUTO, SECRET]}
    return {"type": "object", "additionalProperties": False, "properties": dict(sorted(props.items()))}


def _param(param: catalogs.Param) -> dict[str, Any]:
    if param.type == "bool":
        return {"anyOf": [{"type": "boolean"}, {"type": "string"}, {"enum": [0, 1]}]}
    if param.type == "enum":
        return {"anyOf": [{"enum": list(param.values or ())}, {"type": "boolean"}]}
    if param.type in ("integer", "real") and param.unit is None:
        bounds = {k: v for k, v in (("minimum", param.min), ("maximum", param.max)) if v is not None}
        return {"type": "number" if param.type == "real" else "integer", **bounds}
    if param.type == "seconds":
        return {"type": "number", "minimum": 0}
    if param.type == "list":
        return {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}
    return {"type": ["string", "integer"]}
