"""Differential checking: perfcfg accepts a value exactly when the real daemon does.

A *case* is a preset fragment (``{"redis": {"dbfilename": "sub/dump.rdb"}}``) compiled over a
small project that targets one daemon version. perfcfg's verdict is whether the build refuses
it with a diagnostic that says the daemon would (``DAEMON_CODES``); the daemon's verdict is
whether the real daemon of that version starts with (or parses) the files:

- perfcfg accepts: the daemon gets perfcfg's own files, and must start;
- perfcfg refuses: the daemon gets the project's files with the fragment's values written
  the plain way (``Daemon.raw``), and must refuse them.

Both directions count: a value the daemon takes must not be refused, unless perfcfg refuses
it on purpose because the daemon would not keep it (it rounds, truncates or wraps it); each
such purpose is declared in the daemon's corpus file under ``stricter``, with its reason.

Each daemon has a corpus, ``tests/data/differential/<daemon>.yaml``: every disagreement found
so far, with the daemon's own verdict, replayed first (and, without the daemon, against
perfcfg alone); the parameters the random part leaves out, and why; the stricter purposes.
The random part (hypothesis) draws values for the catalog's parameters — boundaries, units,
odd strings, value sets — and pairs of parameters that the constraint data relates.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from perfcfg.core.codes import WAIVABLE
from perfcfg.services.catalog import Catalog, load
from perfcfg.stages.layers import forget_parsed
from perfcfg.stages.pipeline import Request, Result, compile_env

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "differential"

# Diagnostics that say "the daemon would refuse this" (or misread it): the ones a verdict counts.
# Policy (PCF4xx) and budget (PCF3xx) findings are perfcfg's own judgement, waived here.
DAEMON_CODES = frozenset({"PCF201", "PCF203", "PCF204", "PCF205", "PCF210", "PCF212",
                          "PCF218", "PCF219", "PCF304"})

HOST = ("memory: 2GiB\ncpus: 2\nstorage: ssd\nopen_files: 65536\n")
BASE = """\
databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
redis:
  users:
    - name: app
      password: ${env:APP_REDIS_PASSWORD}
      keys: ["app:*"]
      commands: [-@all, +@read, +@write, +@connection]
workload:
  programs:
    - name: worker
      command: /bin/sleep 1000
      processes: 2
      memory: 10MiB
"""


@dataclass(frozen=True)
class Verdict:
    accepts: bool
    why: str = ""
    # False: the daemon was only asked part of the question (PostgreSQL's ``-C`` without a
    # start), so its "accepts" cannot contradict a refusal
    sure: bool = True

    def __str__(self) -> str:
        return ("accepts" if self.accepts else "refuses") + (f" ({self.why})" if self.why else "")


@dataclass
class Corpus:
    """One daemon's corpus file."""

    exclude: dict[str, str]
    stricter: list[dict[str, str]]
    cases: list[dict[str, Any]]
    # parameter → {up_to: the largest value a start here can take, why: what runs out}
    parse_only: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stricter_reason(self, message: str) -> str | None:
        for item in self.stricter:
            if re.search(item["match"], message):
                return item["why"]
        return None


def loaded(daemon: str, version: str, case_insensitive: bool = False) -> Catalog:
    """The catalog the differential draws from: one perfcfg has, or the test is wrong."""
    cat = load(daemon, version, case_insensitive)
    assert cat is not None, f"perfcfg has no catalog for {daemon} {version}"
    return cat


@cache
def corpus(daemon: str) -> Corpus:
    data = yaml.safe_load((CORPUS / f"{daemon}.yaml").read_text()) or {}
    return Corpus(data.get("exclude") or {}, data.get("stricter") or [], data.get("cases") or [],
                  data.get("parse_only") or {})


def expected(case: dict[str, Any], version: str) -> str | None:
    """The daemon's recorded verdict on ``case`` for ``version`` (None: not for this one)."""
    verdict = case["daemon"]
    if isinstance(verdict, dict):
        return verdict.get(version)
    return verdict


