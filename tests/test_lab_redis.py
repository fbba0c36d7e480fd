"""Redis/Valkey across hosts in the multi-host lab (``harness/netns.py``), from hand-written
minimal configs: a master with two replicas watched by three Sentinels, and a 6-node Cluster.

Timings seen on the CI machine type (2 cores, other test sessions running):
- Sentinel group (3 hosts, a data node and a Sentinel on each), down-after 3000 ms and
  failover-timeout 10000 ms: a cut master was replaced (a survivor answers ``role:master``
  and both surviving Sentinels name it) 4.4-4.6 s after the cut, Redis 7.0 and Valkey 8.1
  alike (four runs); the old master came back as a replica of the new one. Each case ~21 s
  with the lab made and removed.
- Cluster: 6 nodes on 6 hosts, ``--cluster create --cluster-replicas 1`` → ``cluster_state:ok``
  on every node, 2.9 s for the whole test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from conftest import require_daemon

from perfcfg.harness import netns
from perfcfg.harness.errors import DaemonError
from perfcfg.services.redis.lab import RedisNode, cluster_create
from perfcfg.services.sentinel.daemon import Sentinel

pytestmark = [pytest.mark.daemons, pytest.mark.slow]

PASSWORD = "lab-cache-secret"
GROUP = "cache"
DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS = 3000, 10000
HOSTS = ("c1", "c2", "c3")


def require_lab(daemon: str, version: str) -> None:
    try:
        netns.require_root()
    except netns.LabError as err:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(str(err))
    require_daemon(daemon, version)


def data_conf(lab: netns.Lab, host: str, master: str | None) -> str:
    """A data node: the same password for clients and for its own master; ``replicaof``
    on the initial replicas only."""
    lines = [f"bind {lab.hosts[host].address} 127.0.0.1", "port 6379", "protected-mode no",
             f"requirepass {PASSWORD}", f"masterauth {PASSWORD}", "save \"\"",
             "appendonly no"]
    if master is not None:
        lines.append(f"replicaof {lab.hosts[master].address} 6379")
    return "\n".join(lines) + "\n"


def sentinel_conf(lab: netns.Lab, host: str, master: str) -> str:
    return "\n".join([
        f"bind {lab.hosts[host].address} 127.0.0.1", "port 26379", "protected-mode no",
        f"sentinel monitor {GROUP} {lab.hosts[master].address} 6379 2",
        f"sentinel auth-pass {GROUP} {PASSWORD}",
        f"sentinel down-after-milliseconds {GROUP} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {GROUP} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {GROUP} 1",
    ]) + "\n"


class Group:
    """A master and two replicas, a Sentinel beside each."""

    def __init__(self, lab: netns.Lab, daemon: str, version: str) -> None:
        self.lab = lab
        master = HOSTS[0]
        self.nodes = {h: RedisNode(lab, h, data_conf(lab, h, None if h == master else master),
                                   PASSWORD, daemon, version).start() for h in HOSTS}
        self.sentinels = {h: Sentinel(lab, h, sentinel_conf(lab, h, master), None, daemon,
                                      version).start() for h in HOSTS}

    def replicas_linked(self, master: str) -> bool | None:
        info = self.nodes[master].info("replication")
        linked = [k for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                  and v.get("state") == "online"]
        return True if len(linked) == len(HOSTS) - 1 else None


@pytest.fixture(params=[("redis", "7.0"), ("valkey", "8.1")], ids=["redis-7.0", "valkey-8.1"])
def group(request) -> Iterator[Group]:
    daemon, version = request.param
    require_lab(daemon, version)
    with netns.Lab(list(HOSTS)) as lab:
        yield Group(lab, daemon, version)
    assert lab.leftovers() == []


def test_sentinel_fails_a_cut_master_over_within_down_after_plus_failover_timeout(group):
    old = HOSTS[0]
    netns.wait_for("both replicas online", lambda: group.replicas_linked(old), 30)
    netns.wait_for("ckquorum OK on every Sentinel", lambda: True if all(
        s.ckquorum(GROUP).startswith("OK 3 usable") for s in group.sentinels.values())
        else None, 30)
    with group.nodes[old].client() as c:
        c.set("before-failover", "kept")
    group.lab.cut(old)
    started = time.monotonic()
    survivors = [h for h in HOSTS if h != old]

    def promoted() -> str | None:
        named = {group.sentinels[h].master_addr(GROUP) for h in survivors}
        for h in survivors:
            if named == {(group.lab.hosts[h].address, 6379)} and \
                    group.nodes[h].role() == "master":
                return h
        return None
    budget = (DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS) / 1000
    new = netns.wait_for("a survivor promoted and named by the surviving Sentinels", promoted,
                         budget)
    took = time.monotonic() - started
    assert took <= budget, f"failover took {took:.1f}s"
    with group.nodes[new].client() as c:
        assert c.get("before-failover") == "kept"
        c.set("after-failover", "1")
    group.lab.restore(old)
    # the returning master is reconfigured as a replica of the new one by the Sentinels
    netns.wait_for("the old master replicates the new one", lambda: True if
                   group.nodes[old].role() == "slave" and group.nodes[old].info(
                       "replication").get("master_host") == group.lab.hosts[new].address
                   else None, 30)
    # Sentinel rewrote the replicas' replicaof and its own monitor line: runtime-owned lines
    assert f"replicaof {group.lab.hosts[new].address} 6379" in group.nodes[old].saved_conf()
    assert f"sentinel monitor {GROUP} {group.lab.hosts[new].address} 6379 2" in \
        group.sentinels[new].saved_conf()


@pytest.mark.parametrize(("daemon", "version"), [("redis", "7.0")])
def test_six_cluster_nodes_on_six_hosts_form_one_cluster(daemon, version):
    require_lab(daemon, version)
    hosts = [f"k{i}" for i in range(1, 7)]
    with netns.Lab(hosts) as lab:
        conf = ("port 6379\nprotected-mode no\ncluster-enabled yes\n"
                "cluster-config-file nodes.conf\ncluster-node-timeout 5000\n"
                f"requirepass {PASSWORD}\nmasterauth {PASSWORD}\nsave \"\"\n")
        nodes = [RedisNode(lab, h, f"bind {lab.hosts[h].address} 127.0.0.1\n" + conf,
                           PASSWORD, daemon, version).launch() for h in hosts]
        for node in nodes:
            node.wait_ready()
        cluster_create(nodes, replicas=1)
        state = netns.wait_for("cluster_state:ok on every node", lambda: True if all(
            n.cluster_info().get("cluster_state") == "ok" for n in nodes) else None, 30)
        assert state
        info = nodes[0].cluster_info()
        assert info["cluster_known_nodes"] == "6" and info["cluster_size"] == "3"
        roles = sorted(str(n.role()) for n in nodes)
        assert roles == ["master"] * 3 + ["slave"] * 3
        # nodes.conf is the node's own (runtime-owned): written in its dir, not in the text
        assert os.path.exists(f"{nodes[0].dir}/nodes.conf")


def test_a_cluster_create_that_fails_says_so_with_its_output():
    require_lab("redis", "7.0")
    with netns.Lab(["k1"]) as lab:
        node = RedisNode(lab, "k1", f"bind {lab.hosts['k1'].address}\nport 6379\n"
                         "protected-mode no\nsave \"\"\n").start()   # not cluster-enabled
        with pytest.raises(DaemonError, match="--cluster create failed"):
            cluster_create([node, node, node], replicas=0)
