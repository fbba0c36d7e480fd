"""perfcfg.model (generated, pydantic-core only) behaves exactly like the pydantic declarations
in perfcfg.modeldef: same accepted inputs, same values, same errors and messages."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import ValidationError as CoreValidationError

from helpers import ROOT
from perfcfg import model, modeldef
from perfcfg.modelbase import Record

NAMES = [m.__name__ for m in modeldef.MODELS]


def outcome(cls: Any, data: Any) -> tuple:
    """What validating ``data`` gives: the dumped value, or the errors without their URLs."""
    try:
        return ("ok", cls.model_validate(data).model_dump())
    except (ValidationError, CoreValidationError) as exc:
        return ("error", [(e["type"], e["loc"], e["msg"]) for e in exc.errors()])


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


# Values chosen to sit on every edge the models have: bounds, patterns (a trailing newline
# is where Python's '$' and pydantic-core's differ), sizes, reserved names, wrong types.
SCALARS = st.sampled_from([
    None, True, False, 0, 1, -1, 9, 10, 18, 19, 255, 256, 4096, 4097, 10000, 10001, 65536,
    1.0, 2.5, "", " ", "a", "a\n", "A-b.c_9", "*", "pgbouncer", "1.18", "7.0", "4.2", "8.1",
    "1", "42", "true", "auto", "40%", "0%", "100%", "x%", "256MiB", "255MiB", "16GiB",
    "3 parsecs", "512 MB", "1.5GiB", "python -m app.worker", "'unclosed", "local",
    "10.0.0.0/24", "10.0.0.1/24", "::1/128", "scram-sha-256", "md5", "transaction", "turbo",
    "hdd", "nvme", "web", "oltp", "staging", "Prod", "PCF401", "PCF999", "${env:X}",
    "cache:*", "~x", "+@read", "-flushall", "allcommands", "a b", "a#b", "x" * 70,
])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["a", "B", "1x", "name", "x_y"]), inner, max_size=3), max_leaves=6)


def inputs(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts over the model's own keys (plus a stranger) with edge values, nested models
    filled from their own key sets."""
    declared = getattr(modeldef, name)
    keys = list(declared.model_fields) + ["extra_key"]

    def value_for(key: str) -> st.SearchStrategy[Any]:
        inner = model.__dict__[name].FIELDS.get(key)
        if inner is None:
            return VALUES
        sub = st.deferred(lambda: inputs(inner.__name__))
        return sub | st.lists(sub, max_size=2) | st.dictionaries(
            st.sampled_from(["staging", "Bad Name", "a"]), sub, max_size=2) | VALUES

    return st.fixed_dictionaries({}, optional={k: value_for(k) for k in keys})


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_outcome_as_the_pydantic_declaration(name, data):
    value = data.draw(inputs(name))
    assert outcome(getattr(model, name), value) == outcome(getattr(modeldef, name), value)


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
    assert repr(host) == "HostProfile(memory=1073741824, cpus=2, storage='ssd', open_files=65536)"
    with pytest.raises(AttributeError, match="immutable"):
        host.cpus = 4  # type: ignore[misc]
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
            clone.project = "q"  # type: ignore[misc]


def test_other_pydantic_core_falls_back_to_the_declarations(monkeypatch):
    # A perfcfg installed beside another pydantic must not break: the schema then comes from
    # modeldef (pydantic builds it), and the values and errors stay the same.
    data = {"project": "p", "environments": {"staging": {"preset": "s.yaml", "host": "h.yaml"}},
            "targets": {"postgres": 16}}
    bad = {"project": "p q", "environments": {}, "secrets": {"mode": "plain"}}
    expected = [outcome(model.ProjectFile, data), outcome(model.ProjectFile, bad)]
    monkeypatch.setattr(model, "PYDANTIC_CORE", "0.0.0")
    monkeypatch.delattr(model.ProjectFile, "_Record__validator", raising=False)
    schema = model.ProjectFile._schema()
    assert schema is not model.ProjectFile.__core_schema__
    assert schema == model.ProjectFile.__core_schema__
    assert [outcome(model.ProjectFile, data), outcome(model.ProjectFile, bad)] == expected
    assert type(model.ProjectFile.model_validate(data).targets) is model.Targets
