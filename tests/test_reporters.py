"""perfcfg.cli.reporters: every format on one fixed set of diagnostics.

Text and GitHub output are compared byte for byte: they are what people and CI read, and a
changed frame or escape is a user-visible change that should show up in review.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from perfcfg.cli.reporters import FORMATS, render
from perfcfg.core.diagnostics import Diagnostic, Related
from perfcfg.core.spans import Span

STAGING = (
    "extends: base\n"
    "postgres:\n"
    "  work_mem: 64MB\n"
    "  max_connections: 500\n"
    "pgbouncer:\n"
    "  default_pool_size: 40\n"
)
BASE = "host:\n  memory: 4GiB\n"
SOURCES = {"presets/staging.yaml": STAGING, "presets/base.yaml": BASE}

BUDGET = Diagnostic(
    "PCF301", "error", "memory budget exceeded: 6.2GiB planned for 4GiB",
    Span("presets/staging.yaml", 4, 3, 4, 18), "postgres.max_connections",
    hint="lower max_connections or raise host.memory",
    related=(Related("host memory is set here", Span("presets/base.yaml", 2, 11, 2, 15),
                     "host.memory"),))
TYPO = Diagnostic(
    "PCF201", "error", "default_pool_size 40 is above max_db_connections 20",
    Span("presets/staging.yaml", 6, 3, 6, 20), "pgbouncer.default_pool_size",
    hint="lower default_pool_size or raise max_db_connections")
POOL = Diagnostic(
    "PCF205", "warning", "pool 40 > 25% of max_connections, 100%: fine?",
    Span("presets/staging.yaml", 5, 1, 7, 1), "pgbouncer")
MISSING = Diagnostic("PCF101", "error", "cannot read presets/extra.yaml",
                     Span("presets/extra.yaml", 1, 1), hint="check extends in perfcfg.yaml")
GLOBAL = Diagnostic("PCF501", "info", "no host profile given; using development defaults")
FIXED = [BUDGET, TYPO, POOL, MISSING, GLOBAL]

EXPECTED_TEXT = """\
info[PCF501]: no host profile given; using development defaults

error[PCF101]: cannot read presets/extra.yaml
 --> presets/extra.yaml:1:1
  = hint: check extends in perfcfg.yaml

error[PCF301]: memory budget exceeded: 6.2GiB planned for 4GiB
 --> presets/staging.yaml:4:3
  |
3 |   work_mem: 64MB
4 |   max_connections: 500
  |   ^^^^^^^^^^^^^^^
  = path: postgres.max_connections
  = hint: lower max_connections or raise host.memory
note: host memory is set here
 --> presets/base.yaml:2:11
  |
1 | host:
2 |   memory: 4GiB
  |           ^^^^
  = path: host.memory

warning[PCF205]: pool 40 > 25% of max_connections, 100%: fine?
 --> presets/staging.yaml:5:1
  |
4 |   max_connections: 500
5 | pgbouncer:
  | ^^^^^^^^^^
  = path: pgbouncer

error[PCF201]: default_pool_size 40 is above max_db_connections 20
 --> presets/staging.yaml:6:3
  |
5 | pgbouncer:
6 |   default_pool_size: 40
  |   ^^^^^^^^^^^^^^^^^
  = path: pgbouncer.default_pool_size
  = hint: lower default_pool_size or raise max_db_connections

