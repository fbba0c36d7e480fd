"""What every service's catalog reader shares: the shape of a catalog entry and file, the build a
binary came from, and the job ``scripts/gen_catalogs.py`` runs per catalog file.

A service that can read its catalogs off its daemon gives ``Service.catalog_jobs``: file name →
:class:`Job`. The readers start the real daemon (a throwaway one) and ask it; the script loops
over the registry and writes the files.

>>> entry("integer", default="5", min_=1)["type"], catalog("exampled", "1.0", "x", {}, {})["daemon"]
('integer', 'exampled')
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any, NamedTuple

from perfcfg.harness import binaries
from perfcfg.harness.binaries import require


class Job(NamedTuple):
    """One catalog file: the function that reads it and the daemon version it needs (None:
    whichever version is installed reads the same options), or, for an exporter's metric
    catalog, the function that says what it lacks here (the exporter and every daemon version
    it is read against)."""

    make: Callable[[], dict[str, Any]]
    daemon: str
    version: str | None
    lacks: Callable[[], list[str]] | None = None


def entry(type_: str, *, default: Any = None, unit: str | None = None, min_: Any = None,
          max_: Any = None, values: list[str] | None = None, context: str | None = None,
          section: str | None = None, pattern: str | None = None) -> dict[str, Any]:
    return {"type": type_, "unit": unit, "min": min_, "max": max_, "values": values,
            "default": default, "context": context, "section": section, "pattern": pattern}


def catalog(daemon: str, version: str, source: str, params: dict[str, dict[str, Any]],
            build: dict[str, Any], sets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"daemon": daemon, "version": version, "source": source, "parameters": params,
            "build": build, "sets": sets or {}}


def package_of(daemon: str, version: str, program: str) -> str:
    """Which build a binary is: install-daemons.sh's VERSION, else the Debian package owning it."""
    info = binaries.build_info(daemon, version)
    if info.get("build"):
        return info["build"]
    path = os.path.realpath(require(program, version))
    owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=False)
    if owner.returncode != 0:
        return f"local {path}"
    pkg = owner.stdout.split(":", 1)[0]
    ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                         text=True, check=False).stdout
    return f"debian-12 {pkg} {ver}"
