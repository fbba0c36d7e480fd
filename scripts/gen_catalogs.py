#!/usr/bin/env python3
"""Generate schemas/catalogs/*.json (docs/catalogs.md) from the installed real daemons.

    python scripts/gen_catalogs.py            # rewrite the catalogs (only files that changed)
    python scripts/gen_catalogs.py --check    # exit 1 with a unified diff if a file is stale
    python scripts/gen_catalogs.py postgresql-17.json   # just one

One catalog per supported daemon version, each read off that version's own binary by its
service's reader (``Service.catalog_jobs``: the readers live in each service's package) (``.ci/install-daemons.sh`` installs the ones Debian 12 lacks); a
catalog whose binary is not installed here is skipped with a note on stderr, unless named.
Each catalog's ``build`` object says which build it was read from and, for PostgreSQL, the
build's compile-time features and the enum values they would add that this build lacks.

A new version's catalog is made by naming its file (``postgresql-19.json``) once its binary is
installed. Output is deterministic: sorted keys, two-space JSON, ``\\n`` line ends.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

from perfcfg.monitoring import reader as metric_catalogs
from perfcfg.services import registry
from perfcfg.services.catalog_reading import Job

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "schemas" / "catalogs"


def _generators(new: tuple[str, ...] = ()) -> dict[str, Job]:
    """Every catalog file the services can read, and those named in ``new`` (``pgbouncer-1.25.json``:
    a version no catalog has yet, read by its daemon's service once its binary is installed)."""
    wanted: dict[str, list[str]] = {}
    for name in new:
        match = re.fullmatch(r"(.+)-([0-9][0-9.]*)\.json", name)
        if match:
            wanted.setdefault(match.group(1), []).append(match.group(2))
    out: dict[str, Job] = {}
    for service in registry.SERVICES:
        if service.catalog_jobs is not None:
            daemons = service.flavours or (service.daemon,)
            out.update(service.catalog_jobs(tuple(v for d in daemons for v in wanted.get(d, ()))))
    # the exporters' metric catalogs (perfcfg.monitoring.reader)
    out.update(metric_catalogs.generators())
    return out


GENERATORS: dict[str, Job] = _generators()


def render(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def installed(names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The requested catalogs (all by default) split into (binary installed, not installed)."""
    chosen = names or sorted(GENERATORS)
    here = [n for n in chosen if not (
        GENERATORS[n].lacks() if GENERATORS[n].lacks is not None
        else registry.missing(GENERATORS[n].daemon, GENERATORS[n].version))]
    return here, [n for n in chosen if n not in here]


def generate(names: list[str] | None = None) -> dict[str, str]:
    """``{file name: JSON text}`` for the requested catalogs (all installed ones by default)."""
    return {name: render(GENERATORS[name].make()) for name in (names or installed()[0])}


def diff(texts: dict[str, str], directory: Path = CATALOG_DIR) -> str:
    out = []
    for name, text in texts.items():
        path = directory / name
        old = path.read_text() if path.exists() else ""
        # A Debian point release (15.18 → 15.20) changes only the "source" line and the build's
        # package and release; the parameters and build features are what validation relies
        # on, so only they make a catalog stale.
        if _without_source(old) == _without_source(text):
            continue
        if old != text:
            out += difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"a/schemas/catalogs/{name}", f"b/schemas/catalogs/{name}")
    return "".join(out)


_RELEASE_LINES = ('"source":', '"package":', '"release":')


def _without_source(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith(_RELEASE_LINES)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing, exit 1 if stale")
    parser.add_argument("--out", type=Path, default=CATALOG_DIR)
    parser.add_argument("names", nargs="*", metavar="FILE",
                        help="catalog files to read (default: every supported version's)")
    args = parser.parse_args(argv)
    GENERATORS.update(_generators(tuple(args.names)))
    unknown = [n for n in args.names if n not in GENERATORS]
    if unknown:
        parser.error(f"no service reads {', '.join(unknown)} (expected DAEMON-VERSION.json of "
                     f"{', '.join(sorted({j.daemon for j in GENERATORS.values()}))})")
    here, absent = installed(args.names or None)
    if absent and args.names:
        parser.error(f"not installed here (run .ci/install.sh): {', '.join(absent)}")
    for name in absent:
        sys.stderr.write(f"gen_catalogs: skipped {name}: its binary is not installed here\n")
    texts = generate(here)
    if args.check:
        changes = diff(texts, args.out)
        sys.stdout.write(changes)
        return 1 if changes else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = args.out / name
        path.parent.mkdir(exist_ok=True)   # metrics/: the exporters' metric catalogs
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
