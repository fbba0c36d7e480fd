"""Cross-service invariants over the final settings (tuned values and the preset's fixed ones).

Every finding names **both** sides of a conflict in ``paths``; ``host.*`` and ``targets.*``
paths stand for the host profile and the target versions. A value the preset fixed that breaks
an invariant is an error; tuned values are built never to.

| code   | severity | invariant |
|--------|----------|-----------|
| PCF301 | error    | memory worst case (PostgreSQL + Redis × fork + pgbouncer + workers + OS) ≤ host |
| PCF302 | error    | memory shares stated by the preset add up to at most the host |
| PCF303 | error    | Σ pool slots + direct clients + reserved slots ≤ postgres.max_connections |
| PCF304 | error    | superuser_reserved_connections (+ reserved_connections) < max_connections |
| PCF305 | error    | pgbouncer's fd need (check_limits() + reserve pools) ≤ its fd limit |
| PCF306 | warning  | redis maxclients + 32 ≤ its fd limit (else Redis silently lowers maxclients) |
| PCF307 | error    | Σ workers × redis_connections ≤ redis maxclients |
| PCF308 | error    | Σ workers × db_connections ≤ pgbouncer max_client_conn |
| PCF309 | error    | pgbouncer max_prepared_statements needs pgbouncer ≥ 1.21 (1.18 refuses to start) |
| PCF310 | warning  | transaction pooling on pgbouncer < 1.21: drivers must not cache prepared statements |
| PCF311 | error    | no two services listen on the same port |
| PCF312 | error    | each worker's fd need ≤ the fd limit it inherits (supervisor.minfds) |
| PCF313 | warning  | max_parallel_workers ≤ max_worker_processes, per_gather ≤ max_parallel_workers |
| PCF314 | warning  | redis maxmemory set (0 = unlimited: the kernel OOM-kills instead of evicting) |
| PCF315 | warning  | pgbouncer query_wait_timeout < the workers' client timeout |
| PCF316 | warning  | huge_pages = on needs vm.nr_hugepages; shared_buffers above ~100GB |

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2), (), ())
>>> [f.code for f in check(ctx, {"postgres.max_connections": 3})]
['PCF304']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perfcfg.services.pgbouncer import tuning as pgbouncer
from perfcfg.services.postgres.tuning import connections as pg_connections
from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.services.redis import tuning as redis
from perfcfg.services.supervisor import tuning as supervisor
from perfcfg.tune import budget
from perfcfg.tune.context import TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import mib_text

Settings = Mapping[str, Any]
PREPARED_STATEMENTS_SINCE = pgbouncer.PREPARED_STATEMENTS_SINCE


def _who(ctx: TuneContext, paths: tuple[str, ...]) -> str:
    fixed = [p for p in paths if p in ctx.fixed]
    return f" (set by the preset: {', '.join(fixed)})" if fixed else ""


def memory_parts(ctx: TuneContext, s: Settings) -> dict[str, int]:
    """Worst-case bytes per consumer, keyed by the setting path that drives it."""
    parts = pg_memory.worst_case(ctx, s) if "postgres" in ctx.services else {}
    if "redis" in ctx.services and "redis.maxmemory" in s:
        parts["redis.maxmemory"] = budget.redis_footprint(ctx, int(s["redis.maxmemory"]))
    parts["budget.pgbouncer"] = budget.pgbouncer_memory(ctx)
    parts["budget.workers"] = sum(p.processes * p.memory for p in ctx.programs)
    parts["budget.os_reserve"] = int(s.get("budget.os_reserve", budget.os_reserve(ctx)))
    return parts


def check_memory(ctx: TuneContext, s: Settings) -> list[Finding]:
    if budget.findings(ctx):
        return []   # the stated shares already overshoot the host: PCF302 says why
    parts = memory_parts(ctx, s)
    total, host = sum(parts.values()), ctx.host.memory
    if total <= host:
        return []
    order = sorted((p for p in parts if parts[p]), key=lambda p: (p not in ctx.fixed, -parts[p]))
    paths = ("host.memory", *order)
    detail = ", ".join(f"{p} {mib_text(parts[p])}" for p in order)
    return [Finding("PCF301", "error",
                    f"worst-case memory {mib_text(total)} exceeds the host's {mib_text(host)} "
                    f"by {mib_text(total - host)}: {detail}{_who(ctx, paths)}",
                    paths, "lower the fixed sizes, declare less worker memory, or use a bigger "
                           "host; PostgreSQL counts (max_connections + max_parallel_workers) × "
                           "work_mem × nodes × hash_mem_multiplier; explain's "
                           "budget.postgres_worst_case shows each part")]


def check_shares(ctx: TuneContext, s: Settings) -> list[Finding]:
    return budget.findings(ctx)


def check_slots(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "postgres.max_connections" not in s:
        return []
    conns = int(s["postgres.max_connections"])
    superuser = int(s.get("postgres.superuser_reserved_connections",
                          pg_connections.SUPERUSER_RESERVED_DEFAULT))
    other = int(s.get("postgres.reserved_connections", 0)) if ctx.versions.postgres >= 16 else 0
    out: list[Finding] = []
    if superuser + other >= conns:
        reserved_paths = ("postgres.superuser_reserved_connections", "postgres.max_connections")
        out.append(Finding("PCF304", "error",
                           f"reserved slots ({superuser + other}) must be fewer than "
                           f"max_connections ({conns}); PostgreSQL refuses to start"
                           + _who(ctx, reserved_paths), reserved_paths,
                           "raise max_connections or lower the reserved slots"))
    pooled = pg_connections.pooled_slots(ctx, s)
    needed = pooled + ctx.direct_clients + superuser + other
    if needed > conns:
        paths = ("pgbouncer.default_pool_size", "pgbouncer.reserve_pool_size",
                 "postgres.max_connections")
        out.append(Finding("PCF303", "error",
                           f"pgbouncer may open {pooled} server connections, plus "
                           f"{ctx.direct_clients} direct and {superuser + other} reserved = "
                           f"{needed} > max_connections {conns}" + _who(ctx, paths), paths,
                           "raise postgres.max_connections or shrink the pools "
                           "(or cap them with pgbouncer.max_db_connections)"))
    return out


def _fd_limit(ctx: TuneContext, s: Settings, service: str) -> tuple[int, str]:
    if service in ctx.supervised and "supervisor.minfds" in s:
        return int(s["supervisor.minfds"]), "supervisor.minfds"
    return ctx.host.open_files, "host.open_files"


def check_fds(ctx: TuneContext, s: Settings) -> list[Finding]:
    out: list[Finding] = []
    if "pgbouncer" in ctx.services and "pgbouncer.max_client_conn" in s:
        need = pgbouncer.fd_need(ctx.pools, s)
        limit, where = _fd_limit(ctx, s, "pgbouncer")
        if need > limit:
            paths = ("pgbouncer.max_client_conn", where)
            out.append(Finding("PCF305", "error",
                               f"pgbouncer needs {need} file descriptors (max_client_conn + 10 "
                               f"+ pools + reserve) but its limit is {limit}" + _who(ctx, paths),
                               paths, "raise LimitNOFILE / ulimit -n (or supervisor.minfds) "
                                      f"to at least {need}"))
    if "redis" in ctx.services and "redis.maxclients" in s:
        need = int(s["redis.maxclients"]) + redis.REDIS_RESERVED_FDS
        limit, where = _fd_limit(ctx, s, "redis")
        if need > limit:
            paths = ("redis.maxclients", where)
            out.append(Finding("PCF306", "warning",
                               f"redis maxclients + 32 = {need} exceeds its fd limit {limit}: "
                               "Redis will silently lower maxclients" + _who(ctx, paths), paths,
                               f"raise the fd limit to {need} or lower redis.maxclients"))
    return out


def _program_paths(ctx: TuneContext, key: str) -> tuple[str, ...]:
    return tuple(f"supervisor.programs.{p.name}.{key}" for p in ctx.programs)


def check_clients(ctx: TuneContext, s: Settings) -> list[Finding]:
    out: list[Finding] = []
    rules = (("redis", "redis.maxclients", redis.worker_clients(ctx), "PCF307", "Redis"),
             ("pgbouncer", "pgbouncer.max_client_conn", pgbouncer.worker_db_clients(ctx),
              "PCF308", "pgbouncer"))
    for service, path, clients, code, name in rules:
        if service in ctx.services and path in s and clients > int(s[path]):
            paths = (path, *_program_paths(ctx, "numprocs"))
            out.append(Finding(code, "error",
                               f"the workers open {clients} connections to {name} but "
                               f"{path} is {s[path]}" + _who(ctx, paths), paths,
                               f"raise {path} to at least {clients} plus headroom, or open "
                               "fewer connections per worker"))
    return out


def check_versions(ctx: TuneContext, s: Settings) -> list[Finding]:
    version = ctx.versions.pgbouncer
    if "pgbouncer" not in ctx.services or version >= PREPARED_STATEMENTS_SINCE:
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


def check_ports(ctx: TuneContext, s: Settings) -> list[Finding]:
    by_port: dict[int, list[str]] = {}
    for path, value in s.items():
        if path.endswith((".port", ".listen_port")) and value:
            # supervisor.inet_http_server.port is "host:port" (or a bare port)
            by_port.setdefault(int(str(value).rpartition(":")[2]), []).append(path)
    return [Finding("PCF311", "error", f"port {port} is used by {' and '.join(sorted(paths))}",
                    tuple(sorted(paths)), "give each service its own port")
            for port, paths in sorted(by_port.items()) if len(paths) > 1]


def check_worker_fds(ctx: TuneContext, s: Settings) -> list[Finding]:
    supervised = "supervisor" in ctx.services and "supervisor.minfds" in s
    limit = int(s["supervisor.minfds"]) if supervised else ctx.host.open_files
    where = "supervisor.minfds" if supervised else "host.open_files"
    return [Finding("PCF312", "error",
                    f"each {p.name} process needs {supervisor.worker_fds(p)} file descriptors "
                    f"but inherits a limit of {limit}", (where, f"supervisor.programs.{p.name}"),
                    f"raise {where} to at least {supervisor.worker_fds(p)}")
            for p in ctx.programs if supervisor.worker_fds(p) > limit]


def check_parallel(ctx: TuneContext, s: Settings) -> list[Finding]:
    pairs = (("postgres.max_parallel_workers", "postgres.max_worker_processes"),
             ("postgres.max_parallel_workers_per_gather", "postgres.max_parallel_workers"))
    return [Finding("PCF313", "warning", f"{a} ({s[a]}) exceeds {b} ({s[b]}): PostgreSQL "
                    "silently caps it" + _who(ctx, (a, b)), (a, b), f"lower {a} or raise {b}")
            for a, b in pairs if a in s and b in s and int(s[a]) > int(s[b])]


def check_redis_limit(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "redis" not in ctx.services or s.get("redis.maxmemory", None) != 0:
        return []
    paths = ("redis.maxmemory", "host.memory")
    return [Finding("PCF314", "warning", "redis maxmemory 0 means no limit: Redis grows until "
                    "the kernel OOM-kills it", paths, "leave redis.maxmemory to perfcfg")]


def check_timeouts(ctx: TuneContext, s: Settings) -> list[Finding]:
    wait = s.get("pgbouncer.query_wait_timeout")
    if ctx.client_timeout is None or wait is None or float(wait) < ctx.client_timeout:
        return []
    paths = ("pgbouncer.query_wait_timeout", "workload.client_timeout")
    return [Finding("PCF315", "warning",
                    f"query_wait_timeout {wait} s ≥ the workers' client timeout "
                    f"{ctx.client_timeout:g} s: clients give up before pgbouncer says why",
                    paths, "keep query_wait_timeout below the client timeout")]


# PGTune warns above 100GB of RAM; past ~100GB of shared_buffers a checkpoint has that much to
# write and every buffer-mapping lookup and eviction sweep covers it.
SHARED_BUFFERS_WARN = 100 * 10**9


def check_shared_memory(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "postgres" not in ctx.services or "postgres.shared_buffers" not in s:
        return []
    sb = int(s["postgres.shared_buffers"])
    out = []
    if s.get("postgres.huge_pages") == "on":
        pages = pg_memory.nr_hugepages(sb, int(s.get("postgres.wal_buffers", 16 << 20)))
        paths = ("postgres.huge_pages", "host.memory")
        out.append(Finding("PCF316", "warning",
                           f"huge_pages = on: PostgreSQL will not start unless the kernel has "
                           f"vm.nr_hugepages ≥ {pages} free (2MiB pages; perfcfg cannot see "
                           "the host's setting)" + _who(ctx, paths), paths,
                           f"set vm.nr_hugepages = {pages} (sysctl) before starting; exact: "
                           "postgres -C shared_memory_size_in_huge_pages"))
    if sb > SHARED_BUFFERS_WARN:
        paths = ("postgres.shared_buffers", "host.memory")
        out.append(Finding("PCF316", "warning",
                           f"shared_buffers {mib_text(sb)} is above ~100GB: checkpoints and "
                           "buffer eviction sweep all of it" + _who(ctx, paths), paths,
                           "declare workload.data_size (shared_buffers then stops at the data) "
                           "or fix a smaller shared_buffers and watch checkpoint times"))
    return out


CHECKS: tuple[Callable[[TuneContext, Settings], list[Finding]], ...] = (
    check_memory, check_shares, check_slots, check_fds, check_clients, check_versions,
    check_ports, check_worker_fds, check_parallel, check_redis_limit, check_timeouts,
    check_shared_memory,
)


def check(ctx: TuneContext, settings: Settings) -> list[Finding]:
    findings = [f for c in CHECKS for f in c(ctx, settings)]
    return sorted(findings, key=lambda f: (f.code, f.paths))
