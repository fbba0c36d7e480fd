"""Validation: the merged preset tree → a typed ``Config``, with every problem reported.

perfcfg's own structures are checked by the models of :mod:`perfcfg.model` (pydantic-core,
compiled from the pydantic declarations of :mod:`perfcfg.model.spec`); daemon
parameters by the catalog of the target version (:mod:`perfcfg.services.catalog`). Each diagnostic
carries the span of the offending value and its setting path; unknown names get a
did-you-mean.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic_core import ValidationError

from perfcfg import model
from perfcfg.core import units
from perfcfg.core.codes import WAIVABLE
from perfcfg.core.config import AUTO, Config
from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.nodes import Entry, Mapping, Node, Path, Scalar, Sequence, to_plain
from perfcfg.core.spans import Span
from perfcfg.core.units import UnitError
from perfcfg.model.base import Record
from perfcfg.services import catalog as catalogs
from perfcfg.services import registry
from perfcfg.services.base import Service, targets_version

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


class Named(Protocol):
    """An item of a named list (a database, a user, a program…)."""

    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=Record)
N = TypeVar("N", bound=Named)

OWN_SECTIONS = ("databases", "users", "clients", "workload", "budget", "policy", "monitoring")
SECTIONS = (*registry.names(), *OWN_SECTIONS)


def did_you_mean(name: str, candidates: list[str]) -> str | None:
    """The candidates ``name`` is probably a misspelling of: close in spelling, the same in
    another case, or one it begins or ends (``prod`` for ``production``, ``transactional`` for
    ``transaction``, a parameter without its section for ``<section>.<parameter>``).

    >>> did_you_mean("prod", ["development", "production"])
    "did you mean 'production'?"
    >>> did_you_mean("transactional", ["session", "transaction", "statement"])
    "did you mean 'transaction'?"
    """
    low = name.lower()
    close = [c for c in candidates if c.lower() == low]
    close += difflib.get_close_matches(name, candidates, n=3, cutoff=0.7)
    if len(low) >= 3:
        close += [c for c in candidates
                  if c.lower().startswith(low) or (low.startswith(c.lower()) and len(c) >= 3)
                  or c.lower().endswith("." + low)]
    close = list(dict.fromkeys(c for c in close if c != name))[:3]
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None


class Validator:
    def __init__(self, env: str, kind: str, targets: model.Targets,
                 target_spans: dict[str, Span] | None = None) -> None:
        self.env, self.kind, self.targets = env, kind, targets
        self.target_spans = target_spans or {}   # "targets.postgres" → its span in perfcfg.yaml
        self.diagnostics: list[Diagnostic] = []
        self.spans: dict[str, Span] = {}
        # items left out because a value they cannot do without was refused (``databases.x``):
        # a reference to one is the same mistake, reported once already
        self.broken: set[str] = set()

    def error(self, code: str, message: str, span: Span | None, path: str,
              hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, "error", message, span, path, hint))

    @property
    def plannable(self) -> bool:
        """Whether tuning can run: every daemon's catalog exists for its target version."""
        return all(s.catalog(self.targets) is not None for s in registry.SERVICES)

    # -- entry point ---------------------------------------------------------------------

    def run(self, tree: Mapping, host: model.HostProfile | None) -> Config:
        for key, entry in tree.entries.items():
            if key not in SECTIONS:
                # a daemon parameter written without its section (`--set work_mem=16MB`)
                owners = [f"{s.name}.{key}" for s in registry.SERVICES
                          if s.param(self.targets, key) is not None]
                self.error("PCF201", f"unknown section {key!r}", entry.key_span, key,
                           did_you_mean(key, owners + list(SECTIONS)) or
                           f"sections are: {', '.join(SECTIONS)}")

        def section(name: str) -> Node | None:
            return tree.entries[name].value if name in tree.entries else None

        services = {s.name: self.service(s, section(s.name)) for s in registry.SERVICES}
        # perfcfg's own keys inside daemon sections travel beside the parameters
        own = {s.name: {**s.own_defaults,
                        **{key: services[s.name].pop(key) for key in
                           (*s.own_keys, *s.record_keys, *s.subsections)
                           if key in services[s.name]}}
               for s in registry.SERVICES}
        for s in registry.SERVICES:
            for key in s.record_keys:
                if key in own[s.name]:
                    own[s.name][key] = self.unique(f"{s.name}.{key}", own[s.name][key])
        databases = self.unique("databases", self.models("databases", section("databases"),
                                                         model.Database))
        workload = self.one("workload", section("workload"), model.Workload) or model.Workload()
        users = self.unique("users", self.models("users", section("users"), model.User))
        names = [db.name for db in databases]
        for user in users:
            for i, name in enumerate(user.databases):
                if name not in names:
                    self.unknown_database(f"users.{user.name}.databases[{i}]", name, names)
        return Config(
            self.env, self.kind, self.targets, host, services, own, databases, users,
            self.unique("clients", self.models("clients", section("clients"), model.Client)),
            self.workload(workload, databases),
            self.one("budget", section("budget"), model.Budget) or model.Budget(),
            self.policy(section("policy")),
            self.spans,
            broken=frozenset(self.broken),
            monitoring=self.one("monitoring", section("monitoring"), model.Monitoring)
            or model.Monitoring(),
        )

    # -- daemon sections -----------------------------------------------------------------

    def service(self, service: Service, node: Node | None) -> dict[str, Any]:
        name = service.name
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.error("PCF202", f"{name} must be a mapping of parameters", node.span, name,
                       f"write one 'parameter: value' per line under {name}:")
            return {}
        self.spans.setdefault(name, node.span)   # where rules about a missing key point
        cat = service.catalog(self.targets)
        if cat is None:
            self.no_catalog(service, node)
            return {}
        out: dict[str, Any] = {}
        seen: dict[str, tuple[str, Span]] = {}
        for key, entry in node.entries.items():
            path = f"{name}.{key}"
            if key in service.record_keys:
                out[key] = self.models(path, entry.value, service.record_keys[key])
                for where, problem in (service.check_records(cat.sets, key, out[key])
                                       if service.check_records else ()):
                    full = f"{path}.{where}"
                    self.error("PCF204", f"invalid value for {full}: {problem}",
                               self.spans.get(full) or entry.value.span, full,
                               f"see {cat.daemon} {cat.version}'s ACL commands and categories")
                continue
            if key in service.subsections:
                out[key] = self.params(service, cat, entry.value, path, section=key) \
                    if isinstance(entry.value, Mapping) else {}
                continue
            own = service.own_keys
            if key in own:
                self.spans[path] = entry.value.span
                value = self.scalar(entry.value, path)
                check, hint = own[key]
                try:
                    out[key] = check(value)
                except UnitError as exc:
                    self.error("PCF204", f"invalid value for {path}: {exc}", entry.value.span,
                               path, hint)
                continue
            param = self.param(service, cat, key, entry, path, service.section, extra=own)
            if param is not None and self.first_spelling(seen, service, param.name, entry, path):
                canonical = self.coerce(service, cat, param, entry.value, path)
                if canonical is not None:
                    out[param.name] = canonical
        return out

    def first_spelling(self, seen: dict[str, tuple[str, Span]], service: Service, name: str,
                       entry: Entry, path: str) -> bool:
        """One parameter, one key: a second spelling of it (``Work_Mem`` next to ``work_mem``
        for PostgreSQL, or Redis's old ``slave``/``ziplist`` names) would silently replace the
        first, or write two lines of which the daemon keeps the last."""
        canonical = _alias(service, name)
        if canonical not in seen:
            seen[canonical] = (path, entry.key_span)
            return True
        first, span = seen[canonical]
        self.diagnostics.append(Diagnostic(
            "PCF103", "error", f"duplicate key: {path} sets the same parameter as {first}",
            entry.key_span, path, "keep one of them", (Related("first set here", span, first),)))
        return False

    def no_catalog(self, service: Service, node: Mapping) -> None:
        """One diagnostic per service, at the version in perfcfg.yaml when it is known:
        every parameter of the section would otherwise repeat it."""
        where = service.target_key(self.targets)
        self.error("PCF207", f"perfcfg has no parameter catalog for "
                   f"{service.daemon_of(self.targets)} {targets_version(service, self.targets)}",
                   self.target_spans.get(where) or
                   next((e.key_span for e in node.entries.values()), node.span),
                   where, f"versions with a catalog: {', '.join(service.versions(self.targets))}")

    def params(self, service: Service, cat: catalogs.Catalog, node: Mapping, prefix: str,
               section: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, entry in node.entries.items():
            path = f"{prefix}.{key}"
            param = self.param(service, cat, key, entry, path, section)
            if param is not None:
                canonical = self.coerce(service, cat, param, entry.value, path)
                if canonical is not None:
                    out[param.name] = canonical
        return out

    def param(self, service: Service, cat: catalogs.Catalog, key: str, entry: Entry, path: str,
              section: str | None, extra: Iterable[str] = ()) -> catalogs.Param | None:
        self.spans[path] = entry.value.span
        managed = _managed(service, key)
        if managed is not None:
            self.error("PCF206", f"{path} is managed by perfcfg", entry.key_span, path,
                       managed)
            return None
        param = cat.get(key, section)
        if param is None and not self.other_version(service, cat, key, entry, path, section):
            names = cat.names(section) + list(extra)
            self.error("PCF201", f"unknown {cat.daemon} {cat.version} parameter {key!r}",
                       entry.key_span, path, did_you_mean(key, names) or
                       f"see the {cat.daemon} {cat.version} documentation for valid names")
        return param

    def other_version(self, service: Service, cat: catalogs.Catalog, key: str, entry: Entry,
                      path: str, section: str | None) -> bool:
        """A parameter of another version of the daemon: say which version removed it (and
        what replaces it) or which adds it. False when no version has it."""
        having = catalogs.having(cat.daemon, key, cat.case_insensitive, section)
        if not having:
            return False
        title, target = service.title_of(self.targets), catalogs.version_key(cat.version)
        where = service.target_key(self.targets)
        if catalogs.version_key(having[0]) > target:
            self.error("PCF201", f"{path} needs {title} {having[0]} or later; the target is "
                       f"{cat.version}", entry.key_span, path,
                       f"remove it, or target {title} {having[0]} or later ({where})")
            return True
        gone = next((v for v in catalogs.versions(cat.daemon) if catalogs.version_key(v) >
                     catalogs.version_key(having[-1])), cat.version)
        instead = service.replaced.get(key.lower() if cat.case_insensitive else key)
        self.error("PCF201", f"{path} was removed in {title} {gone} (last in {having[-1]}); "
                   f"the target is {cat.version}", entry.key_span, path,
                   f"instead: {instead}" if instead else "remove it")
        return True

    def coerce(self, service: Service, cat: catalogs.Catalog, param: catalogs.Param,
               node: Node, path: str) -> Any:
        value = self.scalar(node, path, allow_list=param.type == "list")
        if value is None:
            return None
        if value == AUTO:
            return AUTO
        if isinstance(value, str) and model.SECRET_REF.match(value):
            if param.type == "string":
                return value
            # A secret resolves to text: in a number, size or switch it is never valid, and
            # checking it only after resolving would quote the secret in the message.
            self.error("PCF204", f"invalid value for {path}: a secret reference gives text, and "
                       f"{path} is not a text setting (its type: {param.type})", node.span, path,
                       "write the value itself; secrets belong in passwords and other text "
                       "settings")
            return None
        try:
            canonical = checked(service, cat, param, value)
        except (UnitError, ValueError, OverflowError) as exc:   # int() of 5,000 digits, inf
            code = "PCF205" if "range" in str(exc) else "PCF204"
            self.error(code, f"invalid value for {path}: {_shown(exc, path, value)}", node.span,
                       path, service.fix_it(param, value) or _hint(service, cat, param, value))
            return None
        self.clamped(service, param.name, canonical, node.span, path)
        return canonical

    def clamped(self, service: Service, name: str, value: Any, span: Span, path: str) -> None:
        """Values the daemon accepts but silently changes: say so now (verify proves it)."""
        limit = service.clamps.get(name)
        if limit is not None and isinstance(value, int) and value > limit[0]:
            self.diagnostics.append(Diagnostic(
                "PCF213", "warning", f"{path} = {value} is silently lowered to {limit[0]} by "
                f"{service.daemon_of(self.targets)}: {limit[1]}", span, path, f"write {limit[0]} or less"))

    def scalar(self, node: Node, path: str, allow_list: bool = False) -> Any:
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

    def unique(self, name: str, items: list[N]) -> list[N]:
        """Items of a named list with distinct names (``--set …name=`` can rename one onto
        another: the daemon would merge the two or drop one)."""
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                path = f"{name}.{item.name}.name"
                self.error("PCF204", f"invalid value for {path}: two items of {name} are named "
                           f"{item.name!r}", self.spans.get(path), path,
                           "give each item its own name")
            seen.add(item.name)
        return items

    def workload(self, workload: model.Workload, databases: list[model.Database]
                 ) -> model.Workload:
        """Programs: unique names, a database that exists, and pass-through options (a
        program's map for the service that runs it) that are options of the service's program
        section with valid values, and not ones perfcfg writes itself."""
        self.unique("workload.programs", list(workload.programs))
        names = [db.name for db in databases]
        runner = next((s for s in registry.SERVICES if s.program_section), None)
        cat = runner.catalog(self.targets) if runner is not None else None
        programs = []
        for prog in workload.programs:
            base = f"workload.programs.{prog.name}"
            if prog.database is not None and databases and prog.database not in names:
                self.unknown_database(f"{base}.database", prog.database, names)
            if runner is not None and cat is not None and getattr(prog, runner.program_field):
                prog = type(prog)._make({**prog.__dict__, runner.program_field:
                                         self.program_options(runner, cat, prog)})
            programs.append(prog)
        return type(workload)._make({**workload.__dict__, "programs": programs})

    def unknown_database(self, path: str, name: str, names: list[str]) -> None:
        """A reference to a database that is not declared under ``databases:`` (a program's
        ``database``, a user's ``databases``): nothing would be written for it."""
        if f"databases.{name}" in self.broken:
            return
        declared = f"declared: {', '.join(names)}" if names else "none is declared"
        self.error("PCF204", f"invalid value for {path}: no database named {name!r} "
                   f"under databases ({declared})", self.spans.get(path), path,
                   did_you_mean(name, names) or
                   "declare it under databases:, or use a declared name")

    def program_options(self, service: Service, cat: catalogs.Catalog, prog: model.Program
                        ) -> dict[str, Any]:
        base = f"workload.programs.{prog.name}"
        section = service.program_section
        out: dict[str, Any] = {}
        seen: dict[str, str] = {}
        for key, value in getattr(prog, service.program_field).items():
            path = f"{base}.{service.program_field}.{key}"
            span = self.spans.get(path)
            # Names compared as the daemon compares them: supervisord lower-cases an option's
            # name, so Command is command, and a second spelling is a second line of it.
            param = cat.get(key, section)
            name = param.name if param is not None else key
            folded = name.lower() if service.case_insensitive else name
            if folded in seen:
                self.diagnostics.append(Diagnostic(
                    "PCF103", "error", f"duplicate key: {path} sets the same option as "
                    f"{seen[folded]}", span, path, f"keep one of them: {service.title} reads "
                    "option names without case and keeps the last",
                    (Related("first set here", self.spans.get(seen[folded]), seen[folded]),)))
                continue
            seen[folded] = path
            owner = service.program_owned.get(folded)
            if owner is not None:
                self.diagnostics.append(Diagnostic(
                    "PCF206", "error", f"{path} is managed by perfcfg: it writes {folded} "
                    f"from {base}.{owner}", span, path, f"set {owner}: in the program instead; "
                    f"the file would get two {folded} lines ({service.title} reads option names "
                    "without case), and it keeps the last",
                    (Related(f"perfcfg writes {folded} from here",
                             self.spans.get(f"{base}.{owner}"),
                             f"{base}.{owner}"),)))
                continue
            if param is None:
                self.error("PCF201", f"unknown {service.title} program option {key!r}", span,
                           path, did_you_mean(key, cat.names(section)) or
                           f"see {service.title}'s documentation of a program's options")
                continue
            if isinstance(value, (dict, list)) or value is None:
                self.error("PCF203", f"{path} must be a single value", span, path,
                           "write one value")
                continue
            try:
                out[param.name] = checked(service, cat, param, value)
            except (UnitError, ValueError, OverflowError) as exc:
                code = "PCF205" if "range" in str(exc) else "PCF204"
                self.error(code, f"invalid value for {path}: {_shown(exc, path, value)}", span,
                           path, _hint(service, cat, param, value))
        return out

    def models(self, name: str, node: Node | None, cls: type[R]) -> list[R]:
        if node is None:
            return []
        if not isinstance(node, Sequence):
            self.error("PCF202", f"{name} must be a list of items with a name", node.span, name,
                       f"write each item as '- name: …' under {name}:")
            return []
        out: list[R] = []
        names = [n for n in (_node_name(item) for item in node.items) if n]
        for i, item in enumerate(node.items):
            obj = self.validate_model(cls, item, (name,), i, names)
            if obj is not None:
                out.append(obj)
            elif _node_name(item):
                self.broken.add(f"{name}.{_node_name(item)}")
        return out

    def one(self, name: str, node: Node | None, cls: type[R]) -> R | None:
        if node is None:
            return None
        return self.validate_model(cls, node, (name,), None)

    def validate_model(self, cls: type[R], node: Node, prefix: Path, index: int | None,
                       siblings: list[str] | None = None) -> R | None:
        keys: dict[Path, Span] = {}
        plain, spans = to_plain(node, keys=keys)
        label = _item_label(plain, index)
        base = prefix + ((label,) if label is not None else ())
        for sub, span in spans.items():
            self.spans[_dotted(base + _named(plain, sub))] = span
        try:
            return cls.model_validate(plain)
        except ValidationError as exc:
            errors = exc.errors()
            self.report_model_errors(cls, node, plain, spans, keys, base, label, siblings,
                                     errors)
        # The report is made; what follows the validate stage still gets the record, without
        # the values it refused (each then has its default), so that one bad value does not
        # hide every later check of the other values.
        return self.without_invalid(cls, plain, errors, base)

    def without_invalid(self, cls: type[R], plain: Any, errors: list[ErrorDetails], base: Path
                        ) -> R | None:
        """``cls`` built from ``plain`` less the values ``errors`` refuse: a refused value
        leaves its default; an item of a list or of a mapping of records that cannot do
        without it (its ``name``, a program's ``command``) is left out, and its path goes to
        ``broken``, so that a reference to it is not reported again as unknown. None when the
        record itself cannot be made."""
        for _ in range(8):
            cuts = {_present(plain, tuple(e["loc"]), e["type"] == "missing") for e in errors}
            for loc in sorted(cuts, key=_deletion_order, reverse=True):
                if not loc:
                    return None
                if isinstance(loc[-1], int) or _fields_keyed(cls, loc[:-1]):
                    self.broken.add(_dotted(base + _named(plain, loc)))
                _delete(plain, loc)
            try:
                return cls.model_validate(plain)
            except ValidationError as exc:
                errors = exc.errors()
        return None

    def report_model_errors(self, cls: type[Record], node: Node, plain: Any,
                            spans: dict[Path, Span], keys: dict[Path, Span], base: Path,
                            label: str | None, siblings: list[str] | None,
                            errors: list[ErrorDetails]) -> None:
        for err in errors:
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
                           f"add {loc[-1]}: to this mapping"
                           + _misspelt_item(plain, loc, label, siblings))
            else:
                self.error("PCF204", f"invalid value for {path}: "
                           f"{_shown(_msg(err), path, err.get('input'))}", span, path,
                           _model_hint(err))

    def policy(self, node: Node | None) -> model.Policy:
        policy = self.one("policy", node, model.Policy) if node is not None else None
        if policy is None:
            return model.Policy()
        waivable = sorted(WAIVABLE)
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
        # A waiver with a mistake waives nothing (the finding keeps its severity) and is not
        # reported again as matching nothing.
        self.broken.update(m.group() for d in self.diagnostics if d.path
                           for m in [re.match(r"policy\.waivers\[\d+\]", d.path)] if m)
        return policy


