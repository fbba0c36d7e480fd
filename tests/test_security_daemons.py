"""The real daemons enforce what perfcfg wrote: logins with the hashed secrets succeed, wrong
passwords and Redis's default user are refused."""

from __future__ import annotations

import re
import xmlrpc.client
from pathlib import Path

import psycopg
import pytest
import redis
from helpers import compile_with, group, write
from psycopg import sql

from perfcfg import model
from perfcfg.services.postgres.secrets import scram_sha256

pytestmark = pytest.mark.daemons

SECRETS = {"APP_DB_PASSWORD": "Db-pw.4sQ9_real", "APP_REDIS_PASSWORD": "Rd-pw.7xK2_real",
           "SUP_PASSWORD": "Sup-pw.3mZ8_real"}


@pytest.fixture
def files(project):
    """The project's staging files, built with resolved secrets on a host small enough to boot."""
    write(project / "hosts/vm.yaml", "memory: 1GiB\ncpus: 1\nstorage: ssd\nopen_files: 65536\n")
    result = compile_with(project, """\
supervisor:
  inet_http_server:
    port: 127.0.0.1:9001
    username: ops
    password: ${env:SUP_PASSWORD}
clients:
  - {name: migrations, user: app, database: app, connections: 2}
workload:
  programs:
    - name: worker
      command: sleep 1000
      processes: 1
""", secrets_mode="resolve", environ=SECRETS)
    assert result.ok, result.diagnostics
    return {name: data.decode() for name, data in result.files.items()}


def test_pgbouncer_and_postgres_accept_the_scram_secret_and_refuse_a_wrong_password(
        files, start_postgres, start_pgbouncer):
    # the files are for the default targets: start those versions
    targets = model.Targets()
    pg = start_postgres(files["postgresql.conf"], hba_text=files["pg_hba.conf"],
                        version=str(targets.postgres))
    secret = scram_sha256(SECRETS["APP_DB_PASSWORD"], "app")
    assert f'"app" "{secret}"' in files["userlist.txt"]
    # The role gets the very secret from userlist.txt, so neither side holds the password.
    pg.query(sql.SQL("CREATE ROLE app LOGIN PASSWORD {}").format(sql.Literal(secret)))
    pg.query("CREATE DATABASE app OWNER app")
    assert pg.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'") == [(secret,)]
    bnc = start_pgbouncer(files["pgbouncer.ini"], files["userlist.txt"], backend=pg,
                          version=targets.pgbouncer)

    good = bnc.dsn("app", "app", SECRETS["APP_DB_PASSWORD"])
    with psycopg.connect(good, prepare_threshold=None) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("app",)
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(bnc.dsn("app", "app", "wrong-password"))
    direct = f"host=127.0.0.1 port={pg.port} dbname=app user=app"
    with psycopg.connect(f"{direct} password={SECRETS['APP_DB_PASSWORD']}") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(f"{direct} password=wrong-password")
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
        psycopg.connect(f"host=127.0.0.1 port={pg.port} dbname=postgres user=postgres")


def test_redis_admits_the_acl_user_and_refuses_the_default_user(files, tmp_path, start_redis):
    acl = write(tmp_path / "users.acl", files["users.acl"])
    conf = files["redis.conf"].replace("aclfile /etc/redis/users.acl", f"aclfile {acl}")
    assert conf != files["redis.conf"]
    server = start_redis(conf, username="app", password=SECRETS["APP_REDIS_PASSWORD"])

    with server.client() as app:
        assert app.set("app:greeting", "hi") and app.get("app:greeting") == "hi"
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.set("other:key", "x")        # outside ~app:*
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.config_get("dir")            # -@all +@read +@write +@connection
    with redis.Redis(port=server.port) as anonymous, \
            pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()                     # the default user is off
    for user, password in (("default", ""), ("default", "x"), ("app", "wrong-password")):
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=server.port, username=user, password=password).ping()


def test_supervisord_http_server_takes_the_sha_password(files, start_supervisord):
    assert re.search(r"\npassword = \{SHA\}[0-9a-f]{40}\n", files["supervisord.conf"])
    # the program runs a stand-in as this user (the project's run_as names a user this host
    # need not have), as perfcfg verify runs it
    from perfcfg.services.supervisor.verify import supervisor_stand_in

    sup = start_supervisord(supervisor_stand_in(files["supervisord.conf"]))
    port = group(re.search(r"port = 127\.0\.0\.1:(\d+)", Path(sup.conf).read_text()))

    def state(user: str, password: str) -> str:
        with xmlrpc.client.ServerProxy(f"http://{user}:{password}@127.0.0.1:{port}/RPC2") as p:
            answer = p.supervisor.getState()
            assert isinstance(answer, dict), answer
            return str(answer["statename"])

    assert state("ops", SECRETS["SUP_PASSWORD"]) == "RUNNING"
    with pytest.raises(xmlrpc.client.ProtocolError, match="401"):
        state("ops", "wrong-password")
