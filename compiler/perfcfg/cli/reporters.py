"""Reporters: turn a list of ``Diagnostic`` values into text for people, scripts or CI.

This module owns every way perfcfg *shows* diagnostics: ``text`` (a rustc/ruff-like code
frame), ``json`` (a stable, versioned shape), ``github`` (workflow-command annotations) and
``sarif`` (SARIF 2.1.0 for code scanning). It returns strings; the CLI decides where they go.
It prints only what is in a Diagnostic plus the source lines its spans point at, and those
lines pass through ``redact`` so the core can mask secret values.

>>> d = Diagnostic("PCF201", "error", "unknown key", Span("a.yaml", 2, 3, 2, 11),
...                "postgres.work_mme", hint="did you mean `work_mem`?")
>>> print(render([d], "text", {"a.yaml": "postgres:\\n  work_mme: 64MB\\n"}, False), end="")
error[PCF201]: unknown key
 --> a.yaml:2:3
  |
1 | postgres:
2 |   work_mme: 64MB
  |   ^^^^^^^^
  = path: postgres.work_mme
  = hint: did you mean `work_mem`?
<BLANKLINE>
1 error

Only the standard library is imported here (and ``urllib.parse`` only for SARIF): this
module sits on the pre-commit fast path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from perfcfg import __version__
from perfcfg.core.codes import TITLES, family
from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.spans import Span

Redact = Callable[[str, int], str]
"""(file, 1-based line number) → the text of that line to show in a code frame."""

JSON_VERSION = 1
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
TAB_WIDTH = 4

_SEVERITIES = ("error", "warning", "info")
_GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def render(diagnostics: Iterable[Diagnostic], fmt: str, sources: Mapping[str, str],
           color: bool = False, *, redact: Redact | None = None, base: str = "",
           root_uri: str | None = None) -> str:
    """Render ``diagnostics`` in ``fmt`` (one of ``FORMATS``), sorted by place.

    ``sources`` maps ``span.file`` to the file's text (for code frames); ``color`` adds ANSI
    colour to ``text`` only; ``redact`` replaces each framed source line (``text`` only, the
    one format that quotes source lines). ``base`` is the project directory as seen from where
    perfcfg runs: ``github`` and ``sarif`` name files from there (spans are project-relative),
    because annotations and code scanning resolve them from the checkout's root; ``root_uri``
    is that place as an absolute URI, SARIF's ``%SRCROOT%``.
    """
    reporter = REPORTERS.get(fmt)
    if reporter is None:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    return reporter(ordered, _Where(sources, color, redact, base, root_uri))


@dataclass(frozen=True)
class _Where:
    """What a reporter may need besides the diagnostics (see :func:`render`)."""

    sources: Mapping[str, str]
    color: bool
    redact: Redact | None
    base: str
    root_uri: str | None


def summary_counts(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    """Count diagnostics per severity: ``{"errors": n, "warnings": n, "infos": n}``."""
    counts = {f"{severity}s": 0 for severity in _SEVERITIES}
    for d in diagnostics:
        counts[f"{d.severity}s"] += 1
    return counts


# --- text -------------------------------------------------------------------------------

_ANSI = {"error": "1;31", "warning": "1;33", "info": "1;36", "note": "1;32",
         "gutter": "1;34", "bold": "1"}


class _Style:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, role: str) -> str:
        if not self.color or not text:
            return text
        return f"\x1b[{_ANSI[role]}m{text}\x1b[0m"


class _Source:
    """Source lines of the files named by spans, looked up through ``redact``."""

    def __init__(self, sources: Mapping[str, str], redact: Redact | None):
        self.sources = sources
        self.redact = redact
        self._lines: dict[str, list[str]] = {}

    def has(self, span: Span) -> bool:
        return span.file in self.sources and 1 <= span.line <= len(self._split(span.file))

    def line(self, file: str, number: int) -> str:
        text = self.redact(file, number) if self.redact else self._split(file)[number - 1]
        return text.rstrip("\r\n")

    def _split(self, file: str) -> list[str]:
        if file not in self._lines:
            self._lines[file] = self.sources[file].split("\n")
        return self._lines[file]


def render_text(diagnostics: list[Diagnostic], sources: Mapping[str, str], color: bool,
                redact: Redact | None = None) -> str:
    """rustc/ruff-like report: one block per diagnostic, then a summary line.

    Returns ``""`` for no diagnostics, so a clean pre-commit run stays silent.
    """
    if not diagnostics:
        return ""
    style, source = _Style(color), _Source(sources, redact)
    blocks = [_text_block(d, source, style) for d in diagnostics]
    return "\n".join(blocks) + "\n" + style(_summary_line(diagnostics), "bold") + "\n"


def _text_block(d: Diagnostic, source: _Source, style: _Style) -> str:
    width = _gutter_width(d, source)
    head = style(f"{d.severity}[{d.code}]", d.severity) + style(f": {_clean(d.message)}", "bold")
    if d.severity == "info":
        # An accepted caveat or a note: one line saying what and where, no code frame, so a
        # waived warning does not repeat itself at length on every run.
        where = f" {style('-->', 'gutter')} {d.span.label()}" if d.span is not None else ""
        return head + where + "\n"
    lines = [head, *_located(d.span, d.severity, width, source, style)]
    lines += _equals("path", d.path, width, style)
    lines += _equals("hint", d.hint, width, style)
    for related in d.related:
        lines += _related(related, width, source, style)
    return "\n".join(lines) + "\n"


def _related(related: Related, width: int, source: _Source, style: _Style) -> list[str]:
    lines = [style("note", "note") + f": {_clean(related.message)}"]
    lines += _located(related.span, "note", width, source, style)
    return lines + _equals("path", related.path, width, style)


def _gutter_width(d: Diagnostic, source: _Source) -> int:
    spans = [s for s in (d.span, *(r.span for r in d.related)) if s is not None]
    framed = [s.line for s in spans if source.has(s)]
    return max((len(str(n)) for n in framed), default=1)


def _located(span: Span | None, role: str, width: int, source: _Source,
             style: _Style) -> list[str]:
    """The `` --> file:line:col`` line and, when the source is known, its code frame."""
    if span is None:
        return []
    arrow = " " * width + style("--> ", "gutter") + span.label()
    if not source.has(span):
        return [arrow]
    bar = " " * (width + 1) + style("|", "gutter")
    lines = [arrow, bar]
    if span.line > 1 and source.line(span.file, span.line - 1).strip():
        lines.append(_numbered(span.line - 1, source.line(span.file, span.line - 1), width, style))
    text = source.line(span.file, span.line)
    lines.append(_numbered(span.line, text, width, style))
    offset, carets = _underline(span, text)
    lines.append(f"{bar} " + " " * offset + style("^" * carets, role))
    return lines


def _numbered(number: int, text: str, width: int, style: _Style) -> str:
    gutter = style(f"{number:>{width}} |", "gutter")
    shown = _clean(text.expandtabs(TAB_WIDTH))
    return f"{gutter} {shown}" if shown else gutter


def _underline(span: Span, text: str) -> tuple[int, int]:
    """(offset, length) of the caret run under ``text``, in display columns.

    ``end_column`` is exclusive (as the loader records it); a span reaching past this line
    is underlined to the end of the line.
    """
    start = max(span.column, 1) - 1
    offset = len(text[:start].expandtabs(TAB_WIDTH))
    line_end = len(text.expandtabs(TAB_WIDTH))
    if span.end_line == span.line and span.end_column > span.column:
        # A redacted line can be shorter than the span; max() below still marks its start.
        end = len(text[:span.end_column - 1].expandtabs(TAB_WIDTH))
    elif span.end_line > span.line:
        end = line_end
    else:
        end = offset + 1
    return offset, max(end - offset, 1)


def _equals(label: str, value: str | None, width: int, style: _Style) -> list[str]:
    if not value:
        return []
    pad = " " * (width + 1)
    first, *rest = _clean(value).split("\n")
    return [f"{pad}{style('=', 'gutter')} {style(label, 'bold')}: {first}",
            *(f"{pad}  {' ' * len(label)}  {line}" for line in rest)]


def _clean(text: str) -> str:
    """Escape control characters (keeping newlines and tabs) so a crafted YAML file
    cannot drive the terminal through an error message or a code frame."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _summary_line(diagnostics: list[Diagnostic]) -> str:
    counts = summary_counts(diagnostics)
    parts = [_plural(counts[f"{s}s"], s) for s in _SEVERITIES if counts[f"{s}s"]]
    return ", ".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- json -------------------------------------------------------------------------------