def checked(service: Service, cat: catalogs.Catalog, param: catalogs.Param, value: Any) -> Any:
    """``value`` read by the service, then checked against what the binary itself takes: the
    parameter's pattern, its list shape (the daemon's constraint data) and the value sets its
    catalog lists (UnitError when it refuses)."""
    from perfcfg.services import constraints

    canonical = service.coerce(param, value)
    if param.pattern is not None and isinstance(canonical, str) and \
            not re.fullmatch(param.pattern, canonical):
        raise UnitError(f"{canonical!r} is refused by {cat.daemon} {cat.version}: "
                        + constraints.pattern_words(param.pattern))
    shape = constraints.shape(cat.daemon, param.name)
    if shape is not None and isinstance(canonical, list):
        shape.check(canonical)
    if service.check_value is not None:
        service.check_value(cat.sets, param, canonical)
    return canonical


def _shown(message: object, path: str, value: Any) -> str:
    """The message, without the value itself when the setting holds a secret."""
    from perfcfg.core.redact import is_secret_key, scrub

    text = str(message)
    if value is None or not is_secret_key(path):
        return text
    return scrub(text, [repr(value), str(value)]) or text


def _hint(service: Service, cat: catalogs.Catalog, param: catalogs.Param,
          value: Any = None) -> str | None:
    if param.values:
        meant = did_you_mean(str(value), list(param.values)) if isinstance(value, str) else None
        return f"{meant + ' ' if meant else ''}allowed: {', '.join(param.values)}"
    if param.type == "bool":
        return service.bool_hint
    unit = service.unit_hint(param)
    if unit is not None:
        return unit
    if param.min is not None and param.max is not None:
        own = param.unit or ""
        return (f"{cat.daemon} {cat.version} accepts {catalogs.number(param.min)}{own} .. "
                f"{catalogs.number(param.max)}{own}")
    if param.type == "integer":
        return service.integer_hint
    return None


