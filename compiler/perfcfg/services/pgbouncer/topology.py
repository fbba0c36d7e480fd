"""pgbouncer's part of the topology: its ``[databases]`` entries (pointing at the backend's
address and port, with each database's declared or tuned pool size, reserve and cap), the
admin and stats users it derives from perfcfg's users, and the ``DATABASE_URL`` a worker
connects with."""

from __future__ import annotations

from typing import Any

from perfcfg.core.plan import Setting
from perfcfg.core.spans import Origin
from perfcfg.services import net, workload
from perfcfg.services.pgbouncer import backend
from perfcfg.services.topology import Topology

ENDPOINT = net.Endpoint("pgbouncer.listen_port", 6432, "pgbouncer.listen_addr")


def derive(config: Any, settings: dict[str, Setting]) -> None:
    def put(path: str, value: Any, reason: str) -> None:
        if path not in settings:
            settings[path] = Setting(path, value, Origin("derived"), reason)

    admins = [u.name for u in config.users if u.admin]
    stats = [u.name for u in config.users if u.stats or u.admin]
    if admins:
        put("pgbouncer.admin_users", ",".join(admins), "users marked admin: true")
    if stats:
        put("pgbouncer.stats_users", ",".join(stats), "users marked stats: true or admin: true")


def topology(t: Topology) -> list[dict[str, Any]]:
    """One ``[databases]`` entry per declared database."""
    out = []
    for db in t.config.databases:
        entry: dict[str, Any] = {
            "name": db.name,
            "host": net.connect_host(t.settings, backend.ENDPOINT),
            "port": net.port(t.settings, backend.ENDPOINT),
            "dbname": db.dbname or db.name,
        }
        for key, declared in (("pool_size", db.pool_size), ("reserve_pool", db.reserve_pool),
                              ("max_db_connections", None)):
            tuned = t.settings.get(f"pgbouncer.databases.{db.name}.{key}")
            if isinstance(declared, int):
                entry[key] = declared
            elif tuned is not None:
                entry[key] = tuned.value
        if db.pool_mode:
            entry["pool_mode"] = db.pool_mode
        out.append(entry)
    return out


def client_env(t: Topology, program: Any) -> dict[str, str]:
    """A worker reaches its database through pgbouncer; the URL names the user, not its
    password (the worker reads that from its own variable)."""
    if not t.config.databases:
        return {}
    db = t.database_of(program)
    user = workload.user_of(t.config, db, program, backend.ROLE)
    host = net.url_host(net.connect_host(t.settings, ENDPOINT))
    return {"DATABASE_URL": f"{backend.URL_SCHEME}://{net.url_part(user)}@{host}:"
                            f"{net.port(t.settings, ENDPOINT)}/{net.url_part(db.name)}"}
