"""Every file generated for the example is loaded by the real daemon of the version it targets,
which runs with exactly the values perfcfg wrote (intended values derived from the Plan by
perfcfg.verify.intended).

The example's environments target two stacks: development Debian 12's (PostgreSQL 15,
pgbouncer 1.18, Redis 7.0, supervisor 4.2), staging and production a current one (PostgreSQL 17,
pgbouncer 1.24, Valkey 8.1, supervisor 4.3). Two more stacks rebuild the example with the other
supported versions, so that every version's binary starts from files perfcfg generated for it:
PostgreSQL 16 and 18 (their npm and PyPI builds have no lz4, zstd or liburing, as their
``postgres_build`` says), Redis 8.0 and Valkey 8.0.

One PostgreSQL (with pgbouncer in front) per stack, shared by that stack's tests. The production
files are sized for a 64 GiB host; this machine has less, and they start as generated
(PostgreSQL maps shared_buffers lazily), so nothing is overridden.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter

import psycopg
import pytest
from conftest import require_daemon
from helpers import ENVS, EXAMPLE, write

from perfcfg.services import registry
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import HARNESS_KEYS as PG_HARNESS_KEYS
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.supervisor import encode as sup_enc
from perfcfg.services.supervisor.daemon import Supervisord
from perfcfg.services.supervisor.verify import DROPPED as SUPERVISOR_DROPPED
from perfcfg.services.supervisor.verify import HOST_KEYS as SUPERVISOR_HOST_KEYS
from perfcfg.services.supervisor.verify import supervisor_stand_in
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.stages.secrets import SecretResolver
from perfcfg.verify import intended

pytestmark = pytest.mark.daemons

NO_LIBRARIES = "{lz4: false, zstd: false, liburing: false}"
# stack → (the example's environment, its targets there; None: as committed)
STACKS = {
    **{env: (env, None) for env in ENVS},
    "pg16-redis8.0": ("staging", f'{{postgres: 16, postgres_build: {NO_LIBRARIES}, '
                                 'pgbouncer: "1.18", redis: "8.0", supervisor: "4.2"}'),
    "pg18-valkey8.0": ("production", f'{{postgres: 18, postgres_build: {NO_LIBRARIES}, '
                                     'pgbouncer: "1.24", valkey: "8.0", supervisor: "4.3"}'),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """stack → its compiled result (the example, or a copy whose environment targets others)."""
    results = {}
    for stack, (env, targets) in STACKS.items():
        project = EXAMPLE
        if targets is not None:
            project = tmp_path_factory.mktemp(stack) / "botfarm"
            shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("generated"))
            text = (project / "perfcfg.yaml").read_text()
            marker = f"  {env}:\n"
            write(project / "perfcfg.yaml", text.replace(
                marker, f"{marker}    targets: {targets}\n", 1))
        results[stack] = compile_env(Request(project, env))
    assert all(r.ok for r in results.values()), {s: r.diagnostics for s, r in results.items()}
    return results


def runs(compiled, stack: str) -> dict[str, tuple[str, str]]:
    """service → (daemon, version) this stack's files are for."""
    return registry.daemons(compiled[stack].config.targets)


def test_the_stacks_cover_every_supported_version(compiled):
    covered = {pair for stack in STACKS for pair in runs(compiled, stack).values()}
    assert covered == {(d, v) for d, spec in registry.binaries().items() for v in spec.versions}


def text(compiled, stack: str, name: str) -> str:
    return compiled[stack].files[name].decode()


def cache_conf(compiled, stack: str) -> str:
    return "valkey.conf" if "valkey.conf" in compiled[stack].files else "redis.conf"


@pytest.fixture(scope="module", params=list(STACKS))
def stack(request, compiled, pg_template_of):
    """(stack, PostgreSQL from postgresql.conf + pg_hba.conf, pgbouncer in front of it), each
    the version the stack targets."""
    name = request.param
    versions = runs(compiled, name)
    pg_version, bnc_version = versions["postgres"][1], versions["pgbouncer"][1]
    require_daemon("postgresql", pg_version)
    require_daemon("pgbouncer", bnc_version)
    with PostgresServer(text(compiled, name, "postgresql.conf"), pg_template_of(pg_version),
                        hba_text=text(compiled, name, "pg_hba.conf"), version=pg_version) as pg, \
            PgBouncer(text(compiled, name, "pgbouncer.ini"), text(compiled, name, "userlist.txt"),
                      backend=pg, version=bnc_version) as bnc:
        yield name, pg, bnc


# -- the intended values are the files: every line written is compared --------------------

def written(compiled, env: str) -> dict[str, dict[str, str]]:
    """Each file's settings as written, keyed like perfcfg.verify.intended (comments skipped)."""
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
        "redis": lines(cache_conf(compiled, env), " "),
        "supervisor": {f"{section}.{k}": v for section in sup.sections()
                       if section == "supervisord" or section.startswith("program:")
                       for k, v in sup[section].items()},
    }


