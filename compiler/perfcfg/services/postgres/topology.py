"""PostgreSQL's part of the topology: who may log in from where (pg_hba.conf), the login roles
with their SCRAM secrets (roles.sql, and the pooler's auth file), and its listen address.

The pooler connects from the address it connects to (same host), so that is the source address
of its lines; every pool and every user's declared database gets a line, then each direct
client, most specific first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.core.plan import Setting
from perfcfg.core.spans import Origin
from perfcfg.services import net, workload
from perfcfg.services.postgres.secrets import scram_sha256
from perfcfg.services.rules import is_local_address
from perfcfg.services.topology import Topology

# The cluster's own superuser: the role a pool logs in as when no user is declared anywhere,
# reached locally over the socket with peer.
SUPERUSER = "postgres"
ENDPOINT = net.Endpoint("postgres.port", 5432, "postgres.listen_addresses")


@dataclass(frozen=True)
class HbaRule:
    type: str          # local | host | hostssl
    database: str
    user: str
    address: str       # "" for local
    method: str
    comment: str
    # database and user are names, never pg_hba keywords (a role called "all" is quoted)
    literal: bool = False
    # the user alone is a name (a direct client's database may be the keyword all)
    literal_user: bool = False


@dataclass
class Part:
    hba: list[HbaRule] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)   # (name, SCRAM secret)
    # (role, database or "" for every one) → what roles.sql sets with ALTER ROLE … SET
    role_settings: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


# What ALTER ROLE … SET gives a read-only user: every transaction starts read-only.
READONLY_SETTINGS = {"default_transaction_read_only": "on"}


def role_settings(config: Any) -> dict[tuple[str, str], dict[str, str]]:
    """What ``pg_db_role_setting`` should hold, and nothing else: the read-only users'
    default."""
    return {(u.name, ""): dict(READONLY_SETTINGS) for u in config.users if u.readonly}


def derive(config: Any, settings: dict[str, Setting]) -> None:
    if all(is_local_address(c.address) for c in config.clients) and \
            "postgres.listen_addresses" not in settings:
        # the pooler and every direct client are on this host: nothing needs a TCP port
        # beyond loopback.
        settings["postgres.listen_addresses"] = Setting(
            "postgres.listen_addresses", "localhost", Origin("derived"),
            "every client is on this host")


def pools(config: Any) -> list[Any]:
    return workload.pools(config, SUPERUSER)


def topology(t: Topology) -> Part:
    return Part(_hba(t.config, t.settings), _users(t), role_settings(t.config))


def _users(t: Topology) -> list[tuple[str, str]]:
    """Auth-file entries. ``t.hashed`` False (validate: nothing is written) skips the SCRAM
    key derivation, 4096 PBKDF2 rounds per user, which the pre-commit path does not need."""
    users = []
    for user in t.config.users:
        if user.password is None:
            continue
        path = f"users.{user.name}.password"
        password = t.resolve(path, user.password)
        if password is None:
            continue
        if not password.isascii():
            # PostgreSQL SASLprep-normalises non-ASCII passwords before hashing; perfcfg does
            # not, so such a secret would never match what the client sends.
            t.diags.append(Diagnostic("PCF121", "error", f"{path}: the password is not ASCII",
                                      t.config.spans.get(path), path,
                                      "use a password of printable ASCII characters"))
            continue
        users.append((user.name, scram_sha256(password, user.name) if t.hashed else ""))
    return users


def _hba(config: Any, settings: Mapping[str, Setting]) -> list[HbaRule]:
    rules = [HbaRule("local", "all", SUPERUSER, "", "peer",
                     "the postgres OS user administers the cluster over the Unix socket")]
    # pgbouncer connects from the address it connects to (same host), so that is the source
    # address its lines must allow.
    bouncer_from = net.host_address(net.connect_host(settings, ENDPOINT))
    found = pools(config)
    by_name = {d.name: d for d in config.databases}
    readonly = {u.name for u in config.users if u.readonly}
    for pool in found:
        db = by_name[pool.database]
        comment = f"pgbouncer pool {pool.database}/{pool.user}"
        if pool.cap is not None:
            who = f"owner of database {db.name}" if db.user == pool.user else \
                f"user {pool.user}"
            comment = f"{who} through pgbouncer" + \
                (" (read-only)" if pool.user in readonly else "") + \
                f", at most {pool.cap} server connection(s)"
        rules.append(HbaRule("host", db.dbname or db.name, pool.user, bouncer_from,
                             "scram-sha-256", comment, literal=True))
    pooled = {(p.database, p.user) for p in found}
    with_password = {u.name for u in config.users if u.password is not None}
    for db in config.databases:
        # an owner with a password is in userlist.txt: pgbouncer lets it in, so PostgreSQL must
        if db.user in with_password and (db.name, db.user) not in pooled:
            pooled.add((db.name, db.user))
            rules.append(HbaRule("host", db.dbname or db.name, db.user, bouncer_from,
                                 "scram-sha-256", f"owner of database {db.name} through "
                                 "pgbouncer", literal=True))
    for user in config.users:
        for name in user.databases:
            db = by_name.get(name)
            if db is not None and (name, user.name) not in pooled:
                pooled.add((name, user.name))
                rules.append(HbaRule("host", db.dbname or db.name, user.name, bouncer_from,
                                     "scram-sha-256", f"user {user.name} through pgbouncer"
                                     + (" (read-only)" if user.readonly else ""), literal=True))
    ssl = config.services.get("postgres", {}).get("ssl") in (True, "on")
    for client in config.clients:
        database = "replication" if client.replication else client.database
        # With ssl on, a client from another host must use it (hostssl), not just may.
        kind = "local" if client.address == "local" else \
            "hostssl" if ssl and not is_local_address(client.address) else "host"
        address = "" if kind == "local" else client.address
        # A client's user is always a role: a role named like a keyword (all) is quoted, or
        # the line would let every role in. Its database is a name too, but for the keywords
        # perfcfg means (all, the default, and replication for a replication client).
        rules.append(HbaRule(kind, database, client.user, address, client.method,
                             f"client {client.name}",
                             literal=not (client.replication or client.database == "all"),
                             literal_user=True))

    def specific(r: HbaRule) -> tuple[bool, bool, bool]:
        return (r.type != "local", r.database == "all" and not r.literal,
                r.user == "all" and not (r.literal or r.literal_user))

    return sorted(rules, key=specific)