def perfcfg_expected(case: dict[str, Any], version: str) -> str | None:
    """perfcfg's verdict a case records: the daemon's, but where perfcfg refuses on purpose
    what the daemon takes (``perfcfg: refuses``, with a ``stricter`` reason for it)."""
    return case.get("perfcfg") or expected(case, version)


def case_id(case: dict[str, Any]) -> str:
    return json.dumps(case["preset"], sort_keys=True, separators=(",", ":"))[:80]


# -- perfcfg's side -----------------------------------------------------------------------

def merge(base: dict, extra: dict) -> dict:
    """``extra`` over ``base``: maps deep-merge, named lists merge item by item on ``name``."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list) and value and \
                all(isinstance(v, dict) and "name" in v for v in value):
            items = {i["name"]: i for i in out[key] if isinstance(i, dict)}
            for item in value:
                items[item["name"]] = merge(items.get(item["name"], {}), item)
            out[key] = list(items.values())
        else:
            out[key] = copy.deepcopy(value)
    return out


class Project:
    """A small project targeting one daemon version, every security and budget finding
    waived: only what the daemon would say decides the build."""

    def __init__(self, root: Path, targets: Mapping[str, Any], host: str = HOST) -> None:
        self.root = root
        # This machine's locales and the build's own libraries are all the daemons here
        # have: declared, so that perfcfg checks against them instead of assuming.
        self.targets = {**targets, "postgres_build": {"libraries": [], **_build(targets)}}
        host += f"locales: {json.dumps(list(_locales()))}\n"
        root.mkdir(parents=True, exist_ok=True)
        (root / "hosts").mkdir(exist_ok=True)
        (root / "presets").mkdir(exist_ok=True)
        project = {"project": "diff", "secrets": {"mode": "placeholder"}, "targets": self.targets,
                   "environments": {"staging": {"preset": "presets/staging.yaml",
                                                "host": "hosts/host.yaml"}}}
        (root / "perfcfg.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        (root / "hosts/host.yaml").write_text(host)
        self.base = yaml.safe_load(BASE)
        self.base["policy"] = {"waivers": [
            {"rule": code, "reason": "differential test: only the daemon's verdict counts"}
            for code in sorted(WAIVABLE)]}
        self.base_files = self.files({})

    def compile(self, fragment: Mapping[str, Any]) -> Result:
        preset = merge(self.base, dict(fragment))
        text = "extends: [builtin:staging]\n" + yaml.safe_dump(preset, sort_keys=False)
        (self.root / "presets/staging.yaml").write_text(text)
        forget_parsed()
        return compile_env(Request(self.root, "staging", secrets_mode="placeholder"))

    def files(self, fragment: Mapping[str, Any]) -> dict[str, str]:
        result = self.compile(fragment)
        assert result.ok, [str(d) for d in result.diagnostics if d.severity == "error"]
        return {name: data.decode() for name, data in result.files.items()}

    def verdict(self, fragment: Mapping[str, Any], about: tuple[str, ...] = ()
                ) -> tuple[Verdict | None, Result]:
        """perfcfg's verdict, or None when the build fails for a reason that is not about
        what the daemon accepts (a value perfcfg manages itself, a tuning rule it lacks, what
        another daemon refuses). ``about``: the setting paths of the daemon under test."""
        result = self.compile(fragment)
        errors = [d for d in result.diagnostics if d.severity == "error"]
        counted = [d for d in errors if d.code in DAEMON_CODES and
                   (not about or (d.path or "").startswith(about))]
        if counted:
            return Verdict(False, f"{counted[0].code} {counted[0].message}"), result
        if errors:
            return None, result
        return Verdict(True), result


def _build(targets: Mapping[str, Any]) -> dict[str, bool]:
    """The features of the PostgreSQL build the tests start (its catalog says which it has)."""
    if "postgres" not in targets:
        return {}
    data = json.loads((ROOT / "schemas" / "catalogs" / f"postgresql-{targets['postgres']}.json")
                      .read_text())
    return {k: v for k, v in data["build"]["features"].items()
            if k in ("lz4", "zstd", "liburing") and v is not None}


@cache
def _locales() -> tuple[str, ...]:
    from perfcfg.host.detect import detect

    return detect().locales or ("C", "POSIX")


_PROJECTS: dict[str, Project] = {}


def project(tmp_path_factory: Any, name: str, targets: Mapping[str, Any]) -> Project:
    """One project per daemon version for the whole session: its base files are compiled
    once, not once per case."""
    if name not in _PROJECTS:
        _PROJECTS[name] = Project(tmp_path_factory.mktemp(f"diff-{name}"), targets)
    return _PROJECTS[name]


# -- the daemon's side --------------------------------------------------------------------

class Daemon:
    """What one daemon needs for the differential: how to run it on a build's files, and
    how to write a fragment's values into them the plain way."""

    name = ""        # the corpus file's name
    service = ""     # perfcfg's service (preset section)
    about: tuple[str, ...] = ()   # setting paths whose refusals are this daemon's

    def accepts(self, files: Mapping[str, str], version: str) -> Verdict:
        raise NotImplementedError

    def raw(self, files: Mapping[str, str], fragment: Mapping[str, Any]) -> dict[str, str]:
        raise NotImplementedError


