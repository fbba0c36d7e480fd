"""The README and docs say what is true: every command line they print is one perfcfg takes,
every table and list of commands, options, files, folders and codes is the registry's, every
file and test they name exists, and every figure is checked against where it comes from."""

from __future__ import annotations

import fnmatch
import re

import pytest
from helpers import ROOT, group

from perfcfg.cli import commands
from perfcfg.cli.main import BY_NAME, GLOBAL, PROJECT
from perfcfg.core.codes import TITLES
from perfcfg.services import registry

README = (ROOT / "README.md").read_text()
DOCS = {p.relative_to(ROOT).as_posix(): p.read_text()
        for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}


def section(title: str, text: str = README) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_lines(text: str) -> list[str]:
    """Lines of code blocks and inline code spans."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [line for block in blocks for line in block.splitlines()] + spans


def command_lines(text: str) -> list[str]:
    """Lines that are commands: shell blocks, ``$ `` lines of output blocks, inline code."""
    lines = []
    for lang, block in re.findall(r"```([a-z]*)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if lang in ("bash", "sh", "console", "") or line.startswith("$ "):
                lines.append(line)
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return lines


def perfcfg_lines(text: str) -> list[str]:
    """The perfcfg command lines a text prints (``$ perfcfg …``, ``perfcfg …`` in code)."""
    out = []
    for line in command_lines(text):
        for m in re.finditer(r"(?:^|\$ |&& |; |\| |runuser -u \w+ -- |\.venv/bin/)"
                             r"perfcfg((?: [^|;&#]*)?)", line.strip()):
            out.append("perfcfg" + m.group(1).split("  #")[0].rstrip())
    return out


def flags_of(name: str) -> set[str]:
    command = BY_NAME[name]
    return {f for o in (*command.options, *GLOBAL, PROJECT) for f in o.flags}


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_every_command_line_printed_is_one_perfcfg_takes(doc):
    found = perfcfg_lines(DOCS[doc])
    seen = 0
    for line in found:
        words = line.replace("[", " ").replace("]", " ").replace("\\|", " ").split()
        name = next((w for w in words[1:] if not w.startswith("-") and not w.isupper()
                     and not w.startswith(("examples/", "/"))), None)
        if name is None or words[1].startswith("--version") or "COMMAND" in words:
            continue
        if words[1] in ("--project",) or words[1] in {f for o in GLOBAL for f in o.flags}:
            name = next(w for w in words[1:] if w in BY_NAME)
        assert name in BY_NAME, (doc, line)
        unknown = {w.split("=")[0] for w in words if w.startswith("--")} - flags_of(name) - {
            "--help", "--install-completion", "--show-completion"}
        assert not unknown, (doc, line, unknown)
        seen += 1
    if doc == "README.md":
        assert seen > 40, seen


def table_rows(title: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for m in re.finditer(r"^\| `perfcfg (\w+)([^|]*(?:\\\|[^|]*)*)` (?:\| .*?)?\|",
                         section(title), re.M):
        rows[m.group(1)] = rows.get(m.group(1), "") + m.group(0) + "\n"
    return rows


def test_the_commands_table_lists_every_command_and_option():
    rows = table_rows("Commands and exit codes")
    assert set(rows) == set(BY_NAME)
    for name, row in rows.items():
        # the command cells (each row's first; a pipe inside one is escaped)
        cells = "".join(re.split(r"(?<!\\) \| ", line.strip("|"))[0]
                        for line in row.split("\n") if line)
        shown = set(re.findall(r"--[a-z-]+", cells))
        own = {f for o in BY_NAME[name].options for f in o.flags if f.startswith("--")}
        assert own <= shown, (name, own - shown)
        assert shown <= flags_of(name), (name, shown - flags_of(name))


def test_the_exit_codes_are_the_commands():
    text = section("Commands and exit codes")
    found = dict(re.findall(r"\*\*(\d)\*\* `?([a-z]+)", text))
    assert found == {str(commands.OK): "success", str(commands.INVALID): "invalid",
                     str(commands.USAGE): "usage", str(commands.STALE): "build"}


def test_the_outputs_diagram_lists_every_file_a_build_writes():
    diagram = README.split("```\nperfcfg.yaml + presets/*.yaml + host profile\n", 1)[1]
    diagram = diagram.split("```", 1)[0]
    listed = set(re.findall(r"[\w-]+\.(?:conf|ini|txt|acl|sql|json)", diagram))
    always = {o.name for o in registry.outputs() if o.when is None}
    optional = {o.name for o in registry.outputs() if o.when is not None}
    assert always <= listed, always - listed
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in
                   re.findall(r"[\w*.-]+", diagram)) for name in optional), diagram
    assert "deploy.limits" in diagram and "when monitored" in diagram


def test_the_files_without_a_header_are_named():
    text = section("Output")
    bare = {o.name for o in registry.outputs() if not o.header}
    said = re.search(r"(\w+) files? (?:is|are) without a header:(.*?)\n\n", text, re.S)
    assert said is not None
    named = set(re.findall(r"`([\w.-]+)`", said.group(2)))
    assert named == bare, (named, bare)
    count = {"One": 1, "Two": 2, "Three": 3}[said.group(1)]
    assert count == len(bare)


def test_every_code_range_names_every_code_of_its_family_after_it():
    for doc, text in DOCS.items():
        for m in re.finditer(r"`?(PCF(\d)\d\d)`?[–-]`?(PCF\2\d\d)`?", text):
            start, end = m.group(1), m.group(3)
            assert start in TITLES and end in TITLES, (doc, m.group(0))
            later = [c for c in TITLES if c[3] == m.group(2) and c > end]
            around = text[m.end():m.end() + 200]
            assert all(c in around for c in later), (doc, m.group(0), later)


def test_the_layout_lists_every_folder():
    block = section("Layout").split("```", 2)[1]
    package = ROOT / "compiler/perfcfg"
    for folder in sorted(p.name for p in package.iterdir()
                         if p.is_dir() and (p / "__init__.py").exists()):
        assert f"perfcfg/{folder}/" in block, folder
    for folder in sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not
                         p.name.startswith(".") and p.name not in ("build", "dist")
                         and not p.name.endswith(".egg-info")):
        assert re.search(rf"^{re.escape(folder)}/", block, re.M), folder
    docs = block.split("docs/", 1)[1]
    for page in sorted(p.stem for p in (ROOT / "docs").glob("*.md")):
        assert re.search(rf"\b{page}\b", docs, re.I), page


PATH = re.compile(r"(?<![\w/.-])((?:docs|scripts|\.ci|bench|schemas|examples|compiler|templates"
                  r"|presets|tests)/[\w./-]*[\w/])")


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_every_file_named_exists(doc):
    text = DOCS[doc]
    base = ROOT if doc == "README.md" else ROOT / "docs"
    # outputs quote files that do not exist (a missing preset's message); a command writes
    # the file it redirects to, and a recipe the file it says a script writes
    prose = re.sub(r"```text\n.*?```", "", text, flags=re.S)
    made = {m.group(1) for m in re.finditer(r"(?:> |writes\s+`)([\w./-]+)", prose)}
    named = {m.group(1) for line in code_lines(prose) for m in PATH.finditer(line)} - made
    named |= set(re.findall(r"\]\(((?:\.\./)?[\w./-]+\.md)(?:#[\w-]+)?\)", text))
    missing = []
    for path in sorted(named):
        if any(c in path for c in "<>*{}") or "/tmp/" in path:
            continue
        where = (base / path) if path.startswith("../") or doc != "README.md" and \
            path.endswith(".md") and "/" not in path else ROOT / path
        if not where.exists() and not (ROOT / path).exists():
            missing.append(path)
    # a path that names a project file ("presets/base.yaml") is the example's
    missing = [p for p in missing if not (ROOT / "examples/botfarm" / p).exists()]
    assert missing == [], missing


def test_every_test_named_exists():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    defined = set(re.findall(r"^def (test_\w+)", sources, re.M))
    for doc, text in DOCS.items():
        for name in set(re.findall(r"`(?:[\w/]+\.py::)?(test_[\w*]+)`", text)):
            assert fnmatch.filter(defined, name), (doc, name)


def test_the_limits_promised_are_the_codes():
    from perfcfg.stages import layers, load, secrets

    promises = " ".join(section("Reliability promises").split())
    assert f"(limit {load.MAX_DEPTH})" in promises
    assert f"(limit {layers.MAX_EXTENDS_DEPTH})" in promises
    assert f"at most {load.MAX_FILE_BYTES >> 20} MiB (PCF107)" in promises
    assert f"a secret file {secrets.MAX_SECRET_BYTES >> 10} KiB" in promises


def test_the_pydantic_figures_are_the_pins():
    pyproject = (ROOT / "pyproject.toml").read_text()
    floor = group(re.search(r'"pydantic(>=[\d.]+,<\d+)"', pyproject))
    pinned = group(re.search(r'"pydantic==([\d.]+)"', pyproject))
    from test_pydantic_range import RELEASES

    setup = section("Set up")
    assert f"`pydantic{floor}`" in setup and f"({pinned}," in setup
    assert " and ".join(RELEASES) in setup


def test_the_cli_latency_is_the_benchmarks():
    bench = (ROOT / "bench/README.md").read_text().split("## CLI latency", 1)[1]
    for doc, text in DOCS.items():
        for ms in re.findall(r"~(\d+) ms for the example's three environments", text) + \
                re.findall(r"three environments in ~(\d+) ms", text):
            assert f"{ms} ms" in bench, (doc, ms)


def test_the_daemon_installs_are_what_the_installer_says():
    header = (ROOT / ".ci/install-daemons.sh").read_text().split("set -euo pipefail", 1)[0]
    text = README.split("**Installing every version.**", 1)[1].split("\n\n", 1)[0]
    # the versions it installs (those Debian 12 ships follow the first ";")
    for version in re.findall(r"\b\d+\.\d+(?:\.\d+)?\b", text.split(";")[0]):
        assert version in header, version
    seconds = int(group(re.search(r"about (\d+) s from scratch", text)))
    spent = re.search(r"([\d.]+)-([\d.]+) s from an empty prefix", header)
    assert spent is not None
    low, high = (float(x) for x in spent.groups())
    assert low - 1 <= seconds <= high + 1
    disk = group(re.search(r"(\d+) MB on disk", text))
    assert f"disk       {disk} MB" in header


def collected(marks: str | None = None) -> int:
    import subprocess
    import sys

    args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    if marks:
        args += ["-m", marks]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return int(group(re.search(r"(\d+)(?:/\d+)? tests? (?:collected|selected)", done.stdout)))


@pytest.mark.slow
def test_the_test_counts_are_the_suites_within_ten_percent():
    """The counts move with every commit (the lead updates them when merging); a figure that
    has drifted by more than a tenth from the suite is stale."""
    setup = section("Set up")
    everyday = int(group(re.search(r"# ([\d,]+) tests", setup)).replace(",", ""))
    whole = int(group(re.search(r"and ([\d,]+) tests in", setup)).replace(",", ""))
    assert abs(everyday - collected("not slow and not daemons")) <= everyday / 10
    assert abs(whole - collected()) <= whole / 10