# Hints for pydantic's error types on perfcfg's own structures (model.py).
_MODEL_HINTS = {
    "int_parsing": "write a whole number, e.g. 4", "int_type": "write a whole number, e.g. 4",
    "int_from_float": "write a whole number, e.g. 4",
    "bool_parsing": "write true or false", "bool_type": "write true or false",
    "string_type": "write text; quote it if it looks like a number or a boolean",
    "list_type": "write a list: [a, b] or one '- item' per line",
    "dict_type": "write a mapping: one 'key: value' per line",
    "model_type": "write a mapping: one 'key: value' per line",
}

# What each pattern of perfcfg's own fields (model/spec.py) asks for, in words; a test checks
# that every pattern there has its words here.
PATTERN_HINTS = {
    r"^[A-Za-z0-9_.-]+$": "use letters, digits, '_', '.' or '-'",
    r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$": "start with a letter or '_', then letters, digits, "
                                       "'_', '.' or '-' (at most 63 characters)",
    r"^[A-Za-z0-9_.-]{1,64}$": "use letters, digits, '_', '.' or '-' (at most 64 characters)",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "a role name: letters, digits and '_', not starting with a "
                                 "digit",
    r"^[A-Za-z_][A-Za-z0-9_]{0,62}$": "a role name: letters, digits and '_', not starting with "
                                      "a digit (at most 63 characters)",
    r"^[a-z_][a-z0-9_-]*$": "an OS user or group name: lower-case letters, digits, '_' and "
                            "'-', starting with a letter or '_'",
    r"^/": "write an absolute path, starting with /",
    r"^0[0-7]{3}$": "write the mode in octal as a quoted string, e.g. \"0640\"",
    r"^PCF[34][0-9]{2}$": "name a cross-service or security code, e.g. PCF408",
    r"^[0-9]+\.[0-9]+$": "write the major.minor version as a quoted string, e.g. \"1.24\"",
    r"^[^\x00-\x1f\x7f]+$": "write it without control characters (tabs, line breaks)",
    r"^(?:[0-9]+(?:ms|[ywdhms]))+$": "a Prometheus duration: a number and a unit of ms, s, m, "
                                     "h, d, w or y, e.g. 30s, 5m or 1h30m",
    r"^[A-Z][A-Za-z0-9]*$": "an alert's name as alerts.yml writes it, e.g. "
                            "PgbouncerPoolSaturated",
}


