"""What each daemon should run with: the Plan's values, spelled as perfcfg writes them.

The real-daemon tests and ``perfcfg verify`` compare these with the effective values the
daemons report. Values come from the Plan through the same catalog entries and encoders the
renderer uses, so an intended value is exactly the text in the generated file, and the
daemon handles (:mod:`perfcfg.daemons`) compare it the way each daemon parses it.

>>> from pathlib import Path
>>> from perfcfg.stages.pipeline import Request, compile_env
>>> result = compile_env(Request(Path("examples/botfarm"), "staging"))
>>> want = from_result(result)
>>> want.redis["maxmemory-policy"], want.pgbouncer["pool_mode"], want.programs["matcher"]
('allkeys-lfu', 'transaction', 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcfg.core.plan import Plan
from perfcfg.model import Targets
from perfcfg.services import registry
from perfcfg.services.base import Service
from perfcfg.services.catalog import Catalog
from perfcfg.services.redis.encode import redis_arg, redis_value
from perfcfg.services.supervisor.encode import supervisor_value
from perfcfg.services.supervisor.outputs import NESTED

# Program keys the harness owns (it runs a stand-in command as itself, logging into its
# scratch dir), or that getAllConfigInfo reports only expanded (process_name: see names()).
SUPERVISOR_HOST_KEYS = frozenset({"command", "user", "directory", "process_name"})

if TYPE_CHECKING:
    from perfcfg.stages.pipeline import Result


@dataclass(frozen=True)
class Intended:
    postgres: dict[str, str]             # GUC → value as in postgresql.conf
    pgbouncer: dict[str, str]            # [pgbouncer] key → value as in pgbouncer.ini
    databases: dict[str, dict[str, str]]  # [databases] name → {host, port, database, …}
    redis: dict[str, str]                # directive → arguments as in redis.conf
    redis_enums: frozenset[str]          # directives Redis compares case-insensitively
    supervisor: dict[str, str]           # "supervisord.KEY" / "program:NAME.KEY" → value
    programs: dict[str, int]             # program → numprocs
    process_names: dict[str, list[str]]  # program → its processes' names


def from_result(result: Result) -> Intended:
    """From a ``pipeline.Result`` that compiled (``result.plan`` and ``result.config`` set)."""
    assert result.plan is not None and result.config is not None
    return from_plan(result.plan, result.config.targets)


def from_plan(plan: Plan, targets: Targets) -> Intended:
    cats: dict[str, Catalog] = {}
    for service in registry.SERVICES:
        catalog = service.catalog(targets)
        if catalog is None:   # a Plan exists only for targets that have catalogs
            raise ValueError(f"no catalog for {service.daemon} {service.version(targets)}")
        cats[service.name] = catalog
    redis, enums = _redis(plan, cats["redis"])
    return Intended(
        postgres=_simple(plan, registry.by_name("postgres"), cats["postgres"]),
        pgbouncer=_simple(plan, registry.by_name("pgbouncer"), cats["pgbouncer"]),
        databases=_databases(plan),
        redis=redis, redis_enums=enums,
        supervisor=_supervisor(plan, cats["supervisor"]),
        programs={p.name: p.processes for p in plan.programs},
        process_names={p.name: names(p.name, dict(p.options).get("process_name"), p.processes)
                       for p in plan.programs})


def names(program: str, process_name: str | None, numprocs: int) -> list[str]:
    """The process names supervisor makes from ``process_name`` (its ``%`` expansion)."""
    if not process_name:
        return [program]
    return [process_name % {"program_name": program, "process_num": n, "group_name": program,
                            "numprocs": numprocs} for n in range(numprocs)]


def _simple(plan: Plan, service: Service, cat: Catalog) -> dict[str, str]:
    out = {}
    for setting in plan.service(service.name, nested=service.nested):
        param = cat.get(setting.name)
        if param is not None:
            out[param.name] = service.encode(param, setting.value)
    return out


def _databases(plan: Plan) -> dict[str, dict[str, str]]:
    # SHOW DATABASES column names: dbname= is reported as "database"
    columns = {"dbname": "database", "pool_size": "pool_size", "pool_mode": "pool_mode",
               "reserve_pool": "reserve_pool", "host": "host", "port": "port",
               "max_db_connections": "max_connections"}
    return {db["name"]: {columns[k]: str(v) for k, v in db.items() if k in columns}
            for db in plan.databases}


def _redis(plan: Plan, cat: Catalog) -> tuple[dict[str, str], frozenset[str]]:
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
    return out, frozenset(enums)


def _supervisor(plan: Plan, cat: Catalog) -> dict[str, str]:
    out = {f"supervisord.{s.name}": supervisor_value(s.value, cat.get(s.name, "supervisord"))
           for s in plan.service("supervisor", nested=NESTED) if cat.get(s.name, "supervisord") is not None}
    for prog in plan.programs:
        for key, value in prog.options:
            if key in SUPERVISOR_HOST_KEYS:
                continue
            param = cat.get(key, "program")
            out[f"program:{prog.name}.{key}"] = supervisor_value(value, param)
        if prog.environment:
            # compared as the parsed dict, so written without the %-escaping of the file
            out[f"program:{prog.name}.environment"] = ",".join(
                f'{k}="{v}"' for k, v in prog.environment)
    return out
