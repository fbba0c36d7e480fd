"""Every tuning module's docstring example runs."""

import doctest
import importlib

import pytest

MODULES = ["budget", "calculator", "checks", "engine", "findings", "pg_autovacuum",
           "pg_connections", "pg_memory", "pg_parallel", "pg_planner", "pg_wal", "pgbouncer",
           "pgtune", "redis", "supervisor", "util", "context"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"perfcfg.tune.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
