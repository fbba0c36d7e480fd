"""Every supported daemon version starts from a config file and answers as that version.

One throwaway server per installed version (``registry.binaries()``), on
loopback in a scratch dir, through the same harness as the other real-daemon tests: its
version string and one effective value are read back. A version that is not installed skips,
or fails under ``PERFCFG_REQUIRE_DAEMONS=1`` (CI), like every daemon test (tests/conftest.py).
The PostgreSQL tests also show that builds differ, not only versions: ``wal_compression = lz4``
starts exactly where the catalog's ``build.features`` says the build has lz4.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from conftest import require_daemon

from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError
from perfcfg.services import registry
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.supervisor.daemon import Supervisord

pytestmark = pytest.mark.daemons
CATALOGS = Path(__file__).resolve().parent.parent / "schemas" / "catalogs"


def catalog_build(name: str) -> dict:
    return json.loads((CATALOGS / name).read_text())["build"]


@pytest.fixture(scope="module")
def pg_template_of() -> Iterator[Callable[[str], PgTemplate]]:
    """One initdb per PostgreSQL version for this module, made when first asked for."""
    templates: dict[str, PgTemplate] = {}
    with ExitStack() as stack:
        def get(version: str) -> PgTemplate:
            if version not in templates:
                templates[version] = stack.enter_context(PgTemplate(version))
            return templates[version]
        yield get


@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_postgresql_version_starts(version, pg_template_of):
    require_daemon("postgresql", version)
    with PostgresServer("work_mem = '8MB'\n", pg_template_of(version)) as pg:
        assert pg.query("SHOW server_version")[0][0].startswith(f"{version}.")
        assert pg.settings()["work_mem"].display() == "8MB"
        assert pg.mismatches({"work_mem": "8MB"}) == []
        # The harness's psql (Debian 12's 15) talks to every newer server.
        out = subprocess.run(
            [require("psql"), "-X", "-A", "-t", "-h", pg.dir, "-p", str(pg.port), "-U", "postgres",
             "-d", "postgres", "-c", "SELECT current_setting('server_version_num')"],
            capture_output=True, text=True, timeout=30, check=True, stdin=subprocess.DEVNULL)
        assert out.stdout.strip().startswith(version)


@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_postgresql_build_features_match_catalog(version, pg_template_of):
    require_daemon("postgresql", version)
    template = pg_template_of(version)
    has_lz4 = catalog_build(f"postgresql-{version}.json")["features"]["lz4"]
    conf = "wal_compression = lz4\n"
    if has_lz4:
        with PostgresServer(conf, template) as pg:
            assert pg.mismatches({"wal_compression": "lz4"}) == []
    else:
        with pytest.raises(DaemonError, match="Available values: pglz, on, off"):
            PostgresServer(conf, template).start()


@pytest.mark.parametrize("version", registry.binaries()["pgbouncer"].versions)
def test_pgbouncer_version_starts(version, pg_template_of):
    require_daemon("pgbouncer", version)
    ini = ("[databases]\npostgres = host=db dbname=postgres\n"
           "[pgbouncer]\npool_mode = transaction\nauth_type = trust\nmax_client_conn = 123\n")
    with PostgresServer("", pg_template_of("15")) as pg, PgBouncer(ini, '"postgres" ""\n', backend=pg,
                                             version=version) as bnc:
        assert bnc.console("SHOW VERSION")[0]["version"].startswith(f"PgBouncer {version}.")
        assert bnc.mismatches({"max_client_conn": "123", "pool_mode": "transaction"}) == []
        with psycopg.connect(bnc.dsn("postgres", "postgres"), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("handle, version", [
    *[(RedisServer, v) for v in registry.binaries()["redis"].versions],
    *[(ValkeyServer, v) for v in registry.binaries()["valkey"].versions],
], ids=lambda v: v if isinstance(v, str) else v.daemon)
def test_redis_and_valkey_versions_start(handle, version):
    require_daemon(handle.daemon, version)
    with handle("maxmemory 64mb\nmaxmemory-policy allkeys-lru\n", version=version) as server:
        info = server.client().info("server")
        assert info.get(f"{handle.daemon}_version", info["redis_version"]).startswith(f"{version}.")
        assert server.config()["maxmemory"] == str(64 * 1024 * 1024)
        assert server.mismatches({"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"}) == []


@pytest.mark.parametrize("version", registry.binaries()["supervisor"].versions)
def test_supervisor_version_starts(version):
    require_daemon("supervisor", version)
    conf = "[supervisord]\n[program:w]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
    with Supervisord(conf, version=version) as sup:
        with sup.rpc() as proxy:
            assert proxy.supervisor.getSupervisorVersion().startswith(f"{version}.")
        assert sup.mismatches({"program:w.startsecs": "0"}) == []
