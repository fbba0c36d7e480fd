"""docs/diagnostics.md's parts that the rule records already say, made from them.

Every code's title comes from the diagnostics registry (``core/codes.py``); every security
rule's severity per environment kind, why it matters and how to fix it come from its ``Rule``
record (each service's ``policy.py``). This rewrites, in place: the code table at the top, each
section's ``**title** · severity: …`` line, and a rule's "Why it matters: …" sentence and
"How to fix: …" line. Everything else — what a code means, the real examples, the fixes of the
codes that are not rules — stays as written. ``--check`` writes nothing and fails when stale.

    python scripts/gen_diagnostics.py [--check]
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from perfcfg.core.codes import TITLES
from perfcfg.services import registry
from perfcfg.services.rules import Rule

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "diagnostics.md"
SECTION = re.compile(r"^## ([A-Z]{3}\d{3})\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
HEADER = re.compile(r"^\*\*(.*)\*\* · severity: (.*)$", re.MULTILINE)
KINDS = ("production", "staging", "development")


def rules() -> dict[str, Rule]:
    return {rule.code: rule for service in registry.SERVICES for rule in service.rules}


def severity_text(severity: Mapping[str, str | None]) -> str:
    """A rule's severity per environment kind, in words: ``error in production and staging,
    warning in development``."""
    levels = [severity.get(kind) for kind in KINDS]
    if len(set(levels)) == 1:
        return f"{levels[0]} in every environment" if levels[0] else "never checked"
    groups: dict[str | None, list[str]] = {}
    for kind, level in zip(KINDS, levels, strict=True):
        groups.setdefault(level, []).append(kind)
    return ", ".join(f"{level or 'not checked'} in {' and '.join(kinds)}"
                     for level, kinds in groups.items())


def _section(code: str, body: str, rule: Rule | None) -> str:
    header = HEADER.search(body)
    if header is None:
        raise SystemExit(f"gen_diagnostics: {code} has no '**title** · severity:' line")
    severity = severity_text(rule.severity) if rule is not None else header.group(2)
    body = body[:header.start()] + f"**{TITLES[code]}** · severity: {severity}" + \
        body[header.end():]
    if rule is not None:
        body = re.sub(r"Why it matters: [^\n]*", lambda m: f"Why it matters: {rule.why}.",
                      body, count=1)
        body = re.sub(r"^How to fix: [^\n]*", lambda m: f"How to fix: {rule.fix}.", body,
                      count=1, flags=re.MULTILINE)
    return body


def generate(text: str) -> str:
    by_code = rules()
    sections = {m.group(1): m for m in SECTION.finditer(text)}
    missing = sorted(set(TITLES) - set(sections))
    if missing:
        raise SystemExit(f"gen_diagnostics: write a section for {', '.join(missing)}")
    out, at = [], 0
    for code, match in sections.items():
        out += [text[at:match.start(2)], _section(code, match.group(2), by_code.get(code))]
        at = match.end(2)
    text = "".join(out) + text[at:]
    table = ["| code | severity | title |", "|---|---|---|"]
    for match in SECTION.finditer(text):
        code, severity = match.group(1), HEADER.search(match.group(2))
        assert severity is not None
        table.append(f"| [{code}](#{code.lower()}) | {severity.group(2)} | {TITLES[code]} |")
    start = text.index("| code | severity | title |")
    end = text.index("\n\n", start)
    return text[:start] + "\n".join(table) + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing, exit 1 if stale")
    args = parser.parse_args(argv)
    old = DOC.read_text()
    new = generate(old)
    if new == old:
        return 0
    if args.check:
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(keepends=True),
                                                   new.splitlines(keepends=True),
                                                   "a/docs/diagnostics.md", "b/docs/diagnostics.md"))
        print("gen_diagnostics: docs/diagnostics.md is stale; run python scripts/gen_diagnostics.py",
              file=sys.stderr)
        return 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
