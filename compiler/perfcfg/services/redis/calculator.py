"""``perfcfg tune redis``: ``--connections`` clients (100 by default) of a cache that evicts or
a store that persists (``--role``), Redis or Valkey (``--flavour``: Valkey 8's rules, such as
its I/O threads, need to know), and the redis.conf fragment."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from perfcfg.services.calculator import CalcInput, Calculator, Option
from perfcfg.services.redis.context import VALKEY_FORKED_FROM, release
from perfcfg.tune.context import MiB, Program, Recommendation, Shares, TuneContext, Versions

DEFAULT_CLIENTS = 100
OPTIONS = {"role": Option("cache", ("cache", "store"),
                          "Redis: cache (evicts) or store (persists) (default: cache)."),
           "flavour": Option("redis", ("redis", "valkey"),
                             "Redis: the cache daemon, Redis or Valkey, whose --version it is "
                             "(default: redis).")}
# --flavour valkey without --version: the newest Valkey release with a catalog.
VALKEY = "valkey"


def releases(inp: CalcInput) -> list[str]:
    from perfcfg.services import catalog as catalogs

    return catalogs.versions(inp.option("flavour", "redis"))


def context(inp: CalcInput, base: TuneContext) -> TuneContext:
    if inp.option("flavour", "redis") == VALKEY:
        valkey = release(inp.version or releases(inp)[-1])
        versions = Versions(**{**base.versions, "redis": VALKEY_FORKED_FROM, "valkey": valkey})
    else:
        versions = base.versions if not inp.version else \
            Versions(**{**base.versions, "redis": release(inp.version)})
    return replace(base, versions=versions, shares=Shares(**{**dict(base.shares), "redis": 1.0}),
                   facts={**base.facts, "redis.role": inp.option("role", "cache")},
                   programs=(Program("client", inp.connections or DEFAULT_CLIENTS, 0, 1, 0),),
                   services=frozenset({"redis"}))


def text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "save":
        return " ".join(f"{s} {c}" for s, c in value) if value else '""'
    if name == "maxmemory" and value % MiB == 0:
        return f"{value // MiB}mb"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fragment(inp: CalcInput, recs: list[Recommendation]) -> list[str]:
    return [""] + [f"# {r.reason}\n{(name := r.path.split('.', 1)[1])} {text(name, r.value)}"
                   for r in recs]


CALCULATOR = Calculator(OPTIONS, context, fragment, text,
                        header=lambda inp: [f"role {inp.option('role', 'cache')}",
                                            f"flavour {inp.option('flavour', 'redis')}"],
                        versions=releases)
