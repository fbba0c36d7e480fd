"""The stand-alone ``perfcfg tune postgres|pgbouncer|redis`` calculator: PGTune-style flags in,
a conf fragment (one reason comment per line) or JSON-able data out. The CLI only parses flags.

The memory flag is the memory *this daemon* may use (as in PGTune), so the OS reserve and the
other daemons' shares are zero here; ``perfcfg build`` splits a real host. For PostgreSQL,
``pooler`` says whether clients come through pgbouncer (max_connections = the pool's server
connections) or straight in (``none``: PGTune's per-profile count unless ``connections`` says);
the output's header says which, and the same PCF30x checks as ``perfcfg build`` run on it.

>>> text = calculate_text(CalcInput("postgres", 16 << 30, 4, "ssd", "oltp", 300, "16"))
>>> [line.split("  #")[0] for line in text.splitlines() if line.startswith("shared_buffers")]
['shared_buffers = 4GB']
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from perfcfg.services.postgres.tuning.connections import PGTUNE_DEFAULT_CONNECTIONS
from perfcfg.tune.checks import check
from perfcfg.tune.context import (
    DbProfile,
    GiB,
    Host,
    KiB,
    MiB,
    Pool,
    Program,
    Recommendation,
    RedisRole,
    Shares,
    Storage,
    TuneContext,
    Versions,
)
from perfcfg.tune.engine import recommend_all
from perfcfg.tune.engine import settings as final_settings
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import floor_to, mib_text, rec

Daemon = Literal["postgres", "pgbouncer", "redis"]
# PostgreSQL GUC base units (pg_settings.unit) of the memory settings perfcfg recommends.
DEFAULT_VERSIONS = Versions()
Pooler = Literal["pgbouncer", "none"]
# Below this PostgreSQL cannot hold its own shared memory, a backend and the OS page cache it
# relies on (PGTune warns under 256MB as well).
MEMORY_MIN = 256 * MiB
# catalog file prefix (schemas/catalogs/<daemon>-<version>.json) per calculator daemon
CATALOG_DAEMON = {"postgres": "postgresql", "pgbouncer": "pgbouncer", "redis": "redis"}
PGBOUNCER_DEFAULT_CLIENTS = 100         # pgbouncer's default max_client_conn
REDIS_DEFAULT_CLIENTS = 100
# PostgreSQL lines in PGTune's reading order: connections, memory, WAL, planner, parallel, vacuum.
PG_RULE_ORDER = ("calculator", "pg.connections", "pg.memory", "pg.wal", "pg.planner",
                 "pg.parallel", "pg.autovacuum", "pg.version")


@dataclass(frozen=True)
class CalcInput:
    daemon: Daemon
    memory: int                         # bytes this daemon may use
    cpus: int
    storage: Storage = "ssd"
    profile: DbProfile = "web"
    connections: int | None = None      # postgres: max_connections; others: client connections
    version: str | None = None          # "16" for PostgreSQL, "1.18" / "7.0" for the others
    redis_role: RedisRole = "cache"
    pooler: Pooler = "pgbouncer"        # postgres: clients through pgbouncer, or straight in


class InputError(ValueError):
    """A flag value the calculator cannot work with (the CLI exits 2 with the message)."""

    def __init__(self, flag: str, message: str):
        super().__init__(f"{flag}: {message}")
        self.flag = flag


def validate(inp: CalcInput) -> None:
    """Raise :class:`InputError` for inputs no daemon could run with."""
    from perfcfg.services import catalog
    from perfcfg.services.postgres.tuning.connections import SUPERUSER_RESERVED_DEFAULT

    if inp.memory < MEMORY_MIN:
        raise InputError("--memory", f"{mib_text(inp.memory)} is below the {mib_text(MEMORY_MIN)} "
                                     f"{inp.daemon} needs to run at all")
    if inp.cpus < 1:
        raise InputError("--cpus", "must be at least 1")
    if inp.version is not None:
        known = catalog.versions(CATALOG_DAEMON[inp.daemon])
        wanted = inp.version.strip()
        if wanted not in known:
            raise InputError("--version", f"{inp.version!r} is not a supported {inp.daemon} "
                                          f"version; supported: {', '.join(known)}")
    if inp.daemon == "postgres" and inp.connections is not None \
            and inp.connections <= SUPERUSER_RESERVED_DEFAULT:
        raise InputError("--connections", f"{inp.connections} leaves no connection besides the "
                                          f"{SUPERUSER_RESERVED_DEFAULT} reserved for superusers "
                                          "(PostgreSQL will not start); give at least "
                                          f"{SUPERUSER_RESERVED_DEFAULT + 1}")
    if inp.pooler != "pgbouncer" and inp.daemon != "postgres":
        raise InputError("--pooler", "only applies to postgres")


def _version(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    if not text:
        return default
    parts = [int(p) for p in text.split(".")[:2]]
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def context(inp: CalcInput) -> TuneContext:
    host = Host(inp.memory, inp.cpus, inp.storage, open_files=1 << 20)
    pg = _version(inp.version, (DEFAULT_VERSIONS.postgres, 0))[0] \
        if inp.daemon == "postgres" else DEFAULT_VERSIONS.postgres
    versions = Versions(
        postgres=pg,
        pgbouncer=_version(inp.version if inp.daemon == "pgbouncer" else None,
                           DEFAULT_VERSIONS.pgbouncer),
        redis=_version(inp.version if inp.daemon == "redis" else None, DEFAULT_VERSIONS.redis))
    shares = Shares(os_reserve=0, postgres=1.0 if inp.daemon == "postgres" else None,
                    redis=1.0 if inp.daemon == "redis" else None)
    base = TuneContext("production", host, (), (), db_profile=inp.profile, versions=versions,
                       shares=shares, redis_role=inp.redis_role)
    if inp.daemon == "postgres" and inp.pooler == "none":
        conns = inp.connections or PGTUNE_DEFAULT_CONNECTIONS[inp.profile]
        return replace(base, fixed={"postgres.max_connections": conns},
                       services=frozenset({"postgres"}))
    if inp.daemon == "postgres":
        fixed = {} if inp.connections is None else {"postgres.max_connections": inp.connections}
        pools = () if inp.connections is not None else (Pool("app", "app", 0),)
        return replace(base, pools=pools, fixed=fixed,
                       services=frozenset({"postgres", "pgbouncer"}))
    clients = inp.connections or (PGBOUNCER_DEFAULT_CLIENTS if inp.daemon == "pgbouncer"
                                  else REDIS_DEFAULT_CLIENTS)
    if inp.daemon == "pgbouncer":
        return replace(base, pools=(Pool("app", "app", clients),),
                       services=frozenset({"pgbouncer"}))
    return replace(base, programs=(Program("client", clients, 0, 1, 0),),
                   services=frozenset({"redis"}))


def calculate(inp: CalcInput) -> list[Recommendation]:
    """The daemon's recommendations (fixed inputs echoed as a line of their own)."""
    ctx = context(inp)
    prefix = f"{inp.daemon}."
    out = [r for r in recommend_all(ctx) if r.path.startswith(prefix)]
    if inp.daemon == "postgres" and "postgres.max_connections" in ctx.fixed:
        given = inp.connections is not None
        out.insert(0, rec("postgres.max_connections", ctx.fixed["postgres.max_connections"],
                          "calculator.input",
                          "as given by --connections" if given else
                          f"PGTune's count for {inp.profile}: without a pooler every client "
                          "holds a backend", "--connections" if given else
                          f"PGTune per-profile default ({inp.profile})", {}))
    if inp.daemon == "postgres":
        out.sort(key=lambda r: next(i for i, p in enumerate(PG_RULE_ORDER)
                                    if r.rule.startswith(p)))
    return out


