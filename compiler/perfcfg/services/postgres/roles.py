"""roles.sql: every role pgbouncer's pools and the direct clients log in as (with its SCRAM
secret, never the password), the databases with their owners, and the grants that confine
each user to its declared databases (read-only users get CONNECT, USAGE and SELECT only).

Idempotent: CREATE only what is missing (psql's \\gexec), then ALTER to the declared state,
so running it again after a change converges.

>>> ident('bot'), literal("it's")
('"bot"', "'it''s'")
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError, no_control
from perfcfg.services import workload
from perfcfg.services.output import RenderContext
from perfcfg.services.postgres import monitoring, topology

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.base import Service

# The cluster's own superuser, reached over the socket with peer: never created or altered.
SUPERUSER = topology.SUPERUSER
# PostgreSQL's own default port, when the plan does not set one.
DEFAULT_PORT = 5432


def ident(name: str) -> str:
    no_control(name, "name")
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    no_control(text, "value")
    return "'" + text.replace("'", "''") + "'"


def psql_command(plan: Plan) -> list[str]:
    """psql as the cluster's superuser, at the socket and port the plan gives PostgreSQL (a
    host running two clusters must not get the other one's roles)."""
    sockets = plan.value("postgres.unix_socket_directories")
    first = str(sockets).split(",")[0].strip() if sockets else ""
    words = ["runuser", "-u", SUPERUSER, "--", "psql", "-X", "-v", "ON_ERROR_STOP=1"]
    if first:
        words += ["-h", first]
    return words + ["-p", str(plan.value("postgres.port", DEFAULT_PORT)), "-d", SUPERUSER]


def apply_command(plan: Plan) -> str:
    """How roles.sql is run: from standard input, since the file is 0600 for whoever built it.

    >>> from perfcfg.core.plan import Plan
    >>> apply_command(Plan("e", "staging", {}))
    'runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -p 5432 -d postgres -f - < roles.sql'
    """
    return " ".join(shlex.quote(w) for w in psql_command(plan)) + " -f - < roles.sql"


def _program_users(config: Config) -> dict[str, set[str]]:
    """Database name → the users the workload's programs log in as there."""
    out: dict[str, set[str]] = {}
    if not config.databases:
        return out
    by_name = {db.name: db for db in config.databases}     # once: per program was O(N²)
    first = config.databases[0]
    for prog in config.workload.programs:
        db = by_name.get(prog.database or first.name, first)
        out.setdefault(db.name, set()).add(workload.user_of(config, db, prog, SUPERUSER))
    return out


def _in_select(sql: str) -> str:
    """SQL text inside the single-quoted string a SELECT … \\gexec returns."""
    return sql.replace("'", "''")


def roles_sql(ctx: RenderContext, service: Service) -> bytes:
    config, plan = ctx.config, ctx.plan
    part = plan.parts[service.name]
    secrets = dict(part.users)
    declared = {u.name: u for u in config.users}
    uses: dict[str, set[str]] = {}          # user → databases it logs into
    every = {db.dbname or db.name for db in config.databases}
    comments: dict[str, str] = {}
    for rule in part.hba:
        keyword_user = rule.user == "all" and not (rule.literal or rule.literal_user)
        keyword_db = not rule.literal and rule.database in ("all", "replication")
        if keyword_user or rule.user == SUPERUSER or (keyword_db and rule.database != "all"):
            continue
        uses.setdefault(rule.user, set()).update(
            every if keyword_db else {rule.database})
        comments.setdefault(rule.user, rule.comment)
    for db in config.databases:
        if db.user:
            uses.setdefault(db.user, set()).add(db.dbname or db.name)
            comments.setdefault(db.user, f"owner of database {db.name}")
    # the exporter's role reads every statistics view (services/postgres/monitoring.py)
    members = {c.user: [ident(monitoring.MONITOR_ROLE)] for c in config.clients
               if c.name == monitoring.EXPORTER_CLIENT}
    roles = []
    settings = part.role_settings
    for name in sorted(uses):
        if name == SUPERUSER:
            continue    # the cluster's own: ALTER ROLE … NOSUPERUSER would be refused
        user = declared.get(name)
        try:
            secret = literal(secrets[name]) if secrets.get(name) else ""
            roles.append({"ident": ident(name), "ident_sql": _in_select(ident(name)),
                          "literal": literal(name), "secret": secret,
                          "readonly": bool(user and getattr(user, "readonly", False)),
                          "member_of": members.get(name, []),
                          "settings": sorted(settings.get((name, ""), {}).items()),
                          "comment": comments[name] + ("" if secret else
                                                       "; no password declared in users:")})
        except EncodeError as exc:
            ctx.fail(f"users.{name}", exc)
    readonly = {r["ident"] for r in roles if r["readonly"]}
    # database → its users, in one pass (a pass over every user per database was O(N²))
    users_of: dict[str, list[str]] = {}
    for user_name, dbs in uses.items():
        for dbname in dbs:
            users_of.setdefault(dbname, []).append(user_name)
    programs = _program_users(config)
    databases = []
    for db in config.databases:
        dbname = db.dbname or db.name
        owner = db.user or (config.users[0].name if config.users else SUPERUSER)
        users = sorted(ident(u) for u in users_of.get(dbname, ()))
        try:
            # a program's user reads and writes the owner's tables (not their shape: the owner
            # migrates); a direct client (migrations, monitoring) gets CONNECT and no more
            workers = sorted(ident(u) for u in programs.get(db.name, ())
                             if u != owner and ident(u) not in readonly)
            databases.append({
                "name": dbname, "owner_name": owner, "ident": ident(dbname),
                "ident_sql": _in_select(ident(dbname)), "literal": literal(dbname),
                "owner": ident(owner), "owner_sql": _in_select(ident(owner)),
                "writers": [u for u in users if u not in readonly],
                "readers": [u for u in users if u in readonly],
                "workers": workers})
        except EncodeError as exc:
            ctx.fail(f"databases.{db.name}", exc)
    return ctx.template("roles.sql", roles=roles, databases=databases,
                        apply=apply_command(plan))