3 errors, 1 warning, 1 info
"""

EXPECTED_GITHUB = (
    "::notice title=PCF501::no host profile given; using development defaults\n"
    "::error file=presets/extra.yaml,line=1,col=1,title=PCF101::cannot read presets/extra.yaml"
    "%0Ahint: check extends in perfcfg.yaml\n"
    "::error file=presets/staging.yaml,line=4,col=3,endLine=4,endColumn=18,title=PCF301::"
    "memory budget exceeded: 6.2GiB planned for 4GiB%0Apath: postgres.max_connections"
    "%0Ahint: lower max_connections or raise host.memory"
    "%0Anote: host memory is set here (presets/base.yaml:2:11)\n"
    "::warning file=presets/staging.yaml,line=5,endLine=7,title=PCF205::"
    "pool 40 > 25%25 of max_connections, 100%25: fine?%0Apath: pgbouncer\n"
    "::error file=presets/staging.yaml,line=6,col=3,endLine=6,endColumn=20,title=PCF201::"
    "default_pool_size 40 is above max_db_connections 20%0Apath: pgbouncer.default_pool_size"
    "%0Ahint: lower default_pool_size or raise max_db_connections\n"
)

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def test_text_exact() -> None:
    assert render(FIXED, "text", SOURCES, False) == EXPECTED_TEXT


def test_github_exact() -> None:
    assert render(FIXED, "github", SOURCES, False) == EXPECTED_GITHUB


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_does_not_depend_on_input_order(fmt: str) -> None:
    shuffled = FIXED[:]
    random.Random(7).shuffle(shuffled)
    assert render(shuffled, fmt, SOURCES, False) == render(FIXED, fmt, SOURCES, False)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render(FIXED, "xml", SOURCES, False)


# --- text details -------------------------------------------------------------------------

def test_text_is_silent_without_diagnostics() -> None:
    assert render([], "text", {}, False) == ""


def test_colour_only_when_asked() -> None:
    plain = render(FIXED, "text", SOURCES, False)
    coloured = render(FIXED, "text", SOURCES, True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31merror[PCF301]\x1b[0m" in coloured
    assert "\x1b[1;33mwarning[PCF205]\x1b[0m" in coloured
    for fmt in ("json", "github", "sarif"):
        assert "\x1b" not in render(FIXED, fmt, SOURCES, True)


def test_colour_codes_strip_back_to_plain_text() -> None:
    import re

    coloured = render(FIXED, "text", SOURCES, True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == EXPECTED_TEXT


def test_wide_gutter_aligns_with_line_numbers() -> None:
    source = "\n".join(f"k{i}: {i}" for i in range(1, 12)) + "\n"
    d = Diagnostic("PCF201", "error", "bad", Span("a.yaml", 10, 1, 10, 4))
    assert render([d], "text", {"a.yaml": source}, False) == (
        "error[PCF201]: bad\n"
        "  --> a.yaml:10:1\n"
        "   |\n"
        " 9 | k9: 9\n"
        "10 | k10: 10\n"
        "   | ^^^\n"
        "\n"
        "1 error\n"
    )


def test_first_line_has_no_context_and_point_span_gets_one_caret() -> None:
    d = Diagnostic("PCF102", "error", "not a mapping", Span("a.yaml", 1, 5))
    assert render([d], "text", {"a.yaml": "abc def\n"}, False) == (
        "error[PCF102]: not a mapping\n"
        " --> a.yaml:1:5\n"
        "  |\n"
        "1 | abc def\n"
        "  |     ^\n"
        "\n"
        "1 error\n"
    )


def test_span_past_end_of_file_prints_location_only() -> None:
    d = Diagnostic("PCF103", "error", "unexpected end of file", Span("a.yaml", 9, 1))
    assert " --> a.yaml:9:1\n\n" in render([d], "text", {"a.yaml": "a: 1\n"}, False)


def test_tabs_keep_carets_aligned() -> None:
    d = Diagnostic("PCF108", "error", "tab", Span("a.yaml", 1, 2, 1, 5))
    out = render([d], "text", {"a.yaml": "\tkey: 1\n"}, False)
    assert "1 |     key: 1\n  |     ^^^\n" in out


def test_control_characters_are_escaped() -> None:
    d = Diagnostic("PCF201", "error", "bad \x1b[2J key", Span("a.yaml", 1, 1, 1, 4))
    out = render([d], "text", {"a.yaml": "k\x1b]0;x\x07: 1\n"}, False)
    assert "\x1b" not in out and "\x07" not in out
    assert "bad \\x1b[2J key" in out and "k\\x1b]0;x\\x07: 1" in out


def test_multiline_hint_is_indented() -> None:
    d = Diagnostic("PCF201", "error", "bad", None, hint="one\ntwo")
    assert "  = hint: one\n          two\n" in render([d], "text", {}, False)


def test_redact_masks_secret_values_in_frames() -> None:
    secret = "s3cr3t-pa55"
    source = f"redis:\n  password: {secret}\n  maxmemory: 1x\n"
    d = Diagnostic("PCF203", "error", "invalid size '1x'", Span("r.yaml", 3, 14, 3, 16),
                   "redis.maxmemory")

    def redact(file: str, line: int) -> str:
        text = source.split("\n")[line - 1]
        return text.replace(secret, "********") if file == "r.yaml" else text

    out = render([d], "text", {"r.yaml": source}, False, redact=redact)
    assert secret not in out
    assert "2 |   password: ********\n3 |   maxmemory: 1x\n" in out
    assert secret in render([d], "text", {"r.yaml": source}, False)  # the frame needs redact


def test_redact_applies_to_related_frames() -> None:
    d = Diagnostic("PCF401", "error", "plaintext password", None,
                   related=(Related("written here", Span("r.yaml", 1, 11)),))
    out = render([d], "text", {"r.yaml": "password: hunter2\n"}, False,
                 redact=lambda file, line: "password: ***")
    assert "hunter2" not in out and "1 | password: ***" in out


# --- json ---------------------------------------------------------------------------------

def test_json_shape_and_round_trip() -> None:
    document = json.loads(render(FIXED, "json", SOURCES, False))
    assert document["version"] == 1
    assert document["summary"] == {"errors": 3, "warnings": 1, "infos": 1}
    assert [d["code"] for d in document["diagnostics"]] == \
        ["PCF501", "PCF101", "PCF301", "PCF205", "PCF201"]
    budget = document["diagnostics"][2]
    assert budget == {
        "code": "PCF301", "severity": "error",
        "message": "memory budget exceeded: 6.2GiB planned for 4GiB",
        "file": "presets/staging.yaml", "line": 4, "column": 3, "end_line": 4, "end_column": 18,
        "path": "postgres.max_connections", "hint": "lower max_connections or raise host.memory",
        "related": [{"message": "host memory is set here", "file": "presets/base.yaml",
                     "line": 2, "column": 11, "path": "host.memory"}],
    }
    assert document["diagnostics"][0] == {
        "code": "PCF501", "severity": "info",
        "message": "no host profile given; using development defaults",
        "file": None, "line": None, "column": None, "end_line": None, "end_column": None,
        "path": None, "hint": None, "related": []}


def test_json_rebuilds_the_diagnostics() -> None:
    rebuilt = []
    for d in json.loads(render(FIXED, "json", SOURCES, False))["diagnostics"]:
        span = Span(d["file"], d["line"], d["column"], d["end_line"] or 0,
                    d["end_column"] or 0) if d["file"] else None
        related = tuple(Related(r["message"], Span(r["file"], r["line"], r["column"]),
                                r["path"]) for r in d["related"])
        rebuilt.append(Diagnostic(d["code"], d["severity"], d["message"], span, d["path"],
                                  d["hint"], related))
    original = sorted(FIXED, key=Diagnostic.sort_key)
    # Related spans carry only a start in the json shape.
    assert [(d.code, d.span, d.path, d.hint) for d in rebuilt] == \
        [(d.code, d.span, d.path, d.hint) for d in original]


def test_json_keys_sorted_and_deterministic() -> None:
    text = render(FIXED, "json", SOURCES, False)
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True,
                              ensure_ascii=False) + "\n"


def test_json_empty() -> None:
    assert json.loads(render([], "json", {}, False)) == {
        "version": 1, "summary": {"errors": 0, "warnings": 0, "infos": 0}, "diagnostics": []}


# --- github -------------------------------------------------------------------------------

@pytest.mark.parametrize("file, message, expected", [
    pytest.param("a.yaml", "100% sure",
                 "::error file=a.yaml,line=1,col=1,title=PCF201::100%25 sure",
                 id="percent-in-data"),
    pytest.param("a.yaml", "one\r\ntwo",
                 "::error file=a.yaml,line=1,col=1,title=PCF201::one%0D%0Atwo",
                 id="newlines-in-data"),
    pytest.param("dir,x/a:b%.yaml", "m: a, b",
                 "::error file=dir%2Cx/a%3Ab%25.yaml,line=1,col=1,title=PCF201::m: a, b",
                 id="comma-colon-percent-in-property"),
])
def test_github_escaping_matches_actions_toolkit(file: str, message: str, expected: str) -> None:
    d = Diagnostic("PCF201", "error", message, Span(file, 1, 1))
    assert render([d], "github", {}, False) == expected + "\n"


def test_github_every_command_is_one_line() -> None:
    lines = render(FIXED, "github", SOURCES, False).split("\n")
    assert lines[-1] == "" and len(lines) == len(FIXED) + 1


# --- sarif --------------------------------------------------------------------------------

def _sarif_validator():
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_schema_file_is_the_oasis_one() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"] == ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                            "schemas/sarif-schema-2.1.0.json")
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"


@pytest.mark.parametrize("diagnostics", [FIXED, [], [GLOBAL]], ids=["fixed", "empty", "no-span"])
def test_sarif_is_valid(diagnostics: list[Diagnostic]) -> None:
    log = json.loads(render(diagnostics, "sarif", SOURCES, False))
    errors = sorted(_sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_sarif_content() -> None:
    log = json.loads(render(FIXED, "sarif", SOURCES, False))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "perfcfg" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == ["PCF101", "PCF201", "PCF205", "PCF301", "PCF501"]
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["note", "error", "error", "warning", "error"]
    budget = results[2]
    assert budget["ruleId"] == "PCF301" and rule_ids[budget["ruleIndex"]] == "PCF301"
    assert budget["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "presets/staging.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 3, "endLine": 4, "endColumn": 18}}
    assert budget["locations"][0]["logicalLocations"] == \
        [{"fullyQualifiedName": "postgres.max_connections", "kind": "member"}]
    assert budget["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "presets/base.yaml"
    assert budget["relatedLocations"][0]["message"]["text"] == "host memory is set here"
    assert "hint: lower max_connections" in budget["message"]["text"]


def test_sarif_uri_is_a_relative_reference() -> None:
    d = Diagnostic("PCF201", "error", "x", Span("builtin:production preset.yaml", 1, 1))
    log = json.loads(render([d], "sarif", {}, False))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "builtin%3Aproduction%20preset.yaml"}
    assert not list(_sarif_validator().iter_errors(log))


def test_sarif_names_files_from_where_perfcfg_runs() -> None:
    log = json.loads(render(FIXED, "sarif", SOURCES, False, base="deploy/botfarm",
                            root_uri="file:///srv/repo/"))
    assert not list(_sarif_validator().iter_errors(log))
    run = log["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///srv/repo/"}}
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"] for loc in r.get("locations", [])
            if "physicalLocation" in loc}
    assert "deploy/botfarm/presets/staging.yaml" in uris
    assert all(u.startswith(("deploy/botfarm/", "builtin")) for u in uris), uris


# --- the fast path ------------------------------------------------------------------------

def test_import_stays_light() -> None:
    code = ("import sys, perfcfg.cli.reporters; "
            "print(sorted(m for m in ('yaml', 'jsonschema', 'pydantic', 'jinja2', 'psutil', "
            "'typer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_sarif_rules_are_described_by_the_code_catalogue() -> None:
    from perfcfg.core.codes import TITLES

    diagnostics = [Diagnostic("PCF204", "error", "bad"), Diagnostic("PCF399", "error", "new")]
    rules = json.loads(render(diagnostics, "sarif", {}))["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["shortDescription"]["text"] for r in rules} == {
        "PCF204": TITLES["PCF204"],
        "PCF399": "perfcfg cross-service problem (memory, connections, fds, ports, versions)"}
