"""``patroni.yml`` for each member of a PostgreSQL cluster, and the DCS patch for a change.

A cluster's parameters live in two places, and Patroni treats them differently: those in
``bootstrap.dcs`` are written to the DCS once, when the cluster is first bootstrapped, and
from then on the DCS is the only source (a later change goes through ``PATCH /config``, the
payload ``dcs_patch`` makes); those in a member's local ``postgresql.parameters`` apply to that
member only. Some parameters Patroni takes **only** from the DCS and silently ignores in the
local file (``DCS_ONLY``), and some must agree on every member for replicas to run
(``KEEP_IN_DCS``): ``misplaced`` finds either in a member's local parameters.

Every member's file carries the same ``bootstrap`` section (whichever member bootstraps, the
cluster starts the same), and a ``pg_hba`` that lets every member replicate from, and rewind
against, every other one (any of them may lead), plus the local replication connection Patroni
itself opens to read a member's timeline before a rewind.

>>> accounts = [Account(n, "pw") for n in ("postgres", "replicator", "rewinder")]
>>> c = Cluster("main", (Member("db1", "10.0.0.11"), Member("db2", "10.0.0.12")),
...             ("10.0.0.21:2379",), "10.0.0.0/24", *accounts,
...             parameters={"max_connections": "200"})
>>> files = render(c)
>>> sorted(files), files["db1"].count("max_connections: '200'")
(['db1', 'db2'], 1)
>>> misplaced(Member("db3", "10.0.0.13", parameters={"wal_level": "logical"}))
[('db3', 'wal_level', 'dcs-only')]
>>> dcs_patch({"work_mem": "4MB", "max_connections": "100"}, {"max_connections": "150"})
{'postgresql': {'parameters': {'max_connections': '150', 'work_mem': None}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# Taken from the DCS only; a local value is ignored without a word (Patroni's documentation,
# "Dynamic configuration"; seen in docs/multihost-lab.md's lab).
DCS_ONLY = frozenset({"max_connections", "max_locks_per_transaction", "max_worker_processes",
                      "max_prepared_transactions", "wal_level", "track_commit_timestamp"})
# Read locally too, but a replica cannot run (or cannot take over) unless they agree, so they
# belong in the DCS like the others.
KEEP_IN_DCS = frozenset({"max_wal_senders", "max_replication_slots", "wal_keep_size",
                         "wal_log_hints"})
# Patroni sets these itself from the member's own keys (listen, connect_address, scope).
PATRONI_OWNED = frozenset({"listen_addresses", "port", "cluster_name", "hot_standby"})
REST_PORT = 8008
PG_PORT = 5432


@dataclass(frozen=True)
class Account:
    """A role Patroni uses: its name and password, as the file carries it (Patroni reads it
    from there; the file is written mode 0600)."""

    username: str
    password: str


@dataclass(frozen=True)
class Member:
    """One database member: its name (Patroni's ``name``), address, local parameters, tags."""

    name: str
    address: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Cluster:
    """A Patroni cluster: its members, DCS endpoints, the network clients come from, and the
    cluster-wide parameters and timing that go into ``bootstrap.dcs``."""

    scope: str
    members: tuple[Member, ...]
    dcs: tuple[str, ...]
    network: str
    superuser: Account
    replication: Account
    rewind: Account
    parameters: Mapping[str, str] = field(default_factory=dict)
    ttl: int = 30
    loop_wait: int = 10
    retry_timeout: int = 10
    maximum_lag_on_failover: int = 1048576
    synchronous_mode: bool = False
    data_dir: str = "/var/lib/postgresql/15/main"
    bin_dir: str = "/usr/lib/postgresql/15/bin"


# A postgresql.conf's placement lines: Patroni keeps the data directory and writes pg_hba
# itself, so a member's parameters leave them out.
PLACEMENT = frozenset({"data_directory", "hba_file", "ident_file", "external_pid_file",
                       "config_file"})


def split(members: Mapping[str, Mapping[str, str]]
          ) -> tuple[dict[str, str], dict[str, dict[str, str]], list[tuple[str, dict[str, str]]]]:
    """One member's postgresql.conf settings each (``name → text``) → (the cluster-wide ones
    for ``bootstrap.dcs``, each member's own, conflicts).

    A setting every member has with the same value is cluster-wide (one source); one whose
    value differs between members (sized to each host) is local to each; a DCS-only or
    keep-in-DCS setting whose values differ is a conflict (members must agree on it). What
    Patroni sets itself and the file placement are left out."""
    names = sorted({n for conf in members.values() for n in conf} - PATRONI_OWNED - PLACEMENT)
    dcs: dict[str, str] = {}
    local: dict[str, dict[str, str]] = {m: {} for m in members}
    conflicts: list[tuple[str, dict[str, str]]] = []
    for name in names:
        values = {m: conf[name] for m, conf in members.items() if name in conf}
        same = len(values) == len(members) and len(set(values.values())) == 1
        if same:
            dcs[name] = next(iter(values.values()))
        elif name in DCS_ONLY or name in KEEP_IN_DCS:
            conflicts.append((name, values))
        else:
            for m, value in values.items():
                local[m][name] = value
    return dcs, local, conflicts


def misplaced(member: Member) -> list[tuple[str, str, str]]:
    """``(member, parameter, rule)`` for each local parameter that belongs in the DCS: rule
    ``dcs-only`` (Patroni ignores the local value) or ``keep-in-dcs`` (members must agree)."""
    out = []
    for name in sorted(member.parameters):
        if name in DCS_ONLY:
            out.append((member.name, name, "dcs-only"))
        elif name in KEEP_IN_DCS:
            out.append((member.name, name, "keep-in-dcs"))
    return out


def timing_problems(cluster: Cluster) -> list[str]:
    """Patroni's own rule for its timing: ``ttl ≥ loop_wait + 2 × retry_timeout`` (a leader
    must be able to retry the DCS twice within one loop before its key expires)."""
    least = cluster.loop_wait + 2 * cluster.retry_timeout
    if cluster.ttl < least:
        return [f"ttl {cluster.ttl} is less than loop_wait + 2 × retry_timeout = {least}"]
    return []


def hba(cluster: Cluster) -> list[str]:
    """pg_hba lines every member carries: replication and rewind from every member, the local
    replication connection Patroni opens itself, and clients from the cluster's network."""
    repl, rewind = cluster.replication.username, cluster.rewind.username
    lines = ["local all all peer",
             f"host replication {repl} 127.0.0.1/32 scram-sha-256"]
    for m in cluster.members:
        lines.append(f"host replication {repl} {m.address}/32 scram-sha-256")
    for m in cluster.members:
        lines.append(f"host postgres {rewind} {m.address}/32 scram-sha-256")
    lines += ["host all all 127.0.0.1/32 scram-sha-256",
              f"host all all {cluster.network} scram-sha-256"]
    return lines


def bootstrap(cluster: Cluster) -> dict[str, Any]:
    """The ``bootstrap`` section, identical for every member."""
    dcs: dict[str, Any] = {
        "ttl": cluster.ttl, "loop_wait": cluster.loop_wait,
        "retry_timeout": cluster.retry_timeout,
        "maximum_lag_on_failover": cluster.maximum_lag_on_failover,
        "synchronous_mode": cluster.synchronous_mode,
        "postgresql": {"use_pg_rewind": True, "use_slots": True,
                       "parameters": {k: cluster.parameters[k]
                                      for k in sorted(cluster.parameters)}},
    }
    return {"dcs": dcs, "initdb": [{"encoding": "UTF8"}, "data-checksums"]}


def member_file(cluster: Cluster, member: Member) -> dict[str, Any]:
    """One member's whole configuration as data (``render`` writes it as YAML)."""
    conf: dict[str, Any] = {
        "scope": cluster.scope,
        "name": member.name,
        "restapi": {"listen": f"{member.address}:{REST_PORT}",
                    "connect_address": f"{member.address}:{REST_PORT}"},
        "etcd3": {"hosts": ",".join(cluster.dcs)},
        "bootstrap": bootstrap(cluster),
        "postgresql": {
            "listen": f"{member.address},127.0.0.1:{PG_PORT}",
            "connect_address": f"{member.address}:{PG_PORT}",
            "data_dir": cluster.data_dir,
            "bin_dir": cluster.bin_dir,
            "authentication": {
                "superuser": _account(cluster.superuser),
                "replication": _account(cluster.replication),
                "rewind": _account(cluster.rewind),
            },
            "parameters": {k: member.parameters[k] for k in sorted(member.parameters)},
            "pg_hba": hba(cluster),
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False,
                 "nosync": False, **member.tags},
    }
    return conf


def render(cluster: Cluster) -> dict[str, str]:
    """Member name → its ``patroni.yml`` text (deterministic: same cluster, same bytes)."""
    return {m.name: _dump(member_file(cluster, m)) for m in cluster.members}


def dcs_patch(old: Mapping[str, str], new: Mapping[str, str]
              ) -> dict[str, dict[str, dict[str, str | None]]]:
    """The ``PATCH /config`` body that takes the DCS's parameters from ``old`` to ``new``:
    changed and added ones with their value, removed ones as null (Patroni's way to unset)."""
    changed: dict[str, str | None] = {k: new[k] for k in sorted(new) if old.get(k) != new[k]}
    changed.update({k: None for k in sorted(old) if k not in new})
    return {"postgresql": {"parameters": dict(sorted(changed.items()))}}


def _account(account: Account) -> dict[str, str]:
    return {"username": account.username, "password": account.password}


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
