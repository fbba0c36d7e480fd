"""A Patroni member in a lab host, from its ``patroni.yml``, and what it reports.

Patroni runs as the ``postgres`` user and starts PostgreSQL itself (initdb on the member that
wins the bootstrap race, ``pg_basebackup`` from the leader on the others). The harness places
a member by editing its copy of the file, and only these keys: ``postgresql.data_dir``,
``postgresql.pgpass`` and ``postgresql.bin_dir`` (the installed major version's programs;
Patroni needs ``pg_controldata``, ``pg_basebackup`` and ``pg_rewind`` beside ``postgres``), and
``postgresql.parameters.unix_socket_directories`` (every host shares this machine's
filesystem: two members on ``/var/run/postgresql`` would fight over one socket file).

The member is read through its REST API (``/patroni``, ``/cluster``), the way HAProxy and
``patronictl`` read it, and through SQL as the file's superuser.

>>> placed("postgresql:\\n  data_dir: /var/lib/postgresql/15/main\\n", "/s", "/b")["postgresql"]
... # doctest: +NORMALIZE_WHITESPACE
{'data_dir': '/s/data', 'pgpass': '/s/pgpass', 'bin_dir': '/b',
 'parameters': {'unix_socket_directories': '/s'}}
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import yaml

from perfcfg.harness import netns
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError
from perfcfg.services.postgres import programs as pg_programs

REST_PORT = 8008
PG_PORT = 5432
# What Patroni runs from bin_dir besides postgres itself (initdb, pg_ctl: every member).
PROGRAMS = ("postgres", "pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "pg_rewind",
            "pg_isready")


def bin_dir(version: str | None = None) -> str:
    """The directory that holds every program Patroni runs, for PostgreSQL ``version``.

    The installed builds keep them beside the real ``postgres`` (links resolved), except where
    a build lacks one: then ``DaemonError`` names what is missing."""
    real = os.path.dirname(os.path.realpath(require(PROGRAMS[0], version)))
    lacking = [p for p in PROGRAMS if not os.access(os.path.join(real, p), os.X_OK)]
    if lacking:
        raise DaemonError("patroni", f"PostgreSQL {version or 'default'} at {real} lacks "
                          f"{', '.join(lacking)}, which Patroni runs")
    return real


def placed(conf_text: str, scratch: str, programs: str) -> dict[str, Any]:
    """``conf_text`` as a dict, with its data, pgpass, programs and socket in ``scratch``."""
    conf = yaml.safe_load(conf_text) or {}
    pg = conf.setdefault("postgresql", {})
    pg["data_dir"] = f"{scratch}/data"
    pg["pgpass"] = f"{scratch}/pgpass"
    pg["bin_dir"] = programs
    pg.setdefault("parameters", {})["unix_socket_directories"] = scratch
    return conf


class PatroniMember(netns.HostDaemon):
    """One Patroni member (and the PostgreSQL it runs) in a lab host."""

    daemon = "patroni"
    user = pg_programs.ACCOUNT
    start_timeout = 90.0

    def __init__(self, lab: netns.Lab, host: str, conf_text: str,
                 version: str | None = None) -> None:
        super().__init__(lab, host)
        self.conf = placed(conf_text, self.dir, bin_dir(version))
        self.name = str(self.conf.get("name", host))
        self.rest_port = _port(self.conf.get("restapi", {}).get("listen", ""), REST_PORT)
        self.pg_port = _port(self.conf["postgresql"].get("listen", ""), PG_PORT)

    def prepare(self) -> None:
        self.write("patroni.yml", yaml.safe_dump(self.conf, sort_keys=False))

    def argv(self) -> list[str]:
        return [netns.program("patroni"), f"{self.dir}/patroni.yml"]

    def probe(self) -> dict[str, Any] | None:
        """``/patroni`` once PostgreSQL runs under it (any role)."""
        state = self.status()
        return state if state.get("state") == "running" else None

    # -- REST ------------------------------------------------------------------------------
    def rest(self, path: str, method: str = "GET", body: Any = None,
             timeout: float = 10) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or text) of one REST call; status 0 when unreachable."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{self.address}:{self.rest_port}{path}",
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, _parse(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, _parse(err.read())
        except OSError:
            return 0, None

    def status(self) -> dict[str, Any]:
        """``GET /patroni``: role, state, timeline, ``pending_restart`` … ({} if down)."""
        code, body = self.rest("/patroni", timeout=3)
        return body if code in (200, 503) and isinstance(body, dict) else {}

    def cluster(self) -> dict[str, Any]:
        """``GET /cluster``: every member's name, role, state, lag and flags."""
        code, body = self.rest("/cluster")
        if code != 200:
            raise DaemonError(self.daemon, f"GET /cluster on {self.name}: {code} {body}")
        members: dict[str, Any] = body     # Patroni's JSON object
        return members

    def switchover(self, leader: str, candidate: str) -> None:
        code, body = self.rest("/switchover", "POST", {"leader": leader, "candidate": candidate},
                               timeout=60)
        if code != 200:
            raise DaemonError(self.daemon, f"switchover {leader} → {candidate}: {code} {body}")

    def restart(self) -> None:
        """``POST /restart``: Patroni restarts this member's PostgreSQL (role kept)."""
        code, body = self.rest("/restart", "POST", {}, timeout=90)
        if code != 200:
            raise DaemonError(self.daemon, f"restart {self.name}: {code} {body}")

    def patch_config(self, change: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /config``: change the cluster-wide (DCS) configuration; the result."""
        code, body = self.rest("/config", "PATCH", change)
        if code != 200:
            raise DaemonError(self.daemon, f"PATCH /config: {code} {body}")
        config: dict[str, Any] = body      # Patroni's JSON object
        return config

    # -- SQL -------------------------------------------------------------------------------
    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        su = self.conf["postgresql"]["authentication"]["superuser"]
        return psycopg.connect(host=self.address, port=self.pg_port, dbname=dbname,
                               user=su["username"], password=su.get("password"),
                               connect_timeout=5, autocommit=True)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return list(conn.execute(sql).fetchall())


def leader_of(members: Sequence[PatroniMember]) -> PatroniMember | None:
    """The member whose Patroni says it leads (and whose PostgreSQL runs), if exactly one."""
    leaders = [m for m in members if m.running()
               and m.status().get("role") in ("master", "primary")
               and m.status().get("state") == "running"]
    return leaders[0] if len(leaders) == 1 else None


def streaming(leader: PatroniMember) -> dict[str, int]:
    """Replica name → replay lag in bytes, for each replica streaming from ``leader``."""
    rows = leader.query("SELECT application_name, "
                        "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
                        "FROM pg_stat_replication WHERE state = 'streaming'")
    return {str(name): int(lag or 0) for name, lag in rows}


def wait_replicated(members: Sequence[PatroniMember], timeout: float = 120
                    ) -> tuple[PatroniMember, dict[str, int]]:
    """Wait for one leader with every other running member streaming from it."""
    def probe() -> tuple[PatroniMember, dict[str, int]] | None:
        for m in members:
            if m.proc is not None and m.proc.poll() is not None:
                raise DaemonError(m.daemon, f"{m.name} exited with code {m.proc.returncode}",
                                  m.tail())
        leader = leader_of(members)
        if leader is None:
            return None
        try:
            replicas = streaming(leader)
        except psycopg.Error:
            return None
        others = {m.name for m in members if m is not leader and m.running()}
        return (leader, replicas) if set(replicas) >= others else None

    return netns.wait_for("one leader and every other member streaming", probe, timeout)


def _port(listen: str, default: int) -> int:
    """The port of a ``listen`` value such as ``198.18.0.11,127.0.0.1:5432``."""
    tail = str(listen).rsplit(":", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else default


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply(steps: Sequence[Any], members: Sequence[PatroniMember], timeout: float = 90) -> None:
    """Carry out a change plan (``changes.plan``'s steps) on running members, as an operator
    would: PATCH /config on the leader, POST /reload and /restart through Patroni, and the
    wait for the replicas to replay; each restart waits until its member runs again without
    ``pending_restart``."""
    for step in steps:
        leader = netns.wait_for("a leader", lambda: leader_of(members), timeout)
        replicas = [m for m in members if m is not leader and m.running()]
        if step.action == "dcs-patch":
            leader.patch_config(dict(step.data))
            _wait_applied(members, timeout)
        elif step.action == "wait-replayed":
            replayed(leader, replicas, timeout)
        elif step.action in ("reload", "restart"):
            named = [m for m in members if m.name == step.target]
            for member in {"leader": [leader], "replicas": replicas}.get(step.target, named):
                if step.action == "reload":
                    code, body = member.rest("/reload", "POST", {})
                    if code not in (200, 202):
                        raise DaemonError(member.daemon, f"reload {member.name}: {code} {body}")
                else:
                    _restart(member, timeout)
        else:
            raise ValueError(f"unknown step {step.action!r}")


def replayed(leader: PatroniMember, replicas: Sequence[PatroniMember], timeout: float) -> None:
    """Wait until every replica streams from ``leader`` with nothing left to replay."""
    def done() -> bool | None:
        lags = _lags(leader)
        return True if lags and all(lags.get(r.name) == 0 for r in replicas) else None
    netns.wait_for("every replica replayed the leader's WAL", done, timeout,
                   state=lambda: _lags(leader))


def _restart(member: PatroniMember, timeout: float) -> None:
    member.restart()

    def back() -> bool | None:
        status = member.status()
        return True if status.get("state") == "running" and \
            not status.get("pending_restart") else None
    netns.wait_for(f"{member.name} running again without pending_restart", back, timeout,
                   state=member.status)


def _wait_applied(members: Sequence[PatroniMember], timeout: float) -> None:
    """A DCS change reaches a member on its next loop, which reads the cluster (and so the
    new configuration) and then stamps ``dcs_last_seen``: wait until every running member has
    stamped a time two seconds past the patch (whole seconds), i.e. has run such a loop."""
    after = int(time.time()) + 2

    def seen() -> bool | None:
        stamps = [m.status().get("dcs_last_seen", 0) for m in members if m.running()]
        return True if stamps and all(int(t or 0) >= after for t in stamps) else None
    netns.wait_for("every member has read the DCS change", seen, timeout,
                   state=lambda: {m.name: m.status().get("dcs_last_seen") for m in members})


def _lags(leader: PatroniMember) -> dict[str, int]:
    try:
        return streaming(leader)
    except psycopg.Error:
        return {}
