"""Every file generated for the example is loaded by the real daemon, which runs with exactly
the values perfcfg wrote (intended values derived from the Plan by perfcfg.services.intended).

One PostgreSQL (with pgbouncer in front) per environment, shared by that environment's tests.
The production files are sized for a 64 GiB host; this machine has less, and they start as
generated (PostgreSQL maps shared_buffers lazily), so nothing is overridden.
"""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

from conftest import require_daemon
from helpers import ENVS, EXAMPLE
from perfcfg.services import intended
from perfcfg.daemons import PgBouncer, PostgresServer, RedisServer, Supervisord
from perfcfg.services.postgres.daemon import HARNESS_KEYS as PG_HARNESS_KEYS
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.services.supervisor import encode as sup_enc
from perfcfg.stages.secrets import SecretResolver
from perfcfg.verify import SUPERVISOR_DROPPED, supervisor_stand_in

pytestmark = pytest.mark.daemons


@pytest.fixture(scope="module")
def compiled():
    results = {env: compile_env(Request(EXAMPLE, env)) for env in ENVS}
    assert all(r.ok for r in results.values())
    return results


def text(compiled, env: str, name: str) -> str:
    return compiled[env].files[name].decode()


@pytest.fixture(scope="module", params=ENVS)
def stack(request, compiled, pg_template):
    """(env, PostgreSQL from postgresql.conf + pg_hba.conf, pgbouncer in front of it)."""
    require_daemon("pgbouncer")
    env = request.param
    with PostgresServer(text(compiled, env, "postgresql.conf"), pg_template,
                        hba_text=text(compiled, env, "pg_hba.conf")) as pg, \
            PgBouncer(text(compiled, env, "pgbouncer.ini"), text(compiled, env, "userlist.txt"),
                      postgres=pg) as bnc:
        yield env, pg, bnc


# -- the intended values are the files: every line written is compared --------------------

def written(compiled, env: str) -> dict[str, dict[str, str]]:
    """Each file's settings as written, keyed like perfcfg.services.intended (comments skipped)."""
    import configparser

    def lines(name: str, sep: str) -> dict[str, str]:
        return dict(line.split(sep, 1) for line in text(compiled, env, name).splitlines()
                    if line and not line.startswith(("#", ";", "[")))

    ini = configparser.RawConfigParser(strict=False, interpolation=None)
    ini.read_string(text(compiled, env, "pgbouncer.ini"))
    sup = configparser.RawConfigParser(strict=False, interpolation=None)
    sup.read_string(text(compiled, env, "supervisord.conf"))
    return {
        "postgres": lines("postgresql.conf", " = "),
        "pgbouncer": dict(ini["pgbouncer"]),
        "redis": lines("redis.conf", " "),
        "supervisor": {f"{section}.{k}": v for section in sup.sections()
                       if section == "supervisord" or section.startswith("program:")
                       for k, v in sup[section].items()},
    }


@pytest.mark.parametrize("env", ENVS)
def test_every_line_written_is_an_intended_value(compiled, env):
    want = intended.from_result(compiled[env])
    files = written(compiled, env)
    assert files["postgres"] == want.postgres
    assert files["pgbouncer"] == want.pgbouncer
    assert files["redis"] == want.redis
    sup = {k: v for k, v in files["supervisor"].items()
           if k.rsplit(".", 1)[1] not in intended.SUPERVISOR_HOST_KEYS}
    env_keys = [k for k in sup if k.endswith(".environment")]
    assert {k: sup_enc.decode_supervisor_value(v) if k in env_keys else v
            for k, v in sup.items()} == want.supervisor


# -- PostgreSQL --------------------------------------------------------------------------

def test_postgres_runs_with_every_value_written(compiled, stack):
    env, pg, _ = stack
    want = intended.from_result(compiled[env]).postgres
    assert len(want) > 30
    assert pg.mismatches(want) == []
    not_applied = [e for e in pg.file_errors() if e[2] not in PG_HARNESS_KEYS]
    assert not_applied == []


