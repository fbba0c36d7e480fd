"""Patroni + etcd on three hosts, and an app host whose pgbouncer follows the primary through
HAProxy: the multi-host lab (``harness/netns.py``) with hand-written minimal configs.

One lab serves the module: db1–db3 each run an etcd member and a Patroni member, app1 runs
HAProxy (checking Patroni's REST ``/primary``) and pgbouncer pointing at it. Every test starts
from, and leaves, a healthy cluster: one leader, two streaming replicas.

Timings seen on the CI machine type (2 cores, other test sessions running), with the DCS
timing below (ttl 12, loop_wait 2, retry_timeout 4):
- etcd × 3 healthy 0.3–2.6 s after launch; Patroni × 3, one leader and two streaming
  replicas, 6–13 s after that (PostgreSQL 15, 17 and 18 alike);
- switchover: the candidate leads 2–6 s after ``POST /switchover``;
- failover on a cut link: a survivor leads and takes writes 12.8–13.0 s after the cut (the
  leader key's ttl); pgbouncer on app1 writes to it 1.1 s later; the old leader rejoins by
  pg_rewind within ~12 s of its link coming back;
- a max_connections change through ``PATCH /config`` and ordered restarts, up and back
  down: ~20 s;
- this file, every lab made and removed: ~145 s; with test_netns.py and test_lab_redis.py,
  the whole multi-host proof took 3 min 22 s (30 tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from conftest import require_daemon

from perfcfg.harness import netns, procs
from perfcfg.harness.errors import DaemonError
from perfcfg.services import catalog
from perfcfg.services.etcd.daemon import EtcdMember, wait_healthy
from perfcfg.services.haproxy.daemon import HAProxy
from perfcfg.services.pgbouncer.lab import HostPgBouncer
from perfcfg.services.postgres.patroni import changes, render
from perfcfg.services.postgres.patroni.daemon import (
    PatroniMember,
    apply,
    leader_of,
    wait_replicated,
)

pytestmark = [pytest.mark.daemons, pytest.mark.slow]

DB_HOSTS = ("db1", "db2", "db3")
# etcd on hosts of its own: Patroni 3.0.2 reads etcd3 with serializable (possibly stale) reads
# and writes its leader key unconditionally when its read says it lost it; a cut leader whose
# own host runs an etcd member reads the old key from that member when its link comes back
# and takes the key from the new leader (seen 3 times in 5 runs with etcd on db1-db3).
DCS_HOSTS = ("dcs1", "dcs2", "dcs3")
APP = "app1"
SUPERUSER, SUPER_PASSWORD = "postgres", "lab-super-secret"
# Patroni's DCS timing: ttl ≥ loop_wait + 2 × retry_timeout, short enough for CI.
TTL, LOOP_WAIT, RETRY_TIMEOUT = 12, 2, 4
PGBOUNCER_PORT, HAPROXY_PORT = 6432, 5000


def require_lab() -> None:
    """The lab needs root and the packages .ci/install.sh installs: skip without them, or
    fail under PERFCFG_REQUIRE_DAEMONS=1 (as conftest.require_daemon does)."""
    try:
        netns.require_root()
        for program in ("etcd", "etcdctl", "patroni", "haproxy"):
            netns.program(program)
    except (netns.LabError, DaemonError) as err:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(str(err))
    require_daemon("postgresql")
    require_daemon("pgbouncer")


def etcd_conf(lab: netns.Lab, host: str, dcs: tuple[str, ...] = DCS_HOSTS) -> str:
    address = lab.hosts[host].address
    cluster = ",".join(f"{h}=http://{lab.hosts[h].address}:2380" for h in dcs)
    return f"""\
name: {host}
data-dir: /var/lib/etcd/default
listen-client-urls: http://{address}:2379,http://127.0.0.1:2379
advertise-client-urls: http://{address}:2379
listen-peer-urls: http://{address}:2380
initial-advertise-peer-urls: http://{address}:2380
initial-cluster: {cluster}
initial-cluster-state: new
initial-cluster-token: perfcfg-lab
enable-grpc-gateway: true
"""


def patroni_conf(lab: netns.Lab, host: str, dcs: tuple[str, ...] = DCS_HOSTS) -> str:
    address, net = lab.hosts[host].address, f"{lab.subnet}.0/24"
    etcd = ",".join(f"{lab.hosts[h].address}:2379" for h in dcs)
    return f"""\
scope: lab
name: {host}
restapi:
  listen: {address}:8008
  connect_address: {address}:8008
etcd3:
  hosts: {etcd}
