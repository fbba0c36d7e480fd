"""pgbouncer's cross-service findings (docs/diagnostics.md): its fd need (PCF305), the workers'
connections against max_client_conn (PCF308), what its version can carry (PCF309/310), its
queue wait against the workers' timeout (PCF315), its unit's fd limit within fs.nr_open
(PCF318), its pools and clients past the environment's headroom (PCF319).

>>> from perfcfg.tune.context import Host, Program, TuneContext, Versions, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2), (Program("w", 10, 2, 0, 0),), (),
...                   versions=Versions(pgbouncer=(1, 18)))
>>> [f.code for f in check_clients(ctx, {"pgbouncer.max_client_conn": 5})]
['PCF308']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.pgbouncer import tuning
from perfcfg.tune.checks import beyond, fd_ceiling, fd_limit, who
from perfcfg.tune.context import TuneContext
from perfcfg.tune.findings import Finding

Settings = Mapping[str, Any]


def check_fds(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "pgbouncer.max_client_conn" not in s:
        return []
    need = tuning.fd_need(ctx.pools, s)
    limit, where = fd_limit(ctx, s, "pgbouncer")
    if need <= limit:
        return []
    paths = ("pgbouncer.max_client_conn", where)
    return [Finding("PCF305", "error",
                    f"pgbouncer needs {need} file descriptors (max_client_conn + 10 "
                    f"+ pools + reserve) but its limit is {limit}" + who(ctx, paths),
                    paths, "raise LimitNOFILE / ulimit -n (or supervisor.minfds) "
                           f"to at least {need}")]


def check_clients(ctx: TuneContext, s: Settings) -> list[Finding]:
    path, clients = "pgbouncer.max_client_conn", tuning.worker_db_clients(ctx)
    if path not in s or clients <= int(s[path]):
        return []
    paths = (path, *(f"{ctx.facts.get('runner.programs', '')}.{p.name}.numprocs"
                     for p in ctx.programs))
    return [Finding("PCF308", "error",
                    f"the workers open {clients} connections to pgbouncer but "
                    f"{path} is {s[path]}" + who(ctx, paths), paths,
                    f"raise {path} to at least {clients} plus headroom, or open "
                    "fewer connections per worker")]


def check_versions(ctx: TuneContext, s: Settings) -> list[Finding]:
    version = ctx.versions.pgbouncer
    if version >= tuning.PREPARED_STATEMENTS_SINCE:
        return []
    out: list[Finding] = []
    shown = ".".join(map(str, version))
    if s.get("pgbouncer.max_prepared_statements") not in (None, 0):
        paths = ("pgbouncer.max_prepared_statements", "targets.pgbouncer")
        out.append(Finding("PCF309", "error",
                           f"max_prepared_statements needs pgbouncer ≥ 1.21; {shown} stops "
                           "at start with 'unknown parameter'", paths,
                           "remove it or upgrade pgbouncer to 1.21+"))
    if s.get("pgbouncer.pool_mode") == "transaction":
        paths = ("pgbouncer.pool_mode", "targets.pgbouncer")
        out.append(Finding("PCF310", "warning",
                           f"transaction pooling on pgbouncer {shown} cannot carry prepared "
                           "statements: a driver that caches them fails at random", paths,
                           "disable driver caches: asyncpg statement_cache_size=0, psycopg "
                           "prepare_threshold=None (or upgrade to pgbouncer 1.21+)"))
    return out


def check_timeouts(ctx: TuneContext, s: Settings) -> list[Finding]:
    wait = s.get("pgbouncer.query_wait_timeout")
    if ctx.client_timeout is None or wait is None or float(wait) < ctx.client_timeout:
        return []
    paths = ("pgbouncer.query_wait_timeout", "workload.client_timeout")
    return [Finding("PCF315", "warning",
                    f"query_wait_timeout {wait} s ≥ the workers' client timeout "
                    f"{ctx.client_timeout:g} s: clients give up before pgbouncer says why",
                    paths, "keep query_wait_timeout below the client timeout")]


def check_headroom(ctx: TuneContext, s: Settings) -> list[Finding]:
    """PCF319's pooler part: the pools' server connections, or the workers' connections to
    pgbouncer, past what the environment's headroom declared."""
    h = ctx.headroom
    clients = max(tuning.worker_db_clients(ctx), sum(p.clients for p in ctx.pools))
    out = []
    for key, declared, needed, what in (
            ("server_connections", h.server_connections, tuning.server_slots(ctx.pools, s),
             "pgbouncer's pools may open {n} server connections"),
            ("client_connections", h.client_connections, clients,
             "the workers open {n} connections to pgbouncer")):
        if declared and needed > declared:
            out.append(beyond(what.format(n=needed), f"the headroom's {key}", str(declared),
                              (f"workload.headroom.{key}",),
                              f"raise workload.headroom.{key} to at least {needed}"))
    return out


CHECKS = (check_fds, check_clients, check_versions, check_timeouts, check_headroom,
          fd_ceiling("systemd.pgbouncer.LimitNOFILE", "pgbouncer.max_client_conn"))


def worst_case(ctx: TuneContext, s: Settings) -> dict[str, int]:
    return {"budget.pgbouncer": tuning.memory(ctx)}
