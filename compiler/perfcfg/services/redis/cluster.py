"""A Redis/Valkey Cluster's node lines, its one-shot create action, and its shape rules.

Every node carries the same cluster lines and password (a replica authenticates to its master
with ``masterauth``); ``nodes.conf`` is the node's own from the first boot (runtime-owned, like
Sentinel's rewrites). Creating the cluster is an action run once, from any host that reaches
every node: ``redis-cli --cluster create`` with the password in ``REDISCLI_AUTH`` (never on a
command line, where ``ps`` shows it).

>>> node_lines("pw", 5000)[:2]
['cluster-enabled yes', 'cluster-config-file nodes.conf']
>>> create_argv("redis-cli", [("10.0.2.11", 6379), ("10.0.2.12", 6379)], 0)[:3]
['redis-cli', '--cluster', 'create']
>>> shape(6, 1), shape(4, 1)
([], ['4 nodes with 1 replica each make 2 masters: a Cluster needs at least 3'])
"""

from __future__ import annotations

from collections.abc import Sequence

CONFIG_FILE = "nodes.conf"
MIN_MASTERS = 3


def node_lines(password: str, node_timeout_ms: int = 15000) -> list[str]:
    return ["cluster-enabled yes", f"cluster-config-file {CONFIG_FILE}",
            f"cluster-node-timeout {node_timeout_ms}", f"requirepass {password}",
            f"masterauth {password}"]


def create_argv(cli: str, nodes: Sequence[tuple[str, int]], replicas: int) -> list[str]:
    """The create action's command (run with ``REDISCLI_AUTH`` set to the password)."""
    return [cli, "--cluster", "create", *(f"{a}:{p}" for a, p in nodes),
            "--cluster-replicas", str(replicas), "--cluster-yes"]


def shape(nodes: int, replicas: int) -> list[str]:
    """A Cluster needs at least 3 masters, and every master the same number of replicas."""
    per_master = replicas + 1
    if nodes % per_master:
        return [f"{nodes} nodes cannot be split into masters with {replicas} replica(s) each"]
    masters = nodes // per_master
    if masters < MIN_MASTERS:
        return [f"{nodes} nodes with {replicas} replica{'s' if replicas != 1 else ''} each "
                f"make {masters} masters: a Cluster needs at least {MIN_MASTERS}"]
    return []