bootstrap:
  dcs:
    ttl: {TTL}
    loop_wait: {LOOP_WAIT}
    retry_timeout: {RETRY_TIMEOUT}
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        max_connections: 100
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - data-checksums
postgresql:
  listen: {address},127.0.0.1:5432
  connect_address: {address}:5432
  data_dir: /var/lib/postgresql/15/main
  authentication:
    superuser: {{username: {SUPERUSER}, password: {SUPER_PASSWORD}}}
    replication: {{username: replicator, password: lab-repl-secret}}
    rewind: {{username: rewinder, password: lab-rewind-secret}}
  pg_hba:
    - local all all trust
    - host replication replicator {net} scram-sha-256
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all {net} scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
"""


def haproxy_conf(lab: netns.Lab, order: list[str], follow: bool) -> str:
    """HAProxy on the app host: ``follow`` checks Patroni's ``/primary`` (only the leader
    answers 200); without it, a plain TCP check, which every running member passes.
    ``balance first`` sends every client to the first server that is up, in ``order``."""
    check = ("    option httpchk GET /primary\n    http-check expect status 200\n"
             if follow else "")
    servers = "".join(
        f"    server {h} {lab.hosts[h].address}:5432 check"
        f"{' port 8008' if follow else ''}\n" for h in order)
    return f"""\
global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen primary
    bind {lab.hosts[APP].address}:{HAPROXY_PORT}
    bind 127.0.0.1:{HAPROXY_PORT}
    balance first
{check}    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{servers}"""


PGBOUNCER_INI = f"""\
[databases]
postgres = host=127.0.0.1 port={HAPROXY_PORT} dbname=postgres

