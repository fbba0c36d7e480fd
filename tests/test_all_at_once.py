"""One run reports everything it can: a mistake in one stage does not hide the mistakes the
later stages would find, and a refused value is not reported again by a later stage."""

import pytest
from helpers import compile_with, run, span_of, write

# One mistake per stage, all in the one preset file (line numbers as compile_with writes it:
# the first line of the overlay is line 2).
PLANTED = """\
postgres:
  max_connections: 6
  shared_bufers: 1GB
  application_name: "café"
  wal_level: archive
  archive_command: auto
pgbouncer:
  pool_mode: transactional
supervisor:
  unix_http_server:
    chmod: 0770
users:
  - name: app
    password: hunter2hunter2
  - name: ghost
    password: !unset
workload:
  programs:
    - name: worker
      database: ap
      redis_user: nobody
    - !unset reporter
"""

EXPECTED = {
    ("PCF110", 12, "load: an ambiguous number"),
    ("PCF122", 17, "layers: !unset removes nothing"),
    ("PCF122", 23, "layers: !unset of an item that is not there"),
    ("PCF201", 4, "validate: an unknown parameter"),
    ("PCF204", 6, "validate: a value not in the catalog's list"),
    ("PCF204", 9, "validate: a value not in the catalog's list"),
    ("PCF204", 21, "validate: a program's database that is not declared"),
    ("PCF208", 7, "planner: auto without a rule"),
    ("PCF209", 22, "planner: a Redis user that is not declared"),
    ("PCF303", 3, "cross-service: pools above max_connections"),
    ("PCF401", 15, "policy: a plaintext password"),
    ("PCF407", 12, "policy: the control socket's mode"),
    ("PCF210", 5, "render: a value the encoder refuses"),
}


def found(result) -> set[tuple[str, int]]:
    return {(d.code, d.span.line) for d in result.diagnostics if d.span is not None}


@pytest.mark.parametrize("render", [False, True], ids=["validate", "build"])
def test_one_mistake_per_stage_all_in_one_run(project, render):
    result = compile_with(project, PLANTED, "staging", render=render, secrets_mode="placeholder")
    assert {(code, line) for code, line, _ in EXPECTED} <= found(result)
    assert not result.files


def test_the_cli_reports_them_in_one_run(project):
    write(project / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n" + PLANTED)
    done = run("validate", "--project", str(project), "--format", "json")
    import json

    reported = {(d["code"], d["line"]) for d in json.loads(done.out)["diagnostics"]}
    assert done.code == 1
    assert {(code, line) for code, line, _ in EXPECTED} <= reported


def test_a_value_the_loader_refused_is_not_refused_again(project):
    # `work_mem: 064MB`… is text once quoted; `max_connections: 0100` would be a number the
    # schema refuses as text: the loader's PCF110 is the one report for that place.
    result = compile_with(project, "postgres:\n  max_connections: 0100\n", render=False)
    assert [(d.code, span_of(d).line) for d in result.diagnostics if d.severity == "error"] == \
        [("PCF110", 3)]


def test_a_bad_value_in_an_item_keeps_the_item(project):
    # The program keeps its other values: its memory is refused, its processes still count
    # for pgbouncer's pools (PCF303 against a small max_connections).
    result = compile_with(project, "postgres:\n  max_connections: 4\nworkload:\n  programs:\n"
                          "    - name: worker\n      memory: lots\n      processes: 40\n",
                          render=False)
    codes = sorted(d.code for d in result.diagnostics if d.severity == "error")
    assert codes == ["PCF204", "PCF303"], result.diagnostics


def test_an_item_left_out_is_not_reported_again_where_it_is_named(project):
    # A database whose name is refused is left out; the program that names it is the same
    # mistake, not a second one.
    result = compile_with(project, "databases:\n  - name: 'my db'\n    user: app\n"
                          "workload:\n  programs:\n    - name: worker\n      database: 'my db'\n",
                          render=False)
    assert [(d.code, d.path) for d in result.diagnostics if d.severity == "error"] == \
        [("PCF204", "databases.my db.name")]


def test_a_bad_target_does_not_hide_the_next_one(project):
    text = (project / "perfcfg.yaml").read_text()
    write(project / "perfcfg.yaml", text + "targets: {redis: 8.0, postgres: 19}\n")
    result = compile_with(project, render=False)
    assert sorted((d.code, d.path) for d in result.diagnostics if d.severity == "error") == \
        [("PCF204", "targets.redis"), ("PCF207", "targets.postgres")]
    # tuning needs every catalog: the result says which checks did not run
    assert result.skipped and "catalog" in result.skipped[0]


def test_a_preset_that_cannot_be_read_stops_before_its_values_are_missed(project):
    # Without base.yaml's databases every program would name an unknown database: the
    # missing file is the one mistake reported.
    write(project / "presets/staging.yaml", "extends: [builtin:staging, bsae.yaml]\n")
    result = compile_with(project, render=False)
    assert [d.code for d in result.diagnostics if d.severity == "error"] == ["PCF113"]
    assert result.skipped
