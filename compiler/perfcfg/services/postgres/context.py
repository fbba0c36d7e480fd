"""What PostgreSQL adds to the tuning context: its major version, the build features its
binaries have (``targets.postgres_build``), and the memory share the preset states for it."""

from __future__ import annotations

from typing import Any

from perfcfg.model import parse_share
from perfcfg.services.base import ContextPart
from perfcfg.services.postgres.values import BUILD_VALUES, SPARE_CONNECTIONS_DEFAULT
from perfcfg.tune.context import Versions

# What Debian's and PGDG's PostgreSQL packages are built with (model/spec.py's PostgresBuild).
BUILD_FEATURES: frozenset[str] = frozenset(BUILD_VALUES.values())
DEFAULT_MAJOR = 17

Versions.declare("postgres", DEFAULT_MAJOR)
Versions.declare("postgres_build", BUILD_FEATURES)


def context(config: Any) -> ContextPart:
    targets = config.targets
    build = frozenset(f for f in BUILD_FEATURES if getattr(targets.postgres_build, f))
    spare = config.own.get("postgres", {}).get("spare_connections", SPARE_CONNECTIONS_DEFAULT)
    return ContextPart(versions={"postgres": targets.postgres, "postgres_build": build},
                       facts={"postgres.spare_connections": spare},
                       shares={"postgres": parse_share(config.budget.postgres)})
