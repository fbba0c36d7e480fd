"""The services perfcfg compiles for, in the order their files and diagnostics appear.

Adding a daemon is one package under ``services/`` with a ``service.py`` and one line here.

>>> by_name("redis").daemon
'redis'
>>> [o.name for o in outputs()][:2]
['postgresql.conf', 'pg_hba.conf']
"""

from __future__ import annotations

from perfcfg.services import manifest
from perfcfg.services.base import Service
from perfcfg.services.output import Output
from perfcfg.services.pgbouncer.service import SERVICE as PGBOUNCER
from perfcfg.services.postgres.service import SERVICE as POSTGRES
from perfcfg.services.redis.service import SERVICE as REDIS
from perfcfg.services.supervisor.service import SERVICE as SUPERVISOR

SERVICES: tuple[Service, ...] = (POSTGRES, PGBOUNCER, REDIS, SUPERVISOR)
# Files made from the services' files once those are rendered, in order.
POST: tuple[Output, ...] = (manifest.OUTPUT,)
_BY_NAME = {s.name: s for s in SERVICES}


def by_name(name: str) -> Service:
    return _BY_NAME[name]


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def outputs() -> tuple[Output, ...]:
    """Every file a build writes, in order: each declared once, by its service, then the
    files made from them (the manifest)."""
    return tuple(o for s in SERVICES for o in s.outputs) + POST