def render_json(diagnostics: list[Diagnostic]) -> str:
    """The documented ``{"version": 1, "summary": …, "diagnostics": […]}`` shape."""
    document = {
        "version": JSON_VERSION,
        "summary": summary_counts(diagnostics),
        "diagnostics": [_json_diagnostic(d) for d in diagnostics],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_diagnostic(d: Diagnostic) -> dict[str, object]:
    span = d.span
    return {
        "code": d.code, "severity": d.severity, "message": d.message,
        "file": span.file if span else None,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "end_line": (span.end_line or None) if span else None,
        "end_column": (span.end_column or None) if span else None,
        "path": d.path, "hint": d.hint,
        "related": [_json_related(r) for r in d.related],
    }


def _json_related(r: Related) -> dict[str, object]:
    span = r.span
    return {"message": r.message, "path": r.path,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "column": span.column if span else None}


def renamed(d: Diagnostic, names: Mapping[str, str]) -> Diagnostic:
    """``d`` with each file of ``names`` shown by its new name: in its spans and where its
    message names it (``host profile hosts/prod.yaml does not exist``)."""
    import dataclasses
    import re

    if not names:
        return d
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w/-])")

    def text(value: str | None) -> str | None:
        return pattern.sub(lambda m: names[m.group(1)], value) if value else value

    def span(s: Span | None) -> Span | None:
        return dataclasses.replace(s, file=names[s.file]) if s is not None and \
            s.file in names else s

    # Hints keep their names: each says what to write where, from its own base ("paths are
    # relative to the project").
    return dataclasses.replace(
        d, message=text(d.message) or "", span=span(d.span),
        related=tuple(dataclasses.replace(r, message=text(r.message) or "", span=span(r.span))
                      for r in d.related))


