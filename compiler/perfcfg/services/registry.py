"""The services perfcfg compiles for, in the order their files and diagnostics appear.

Adding a daemon is one package under ``services/`` with a ``service.py`` and one line here.

>>> by_name("redis").daemon
'redis'
>>> [o.name for o in outputs()][:2]
['postgresql.conf', 'pg_hba.conf']
>>> from perfcfg import model
>>> daemons(model.Targets(valkey="8.1"))["redis"], daemons(model.Targets())["postgres"]
(('valkey', '8.1'), ('postgresql', '17'))
>>> [n for n in file_names() if n.endswith("conf")][-3:]
['supervisord.conf', 'systemd-supervisor.conf', 'sysctl.conf']
"""

from __future__ import annotations

from typing import Any

from perfcfg.services import manifest, sysctl
from perfcfg.services.base import Service, targets_version
from perfcfg.services.output import Output
from perfcfg.services.pgbouncer.service import SERVICE as PGBOUNCER
from perfcfg.services.postgres.service import SERVICE as POSTGRES
from perfcfg.services.redis.service import SERVICE as REDIS
from perfcfg.services.supervisor.service import SERVICE as SUPERVISOR

SERVICES: tuple[Service, ...] = (POSTGRES, PGBOUNCER, REDIS, SUPERVISOR)
# Files about the host rather than one daemon (the kernel settings), after the services'.
HOST: tuple[Output, ...] = (sysctl.OUTPUT,)
# Files made from the services' files once those are rendered, in order.
POST: tuple[Output, ...] = (manifest.OUTPUT,)
_BY_NAME = {s.name: s for s in SERVICES}


def by_name(name: str) -> Service:
    return _BY_NAME[name]


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def outputs() -> tuple[Output, ...]:
    """Every file a build writes, in order: each declared once, by its service, then the
    host's, then the files made from them (the manifest)."""
    return tuple(o for s in SERVICES for o in s.outputs) + HOST + POST


def daemons(targets: Any) -> dict[str, tuple[str, str]]:
    """Service name → (daemon, version) that ``targets`` run, e.g. ``("valkey", "8.1")``: the
    binaries ``verify`` and the real-daemon tests start."""
    return {s.name: (s.daemon_of(targets), targets_version(s, targets)) for s in SERVICES}


def file_names() -> tuple[str, ...]:
    """Every name a build may write a file under, whatever the targets (``redis.conf`` or
    ``valkey.conf``): what ``build --check`` and the file modes know."""
    return tuple(name for o in outputs() for name in o.names)
