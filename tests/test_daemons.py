"""The real-daemon harness: intended values read back, mismatches found, rejections quoted."""

from __future__ import annotations

import os

import psycopg
import pytest

from perfcfg.harness.errors import DaemonError
from perfcfg.harness.procs import alive
from perfcfg.services.postgres.daemon import check_postgresql_conf
from perfcfg.services.supervisor.parse import parse_supervisord_conf

pytestmark = pytest.mark.daemons


def assert_gone(pids: list[int], scratch: str) -> None:
    assert pids, "the handle reported no processes"
    assert [p for p in pids if alive(p)] == []
    assert not os.path.exists(scratch)


# -- PostgreSQL --------------------------------------------------------------------------------

PG_INTENDED = {
    "shared_buffers": "256MB",
    "work_mem": "4MB",
    "maintenance_work_mem": "64MB",
    "effective_cache_size": "1GB",
    "wal_buffers": "16MB",
    "max_connections": "120",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "checkpoint_completion_target": "0.9",
    "max_wal_size": "2GB",
    "statement_timeout": "30s",
    "idle_in_transaction_session_timeout": "1min",
    "log_min_duration_statement": "250ms",
    "synchronous_commit": "off",
    "jit": "off",
    "wal_level": "replica",
    "password_encryption": "scram-sha-256",
    "shared_preload_libraries": "pg_stat_statements",
    "application_name": "it's perfcfg",
}


def pg_conf(values: dict[str, str]) -> str:
    return "".join(f"{k} = '{v.replace(chr(39), chr(39) * 2)}'\n" for k, v in values.items())


def test_postgres_effective_values_equal_intended(start_postgres):
    pg = start_postgres(pg_conf(PG_INTENDED))
    assert pg.mismatches(PG_INTENDED) == []
    assert pg.file_errors() == []
    assert pg.query("SELECT count(*) FROM pg_extension WHERE extname = 'plpgsql'") == [(1,)]
    assert "pg_stat_statements" in pg.settings()["shared_preload_libraries"].setting


def test_postgres_mismatch_is_reported_in_base_units(start_postgres):
    pg = start_postgres("shared_buffers = 256MB\nwork_mem = 4MB\n")
    assert pg.mismatches({"shared_buffers": "512MB", "work_mem": "4096kB", "jit": "on",
                          "port": "1"}) == [("shared_buffers", "512MB", "256MB")]


def test_postgres_offline_check_reports_base_units(postgres_bin):
    assert check_postgresql_conf("shared_buffers = 256MB\nwork_mem = 4MB\n",
                                 ("shared_buffers", "work_mem")) == {
        "shared_buffers": "32768", "work_mem": "4096"}


@pytest.mark.parametrize("line, message", [
    ("work_mem = 4XB", 'invalid value for parameter "work_mem": "4XB"'),
    ("work_mme = 4MB", 'unrecognized configuration parameter "work_mme"'),
    ("work_mem = = 4MB", "syntax error in file"),
    ("max_connections = -5", "-5 is outside the valid range for parameter"),
    ("wal_level = superduper", "Available values: minimal, replica, logical."),
], ids=["bad-unit", "unknown-key", "syntax", "range", "enum"])
def test_postgres_offline_check_quotes_the_server(postgres_bin, line, message):
    with pytest.raises(DaemonError) as err:
        check_postgresql_conf(f"shared_buffers = 128MB\n{line}\n")
    assert message in err.value.log_tail
    assert "contains errors" in err.value.log_tail or "syntax error" in err.value.log_tail


def test_postgres_cross_parameter_error_only_at_start(postgres_bin, start_postgres):
    assert check_postgresql_conf("wal_level = minimal\n", ("wal_level",)) == {"wal_level": "minimal"}
    with pytest.raises(DaemonError) as err:
        start_postgres("wal_level = minimal\n")
    assert 'requires wal_level "replica" or "logical"' in err.value.log_tail
    assert err.value.returncode == 1