# --- github -----------------------------------------------------------------------------

def in_project(file: str) -> bool:
    """Whether a span's file is a file of the project (not a built-in preset or --set)."""
    return bool(file) and not file.startswith("builtin:") and file != "--set"


def located(file: str, base: str) -> str:
    """A span's file as seen from where perfcfg runs (``base``: the project from there).

    >>> located("presets/a.yaml", "examples/botfarm"), located("builtin:staging", "x")
    ('examples/botfarm/presets/a.yaml', 'builtin:staging')
    """
    import posixpath

    if not in_project(file) or base in ("", "."):
        return file
    return posixpath.normpath(posixpath.join(base, file))


def render_github(diagnostics: list[Diagnostic], base: str = "") -> str:
    """One ``::error|warning|notice …::message`` workflow command per diagnostic."""
    return "".join(_github_command(d, base) + "\n" for d in diagnostics)


def _github_command(d: Diagnostic, base: str) -> str:
    props = ",".join(f"{key}={_escape_property(str(value))}"
                     for key, value in _github_properties(d, base) if value)
    return f"::{_GITHUB_COMMAND[d.severity]} {props}::{_escape_data(_github_message(d))}"


def _github_properties(d: Diagnostic, base: str) -> list[tuple[str, object]]:
    span = d.span
    if span is None:
        return [("title", d.code)]
    props: list[tuple[str, object]] = [("file", located(span.file, base)), ("line", span.line)]
    one_line = span.end_line in (0, span.line)
    # GitHub rejects columns on annotations that span several lines (toolkit AnnotationProperties).
    if one_line:
        props.append(("col", span.column))
    if span.end_line:
        props.append(("endLine", span.end_line))
    if one_line and span.end_column:
        props.append(("endColumn", span.end_column))
    return props + [("title", d.code)]


