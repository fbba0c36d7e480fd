"""Rules a daemon applies between its parameters at start, as data, and the one checker of them.

A daemon refuses some values only together with others: PostgreSQL will not start on
``wal_level = minimal`` while ``max_wal_senders`` keeps its default 10, nor on a
``min_wal_size`` below twice ``wal_segment_size``; pgbouncer refuses ``auth_type = hba``
without an ``auth_hba_file``; supervisord a program of several processes whose
``process_name`` lacks ``%(process_num)``. Each daemon's rules are declared next to its
catalogs, in ``schemas/catalogs/<daemon>.constraints.json`` (docs/catalogs.md), in the
daemon's own words, and checked here over the final values of a Plan (a parameter perfcfg does
not write keeps the catalog's default): one checker for every daemon, no code per rule.

A rule::

    {"id": "pg.wal_level.minimal_streaming",
     "when": {"wal_level": {"in": ["minimal"]}},
     "require": {"max_wal_senders": {"at_most": "0"}},
     "said": "WAL streaming (\\"max_wal_senders\\" > 0) requires \\"wal_level\\" ...",
     "hint": "set max_wal_senders: 0, or wal_level: replica",
     "since": "15", "until": null, "scope": null}

Tests of a value: ``in`` / ``not_in`` (a list, compared without case), ``set`` (true: not
empty, not zero), ``contains`` (text), ``at_least`` / ``at_most`` / ``below`` (an expression
of numbers and parameter names with ``+ - *``, in perfcfg's canonical units: bytes,
microseconds), ``multiple_of`` (such an expression). ``scope: "program"`` checks the rule once per ``[program:x]`` section.

>>> rule = Rule.of({"id": "x", "when": {"a": {"in": ["minimal"]}},
...                 "require": {"b": {"at_most": "0"}}, "said": "no", "hint": "h"})
>>> rule.broken({"a": "minimal", "b": 10}.get), rule.broken({"a": "replica", "b": 10}.get)
(True, False)
>>> evaluate("2 * wal_segment_size", {"wal_segment_size": 16 << 20}.get)
33554432
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.services import catalog as catalogs

Getter = Callable[[str], Any]


class RuleError(ValueError):
    """A constraints file perfcfg cannot read: a bug in the file, reported as such."""


def evaluate(expression: str, get: Getter) -> int | float | None:
    """The value of ``expression`` (numbers, parameter names, ``+ - *``); None when a
    parameter in it has no numeric value."""
    def value(node: ast.AST) -> int | float | None:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
                not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            found = get(node.id)
            return found if isinstance(found, (int, float)) and not isinstance(found, bool) \
                else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = value(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            return left + right if isinstance(node.op, ast.Add) else \
                left - right if isinstance(node.op, ast.Sub) else left * right
        raise RuleError(f"unsupported expression {expression!r}")
    return value(ast.parse(expression, mode="eval"))


def names_in(expression: str) -> list[str]:
    return [n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)]


def _same(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    if isinstance(have, (int, float)) and isinstance(want, (int, float)):
        return have == want
    return str(have).lower() == str(want).lower()


def holds(test: Mapping[str, Any], have: Any, get: Getter) -> bool:
    """Whether a value passes every test of one parameter."""
    for op, arg in test.items():
        if op == "in":
            ok = any(_same(have, a) for a in arg)
        elif op == "not_in":
            ok = not any(_same(have, a) for a in arg)
        elif op == "set":
            ok = bool(have) == bool(arg)
        elif op == "contains":
            ok = arg in str(have or "")
        elif op == "multiple_of":
            step = evaluate(arg, get)
            ok = not step or isinstance(have, bool) or not isinstance(have, int) or \
                have % step == 0
        elif op in ("at_least", "at_most", "below"):
            bound = evaluate(arg, get)
            if bound is None or isinstance(have, bool) or not isinstance(have, (int, float)):
                ok = True       # nothing to compare with: the rule cannot say
            else:
                ok = have >= bound if op == "at_least" else have <= bound if \
                    op == "at_most" else have < bound
        else:
            raise RuleError(f"unknown test {op!r}")
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Rule:
    id: str
    when: Mapping[str, Mapping[str, Any]]
    require: Mapping[str, Mapping[str, Any]]
    said: str
    hint: str
    since: str | None = None
    until: str | None = None
    scope: str | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Rule:
        unknown = set(data) - {"id", "when", "require", "said", "hint", "since", "until",
                               "scope"}
        if unknown:
            raise RuleError(f"rule {data.get('id')!r}: unknown keys {sorted(unknown)}")
        return cls(data["id"], data.get("when") or {}, data["require"], data["said"],
                   data["hint"], data.get("since"), data.get("until"), data.get("scope"))

    def names(self) -> list[str]:
        """Every parameter the rule reads, conditions first."""
        out = [*self.when, *self.require]
        for test in (*self.when.values(), *self.require.values()):
            for op, arg in test.items():
                if op in ("at_least", "at_most", "below", "multiple_of"):
                    out += names_in(arg)
        return list(dict.fromkeys(out))

    def applies_to(self, version: str) -> bool:
        key = catalogs.version_key(version)
        return (self.since is None or key >= catalogs.version_key(self.since)) and \
            (self.until is None or key <= catalogs.version_key(self.until))

    def broken(self, get: Getter) -> bool:
        if not all(holds(test, get(name), get) for name, test in self.when.items()):
            return False
        return not all(holds(test, get(name), get) for name, test in self.require.items())


@cache
def load(daemon: str) -> tuple[Rule, ...]:
    """The rules of ``<daemon>.constraints.json`` beside the catalogs (none: no rules)."""
    return tuple(Rule.of(r) for r in _file(daemon).get("rules", ()))


def related_pairs(daemon: str) -> list[tuple[str, str]]:
    """Pairs of parameters that one of ``daemon``'s rules relates (for the differential
    tests' draws), each pair once."""
    pairs: list[tuple[str, str]] = []
    for rule in load(daemon):
        names = rule.names()
        pairs += [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    return list(dict.fromkeys(pairs))


# -- over a Plan ----------------------------------------------------------------------------

def _defaults(service: Any, cat: catalogs.Catalog, section: str | None) -> Getter:
    """A parameter's value when the Plan does not write it: the catalog's default, read the
    way a preset's value is."""
    def default(name: str) -> Any:
        param = cat.get(name, section)
        if param is None or param.default is None:
            return None
        try:
            return service.coerce(param, param.default)
        except (ValueError, OverflowError):
            # a read-only parameter (wal_segment_size) is refused as a preset's value, but
            # its default is a number all the same
            try:
                return int(param.default)
            except ValueError:
                return param.default
    return default


def check(config: Any, plan: Any, services: tuple[Any, ...]) -> list[Diagnostic]:
    """Every rule of every service's daemon, over the Plan's final values."""
    out: list[Diagnostic] = []
    for service in services:
        cat = service.catalog(config.targets)
        if cat is None:
            continue
        daemon, version = service.daemon_of(config.targets), cat.version
        rules = [r for r in load(daemon) if r.applies_to(version)]
        for rule in rules:
            if rule.scope is None:
                scopes = [(service.section, _main(service, cat, plan), None)]
            elif rule.scope == service.program_section:
                scopes = [(rule.scope, dict(p.options), p)
                          for p in plan.parts.get(service.name) or ()]
            else:
                raise RuleError(f"rule {rule.id!r}: unknown scope {rule.scope!r}")
            for section, values, program in scopes:
                if any(cat.get(n, section) is None for n in rule.names()):
                    continue     # a parameter this version lacks: the rule is not its own
                get = _getter(cat, section, values, _defaults(service, cat, section))
                if rule.broken(get):
                    out.append(_diagnostic(service, cat, config, rule, get, section, values,
                                           program))
    return out


def _getter(cat: catalogs.Catalog, section: str | None, values: Mapping[str, Any],
            default: Getter) -> Getter:
    """A parameter's value in ``values`` (by the catalog's spelling of its name), else its
    default."""
    def get(name: str) -> Any:
        param = cat.get(name, section)
        key = param.name if param is not None else name
        return values[key] if key in values else default(name)
    return get


def _main(service: Any, cat: catalogs.Catalog, plan: Any) -> dict[str, Any]:
    prefix = f"{service.name}."
    return {path[len(prefix):]: s.value for path, s in plan.settings.items()
            if path.startswith(prefix) and "." not in path[len(prefix):]}


def _diagnostic(service: Any, cat: catalogs.Catalog, config: Any, rule: Rule, get: Getter,
                section: str | None, values: Mapping[str, Any], program: Any) -> Diagnostic:
    names = [cat.get(n, section).name for n in rule.names()]   # type: ignore[union-attr]
    where = {n: _path(service, n, program) for n in names}
    shown = ", ".join(f"{where[n]} = {_shown(service, cat, n, section, get(n))}"
                      + ("" if n in values else " (the daemon's default)") for n in names)
    spans = [(where[n], config.spans.get(where[n])) for n in names]
    written = [(p, s) for p, s in spans if s is not None]
    path, span = written[0] if written else spans[0]
    related = tuple(Related(f"{p} is set here", s, p) for p, s in written[1:])
    title = service.title_of(config.targets)
    return Diagnostic(
        "PCF218", "error", f"{title} {cat.version} refuses {shown}: {rule.said}", span, path,
        rule.hint, related)


def _path(service: Any, name: str, program: Any) -> str:
    if program is None:
        return f"{service.name}.{name}"
    base = f"workload.programs.{program.name}"
    own = service.program_owned.get(name)
    if own is not None:
        return f"{base}.{own}"
    return f"{base}.{service.program_field}.{name}"


def _shown(service: Any, cat: catalogs.Catalog, name: str, section: str | None,
           value: Any) -> str:
    param = cat.get(name, section)
    if param is None or value is None:
        return repr(value)
    try:
        return str(service.encode(param, value))
    except (ValueError, TypeError):
        return str(value)


# -- list directives: the words of each line ------------------------------------------------

_WORD_TYPES = {"integer": re.compile(r"[+-]?\d+"),
               "real": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"),
               "size": re.compile(r"\d+([kmg]b?|b)?", re.IGNORECASE)}


@dataclass(frozen=True)
class ListShape:
    """How many words each line of a list directive takes, and what each word is (Redis's
    ``save`` takes pairs of integers, ``oom-score-adj-values`` exactly three between -2000 and
    2000). Each item of the list is written as one line."""

    name: str
    said: str
    items: tuple[Mapping[str, Any], ...] = ()
    count: int | None = None
    groups: int | None = None
    empty: bool = True

    def check(self, lines: list[Any]) -> None:
        from perfcfg.core.units import UnitError

        if not lines and not self.empty:
            raise UnitError(f"{self.name} needs a value ({self.said})")
        for line in lines:
            words = str(line).split()
            if not words:
                if not self.empty:
                    raise UnitError(f"{self.name} cannot be empty ({self.said})")
                continue
            if self.count is not None and len(words) != self.count:
                raise UnitError(f"{self.name} takes {self.count} values on a line, not "
                                f"{len(words)} ({self.said})")
            if self.groups is not None and len(words) % self.groups:
                raise UnitError(f"{self.name} takes its values in groups of {self.groups}, "
                                f"not {len(words)} ({self.said})")
            for i, word in enumerate(words):
                if self.items:
                    self._word(word, self.items[i % len(self.items)])

    def _word(self, word: str, spec: Mapping[str, Any]) -> None:
        from perfcfg.core.units import UnitError

        kind = spec.get("type")
        if "values" in spec and word.lower() not in [v.lower() for v in spec["values"]]:
            raise UnitError(f"{self.name}: {word!r} is not one of {', '.join(spec['values'])}")
        if kind in _WORD_TYPES and not _WORD_TYPES[kind].fullmatch(word):
            raise UnitError(f"{self.name}: {word!r} is not {'an' if kind == 'integer' else 'a'} "
                            f"{kind} ({self.said})")
        if kind in ("integer", "real"):
            number = float(word)
            if ("min" in spec and number < spec["min"]) or ("max" in spec and number > spec["max"]):
                raise UnitError(f"{self.name}: {word} is outside {spec.get('min', '-inf')} .. "
                                f"{spec.get('max', 'inf')} ({self.said})")


@cache
def _file(daemon: str) -> Mapping[str, Any]:
    for folder in catalogs._files():
        try:
            data: Mapping[str, Any] = json.loads(
                folder.joinpath(f"{daemon}.constraints.json").read_text("utf-8"))
            return data
        except (FileNotFoundError, OSError):
            continue
    return {}


def shape(daemon: str, name: str) -> ListShape | None:
    """The declared shape of list directive ``name`` of ``daemon``, if it has one."""
    spec = _file(daemon).get("lists", {}).get(name)
    if spec is None:
        return None
    return ListShape(name, spec["said"], tuple(spec.get("items", ())), spec.get("count"),
                     spec.get("groups"), spec.get("empty", True))


def pattern_words(pattern: str) -> str:
    """What a catalog pattern asks for, in words.

    >>> pattern_words("[^/]*"), pattern_words("[Ag\\\\$l]*"), pattern_words("[^ :/]*")
    ('it takes a plain file name, not a path', 'it takes only the characters Ag$l', "it takes no ' ', ':' or '/'")
    >>> pattern_words("[^/]+"), pattern_words(".+")
    ('it takes a plain file name, not a path, and not an empty one', 'it cannot be empty')
    """
    if pattern.startswith("(((25[0-5]"):
        return "it takes an IPv4 address"
    if pattern == "[0-9A-Fa-f:.]*":
        return "it takes an IPv6 address"
    only = re.fullmatch(r"\((.*)\)\?", pattern)
    if only:
        word = re.sub(r"\\(.)", r"\1", only.group(1))
        return f"it takes only {word!r} (or nothing)"
    body, filled = pattern[:-1], pattern.endswith("+")
    tail = ", and not an empty one" if filled else ""
    if body == ".":
        return "it cannot be empty" if filled else f"it takes values matching {pattern}"
    if body in ("[^/]", "[^/\\\\]"):
        return "it takes a plain file name, not a path" + tail
    unwanted = re.fullmatch(r"\[\^(.*)\]", body)
    if unwanted:
        return "it takes no " + " or ".join(f"{c!r}" for c in unwanted.group(1)).replace(
            "' or '", "', '", len(unwanted.group(1)) - 2) + tail
    chars = re.fullmatch(r"\[(.*)\]", body)
    if chars:
        return "it takes only the characters " + re.sub(r"\\(.)", r"\1", chars.group(1)) + tail
    return f"it takes values matching {pattern}"


# -- values the target host must have -------------------------------------------------------

@dataclass(frozen=True)
class Depends:
    """Parameters whose values must exist on the target host or build (a locale, a library):
    checked against the sets that say what it has — the catalog's, read off the binary
    (``sets.libraries``), and what the host profile or the targets declare (``host.locales``,
    ``targets.postgres_build.libraries``). A value none of them has is an error when every
    declaring source is given, and a warning naming the assumption perfcfg makes when one is
    not; ``refused: false`` (the daemon starts anyway) makes it a warning always."""

    id: str
    params: tuple[str, ...]
    on: tuple[str, ...]
    said: str
    declare: str
    always: tuple[str, ...] = ()
    list: str | None = None          # the separator of a list value
    fold: str | None = None          # "locale": compare codesets as glibc does (UTF-8 = utf8)
    schema: str | None = None        # a qualified name's schema that may be left out
    refused: bool = True

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Depends:
        return cls(data["id"], tuple(data["params"]), tuple(data["on"]), data["said"],
                   data["declare"], tuple(data.get("always", ())), data.get("list"),
                   data.get("fold"), data.get("schema"), data.get("refused", True))

    def key(self, value: str) -> str:
        text = value.strip()
        if self.schema and text.lower().startswith(f"{self.schema}."):
            text = text[len(self.schema) + 1:]
        if self.fold == "locale" and "." in text:
            lang, _, codeset = text.partition(".")
            text = f"{lang}.{codeset.lower().replace('-', '')}"
        return text


def _source(name: str, cat: catalogs.Catalog, config: Any) -> list[str] | None:
    """A set by its name in the constraint data; None when it is not declared."""
    head, _, rest = name.partition(".")
    if head == "sets":
        found: Any = cat.sets.get(rest)
    else:
        found = config.host if head == "host" else config.targets if head == "targets" else None
        for part in rest.split("."):
            found = getattr(found, part, None)
    return None if found is None else [str(v) for v in found]


def host_values(config: Any, plan: Any, services: tuple[Any, ...]) -> list[Diagnostic]:
    """Every service's values that the target host or build must have (``depends``)."""
    out: list[Diagnostic] = []
    for service in services:
        cat = service.catalog(config.targets)
        if cat is None:
            continue
        for spec in _file(service.daemon_of(config.targets)).get("depends", ()):
            rule = Depends.of(spec)
            sources = {name: _source(name, cat, config) for name in rule.on}
            known = {rule.key(v) for found in sources.values() if found for v in found}
            undeclared = [n for n, found in sources.items() if found is None]
            for name in rule.params:
                param = cat.get(name)
                setting = plan.settings.get(f"{service.name}.{param.name}") if param else None
                if setting is None or not isinstance(setting.value, str):
                    continue
                items = setting.value.split(rule.list) if rule.list else [setting.value]
                for item in (i.strip() for i in items):
                    if rule.key(item) in {rule.key(a) for a in rule.always} or \
                            rule.key(item) in known or (rule.list and not item):
                        continue
                    out.append(_lacking(service, config, rule, setting, item, undeclared,
                                        sorted(v for found in sources.values() if found
                                               for v in found)))
    return out


def _lacking(service: Any, config: Any, rule: Depends, setting: Any, item: str,
             undeclared: list[str], known: list[str]) -> Diagnostic:
    path = setting.path
    title = service.title_of(config.targets)
    if undeclared or not rule.refused:
        assumed = "" if rule.refused else f" ({title} starts without it, then fails where " \
            "it is used)"
        return Diagnostic(
            "PCF219", "warning", f"{path} = {item!r}: perfcfg assumes the target host has "
            f"it{assumed}; {title} refuses what it lacks: {rule.said}", config.spans.get(path),
            path, rule.declare)
    where = [n for n in rule.on if not n.startswith("sets.")]
    shown = ", ".join(known[:8]) + ("…" if len(known) > 8 else "")
    return Diagnostic(
        "PCF219", "error", f"{path} = {item!r}: the target host does not have it "
        f"({' and '.join(where) or 'the catalog'} list only {shown}); {title} refuses it: "
        f"{rule.said}", config.spans.get(path), path,
        f"use one of them, or add it to the host and to {' or '.join(where)}" if where
        else rule.declare,
        tuple(Related(f"{n} is declared here", config.spans.get(n), n) for n in where
              if config.spans.get(n)))
