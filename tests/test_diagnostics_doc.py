"""docs/diagnostics.md is the catalogue of codes: complete, and its examples are real output."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers import ROOT, group, run, write
from test_invalid_corpus import materialise, run_case

from perfcfg.core.codes import TITLES

DOC = ROOT / "docs" / "diagnostics.md"
SECTION = re.compile(r"^## (PCF\d{3})\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
CASE_REF = re.compile(r"^Example — case `([^`]+)`", re.MULTILINE)
OUTPUT = re.compile(r"^```text\n(.*?)^```", re.MULTILINE | re.DOTALL)


def codes_in_compiler() -> set[str]:
    sources = (ROOT / "compiler").rglob("*.py")
    return {code for path in sources for code in re.findall(r'"(PCF\d{3})"', path.read_text())}


def doc_sections() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in SECTION.finditer(DOC.read_text())}


def test_every_code_the_compiler_emits_is_documented_and_vice_versa():
    emitted, documented = codes_in_compiler(), set(doc_sections())
    assert sorted(emitted - documented) == [], "document these codes in docs/diagnostics.md"
    assert sorted(documented - emitted) == [], "documented but never emitted"


def test_the_code_table_matches_the_catalogue():
    assert set(TITLES) == set(doc_sections())
    for code, body in doc_sections().items():
        assert f"**{TITLES[code]}**" in body, code


@pytest.mark.parametrize("code", sorted(TITLES))
def test_every_code_has_an_example_and_a_fix(code):
    body = doc_sections()[code]
    severities = group(re.search(r"· severity: (.*)", body))   # warning and info codes too
    assert any(f"{s}[{code}]" in group(OUTPUT.search(body))
               for s in ("error", "warning", "info") if s in severities)
    assert "How to fix: " in body


def documented_cases() -> list[tuple[str, str, str]]:
    return [(code, group(CASE_REF.search(body)), group(OUTPUT.search(body)))
            for code, body in sorted(doc_sections().items()) if CASE_REF.search(body)]


@pytest.mark.parametrize("code, case, shown", documented_cases(),
                         ids=[c for c, _, _ in documented_cases()])
def test_documented_example_is_the_real_output(code, case, shown, tmp_path, monkeypatch):
    _, result, _, _ = run_case(case, tmp_path, monkeypatch, "text")
    assert result.err.replace(str(tmp_path / case), "<project>") == shown


# Examples that cannot be stored as corpus cases (a file over 1 MiB; a file root can always
# read): the test makes them from a valid project. Each returns (description, project dir).
def _valid_project(tmp_path: Path) -> Path:
    return materialise("missing-environment", tmp_path / "project")


def _oversized(tmp_path: Path, monkeypatch) -> tuple[str, Path]:
    project = _valid_project(tmp_path)
    write(project / "presets/base.yaml", "# padding\n" * 110_000)
    return "a preset of 1.1 MB", project


def _unreadable(tmp_path: Path, monkeypatch) -> tuple[str, Path]:
    project = _valid_project(tmp_path)
    host = project / "hosts/vm.yaml"
    real = os.open   # what perfcfg.core.files opens with

    def open_(path, *args, **kwargs) -> int:   # as a non-root user would meet a mode-000 file
        if Path(path) == host:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    return "hosts/vm.yaml is not readable (mode 000)", project


GENERATED_EXAMPLES = {"PCF101": _unreadable, "PCF107": _oversized}


@pytest.mark.parametrize("code", sorted(GENERATED_EXAMPLES))
def test_generated_example_is_the_real_output(code, tmp_path, monkeypatch):
    what, project = GENERATED_EXAMPLES[code](tmp_path, monkeypatch)
    monkeypatch.chdir(project)
    body = doc_sections()[code]
    assert f"Example — {what}," in body
    result = run("validate", "--project", str(project))
    assert result.code == 1
    assert result.err.replace(str(project), "<project>") == group(OUTPUT.search(body))


# Warnings and information exit 0, so they cannot be corpus cases: their examples show the
# preset written over case `auto-without-rule`'s staging preset, and the output of validate.
PRESET_EXAMPLE = re.compile(r"^Example — .*\((?:not a corpus case|run on a copy of case "
                            r"`auto-without-rule`)", re.MULTILINE)
# Each yaml block names the file it replaces (a preset, or perfcfg.yaml for other targets).
YAML_BLOCK = re.compile(r"^```yaml\n# ((?:presets/)?[\w.-]+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def preset_examples() -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    out = []
    for code, body in sorted(doc_sections().items()):
        if PRESET_EXAMPLE.search(body):
            files = tuple(YAML_BLOCK.findall(body))
            out.append((code, files, group(OUTPUT.search(body))))
    return out


def test_the_warning_examples_are_found():
    assert {code for code, *_ in preset_examples()} >= {
        "PCF213", "PCF306", "PCF310", "PCF313", "PCF314", "PCF315", "PCF416", "PCF421"}


@pytest.mark.parametrize("code, files, shown", preset_examples(),
                         ids=[c for c, *_ in preset_examples()])
def test_warning_example_is_the_real_output(code, files, shown, tmp_path, monkeypatch):
    project = materialise("auto-without-rule", tmp_path / "project")
    monkeypatch.chdir(project)
    for name, text in files:
        write(project / name, text)
    result = run("validate", "--project", str(project))
    assert result.code == 0
    assert result.err.replace(str(project), "<project>") == shown


def test_pre_empted_example_is_the_real_output(tmp_path, monkeypatch):
    """PCF309's example: validation's pgbouncer 1.18 catalog is told to accept
    max_prepared_statements (a real preset gets PCF201 first), and the cross-service check
    behind it must print exactly what the documentation shows."""
    from perfcfg.services import catalog as catalogs

    real = catalogs.load

    def accepting(daemon, version, case_insensitive=False):
        cat = real(daemon, version, case_insensitive)
        if cat is not None and (daemon, version) == ("pgbouncer", "1.18"):
            key, newer = "max_prepared_statements", real("pgbouncer", "1.24")
            assert newer is not None
            params = dict(cat.params, **{key: newer.params[key]})
            cat = catalogs.Catalog(cat.daemon, cat.version, params, cat.case_insensitive)
        return cat

    monkeypatch.setattr(catalogs, "load", accepting)
    body = doc_sections()["PCF309"]
    project = materialise("auto-without-rule", tmp_path / "project")
    for name, text in YAML_BLOCK.findall(body):
        write(project / name, text)
    monkeypatch.chdir(project)
    result = run("validate", "--project", str(project))
    assert result.code == 1
    assert result.err.replace(str(project), "<project>") == group(OUTPUT.search(body))


def test_the_rules_parts_of_the_doc_are_made_from_the_rule_records():
    """scripts/gen_diagnostics.py makes the code table, every section's title and severity line
    and each rule's why and fix from the registry and the Rule records: the committed doc is
    what it makes, and a hand edit of a rule's words is put back."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_diagnostics",
                                                  ROOT / "scripts" / "gen_diagnostics.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = DOC.read_text()
    assert gen.generate(text) == text
    for edit in (("Why it matters: protected mode refuses", "Why it matters: protected mode lets"),
                 ("| [PCF403](#pcf403) | error in production", "| [PCF403](#pcf403) | warning in "
                  "production")):
        planted = text.replace(*edit, 1)
        assert planted != text and gen.generate(planted) == text