[pgbouncer]
listen_addr = *
listen_port = {PGBOUNCER_PORT}
auth_type = scram-sha-256
pool_mode = transaction
default_pool_size = 5
server_connect_timeout = 3
server_login_retry = 1
"""
USERLIST = f'"{SUPERUSER}" "{SUPER_PASSWORD}"\n'


class Cluster:
    """The module's lab: etcd and Patroni on db1–db3, HAProxy and pgbouncer on app1."""

    def __init__(self, lab: netns.Lab) -> None:
        self.lab = lab
        self.etcd = [EtcdMember(lab, h, etcd_conf(lab, h)).launch() for h in DCS_HOSTS]
        wait_healthy(self.etcd)
        self.members = [PatroniMember(lab, h, patroni_conf(lab, h)).launch() for h in DB_HOSTS]
        self.leader, _ = wait_replicated(self.members)
        self.haproxy: HAProxy | None = None
        self.pgbouncer = HostPgBouncer(lab, APP, PGBOUNCER_INI, USERLIST).start()

    def member(self, name: str) -> PatroniMember:
        return next(m for m in self.members if m.name == name)

    def healthy(self) -> tuple[PatroniMember, dict[str, int]]:
        """Wait for one leader and two streaming replicas; the leader and their lags."""
        self.leader, lags = wait_replicated(self.members)
        return self.leader, lags

    def use_haproxy(self, follow: bool) -> HAProxy:
        """(Re)start app1's HAProxy listing the current leader first."""
        if self.haproxy is not None:
            self.haproxy.stop()
        order = [self.leader.name] + [h for h in DB_HOSTS if h != self.leader.name]
        self.haproxy = HAProxy(self.lab, APP, haproxy_conf(self.lab, order, follow),
                               ports=(HAPROXY_PORT,))
        self.haproxy.start()
        return self.haproxy

    def write_through_app(self, timeout: float = 5) -> str:
        """A write through app1's pgbouncer; the address of the server that took it."""
        with psycopg.connect(host=self.lab.hosts[APP].address, port=PGBOUNCER_PORT,
                             dbname="postgres", user=SUPERUSER, password=SUPER_PASSWORD,
                             connect_timeout=int(timeout), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS lab_writes (at timestamptz)")
            conn.execute("INSERT INTO lab_writes VALUES (now())")
            row = conn.execute("SELECT host(inet_server_addr())").fetchone()
            return str(row[0]) if row else ""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_lab()
    with netns.Lab([*DB_HOSTS, *DCS_HOSTS, APP]) as lab:
        yield Cluster(lab)
    assert lab.leftovers() == []


def test_etcd_three_members_are_one_healthy_cluster(cluster):
    assert all(m.healthy() for m in cluster.etcd)
    assert cluster.etcd[0].members() == sorted(DCS_HOSTS)


def test_one_leader_and_two_streaming_replicas_with_no_lag(cluster):
    leader, lags = cluster.healthy()
    assert set(lags) == set(DB_HOSTS) - {leader.name}
    assert all(lag == 0 for lag in lags.values()), lags
    roles = {m["name"]: m["role"] for m in leader.cluster()["members"]}
    assert sorted(roles.values()) == ["leader", "replica", "replica"]


def test_switchover_moves_the_leader_and_keeps_both_replicas(cluster):
    """Measured: the candidate leads 2-6 s after POST /switchover."""
    old, _ = cluster.healthy()
    candidate = next(m for m in cluster.members if m is not old)
    started = time.monotonic()
    old.switchover(old.name, candidate.name)
    netns.wait_for("the candidate leads", lambda: True if leader_of(cluster.members)
                   is candidate else None, 60)
    took = time.monotonic() - started
    new, lags = cluster.healthy()
    assert new is candidate and set(lags) == set(DB_HOSTS) - {candidate.name}
    assert took < 60


def _failover(cluster: Cluster) -> tuple[PatroniMember, PatroniMember, float]:
    """Cut the leader's link; (old, new leader, seconds until the new one served writes)."""
    old, _ = cluster.healthy()
    cluster.lab.cut(old.name)
    started = time.monotonic()
    survivors = [m for m in cluster.members if m is not old]

    def new_leader() -> PatroniMember | None:
        found = leader_of(survivors)
        try:
            return found if found is not None and found.query("SELECT 1") else None
        except psycopg.Error:
            return None
    new = netns.wait_for("a new leader among the survivors", new_leader, 4 * TTL)
    return old, new, time.monotonic() - started


def test_failover_on_a_cut_link_and_the_old_leader_rejoins_by_rewind(cluster):
    """Cutting the leader's link: a survivor leads within ttl + loop_wait (measured 12.8-13 s
    with ttl 12); once the link is back the old leader rejoins as a replica through
    pg_rewind (it had kept running as a primary, its timeline diverged) and streams again."""
    old, new, took = _failover(cluster)
    assert new is not old
    assert took <= TTL + 3 * LOOP_WAIT + RETRY_TIMEOUT, f"failover took {took:.1f}s"
    with new.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS after_failover (x int)")
        conn.execute("INSERT INTO after_failover VALUES (1)")
    cluster.lab.restore(old.name)
    leader, lags = cluster.healthy()
    assert leader is new and old.name in lags, (new.name, leader.name, lags, leader.cluster())
    assert "pg_rewind" in procs.tail(old.log, lines=5000)
    rows = old.query("SELECT count(*) FROM after_failover")
    assert rows == [(1,)]


def _write_lands_on(cluster: Cluster, member: PatroniMember, timeout: float) -> float:
    """Seconds until a write through app1's pgbouncer is taken by ``member``."""
    started = time.monotonic()

    def landed() -> bool | None:
        try:
            return True if cluster.write_through_app() == member.address else None
        except psycopg.Error:
            return None
    netns.wait_for(f"a write through app1's pgbouncer reaches {member.name}", landed, timeout)
    return time.monotonic() - started


def test_app_hosts_pgbouncer_follows_the_leader_through_haproxy_after_failover(cluster):
    """HAProxy on app1 checks each member's REST ``/primary`` (200 only on the leader), and
    pgbouncer there points at HAProxy: after the leader's link is cut, a write through
    pgbouncer reaches the new leader without an edit (measured: 1.1 s after the new leader
    serves; HAProxy marks it up after one 1 s check and shuts the old sessions down)."""
    leader, _ = cluster.healthy()
    haproxy = cluster.use_haproxy(follow=True)
    assert _write_lands_on(cluster, leader, 10) < 10
    assert haproxy.servers("primary")[leader.name] == "UP"
    old, new, _took = _failover(cluster)
    assert _write_lands_on(cluster, new, 20) < 20
    up = {name for name, status in haproxy.servers("primary").items() if status == "UP"}
    assert up == {new.name}
    cluster.lab.restore(old.name)
    cluster.healthy()
    assert cluster.write_through_app() == new.address


def test_without_the_primary_check_writes_after_a_failover_fail(cluster):
    """The same HAProxy with only TCP checks (every running member passes them) sends
    pgbouncer's connections to the first member listed that answers: after the leader's link
    is cut and the old leader has rejoined as a replica, that is the old leader again, and the
    write is refused. So the step above can fail."""
    leader, _ = cluster.healthy()
    haproxy = cluster.use_haproxy(follow=False)
    assert cluster.write_through_app() == leader.address
    old, new, _took = _failover(cluster)
    cluster.lab.restore(old.name)
    assert cluster.healthy()[0] is new
    netns.wait_for("HAProxy sees the old leader up again",
                   lambda: True if haproxy.servers("primary")[old.name] == "UP" else None, 20)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        for _ in range(3):   # pgbouncer may hand out a connection the rejoin closed
            try:
                cluster.write_through_app()
            except psycopg.OperationalError:
                time.sleep(1)


def _pending(members: list[PatroniMember]) -> dict[str, bool]:
    return {m.name: bool(m.status().get("pending_restart")) for m in members}


def _max_connections(member: PatroniMember) -> int:
    return int(member.query("SHOW max_connections")[0][0])


def _needs_restart(name: str) -> bool:
    """PostgreSQL reads it only at start: its catalog's context is ``postmaster``."""
    cat = catalog.load("postgresql", "15")
    assert cat is not None
    param = cat.get(name)
    return param is not None and param.context == "postmaster"


def _spec(lab: netns.Lab, max_connections: int) -> render.Cluster:
    superuser, replicator, rewinder = (render.Account(n, "x")
                                       for n in (SUPERUSER, "replicator", "rewinder"))
    return render.Cluster("lab", tuple(render.Member(h, lab.hosts[h].address) for h in DB_HOSTS),
                          (), f"{lab.subnet}.0/24", superuser, replicator, rewinder,
                          parameters={"max_connections": str(max_connections)})


def test_a_dcs_change_applied_as_its_plan_says_ends_with_no_pending_restart(cluster):
    """The change plan (``changes.plan``) for raising max_connections, then for lowering it
    back, carried out step by step (``daemon.apply``): the PATCH /config leaves every member
    ``pending_restart``; raised, the replicas restart first; lowered, the leader first and the
    replicas once they have replayed its restart. Without that wait a replica comes back with
    the old value and still ``pending_restart``: Patroni starts a replica with the larger of
    the DCS value and what its pg_controldata last saw from the primary (seen here before the
    plan had the step). Each way ends with no ``pending_restart`` and the new value on every
    member (~20 s for both)."""
    leader, _ = cluster.healthy()
    before = _max_connections(leader)
    for old, new in ((before, before + 50), (before + 50, before)):
        steps = changes.plan(_spec(cluster.lab, old), _spec(cluster.lab, new), _needs_restart)
        expected = (["dcs-patch", "restart replicas", "restart leader"] if new > old else
                    ["dcs-patch", "restart leader", "wait-replayed replicas",
                     "restart replicas"])
        assert [" ".join((s.action, s.target)) if s.target != "cluster" else s.action
                for s in steps] == expected
        apply(steps, cluster.members)
        new_leader, _ = cluster.healthy()
        assert new_leader is leader
        assert _pending(cluster.members) == dict.fromkeys(DB_HOSTS, False)
        assert {m.name: _max_connections(m) for m in cluster.members} == dict.fromkeys(
            DB_HOSTS, new)


@pytest.mark.parametrize("version", ["17", "18"])
def test_patroni_runs_other_postgresql_versions_from_their_bin_dir(version):
    """Patroni 3.0.2 (Debian 12's) bootstraps a leader and clones a streaming replica on the
    other installed majors too, from ``bin_dir`` (measured: ~6 s for three members on each of
    17 and 18). PostgreSQL 16's build here (npm) lacks pg_basebackup, pg_rewind and
    pg_controldata: ``bin_dir`` says so (the test below)."""
    require_lab()
    require_daemon("postgresql", version)
    dcs, members = "dcs1", ("db1", "db2")
    with netns.Lab([*members, dcs]) as lab:
        wait_healthy([EtcdMember(lab, dcs, etcd_conf(lab, dcs, (dcs,))).launch()])
        started = [PatroniMember(lab, h, patroni_conf(lab, h, (dcs,)), version=version).launch()
                   for h in members]
        leader, lags = wait_replicated(started)
        assert set(lags) == set(members) - {leader.name}
        shown = leader.query("SHOW server_version")[0][0]
        assert shown.split(".")[0] == version


def test_a_build_without_patronis_programs_is_named(monkeypatch, tmp_path):
    from perfcfg.services.postgres.patroni import daemon

    (tmp_path / "postgres").write_text("#!/bin/sh\n")
    (tmp_path / "postgres").chmod(0o755)
    monkeypatch.setattr(daemon, "require", lambda name, version=None: str(tmp_path / name))
    with pytest.raises(DaemonError, match="lacks pg_ctl, initdb, pg_controldata, "
                                          "pg_basebackup, pg_rewind, pg_isready"):
        daemon.bin_dir("16")
