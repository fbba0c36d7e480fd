"""The services perfcfg compiles for, in the order their files and diagnostics appear.

Services are found through the ``perfcfg.services`` entry-point group, perfcfg's own included
(pyproject.toml lists them), so a package that adds a daemon registers its ``Service`` the same
way and no file of perfcfg changes. Each entry point names a :class:`~perfcfg.services.base.
Service`; they are ordered by ``Service.order``, then name.

>>> by_name("redis").daemon
'redis'
>>> [o.name for o in outputs()][:2]
['postgresql.conf', 'pg_hba.conf']
>>> from perfcfg import model
>>> daemons(model.Targets(valkey="8.1"))["redis"], daemons(model.Targets())["postgres"]
(('valkey', '8.1'), ('postgresql', '17'))
>>> [n for n in file_names() if n.endswith("conf")][-3:]
['systemd-supervisor.conf', 'sysctl.conf', 'tmpfiles.conf']
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from perfcfg.core import codes
from perfcfg.harness import binaries as harness_binaries
from perfcfg.harness.binaries import Binaries
from perfcfg.services import catalog, manifest, monitor_files, sysctl, tmpfiles
from perfcfg.services.base import Service, targets_version
from perfcfg.services.output import Output

if TYPE_CHECKING:
    from perfcfg.model import Targets

GROUP = "perfcfg.services"


class RegistryError(RuntimeError):
    """A package registered something in ``perfcfg.services`` that is not a usable service."""


def load(group: str = GROUP) -> tuple[Service, ...]:
    """Every service registered in ``group``, ordered; two services of one name, or an entry
    point that is not a ``Service``, is an error naming the package that registered it."""
    found: dict[str, Service] = {}
    for point in entry_points(group=group):
        service = point.load()
        where = f"{point.value} ({point.dist.name if point.dist else 'unknown package'})"
        if not isinstance(service, Service):
            raise RegistryError(f"entry point {point.name} = {where} is not a perfcfg Service")
        if service.name != point.name:
            raise RegistryError(f"entry point {point.name} = {where} names service "
                                f"{service.name!r}: the two must agree")
        if service.name in found:
            raise RegistryError(f"two packages register a service called {service.name!r}")
        found[service.name] = service
        codes.register(dict(service.codes))
        if service.catalogs is not None and service.catalogs not in catalog.EXTRA_DIRS:
            catalog.EXTRA_DIRS.append(service.catalogs)
    if not found:
        raise RegistryError("no perfcfg services are registered: perfcfg's own package metadata "
                            "is missing (install it: pip install -e .)")
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.name)))


SERVICES: tuple[Service, ...] = load()
# Files about the host rather than one daemon (the kernel settings), after the services'.
HOST: tuple[Output, ...] = (sysctl.OUTPUT, tmpfiles.OUTPUT)
# The monitoring files of a monitored environment: each service's exporter's, then
# Prometheus's and Grafana's (services/monitor_files.py).
MONITORING: tuple[Output, ...] = (
    *(monitor_files.exporter_output(s) for s in SERVICES if s.monitor is not None),
    *monitor_files.OUTPUTS)
# Files made from the services' files once those are rendered, in order.
POST: tuple[Output, ...] = (manifest.OUTPUT,)
_BY_NAME = {s.name: s for s in SERVICES}


def by_name(name: str) -> Service:
    return _BY_NAME[name]


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def outputs() -> tuple[Output, ...]:
    """Every file a build writes, in order: each declared once, by its service, then the
    host's, the monitoring files, then the files made from them (the manifest)."""
    return tuple(o for s in SERVICES for o in s.outputs) + HOST + MONITORING + POST


def daemons(targets: Targets) -> dict[str, tuple[str, str]]:
    """Service name → (daemon, version) that ``targets`` run, e.g. ``("valkey", "8.1")``: the
    binaries ``verify`` and the real-daemon tests start."""
    return {s.name: (s.daemon_of(targets), targets_version(s, targets)) for s in SERVICES}


def binaries() -> dict[str, Binaries]:
    """Daemon → its programs per version, for every daemon a service can target."""
    return {spec.daemon: spec for s in SERVICES for spec in s.binaries}


def missing(daemon: str, version: str | None = None) -> list[str]:
    """The programs ``daemon`` of ``version`` (None: its default) lacks on this machine."""
    return harness_binaries.missing(binaries()[daemon].daemon, version)


def file_names() -> tuple[str, ...]:
    """Every name a build may write a file under, whatever the targets (``redis.conf`` or
    ``valkey.conf``): what ``build --check`` and the file modes know."""
    return tuple(name for o in outputs() for name in o.names)
