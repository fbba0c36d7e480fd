"""Property tests: any host from 1 GiB / 1 CPU to 1 TiB / 128 CPUs with a workload that fits
compiles, stays inside PostgreSQL 15's ranges, never overcommits memory and raises no error."""

import csv
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.services.postgres.tuning import memory
from perfcfg.services.redis import tuning as redis
from perfcfg.stages.tune import check, context, recommend_all
from perfcfg.tune import budget
from perfcfg.tune.context import GiB, Host, KiB, MiB, Pool, Program, TuneContext, Versions

PG15 = {row["name"]: row for row in csv.DictReader(
    (Path(__file__).parent / "pg15_pg_settings.tsv").read_text().splitlines(), delimiter="\t")}
UNIT_BYTES = {"kB": KiB, "8kB": 8 * KiB, "MB": MiB}
# perfcfg's canonical PostgreSQL time unit is the microsecond (perfcfg.tune.context)
UNIT_MICROSECONDS = {"ms": 1000, "s": 1_000_000, "min": 60_000_000}

programs = st.lists(st.builds(
    Program, name=st.sampled_from(["bot", "worker", "cron", "api"]),
    processes=st.integers(1, 60), db_connections=st.integers(0, 4),
    cache_connections=st.integers(0, 4), memory=st.integers(16, 400).map(lambda m: m * MiB),
), max_size=3, unique_by=lambda p: p.name)
pools = st.lists(st.builds(Pool, database=st.sampled_from(["app", "stats"]),
                           user=st.sampled_from(["bot", "ops", "report"]),
                           clients=st.integers(0, 200)),
                 max_size=4, unique_by=lambda p: (p.database, p.user))
contexts = st.builds(
    context,
    env=st.sampled_from(["development", "staging", "production"]),
    host=st.builds(Host, memory=st.integers(1024, 1024 * 1024).map(lambda m: m * MiB),
                   cpus=st.integers(1, 128), storage=st.sampled_from(["hdd", "ssd", "san", "nvme"]),
                   open_files=st.sampled_from([1024, 4096, 65536, 1 << 20])),
    programs=programs.map(tuple), pools=pools.map(tuple),
    direct_clients=st.integers(0, 10),
    db_profile=st.sampled_from(["web", "oltp", "dw", "mixed", "desktop"]),
    facts=st.fixed_dictionaries({"redis.role": st.sampled_from(["cache", "store"]),
                                 "redis.persistence": st.booleans()}),
    versions=st.builds(Versions, postgres=st.sampled_from([15, 16, 17]),
                       pgbouncer=st.sampled_from([(1, 18), (1, 21), (1, 24)])),
    supervised=st.sampled_from([frozenset(), frozenset({"pgbouncer"}),
                                frozenset({"pgbouncer", "redis"})]),
)


def fits(ctx: TuneContext) -> bool:
    """The workload fits the host's memory and (for daemons outside supervisord) its fd limit."""
    if budget.plan(ctx).shortfall:
        return False
    s = {r.path: r.value for r in pgbouncer.recommend(ctx, {})}
    limit = ctx.host.open_files
    if "pgbouncer" not in ctx.supervised and pgbouncer.fd_need(ctx.pools, s) > limit:
        return False
    # maxclients is cut to the fd limit (with a reason), never below what the workers open
    needed = redis.worker_clients(ctx) + redis.REDIS_RESERVED_FDS
    return "redis" in ctx.supervised or needed <= limit


def in_catalog_range(version: int, name: str, value) -> bool:
    from perfcfg.services import catalog as catalogs
    from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US

    cat = catalogs.load("postgresql", str(version), True)
    assert cat is not None, version
    param = cat.get(name)
    if param is None:
        return False
    if param.type in ("enum", "string"):
        return param.values is None or value in param.values
    base = {**PG_BASE_BYTES, **PG_BASE_US}.get(param.unit or "", 1)   # canonical → its unit
    own = value / base
    return (param.min is None or own >= param.min) and (param.max is None or own <= param.max)


