"""PostgreSQL's cross-service findings (docs/diagnostics.md): its connection slots against
what the pools and direct clients take (PCF303/304), its parallel workers (PCF313), its shared
memory (PCF316), its unit's fd limit within fs.nr_open (PCF318) and whether its connections fit
its memory at all (PCF320).

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2), (), ())
>>> [f.code for f in check_slots(ctx, {"postgres.max_connections": 3})]
['PCF304', 'PCF303']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.postgres.tuning import connections as pg_connections
from perfcfg.services.postgres.tuning import memory as pg_memory
from perfcfg.tune.checks import fd_ceiling, who
from perfcfg.tune.context import MiB, TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import mib_text

Settings = Mapping[str, Any]
# PGTune warns above 100GB of RAM; past ~100GB of shared_buffers a checkpoint has that much to
# write and every buffer-mapping lookup and eviction sweep covers it.
SHARED_BUFFERS_WARN = 100 * 10**9


def check_slots(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "postgres.max_connections" not in s:
        return []
    conns = int(s["postgres.max_connections"])
    superuser = int(s.get("postgres.superuser_reserved_connections",
                          pg_connections.SUPERUSER_RESERVED_DEFAULT))
    other = int(s.get("postgres.reserved_connections", 0)) \
        if ctx.versions.postgres >= pg_connections.RESERVED_CONNECTIONS_SINCE else 0
    out: list[Finding] = []
    if superuser + other >= conns:
        reserved_paths = ("postgres.superuser_reserved_connections", "postgres.max_connections")
        out.append(Finding("PCF304", "error",
                           f"reserved slots ({superuser + other}) must be fewer than "
                           f"max_connections ({conns}); PostgreSQL refuses to start"
                           + who(ctx, reserved_paths), reserved_paths,
                           "raise max_connections or lower the reserved slots"))
    pooled = pg_connections.pooled_slots(ctx, s)
    spare = pg_connections.spare(ctx)
    needed = pooled + ctx.direct_clients + spare + superuser + other
    if needed > conns:
        paths = (*pg_connections.POOL_PATHS, "postgres.max_connections")
        out.append(Finding("PCF303", "error",
                           f"pgbouncer may open {pooled} server connections, plus "
                           f"{ctx.direct_clients} direct, {spare} spare and {superuser + other} "
                           f"reserved = {needed} > max_connections {conns}" + who(ctx, paths),
                           paths,
                           "raise postgres.max_connections or shrink the pools "
                           "(or cap them with pgbouncer.max_db_connections); "
                           "postgres.spare_connections: 0 gives up the operators' slots"))
    return out


def check_parallel(ctx: TuneContext, s: Settings) -> list[Finding]:
    pairs = (("postgres.max_parallel_workers", "postgres.max_worker_processes"),
             ("postgres.max_parallel_workers_per_gather", "postgres.max_parallel_workers"))
    return [Finding("PCF313", "warning", f"{a} ({s[a]}) exceeds {b} ({s[b]}): PostgreSQL "
                    "silently caps it" + who(ctx, (a, b)), (a, b), f"lower {a} or raise {b}")
            for a, b in pairs if a in s and b in s and int(s[a]) > int(s[b])]


def check_shared_memory(ctx: TuneContext, s: Settings) -> list[Finding]:
    if "postgres.shared_buffers" not in s:
        return []
    sb = int(s["postgres.shared_buffers"])
    out = []
    if s.get("postgres.huge_pages") == "on":
        pages = pg_memory.nr_hugepages(sb, int(s.get("postgres.wal_buffers", 16 << 20)))
        paths = ("postgres.huge_pages", "host.memory")
        out.append(Finding("PCF316", "warning",
                           f"huge_pages = on: PostgreSQL will not start unless the kernel has "
                           f"vm.nr_hugepages ≥ {pages} free (2MiB pages; perfcfg cannot see "
                           "the host's setting)" + who(ctx, paths), paths,
                           f"set vm.nr_hugepages = {pages} (sysctl) before starting; exact: "
                           "postgres -C shared_memory_size_in_huge_pages"))
    if sb > SHARED_BUFFERS_WARN:
        paths = ("postgres.shared_buffers", "host.memory")
        out.append(Finding("PCF316", "warning",
                           f"shared_buffers {mib_text(sb)} is above ~100GB: checkpoints and "
                           "buffer eviction sweep all of it" + who(ctx, paths), paths,
                           "declare workload.data_size (shared_buffers then stops at the data) "
                           "or fix a smaller shared_buffers and watch checkpoint times"))
    return out


def check_fit(ctx: TuneContext, s: Settings) -> list[Finding]:
    """PCF320: the connections PostgreSQL must admit (max_connections as fixed by the preset or
    ``perfcfg tune --connections``/``--pooler none``) do not fit its memory with the default
    work_mem: the tuning would starve every query (and shrink shared_buffers) to make them.
    A tuned max_connections is the pools' sum, sized with the memory already (PCF301 stays)."""
    found = pg_memory.fit(ctx, s) if "postgres.max_connections" in ctx.fixed else None
    if found is None:
        return []
    holds, needed, budget = found
    conns = int(s["postgres.max_connections"])
    if conns <= holds:
        return []
    paths = ("postgres.max_connections", "budget.postgres")
    hint = (f"give PostgreSQL at least {mib_text(-(-needed // MiB) * MiB)}, or admit at most "
            f"{holds} connections (max_connections; behind pgbouncer's transaction pooling a "
            "few server connections serve many clients)")
    return [Finding("PCF320", "error",
                    f"{conns} connections do not fit PostgreSQL's {mib_text(budget)}: with "
                    f"shared_buffers, maintenance and autovacuum memory at their tuned sizes "
                    f"and the default work_mem (4MB) each, they need {mib_text(needed)}; "
                    f"{mib_text(budget)} holds {holds}", paths, hint)]


CHECKS = (check_slots, check_parallel, check_shared_memory,
          fd_ceiling("systemd.postgres.LimitNOFILE", "postgres.max_files_per_process"), check_fit)


def worst_case(ctx: TuneContext, s: Settings) -> dict[str, int]:
    return pg_memory.worst_case(ctx, s)
