"""What pgbouncer adds to the tuning context: its release and the pools the workload opens
(each with the size, reserve and mode its database declares)."""

from __future__ import annotations

from typing import Any

from perfcfg.services import workload
from perfcfg.services.base import ContextPart
from perfcfg.services.pgbouncer import backend
from perfcfg.tune.context import Versions

Versions.declare("pgbouncer", (1, 24))


def release(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def context(config: Any) -> ContextPart:
    return ContextPart(fields={"pools": tuple(workload.sized(backend.pools(config), config))},
                       versions={"pgbouncer": release(config.targets.pgbouncer)})
