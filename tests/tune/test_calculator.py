"""The stand-alone calculator: exact PostgreSQL units, one reason per line, JSON-able data."""

import json

import pytest

from perfcfg.cli.calculator import CalcInput, calculate_data, calculate_text
from perfcfg.services.postgres.calculator import format_value as format_pg
from perfcfg.tune.context import GiB, KiB, MiB


@pytest.mark.parametrize("name, value, text", [
    ("shared_buffers", 4 * GiB, "4GB"), ("shared_buffers", 1536 * MiB, "1536MB"),
    ("shared_buffers", 8 * KiB * 3, "24kB"), ("work_mem", 13617 * KiB, "13617kB"),
    ("max_wal_size", 1536 * MiB, "1536MB"), ("min_wal_size", 80 * MiB, "80MB"),
    ("random_page_cost", 4.0, "4"), ("random_page_cost", 1.1, "1.1"), ("jit", False, "off"),
], ids=["GB", "MB", "8kB-pages", "kB", "wal-MB", "wal-80MB", "real-int", "real", "bool"])
def test_pg_units_exact(name, value, text):
    assert format_pg(name, value) == text


def test_pg_fragment_has_a_reason_on_every_line():
    text = calculate_text(CalcInput("postgres", 16 * GiB, 4, 300, "16", {"storage": "ssd", "profile": "oltp"}))
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert settings and all("  # " in line for line in settings)
    assert "shared_buffers = 4GB  #" in text and "max_connections = 300  #" in text


@pytest.mark.parametrize("daemon, key", [("pgbouncer", "[pgbouncer]"),
                                         ("redis", "maxmemory-policy allkeys-lfu")],
                         ids=["pgbouncer", "redis"])
def test_other_fragments(daemon, key):
    text = calculate_text(CalcInput(daemon, 2 * GiB, 8, connections=300))
    assert key in text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(("#", "[")):
            assert lines[i - 1].startswith("# "), line


@pytest.mark.parametrize("daemon", ["postgres", "pgbouncer", "redis"])
def test_data_is_json_and_deterministic(daemon):
    inp = CalcInput(daemon, 8 * GiB, 4)
    assert json.dumps(calculate_data(inp)) == json.dumps(calculate_data(inp))


def test_without_connections_postgres_assumes_one_cpu_sized_pool():
    data = calculate_data(CalcInput("postgres", 4 * GiB, 2))
    values = {s["name"]: s["value"] for s in data["settings"]}
    assert values["max_connections"] < 40


def test_pgbouncer_fragment_puts_each_pool_on_its_database_line():
    """Per-database values belong on the database's [databases] line: under [pgbouncer],
    'databases.app.pool_size = 5' is an unknown key that stops pgbouncer."""
    import configparser

    text = calculate_text(CalcInput("pgbouncer", 16 * GiB, 4))
    ini = configparser.ConfigParser(comment_prefixes=("#", ";"))
    ini.read_string(text)
    assert not [k for k in ini["pgbouncer"] if "." in k], text
    assert ini["databases"]["app"] == "pool_size=5 reserve_pool=2 max_db_connections=7"


@pytest.mark.daemons
def test_pgbouncer_fragment_loads_in_pgbouncer_as_pasted():
    from conftest import require_daemon

    from perfcfg.services.pgbouncer.daemon import PgBouncer
    from perfcfg.tune.context import Versions

    version = ".".join(map(str, Versions().pgbouncer))   # what the fragment is for
    require_daemon("pgbouncer", version)
    text = calculate_text(CalcInput("pgbouncer", 16 * GiB, 4))
    with PgBouncer(text, version=version) as bnc:      # raises on any ERROR line it logs
        config = bnc.config()
        app = next(d for d in bnc.databases() if d["name"] == "app")
    assert config["max_client_conn"]["value"] == "200"     # 2 × the 100 clients
    assert (app["pool_size"], app["reserve_pool"], app["max_connections"]) == ("5", "2", "7")


@pytest.mark.parametrize("version", ["15", "16", "17", "18"])
def test_every_size_and_duration_in_the_fragment_carries_its_unit(version):
    # A bare number is read in the parameter's base unit: 16777216 for a kB parameter is 16 GB,
    # 900000000 for checkpoint_timeout (seconds) is 28 years. Every line with a unit-bearing
    # parameter must spell its unit; PostgreSQL's own reading is the judge in the daemon tests.
    from perfcfg.services import catalog as catalogs

    text = calculate_text(CalcInput("postgres", 16 * GiB, 4, version=version,
                                         options={"storage": "nvme", "profile": "oltp"}))
    cat = catalogs.load("postgresql", version, True)
    for line in text.splitlines():
        if line.startswith("#") or " = " not in line:
            continue
        name, value = line.split(" = ", 1)
        value = value.split("  #")[0]
        param = cat.get(name.strip()) if cat is not None else None
        assert param is not None, name
        if param.unit in ("B", "kB", "8kB", "MB", "us", "ms", "s", "min") and value != "-1":
            assert not value.isdigit(), line
