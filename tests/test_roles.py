"""roles.sql: idempotent, applied to a real PostgreSQL; logins through pgbouncer work (the
database owner's too, though no program uses it), the program's user reads and writes the
owner's tables and sequences (those made before and after), the read-only user cannot write,
and every user is confined to its declared databases."""

from __future__ import annotations

import json
import subprocess

import psycopg
import pytest
from helpers import run, run_as_printed, write

from perfcfg.harness.binaries import require
from perfcfg.model import Targets

PASSWORDS = {"APP_DB_PASSWORD": "app-pw-0123456789", "READER_PASSWORD": "reader-pw-0123456789",
             "VAULT_PASSWORD": "vault-pw-0123456789", "APP_REDIS_PASSWORD": "redis-pw-012345",
             "INGEST_PASSWORD": "ingest-pw-0123456789"}


@pytest.fixture
def roles_project(project, monkeypatch):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    base = project / "presets/base.yaml"
    text = base.read_text()
    write(base, text.replace("""databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
""", """databases:
  - name: app
    user: app
  - name: vault
    user: vault
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
  - name: reader
    password: ${env:READER_PASSWORD}
    readonly: true
    databases: [app]
  - name: vault
    password: ${env:VAULT_PASSWORD}
    databases: [vault]
  - name: ingest
    password: ${env:INGEST_PASSWORD}
""").replace("      command: python -m app.worker\n",
             "      command: python -m app.worker\n      user: ingest\n"))
    result = run("build", "--env", "staging", "--project", str(project), "--secrets", "resolve")
    assert result.code == 0, result.err
    return project / "generated/staging"


def test_roles_sql_holds_scram_secrets_never_passwords(roles_project):
    sql = (roles_project / "roles.sql").read_text()
    for password in PASSWORDS.values():
        assert password not in sql
    assert sql.count("PASSWORD 'SCRAM-SHA-256$4096:") == 4
    assert 'ALTER ROLE "reader" SET default_transaction_read_only = on;' in sql
    assert 'GRANT CONNECT ON DATABASE "app" TO "reader";' in sql
    assert 'GRANT CONNECT, TEMPORARY ON DATABASE "app" TO "reader"' not in sql
    assert (roles_project / "roles.sql").stat().st_mode & 0o777 == 0o600
    # the program's user writes the owner's tables; the owner and the reader get no DML grant
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "ingest";' in sql
    assert sql.count("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES") == 1
    hba = (roles_project / "pg_hba.conf").read_text()
    assert "# owner of database app through pgbouncer" in hba


def _psql(pg, path) -> subprocess.CompletedProcess:
    return subprocess.run([require("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.dir,
                           "-p", str(pg.port), "-U", "postgres", "-d", "postgres", "-f",
                           str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.daemons
def test_roles_sql_applies_twice_then_pgbouncer_logins_work_and_confine(
        roles_project, start_postgres, start_pgbouncer):
    out = roles_project
    targets = Targets()   # the project's: the files are for these versions
    pg = start_postgres((out / "postgresql.conf").read_text(),
                        hba_text=(out / "pg_hba.conf").read_text(), version=str(targets.postgres))
    for attempt in (1, 2):
        done = _psql(pg, out / "roles.sql")
        assert done.returncode == 0, (attempt, done.stderr)
    assert pg.query("SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                    "WHERE datname IN ('app', 'vault') ORDER BY 1") == [("app", "app"),
                                                                      ("vault", "vault")]
    bnc = start_pgbouncer((out / "pgbouncer.ini").read_text(),
                          (out / "userlist.txt").read_text(), backend=pg,
                          version=targets.pgbouncer)

    def connect(db: str, user: str, env: str) -> psycopg.Connection:
        return psycopg.connect(bnc.dsn(db, user, PASSWORDS[env]), prepare_threshold=None,
                               autocommit=True)

    # a table the owner had before roles.sql last ran (GRANT … ON ALL TABLES) and one it
    # makes after (ALTER DEFAULT PRIVILEGES), each with a sequence
    with pg.connect("app") as conn:
        conn.execute("CREATE TABLE early (id serial PRIMARY KEY, x int)")
        conn.execute("ALTER TABLE early OWNER TO app")
    assert _psql(pg, out / "roles.sql").returncode == 0
    # the owner logs in through pgbouncer: it is in userlist.txt, and pg_hba.conf agrees
    with connect("app", "app", "APP_DB_PASSWORD") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (id serial PRIMARY KEY, x int)")
        conn.execute("INSERT INTO t (x) VALUES (1)")
    with connect("app", "ingest", "INGEST_PASSWORD") as conn:
        for table in ("early", "t"):
            conn.execute(f"INSERT INTO {table} (x) VALUES (2)")
            conn.execute(f"UPDATE {table} SET x = x + 10 WHERE x = 2")
            conn.execute(f"DELETE FROM {table} WHERE x = 12")
            conn.execute(f"INSERT INTO {table} (x) VALUES (3)")
        # the owner's tables, not their shape
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE t")
    with connect("app", "reader", "READER_PASSWORD") as conn:
        assert conn.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (3,)]
        assert conn.execute("SELECT x FROM early").fetchall() == [(3,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t VALUES (2)")
        # Even with the read-only default switched off, it holds no write grant.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("BEGIN READ WRITE; INSERT INTO t (x) VALUES (2); COMMIT")
    with connect("vault", "vault", "VAULT_PASSWORD") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("vault",)
    # Confined: pg_hba.conf has no line for these pairs, so PostgreSQL refuses pgbouncer.
    for db, user, env in (("vault", "app", "APP_DB_PASSWORD"),
                          ("vault", "reader", "READER_PASSWORD"),
                          ("app", "vault", "VAULT_PASSWORD")):
        with pytest.raises(psycopg.OperationalError):
            connect(db, user, env).close()
    # And the database grants agree with pg_hba.conf: no CONNECT for undeclared users.
    assert pg.query("SELECT has_database_privilege('app', 'vault', 'CONNECT'), "
                    "has_database_privilege('reader', 'vault', 'CONNECT'), "
                    "has_database_privilege('vault', 'app', 'CONNECT')") == [(False, False,
                                                                               False)]


@pytest.mark.daemons
def test_the_manifests_command_runs_roles_sql_on_the_cluster_the_plan_names(
        roles_project, start_postgres, tmp_path):
    """Two clusters on one host: the manifest's command for roles.sql reaches the one whose
    socket and port the plan gives PostgreSQL, and leaves the other alone."""
    conf = (roles_project / "postgresql.conf").read_text()
    hba = (roles_project / "pg_hba.conf").read_text()
    version = str(Targets().postgres)
    other, this = (start_postgres(conf, hba_text=hba, version=version) for _ in range(2))
    out = tmp_path / "out"
    built = run("build", "--env", "staging", "--project", str(roles_project.parents[1]),
                "--secrets", "resolve", "--out", str(out), "--quiet",
                "--set", f"postgres.port={this.port}",
                "--set", f"postgres.unix_socket_directories={this.dir}")
    assert built.code == 0, built.err
    command = json.loads((out / "manifest.json").read_text())["files"]["roles.sql"]["apply"]
    assert f"-h {this.dir} -p {this.port} " in command
    done = run_as_printed(command, out)
    assert done.returncode == 0, done.stderr
    roles = "SELECT rolname FROM pg_roles WHERE rolname IN ('app', 'ingest') ORDER BY 1"
    assert this.query(roles) == [("app",), ("ingest",)]
    assert other.query(roles) == []
