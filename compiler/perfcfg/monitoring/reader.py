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
from perfcfg.monitoring.model import Monitor
from perfcfg.services import registry
from perfcfg.services.catalog_reading import Job


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
    release = exporter.package_of(version).split()[-1]
    release = release.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]
    read_with = ", ".join(sorted(seen))
    return metrics.catalog(exporter.name, version, release, exporter.package_of(version),
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