def test_postgres_took_its_values_from_the_generated_file(compiled, stack):
    env, pg, _ = stack
    sources = {name: s.source for name, s in pg.settings().items()}
    want = intended.from_result(compiled[env]).postgres
    assert {n: sources[n] for n in want if n not in PG_HARNESS_KEYS} == \
        {n: "configuration file" for n in want if n not in PG_HARNESS_KEYS}


# -- pgbouncer ---------------------------------------------------------------------------

def test_pgbouncer_runs_with_every_key_written(compiled, stack):
    env, _, bnc = stack
    want = intended.from_result(compiled[env]).pgbouncer
    assert len(want) > 10
    assert bnc.mismatches(want) == []


def test_pgbouncer_databases_as_intended(compiled, stack):
    env, pg, bnc = stack
    want = intended.from_result(compiled[env]).databases
    shown = {d["name"]: d for d in bnc.databases() if d["name"] != "pgbouncer"}
    assert sorted(shown) == sorted(want)
    for name, columns in want.items():
        # host and port are the harness's: pointed at the scratch PostgreSQL
        expected = {**columns, "host": "127.0.0.1", "port": str(pg.port)}
        assert {k: shown[name][k] for k in expected} == expected


def app_user(result) -> tuple[str, str, str]:
    """(database, its pool user, that user's placeholder password) of the example."""
    db = result.config.databases[0]
    [user] = [u for u in result.config.users if u.name == db.user]
    password = SecretResolver("placeholder", {}, EXAMPLE).resolve(user.password)
    return db.name, user.name, password


def test_app_user_logs_in_through_pgbouncer_with_the_generated_scram_secret(compiled, stack):
    env, pg, bnc = stack
    dbname, user, password = app_user(compiled[env])
    secret = dict(compiled[env].plan.users)[user]
    assert secret.startswith("SCRAM-SHA-256$") and password not in text(compiled, env,
                                                                        "userlist.txt")
    pg.query(f'CREATE DATABASE "{dbname}"')
    # PostgreSQL stores a SCRAM string given as the password verbatim: the same secret
    # pgbouncer holds, so pgbouncer can log in to the server with the client's proof.
    pg.query(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{secret}'")
    with psycopg.connect(bnc.dsn(dbname, user, password), prepare_threshold=None) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            user, dbname)
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(bnc.dsn(dbname, user, password + "x"))


# -- Redis -------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_redis_runs_with_every_directive_written(compiled, env):
    require_daemon("redis")
    want = intended.from_result(compiled[env])
    assert len(want.redis) > 10
    with RedisServer(text(compiled, env, "redis.conf"),
                     acl_text=text(compiled, env, "users.acl")) as r:
        assert r.mismatches(want.redis, want.redis_enums) == []
        # The generated ACL file is what Redis runs with: the default user is off and the
        # declared user is on (the harness's own admin user comes last).
        users = r.acl_list()
        assert users[0].startswith("user bot on #") and "user default off" in users[1]


# -- supervisord -------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_supervisord_runs_every_program_as_configured(compiled, env):
    require_daemon("supervisor")
    want = intended.from_result(compiled[env])
    conf = text(compiled, env, "supervisord.conf")
    stand_in = supervisor_stand_in(conf)
    assert [line for line in stand_in.splitlines() if line.split(" =")[0] in SUPERVISOR_DROPPED] \
        == []
    with Supervisord(stand_in) as sup:
        processes = sup.process_info()
        assert Counter(p["group"] for p in processes if p["statename"] == "RUNNING") == \
            Counter(want.programs)
        assert sorted(p["name"] for p in processes) == sorted(
            n for names in want.process_names.values() for n in names)
        assert sup.mismatches(want.supervisor) == []


def test_supervisor_stand_in_changes_only_host_keys():
    conf = ("[supervisord]\nuser = root\n[program:w]\ncommand = python -m w\nuser = bot\n"
            "directory = /srv\nnumprocs = 2\n")
    assert supervisor_stand_in(conf) == (
        "[supervisord]\nuser = root\n[program:w]\ncommand = /bin/sleep 1000\nnumprocs = 2\n")