def test_postgres_teardown_leaves_nothing(pg_template):
    from perfcfg.services.postgres.daemon import PostgresServer

    with PostgresServer("max_connections = 20\n", pg_template) as pg:
        with pg.connect() as conn:           # a backend: it setsid()s out of the group
            conn.execute("SELECT 1")
            pids, scratch = pg.pids(), pg.dir
        assert len(pids) >= 5
    assert_gone(pids, scratch)


def test_postgres_honours_generated_hba(start_postgres):
    pg = start_postgres("password_encryption = 'scram-sha-256'\n",
                        hba_text="host all all 127.0.0.1/32 reject\n")
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres")
    assert pg.query("SELECT 1") == [(1,)]   # the harness's own socket still works


# -- pgbouncer ---------------------------------------------------------------------------------

BNC_INTENDED = {
    "auth_type": "trust",
    "admin_users": "admin",
    "stats_users": "stats",
    "pool_mode": "transaction",
    "max_client_conn": "200",
    "default_pool_size": "10",
    "min_pool_size": "2",
    "reserve_pool_size": "3",
    "reserve_pool_timeout": "2.5",
    "server_idle_timeout": "30",
    "query_wait_timeout": "60",
    "idle_transaction_timeout": "15",
    "ignore_startup_parameters": "extra_float_digits",
    "log_connections": "0",
    "unix_socket_mode": "0770",
}
USERLIST = '"postgres" ""\n"bot" ""\n"admin" ""\n'


def bnc_ini(values: dict[str, str], db_line: str = "app = host=db.invalid port=5432 dbname=postgres"
            ) -> str:
    return "[databases]\n" + db_line + "\n\n[pgbouncer]\n" + "".join(
        f"{k} = {v}\n" for k, v in values.items())


def test_pgbouncer_effective_values_and_a_query_through_the_pool(start_postgres, start_pgbouncer):
    pg = start_postgres("max_connections = 50\n")
    pg.query("CREATE ROLE bot LOGIN")
    bnc = start_pgbouncer(bnc_ini(BNC_INTENDED), USERLIST, backend=pg)
    assert bnc.mismatches(BNC_INTENDED) == []
    assert bnc.config()["unix_socket_mode"]["value"] == "504"   # reported in decimal
    [db] = [d for d in bnc.databases() if d["name"] != "pgbouncer"]
    assert (db["name"], db["host"], db["port"], db["database"]) == (
        "app", "127.0.0.1", str(pg.port), "postgres")
    assert {"postgres", "bot", "admin"} <= {u["name"] for u in bnc.users()}
    with psycopg.connect(bnc.dsn("app", "bot"), prepare_threshold=None) as conn:
        assert conn.execute("SELECT current_user, current_setting('port')").fetchone() == (
            "bot", str(pg.port))


def test_pgbouncer_mismatch_is_reported(start_pgbouncer):
    bnc = start_pgbouncer(bnc_ini({"default_pool_size": "20", "pool_mode": "session"}), USERLIST)
    assert bnc.mismatches({"default_pool_size": "25", "pool_mode": "Session",
                           "listen_port": "6432"}) == [("default_pool_size", "25", "20")]


@pytest.mark.parametrize("line, message", [
    ("pool_mode = turbo", 'invalid value "turbo" for parameter pool_mode'),
    ("server_idle_timeout = 30s", 'invalid value "30s" for parameter server_idle_timeout'),
    ("frobnicate = 1", "unknown parameter: pgbouncer/frobnicate"),
    ("max_client_conn = 100 # inline comment", 'invalid value "100 # inline comment"'),
], ids=["enum", "time-unit", "unknown-key", "inline-comment"])
def test_pgbouncer_rejected_config_quotes_pgbouncer(start_pgbouncer, line, message):
    with pytest.raises(DaemonError) as err:
        start_pgbouncer("[pgbouncer]\n" + line + "\n")
    assert message in err.value.log_tail
    assert "FATAL cannot load config file" in err.value.log_tail


