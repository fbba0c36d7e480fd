"""``perfcfg verify`` for pgbouncer: boot it from pgbouncer.ini and userlist.txt in front of the
PostgreSQL that verify booted, compare ``SHOW CONFIG``, ``SHOW DATABASES`` and ``SHOW USERS`` with the file; or
read a running one's admin console (``--live``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfcfg.core.plan import Plan
from perfcfg.services.catalog import Catalog
from perfcfg.services.pgbouncer import backend
from perfcfg.services.pgbouncer.encode import pgbouncer_value
from perfcfg.services.pgbouncer.outputs import NESTED, USERS
from perfcfg.services.verifier import Boot, Booted, Row, Verifier, file_values

# The service whose booted server the [databases] point at.
BACKEND = backend.NAME
# SHOW DATABASES column names: dbname= is reported as "database"
COLUMNS = {"dbname": "database", "pool_size": "pool_size", "pool_mode": "pool_mode",
           "reserve_pool": "reserve_pool", "host": "host", "port": "port",
           "max_db_connections": "max_connections"}


@dataclass(frozen=True)
class Want:
    settings: dict[str, str]                  # [pgbouncer] key → value as in pgbouncer.ini
    databases: dict[str, dict[str, str]]      # [databases] name → SHOW DATABASES column → value
    # [users] name → SHOW USERS column → value
    users: dict[str, dict[str, str]] = field(default_factory=dict)


def intended(plan: Plan, cat: Catalog) -> Want:
    databases = {db["name"]: {COLUMNS[k]: str(v) for k, v in db.items() if k in COLUMNS}
                 for db in plan.parts["pgbouncer"]}
    users: dict[str, dict[str, str]] = {}
    for setting in plan.service("pgbouncer", USERS):
        users.setdefault(setting.path.split(".")[2], {})[setting.name] = str(setting.value)
    return Want(file_values(plan, "pgbouncer", cat,
                            lambda param, value: pgbouncer_value(value, param),
                            nested=NESTED), databases, users)


def user_rows(shown: list[dict[str, str]], users: dict[str, dict[str, str]],
              notes: list[str]) -> list[Row]:
    """``[users]`` entries against SHOW USERS, where it reports them (1.24 does; 1.18 shows
    only each user's pool_mode, which a note says).

    >>> want = {"bi": {"max_user_connections": "2"}}
    >>> user_rows([{"name": "bi", "max_user_connections": "9"}], want, [])
    [('users.bi.max_user_connections', '2', '9')]
    >>> notes = []
    >>> user_rows([{"name": "bi", "pool_mode": ""}], want, notes), len(notes)
    ([], 1)
    """
    by_name = {row["name"]: row for row in shown}
    out: list[Row] = []
    for name, columns in sorted(users.items()):
        row = by_name.get(name, {})
        for column, value in sorted(columns.items()):
            if shown and column not in shown[0]:
                notes.append(f"pgbouncer: SHOW USERS does not report {column} (before 1.24): "
                             "[users] not compared")
                return out
            effective = row.get(column, "<missing user>")
            if effective != value:
                out.append((f"users.{name}.{column}", value, effective))
    return out


def database_rows(shown: list[dict[str, str]], databases: dict[str, dict[str, str]],
                  skip: tuple[str, ...] = ("host", "port")) -> list[Row]:
    """``[databases]`` entries against SHOW DATABASES (``skip``: the harness's host/port)."""
    by_name = {row["name"]: row for row in shown}
    out = []
    for name, columns in sorted(databases.items()):
        row = by_name.get(name)
        for column, value in sorted(columns.items()):
            if column in skip:
                continue
            effective = "<missing database>" if row is None else row.get(column, "<unknown>")
            if effective != value:
                out.append((f"databases.{name}.{column}", value, effective))
    return out


def boot(b: Boot) -> Booted:
    from perfcfg.services.pgbouncer.daemon import HARNESS_KEYS, PgBouncer

    want: Want = b.want
    bnc = b.stack.enter_context(PgBouncer(b.files["pgbouncer.ini"], b.files["userlist.txt"],
                                          backend=b.handles[BACKEND], version=b.version))
    rows = bnc.mismatches(want.settings) + database_rows(bnc.databases(), want.databases) + \
        user_rows(bnc.users(), want.users, b.notes)
    return Booted(rows, len(set(want.settings) - HARNESS_KEYS) + sum(
        len(set(columns) - {"host", "port"}) for columns in want.databases.values()) +
        sum(len(c) for c in want.users.values()), bnc)


def read_live(dsn: str) -> Any:
    from perfcfg.services.pgbouncer.daemon import live_console

    return live_console(dsn)


def compare_live(state: Any, want: Want, notes: list[str]) -> tuple[list[Row], int]:
    from perfcfg.services.pgbouncer.daemon import pgbouncer_mismatches

    config, databases, users = state
    # [databases] host and port are the deployment's own here, so they are compared too
    rows = pgbouncer_mismatches(config, want.settings) + \
        database_rows(databases, want.databases, skip=()) + \
        user_rows(users, want.users, notes)
    return rows, len(want.settings) + len(want.databases) + len(want.users)


# `verify --live --pgbouncer`: what it takes
HELP = ("libpq connection string of the running pgbouncer's admin console: dbname=pgbouncer and "
        "an admin or stats user (with --live).")
VERIFIER = Verifier(intended, boot, needs=(BACKEND,), live_variable="PERFCFG_PGBOUNCER_DSN",
                    read_live=read_live, compare_live=compare_live, live_metavar="DSN",
                    live_help=HELP, clients=("psycopg",))
