"""Everything the supported versions decide, made from the one list of them: the catalogs.

A supported version is a catalog in ``schemas/catalogs/`` (``scripts/gen_catalogs.py`` reads it
off the running binary); the services read their versions from there. This writes what is
derived from them for people and editors: the JSON Schemas (``schemas/*.schema.json``, the
versions ``targets:`` offers) and the README's targets table (each key's versions and default;
the prose column stays as written). ``--check`` writes nothing and fails when either is stale.

    python scripts/gen_versions.py [--check]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

from perfcfg.cli import schema
from perfcfg.model import Targets
from perfcfg.services import registry
from perfcfg.services.base import targets_version

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- targets table -->", "<!-- end targets table -->"


def schema_files() -> dict[Path, str]:
    return {ROOT / "schemas" / name: json.dumps(doc, indent=2, sort_keys=True) + "\n"
            for name, doc in schema.documents().items()}


def _cell(values: list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def readme_table(text: str) -> str:
    """``text`` (the README) with each targets row's versions and default as the services say."""
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    defaults = Targets()
    rows = []
    for line in text[start:end].splitlines(keepends=True):
        match = re.match(r"\| `(\w+)` \|([^|]*)\|([^|]*)\|(.*)$", line)
        if match is None:
            rows.append(line)
            continue
        key = match.group(1)
        service = next(s for s in registry.SERVICES if key in s.target_versions())
        versions = service.target_versions()[key]
        # a service with several daemons (Redis or Valkey) has a default for one of them
        shown = "–" if service.flavours and service.daemon_of(defaults) != key else \
            f"`{targets_version(service, defaults)}`"
        rows.append(f"| `{key}` | {_cell(versions)} | {shown} |{match.group(4)}"
                    + ("\n" if line.endswith("\n") else ""))
    return text[:start] + "".join(rows) + text[end:]


def generate() -> dict[Path, str]:
    return {**schema_files(), README: readme_table(README.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing, exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate().items():
        old = path.read_text() if path.exists() else ""
        if old == text:
            continue
        if args.check:
            stale.append(path)
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(keepends=True), text.splitlines(keepends=True),
                f"a/{path.relative_to(ROOT)}", f"b/{path.relative_to(ROOT)}"))
        else:
            path.write_text(text)
    if stale:
        print(f"gen_versions: stale: {', '.join(str(p.relative_to(ROOT)) for p in stale)}; "
              "run python scripts/gen_versions.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