def _model_hint(err: ErrorDetails) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    given = err.get("input")
    target = _target_hint(err["loc"], given)
    if target is not None:
        return target
    if kind == "string_pattern_mismatch":
        return PATTERN_HINTS.get(str(ctx.get("pattern")),
                                 f"write a value matching {ctx.get('pattern')}")
    if kind == "literal_error":
        # The message lists the allowed values already; the hint names the one meant.
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        same = [v for v in allowed if isinstance(given, str) and v.lower() == given.lower()]
        if same:
            return f"did you mean {same[0]!r}? (written in lower case)"
        return (did_you_mean(given, allowed) if isinstance(given, str) else None) or \
            f"allowed: {ctx.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return "use a value " + {"greater_than_equal": ">= ", "greater_than": "> ",
                                 "less_than_equal": "<= ", "less_than": "< "}[kind] + \
            str(next(iter(ctx.values()), ""))
    if kind in _MODEL_HINTS:
        return _MODEL_HINTS[kind]
    field = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), "")
    meant = units.size_spelling(given) if kind == "value_error" and isinstance(given, str) \
        else None
    if meant is not None and "size" in _msg(err):
        return f"write {meant} (sizes are 1024-based: B, KiB, MiB, GiB, TiB)"
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
    **dict.fromkeys(model.Budget.FIELDS, "write auto, a size like 8GiB or a share like 40%"),
}