def plain(value: Any, words: tuple[str, str] = ("on", "off")) -> str:
    """A YAML value as text, the way a person would type it into the daemon's file."""
    if isinstance(value, bool):
        return words[0] if value else words[1]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


@dataclass
class Disagreement:
    version: str
    fragment: dict[str, Any]
    perfcfg: Verdict
    daemon: Verdict

    def __str__(self) -> str:
        entry = {"preset": self.fragment, "daemon": "accepts" if self.daemon.accepts else
                 "refuses", "said": self.daemon.why[-200:] if not self.daemon.accepts else ""}
        return (f"{self.version}: perfcfg {self.perfcfg}, the daemon {self.daemon}; corpus "
                f"entry:\n{yaml.safe_dump([entry], sort_keys=False, width=100)}")


def compare(daemon: Daemon, project: Project, version: str, fragment: dict[str, Any]
            ) -> tuple[Verdict | None, Verdict | None, Disagreement | None]:
    """Both verdicts on ``fragment`` and the disagreement between them, if any."""
    mine, result = project.verdict(fragment, daemon.about)
    if mine is None:
        return None, None, None
    if mine.accepts:
        files = {name: data.decode() for name, data in result.files.items()}
        theirs = daemon.accepts(files, version)
    else:
        theirs = daemon.accepts(daemon.raw(project.base_files, fragment), version)
        if theirs.accepts and (not theirs.sure or corpus(daemon.name).stricter_reason(mine.why)):
            return mine, theirs, None
    if mine.accepts == theirs.accepts:
        return mine, theirs, None
    return mine, theirs, Disagreement(version, fragment, mine, theirs)


