"""Where a value came from: a place in a file, a built-in preset, a --set flag or a rule.

>>> Span("presets/staging.yaml", 12, 5).label()
'presets/staging.yaml:12:5'
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based line:column position in a source file (paths relative to the project)."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def label(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Origin:
    """How a resolved value got its value.

    kind is one of: ``file`` (written in a preset or host file, span set), ``builtin``
    (a built-in preset, span points into it as ``builtin:<name>``), ``set`` (a --set flag),
    ``default`` (perfcfg's default), ``tuned`` (a tuning rule; ``rule`` names it),
    ``detected`` (host detection).
    """

    kind: str
    span: Span | None = None
    detail: str = ""
    # the value as this place wrote it (``[127.0.0.1, -::1]``), for explain's layers; not
    # part of the place's identity
    written: str | None = field(default=None, compare=False)

    def label(self) -> str:
        if self.span is not None:
            return self.span.label()
        return f"{self.kind}:{self.detail}" if self.detail else self.kind
