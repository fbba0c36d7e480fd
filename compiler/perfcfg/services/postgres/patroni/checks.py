"""The budget a Patroni cluster must keep across hosts, each finding naming both of its ends.

These are the checks one host's plan cannot make (issue 23, item 4): the pools of every app
host against the one ``max_connections`` every member has, every member's worst case against
its own host (any replica may be promoted), replication capacity for every other member, and
a cap on what a dead slot may keep. A finding names the two things that disagree — the
pgbouncer pools of one app host and the cluster's ``max_connections``, a member's host and the
leader's — so the fix can be made at either end.

>>> pools = [Pool("app1", "app", "app", 40, 5), Pool("app2", "app", "app", 40, 5)]
>>> [f.message for f in connections(80, pools, direct=0, own=3, reserved=3)]
['the pgbouncer pools of app1, app2 (90) + direct clients (0) + Patroni and exporters (3) + reserved (3) = 96 exceed max_connections 80']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# pg_basebackup -X stream, how Patroni clones a replica, holds two walsenders while it runs.
CLONE_SENDERS = 2
# Slots a replica in the middle of a rebuild (or a logical consumer) may need beyond one each.
SPARE_SLOTS = 1


@dataclass(frozen=True)
class Finding:
    """A cross-host problem: what is wrong, and the two ends (setting or host) it is between."""

    message: str
    ends: tuple[str, str]
    hint: str


@dataclass(frozen=True)
class Pool:
    """One pgbouncer pool on an app host: at most ``size + reserve`` server connections."""

    host: str
    database: str
    user: str
    size: int
    reserve: int

    @property
    def most(self) -> int:
        return self.size + self.reserve


def connections(max_connections: int, pools: Sequence[Pool], direct: int, own: int,
                reserved: int) -> list[Finding]:
    """Σ over app hosts × databases × users of (pool_size + reserve) + direct clients +
    Patroni's and exporters' own connections + reserved ≤ ``max_connections``."""
    pooled = sum(p.most for p in pools)
    total = pooled + direct + own + reserved
    if total <= max_connections:
        return []
    hosts = ", ".join(sorted({p.host for p in pools}))
    biggest = max(sorted({p.host for p in pools}),
                  key=lambda h: sum(p.most for p in pools if p.host == h), default="")
    return [Finding(
        f"the pgbouncer pools of {hosts} ({pooled}) + direct clients ({direct}) + Patroni and "
        f"exporters ({own}) + reserved ({reserved}) = {total} exceed max_connections "
        f"{max_connections}",
        (f"pgbouncer pools on {biggest}", "postgres.max_connections (bootstrap.dcs)"),
        f"raise max_connections to {total} in the cluster's DCS parameters (a restart, "
        "replicas first), or lower pool_size/reserve_pool_size on the app hosts")]


def members_fit(needs: Mapping[str, int], memory: Mapping[str, int],
                nofailover: frozenset[str] = frozenset()) -> list[Finding]:
    """Each member's worst-case memory (as the leader: any replica may be promoted) against
    its own host's; a member that cannot hold it must be tagged ``nofailover``."""
    out = []
    for name in sorted(needs):
        if name in nofailover or needs[name] <= memory[name]:
            continue
        largest = max(sorted(memory), key=lambda n: memory[n])
        out.append(Finding(
            f"member {name} needs {needs[name]} bytes as a leader but its host has "
            f"{memory[name]}",
            (f"host {name}", f"host {largest}"),
            f"give {name} a host like {largest}, lower the cluster's memory settings, or tag "
            "it nofailover so that it is never promoted"))
    return out


def replication_capacity(members: int, parameters: Mapping[str, int],
                         use_slots: bool = True) -> list[Finding]:
    """``max_wal_senders`` covers members − 1 streaming plus a clone; with slots,
    ``max_replication_slots`` covers members − 1 plus spare and ``max_slot_wal_keep_size`` is
    set, so that a dead member's slot cannot fill the WAL disk."""
    out = []
    senders = members - 1 + CLONE_SENDERS
    if parameters.get("max_wal_senders", 10) < senders:
        out.append(Finding(
            f"max_wal_senders {parameters.get('max_wal_senders', 10)} is less than the "
            f"{members - 1} replicas + {CLONE_SENDERS} for a clone = {senders}",
            ("postgres.max_wal_senders", f"the cluster's {members} members"),
            f"set max_wal_senders to {senders} or more in the DCS parameters"))
    if use_slots:
        slots = members - 1 + SPARE_SLOTS
        if parameters.get("max_replication_slots", 10) < slots:
            out.append(Finding(
                f"max_replication_slots {parameters.get('max_replication_slots', 10)} is less "
                f"than {members - 1} replicas + {SPARE_SLOTS} spare = {slots}",
                ("postgres.max_replication_slots", f"the cluster's {members} members"),
                f"set max_replication_slots to {slots} or more in the DCS parameters"))
        if parameters.get("max_slot_wal_keep_size", -1) < 0:
            out.append(Finding(
                "max_slot_wal_keep_size is unlimited while every member has a slot: a member "
                "that stays down keeps WAL on the leader until its disk is full",
                ("postgres.max_slot_wal_keep_size", "use_slots (bootstrap.dcs)"),
                "set max_slot_wal_keep_size to a share of the WAL disk"))
    return out
