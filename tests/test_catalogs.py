"""The generated parameter catalogs: shape, known entries, and freshness against the daemons."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from perfcfg.daemons import DaemonError

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "schemas" / "catalogs"
FILES = ["pgbouncer-1.18.json", "postgresql-15.json", "redis-7.0.json", "supervisor-4.json"]
TYPES = {"bool", "integer", "real", "string", "enum", "memory", "seconds", "octal", "list"}
FIELDS = {"type", "unit", "min", "max", "values", "default", "context", "section"}


def load(name: str) -> dict:
    return json.loads((CATALOGS / name).read_text())


def params(name: str) -> dict[str, dict]:
    return load(name)["parameters"]


def gen_module():
    spec = importlib.util.spec_from_file_location("gen_catalogs", ROOT / "scripts" / "gen_catalogs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, daemon, version", [
    ("postgresql-15.json", "postgresql", "15"), ("pgbouncer-1.18.json", "pgbouncer", "1.18"),
    ("redis-7.0.json", "redis", "7.0"), ("supervisor-4.json", "supervisor", "4"),
])
def test_catalog_header_and_entry_shape(name, daemon, version):
    cat = load(name)
    assert set(cat) == {"daemon", "version", "source", "parameters"}
    assert (cat["daemon"], cat["version"]) == (daemon, version)
    for key, entry in cat["parameters"].items():
        assert set(entry) == FIELDS, key
        assert entry["type"] in TYPES, key
        assert (entry["type"] == "enum") == bool(entry["values"]), key
        assert entry["default"] is None or isinstance(entry["default"], str), key


@pytest.mark.parametrize("name", FILES)
def test_catalog_files_are_canonical_json(name):
    text = (CATALOGS / name).read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name, low, high", [
    ("postgresql-15.json", 350, 370),      # 354 on 15.18, 356 on 15.20
    ("pgbouncer-1.18.json", 84, 84),       # SHOW CONFIG rows of 1.18.0
    ("redis-7.0.json", 192, 192),          # CONFIG GET * pairs of 7.0.15, aliases included
    ("supervisor-4.json", 136, 136),
])
def test_catalog_counts(name, low, high):
    assert low <= len(params(name)) <= high


@pytest.mark.parametrize("name, key, expected", [
    ("postgresql-15.json", "shared_buffers", {"type": "integer", "unit": "8kB", "min": 16,
                                              "max": 1073741823, "default": "16384",
                                              "context": "postmaster"}),
    ("postgresql-15.json", "work_mem", {"unit": "kB", "min": 64, "default": "4096"}),
    ("postgresql-15.json", "wal_level", {"type": "enum", "values": ["minimal", "replica", "logical"]}),
    ("postgresql-15.json", "autovacuum", {"type": "bool", "default": "on", "context": "sighup"}),
    ("postgresql-15.json", "random_page_cost", {"type": "real", "default": "4"}),
    ("pgbouncer-1.18.json", "pool_mode", {"type": "enum", "default": "session",
                                          "values": ["session", "transaction", "statement"]}),
    ("pgbouncer-1.18.json", "log_connections", {"type": "bool", "default": "1"}),
    ("pgbouncer-1.18.json", "server_idle_timeout", {"type": "seconds", "default": "600"}),
    ("pgbouncer-1.18.json", "unix_socket_mode", {"type": "octal", "default": "0777",
                                                 "context": "no"}),
    ("pgbouncer-1.18.json", "default_pool_size", {"type": "integer", "default": "20",
                                                  "context": "yes"}),
    ("redis-7.0.json", "maxmemory", {"type": "memory", "default": "0"}),
    ("redis-7.0.json", "maxmemory-policy", {"type": "enum", "default": "noeviction"}),
    ("redis-7.0.json", "hz", {"type": "integer", "min": 0, "max": 2147483647, "default": "10"}),
    ("redis-7.0.json", "appendonly", {"type": "bool", "default": "no"}),
    ("redis-7.0.json", "save", {"type": "list"}),
    ("redis-7.0.json", "unixsocketperm", {"type": "octal"}),
    ("redis-7.0.json", "maxclients", {"type": "integer", "default": None}),
    ("supervisor-4.json", "program.stopasgroup", {"type": "bool", "default": "false",
                                                  "section": "program"}),
    ("supervisor-4.json", "program.stopsignal", {"default": "TERM"}),
    ("supervisor-4.json", "program.autorestart", {"type": "enum", "default": "unexpected",
                                                  "values": ["false", "unexpected", "true"]}),
    ("supervisor-4.json", "program.stdout_logfile_maxbytes", {"type": "memory", "default": "50MB"}),
    ("supervisor-4.json", "supervisord.minfds", {"type": "integer", "default": "1024",
                                                 "section": "supervisord"}),
    ("supervisor-4.json", "supervisord.umask", {"type": "octal", "default": "022"}),
    ("supervisor-4.json", "supervisorctl.serverurl", {"section": "supervisorctl"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_known_entries(name, key, expected):
    entry = params(name)[key]
    assert {k: entry[k] for k in expected} == expected


def test_redis_enum_values_come_from_redis():
    values = params("redis-7.0.json")["maxmemory-policy"]["values"]
    assert {"allkeys-lru", "volatile-lfu", "noeviction"} <= set(values)
    assert params("redis-7.0.json")["loglevel"]["values"] == ["debug", "verbose", "notice", "warning"]


def test_supervisor_program_keys_cover_the_documented_set():
    keys = {k.split(".", 1)[1] for k in params("supervisor-4.json") if k.startswith("program.")}
    assert {"command", "numprocs", "process_name", "autostart", "autorestart", "startsecs",
            "startretries", "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup",
            "environment", "user", "directory", "umask", "priority", "redirect_stderr",
            "stdout_logfile", "stdout_logfile_maxbytes", "exitcodes"} <= keys
    assert "startretires" not in keys


@pytest.mark.daemons
def test_regenerating_from_installed_daemons_matches_committed_files(pg_template):
    from conftest import require_daemon

    for daemon in ("pgbouncer", "redis", "supervisor"):
        require_daemon(daemon)
    gen = gen_module()
    assert gen.diff(gen.generate()) == ""


@pytest.mark.daemons
@pytest.mark.parametrize("key", ["pool_mode", "server_tls_sslmode", "auth_type"])
def test_pgbouncer_accepts_every_catalog_enum_value(start_pgbouncer, key):
    # cert and hba need TLS files or an hba file to start; their names are still checked below.
    for value in params("pgbouncer-1.18.json")[key]["values"]:
        if value in ("cert", "hba"):
            continue
        bnc = start_pgbouncer(f"[pgbouncer]\n{key} = {value}\n")
        assert bnc.config()[key]["value"] == value
    with pytest.raises(DaemonError, match=f'invalid value "bogus" for parameter {key}'):
        start_pgbouncer(f"[pgbouncer]\n{key} = bogus\n")


@pytest.mark.daemons
def test_redis_accepts_every_maxmemory_policy(start_redis):
    for value in params("redis-7.0.json")["maxmemory-policy"]["values"]:
        assert start_redis(f"maxmemory-policy {value}\n").config()["maxmemory-policy"] == value
    with pytest.raises(DaemonError, match="must be one of the following"):
        start_redis("maxmemory-policy bogus\n")