def _target_hint(loc: Path, given: Any) -> str | None:
    """``targets.<daemon>``: how its versions are written, and the ones perfcfg has (a
    release such as ``1.24.1`` or ``17.6`` names the major or major.minor its catalog is)."""
    parts = [p for p in loc if isinstance(p, str)]
    if "targets" not in parts or parts[-1] == "targets":
        return None
    key = parts[parts.index("targets") + 1]
    if model.Targets.FIELDS.get(key) is not None:    # a build's features, not a version
        return None
    for service in registry.SERVICES:
        versions = service.target_versions().get(key)
        if versions is None:
            continue
        whole = all(v.isdigit() for v in versions)
        how = "the major version as a number" if whole else \
            "the major.minor version as a quoted string"
        text = "" if given is None or isinstance(given, bool) else str(given)
        release = text.split(".")[0] if whole else ".".join(text.split(".")[:2])
        quote = "" if whole else '"'
        if release in versions:
            return (f"write {quote}{release}{quote} ({how}: every {release} release reads the same "
                    f"parameters); perfcfg has catalogs for {', '.join(versions)}")
        default = service.version(model.Targets()) if key == service.name else versions[-1]
        return f"write {how}, e.g. {quote}{default}{quote}; perfcfg has catalogs for " \
               f"{', '.join(versions)}"
    return None