def _pg_param(name: str) -> Any:
    """The parameter from the newest catalog that has it: its unit decides how a tuned size or
    duration is written (the fragment may hold any, e.g. 16+'s vacuum_buffer_usage_limit)."""
    from perfcfg.services import catalog as catalogs

    for version in reversed(catalogs.versions("postgresql")):
        cat = catalogs.load("postgresql", version, True)
        param = cat.get(name) if cat else None
        if param is not None:
            return param
    return None


def format_pg(name: str, value: Any) -> str:
    """A value as postgresql.conf spells it: sizes and durations in the parameter's own units
    (floored to a whole unit), never a bare number PostgreSQL would read in its base unit."""
    from perfcfg.services.postgres.encode import pg_value
    from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US

    if isinstance(value, bool):
        return "on" if value else "off"
    param = _pg_param(name) if isinstance(value, int) and value != -1 else None
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


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_redis(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "save":
        return " ".join(f"{s} {c}" for s, c in value) if value else '""'
    if name == "maxmemory" and value % MiB == 0:
        return f"{value // MiB}mb"
    return _number(value)


def _line(daemon: Daemon, r: Recommendation) -> str:
    name = r.path.split(".", 1)[1]
    if daemon == "postgres":
        return f"{name} = {format_pg(name, r.value)}  # {r.reason}"
    if daemon == "pgbouncer":
        return f"# {r.reason}\n{name} = {_number(r.value)}"
    return f"# {r.reason}\n{name} {format_redis(name, r.value)}"


def _header(inp: CalcInput) -> list[str]:
    given = [f"memory {mib_text(inp.memory)}", f"cpus {inp.cpus}"]
    if inp.daemon == "postgres":
        given += [f"storage {inp.storage}", f"profile {inp.profile}",
                  "pooler pgbouncer (max_connections = the pool's server connections)"
                  if inp.pooler == "pgbouncer" else "pooler none (clients connect directly)"]
    if inp.daemon == "redis":
        given.append(f"role {inp.redis_role}")
    if inp.connections is not None:
        given.append(f"connections {inp.connections}")
    if inp.version:
        given.append(f"version {inp.version}")
    return [f"# perfcfg tune {inp.daemon}: " + ", ".join(given)]


def findings(inp: CalcInput) -> list[Finding]:
    """The PCF30x checks ``perfcfg build`` runs, over this daemon's settings (the pooler's own
    memory and version are not this daemon's: --memory is the daemon's alone)."""
    ctx = context(inp)
    return check(replace(ctx, services=frozenset({inp.daemon})), final_settings(ctx))


def calculate_text(inp: CalcInput) -> str:
    notes = [f"# {f.severity}[{f.code}]: {f.message}" for f in findings(inp)]
    recs = calculate(inp)
    if inp.daemon == "pgbouncer":
        return "\n".join(_header(inp) + notes + _pgbouncer_sections(recs)) + "\n"
    lines = _header(inp) + notes + [""]
    lines += [_line(inp.daemon, r) for r in recs]
    return "\n".join(lines) + "\n"


def _pgbouncer_sections(recs: list[Recommendation]) -> list[str]:
    """A per-database value (``databases.app.pool_size``) is a key of that database's line in
    ``[databases]``, not of ``[pgbouncer]``: pgbouncer refuses to start on an unknown key
    there ("unknown parameter: pgbouncer/databases.app.pool_size"), so the fragment would not
    load as pasted."""
    per_db: dict[str, list[Recommendation]] = {}
    for r in recs:
        parts = r.path.split(".")
        if parts[1] == "databases":
            per_db.setdefault(parts[2], []).append(r)
    lines = ["", "[databases]",
             "# add host=, port= and dbname= for your server (pgbouncer's defaults: the local",
             "# socket and a database named like the entry)"] if per_db else []
    for db, values in per_db.items():
        lines += [f"# {r.path.rsplit('.', 1)[1]}: {r.reason}" for r in values]
        lines.append(f"{db} = " + " ".join(f"{r.path.rsplit('.', 1)[1]}={_number(r.value)}"
                                            for r in values))
    lines += ["", "[pgbouncer]"]
    lines += [_line("pgbouncer", r) for r in recs if r.path.split(".")[1] != "databases"]
    return lines


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def calculate_data(inp: CalcInput) -> dict[str, Any]:
    formatter = {"postgres": format_pg, "redis": format_redis}.get(inp.daemon)
    settings = []
    for r in calculate(inp):
        name = r.path.split(".", 1)[1]
        text = formatter(name, r.value) if formatter else _number(r.value)
        settings.append({"name": name, "path": r.path, "value": _jsonable(r.value),
                         "text": text, "rule": r.rule, "reason": r.reason,
                         "formula": r.formula, "inputs": _jsonable(dict(r.inputs)),
                         "deviation": r.deviation})
    inputs = {"memory": inp.memory, "cpus": inp.cpus, "storage": inp.storage,
              "profile": inp.profile, "connections": inp.connections, "version": inp.version,
              "pooler": inp.pooler if inp.daemon == "postgres" else None}
    found = [{"code": f.code, "severity": f.severity, "message": f.message,
              "paths": list(f.paths), "hint": f.hint} for f in findings(inp)]
    return {"daemon": inp.daemon, "inputs": inputs, "settings": settings, "findings": found}
