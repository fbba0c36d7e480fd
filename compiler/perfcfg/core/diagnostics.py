"""Diagnostics as data: every stage reports problems as ``Diagnostic`` values.

Codes are stable and documented in ``docs/diagnostics.md``:
``PCF1xx`` loading (YAML, files, extends), ``PCF2xx`` schema (types, units, ranges, keys),
``PCF3xx`` cross-service checks (memory, connections, fds, ports, versions),
``PCF4xx`` security policy, ``PCF5xx`` build/CLI.

>>> d = Diagnostic("PCF201", "error", "unknown key", Span("a.yaml", 3, 1), "postgres.work_mme")
>>> d.sort_key() < Diagnostic("PCF201", "error", "x", Span("a.yaml", 4, 1)).sort_key()
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from perfcfg.core.spans import Span

Severity = Literal["error", "warning", "info"]
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Related:
    """A second place involved in a diagnostic (e.g. the other side of a budget conflict)."""

    message: str
    span: Span | None = None
    path: str | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    path: str | None = None
    hint: str | None = None
    related: tuple[Related, ...] = field(default=())
    # project files the message names (as the project names them: a preset or host profile
    # that does not exist has no span); the CLI shows them from where perfcfg runs
    files: tuple[str, ...] = field(default=())

    def sort_key(self) -> tuple[str, int, int, int, str, str, str]:
        span = self.span or Span("", 0, 0)
        return (span.file, span.line, span.column, _SEVERITY_RANK[self.severity],
                self.code, self.path or "", self.message)


def finalize(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort by place then severity, and drop exact duplicates."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


class DiagnosticsError(Exception):
    """Raised by a stage that cannot go on; carries everything found so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} diagnostic(s)")
        self.diagnostics = diagnostics