@pytest.mark.parametrize("env", list(STACKS))
def test_every_line_written_is_an_intended_value(compiled, env):
    want = intended.from_result(compiled[env])
    files = written(compiled, env)
    assert files["postgres"] == want["postgres"].values
    assert files["pgbouncer"] == want["pgbouncer"].settings
    assert files["redis"] == want["redis"].values
    sup = {k: v for k, v in files["supervisor"].items()
           if k.rsplit(".", 1)[1] not in SUPERVISOR_HOST_KEYS}
    env_keys = [k for k in sup if k.endswith(".environment")]
    assert {k: sup_enc.decode_supervisor_value(v) if k in env_keys else v
            for k, v in sup.items()} == want["supervisor"].values


# -- PostgreSQL --------------------------------------------------------------------------

def test_postgres_runs_with_every_value_written(compiled, stack):
    env, pg, _ = stack
    assert pg.query("SHOW server_version")[0][0].startswith(f"{runs(compiled, env)['postgres'][1]}.")
    want = intended.from_result(compiled[env])["postgres"].values
    assert len(want) > 30
    assert pg.mismatches(want) == []
    not_applied = [e for e in pg.file_errors() if e[2] not in PG_HARNESS_KEYS]
    assert not_applied == []


def test_postgres_took_its_values_from_the_generated_file(compiled, stack):
    env, pg, _ = stack
    sources = {name: s.source for name, s in pg.settings().items()}
    want = intended.from_result(compiled[env])["postgres"].values
    # pg_settings by lower-case name: the file writes DateStyle and TimeZone as PostgreSQL does
    assert {n: sources[n.lower()] for n in want if n not in PG_HARNESS_KEYS} == \
        {n: "configuration file" for n in want if n not in PG_HARNESS_KEYS}


# -- pgbouncer ---------------------------------------------------------------------------

def test_pgbouncer_runs_with_every_key_written(compiled, stack):
    env, _, bnc = stack
    want = intended.from_result(compiled[env])["pgbouncer"].settings
    # pgbouncer ≥ 1.21 carries prepared statements in transaction pooling: perfcfg writes it
    assert ("max_prepared_statements" in want) == (runs(compiled, env)["pgbouncer"][1] != "1.18")
    assert len(want) > 10
    assert bnc.mismatches(want) == []


def test_pgbouncer_databases_as_intended(compiled, stack):
    env, pg, bnc = stack
    want = intended.from_result(compiled[env])["pgbouncer"].databases
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
    secret = dict(compiled[env].plan.parts["postgres"].users)[user]
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

@pytest.mark.parametrize("env", list(STACKS))
def test_redis_runs_with_every_directive_written(compiled, env):
    daemon, version = runs(compiled, env)["redis"]
    require_daemon(daemon, version)
    want = intended.from_result(compiled[env])["redis"]
    assert len(want.values) > 10
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle(text(compiled, env, f"{daemon}.conf"), acl_text=text(compiled, env, "users.acl"),
                version=version) as r:
        with r.client() as c:
            info = c.info("server")
        assert info.get(f"{daemon}_version", info["redis_version"]).startswith(f"{version}.")
        assert r.mismatches(want.values, want.enums) == []
        # The generated ACL file is what Redis runs with: the default user is off and the
        # declared user is on (the harness's own admin user comes last; Redis 7.2+ and Valkey
        # list the sanitize-payload flag they default to).
        users = r.acl_list()
        assert re.match(r"user bot on (sanitize-payload )?#", users[0]), users[0]
        assert "user default off" in users[1]


# -- supervisord -------------------------------------------------------------------------

@pytest.mark.parametrize("env", list(STACKS))
def test_supervisord_runs_every_program_as_configured(compiled, env):
    version = runs(compiled, env)["supervisor"][1]
    require_daemon("supervisor", version)
    want = intended.from_result(compiled[env])["supervisor"]
    conf = text(compiled, env, "supervisord.conf")
    stand_in = supervisor_stand_in(conf)
    assert [line for line in stand_in.splitlines() if line.split(" =")[0] in SUPERVISOR_DROPPED] \
        == []
    with Supervisord(stand_in, version=version) as sup:
        processes = sup.process_info()
        assert Counter(p["group"] for p in processes if p["statename"] == "RUNNING") == \
            Counter(want.programs)
        assert sorted(p["name"] for p in processes) == sorted(
            n for names in want.process_names.values() for n in names)
        assert sup.mismatches(want.values) == []


def test_supervisor_stand_in_changes_only_host_keys():
    conf = ("[supervisord]\nuser = root\n[program:w]\ncommand = python -m w\nuser = bot\n"
            "directory = /srv\nnumprocs = 2\n")
    assert supervisor_stand_in(conf) == (
        "[supervisord]\nuser = root\n[program:w]\ncommand = /bin/sleep 1000\nnumprocs = 2\n")