def _msg(err: ErrorDetails) -> str:
    msg = err["msg"]
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def _node_name(node: Node) -> str | None:
    entry = node.entries.get("name") if isinstance(node, Mapping) else None
    value = entry.value.value if entry is not None and isinstance(entry.value, Scalar) else None
    return value if isinstance(value, str) else None


def _misspelt_item(plain: Any, loc: Path, label: str | None,
                   siblings: list[str] | None) -> str:
    """An item of a named list that lacks a required key and whose name is close to another
    item's is most often an overlay meant for that item with its name misspelt (``matchr``
    for ``matcher``): named lists merge on the name, so a new spelling starts a new item."""
    if len(loc) >= 3 and isinstance(loc[-2], int):          # nested: workload.programs[i]
        items: Any = plain
        for part in loc[:-2]:
            items = items.get(part) if isinstance(items, dict) else None
        own = items[loc[-2]].get("name") if isinstance(items, list) and \
            loc[-2] < len(items) and isinstance(items[loc[-2]], dict) else None
        names = [i["name"] for i in items if isinstance(i, dict) and isinstance(
            i.get("name"), str)] if isinstance(items, list) else []
    elif len(loc) == 1:                                      # top level: databases[i]
        own, names = label, siblings or []
    else:
        return ""
    if not isinstance(own, str):
        return ""
    close = difflib.get_close_matches(own, [n for n in names if n != own], n=1, cutoff=0.6)
    return (f"; or did you mean {close[0]!r}? (an item under a new name is a new item, not a "
            f"change to another)") if close else ""


