"""Merge semantics, extends chains and --set, through the public pipeline."""

import pytest
from helpers import compile_with, write


def compile_(root, *sets, overlay=None):
    return compile_with(root, overlay, sets=tuple(sets), render=False)


def settings(result):
    return {p: s.value for p, s in result.plan.settings.items()}


def test_maps_deep_merge_and_last_layer_wins(project):
    result = compile_(project, overlay="postgres:\n  work_mem: 32MB\n")
    assert result.ok, result.diagnostics
    values = settings(result)
    assert values["postgres.work_mem"] == 32 << 20
    assert values["postgres.log_min_duration_statement"] == 250_000  # from builtin:staging
    assert values["postgres.fsync"] is True                          # from builtin:production


def test_named_lists_merge_by_name(project):
    result = compile_(project, overlay="""\
workload:
  programs:
    - name: worker
      processes: 9
    - name: cron
      command: python -m app.cron
""")
    assert result.ok, result.diagnostics
    programs = {p.name: p for p in result.config.workload.programs}
    assert programs["worker"].processes == 9
    assert programs["worker"].command == "python -m app.worker"   # kept from base
    assert list(programs) == ["worker", "cron"]


def test_unset_removes_inherited_keys_and_items(project):
    result = compile_(project, overlay="""\
postgres:
  log_min_duration_statement: !unset
workload:
  programs:
    - !unset worker
""")
    assert result.ok, result.diagnostics
    assert "postgres.log_min_duration_statement" not in result.plan.settings
    assert result.config.workload.programs == []
    chain = result.history["postgres.log_min_duration_statement"]
    assert chain[-1].detail == "unset" and chain[-1].span.file == "presets/staging.yaml"


def test_a_working_unset_says_nothing(project):
    result = compile_(project, overlay="postgres:\n  log_min_duration_statement: !unset\n")
    assert [d for d in result.diagnostics if d.code == "PCF122"] == []


@pytest.mark.parametrize("overlay, path, line, hint", [
    ("postgres:\n  log_min_duration_statment: !unset\n",
     "postgres.log_min_duration_statment", 3, "did you mean 'log_min_duration_statement'?"),
    ("workload:\n  programs:\n    - !unset workr\n",
     "workload.programs.workr", 4, "did you mean 'worker'?"),
    ("redis:\n  users:\n    - !unset nobody_at_all\n",
     "redis.users.nobody_at_all", 4, "check the spelling, or remove the line"),
    ("budget:\n  redis: !unset\n", "budget.redis", 3, "check the spelling"),
], ids=["misspelt-key", "misspelt-item", "unknown-item", "never-set"])
def test_an_unset_that_removes_nothing_is_a_warning_with_the_likely_name(
        project, overlay, path, line, hint):
    result = compile_(project, overlay=overlay)
    [diag] = [d for d in result.diagnostics if d.code == "PCF122"]
    assert (diag.severity, diag.path, diag.span.file, diag.span.line) == \
        ("warning", path, "presets/staging.yaml", line)
    assert diag.hint.startswith(hint)


def test_other_lists_replace(project):
    assert settings(compile_(project, overlay="redis:\n  bind: [10.0.0.5]\n"))["redis.bind"] == ["10.0.0.5"]


def test_set_has_the_highest_precedence(project):
    result = compile_(project, "postgres.work_mem=64MB", "workload.programs.worker.processes=2")
    assert result.ok, result.diagnostics
    assert settings(result)["postgres.work_mem"] == 64 << 20
    assert result.config.workload.programs[0].processes == 2
    assert result.plan.settings["postgres.work_mem"].origin.kind == "set"


@pytest.mark.parametrize("assignment, code", [
    ("postgres.work_mem", "PCF501"),
    ("workload.programs.nope.processes=2", "PCF503"),
    ("postgres..x=1", "PCF501"),
    ("postgres.work_mem=[1, ", "PCF502"),
])
def test_bad_set_is_a_diagnostic(project, assignment, code):
    assert code in [d.code for d in compile_(project, assignment).diagnostics]


def test_extends_cycle(project):
    write(project / "presets/a.yaml", "extends: b.yaml\n")
    write(project / "presets/b.yaml", "extends: a.yaml\n")
    write(project / "presets/staging.yaml", "extends: [a.yaml]\n")
    diags = compile_(project).diagnostics
    assert [d.code for d in diags] == ["PCF114"]
    assert diags[0].span.file == "presets/b.yaml" and diags[0].span.line == 1


def test_diamond_extends_applies_each_base_once(project):
    write(project / "presets/left.yaml", "extends: base.yaml\npostgres: {work_mem: 8MB}\n")
    write(project / "presets/right.yaml", "extends: base.yaml\npostgres: {work_mem: 16MB}\n")
    write(project / "presets/staging.yaml", "extends: [builtin:staging, left.yaml, right.yaml]\n")
    result = compile_(project)
    assert result.ok and settings(result)["postgres.work_mem"] == 16 << 20
    assert result.preset_files.count("presets/base.yaml") == 1


@pytest.mark.parametrize("extends, code", [
    ("builtin:prod", "PCF112"), ("missing.yaml", "PCF113"), ("[1, 2]", "PCF116"),
])
def test_broken_extends(project, extends, code):
    write(project / "presets/staging.yaml", f"extends: {extends}\n")
    diags = compile_(project).diagnostics
    assert code in [d.code for d in diags]
    assert all(d.span and d.span.file == "presets/staging.yaml" for d in diags)


def test_every_leaf_remembers_every_place_that_set_it(project):
    chain = compile_(project, "postgres.log_min_duration_statement=2s",
                     overlay="postgres:\n  log_min_duration_statement: 1s\n").history[
        "postgres.log_min_duration_statement"]
    assert [o.label() for o in chain] == [
        "builtin:production:15:31", "builtin:staging:7:31", "presets/staging.yaml:3:31",
        "set:--set postgres.log_min_duration_statement=2s"]
