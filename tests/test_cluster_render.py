"""The cluster engines' files — patroni.yml per member, an etcd config per DCS host, HAProxy on
an app host — made from records, and the rules a cluster's parameters and timing must keep;
then the same files booted on the multi-host lab, where they form a cluster that a client
reaches through HAProxy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import require_daemon

from perfcfg.harness import netns
from perfcfg.harness.errors import DaemonError
from perfcfg.services.etcd import render as etcd_render
from perfcfg.services.etcd.daemon import EtcdMember, wait_healthy
from perfcfg.services.haproxy import render as haproxy_render
from perfcfg.services.haproxy.daemon import HAProxy
from perfcfg.services.postgres.patroni import changes, checks
from perfcfg.services.postgres.patroni import render as patroni
from perfcfg.services.postgres.patroni.daemon import PatroniMember, wait_replicated
from perfcfg.services.redis import cluster as redis_cluster
from perfcfg.services.redis.lab import RedisNode
from perfcfg.services.sentinel import render as sentinel_render
from perfcfg.services.sentinel.daemon import Sentinel

ACCOUNTS = (patroni.Account("postgres", "su-secret"), patroni.Account("replicator", "re-secret"),
            patroni.Account("rewinder", "rw-secret"))
MEMBERS = tuple(patroni.Member(f"db{i}", f"10.0.0.1{i}") for i in (1, 2, 3))


def cluster(**kwargs) -> patroni.Cluster:
    fields = {"members": MEMBERS, "parameters": {"max_connections": "200", "wal_level": "replica"},
              **kwargs}
    return patroni.Cluster("main", fields.pop("members"), ("10.0.0.21:2379", "10.0.0.22:2379"),
                           "10.0.0.0/24", *ACCOUNTS, **fields)


def top_level_block(text: str, key: str) -> str:
    """The lines of one top-level YAML key, as written."""
    lines = text.splitlines(keepends=True)
    start = lines.index(f"{key}:\n")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")
                and not lines[i].startswith("-")), len(lines))
    return "".join(lines[start:end])


def test_bootstrap_is_byte_identical_on_every_member_and_holds_the_cluster_parameters():
    files = patroni.render(cluster())
    blocks = {name: top_level_block(text, "bootstrap") for name, text in files.items()}
    assert len(set(blocks.values())) == 1
    dcs = yaml.safe_load(files["db1"])["bootstrap"]["dcs"]
    assert dcs["postgresql"]["parameters"] == {"max_connections": "200", "wal_level": "replica"}
    # and the members differ where they must: name, addresses
    assert len({yaml.safe_load(t)["restapi"]["listen"] for t in files.values()}) == 3


def test_rendering_is_deterministic_whatever_order_parameters_come_in():
    one = patroni.render(cluster(parameters={"a_b": "1", "max_connections": "200"}))
    two = patroni.render(cluster(parameters={"max_connections": "200", "a_b": "1"}))
    assert one == two


@pytest.mark.parametrize("name", sorted(patroni.DCS_ONLY | patroni.KEEP_IN_DCS))
def test_a_cluster_wide_parameter_in_a_members_local_parameters_is_named(name):
    member = patroni.Member("db2", "10.0.0.12", parameters={name: "1", "work_mem": "8MB"})
    rule = "dcs-only" if name in patroni.DCS_ONLY else "keep-in-dcs"
    assert patroni.misplaced(member) == [("db2", name, rule)]


@pytest.mark.parametrize("name", ["work_mem", "shared_buffers", "effective_cache_size",
                                  "maintenance_work_mem"])
def test_per_host_parameters_may_be_local(name):
    assert patroni.misplaced(patroni.Member("db1", "10.0.0.11", parameters={name: "1"})) == []


@pytest.mark.parametrize(("ttl", "loop_wait", "retry_timeout", "ok"), [
    (30, 10, 10, True), (12, 2, 4, True), (12, 2, 5, True), (12, 3, 5, False),
    (20, 10, 10, False)])
def test_ttl_must_cover_a_loop_and_two_retries(ttl, loop_wait, retry_timeout, ok):
    found = patroni.timing_problems(cluster(ttl=ttl, loop_wait=loop_wait,
                                            retry_timeout=retry_timeout))
    assert (found == []) is ok
    if not ok:
        assert f"ttl {ttl}" in found[0]


def test_pg_hba_lets_every_member_replicate_and_rewind_and_patroni_read_its_timeline():
    lines = patroni.hba(cluster())
    for m in MEMBERS:
        assert f"host replication replicator {m.address}/32 scram-sha-256" in lines
        assert f"host postgres rewinder {m.address}/32 scram-sha-256" in lines
    assert "host replication replicator 127.0.0.1/32 scram-sha-256" in lines


@pytest.mark.parametrize(("old", "new", "patch"), [
    ({"max_connections": "100"}, {"max_connections": "150"}, {"max_connections": "150"}),
    ({"a": "1"}, {"a": "1", "b": "2"}, {"b": "2"}),
    ({"a": "1", "b": "2"}, {"a": "1"}, {"b": None}),
    ({"a": "1"}, {"a": "1"}, {}),
], ids=["changed", "added", "removed", "unchanged"])
def test_the_dcs_patch_carries_only_what_changed(old, new, patch):
    assert patroni.dcs_patch(old, new) == {"postgresql": {"parameters": patch}}


def test_every_etcd_member_gets_the_same_initial_cluster():
    members = (("e1", "10.0.0.21"), ("e2", "10.0.0.22"), ("e3", "10.0.0.23"))
    files = etcd_render.render(members, "main")
    lines = {n: [x for x in t.splitlines() if x.startswith("initial-cluster:")]
             for n, t in files.items()}
    assert len({tuple(v) for v in lines.values()}) == 1
    assert all("enable-grpc-gateway: true" in t for t in files.values())


@pytest.mark.parametrize(("count", "ok"), [(1, True), (2, False), (3, True), (4, False),
                                           (5, True)])
def test_etcd_membership_must_be_odd(count, ok):
    assert (etcd_render.even_membership(count) == []) is ok


# -- the files on the lab ------------------------------------------------------------------------

DB, DCS, APP = ("db1", "db2", "db3"), ("dcs1", "dcs2", "dcs3"), "app1"
KNOWN_VALIDATOR_NOISE = "bootstrap.pg_hba  is not defined."   # Patroni 3.0.2 always says it


def _lab_ready() -> None:
    try:
        netns.require_root()
        for program in ("etcd", "patroni", "haproxy"):
            netns.program(program)
    except (netns.LabError, DaemonError) as err:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(str(err))
    require_daemon("postgresql")


@pytest.mark.daemons
@pytest.mark.slow
def test_the_rendered_files_form_a_cluster_a_client_reaches_through_haproxy():
    """Every file as rendered (the lab places only data_dir, bin_dir, pgpass and the socket
    dir): Patroni's own validator accepts each member's file in that member's host but for its
    known bootstrap.pg_hba complaint, the members elect one leader with two streaming replicas
    (the timing is the lab's short one), and a write to app1's HAProxy reaches the leader."""
    _lab_ready()
    with netns.Lab([*DB, *DCS, APP]) as lab:
        dcs = [(h, lab.hosts[h].address) for h in DCS]
        etcd_files = etcd_render.render(dcs, "perfcfg-lab")
        wait_healthy([EtcdMember(lab, h, etcd_files[h]).launch() for h in DCS])
        spec = patroni.Cluster(
            "lab", tuple(patroni.Member(h, lab.hosts[h].address) for h in DB),
            tuple(f"{a}:{etcd_render.CLIENT_PORT}" for _h, a in dcs), f"{lab.subnet}.0/24",
            *ACCOUNTS, parameters={"max_connections": "100", "wal_log_hints": "on"},
            ttl=12, loop_wait=2, retry_timeout=4)
        assert patroni.timing_problems(spec) == []
        files = patroni.render(spec)
        members = [PatroniMember(lab, h, files[h]) for h in DB]
        for member in members:
            member.prepare()
            checked = lab.exec(member.host.name, [netns.program("patroni"), "--validate-config",
                                                  f"{member.dir}/patroni.yml"], user="postgres")
            said = [x for x in (checked.stdout + checked.stderr).splitlines() if x.strip()]
            assert said in ([], [KNOWN_VALIDATOR_NOISE]), said
        for member in members:
            member.launch()
        leader, lags = wait_replicated(members)
        assert set(lags) == set(DB) - {leader.name}
        haproxy = HAProxy(lab, APP, haproxy_render.render(
            [(h, lab.hosts[h].address) for h in DB], lab.hosts[APP].address),
            ports=(haproxy_render.LISTEN_PORT,)).start()
        netns.wait_for("HAProxy marks the leader up", lambda: True if haproxy.servers(
            "primary").get(leader.name) == "UP" else None, 20)
        with psycopg.connect(host=lab.hosts[APP].address, port=haproxy_render.LISTEN_PORT,
                             dbname="postgres", user="postgres", password="su-secret",
                             connect_timeout=5, autocommit=True) as conn:
            conn.execute("CREATE TABLE rendered (x int)")
            row = conn.execute("SELECT host(inet_server_addr())").fetchone()
        assert row is not None and row[0] == leader.address
        up = sorted(n for n, s in haproxy.servers("primary").items() if s == "UP")
        assert up == [leader.name]
    assert lab.leftovers() == []


# -- a cache group with Sentinel -------------------------------------------------------------

CACHE = tuple((f"c{i}", f"10.0.1.1{i}") for i in (1, 2, 3))


def group(sentinels=CACHE, **kwargs) -> sentinel_render.Group:
    return sentinel_render.Group("cache", CACHE, tuple(sentinels), "cache-secret", **kwargs)


def test_only_the_initial_replicas_carry_replicaof_and_every_node_the_same_secret():
    g = group()
    lines = {host: sentinel_render.data_lines(g, host) for host, _ in CACHE}
    assert [x for x in lines["c1"] if x.startswith("replicaof")] == []
    assert all(f"replicaof {CACHE[0][1]} 6379" in lines[h] for h in ("c2", "c3"))
    assert all({"requirepass cache-secret", "masterauth cache-secret"} <= set(v)
               for v in lines.values())


@pytest.mark.parametrize(("placement", "problem"), [
    (CACHE, None),
    (CACHE[:2], "at least 3"),
    ((*CACHE, ("c4", "10.0.1.14")), "an odd number"),
    ((CACHE[0], CACHE[1], ("c1", "10.0.1.11")), "on 3 hosts"),
    ((*CACHE, ("c1", "10.0.1.11"), ("c1", "10.0.1.11")), "losing c1 (3 Sentinels)"),
    ((*CACHE, ("c4", "10.0.1.14"), ("c5", "10.0.1.15")), None),
], ids=["3-on-3", "2", "4", "3-on-2-hosts", "5-with-3-on-one-host", "5-on-5"])
def test_sentinels_must_be_odd_at_least_three_and_survive_a_lost_host(placement, problem):
    found = sentinel_render.problems(group(placement))
    assert (found == []) if problem is None else (problem in found[0]), found


@pytest.mark.parametrize("line", [
    "replicaof 10.0.1.11 6379", "slaveof 10.0.1.11 6379",
    "sentinel monitor cache 10.0.1.12 6379 2", "sentinel known-replica cache 10.0.1.13 6379",
    "sentinel known-sentinel cache 10.0.1.12 26379 abc", "sentinel myid abc",
    "sentinel current-epoch 1", "SENTINEL config-epoch cache 1"])
def test_lines_the_engines_rewrite_are_runtime_owned(line):
    assert sentinel_render.runtime_owned(line)


@pytest.mark.parametrize("line", ["port 26379", "sentinel down-after-milliseconds cache 5000",
                                  "requirepass x", "maxmemory 1gb", ""])
def test_lines_perfcfg_keeps_are_not_runtime_owned(line):
    assert not sentinel_render.runtime_owned(line)


def test_a_masters_host_holds_its_data_each_replicas_buffer_the_backlog_and_a_fork():
    mib = 1024 * 1024
    assert sentinel_render.master_host_needs(1024 * mib, 2, 256 * mib, 64 * mib,
                                             1024 * mib) == (1024 + 512 + 64 + 1024) * mib


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize(("daemon", "version"), [("redis", "7.0"), ("valkey", "8.1")])
def test_the_rendered_cache_group_replicates_and_its_sentinels_have_a_quorum(daemon, version):
    """The data nodes' lines and every sentinel.conf as rendered: both replicas link to the
    master and every Sentinel answers ckquorum OK with 3 usable Sentinels (~3 s)."""
    _lab_ready()
    require_daemon(daemon, version)
    with netns.Lab([h for h, _ in CACHE]) as lab:
        g = sentinel_render.Group("cache", tuple((h, lab.hosts[h].address) for h, _ in CACHE),
                                  tuple((h, lab.hosts[h].address) for h, _ in CACHE),
                                  "cache-secret", down_after_ms=3000, failover_timeout_ms=10000)
        assert sentinel_render.problems(g) == []
        nodes = {h: RedisNode(lab, h, "\n".join([
            f"bind {a} 127.0.0.1", "port 6379", "protected-mode no", 'save ""',
            *sentinel_render.data_lines(g, h)]) + "\n", g.password, daemon, version).start()
            for h, a in g.nodes}
        sentinels = [Sentinel(lab, h, sentinel_render.sentinel_conf(g, h), None, daemon,
                              version).start() for h, _ in g.sentinels]
        netns.wait_for("both replicas online", lambda: True if nodes["c1"].info(
            "replication").get("connected_slaves") == 2 else None, 30)
        netns.wait_for("ckquorum OK everywhere", lambda: True if all(
            s.ckquorum("cache").startswith("OK 3 usable") for s in sentinels) else None, 30,
            state=lambda: [s.ckquorum("cache") for s in sentinels])
    assert lab.leftovers() == []


# -- change plans ------------------------------------------------------------------------------

RESTART_ONLY = frozenset({"max_connections", "max_wal_senders", "shared_buffers",
                          "max_locks_per_transaction"})


def steps(old: dict, new: dict, members_old=MEMBERS, members_new=MEMBERS) -> list[str]:
    found = changes.plan(cluster(parameters=old, members=members_old),
                         cluster(parameters=new, members=members_new),
                         RESTART_ONLY.__contains__)
    return [f"{s.action} {s.target}" for s in found]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({"max_connections": "100"}, {"max_connections": "200"},
     ["dcs-patch cluster", "restart replicas", "restart leader"]),
    ({"max_connections": "200"}, {"max_connections": "100"},
     ["dcs-patch cluster", "restart leader", "wait-replayed replicas", "restart replicas"]),
    ({"max_locks_per_transaction": "64"}, {"max_locks_per_transaction": "32"},
     ["dcs-patch cluster", "restart leader", "wait-replayed replicas", "restart replicas"]),
    ({"shared_buffers": "1GB"}, {"shared_buffers": "2GB"},
     ["dcs-patch cluster", "restart replicas", "restart leader"]),
    ({"work_mem": "4MB"}, {"work_mem": "8MB"}, ["dcs-patch cluster"]),
    ({"max_connections": "100"}, {"max_connections": "100"}, []),
    ({"max_connections": "200", "max_wal_senders": "5"},
     {"max_connections": "100", "max_wal_senders": "10"},
     ["dcs-patch cluster", "restart replicas", "restart leader",
      "dcs-patch cluster", "restart leader", "wait-replayed replicas", "restart replicas"]),
], ids=["raise", "lower", "lower-locks", "other-restart", "reload-only", "unchanged", "mixed"])
def test_a_change_plan_restarts_in_the_order_its_direction_needs(old, new, expected):
    assert steps(old, new) == expected


def test_a_mixed_change_is_two_patches_raises_first():
    plan = changes.plan(cluster(parameters={"max_connections": "200", "max_wal_senders": "5"}),
                        cluster(parameters={"max_connections": "100", "max_wal_senders": "10"}),
                        RESTART_ONLY.__contains__)
    patches = [s.data for s in plan if s.action == "dcs-patch"]
    assert patches == [{"postgresql": {"parameters": {"max_wal_senders": "10"}}},
                       {"postgresql": {"parameters": {"max_connections": "100"}}}]
    assert json.dumps([s.as_dict() for s in plan])   # --format json gives the same as data


def test_a_members_local_change_is_its_reload_and_restart_only_if_it_must():
    changed = tuple(patroni.Member(m.name, m.address, parameters={"work_mem": "8MB"}
                                   if m.name == "db2" else {}) for m in MEMBERS)
    assert steps({}, {}, MEMBERS, changed) == ["reload db2"]
    restart = tuple(patroni.Member(m.name, m.address, parameters={"shared_buffers": "2GB"}
                                   if m.name == "db3" else {}) for m in MEMBERS)
    assert steps({}, {}, MEMBERS, restart) == ["reload db3", "restart db3"]


# -- the budget across hosts ---------------------------------------------------------------------

def app_pools(hosts: int, size: int = 20, reserve: int = 5) -> list[checks.Pool]:
    return [checks.Pool(f"app{i}", db, "app", size, reserve)
            for i in range(1, hosts + 1) for db in ("app", "jobs")]


@pytest.mark.parametrize(("hosts", "max_connections", "over"), [
    (3, 200, False), (4, 200, True), (2, 106, False), (2, 105, True)])
def test_the_pools_of_every_app_host_must_fit_max_connections(hosts, max_connections, over):
    # each app host: two pools of 20 + 5; Patroni and exporters 3, reserved 3
    found = checks.connections(max_connections, app_pools(hosts), direct=0, own=3,
                               reserved=3)
    assert bool(found) is over
    if over:
        assert found[0].ends[1] == "postgres.max_connections (bootstrap.dcs)"
        assert found[0].ends[0].startswith("pgbouncer pools on app")
        assert str(hosts * 50 + 6) in found[0].message and str(hosts * 50 + 6) in found[0].hint


def test_a_replica_host_too_small_to_lead_is_named_unless_it_may_never_lead():
    gib = 1024 ** 3
    needs = {"db1": 40 * gib, "db2": 40 * gib, "db3": 40 * gib}
    memory = {"db1": 64 * gib, "db2": 64 * gib, "db3": 32 * gib}
    found = checks.members_fit(needs, memory)
    assert [f.ends for f in found] == [("host db3", "host db1")]
    assert checks.members_fit(needs, memory, frozenset({"db3"})) == []


@pytest.mark.parametrize(("members", "parameters", "named"), [
    (3, {"max_wal_senders": 10, "max_replication_slots": 10, "max_slot_wal_keep_size": 1024},
     []),
    (3, {"max_wal_senders": 3, "max_replication_slots": 10, "max_slot_wal_keep_size": 1024},
     ["postgres.max_wal_senders"]),
    (5, {"max_wal_senders": 10, "max_replication_slots": 4, "max_slot_wal_keep_size": 1024},
     ["postgres.max_replication_slots"]),
    (3, {"max_wal_senders": 10, "max_replication_slots": 10},
     ["postgres.max_slot_wal_keep_size"]),
], ids=["enough", "senders", "slots", "unlimited-slot-wal"])
def test_replication_capacity_covers_every_other_member(members, parameters, named):
    assert [f.ends[0] for f in checks.replication_capacity(members, parameters)] == named


# -- from today's postgresql.conf to Patroni's two layers ----------------------------------------

def conf_settings(text: str) -> dict[str, str]:
    """``name = value`` lines of a generated postgresql.conf (quotes kept off)."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if "=" in line:
            name, value = (x.strip() for x in line.split("=", 1))
            out[name] = value.strip("'")
    return out


def test_same_values_go_to_the_dcs_host_sized_ones_stay_local_and_disagreements_are_named():
    small = {"shared_buffers": "4GB", "work_mem": "8MB", "max_connections": "200",
             "port": "5432", "data_directory": "/var/lib/postgresql/15/main"}
    big = {**small, "shared_buffers": "16GB"}
    dcs, local, conflicts = patroni.split({"db1": big, "db2": small})
    assert dcs == {"max_connections": "200", "work_mem": "8MB"}
    assert local == {"db1": {"shared_buffers": "16GB"}, "db2": {"shared_buffers": "4GB"}}
    assert conflicts == []
    _dcs, _local, conflicts = patroni.split({"db1": {**big, "max_connections": "300"},
                                             "db2": small})
    assert conflicts == [("max_connections", {"db1": "300", "db2": "200"})]


def test_the_examples_postgresql_conf_splits_into_layers_patroni_accepts():
    """Two of the example's environments as if they were two members of different sizes: the
    settings sized to the host stay local, the rest go to the DCS, and every DCS-only one
    that the sizes make differ is named (a cluster needs them equal: the hosts model will
    size them once for the cluster)."""
    root = Path(__file__).resolve().parent.parent / "examples/botfarm/generated"
    members = {env: conf_settings((root / env / "postgresql.conf").read_text())
               for env in ("staging", "production")}
    dcs, local, conflicts = patroni.split(members)
    assert not (set(dcs) | {n for conf in local.values() for n in conf}) & (
        patroni.PATRONI_OWNED | patroni.PLACEMENT)
    for name in patroni.DCS_ONLY | patroni.KEEP_IN_DCS:
        values = {m: conf.get(name) for m, conf in members.items()}
        if None not in values.values() and len(set(values.values())) > 1:
            assert (name, values) in conflicts
    assert all(not (patroni.DCS_ONLY & set(conf)) for conf in local.values())
    assert any(conf for conf in local.values())   # the hosts differ: something is local


@pytest.mark.parametrize(("nodes", "replicas", "ok"), [
    (6, 1, True), (3, 0, True), (9, 2, True), (4, 1, False), (7, 1, False), (2, 0, False)])
def test_a_cluster_needs_three_masters_with_equal_replicas(nodes, replicas, ok):
    assert (redis_cluster.shape(nodes, replicas) == []) is ok


def test_the_create_action_keeps_the_password_off_its_command_line():
    argv = redis_cluster.create_argv("redis-cli", [("10.0.2.11", 6379)] * 6, 1)
    assert not [a for a in argv if "secret" in a]
    assert "requirepass cache-secret" in redis_cluster.node_lines("cache-secret")
