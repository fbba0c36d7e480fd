"""The examples in perfcfg's docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import pytest

import perfcfg

MODULES = sorted(m.name for m in pkgutil.walk_packages(perfcfg.__path__, "perfcfg.")
                 if not m.name.endswith("__main__"))   # __main__ runs the CLI on import


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS,
                             report=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_examples_are_there():
    # Guard against the walk finding nothing (and every parametrized case vanishing).
    assert sum(doctest.testmod(importlib.import_module(name), report=False).attempted
               for name in MODULES) >= 100