def test_pgbouncer_broken_userlist_is_an_error(start_pgbouncer):
    with pytest.raises(DaemonError, match="broken auth file"):
        start_pgbouncer("[pgbouncer]\nauth_type = trust\n", '"a" ""\n# not a comment here\n')


def test_pgbouncer_teardown_leaves_nothing(start_postgres):
    from perfcfg.services.pgbouncer.daemon import PgBouncer

    pg = start_postgres("")
    with PgBouncer(bnc_ini({"auth_type": "trust"}), USERLIST, backend=pg) as bnc:
        pids, scratch = bnc.pids(), bnc.dir
    assert_gone(pids, scratch)


# -- Redis -------------------------------------------------------------------------------------

REDIS_INTENDED = {
    "maxmemory": "256mb",
    "maxmemory-policy": "allkeys-lru",
    "maxmemory-samples": "10",
    "maxclients": "1000",
    "timeout": "300",
    "tcp-keepalive": "60",
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": "900 1 300 10",
    "hz": "50",
    "lazyfree-lazy-eviction": "yes",
    "client-output-buffer-limit": "pubsub 32mb 8mb 60",
}


def redis_conf(values: dict[str, str]) -> str:
    return "".join(f"{k} {v}\n" for k, v in values.items())


def test_redis_effective_values_equal_intended(start_redis):
    r = start_redis(redis_conf(REDIS_INTENDED) + "bind 0.0.0.0\ndaemonize yes\n")
    assert r.mismatches(REDIS_INTENDED) == []
    assert r.config()["maxmemory"] == "268435456"
    assert r.config()["daemonize"] == "no"          # harness-owned, forced on the command line


def test_redis_silent_changes_are_reported(start_redis):
    r = start_redis("hz 1000\nmaxmemory 256m\n")
    assert r.mismatches({"hz": "1000", "maxmemory": "256mb"}) == [
        ("hz", "1000", "500"), ("maxmemory", "256mb", "256000000")]


def test_redis_acl_list(start_redis):
    r = start_redis("user default on nopass ~* &* +@all\nuser bot on >s3cret ~bot:* +@read\n")
    acl = r.acl_list()
    assert any(line.startswith("user bot on") and "~bot:*" in line for line in acl)


@pytest.mark.parametrize("line, message", [
    ("frobnicate yes", "Bad directive or wrong number of arguments"),
    ("maxmemory 256XB", "argument must be a memory value"),
    ("appendonly maybe", "argument must be 'yes' or 'no'"),
    ("maxmemory-policy allkeys-lfu-ish", "argument(s) must be one of the following"),
], ids=["unknown", "memory", "bool", "enum"])
def test_redis_rejected_config_quotes_redis(start_redis, line, message):
    with pytest.raises(DaemonError) as err:
        start_redis("maxclients 100\n" + line + "\n")
    assert "at line 2" in err.value.log_tail
    assert message in err.value.log_tail


def test_redis_teardown_leaves_nothing():
    from conftest import require_daemon

    from perfcfg.services.redis.daemon import RedisServer
    require_daemon("redis")
    with RedisServer("save 60 1\n") as r:
        r.client().set("k", "v")
        pids, scratch = r.pids(), r.dir
    assert_gone(pids, scratch)
    assert not os.path.exists("dump.rdb")


# -- supervisord -------------------------------------------------------------------------------

SUP_CONF = """\
[supervisord]
logfile=/var/log/supervisor/supervisord.log
minfds=4096
loglevel=warn

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock

[program:worker]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=2
autorestart=true
stopsignal=INT
stopasgroup=true
killasgroup=true
stopwaitsecs=5
stdout_logfile=/var/log/app/worker-%(process_num)02d.log
stdout_logfile_maxbytes=10MB
redirect_stderr=true
environment=BOT_ENV="test"

[program:ticker]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)d
numprocs=2
startsecs=1
"""
SUP_INTENDED = {
    "supervisord.minfds": "4096",
    "supervisord.loglevel": "warn",
    "program:worker.numprocs": "2",
    "program:worker.autorestart": "true",
    "program:worker.stopsignal": "INT",
    "program:worker.stopasgroup": "true",
    "program:worker.killasgroup": "true",
    "program:worker.stopwaitsecs": "5",
    "program:worker.stdout_logfile_maxbytes": "10MB",
    "program:worker.redirect_stderr": "true",
    "program:worker.environment": 'BOT_ENV="test"',
    "program:worker.command": "/bin/sleep 1000",
    "program:ticker.startsecs": "1",
    "program:ticker.numprocs": "2",
}


