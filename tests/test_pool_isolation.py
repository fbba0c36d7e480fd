"""Pools that cannot starve each other, shown with the real daemons.

The two-database project of issue 15: ``bots`` (the workers, transaction pooling) and
``bots_reporting`` (session mode, 2 declared clients). PostgreSQL and pgbouncer start from the
generated files; more reporting sessions than declared hold every slot their pool may take, and
every client of the bots pool still gets a server connection. The same run against the files
without the per-database lines (what perfcfg wrote before) shows the starvation, so the test
can tell the two apart.

Inside one database, pools isolate nothing between its users: ``analyst`` (a person, no
program logs in as it) holds transactions open in ``bots`` with more sessions than its
``connections: 2``, and the bot still gets every slot of its pool; without the ``[users]``
line (``max_user_connections``) the analyst takes them.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import psycopg
import pytest
from conftest import require_daemon
from helpers import group, write

from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.stages.secrets import SecretResolver

pytestmark = pytest.mark.daemons

PRESET = """\
extends: [builtin:staging]
# no spare slots: max_connections is exactly what the pools, the exporter and the superusers take,
# so a pool that takes more than its share takes another's
postgres:
  spare_connections: 0
databases:
  - name: bots
    user: bot
  - name: bots_reporting
    user: report
    pool_mode: session
    clients: 2
users:
  - name: bot
    password: ${env:BOT_DB_PASSWORD}
  - name: report
    password: ${env:REPORT_DB_PASSWORD}
  - name: analyst
    password: ${env:ANALYST_DB_PASSWORD}
    databases: [bots]
    connections: 2
redis:
  users:
    - name: bot
      password: ${env:BOT_REDIS_PASSWORD}
      keys: ["bot:*"]
      commands: [-@all, +@read, +@write, +@connection]
workload:
  programs:
    - name: bot
      command: python -m bots
      processes: 8
      memory: 50MiB
