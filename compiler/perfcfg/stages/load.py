"""A strict, safe YAML loader that keeps file:line:column for every node.

It builds :mod:`perfcfg.core.nodes` trees from PyYAML's *event* stream (never ``yaml.load``), so it
sees what a constructor would hide, and reports:

- duplicate keys (PCF103), explicit tags other than perfcfg's ``!unset`` (PCF104),
- alias expansion beyond a cap — "billion laughs" (PCF105), files that are not UTF-8 (PCF106),
  oversized files (PCF107), tabs in indentation (PCF108), several documents (PCF109),
- syntax errors with the parser's own position (PCF102),
- plain scalars the YAML 1.1 resolver would silently turn into something surprising:
  leading-zero integers (``0644`` is octal there) and sexagesimal ``1:30`` (PCF110).

Plain scalars are resolved with a small, documented rule set: ``null``/``~``/empty → None;
``true/false/yes/no/on/off`` (any case) → bool; decimal integers; decimal floats; else string.

>>> tree, diags = load_text("a: 1\\nb: [x, 2.5]\\n", "t.yaml")
>>> to_plain(tree)[0], diags
({'a': 1, 'b': ['x', 2.5]}, [])
"""

from __future__ import annotations

import os
import re
from typing import Any, cast

import yaml

from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.nodes import (  # noqa: F401
    UNSET_TAG,
    Entry,
    Mapping,
    Node,
    Scalar,
    Sequence,
    to_plain,
)
from perfcfg.core.redact import is_secret_key
from perfcfg.core.spans import Span

MAX_FILE_BYTES = 1 << 20
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 64                 # mappings and lists inside each other
MAX_INT_DIGITS = 40            # far beyond any setting's range; int() of more is costly

# libyaml's event parser when PyYAML was built with it (``yaml.CParser`` does not exist, so
# looking it up by that name silently chose the pure-Python parser, ~10x slower).
_CLoader = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None

_STANDARD_TAGS = "tag:yaml.org,2002:"   # what "!!" abbreviates; shown as written
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")


def resolve_plain(raw: str) -> Any:
    """The value of an unquoted scalar under perfcfg's rules (see module docstring)."""
    if raw in _NULL:
        return None
    low = raw.lower()
    if low in _BOOL:
        return _BOOL[low]
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    return raw


