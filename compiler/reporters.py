"""Reporters (interim text and json until the full set lands)."""

from __future__ import annotations

import json
from typing import Mapping

from perfcfg.diagnostics import Diagnostic


def render(diagnostics: list[Diagnostic], fmt: str, sources: Mapping[str, str],
           color: bool = False, redact=None) -> str:
    if fmt == "json":
        return json.dumps({"version": 1, "diagnostics": [
            {"code": d.code, "severity": d.severity, "message": d.message,
             "file": d.span.file if d.span else None, "line": d.span.line if d.span else None,
             "column": d.span.column if d.span else None, "path": d.path, "hint": d.hint}
            for d in diagnostics]}, sort_keys=True, indent=2) + "\n"
    out = []
    for d in diagnostics:
        out.append(f"{d.severity}[{d.code}]: {d.message}")
        if d.span:
            out.append(f" --> {d.span.label()}")
        if d.path:
            out.append(f"  = path: {d.path}")
        if d.hint:
            out.append(f"  = hint: {d.hint}")
    return "\n".join(out) + ("\n" if out else "")
