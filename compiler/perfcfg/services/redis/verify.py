"""``perfcfg verify`` for Redis or Valkey: boot the server the targets name from its file and
users.acl and compare ``CONFIG GET``; or read a running one (``--live``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfcfg.core.plan import Plan
from perfcfg.services.catalog import Catalog
from perfcfg.services.redis.encode import redis_arg, redis_value
from perfcfg.services.verifier import Boot, Booted, Row, Verifier


@dataclass(frozen=True)
class Want:
    values: dict[str, str]               # directive → arguments as in redis.conf
    enums: frozenset[str]                # directives Redis compares case-insensitively
    acl: tuple[str, ...] = ()            # users.acl's lines
    # the files hold the real secrets' hashes (--secrets resolve), so passwords are compared
    real_secrets: bool = False


def intended(plan: Plan, cat: Catalog) -> Want:
    out, enums = {}, set()
    for setting in plan.service("redis"):
        param = cat.get(setting.name)
        if param is None:
            continue
        if param.type == "enum":
            enums.add(param.name)
        if param.type == "list":
            # CONFIG GET reports every item of a list directive on one line
            items = list(setting.value)
            out[param.name] = " ".join(redis_arg(a) for i in items for a in i.split()) \
                if items else '""'
        else:
            out[param.name] = redis_value(param, setting.value)
    return Want(out, frozenset(enums), tuple(plan.parts["redis"]),
                plan.secrets_mode == "resolve")


def boot(b: Boot) -> Booted:
    from perfcfg.services.redis.daemon import HARNESS_KEYS, RedisServer, ValkeyServer

    want: Want = b.want
    handle = ValkeyServer if b.daemon == "valkey" else RedisServer
    r = b.stack.enter_context(handle(b.files[f"{b.daemon}.conf"],
                                     acl_text=b.files.get("users.acl"), version=b.version))
    rows = r.mismatches(want.values, want.enums)
    return Booted(rows, len(set(want.values) - HARNESS_KEYS), r)


def read_live(url: str) -> Any:
    from perfcfg.services.redis.daemon import live_state

    return live_state(url)


def compare_live(state: Any, want: Want, notes: list[str]) -> tuple[list[Row], int]:
    """CONFIG GET, and the users ACL LIST shows against users.acl (each one's state, password,
    keys, channels and, where the server keeps them as written, command rules)."""
    from perfcfg.services.redis.daemon import acl_mismatches, redis_mismatches

    rows = redis_mismatches(state.config, want.values, want.enums)
    if state.acl is None:
        notes.append("redis: this user may not run ACL LIST: users not compared (give the "
                     "user +acl|list)")
        return rows, len(want.values)
    if not state.rules_as_written:
        notes.append("redis: this server reports each command category expanded into "
                     "commands (Redis before 7.2): users' command rules not compared")
    if not want.real_secrets:
        notes.append("redis: built with placeholder secrets: users' passwords not compared "
                     "(--secrets resolve compares them)")
    rows += acl_mismatches(state.acl, list(want.acl), commands=state.rules_as_written,
                           passwords=want.real_secrets)
    return rows, len(want.values) + len(want.acl)


# `verify --live --redis`: what it takes
HELP = ("URL of the running Redis or Valkey (with --live).")
VERIFIER = Verifier(intended, boot, live_variable="PERFCFG_REDIS_URL", read_live=read_live,
                    compare_live=compare_live, live_metavar="URL",
                    live_help=HELP, clients=("redis",))