def in_pg15_range(name: str, value) -> bool:
    row = PG15[name]
    kind = row["vartype"]
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "enum":
        return value in row["enumvals"].split(",")
    if kind == "integer":
        unit = UNIT_BYTES.get(row["unit"]) or UNIT_MICROSECONDS.get(row["unit"], 1)
        if value == -1 and row["min_val"] == "-1":
            return True
        if value % unit:
            return False
        return int(row["min_val"]) <= value // unit <= int(row["max_val"])
    return float(row["min_val"]) <= float(value) <= float(row["max_val"])


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(contexts)
@example(context(env="production", host=Host(1 * GiB, 1),
                 programs=(Program("bot", 4, 1, 1, 48 * MiB),), pools=(Pool("app", "bot", 4),)))
@example(context(env="production", host=Host(1024 * GiB, 128, "nvme", 1 << 20),
                 programs=(Program("bot", 60, 4, 4, 400 * MiB),),
                 pools=(Pool("app", "bot", 240),)))
def test_any_fitting_host_compiles_cleanly(ctx):
    assume(fits(ctx))
    recs = recommend_all(ctx)
    values = {r.path: r.value for r in recs}
    for r in recs:
        assert r.reason and r.rule and r.formula, r.path
        if r.path.startswith("postgres."):
            name = r.path.removeprefix("postgres.")
            if name in PG15:
                assert in_pg15_range(name, r.value), (name, r.value)
            else:   # a parameter of a newer version: its own catalog's range
                assert in_catalog_range(ctx.versions.postgres, name, r.value), (name, r.value)
    parts = [values[f"budget.{p}"] for p in ("os_reserve", "workers", "pgbouncer", "redis",
                                              "postgres")]
    assert sum(parts) <= ctx.host.memory
    assert 1 <= values["redis.io-threads"] <= min(8, ctx.host.cpus)
    assert values["supervisor.minfds"] >= 1024
    errors = [f for f in check(ctx, values) if f.severity == "error"]
    # A host whose PostgreSQL share cannot hold even the smallest memory settings (every one at
    # its floor) does not fit, though the budget's own sum does: PCF301 then says so, rightly.
    at_floors = (values["postgres.shared_buffers"] == memory.SHARED_BUFFERS_MIN
                 and values["postgres.maintenance_work_mem"] == MiB
                 and values["postgres.work_mem"] == memory.WORK_MEM_MIN)
    assume(not (at_floors and [f.code for f in errors] == ["PCF301"]))
    assert errors == []


@hsettings(max_examples=100, deadline=None)
@given(contexts)
def test_fixed_paths_are_never_recommended(ctx):
    fixed = {"postgres.max_connections": 50, "redis.maxclients": 1000}
    from dataclasses import replace
    recs = recommend_all(replace(ctx, fixed=fixed))
    assert not {r.path for r in recs} & set(fixed)


def test_a_host_too_small_for_postgresql_at_its_floors_gets_pcf301():
    # Found by the property above: 1 GiB with 530 MiB of workers and a Redis store leaves
    # PostgreSQL 171 MiB, less than 31 backends need with every memory setting at its floor.
    ctx = context(env="development", host=Host(1024 * MiB, 2, "hdd", 1024),
                  programs=(Program("bot", 2, 0, 0, 265 * MiB),),
                  pools=(Pool("app", "bot", 0), Pool("app", "ops", 0), Pool("app", "report", 0),
                         Pool("stats", "bot", 0)), db_profile="web", facts={"redis.role": "store"})
    values = {r.path: r.value for r in recommend_all(ctx)}
    assert values["postgres.shared_buffers"] == memory.SHARED_BUFFERS_MIN
    assert values["postgres.work_mem"] == memory.WORK_MEM_MIN
    assert [f.code for f in check(ctx, values) if f.severity == "error"] == ["PCF301"]
