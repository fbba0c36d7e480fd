"""Read an exporter's metric catalog off the real thing: for each supported version of its
daemon, start that daemon (the service's ``probe``), start the exporter against it, wait until
it says it reached the daemon, and record what ``/metrics`` holds.

``scripts/gen_catalogs.py`` calls ``generators()`` for the catalog files this writes, beside
the daemons' parameter catalogs; ``--check`` compares them the same way.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from perfcfg.monitoring import metrics
from perfcfg.monitoring.exporters import ExporterProcess
from perfcfg.services import registry
from perfcfg.services.catalog_reading import Job
from perfcfg.services.monitor import Exporter, Monitor


def read(monitor: Monitor, version: str) -> dict[str, Any]:
    """The catalog of ``monitor``'s exporter ``version``, read against every installed
    version of its daemon."""
    exporter = monitor.exporter
    program = exporter.binary(version)
    if program is None:
        raise RuntimeError(f"{exporter.name} {version} is not installed (run .ci/install.sh)")
    seen: dict[str, dict[str, Any]] = {}
    for daemon, daemon_version in _installed(monitor):
        with monitor.probe(daemon, daemon_version) as command, \
                ExporterProcess(program, command) as proc:
            proc.wait_for(monitor.ready)
            # a second scrape: some exporters add series after their first look at the daemon
            seen[f"{daemon}-{daemon_version}"] = metrics.samples(proc.scrape())
    release = package_of(exporter, version).split()[-1]
    release = release.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]
    read_with = ", ".join(sorted(seen))
    return metrics.catalog(exporter.name, version, release, package_of(exporter, version),
                           read_with, seen)


def _installed(monitor: Monitor) -> list[tuple[str, str]]:
    from perfcfg.harness import binaries

    return [(d, v) for d, v in monitor.daemons() if not binaries.missing(d, v)]


def lacks(monitor: Monitor, version: str) -> list[str]:
    """What reading the catalog needs and is not installed: the exporter, or every daemon
    version it is read against (a catalog read against fewer would look stale)."""
    from perfcfg.harness import binaries

    out = [] if monitor.exporter.binary(version) else [f"{monitor.exporter.name} {version}"]
    for daemon, daemon_version in monitor.daemons():
        out += binaries.missing(daemon, daemon_version)
    return out


def generators() -> dict[str, Job]:
    """Catalog file name → the job that reads it (and says what it lacks here)."""
    out: dict[str, Job] = {}
    for service in registry.SERVICES:
        if service.monitor is None:
            continue
        for version in service.monitor.exporter.versions:
            out[service.monitor.exporter.catalog_name(version)] = Job(
                partial(read, service.monitor, version), service.monitor.exporter.name, version,
                partial(lacks, service.monitor, version))
    return out


def package_of(exporter: Exporter, version: str) -> str:
    """Which build ``version`` is: the install-daemons.sh folder's, else Debian 12's."""
    import subprocess

    from perfcfg.harness import binaries

    path = f"{binaries.folder(binaries.prefix(), exporter.name, version)}/VERSION"
    try:
        with open(path, encoding="utf-8") as fh:
            info = dict(line.split("=", 1) for line in fh.read().splitlines() if "=" in line)
    except OSError:
        info = {}
    if info.get("build"):
        return info["build"]
    have = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", exporter.package],
                          capture_output=True, text=True, check=False).stdout.strip()
    return f"debian-12 {exporter.package} {have}"
