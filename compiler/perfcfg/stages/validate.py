"""Validation: the merged preset tree → a typed ``Config``, with every problem reported.

perfcfg's own structures are checked by the models of :mod:`perfcfg.model` (pydantic-core,
compiled from the pydantic declarations of :mod:`perfcfg.modeldef`); daemon
parameters by the catalog of the target version (:mod:`perfcfg.services.catalog`). Each diagnostic
carries the span of the offending value and its setting path; unknown names get a
did-you-mean.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic_core import ValidationError

from perfcfg.services import catalog as catalogs
from perfcfg import model
from perfcfg.core.diagnostics import Diagnostic
from perfcfg.modelbase import Record
from perfcfg.core.nodes import Mapping, Path, Scalar, Sequence, to_plain
from perfcfg.core.spans import Span
from perfcfg.services.units import UnitError

SECTIONS = ("postgres", "pgbouncer", "redis", "supervisor", "databases", "users", "clients",
            "workload", "budget", "policy")
SERVICE_DAEMON = {"postgres": "postgresql", "pgbouncer": "pgbouncer", "redis": "redis",
                  "supervisor": "supervisor"}
AUTO = "auto"

# Values a daemon accepts without an error but changes: (daemon, name) → (effective maximum,
# why). Found by perfcfg verify against the real daemons.
SILENT_CLAMPS: dict[tuple[str, str], tuple[int, str]] = {
    ("redis", "hz"): (500, "Redis clamps hz to 500 (CONFIG GET then shows 500)"),
}

# perfcfg's own keys inside daemon sections (not daemon parameters).
OWN_KEYS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "redis": {"role": lambda v: _choice(v, ("cache", "store"))},
    "supervisor": {},
}
SUPERVISOR_SUBSECTIONS = ("unix_http_server", "inet_http_server")
# Keys perfcfg writes itself; a preset must not set them (they would break the topology or
# smuggle in other files).
MANAGED: dict[str, dict[str, str]] = {
    "postgres": {
        "include": "perfcfg writes one self-contained file",
        "include_dir": "perfcfg writes one self-contained file",
        "include_if_exists": "perfcfg writes one self-contained file",
        "config_file": "set by the service manager, not in postgresql.conf",
    },
    "pgbouncer": {"%include": "perfcfg writes one self-contained file"},
    "redis": {"include": "perfcfg writes one self-contained file",
              "user": "declare Redis users under redis.users",
              "requirepass": "declare redis.users: Redis ignores requirepass when it reads an "
                             "aclfile, and it would put the password in redis.conf"},
}


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UnitError(f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass
class Config:
    env: str
    kind: str
    targets: model.Targets
    host: model.HostProfile | None
    services: dict[str, dict[str, Any]]           # service → param → canonical value or "auto"
    supervisor_sections: dict[str, dict[str, Any]]
    redis_role: str
    databases: list[model.Database]
    users: list[model.User]
    clients: list[model.Client]
    workload: model.Workload
    budget: model.Budget
    policy: model.Policy
    spans: dict[str, Span] = field(default_factory=dict)  # setting path → span of its value
    redis_users: list[model.RedisUser] = field(default_factory=list)


def did_you_mean(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.7)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None


class Validator:
    def __init__(self, env: str, kind: str, targets: model.Targets,
                 target_spans: dict[str, Span] | None = None):
        self.env, self.kind, self.targets = env, kind, targets
        self.target_spans = target_spans or {}   # "targets.postgres" → its span in perfcfg.yaml
        self.diagnostics: list[Diagnostic] = []
        self.spans: dict[str, Span] = {}

    def error(self, code: str, message: str, span: Span | None, path: str,
              hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, "error", message, span, path, hint))

    # -- entry point ---------------------------------------------------------------------

    def run(self, tree: Mapping, host: model.HostProfile | None) -> Config:
        for key, entry in tree.entries.items():
            if key not in SECTIONS:
                self.error("PCF201", f"unknown section {key!r}", entry.key_span, key,
                           did_you_mean(key, list(SECTIONS)) or
                           f"sections are: {', '.join(SECTIONS)}")
        section = lambda name: tree.entries[name].value if name in tree.entries else None  # noqa: E731
        services = {name: self.service(name, section(name)) for name in SERVICE_DAEMON}
        sup_sections = {name: services["supervisor"].pop(name, {})
                        for name in SUPERVISOR_SUBSECTIONS}
        redis_role = services["redis"].pop("role", "cache")
        redis_users = services["redis"].pop("users", [])
        return Config(
            self.env, self.kind, self.targets, host, services, sup_sections, redis_role,
            self.models("databases", section("databases"), model.Database),
            self.models("users", section("users"), model.User),
            self.models("clients", section("clients"), model.Client),
            self.one("workload", section("workload"), model.Workload) or model.Workload(),
            self.one("budget", section("budget"), model.Budget) or model.Budget(),
            self.policy(section("policy")),
            self.spans,
            redis_users,
        )

    # -- daemon sections -----------------------------------------------------------------

    def service(self, name: str, node: Any) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.error("PCF202", f"{name} must be a mapping of parameters", node.span, name,
                       f"write one 'parameter: value' per line under {name}:")
            return {}
        self.spans.setdefault(name, node.span)   # where rules about a missing key point
        daemon = SERVICE_DAEMON[name]
        version = {"postgresql": str(self.targets.postgres), "pgbouncer": self.targets.pgbouncer,
                   "redis": self.targets.redis, "supervisor": self.targets.supervisor.split(".")[0]
                   }[daemon]
        cat = catalogs.load(daemon, version)
        if cat is None:
            self.no_catalog(daemon, version, node, name)
            return {}
        out: dict[str, Any] = {}
        for key, entry in node.entries.items():
            path = f"{name}.{key}"
            if name == "redis" and key == "users":
                out[key] = self.models(path, entry.value, model.RedisUser)
                continue
            if name == "supervisor" and key in SUPERVISOR_SUBSECTIONS:
                out[key] = self.params(cat, entry.value, path, section=key) \
                    if isinstance(entry.value, Mapping) else {}
                continue
            own = OWN_KEYS.get(name, {})
            if key in own:
                self.spans[path] = entry.value.span
                value = self.scalar(entry.value, path)
                try:
                    out[key] = own[key](value)
                except UnitError as exc:
                    self.error("PCF204", f"invalid value for {path}: {exc}", entry.value.span, path,
                               "redis.role is cache (evict keys) or store (keep them)")
                continue
            section = "supervisord" if name == "supervisor" else None
            param = self.param(cat, daemon, version, key, entry, path, section, extra=own)
            if param is not None:
                canonical = self.coerce(cat, param, entry.value, path)
                if canonical is not None:
                    out[param.name] = canonical
        return out

    def no_catalog(self, daemon: str, version: str, node: Mapping, name: str) -> None:
        """One diagnostic per service, at the version in perfcfg.yaml when it is known:
        every parameter of the section would otherwise repeat it."""
        where = f"targets.{name}"
        self.error("PCF207", f"perfcfg has no parameter catalog for {daemon} {version}",
                   self.target_spans.get(where) or
                   next((e.key_span for e in node.entries.values()), node.span),
                   where, f"versions with a catalog: {', '.join(_catalog_versions(daemon))}")

    def params(self, cat: catalogs.Catalog | None, node: Mapping, prefix: str,
               section: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, entry in node.entries.items():
            path = f"{prefix}.{key}"
            param = self.param(cat, "supervisor", self.targets.supervisor, key, entry, path, section)
            if param is not None:
                canonical = self.coerce(cat, param, entry.value, path)
                if canonical is not None:
                    out[param.name] = canonical
        return out

    def param(self, cat, daemon, version, key, entry, path, section, extra=()):
        self.spans[path] = entry.value.span
        service = path.split(".")[0]
        if key in MANAGED.get(service, {}):
            self.error("PCF206", f"{path} is managed by perfcfg", entry.key_span, path,
                       MANAGED[service][key])
            return None
        param = cat.get(key, section)
        if param is None:
            names = cat.names(section) + list(extra)
            self.error("PCF201", f"unknown {daemon} {version} parameter {key!r}", entry.key_span,
                       path, did_you_mean(key, names) or
                       f"see the {daemon} {version} documentation for valid names")
        return param

    def coerce(self, cat, param, node, path) -> Any:
        value = self.scalar(node, path, allow_list=param.type == "list")
        if value is None:
            return None
        if value == AUTO:
            return AUTO
        if isinstance(value, str) and model.SECRET_REF.match(value):
            return value
        try:
            canonical = catalogs.coerce(cat, param, value)
        except UnitError as exc:
            code = "PCF205" if "range" in str(exc) else "PCF204"
            self.error(code, f"invalid value for {path}: {_shown(exc, path, value)}", node.span,
                       path, _fix_it(cat, param, value) or _unit_hint(cat, param))
            return None
        self.clamped(cat.daemon, param.name, canonical, node.span, path)
        return canonical

    def clamped(self, daemon: str, name: str, value: Any, span: Span, path: str) -> None:
        """Values the daemon accepts but silently changes: say so now (verify proves it)."""
        limit = SILENT_CLAMPS.get((daemon, name))
        if limit is not None and isinstance(value, int) and value > limit[0]:
            self.diagnostics.append(Diagnostic(
                "PCF213", "warning", f"{path} = {value} is silently lowered to {limit[0]} by "
                f"{daemon}: {limit[1]}", span, path, f"write {limit[0]} or less"))

    def scalar(self, node, path, allow_list: bool = False) -> Any:
        if isinstance(node, Scalar):
            if node.value is None:
                self.error("PCF203", f"{path} has no value", node.span, path,
                           "give a value, write auto, or remove the key (!unset removes an inherited one)")
            return node.value
        if allow_list and isinstance(node, Sequence):
            plain, _ = to_plain(node)
            return plain
        self.error("PCF203", f"{path} must be a single value", node.span, path,
                   "write one value; only list parameters (like redis.save) take a list")
        return None

    # -- perfcfg structures --------------------------------------------------------------

    def models(self, name: str, node: Any, cls: type[Record]) -> list:
        if node is None:
            return []
        if not isinstance(node, Sequence):
            self.error("PCF202", f"{name} must be a list of items with a name", node.span, name,
                       f"write each item as '- name: …' under {name}:")
            return []
        out = []
        for i, item in enumerate(node.items):
            obj = self.validate_model(cls, item, (name,), i)
            if obj is not None:
                out.append(obj)
        return out

    def one(self, name: str, node: Any, cls: type[Record]):
        if node is None:
            return None
        return self.validate_model(cls, node, (name,), None)

    def validate_model(self, cls, node, prefix: Path, index: int | None):
        keys: dict[Path, Span] = {}
        plain, spans = to_plain(node, keys=keys)
        label = _item_label(plain, index)
        base = prefix + ((label,) if label is not None else ())
        for sub, span in spans.items():
            self.spans[_dotted(base + _named(plain, sub))] = span
        try:
            return cls.model_validate(plain)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                sub = _named(plain, loc)
                span = spans.get(_longest(spans, loc), node.span)
                path = _dotted(base + sub)
                if err["type"] == "extra_forbidden":
                    span = keys.get(loc, span)  # point at the unknown key, not its value
                    fields = list(_fields(cls, plain, loc[:-1]))
                    where = _dotted(base + sub[:-1]) or "this file"
                    self.error("PCF201", f"unknown key {loc[-1]!r} in {where}",
                               span, path, did_you_mean(str(loc[-1]), fields) or
                               (f"known keys: {', '.join(fields)}" if fields else None))
                elif err["type"] == "missing":
                    # Point at the key whose mapping lacks it (`development:`), if it has one.
                    span = keys.get(loc[:-1], span)
                    self.error("PCF203", f"{path} is required", span, path,
                               f"add {loc[-1]}: to this mapping")
                else:
                    self.error("PCF204", f"invalid value for {path}: "
                               f"{_shown(_msg(err), path, err.get('input'))}", span, path,
                               _model_hint(err))
            return None

    def policy(self, node: Any) -> model.Policy:
        policy = self.one("policy", node, model.Policy) if node is not None else None
        if policy is None:
            return model.Policy()
        from perfcfg.core.codes import TITLES
        from perfcfg.stages.policy import RULES  # the rule table only; checks run after planning

        waivable = sorted({*RULES, *(c for c in TITLES if c.startswith("PCF3"))})
        seen: set[str] = set()
        for i, waiver in enumerate(policy.waivers):
            path = f"policy.waivers[{i}].rule"
            if waiver.rule not in waivable:
                self.error("PCF420", f"waiver for unknown rule {waiver.rule}",
                           self.spans.get(path), path,
                           did_you_mean(waiver.rule, waivable) or
                           f"rules that can be waived: {', '.join(waivable)}")
            elif waiver.rule in seen:
                self.error("PCF420", f"a second waiver for {waiver.rule}", self.spans.get(path),
                           path, "keep one waiver per rule, with every reason in it")
            seen.add(waiver.rule)
        return policy


def _shown(message: object, path: str, value: Any) -> str:
    """The message, without the value itself when the setting holds a secret."""
    from perfcfg.core.redact import is_secret_key, scrub

    text = str(message)
    if value is None or not is_secret_key(path):
        return text
    return scrub(text, [repr(value), str(value)]) or text


def _catalog_versions(daemon: str) -> list[str]:
    from importlib import resources

    prefix = catalogs.CATALOG_FILES[daemon].split("{")[0]
    names = [p.name for p in resources.files("perfcfg.schemas.catalogs").iterdir()]
    return sorted(n[len(prefix):-len(".json")] for n in names
                  if n.startswith(prefix) and n.endswith(".json"))


def _unit_kind(cat, param) -> str | None:
    """The unit family a parameter is written in, where units are easy to get wrong."""
    if cat.daemon == "postgresql" and param.unit in ("B", "kB", "8kB", "MB"):
        return "pg_memory"
    if cat.daemon == "postgresql" and param.unit in ("us", "ms", "s", "min"):
        return "pg_time"
    if cat.daemon == "redis" and param.type == "memory":
        return "redis_memory"
    return None


# Per unit family: the general hint; unit spellings people carry over from elsewhere → the
# daemon's own (same meaning); and why, for the fix-it hint.
_UNIT_HINTS = {
    "pg_memory": "PostgreSQL memory units are B, kB, MB, GB, TB (case-sensitive)",
    "pg_time": "PostgreSQL time units are us, ms, s, min, h, d (case-sensitive)",
    "redis_memory": "Redis reads k/m/g as powers of 1000 and kb/mb/gb as powers of 1024",
}
_UNIT_FIXES = {
    "pg_memory": ({"b": "B", "k": "kB", "kb": "kB", "kib": "kB", "m": "MB", "mb": "MB",
                   "mib": "MB", "g": "GB", "gb": "GB", "gib": "GB", "t": "TB", "tb": "TB",
                   "tib": "TB"},
                  "PostgreSQL's units are case-sensitive and 1024-based: MB means MiB"),
    "pg_time": ({"usec": "us", "msec": "ms", "sec": "s", "secs": "s", "second": "s",
                 "seconds": "s", "m": "min", "mins": "min", "minute": "min", "minutes": "min",
                 "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "day": "d", "days": "d"},
                "PostgreSQL time units are us, ms, s, min, h, d"),
    "redis_memory": ({"kib": "kb", "mib": "mb", "gib": "gb"},
                     "Redis's kb/mb/gb are 1024-based; k/m/g are powers of 1000"),
}
_NUMBER_UNIT = re.compile(r"\s*([0-9]+)\s*([A-Za-z]+)\s*")


def _fix_it(cat, param, value: Any) -> str | None:
    """The value as the daemon spells it, when only the unit's spelling is wrong:
    ``2GiB`` → ``2GB`` for PostgreSQL (whose GB is 1024-based), ``5m`` → ``5min``."""
    kind = _unit_kind(cat, param)
    match = _NUMBER_UNIT.fullmatch(value) if kind and isinstance(value, str) else None
    if kind is None or match is None:
        return None
    number, unit = match.groups()
    spellings, why = _UNIT_FIXES[kind]
    fixed = spellings.get(unit.lower())
    return f"write {number}{fixed} ({why})" if fixed and fixed != unit else None


def _unit_hint(cat, param) -> str | None:
    if param.values:
        return f"allowed: {', '.join(param.values)}"
    if param.type == "bool":
        return _BOOL_HINT.get(cat.daemon)
    kind = _unit_kind(cat, param)
    if kind is not None:
        return _UNIT_HINTS[kind]
    if cat.daemon == "pgbouncer" and param.type == "seconds":
        return "pgbouncer times are plain seconds, e.g. 30 or 1.5"
    if cat.daemon == "supervisor" and param.type == "memory":
        return "supervisor sizes are bytes or KB, MB, GB (1024-based), e.g. 50MB"
    if param.min is not None and param.max is not None:
        unit = f" {param.unit}" if param.unit else ""
        return f"{cat.daemon} {cat.version} accepts {param.min:g} .. {param.max:g}{unit}"
    if param.type == "integer" and cat.daemon == "pgbouncer":
        return "use 0 or a positive whole number"
    if param.type == "integer":
        return "write a whole number"
    return None


_BOOL_HINT = {"postgresql": "PostgreSQL booleans are on or off",
              "pgbouncer": "pgbouncer booleans are true or false (written 1 or 0)",
              "redis": "Redis booleans are yes or no",
              "supervisor": "supervisor booleans are true or false"}
# Hints for pydantic's error types on perfcfg's own structures (model.py).
_MODEL_HINTS = {
    "int_parsing": "write a whole number, e.g. 4", "int_type": "write a whole number, e.g. 4",
    "int_from_float": "write a whole number, e.g. 4",
    "bool_parsing": "write true or false", "bool_type": "write true or false",
    "string_type": "write text; quote it if it looks like a number or a boolean",
    "list_type": "write a list: [a, b] or one '- item' per line",
    "dict_type": "write a mapping: one 'key: value' per line",
    "model_type": "write a mapping: one 'key: value' per line",
    "string_pattern_mismatch": "use letters, digits, '_', '.' or '-' (see the JSON Schema)",
}


def _model_hint(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "literal_error":
        # The message lists the allowed values already; the hint names the one meant.
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (did_you_mean(str(err.get("input")), allowed) if isinstance(err.get("input"), str)
                else None) or f"allowed: {ctx.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return "use a value " + {"greater_than_equal": ">= ", "greater_than": "> ",
                                 "less_than_equal": "<= ", "less_than": "< "}[kind] + \
            str(next(iter(ctx.values()), ""))
    if kind in _MODEL_HINTS:
        return _MODEL_HINTS[kind]
    field = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), "")
    # value_error: perfcfg's own validators say what is wrong; the hint says how to write it.
    return _FIELD_HINTS.get(field, "see docs/diagnostics.md#pcf204 for the accepted forms")


_FIELD_HINTS = {
    "memory": "write a size like 16GiB or 512MiB (1024-based)",
    "client_timeout": "write seconds, or a duration like 10s, 500ms or 2min",
    "address": "write local, or an address in CIDR form like 10.0.0.0/24",
    "environments": "name environments like staging or prod-eu (lower case)",
    "command": "write the command line, e.g. python -m app.worker",
    "environment": "variable names are letters, digits and '_', not starting with a digit",
    "name": "pick another name",
    "os_reserve": "write auto, a size like 8GiB or a share like 40%",
    "postgres": "write auto, a size like 8GiB or a share like 40%",
    "redis": "write auto, a size like 8GiB or a share like 40%",
}


def _msg(err: Any) -> str:
    msg = err["msg"]
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def _item_label(plain: Any, index: int | None) -> str | None:
    if index is None:
        return None
    if isinstance(plain, dict) and isinstance(plain.get("name"), str):
        return plain["name"]
    return f"[{index}]"


def _named(plain: Any, loc: tuple) -> Path:
    """Replace list indices with item names where the items have one."""
    out: list = []
    cur = plain
    for part in loc:
        if isinstance(part, int) and isinstance(cur, list) and part < len(cur):
            item = cur[part]
            out.append(item["name"] if isinstance(item, dict) and isinstance(item.get("name"), str)
                       else f"[{part}]")
            cur = item
        else:
            out.append(part)
            cur = cur.get(part) if isinstance(cur, dict) else None
    return tuple(out)


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        part = str(part)
        out += part if part.startswith("[") else ("." if out else "") + part
    return out


def _longest(spans: dict, loc: tuple) -> tuple:
    while loc and loc not in spans:
        loc = loc[:-1]
    return loc


def _fields(cls: type[Record], plain: Any, loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc`` for did-you-mean."""
    current: type[Record] | None = cls
    free_key = False   # the next part is a key of a mapping of records (an environment name)
    for part in loc:
        if isinstance(part, int) or free_key:
            free_key = False
            continue
        if current is None or part not in current.FIELDS:
            return []
        free_key = part in current.KEYED
        current = current.FIELDS[part]
    return list(current.FIELDS) if current is not None else []