"""
EXTRA_REPORTING_SESSIONS = 5     # beyond the 2 declared: a report job gone wild
SERVED_WITHIN = 12.0             # seconds; the reserve opens after reserve_pool_timeout (3 s)


@pytest.fixture(scope="module")
def two_pools(tmp_path_factory):
    root = tmp_path_factory.mktemp("pools") / "proj"
    write(root / "perfcfg.yaml", "project: pools\nsecrets: {mode: placeholder}\nenvironments:\n"
          "  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 4GiB\ncpus: 1\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/staging.yaml", PRESET)
    result = compile_env(Request(root, "staging"))
    assert result.ok
    return root, result


def _text(result, name: str) -> str:
    return result.files[name].decode()


def _per_database(result) -> dict[str, dict[str, int]]:
    out = {}
    for line in _text(result, "pgbouncer.ini").split("[databases]")[1].split("\n[")[0].splitlines():
        if "=" in line and not line.startswith(";"):
            name, conn = line.split(" = ", 1)
            out[name] = {k: int(v) for k, v in re.findall(
                r"\b(pool_size|reserve_pool|max_db_connections)=(\d+)", conn)}
    return out


def test_every_pool_has_its_size_reserve_and_cap_summing_to_max_connections(two_pools):
    _, result = two_pools
    dbs = _per_database(result)
    assert dbs["bots_reporting"] == {"pool_size": 2, "reserve_pool": 0, "max_db_connections": 2}
    bots = dbs["bots"]
    # the bot's pool full, and the analyst's max_user_connections
    assert bots["max_db_connections"] == bots["pool_size"] + bots["reserve_pool"] + 2
    conf = _text(result, "postgresql.conf")
    max_connections = int(group(re.search(r"^max_connections = (\d+)", conf, re.M)))
    reserved = 3    # superuser_reserved_connections (PostgreSQL's default)
    spare = 0       # postgres.spare_connections: none in this project (PRESET)
    # the direct clients: staging is monitored, postgres_exporter's one connection
    direct = sum(c.connections for c in result.config.clients)
    assert direct == 1
    assert max_connections == sum(d["max_db_connections"] for d in dbs.values()) + reserved + \
        direct + spare


def _strip_users(ini: str) -> str:
    """pgbouncer.ini without its [users] section: no max_user_connections."""
    return re.sub(r"\n\[users\]\n.*?(?=\n\[)", "\n", ini, flags=re.S)


def _strip_per_database(ini: str) -> str:
    """The [databases] lines as perfcfg wrote them before: no pool_size, reserve or cap."""
    return re.sub(r" (pool_size|reserve_pool|max_db_connections)=\d+", "", ini)


def _saturate(pg: PostgresServer, bnc: PgBouncer, root: Path, result) -> tuple[int, int]:
    """Hold the reporting pool with more sessions than declared, then ask for every bots slot.

    Returns (server connections the reporting sessions got, bots clients served in time)."""
    passwords = _roles(pg, root, result)
    for db, owner in (("bots", "bot"), ("bots_reporting", "report")):
        pg.query(f"CREATE DATABASE {db} OWNER {owner}")
    bots = _per_database(result)["bots"]
    wanted = bots["pool_size"] + bots["reserve_pool"]
    release = threading.Event()
    served: list[int] = []
    lock = threading.Lock()

    def hold(db: str, user: str, in_transaction: bool) -> None:
        try:
            with psycopg.connect(bnc.dsn(db, user, passwords[user]), connect_timeout=30,
                                 prepare_threshold=None, autocommit=not in_transaction) as conn:
                row = conn.execute("SELECT pg_backend_pid()").fetchone()
                assert row is not None
                pid = row[0]
                with lock:
                    if db == "bots":
                        served.append(pid)
                release.wait(60)
        except psycopg.Error:
            pass    # a client pgbouncer never served (query_wait_timeout) or torn down

    threads = [threading.Thread(target=hold, args=("bots_reporting", "report", False),
                                daemon=True)
               for _ in range(2 + EXTRA_REPORTING_SESSIONS)]
    try:
        for t in threads:
            t.start()
        time.sleep(2.0)     # every reporting session has logged in and asked for a server
        reporting = [p for p in bnc.console("SHOW POOLS") if p["database"] == "bots_reporting"]
        reporting_servers = sum(int(p["sv_active"]) + int(p["sv_idle"]) for p in reporting)
        bot_threads = [threading.Thread(target=hold, args=("bots", "bot", True), daemon=True)
                       for _ in range(wanted)]
        threads += bot_threads
        for t in bot_threads:
            t.start()
        deadline = time.monotonic() + SERVED_WITHIN
        while time.monotonic() < deadline and len(served) < wanted:
            time.sleep(0.2)
        with lock:
            got = len(set(served))
        return reporting_servers, got
    finally:
        release.set()
        for t in threads:
            t.join(timeout=5)


def _roles(pg: PostgresServer, root: Path, result) -> dict[str, str]:
    resolve = SecretResolver("placeholder", {}, root).resolve
    secrets = dict(result.plan.parts["postgres"].users)
    for user in ("bot", "report", "analyst"):
        pg.query(f"CREATE ROLE {user} LOGIN PASSWORD '{secrets[user]}'")
    return {u.name: resolve(u.password) for u in result.config.users}


EXTRA_ANALYST_SESSIONS = 6       # a dashboard refreshing every panel at once


def _analyst_and_bots(pg: PostgresServer, bnc: PgBouncer, root: Path, result
                      ) -> tuple[int, int]:
    """The analyst holds transactions open in bots; then every bot slot is asked for.

    Returns (server connections the analyst got, bot clients served in time)."""
    passwords = _roles(pg, root, result)
    pg.query("CREATE DATABASE bots OWNER bot")
    pg.query("CREATE DATABASE bots_reporting OWNER report")
    pg.query("GRANT CONNECT ON DATABASE bots TO analyst")
    bots = _per_database(result)["bots"]
    wanted = bots["pool_size"] + bots["reserve_pool"]
    release = threading.Event()
    served: list[int] = []
    lock = threading.Lock()

    def hold(user: str) -> None:
        try:
            with psycopg.connect(bnc.dsn("bots", user, passwords[user]), connect_timeout=30,
                                 prepare_threshold=None) as conn:
                row = conn.execute("SELECT pg_backend_pid()").fetchone()   # in a transaction
                assert row is not None
                pid = row[0]
                if user == "bot":
                    with lock:
                        served.append(pid)
                release.wait(60)
        except psycopg.Error:
            pass

    threads = [threading.Thread(target=hold, args=("analyst",), daemon=True)
               for _ in range(EXTRA_ANALYST_SESSIONS)]
    try:
        for t in threads:
            t.start()
        time.sleep(2.0)
        analyst = sum(int(p["sv_active"]) + int(p["sv_idle"]) for p in bnc.console("SHOW POOLS")
                      if p["database"] == "bots" and p["user"] == "analyst")
        bot_threads = [threading.Thread(target=hold, args=("bot",), daemon=True)
                       for _ in range(wanted)]
        threads += bot_threads
        for t in bot_threads:
            t.start()
        deadline = time.monotonic() + SERVED_WITHIN
        while time.monotonic() < deadline and len(served) < wanted:
            time.sleep(0.2)
        with lock:
            return analyst, len(set(served))
    finally:
        release.set()
        for t in threads:
            t.join(timeout=5)


@pytest.mark.parametrize("files", ["generated", "without-users-section"])
def test_a_user_no_program_uses_cannot_starve_a_program_inside_its_database(
        two_pools, pg_template_of, files):
    root, result = two_pools
    pg_version, bnc_version = str(result.config.targets.postgres), result.config.targets.pgbouncer
    require_daemon("pgbouncer", bnc_version)
    ini = _text(result, "pgbouncer.ini")
    assert "[users]\n" in ini and "analyst = max_user_connections=2" in ini
    if files != "generated":
        ini = _strip_users(ini)
    bots = _per_database(result)["bots"]
    wanted = bots["pool_size"] + bots["reserve_pool"]
    # the database's cap: the bot's pool full, plus what the analyst may hold
    assert bots["max_db_connections"] == wanted + 2
    with PostgresServer(_text(result, "postgresql.conf"), pg_template_of(pg_version),
                        hba_text=_text(result, "pg_hba.conf"), version=pg_version) as pg, \
            PgBouncer(ini, _text(result, "userlist.txt"), backend=pg,
                      version=bnc_version) as bnc:
        analyst, got = _analyst_and_bots(pg, bnc, root, result)
    if files == "generated":
        assert (analyst, got) == (2, wanted)
    else:
        assert analyst > 2 and got < wanted


@pytest.mark.parametrize("files", ["generated", "without-per-database-lines"])
def test_a_saturated_pool_cannot_starve_the_other(two_pools, pg_template_of, files):
    root, result = two_pools
    pg_version, bnc_version = str(result.config.targets.postgres), result.config.targets.pgbouncer
    require_daemon("pgbouncer", bnc_version)
    ini = _text(result, "pgbouncer.ini")
    if files != "generated":
        ini = _strip_per_database(ini)
    bots = _per_database(result)["bots"]
    wanted = bots["pool_size"] + bots["reserve_pool"]
    with PostgresServer(_text(result, "postgresql.conf"), pg_template_of(pg_version),
                        hba_text=_text(result, "pg_hba.conf"), version=pg_version) as pg, \
            PgBouncer(ini, _text(result, "userlist.txt"), backend=pg,
                      version=bnc_version) as bnc:
        reporting_servers, got = _saturate(pg, bnc, root, result)
    if files == "generated":
        # the reporting pool stops at its 2 declared sessions; the bots get every slot
        assert (reporting_servers, got) == (2, wanted)
    else:
        # the old files: reporting takes the global pool (size + reserve) and the bots starve
        assert reporting_servers > 2 and got < wanted
