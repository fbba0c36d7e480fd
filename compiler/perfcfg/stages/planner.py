"""Config + provenance → Plan: fixed values, tuned values, derived topology, secrets.

The order is: the values a person fixed; the tuning engine fills every ``auto`` (and every
tunable value left unset); topology that follows from other settings is derived (pgbouncer's
[databases] point at PostgreSQL's port, the workers' URLs at pgbouncer and Redis); then the
cross-service checks run over the whole Plan.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcfg.core.config import AUTO, Config
from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.nodes import path_str
from perfcfg.core.plan import HbaRule, Plan, ProgramPlan, Setting
from perfcfg.core.spans import Origin
from perfcfg.services import registry
from perfcfg.services.rules import is_local_address
from perfcfg.stages import secrets as secret_refs
from perfcfg.stages.layers import History
from perfcfg.tune import checks
from perfcfg.tune import context as tc

if TYPE_CHECKING:
    from perfcfg.stages.pipeline import Request

SERVICES = ("postgres", "pgbouncer", "redis", "supervisor")
DEFAULT_PORTS = {"postgres": 5432, "pgbouncer": 6432, "redis": 6379}


def make_plan(config: Config, history: History, req: Request, secrets_mode: str,
              secret_dirs: tuple[Path, ...] = ()
              ) -> tuple[Plan | None, list[Diagnostic], list[Diagnostic]]:
    """The Plan, the planning diagnostics, and the cross-service findings (PCF3xx) apart,
    because a preset's waivers apply to those. ``secret_dirs``: directories outside the
    project that ``${file:…}`` may read (the project file's ``secrets.dirs``)."""
    diags: list[Diagnostic] = []
    hist = {path_str(k): tuple(v) for k, v in history.items()}
    settings: dict[str, Setting] = {}
    autos: set[str] = set()
    for path, value in _fixed_values(config):
        if value == AUTO:
            autos.add(path)
            continue
        chain = hist.get(path) or hist.get(_program_history_path(path), ())
        origin = chain[-1] if chain else Origin("derived")
        settings[path] = Setting(path, value, origin, history=chain)
    ctx = tune_context(config, {p: s.value for p, s in settings.items()})
    from perfcfg.tune import engine

    in_range = _range_keeper(config)
    for rec in engine.recommend_all(ctx, engine.GROUPS + engine.PLACEMENT):
        if rec.path in settings:
            continue
        chain = hist.get(rec.path, ())
        value, capped = in_range(rec.path, _canonical(rec.path, rec.value))
        settings[rec.path] = Setting(rec.path, value, Origin("tuned", None, rec.rule),
                                     rec.reason + capped, rec.rule, rec.formula,
                                     dict(rec.inputs), rec.deviation, chain)
        autos.discard(rec.path)
    for path in sorted(autos):
        diags.append(Diagnostic("PCF208", "error", f"perfcfg has no rule to tune {path}",
                                config.spans.get(path), path,
                                "give it a value, or remove it to keep the daemon's default"))
    _derive(config, settings)
    diags.extend(_redis_user_refs(config))
    resolver = secret_refs.SecretResolver(secrets_mode, req.environ, Path(req.project_dir),
                                          secret_dirs)
    users, leaked = _users(config, resolver, diags, hashed=req.render)
    acl = _redis_acl(config, resolver, diags, leaked)
    _resolve_setting_secrets(settings, resolver, config, diags, leaked)
    plan = Plan(config.env, config.kind, settings, _databases(config, settings), users,
                _programs(config, settings), _hba(config, settings), leaked, acl)
    return plan, diags, _checks(ctx, plan, config)


def _range_keeper(config: Config):
    """``(path, value) → (value, note)``: a tuned value brought inside its parameter's range
    in the target's catalog (a rule fed by a huge host, 4096 CPUs, must still write what the
    daemon accepts: max_parallel_workers stops at 1024), with a note for the reason when it
    had to be."""
    from perfcfg.core.units import UnitError
    from perfcfg.services.registry import SERVICES

    services = {s.name: s for s in SERVICES}

    def keep(path: str, value: Any) -> tuple[Any, str]:
        name, _, key = path.partition(".")
        service = services.get(name)
        if service is None or "." in key or isinstance(value, bool) or \
                not isinstance(value, (int, float)):
            return value, ""
        param = service.param(config.targets, key)
        if param is None:
            return value, ""
        try:
            service.coerce(param, value)
            return value, ""
        except UnitError:
            pass
        # The bounds in canonical form: a bare number is in the parameter's own unit.
        for bound, past in ((param.max, lambda edge: value > edge),
                            (param.min, lambda edge: value < edge)):
            if bound is None:
                continue
            try:
                edge = service.coerce(param, int(bound) if float(bound).is_integer() else bound)
            except UnitError:
                continue
            if past(edge):
                return edge, (f" (kept within the {service.title} limit {bound:g}; the rule "
                              f"gave {value})")
        return value, ""

    return keep


def _canonical(path: str, value: Any) -> Any:
    """The tuner's value in the shape the catalog gives the parameter."""
    if path == "redis.save" and isinstance(value, tuple):
        return [f"{secs} {changes}" for secs, changes in value]
    return value


# -- inputs ------------------------------------------------------------------------------

def _fixed_values(config: Config):
    for service, params in config.services.items():
        for name, value in params.items():
            yield f"{service}.{name}", value
    for section, params in config.supervisor_sections.items():
        for name, value in params.items():
            yield f"supervisor.{section}.{name}", value
    for program in config.workload.programs:
        for name, value in program.supervisor.items():
            yield f"supervisor.programs.{program.name}.{name}", value


def _program_history_path(path: str) -> str:
    parts = path.split(".")
    if parts[:2] == ["supervisor", "programs"] and len(parts) == 4:
        return f"workload.programs.{parts[2]}.supervisor.{parts[3]}"
    return path


def pools(config: Config) -> list[tc.Pool]:
    """One pool per (database, user) the workers use, with the clients they open; a database's
    own ``clients`` count for its pool with its declared user."""
    if not config.databases:
        return []
    default_db = config.databases[0]
    by_name = {db.name: db for db in config.databases}
    counts: dict[tuple[str, str], int] = {}
    for prog in config.workload.programs:
        db = by_name.get(prog.database or default_db.name, default_db)
        user = prog.user or db.user or (config.users[0].name if config.users else "postgres")
        key = (db.name, user)
        counts[key] = counts.get(key, 0) + prog.processes * prog.db_connections
    for db in config.databases:
        if db.clients or not any(name == db.name for name, _ in counts):
            user = db.user or (config.users[0].name if config.users else "postgres")
            counts[(db.name, user)] = counts.get((db.name, user), 0) + db.clients
    return [tc.Pool(db, user, n) for (db, user), n in sorted(counts.items())]


def _sized(found: list[tc.Pool], config: Config) -> list[tc.Pool]:
    by_name = {d.name: d for d in config.databases}

    def declared(value: Any) -> int | None:
        return value if isinstance(value, int) else None

    return [tc.Pool(p.database, p.user, p.clients,
                    pool_size=declared(by_name[p.database].pool_size),
                    reserve=declared(by_name[p.database].reserve_pool),
                    mode=by_name[p.database].pool_mode) for p in found]


def tune_context(config: Config, fixed: dict[str, Any]) -> tc.TuneContext:
    host = config.host
    assert host is not None
    from perfcfg.model import parse_share

    redis = config.services.get("redis", {})
    persistence = config.redis_role == "store" or redis.get("appendonly") is True or \
        bool([s for s in redis.get("save", []) if s.strip()])
    return tc.TuneContext(
        env=config.kind,  # type: ignore[arg-type]
        host=tc.Host(host.memory, host.cpus, host.storage, host.open_files, host.os,
                     host.wal_disk),
        programs=tuple(tc.Program(p.name, p.processes, p.db_connections, p.redis_connections,
                                  p.memory, stop_seconds=p.supervisor.get("stopwaitsecs"))
                       for p in config.workload.programs),
        pools=tuple(_sized(pools(config), config)),
        direct_clients=sum(c.connections for c in config.clients if not c.replication),
        db_profile=config.workload.db_profile,
        client_timeout=config.workload.client_timeout,
        data_size=config.workload.data_size,
        redis_role=config.redis_role,  # type: ignore[arg-type]
        redis_persistence=persistence,
        versions=versions(config.targets),
        shares=tc.Shares(parse_share(config.budget.os_reserve), parse_share(config.budget.postgres),
                         parse_share(config.budget.redis)),
        fixed=fixed,
        layout=config.layout,  # type: ignore[arg-type]
    )


# Valkey forked from Redis 7.2.4 and reads its directives.
VALKEY_FORKED_FROM = (7, 2)


def versions(targets: Any) -> tc.Versions:
    """The tuning rules' view of the targets: version tuples and the PostgreSQL build."""
    build = targets.postgres_build
    cache = registry.by_name("redis")
    valkey = _ver(targets.valkey) if targets.valkey else None
    return tc.Versions(
        targets.postgres, _ver(targets.pgbouncer),
        VALKEY_FORKED_FROM if valkey else _ver(cache.version(targets)),
        _ver(targets.supervisor), valkey,
        frozenset(f for f in tc.PG_BUILD_FEATURES if getattr(build, f)))


def _ver(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


# -- derived topology --------------------------------------------------------------------

def _derive(config: Config, settings: dict[str, Setting]) -> None:
    def put(path: str, value: Any, reason: str) -> None:
        if path not in settings:
            settings[path] = Setting(path, value, Origin("derived"), reason)

    admins = [u.name for u in config.users if u.admin]
    stats = [u.name for u in config.users if u.stats or u.admin]
    if admins:
        put("pgbouncer.admin_users", ",".join(admins), "users marked admin: true")
    if stats:
        put("pgbouncer.stats_users", ",".join(stats), "users marked stats: true or admin: true")
    if all(is_local_address(c.address) for c in config.clients):
        # pgbouncer and every direct client are on this host: nothing needs a TCP port
        # beyond loopback.
        put("postgres.listen_addresses", "localhost", "every client is on this host")


def _host_address(host: str) -> str:
    """A pg_hba.conf address matching exactly ``host``: an IP with its full mask, or a host
    name as it is (PostgreSQL refuses ``db.example.com/32``).

    >>> _host_address("127.0.0.1"), _host_address("::1"), _host_address("db.example.com")
    ('127.0.0.1/32', '::1/128', 'db.example.com')
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"{host}/{address.max_prefixlen}"


def port(settings: dict[str, Setting], service: str) -> int:
    key = {"postgres": "postgres.port", "pgbouncer": "pgbouncer.listen_port",
           "redis": "redis.port"}[service]
    setting = settings.get(key)
    return int(setting.value) if setting else DEFAULT_PORTS[service]


def connect_host(settings: dict[str, Setting], service: str) -> str:
    """The address a client on the same host uses to reach a service."""
    key = {"postgres": "postgres.listen_addresses", "pgbouncer": "pgbouncer.listen_addr",
           "redis": "redis.bind"}[service]
    setting = settings.get(key)
    value = setting.value if setting else "127.0.0.1"
    text = " ".join(value) if isinstance(value, list) else str(value)
    # The first address named (Redis's "-" marks an optional one); empty items are skipped.
    first = next((a.lstrip("-") for a in re.split(r"[,\s]+", text) if a.lstrip("-")), "")
    if first in ("", "*", "0.0.0.0", "localhost"):
        return "127.0.0.1"
    if first in ("::", "::1"):
        return "::1"
    return first


def _databases(config: Config, settings: dict[str, Setting]) -> list[dict[str, Any]]:
    out = []
    for db in config.databases:
        entry: dict[str, Any] = {
            "name": db.name,
            "host": connect_host(settings, "postgres"),
            "port": port(settings, "postgres"),
            "dbname": db.dbname or db.name,
        }
        for key, declared in (("pool_size", db.pool_size), ("reserve_pool", db.reserve_pool),
                              ("max_db_connections", None)):
            tuned = settings.get(f"pgbouncer.databases.{db.name}.{key}")
            if isinstance(declared, int):
                entry[key] = declared
            elif tuned is not None:
                entry[key] = tuned.value
        if db.pool_mode:
            entry["pool_mode"] = db.pool_mode
        out.append(entry)
    return out


def _programs(config: Config, settings: dict[str, Setting]) -> list[ProgramPlan]:
    db_host, db_port = connect_host(settings, "pgbouncer"), port(settings, "pgbouncer")
    redis_at = f"{_url_host(connect_host(settings, 'redis'))}:{port(settings, 'redis')}/0"
    by_name = {db.name: db for db in config.databases}
    # Each program's tuned and fixed [program:x] keys, gathered in one pass over the settings
    # (a pass per program made 10,000 programs cost O(N²)).
    by_program: dict[str, dict[str, Any]] = {}
    for path, setting in settings.items():
        if path.startswith("supervisor.programs.") and path.count(".") >= 3:
            name, key = path[len("supervisor.programs."):].rsplit(".", 1)   # names may hold "."
            by_program.setdefault(name, {})[key] = setting.value
    out = []
    for prog in config.workload.programs:
        env = {k: _env_text(v) for k, v in prog.environment.items()}
        if config.databases:
            db = by_name.get(prog.database or config.databases[0].name, config.databases[0])
            user = prog.user or db.user or (config.users[0].name if config.users else "postgres")
            env.setdefault("DATABASE_URL", f"postgresql://{_url(user)}@{_url_host(db_host)}:"
                                           f"{db_port}/{_url(db.name)}")
        if prog.redis_connections:
            # The URL names the ACL user; the password reaches the worker another way
            # (supervisord.conf is not a secret file).
            ruser = prog.redis_user or _default_redis_user(config)
            env.setdefault("REDIS_URL", f"redis://{_url(ruser) + '@' if ruser else ''}{redis_at}")
        options: dict[str, Any] = {"numprocs": prog.processes, "autostart": True,
                                   "autorestart": True}
        if prog.processes > 1:
            options["process_name"] = "%(program_name)s_%(process_num)02d"
        if prog.directory:
            options["directory"] = prog.directory
        if prog.run_as:
            options["user"] = prog.run_as
        options.update(by_program.get(prog.name, {}))
        out.append(ProgramPlan(prog.name, tuple(prog.argv), prog.processes,
                               tuple(sorted(env.items())), tuple(sorted(options.items()))))
    return out


def _url(text: str) -> str:
    """A user or database name inside a URL: percent-encoded (``a@b`` would end the user
    part, a space would end the URL for many drivers)."""
    from urllib.parse import quote

    return quote(text, safe="")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _redis_user_refs(config: Config) -> list[Diagnostic]:
    """A worker's REDIS_URL must name a Redis user that exists and is enabled."""
    usable = {u.name for u in config.redis_users if u.enabled}
    out = []
    for prog in config.workload.programs:
        if prog.redis_user is not None and prog.redis_user not in usable:
            path = f"workload.programs.{prog.name}.redis_user"
            out.append(Diagnostic("PCF209", "error",
                                  f"{path} names {prog.redis_user!r}, which is not an enabled "
                                  "user in redis.users", config.spans.get(path), path,
                                  f"declare it under redis.users, or use one of: "
                                  f"{', '.join(sorted(usable)) or '(none declared)'}"))
    return out


def _default_redis_user(config: Config) -> str | None:
    names = [u.name for u in config.redis_users if u.enabled and u.name != "default"]
    return names[0] if names else None


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hba(config: Config, settings: dict[str, Setting]) -> list[HbaRule]:
    rules = [HbaRule("local", "all", "postgres", "", "peer",
                     "the postgres OS user administers the cluster over the Unix socket")]
    # pgbouncer connects from the address it connects to (same host), so that is the source
    # address its lines must allow.
    bouncer_from = _host_address(connect_host(settings, "postgres"))
    for pool in pools(config):
        db = next(d for d in config.databases if d.name == pool.database)
        rules.append(HbaRule("host", db.dbname or db.name, pool.user, bouncer_from,
                             "scram-sha-256", f"pgbouncer pool {pool.database}/{pool.user}",
                             literal=True))
    pooled = {(p.database, p.user) for p in pools(config)}
    by_name = {d.name: d for d in config.databases}
    for user in config.users:
        for name in user.databases:
            found = by_name.get(name)
            if found is not None and (name, user.name) not in pooled:
                pooled.add((name, user.name))
                rules.append(HbaRule("host", found.dbname or found.name, user.name, bouncer_from,
                                     "scram-sha-256", f"user {user.name} through pgbouncer"
                                     + (" (read-only)" if user.readonly else ""), literal=True))
    ssl = config.services.get("postgres", {}).get("ssl") in (True, "on")
    for client in config.clients:
        database = "replication" if client.replication else client.database
        # With ssl on, a client from another host must use it (hostssl), not just may.
        kind = "local" if client.address == "local" else \
            "hostssl" if ssl and not is_local_address(client.address) else "host"
        address = "" if kind == "local" else client.address
        rules.append(HbaRule(kind, database, client.user, address, client.method,
                             f"client {client.name}"))
    specific = lambda r: (r.type != "local", r.database == "all", r.user == "all")  # noqa: E731
    return sorted(rules, key=specific)


# -- secrets -----------------------------------------------------------------------------

def _users(config: Config, resolver: secret_refs.SecretResolver, diags: list[Diagnostic],
           hashed: bool = True) -> tuple[list[tuple[str, str]], list[str]]:
    """Auth-file entries. ``hashed=False`` (validate: nothing is written) skips the SCRAM
    key derivation, 4096 PBKDF2 rounds per user, which the pre-commit path does not need."""
    users, leaked = [], []
    for user in config.users:
        if user.password is None:
            continue
        path = f"users.{user.name}.password"
        try:
            password = resolver.resolve(user.password)
        except secret_refs.SecretError as exc:
            diags.append(Diagnostic("PCF120", "error", f"{path}: {exc}", config.spans.get(path),
                                    path, exc.hint))
            continue
        leaked.append(password)
        if not password.isascii():
            # PostgreSQL SASLprep-normalises non-ASCII passwords before hashing; perfcfg does
            # not, so such a secret would never match what the client sends.
            diags.append(Diagnostic("PCF121", "error", f"{path}: the password is not ASCII",
                                    config.spans.get(path), path,
                                    "use a password of printable ASCII characters"))
            continue
        secret = secret_refs.scram_sha256(password, user.name) if hashed else ""
        users.append((user.name, secret))
    return users, leaked


def _redis_acl(config: Config, resolver: secret_refs.SecretResolver, diags: list[Diagnostic],
               leaked: list[str]) -> list[str]:
    """ACL file lines: ``default`` first (off unless declared), then the declared users."""
    declared = {u.name for u in config.redis_users}
    lines = []
    if "default" not in declared:
        # With users declared, nobody should get in without naming one; with none declared,
        # Redis's own default is written out as is and policy rule PCF404 reports it.
        lines.append("user default off resetpass resetkeys resetchannels -@all"
                     if config.redis_users else "user default on nopass ~* &* +@all")
    for user in config.redis_users:
        path = f"redis.users.{user.name}.password"
        words = ["user", user.name, "on" if user.enabled else "off"]
        if user.password is not None:
            try:
                password = resolver.resolve(user.password)
            except secret_refs.SecretError as exc:
                diags.append(Diagnostic("PCF120", "error", f"{path}: {exc}",
                                        config.spans.get(path), path, exc.hint))
                continue
            leaked.append(password)
            words.append(secret_refs.redis_password_hash(password))
        elif user.nopass:
            words.append("nopass")
        words += [f"~{k}" for k in user.keys] + [f"&{c}" for c in user.channels] + user.commands
        lines.append(" ".join(words))
    return lines


def _resolve_setting_secrets(settings: dict[str, Setting], resolver, config: Config,
                             diags: list[Diagnostic], leaked: list[str]) -> None:
    for path, setting in list(settings.items()):
        if secret_refs.is_reference(setting.value):
            try:
                value = resolver.resolve(setting.value)
            except secret_refs.SecretError as exc:
                diags.append(Diagnostic("PCF120", "error", f"{path}: {exc}",
                                        config.spans.get(path), path, exc.hint))
                continue
            leaked.append(value)
            if path.startswith("supervisor.") and path.endswith("_http_server.password"):
                # supervisord accepts {SHA}<hex SHA-1> (tests/test_security_daemons.py): no cleartext;
                # supervisorctl users give the password with -p.
                value = secret_refs.supervisor_password_hash(value)
            settings[path] = Setting(path, value, setting.origin, "secret reference",
                                     history=setting.history)


# -- cross-service checks ----------------------------------------------------------------

def _checks(ctx: tc.TuneContext, plan: Plan, config: Config) -> list[Diagnostic]:
    values = {path: s.value for path, s in plan.settings.items()}
    out = []
    for finding in checks.check(ctx, values):
        spans = [_written_at(config, p) for p in finding.paths]
        first_path, first_span = _primary(spans)
        related = tuple(Related(_side(plan, config, p, s), s, p)
                        for p, s in spans if p != first_path)
        severity = finding.severity
        if severity == "error" and not any(s for _, s in spans):
            severity = "warning"  # only tuned values involved: perfcfg's own miss, not the user's
        out.append(Diagnostic(finding.code, severity, finding.message, first_span, first_path,
                              finding.hint, related))
    return out


def _written_at(config: Config, path: str) -> tuple[str, Any]:
    """The path a person wrote for a check's path, and where: a program's ``numprocs`` is its
    ``processes``, a program is its workload entry."""
    parts = path.split(".")
    aliases = [path, _program_history_path(path)]
    if parts[:2] == ["supervisor", "programs"] and len(parts) in (3, 4):
        aliases.append(".".join(["workload", *parts[1:3], *(["processes"] if parts[3:] ==
                                                           ["numprocs"] else parts[3:])]))
    return next(((a, config.spans[a]) for a in aliases if config.spans.get(a)), (path, None))


def _primary(spans: list[tuple[str, Any]]) -> tuple[str | None, Any]:
    """Where to report a conflict: the line a person edits to fix it, so a project's preset
    before a built-in preset, and a preset before the host profile or the target versions."""
    written = [(p, s) for p, s in spans if s]
    if not written:
        return spans[0] if spans else (None, None)
    return min(written, key=lambda ps: (ps[1].file.startswith("builtin:"),
                                        ps[0].startswith(("host.", "targets."))))


def _side(plan: Plan, config: Config, path: str, span: Any) -> str:
    if path.startswith("host."):
        return f"{path} comes from the host profile"
    if path.startswith("targets."):
        return (f"{path} is the target version, set here" if span else
                f"{path} is perfcfg's default target version (perfcfg.yaml's targets sets it)")
    setting = plan.settings.get(path)
    if setting is None:
        return f"{path} is set here" if span else f"{path} is involved"
    if span is None:
        return f"{path} is {'tuned' if setting.tuned else 'derived'} by perfcfg (no preset sets it)"
    service, _, name = path.partition(".")
    written = getattr(config.budget, name, None) if service == "budget" else \
        config.services.get(service, {}).get(name)
    how = "tuned" if setting.tuned and written == AUTO else "set"
    return f"{path} is {how} here"
