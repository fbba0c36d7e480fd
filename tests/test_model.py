"""perfcfg.model (generated, pydantic-core only) behaves exactly like the pydantic declarations
in perfcfg.model.spec: same accepted inputs, same values, same errors and messages. (Other
pydantic releases: tests/test_pydantic_range.py.)"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import model_grid
import pydantic_core
import pytest
from helpers import ROOT
from model_grid import outcome
from pydantic_core import ValidationError as CoreValidationError

from perfcfg import model
from perfcfg.model import spec as modeldef
from perfcfg.model.base import Record

NAMES = [m.__name__ for m in modeldef.MODELS]


def test_generated_model_is_fresh():
    proc = subprocess.run([sys.executable, "scripts/gen_model.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", NAMES)
def test_same_fields_and_nested_models(name):
    declared, runtime = getattr(modeldef, name), getattr(model, name)
    assert issubclass(runtime, Record)
    assert list(runtime.FIELDS) == list(declared.model_fields)
    assert outcome(runtime, {}) == outcome(declared, {})


def test_same_outcome_as_the_pydantic_declarations_on_the_whole_grid():
    # tests/model_grid.py: every edge value in every field of every model (6,000+ inputs).
    generated, declared = model_grid.outcomes(model), model_grid.outcomes(modeldef)
    assert [case for case in declared if generated[case] != declared[case]] == []
    kinds = {result[0] for result in declared.values()}
    assert kinds == {"ok", "error"}


def test_example_values_are_valid_for_both():
    program = {"name": "matcher", "command": ["python", "-m", "bots.matcher"], "processes": 4,
               "memory": "200MiB", "environment": {"MODE": "fast", "N": 3}}
    assert outcome(model.Program, program) == outcome(modeldef.Program, program)
    built = model.Program.model_validate(program)
    assert built.memory == 200 * 2**20 and built.argv == ["python", "-m", "bots.matcher"]


def test_records_are_immutable_values():
    host = model.HostProfile(memory="1GiB", cpus=2)
    assert host == model.HostProfile(memory=2**30, cpus=2)
    assert host != model.HostProfile(memory=2**30, cpus=3)
    assert hash(host) == hash(model.HostProfile(memory=2**30, cpus=2))
    assert repr(host) == ("HostProfile(memory=1073741824, cpus=2, storage='ssd', open_files=65536, "
                          "os='linux', wal_disk=None, nr_open=1048576, locales=None)")
    with pytest.raises(AttributeError, match="immutable"):
        host.cpus = 4
    with pytest.raises(CoreValidationError, match="at least 256MiB"):
        model.HostProfile(memory="1MiB", cpus=2)


def test_records_copy_and_pickle():
    import copy
    import pickle

    project = model.ProjectFile.model_validate(
        {"project": "p", "environments": {"staging": {"preset": "s.yaml", "host": "h.yaml"}}})
    for clone in (copy.copy(project), copy.deepcopy(project),
                  pickle.loads(pickle.dumps(project))):
        assert clone == project and type(clone.targets) is model.Targets
        with pytest.raises(AttributeError):
            clone.project = "q"


def test_a_refused_generated_schema_falls_back_to_the_declarations(monkeypatch):
    # A pydantic-core that cannot build a generated schema (SchemaError) must not break
    # perfcfg: the schema then comes from modeldef (pydantic builds it), with the same results.
    data = {"project": "p", "environments": {"staging": {"preset": "s.yaml", "host": "h.yaml"}},
            "targets": {"postgres": 16}}
    bad = {"project": "p q", "environments": {}, "secrets": {"mode": "plain"}}
    expected = [outcome(model.ProjectFile, data), outcome(model.ProjectFile, bad)]
    built, real = [], pydantic_core.SchemaValidator

    def refusing(schema: Any, *args: Any) -> Any:
        if schema is model.ProjectFile.__core_schema__:
            raise pydantic_core.SchemaError("refused")
        built.append(schema)
        return real(schema, *args)

    model.ProjectFile._validator()   # cached now, so that monkeypatch puts it back afterwards
    monkeypatch.delattr(model.ProjectFile, "_Record__validator")
    monkeypatch.setattr(pydantic_core, "SchemaValidator", refusing)
    assert [outcome(model.ProjectFile, data), outcome(model.ProjectFile, bad)] == expected
    assert built == [model.ProjectFile._declared_schema()]
    assert built[0] is not model.ProjectFile.__core_schema__
    assert type(model.ProjectFile.model_validate(data).targets) is model.Targets
