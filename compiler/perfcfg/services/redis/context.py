"""What Redis (or Valkey) adds to the tuning context: the Redis release whose directives the
daemon reads (for Valkey, the Redis it forked from, with Valkey's own version beside it), its
role and whether it persists (a fork doubles its memory), and the share the preset states."""

from __future__ import annotations

from typing import Any

from perfcfg.model import parse_share
from perfcfg.services.base import ContextPart
from perfcfg.services.redis import values
from perfcfg.tune.context import Versions

# Valkey forked from Redis 7.2.4 and reads its directives.
VALKEY_FORKED_FROM = (7, 2)
# The cache daemon when the targets name neither: Redis 8.0, open source again (AGPLv3) and
# the newest Redis with a catalog; its file keeps the name redis.conf that existing projects
# deploy (README, "Targets").
DEFAULT_VERSION = "8.0"

Versions.declare("redis", (8, 0))
Versions.declare("valkey", None)


def release(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def context(config: Any) -> ContextPart:
    targets = config.targets
    redis = config.services.get("redis", {})
    role = values.config_role(config)
    persistence = role == "store" or redis.get("appendonly") is True or \
        bool([s for s in redis.get("save", []) if s.strip()])
    valkey = release(targets.valkey) if targets.valkey else None
    own = VALKEY_FORKED_FROM if valkey else release(targets.redis or DEFAULT_VERSION)
    return ContextPart(versions={"redis": own, "valkey": valkey},
                       facts={"redis.role": role, "redis.persistence": persistence,
                              # a replica forks for its own replicas once promoted
                              "redis.replicaof": bool(redis.get("replicaof"))},
                       shares={"redis": parse_share(config.budget.redis)})
