"""A replicated cache group watched by Sentinels: each data node's replication lines, each
``sentinel.conf``, the rules the group must keep, and the lines the engines own after boot.

Every data node carries ``requirepass`` and ``masterauth`` with the same secret (any of them
may become the master and must then admit its replicas), and only the initial replicas carry
``replicaof``. Each Sentinel monitors the group's initial master with the same quorum, auth,
``down-after-milliseconds``, ``failover-timeout`` and ``parallel-syncs``. After the first
failover Sentinel rewrites ``replicaof`` in the data nodes' files and its own ``sentinel
monitor`` and ``known-*`` lines (seen in tests/test_lab_redis.py): those lines are
runtime-owned (``runtime_owned``), so a deploy does not reset the topology and drift does not
report them.

>>> g = Group("cache", (("c1", "10.0.1.11"), ("c2", "10.0.1.12"), ("c3", "10.0.1.13")),
...           (("c1", "10.0.1.11"), ("c2", "10.0.1.12"), ("c3", "10.0.1.13")), "pw")
>>> g.quorum, data_lines(g, "c2")[-1]
(2, 'replicaof 10.0.1.11 6379')
>>> problems(Group("q", g.nodes, g.sentinels[:2], "pw"))
['2 Sentinels: at least 3 are needed, an odd number, on 3 hosts or more']
>>> runtime_owned("sentinel known-replica cache 10.0.1.12 6379"), runtime_owned("port 26379")
(True, False)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

DATA_PORT, SENTINEL_PORT = 6379, 26379
# What Sentinel and the data nodes rewrite in their own files once they run: a directive's
# first word, or its first two for Sentinel's.
RUNTIME_OWNED = frozenset({"replicaof", "slaveof", "sentinel monitor", "sentinel known-replica",
                           "sentinel known-slave", "sentinel known-sentinel", "sentinel myid",
                           "sentinel current-epoch", "sentinel config-epoch",
                           "sentinel leader-epoch"})


@dataclass(frozen=True)
class Group:
    """A master (the first node) and its replicas, and the Sentinels watching them; nodes and
    Sentinels are ``(host, address)``."""

    name: str
    nodes: tuple[tuple[str, str], ...]
    sentinels: tuple[tuple[str, str], ...]
    password: str
    down_after_ms: int = 5000
    failover_timeout_ms: int = 60000
    parallel_syncs: int = 1

    @property
    def quorum(self) -> int:
        """A majority of the Sentinels: the number that must agree the master is down."""
        return len(self.sentinels) // 2 + 1

    @property
    def master(self) -> tuple[str, str]:
        return self.nodes[0]


def data_lines(group: Group, host: str) -> list[str]:
    """The replication lines of the data node on ``host``."""
    lines = [f"requirepass {group.password}", f"masterauth {group.password}"]
    if host != group.master[0]:
        lines.append(f"replicaof {group.master[1]} {DATA_PORT}")
    return lines


def sentinel_conf(group: Group, host: str) -> str:
    """``sentinel.conf`` of the Sentinel on ``host``."""
    address = dict(group.sentinels)[host]
    name = group.name
    return "\n".join([
        f"bind {address} 127.0.0.1",
        f"port {SENTINEL_PORT}",
        "protected-mode no",
        f"sentinel monitor {name} {group.master[1]} {DATA_PORT} {group.quorum}",
        f"sentinel auth-pass {name} {group.password}",
        f"sentinel down-after-milliseconds {name} {group.down_after_ms}",
        f"sentinel failover-timeout {name} {group.failover_timeout_ms}",
        f"sentinel parallel-syncs {name} {group.parallel_syncs}",
    ]) + "\n"


def problems(group: Group) -> list[str]:
    """What makes the group unable to fail over safely: fewer than 3 Sentinels, an even
    number, fewer than 3 hosts, or one host whose loss leaves fewer than a majority."""
    count = len(group.sentinels)
    per_host = Counter(host for host, _ in group.sentinels)
    if count < 3 or count % 2 == 0 or len(per_host) < 3:
        return [f"{count} Sentinels: at least 3 are needed, an odd number, on 3 hosts or more"]
    worst = max(per_host.values())
    if count - worst < group.quorum:
        host = per_host.most_common(1)[0][0]
        return [f"losing {host} ({worst} Sentinels) leaves {count - worst}, fewer than the "
                f"majority of {group.quorum} a failover needs"]
    return []


def runtime_owned(line: str) -> bool:
    """True for a line the engines rewrite after boot (left out of ``check`` and drift)."""
    words = line.lower().split()
    return bool(words) and (words[0] in RUNTIME_OWNED or " ".join(words[:2]) in RUNTIME_OWNED)


def master_host_needs(maxmemory: int, replicas: int, replica_buffer_hard: int, backlog: int,
                      fork_reserve: int) -> int:
    """Bytes a master's host must hold beyond the OS: its data, each replica's output buffer
    at its hard limit (a full sync to every replica at once), the backlog, and what a fork
    copies. Replicas ignore ``maxmemory`` for their own data, so each replica's host must hold
    the same ``maxmemory`` (any replica may be promoted)."""
    return maxmemory + replicas * replica_buffer_hard + backlog + fork_reserve

