"""Every tuning module's docstring example runs, and so do the PGTune oracle's."""

import doctest
import importlib

import pytest

MODULES = ["perfcfg.tune.budget", "perfcfg.cli.calculator", "perfcfg.tune.checks",
           "perfcfg.services.postgres.calculator", "perfcfg.services.calculator",
           "perfcfg.stages.tune", "perfcfg.tune.findings", "perfcfg.tune.util",
           "perfcfg.tune.context",
           "perfcfg.services.postgres.checks", "perfcfg.services.pgbouncer.checks",
           "perfcfg.services.redis.checks", "perfcfg.services.supervisor.checks",
           "perfcfg.services.redis.budget",
           "perfcfg.services.postgres.tuning.autovacuum",
           "perfcfg.services.postgres.tuning.connections",
           "perfcfg.services.postgres.tuning.memory",
           "perfcfg.services.postgres.tuning.parallel",
           "perfcfg.services.postgres.tuning.planner",
           "perfcfg.services.postgres.tuning.wal",
           "perfcfg.services.pgbouncer.tuning", "perfcfg.services.redis.tuning",
           "perfcfg.services.supervisor.tuning", "tune.pgtune_oracle"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