def corpus_cases(daemon: str, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(key, case) for each corpus case that records a verdict for the key (a version)."""
    return [(k, c) for k in keys for c in corpus(daemon).cases if expected(c, k) is not None]


def replay(daemon: Daemon, project: Project, version: str, key: str | None = None,
           check: Callable[..., tuple[Verdict | None, Verdict | None, Disagreement | None]]
           = compare) -> list[str]:
    """The corpus cases on which perfcfg or the real daemon does not do what the corpus
    recorded for ``key`` (the version unless given, e.g. ``valkey-8.1``), one line each."""
    wrong = []
    for case in corpus(daemon.name).cases:
        want = expected(case, key or version)
        if want is None:
            continue
        mine, theirs, disagreement = check(daemon, project, version, case["preset"])
        if disagreement is not None or theirs is None or theirs.accepts != (want == "accepts"):
            wrong.append(f"{case['preset']}: recorded {want}, perfcfg {mine}, daemon {theirs}")
    return wrong


# -- drawing values -----------------------------------------------------------------------

ODD_TEXT = ["", " ", "a b", "x'y", 'x"y', "a\\b", "50%", "%(here)s", "a#b", "a;b", "é", "-1",
            "0x10", "/tmp/x", "rel/x", "../x", "TRUE", "none", "*", "a,b", "a, b"]


def numbers(lo: float | None, hi: float | None, real: bool = False) -> st.SearchStrategy:
    """Boundaries and their neighbours, and values in between."""
    picks: list[Any] = [0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63]
    for bound in (lo, hi):
        if bound is not None:
            b = int(bound) if float(bound).is_integer() else bound
            picks += [b, b - 1, b + 1]
    inside: st.SearchStrategy[float] = st.integers(int(lo) if lo is not None else -(2**40),
                                                   int(hi) if hi is not None else 2**40)
    if real:
        inside = st.floats(lo if lo is not None else -1e6, hi if hi is not None else 1e6,
                           allow_nan=False)
    return st.one_of(st.sampled_from(picks), inside)


@dataclass
class Draws:
    """How one daemon's parameters get their drawn values."""

    values: Callable[[Any], st.SearchStrategy]       # catalog Param → values
    names: list[str] = field(default_factory=list)    # parameters to draw from
    pairs: list[tuple[str, str]] = field(default_factory=list)   # related by constraint data

    def fragment(self, section: Callable[[dict[str, Any]], dict[str, Any]],
                 params: Mapping[str, Any]) -> st.SearchStrategy:
        """One to three parameters, or one related pair, with drawn values."""
        def chosen(names: list[str]) -> st.SearchStrategy:
            return st.fixed_dictionaries({n: self.values(params[n]) for n in names})
        single = st.lists(st.sampled_from(self.names), min_size=1, max_size=3, unique=True)
        groups = st.one_of(single, st.sampled_from(self.pairs).map(list)) if self.pairs \
            else single
        return groups.flatmap(chosen).map(section)


# -- a planted disagreement ---------------------------------------------------------------

@contextmanager
def planted(folder: Path, daemon: str, version: str, change: Callable[[dict[str, Any]], None],
            monkeypatch: Any) -> Iterator[None]:
    """Inside the block perfcfg reads a test copy of ``daemon``'s ``version`` catalog whose
    parameters ``change`` has altered (a range widened), instead of its own: a differential
    that still agrees with the daemon then could not fail."""
    from importlib import resources

    from perfcfg.services import catalog as catalogs

    file = f"{daemon}-{version}.json"
    data = json.loads((resources.files("perfcfg.schemas.catalogs") / file).read_text())
    change(data["parameters"])
    (folder / file).write_text(json.dumps(data))
    real = catalogs._files
    monkeypatch.setattr(catalogs, "_files", lambda: [folder, *real()])
    catalogs.load.cache_clear()
    catalogs._without.cache_clear()
    try:
        yield
    finally:
        monkeypatch.setattr(catalogs, "_files", real)
        catalogs.load.cache_clear()
        catalogs._without.cache_clear()


def holds(fragments: st.SearchStrategy, examples: int,
          disagreement: Callable[[dict[str, Any]], Disagreement | None]) -> None:
    """The property on ``examples`` draws of ``fragments``, in the order every run draws them:
    ``disagreement`` finds none."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fragments)
    def agrees(fragment: dict[str, Any]) -> None:
        found = disagreement(fragment)
        assert found is None, str(found)

    agrees()


# -- process helpers ----------------------------------------------------------------------

def python_of(version: str) -> str:
    """The interpreter that has supervisor ``version`` (the harness's binaries)."""
    from perfcfg.harness.binaries import require

    return require("supervisord", version)


_PARSER = (
    "import json, sys\n"
    "from perfcfg.services.supervisor.parse import parse_supervisord_conf\n"
    "from perfcfg.harness.errors import DaemonError\n"
    "for line in sys.stdin:\n"
    "    try:\n"
    "        parse_supervisord_conf(json.loads(line), host_independent=True)\n"
    "        print(json.dumps([True, '']), flush=True)\n"
    "    except DaemonError as exc:\n"
    "        print(json.dumps([False, exc.message]), flush=True)\n")


class SupervisorParser:
    """supervisor's own option parser, of the version asked for, in that version's own
    interpreter: one process that parses each text it is sent (a start per text would cost
    the interpreter's start-up every time)."""

    def __init__(self, version: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "compiler")}
        self.proc = subprocess.Popen([python_of(version), "-c", _PARSER], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)

    def verdict(self, text: str) -> Verdict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        ok, why = json.loads(self.proc.stdout.readline())
        return Verdict(ok, why)

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


