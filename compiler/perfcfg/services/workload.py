"""The workload's connection pools: one per (database, user) pair the worker programs use,
with the client connections they open. perfcfg's own records (``databases``, ``users``,
``workload.programs``) decide them; the pooler sizes them and the database admits them.

>>> from types import SimpleNamespace as NS
>>> db = NS(name="app", user=None, clients=0, pool_size=None, reserve_pool=None, pool_mode=None)
>>> config = NS(databases=[db], users=[NS(name="bot", password=None)],
...             workload=NS(programs=[NS(database=None, user=None, processes=4, db_connections=2)]))
>>> pools(config, "admin")
[Pool(database='app', user='bot', clients=8, pool_size=None, reserve=None, mode=None, cap=None)]
"""

from __future__ import annotations

from typing import Any

from perfcfg.tune.context import Pool


def default_user(config: Any, fallback: str) -> str:
    """The user a database's pool logs in as when neither it nor the program names one: the
    first declared user, else ``fallback`` (the database's own superuser)."""
    return config.users[0].name if config.users else fallback


def user_of(config: Any, db: Any, program: Any, fallback: str) -> str:
    return program.user or db.user or default_user(config, fallback)


def pools(config: Any, fallback: str) -> list[Pool]:
    """One pool per (database, user) the workers use, with the clients they open; a database's
    own ``clients`` count for its pool with its declared user (``fallback``: the user when
    none is declared anywhere)."""
    if not config.databases:
        return []
    default_db = config.databases[0]
    by_name = {db.name: db for db in config.databases}
    counts: dict[tuple[str, str], int] = {}
    for prog in config.workload.programs:
        db = by_name.get(prog.database or default_db.name, default_db)
        key = (db.name, user_of(config, db, prog, fallback))
        # the pools are sized for the program's ceiling: scaling within it keeps them
        sized = max(prog.processes, getattr(prog, "max_processes", None) or 0)
        counts[key] = counts.get(key, 0) + sized * prog.db_connections
    pooled = {name for name, _ in counts}      # a set: a pass per database was O(N²)
    for db in config.databases:
        if db.clients or db.name not in pooled:
            user = db.user or default_user(config, fallback)
            counts[(db.name, user)] = counts.get((db.name, user), 0) + db.clients
    return [Pool(db, user, n) for (db, user), n in sorted(counts.items())] + \
        capped(config, set(counts))


def capped(config: Any, pooled: set[tuple[str, str]]) -> list[Pool]:
    """A pool per (database, user) the pooler lets in and no program uses: a user with a
    password (in the auth file) on its declared databases and the one it owns. Each is capped
    at the user's ``connections`` (max_user_connections), so that a person or a BI tool cannot
    take a program's server slots inside a database."""
    names = {db.name for db in config.databases}
    out: dict[tuple[str, str], int] = {}
    for user in config.users:
        if user.password is None:
            continue
        owned = [db.name for db in config.databases if db.user == user.name]
        for name in [*user.databases, *owned]:
            if name in names and (name, user.name) not in pooled:
                out[(name, user.name)] = user.connections
    return [Pool(db, user, n, cap=n) for (db, user), n in sorted(out.items())]


def sized(found: list[Pool], config: Any) -> list[Pool]:
    """``found`` with the pool size, reserve and mode each database declares."""
    by_name = {d.name: d for d in config.databases}

    def declared(value: Any) -> int | None:
        return value if isinstance(value, int) else None

    return [Pool(p.database, p.user, p.clients,
                 pool_size=declared(by_name[p.database].pool_size),
                 reserve=declared(by_name[p.database].reserve_pool),
                 mode=by_name[p.database].pool_mode, cap=p.cap) for p in found]