def _managed(service: Service, key: str) -> str | None:
    """Why perfcfg writes ``key`` itself, if it does, comparing names as the daemon does
    (``REQUIREPASS`` is Redis's ``requirepass``)."""
    if not service.case_insensitive:
        return service.managed.get(key)
    return next((why for name, why in service.managed.items() if name.lower() == key.lower()),
                None)


def _alias(service: Service, name: str) -> str:
    """The name a parameter is known by whatever its spelling: names are compared as the
    daemon compares them, and Redis 7 still reads the names it renamed (``slaveof`` is
    ``replicaof``, ``hash-max-ziplist-*`` is ``hash-max-listpack-*``)."""
    key = name.lower() if service.case_insensitive else name
    return key.replace("slave", "replica").replace("ziplist", "listpack")


def _item_label(plain: Any, index: int | None) -> str | None:
    if index is None:
        return None
    name = plain.get("name") if isinstance(plain, dict) else None
    return name if isinstance(name, str) else f"[{index}]"


def _named(plain: Any, loc: Path) -> Path:
    """Replace list indices with item names where the items have one."""
    out: list[str | int] = []
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


def _longest(spans: dict[Path, Span], loc: Path) -> Path:
    while loc and loc not in spans:
        loc = loc[:-1]
    return loc


def _present(plain: Any, loc: Path, missing: bool) -> Path:
    """What to leave out for one refused value at ``loc``: the value itself, the longest part
    of ``loc`` that exists (pydantic adds the union member it tried, ``pool_size.int``); for a
    missing value, the item that lacks it."""
    if missing:
        loc = loc[:-1]
    out: Path = ()
    cur = plain
    for part in loc:
        inside = (isinstance(cur, dict) and part in cur) or \
            (isinstance(cur, list) and isinstance(part, int) and part < len(cur))
        if not inside:
            break
        cur = cur[part]
        out += (part,)
    return out


def _deletion_order(loc: Path) -> tuple[tuple[int, int | str], ...]:
    """Deeper values and later list items first, so that a deletion keeps the others' places."""
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in loc)


def _delete(plain: Any, loc: Path) -> None:
    parent = plain
    for part in loc[:-1]:
        parent = parent[part]
    del parent[loc[-1]]


def _fields_keyed(cls: type[Record], loc: Path) -> bool:
    """Whether ``loc`` is a mapping of records by name (perfcfg.yaml's ``environments``)."""
    current: type[Record] | None = cls
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if part not in current.FIELDS:
            return False
        if part == loc[-1]:
            return part in current.KEYED
        current = current.FIELDS[part]
    return False


def _fields(cls: type[Record], plain: Any, loc: Path) -> list[str]:
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
