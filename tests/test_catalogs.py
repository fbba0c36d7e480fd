"""The generated parameter catalogs: shape, known entries, and freshness against the daemons."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from perfcfg.harness.errors import DaemonError

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "schemas" / "catalogs"
FILES = sorted(p.name for p in CATALOGS.glob("*.json")
               if not p.name.endswith(".constraints.json"))
TYPES = {"bool", "integer", "real", "string", "enum", "memory", "seconds", "octal", "list"}
FIELDS = {"type", "unit", "min", "max", "values", "default", "context", "section", "pattern"}


def test_every_catalog_is_of_a_daemon_some_service_targets():
    """The catalogs are the one list of supported versions (the services read it): a file of a
    daemon no service targets would be a version nothing can build for."""
    from perfcfg.services import registry

    daemons = {d for s in registry.SERVICES for d in (s.flavours or (s.daemon,))}
    assert FILES and {n.removesuffix(".json").rsplit("-", 1)[0] for n in FILES} <= daemons


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


@pytest.mark.parametrize("name", FILES)
def test_catalog_header_and_entry_shape(name):
    cat = load(name)
    daemon, version = name.removesuffix(".json").rsplit("-", 1)
    assert set(cat) == {"daemon", "version", "source", "parameters", "build", "sets"}
    assert {"package", "release"} <= set(cat["build"])
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
    ("postgresql-16.json", 362, 362),      # 16.14 (npm build)
    ("postgresql-17.json", 375, 390),      # 381 on 17.12 (Debian build)
    ("postgresql-18.json", 399, 399),      # 18.6 (PyPI build)
    ("pgbouncer-1.24.json", 92, 92),       # SHOW CONFIG rows of 1.24.1
    ("redis-8.0.json", 203, 203),          # CONFIG GET * pairs of 8.0.2
    ("valkey-8.0.json", 214, 214),         # 8.0.1
    ("valkey-8.1.json", 227, 227),         # 8.1.1
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
    ("postgresql-16.json", "reserved_connections", {"type": "integer", "default": "0"}),
    ("postgresql-17.json", "transaction_timeout", {"type": "integer", "unit": "ms"}),
    ("postgresql-17.json", "wal_compression", {"values": ["pglz", "lz4", "zstd", "on", "off"]}),
    ("postgresql-18.json", "io_method", {"type": "enum", "default": "worker"}),
    ("postgresql-18.json", "autovacuum_worker_slots", {"type": "integer", "context": "postmaster"}),
    ("pgbouncer-1.24.json", "max_prepared_statements", {"type": "integer", "default": "200"}),
    ("pgbouncer-1.24.json", "cancel_wait_timeout", {"type": "seconds", "default": "10"}),
    ("redis-8.0.json", "maxmemory-policy", {"type": "enum", "default": "noeviction"}),
    ("valkey-8.1.json", "lazyfree-lazy-eviction", {"type": "bool", "default": "yes"}),
    ("valkey-8.1.json", "rdma-bind", {"type": "list"}),
    ("valkey-8.0.json", "availability-zone", {"type": "string", "default": ""}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_known_entries(name, key, expected):
    entry = params(name)[key]
    assert {k: entry[k] for k in expected} == expected


@pytest.mark.parametrize("name, features, lacks", [
    ("postgresql-15.json", {"lz4": True, "zstd": True, "liburing": None}, {}),
    ("postgresql-16.json", {"lz4": False, "zstd": False, "liburing": None},
     {"default_toast_compression": ["lz4"], "wal_compression": ["lz4", "zstd"]}),
    ("postgresql-17.json", {"lz4": True, "zstd": True, "llvm": True, "liburing": None}, {}),
    ("postgresql-18.json", {"lz4": False, "zstd": False, "liburing": False},
     {"default_toast_compression": ["lz4"], "io_method": ["io_uring"],
      "wal_compression": ["lz4", "zstd"]}),
])
def test_postgresql_build_features_are_recorded(name, features, lacks):
    build = load(name)["build"]
    assert {k: build["features"][k] for k in features} == features
    assert build["lacks"] == lacks
    for param, values in lacks.items():
        assert not set(values) & set(params(name)[param]["values"])


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
