"""``perfcfg tune postgres``: PGTune's inputs (storage, profile), and whether clients come
through the pooler (max_connections = the pool's server connections) or straight in (``none``:
PGTune's per-profile count unless ``--connections`` says); the header says which.

>>> format_value("shared_buffers", 4 << 30), format_value("jit", False)
('4GB', 'off')
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from perfcfg.services.calculator import CalcInput, Calculator, InputError, Option
from perfcfg.services.postgres.context import DEFAULT_MAJOR
from perfcfg.services.postgres.tuning.connections import (
    PGTUNE_DEFAULT_CONNECTIONS,
    POOLER,
    SUPERUSER_RESERVED_DEFAULT,
)
from perfcfg.tune.context import (
    DbProfile,
    GiB,
    KiB,
    MiB,
    Pool,
    Recommendation,
    Shares,
    Storage,
    TuneContext,
    Versions,
)
from perfcfg.tune.util import floor_to, rec

# PostgreSQL lines in PGTune's reading order: connections, memory, WAL, planner, parallel,
# vacuum; then what PGTune does not write (version rules, background writer, guards).
RULE_ORDER = ("calculator", "pg.connections", "pg.memory", "pg.wal", "pg.planner",
              "pg.parallel", "pg.autovacuum", "pg.version", "pg.bgwriter", "pg.guards")
OPTIONS = {
    "storage": Option("ssd", ("hdd", "ssd", "san", "nvme"),
                      "PostgreSQL: storage class (default: ssd)."),
    "profile": Option("web", ("web", "oltp", "dw", "mixed", "desktop"),
                      "PostgreSQL: workload profile (default: web)."),
    "pooler": Option(POOLER, (POOLER, "none"),
                     "PostgreSQL: clients come through pgbouncer (max_connections = its server "
                     "connections) or straight in (none: PGTune's per-profile count unless "
                     "--connections; default: pgbouncer)."),
}


def check(inp: CalcInput) -> None:
    if inp.connections is not None and inp.connections <= SUPERUSER_RESERVED_DEFAULT:
        raise InputError("--connections", f"{inp.connections} leaves no connection besides the "
                                          f"{SUPERUSER_RESERVED_DEFAULT} reserved for superusers "
                                          "(PostgreSQL will not start); give at least "
                                          f"{SUPERUSER_RESERVED_DEFAULT + 1}")


def context(inp: CalcInput, base: TuneContext) -> TuneContext:
    major = int(inp.version.split(".")[0]) if inp.version else DEFAULT_MAJOR
    storage = cast(Storage, inp.option("storage", "ssd"))    # one of OPTIONS' choices
    profile = cast(DbProfile, inp.option("profile", "web"))
    ctx = replace(base, host=replace(base.host, storage=storage), db_profile=profile,
                  versions=Versions(**{**base.versions, "postgres": major}),
                  shares=Shares(**{**dict(base.shares), "postgres": 1.0}))
    if inp.option("pooler", POOLER) == "none":
        conns = inp.connections or PGTUNE_DEFAULT_CONNECTIONS[ctx.db_profile]
        return replace(ctx, fixed={"postgres.max_connections": conns},
                       services=frozenset({"postgres"}))
    fixed = {} if inp.connections is None else {"postgres.max_connections": inp.connections}
    pools = () if inp.connections is not None else (Pool("app", "app", 0),)
    return replace(ctx, pools=pools, fixed=fixed, services=frozenset({"postgres", POOLER}))


def echo(inp: CalcInput, ctx: TuneContext) -> list[Recommendation]:
    """max_connections as given (or PGTune's count without a pooler): a line of its own."""
    if "postgres.max_connections" not in ctx.fixed:
        return []
    given = inp.connections is not None
    profile = inp.option("profile", "web")
    return [rec("postgres.max_connections", ctx.fixed["postgres.max_connections"],
                "calculator.input",
                "as given by --connections" if given else
                f"PGTune's count for {profile}: without a pooler every client holds a backend",
                "--connections" if given else f"PGTune per-profile default ({profile})", {})]


def header(inp: CalcInput) -> list[str]:
    pooled = inp.option("pooler", POOLER) == POOLER
    return [f"storage {inp.option('storage', 'ssd')}", f"profile {inp.option('profile', 'web')}",
            "pooler pgbouncer (max_connections = the pool's server connections)"
            if pooled else "pooler none (clients connect directly)"]


def _param(name: str) -> Any:
    """The parameter from the newest catalog that has it: its unit decides how a tuned size or
    duration is written (the fragment may hold any, e.g. 16+'s vacuum_buffer_usage_limit)."""
    from perfcfg.services import catalog as catalogs

    for version in reversed(catalogs.versions("postgresql")):
        cat = catalogs.load("postgresql", version, True)
        param = cat.get(name) if cat else None
        if param is not None:
            return param
    return None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_value(name: str, value: Any) -> str:
    """A value as postgresql.conf spells it: sizes and durations in the parameter's own units
    (floored to a whole unit), never a bare number PostgreSQL would read in its base unit."""
    from perfcfg.services.postgres.encode import pg_value
    from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US

    if isinstance(value, bool):
        return "on" if value else "off"
    param = _param(name) if isinstance(value, int) and value != -1 else None
    unit = param.unit if param is not None else None
    if unit in PG_BASE_BYTES:
        n = floor_to(int(value), PG_BASE_BYTES[unit])
        if n % GiB == 0 and n:
            return f"{n // GiB}GB"
        if n % MiB == 0 or PG_BASE_BYTES[unit] >= MiB:
            return f"{n // MiB}MB"
        return f"{n // KiB}kB"
    if param is not None and unit in PG_BASE_US:
        return pg_value(param, floor_to(int(value), PG_BASE_US[unit]))
    return _number(value)


def fragment(inp: CalcInput, recs: list[Recommendation]) -> list[str]:
    return [""] + [f"{(name := r.path.split('.', 1)[1])} = {format_value(name, r.value)}  "
                   f"# {r.reason}" for r in recs]


CALCULATOR = Calculator(OPTIONS, context, fragment, format_value, header=header, check=check,
                        echo=echo, order=RULE_ORDER)
