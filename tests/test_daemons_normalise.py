"""How intended values are compared with what each daemon reports (no daemon needed)."""

from __future__ import annotations

import pytest

from perfcfg.harness.ini import set_keys
from perfcfg.harness.normalise import c_int
from perfcfg.services.pgbouncer.compare import pgbouncer_equal
from perfcfg.services.postgres.compare import pg_bool, pg_equal
from perfcfg.services.redis.compare import redis_equal


@pytest.mark.parametrize("intended, setting, unit, vartype, equal", [
    ("256MB", "32768", "8kB", "integer", True),
    ("'256MB'", "32768", "8kB", "integer", True),
    ("512MB", "32768", "8kB", "integer", False),
    ("4MB", "4096", "kB", "integer", True),
    ("30s", "30000", "ms", "integer", True),
    ("1min", "60", "s", "integer", True),
    ("100us", "0", "ms", "integer", True),        # rounds to 0 = disabled, as PG does
    ("0x10", "16", None, "integer", True),
    ("0777", "511", None, "integer", True),       # leading zero is octal in postgresql.conf
    ("1.1", "1.1", None, "real", True),
    ("tru", "on", None, "bool", True),
    ("o", "on", None, "bool", False),             # ambiguous prefix
    ("MD5", "md5", None, "enum", True),
    ("true", "on", None, "enum", True),           # synchronous_commit takes bool spellings
    ("'it''s'", "it's", None, "string", True),
], ids=lambda v: str(v))
def test_pg_equal(intended, setting, unit, vartype, equal):
    assert pg_equal(intended, setting, unit, vartype) is equal


@pytest.mark.parametrize("text, value", [
    ("on", True), ("of", False), ("t", True), ("NO", False), ("1", True), ("0", False),
    ("o", None), ("2", None), ("", None),
])
def test_pg_bool(text, value):
    assert pg_bool(text) is value


@pytest.mark.parametrize("text, value", [("10", 10), ("0100", 64), ("0x1f", 31), ("-3", -3),
                                         ("08", None), ("abc", None)])
def test_c_int(text, value):
    assert c_int(text) == value


@pytest.mark.parametrize("intended, effective, enum, equal", [
    ("0777", "511", False, True), ("30", "30", False, True), ("1.5", "1.50", False, True),
    ("Transaction", "transaction", True, True), ("Transaction", "transaction", False, False),
    ("20", "25", False, False), ("1", "0", False, False),
])
def test_pgbouncer_equal(intended, effective, enum, equal):
    assert pgbouncer_equal(intended, effective, enum) is equal


@pytest.mark.parametrize("key, intended, effective, equal", [
    ("maxmemory", "256mb", "268435456", True),
    ("maxmemory", "256m", "268435456", False),
    ("maxmemory", "1gb", "1073741824", True),
    ("maxmemory", "1G", "1000000000", True),
    ("appendonly", "YES", "yes", True),
    ("save", '""', "", True),
    ("save", "900 1  300 10", "900 1 300 10", True),
    ("client-output-buffer-limit", "replica 256mb 64mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", True),
    ("client-output-buffer-limit", "pubsub 64mb 8mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", False),
])
def test_redis_equal(key, intended, effective, equal):
    assert redis_equal(intended, effective, key=key) is equal


def test_ini_set_keys_rewrites_in_place_and_never_repeats_a_header():
    text = "[databases]\napp = host=x\n\n[pgbouncer]\nlisten_port = 6432\n; keep me\n\n[users]\n"
    out = set_keys(text, "pgbouncer", {"listen_port": "7000", "logfile": "/tmp/l"})
    assert out == ("[databases]\napp = host=x\n\n[pgbouncer]\nlisten_port = 7000\n; keep me\n"
                   "logfile = /tmp/l\n\n[users]\n")
    assert out.count("[pgbouncer]") == 1


def test_a_program_environment_row_shows_only_the_variables_that_differ():
    # supervisord gives a program its own environment (the whole shell that started it) under
    # the plan's variables: the row names the plan's that differ, not the shell's
    from types import SimpleNamespace

    from perfcfg.services.supervisor.daemon import supervisor_mismatches

    shell = {f"SHELL_VAR_{i}": "x" * 40 for i in range(40)}
    process = SimpleNamespace(name="worker", environment={**shell, "A": "1", "B": "3"})
    options = SimpleNamespace(process_group_configs=[
        SimpleNamespace(name="worker", process_configs=[process])])
    info = [{"group": "worker", "name": "worker"}]
    rows, _ = supervisor_mismatches(info, {"program:worker.environment": 'A="1",B="2",C="4"'},
                                    options)
    assert rows == [("program:worker.environment", 'B="2",C="4"', 'B="3",C (unset)')]