def load_file(path: str | os.PathLike[str], display: str) -> tuple[Node | None, list[Diagnostic]]:
    """Load one YAML file; ``display`` is the name used in spans (relative to the project)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Diagnostic("PCF101", "error", f"cannot read {display}: {exc.strerror}",
                                 Span(display, 1, 1), hint="check the path in perfcfg.yaml or extends")]
    return load_bytes(data, display)


def load_bytes(data: bytes, display: str) -> tuple[Node | None, list[Diagnostic]]:
    if len(data) > MAX_FILE_BYTES:
        return None, [Diagnostic("PCF107", "error",
                                 f"{display} is larger than {MAX_FILE_BYTES // 1024} KiB",
                                 Span(display, 1, 1), hint="split it into presets that extend each other")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Diagnostic("PCF106", "error",
                                 f"{display} is not UTF-8 (byte 0x{data[exc.start]:02x})",
                                 Span(display, line, col), hint="save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_text(text, display)


# Line breaks to a YAML 1.1 parser (PyYAML folds them into a space or ends a line there) but
# text to YAML 1.2 tools, editors and the daemons: a value would silently change meaning.
_ODD_BREAKS = re.compile("[\x85\u2028\u2029]")


def load_text(text: str, display: str) -> tuple[Node | None, list[Diagnostic]]:
    tab = _tab_indent(text, display)
    if tab:
        return None, [tab]
    odd = _ODD_BREAKS.search(text)
    if odd:
        line = text.count("\n", 0, odd.start()) + 1
        col = odd.start() - (text.rfind("\n", 0, odd.start()) + 1) + 1
        return None, [Diagnostic("PCF102", "error", f"YAML syntax error: U+{ord(odd.group()):04X} "
                                 "is a line break to YAML 1.1 and text to other tools",
                                 Span(display, line, col),
                                 hint="remove it, or write it as an escape inside double quotes "
                                      f"(\"\\u{ord(odd.group()):04x}\") if it is meant")]
    builder = _Builder(display)
    try:
        events = _events(text)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_error(exc, text, display)]
    except yaml.YAMLError as exc:      # the reader's: a NUL or other unprintable character
        where = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, where) + 1
        col = where - (text.rfind("\n", 0, where) + 1) + 1
        what = getattr(exc, "reason", None) or "unreadable character"
        return None, [Diagnostic("PCF102", "error", f"YAML syntax error: {what}",
                                 Span(display, line, col),
                                 hint="remove the control character (a NUL, or a byte pasted "
                                      "from a binary file)")]
    deep = _too_deep(events)
    if deep is not None:
        return None, [Diagnostic("PCF102", "error", f"YAML syntax error: nested more than "
                                 f"{MAX_DEPTH} levels deep", _span(display, deep),
                                 hint="no preset needs this much nesting; flatten it")]
    tree = builder.build(events)
    return tree, builder.diagnostics


def _too_deep(events: list[yaml.Event]) -> yaml.Event | None:
    """The first event nested deeper than MAX_DEPTH (the tree builder recurses per level)."""
    depth = 0
    for event in events:
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return event
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return None


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> Diagnostic:
    """PCF102 at the most useful place: where the parser gave up, unless that is the end of
    the file (an unclosed quote or bracket), then where the unclosed thing started."""
    lines = text.rstrip("\n").split("\n")
    problem, context = exc.problem_mark, exc.context_mark
    at_end = problem is None or problem.line >= len(lines)
    mark = context if at_end and context is not None else problem
    if mark is None or mark.line >= len(lines):
        span = Span(display, len(lines), len(lines[-1]) + 1)   # just past the last character
    else:
        span = Span(display, mark.line + 1, mark.column + 1)
    what = exc.problem or "syntax error"
    if at_end and "end of stream" not in what:
        what += " before the end of the file"
    context_text = f" ({exc.context})" if exc.context else ""
    related: tuple[Related, ...] = ()
    if context is not None and context is not mark and context.line < len(lines) and \
            (context.line, context.column) != (span.line - 1, span.column - 1):
        # e.g. an unclosed '[' far above the line where the parser noticed it
        what_started = re.sub(r"^while (parsing|scanning) (an? )?", "the ", exc.context or "it")
        related = (Related(f"{what_started} starts here",
                           Span(display, context.line + 1, context.column + 1)),)
    return Diagnostic("PCF102", "error", f"YAML syntax error: {what}{context_text}", span,
                      hint="check indentation, quotes, brackets and colons on this line",
                      related=related)


def _events(text: str) -> list[yaml.Event]:
    """The event list, from libyaml when present (its messages are the ones documented in
    docs/diagnostics.md), else from the pure-Python parser."""
    return list(yaml.parse(text, Loader=_CLoader or yaml.SafeLoader))


def _tab_indent(text: str, display: str) -> Diagnostic | None:
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t") and stripped.strip():
            return Diagnostic("PCF108", "error", "tab character used for indentation",
                              Span(display, number, len(line) - len(stripped) + 1),
                              hint="YAML indentation must use spaces")
    return None


def _span(display: str, event: yaml.Event) -> Span:
    start, end = event.start_mark, event.end_mark
    return Span(display, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    """Turns a flat event list into a located tree, checking as it goes."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.diagnostics: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.expanded = 0
        self.bomb = False
        self.secret_key = False   # building the value of a key like `password`

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, "error", message, span, hint=hint))

    def build(self, events: list[yaml.Event]) -> Node | None:
        docs = [i for i, e in enumerate(events) if isinstance(e, yaml.DocumentStartEvent)]
        if len(docs) > 1:
            self.error("PCF109", "more than one YAML document in this file",
                       _span(self.display, events[docs[1]]),
                       hint="a preset is a single document: remove the second '---'")
            return None
        if not docs:
            return Mapping(Span(self.display, 1, 1))
        self.events, self.pos = events, docs[0] + 1
        if isinstance(self.events[self.pos], yaml.DocumentEndEvent):
            return Mapping(Span(self.display, 1, 1))
        node, _ = self.node()
        return None if self.bomb else node

    def next(self) -> yaml.Event:
        event = self.events[self.pos]
        self.pos += 1
        return event

    def node(self) -> tuple[Node, int]:
        """The next node and the number of nodes it expands to."""
        next_event = self.next()
        if isinstance(next_event, yaml.AliasEvent):
            return self.alias(next_event)
        # where a node starts, the parser puts an alias, a scalar or a collection's start
        event = cast("yaml.ScalarEvent | yaml.CollectionStartEvent", next_event)
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            node, size = self.scalar(event), 1
        elif isinstance(event, yaml.SequenceStartEvent):
            node, size = self.sequence(event)
        else:
            node, size = self.mapping(event)
        self.check_tag(event)
        if event.anchor:
            self.anchors[event.anchor] = (node, size)
        return node, size

    def alias(self, event: yaml.AliasEvent) -> tuple[Node, int]:
        if event.anchor not in self.anchors:
            self.error("PCF102", f"YAML syntax error: alias *{event.anchor} names no anchor "
                       "defined above it", _span(self.display, event),
                       hint=f"define &{event.anchor} before using it, or write the value out")
            return Scalar(_span(self.display, event), None, "", False), 1
        node, size = self.anchors[event.anchor]
        self.expanded += size
        if self.expanded > MAX_EXPANDED_NODES and not self.bomb:
            self.bomb = True
            self.error("PCF105", f"aliases expand to more than {MAX_EXPANDED_NODES} nodes",
                       _span(self.display, event),
                       hint="this looks like an alias bomb; write the values out or use extends")
        return node, size

    def check_tag(self, event: yaml.ScalarEvent | yaml.CollectionStartEvent) -> None:
        tag = event.tag
        if tag is None or tag in ("!", UNSET_TAG):
            return
        if isinstance(event, yaml.ScalarEvent) and event.implicit[0]:
            return
        shown = "!!" + tag[len(_STANDARD_TAGS):] if tag.startswith(_STANDARD_TAGS) else tag
        self.error("PCF104", f"YAML tag {shown!r} is not allowed",
                   _span(self.display, event),
                   hint=f"perfcfg reads plain YAML; the only tag it knows is {UNSET_TAG}")

    def scalar(self, event: yaml.ScalarEvent) -> Scalar:
        span = _span(self.display, event)
        quoted = event.style in ("'", '"', "|", ">")
        raw = event.value
        if event.tag == UNSET_TAG:
            return Scalar(span, None, raw, quoted, UNSET_TAG)
        if quoted or event.tag in ("!", "tag:yaml.org,2002:str"):
            return Scalar(span, raw, raw, True)
        if _INT.fullmatch(raw) and len(raw.lstrip("+-")) > MAX_INT_DIGITS:
            self.error("PCF205", f"a number of {len(raw.lstrip('+-'))} digits is out of range "
                       "of every setting", span, hint="write a smaller number")
            return Scalar(span, None, raw, False)
        if _LEADING_ZERO.fullmatch(raw) or _SEXAGESIMAL.fullmatch(raw):
            shown = "" if self.secret_key else f" {raw!r}"   # never echo a password
            self.error("PCF110", f"ambiguous number{shown}", span,
                       hint="write it as a decimal number, or quote it to mean a string")
        return Scalar(span, resolve_plain(raw), raw, False)

    def sequence(self, start: yaml.CollectionStartEvent) -> tuple[Sequence, int]:
        seq, size = Sequence(_span(self.display, start)), 1
        while not isinstance(self.events[self.pos], yaml.SequenceEndEvent):
            item, n = self.node()
            seq.items.append(item)
            size += n
        self.next()
        return seq, size

    def mapping(self, start: yaml.CollectionStartEvent) -> tuple[Mapping, int]:
        mapping, size = Mapping(_span(self.display, start)), 1
        while not isinstance(self.events[self.pos], yaml.MappingEndEvent):
            key_event = self.events[self.pos]
            key_node, _ = self.node()
            outer = self.secret_key
            self.secret_key = isinstance(key_node, Scalar) and is_secret_key(key_node.raw)
            value, n = self.node()
            self.secret_key = outer
            size += n
            if not isinstance(key_node, Scalar) or key_node.tag:
                self.error("PCF111", "mapping keys must be plain strings",
                           key_node.span, hint="use a simple name as the key")
                continue
            key = key_node.raw
            if key == "<<":
                self.error("PCF111", "YAML merge keys (<<) are not supported", key_node.span,
                           hint="use 'extends' to build on another preset")
                continue
            if key in mapping.entries:
                first = mapping.entries[key].key_span
                self.diagnostics.append(Diagnostic(
                    "PCF103", "error", f"duplicate key {key!r} (first defined at line {first.line})",
                    key_node.span, hint="remove one of them; YAML parsers silently keep the last"))
                continue
            mapping.entries[key] = Entry(_span(self.display, key_event), value)
        self.next()
        return mapping, size