def test_supervisord_programs_run_with_intended_values(start_supervisord):
    sup = start_supervisord(SUP_CONF)
    states = {(p["group"], p["name"]): p["statename"] for p in sup.process_info()}
    assert states == {("worker", "worker_00"): "RUNNING", ("worker", "worker_01"): "RUNNING",
                      ("ticker", "ticker_0"): "RUNNING", ("ticker", "ticker_1"): "RUNNING"}
    assert sup.mismatches(SUP_INTENDED) == []
    assert {c["stopsignal"] for c in sup.config_info() if c["group"] == "worker"} == {2}


def test_supervisord_mismatch_is_reported(start_supervisord):
    sup = start_supervisord(SUP_CONF)
    assert sup.mismatches({"program:worker.stopwaitsecs": "10",
                           "program:worker.stopsignal": "TERM",
                           "supervisord.minfds": "1024"}) == [
        ("program:worker.stopsignal", "TERM", "2"),
        ("program:worker.stopwaitsecs", "10", "5"),
        ("supervisord.minfds", "1024", "4096")]


@pytest.mark.parametrize("line, message", [
    ("autorestart=sometimes", "invalid 'autorestart' value 'sometimes' in section 'program:w'"),
    ("stopsignal=SIGFOO", "value 'SIGFOO' is not a valid signal name"),
    ("startsecs=soon", "invalid literal for int() with base 10: 'soon'"),
], ids=["bool", "signal", "int"])
def test_supervisord_rejected_config_quotes_supervisor(start_supervisord, line, message):
    with pytest.raises(DaemonError) as err:
        start_supervisord(f"[supervisord]\n[program:w]\ncommand=/bin/sleep 1000\n{line}\n")
    assert message in err.value.log_tail
    with pytest.raises(DaemonError) as parsed:
        parse_supervisord_conf(f"[supervisord]\n[program:w]\ncommand=/bin/sleep 1000\n{line}\n")
    assert message in parsed.value.message


def test_supervisord_program_that_dies_is_an_error(start_supervisord):
    with pytest.raises(DaemonError, match="w:w is FATAL"):
        start_supervisord("[supervisord]\n[program:w]\ncommand=/bin/false\nstartretries=0\n")


def test_supervisor_parse_finds_unknown_keys_and_sections():
    parsed = parse_supervisord_conf(SUP_CONF + "startretires=3\n[programm:x]\ncommand=/bin/true\n"
                                    "[supervisord]\nlogfile_maxbites=1\n")
    assert parsed.unknown_keys == [("supervisord", "logfile_maxbites"),
                                   ("program:ticker", "startretires")]
    assert parsed.unknown_sections == ["programm:x"]
    assert parse_supervisord_conf(SUP_CONF).unknown_keys == []


def test_supervisor_parse_host_independent_mode():
    conf = SUP_CONF + "user=nosuchuser-pf\n"
    assert parse_supervisord_conf(conf, host_independent=True).unknown_keys == []
    with pytest.raises(DaemonError, match="does not exist|Invalid user name"):
        parse_supervisord_conf(conf, host_independent=False)


def test_supervisord_teardown_leaves_nothing():
    from conftest import require_daemon

    from perfcfg.services.supervisor.daemon import Supervisord
    require_daemon("supervisor")
    with Supervisord(SUP_CONF) as sup:
        pids, scratch = sup.pids(), sup.dir
        assert len(pids) == 5        # supervisord + 4 programs, which setpgrp() away
    assert_gone(pids, scratch)