def _github_message(d: Diagnostic) -> str:
    lines = [d.message]
    if d.path:
        lines.append(f"path: {d.path}")
    if d.hint:
        lines.append(f"hint: {d.hint}")
    for r in d.related:
        where = f" ({r.span.label()})" if r.span else ""
        lines.append(f"note: {r.message}{where}")
    return "\n".join(lines)


def _escape_data(s: str) -> str:
    """Escape a command's message as actions/toolkit ``escapeData`` does."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    """Escape a property value as actions/toolkit ``escapeProperty`` does."""
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


# --- sarif ------------------------------------------------------------------------------

SRCROOT = "%SRCROOT%"    # the base id GitHub code scanning and other SARIF viewers know


def render_sarif(diagnostics: list[Diagnostic], base: str = "", root_uri: str | None = None
                 ) -> str:
    """A SARIF 2.1.0 log with one run of the ``perfcfg`` driver."""
    rule_ids = sorted({d.code for d in diagnostics})
    driver = {"name": "perfcfg", "version": __version__,
              "rules": [_sarif_rule(code) for code in rule_ids]}
    run = {"tool": {"driver": driver},
           "columnKind": "unicodeCodePoints",
           "results": [_sarif_result(d, rule_ids.index(d.code), base) for d in diagnostics]}
    if root_uri is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root_uri}}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _sarif_rule(code: str) -> dict[str, object]:
    title = TITLES.get(code) or f"perfcfg {family(code)}"
    return {"id": code, "shortDescription": {"text": title}}


def _sarif_result(d: Diagnostic, rule_index: int, base: str) -> dict[str, object]:
    text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    result: dict[str, object] = {"ruleId": d.code, "ruleIndex": rule_index,
                                 "level": _SARIF_LEVEL[d.severity], "message": {"text": text}}
    location = _sarif_location(d.span, d.path, base)
    if location:
        result["locations"] = [location]
    related = [_sarif_related(i, r, base) for i, r in enumerate(d.related)]
    if related:
        result["relatedLocations"] = related
    if d.path:
        result["properties"] = {"path": d.path}
    return result


def _sarif_related(index: int, r: Related, base: str) -> dict[str, object]:
    location = _sarif_location(r.span, r.path, base)
    return {"id": index, "message": {"text": r.message}, **location}


def _sarif_location(span: Span | None, path: str | None, base: str) -> dict[str, object]:
    location: dict[str, object] = {}
    if span is not None and span.file:
        artifact = {"uri": _uri(located(span.file, base))}
        if in_project(span.file):
            artifact["uriBaseId"] = SRCROOT
        location["physicalLocation"] = {"artifactLocation": artifact,
                                         "region": _sarif_region(span)}
    if path:
        location["logicalLocations"] = [{"fullyQualifiedName": path, "kind": "member"}]
    return location


def _sarif_region(span: Span) -> dict[str, int]:
    region = {"startLine": max(span.line, 1), "startColumn": max(span.column, 1)}
    if span.end_line >= span.line and span.end_line:
        region["endLine"] = span.end_line
        if span.end_column:
            region["endColumn"] = span.end_column
    return region


def _uri(file: str) -> str:
    """A relative URI reference for a project path (``builtin:x`` stays one, not a scheme)."""
    from urllib.parse import quote  # only SARIF needs it; keep it off the fast path

    return quote(file.replace("\\", "/"), safe="/")


# One reporter per format, by name: the CLI's --format choices are this table's keys.
REPORTERS: dict[str, Callable[[list[Diagnostic], _Where], str]] = {
    "text": lambda found, w: render_text(found, w.sources, w.color, w.redact),
    "json": lambda found, w: render_json(found),
    "github": lambda found, w: render_github(found, w.base),
    "sarif": lambda found, w: render_sarif(found, w.base, w.root_uri),
}
FORMATS = tuple(REPORTERS)
