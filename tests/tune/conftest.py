"""Shared contexts: the reference bot farm on a 16 GiB / 4 CPU staging host."""

from dataclasses import replace

import pytest

from perfcfg.stages.tune import context
from perfcfg.tune.context import GiB, Host, MiB, Pool, Program, TuneContext


def bot_farm(**changes) -> TuneContext:
    """``redis_role`` and ``redis_persistence`` are the cache's facts (TuneContext.facts)."""
    facts = {f"redis.{key[6:]}": changes.pop(key)
             for key in ("redis_role", "redis_persistence") if key in changes}
    if facts:
        changes["facts"] = {**changes.get("facts", {}), **facts}
    ctx = context(
        env="staging",
        host=Host(16 * GiB, 4, "ssd", open_files=65536),
        programs=(Program("bot", 40, 2, 2, 120 * MiB), Program("scheduler", 2, 4, 4, 200 * MiB)),
        pools=(Pool("app", "bot", 88),),
        direct_clients=3,
        db_profile="oltp",
    )
    return replace(ctx, **changes)


@pytest.fixture
def make_ctx():
    return bot_farm
