"""perfcfg accepts exactly what supervisor 4.2 and 4.3 accept, by supervisor's own parser.

The corpus (``tests/data/differential/supervisor.yaml``) is replayed first, against perfcfg
alone (the fast loop) and against each version's own option parser (run in that version's
interpreter, as ``supervisord -c`` reads a file, host checks aside); then hypothesis draws
``[supervisord]`` keys and ``[program:x]`` options of the catalog — switches, sizes, signals,
exit codes, names — and each draw is parsed (differential.py says how both verdicts are made).
"""

from __future__ import annotations

import os

import pytest
from conftest import require_daemon
from differential import (
    Daemon,
    Disagreement,
    Draws,
    Project,
    SupervisorParser,
    Verdict,
    compare,
    corpus,
    corpus_cases,
    holds,
    loaded,
    numbers,
    perfcfg_expected,
    plain,
    planted,
    project,
    replay,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from perfcfg.harness import ini
from perfcfg.services import registry
from perfcfg.services.constraints import related_pairs

EXAMPLES = int(os.environ.get("PERFCFG_DIFFERENTIAL_EXAMPLES", "40")) * 3
PROGRAM = "program:worker"


class Supervisor(Daemon):
    name = "supervisor"
    service = "supervisor"
    about = ("supervisor.", "workload.")

    def __init__(self, version: str) -> None:
        self.parser = SupervisorParser(version)

    def accepts(self, files, version: str) -> Verdict:
        return self.parser.verdict(files["supervisord.conf"])

    def raw(self, files, fragment) -> dict[str, str]:
        text = files["supervisord.conf"]
        main = {k: plain(v, ("true", "false")) for k, v in fragment.get("supervisor", {}).items()
                if not isinstance(v, dict)}
        text = ini.set_keys(text, "supervisord", main, key_case=False)
        for section, values in fragment.get("supervisor", {}).items():
            if isinstance(values, dict):
                text = ini.set_keys(text, section, {k: plain(v, ("true", "false"))
                                                    for k, v in values.items()}, key_case=False)
        for program in fragment.get("workload", {}).get("programs", []):
            options = {k: plain(v, ("true", "false"))
                       for k, v in program.get("supervisor", {}).items()}
            if "processes" in program:
                options["numprocs"] = str(program["processes"])
            text = ini.set_keys(text, f"program:{program['name']}", options, key_case=False)
        return {**files, "supervisord.conf": text}


def project_for(tmp_path_factory, version: str) -> Project:
    return project(tmp_path_factory, f"supervisor-{version}", {"supervisor": version})


CASES = corpus_cases("supervisor", registry.binaries()["supervisor"].versions)


@pytest.mark.parametrize("version, case", CASES, ids=[f"{v}-{i}" for i, (v, _) in
                                                       enumerate(CASES)])
def test_perfcfg_says_what_the_corpus_says_the_daemon_does(tmp_path_factory, version, case):
    verdict, result = project_for(tmp_path_factory, version).verdict(case["preset"])
    assert verdict is not None, [str(d) for d in result.diagnostics]
    assert verdict.accepts == (perfcfg_expected(case, version) == "accepts"), verdict


@pytest.mark.daemons
@pytest.mark.parametrize("version", registry.binaries()["supervisor"].versions)
def test_the_corpus_is_what_the_daemon_does(tmp_path_factory, version):
    require_daemon("supervisor", version)
    project, daemon = project_for(tmp_path_factory, version), Supervisor(version)
    try:
        wrong = replay(daemon, project, version)
    finally:
        daemon.parser.close()
    assert not wrong, "\n".join(wrong)


SIGNALS = ["TERM", "KILL", "HUP", "INT", "QUIT", "USR1", "USR2", "KILLX", "SIGTERM", "term", "9",
           "0", "STOP"]
STRINGS = ["", "x", "a b", "%(program_name)s", "%(process_num)02d", "%(bogus)s", "50%",
           "/tmp/x", "rel/x", "AUTO", "NONE", "0,256", "0,2", "1,,2", "a:b", "é"]


def values(param) -> st.SearchStrategy:
    if param.type == "bool":
        return st.sampled_from([True, False, "yes", "no", "on", "off", "1", "0", "y", "maybe"])
    if param.type == "enum":
        return st.sampled_from([*param.values, *(v.upper() for v in param.values), "bogus"])
    if param.type == "integer":
        return numbers(param.min, param.max)
    if param.type == "memory":
        return st.sampled_from(["1MB", "1mb", "1KB", "1GB", "1MiB", "0", "-1", "50MB", 1024, "1.5MB"])
    if param.type == "octal":
        return st.sampled_from(["0700", "700", "0777", "0800", "022"])
    if param.name == "stopsignal":
        return st.sampled_from(SIGNALS)
    if param.name == "exitcodes":
        return st.sampled_from(["0", "0,2", "0,256", "-1", "255", "x", ""])
    return st.sampled_from(STRINGS)


def draws(section: str) -> tuple[Draws, dict]:
    cat = loaded("supervisor", "4", True)
    skip = corpus("supervisor").exclude
    names = sorted(n for n in cat.names(section) if f"{section}.{n}" not in skip)
    params = {n: cat.get(n, section) for n in cat.names(section)}
    pairs = [p for p in related_pairs("supervisor") if all(n in names for n in p)]
    return Draws(values, names, pairs), params


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize("version", registry.binaries()["supervisor"].versions)
def test_drawn_options_agree_with_the_daemon(tmp_path_factory, version):
    require_daemon("supervisor", version)
    project, daemon = project_for(tmp_path_factory, version), Supervisor(version)
    main, main_params = draws("supervisord")
    program, program_params = draws("program")
    fragments = st.one_of(
        main.fragment(lambda d: {"supervisor": d}, main_params),
        st.tuples(program.fragment(lambda d: d, program_params), st.sampled_from([1, 2])).map(
            lambda p: {"workload": {"programs": [{"name": "worker", "processes": p[1],
                                                  "supervisor": p[0]}]}}))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fragments)
    def agrees(fragment):
        _, _, disagreement = compare(daemon, project, version, fragment)
        assert disagreement is None, str(disagreement)

    try:
        agrees()
    finally:
        daemon.parser.close()


@pytest.mark.daemons
def test_a_planted_disagreement_makes_the_differential_fail(tmp_path_factory, monkeypatch):
    """A test copy of supervisor 4's catalog whose program autorestart also takes ``bogus``
    (supervisor takes true, false and unexpected): drawn, perfcfg now accepts what
    supervisor's parser refuses, and the property fails; with the real catalog it holds."""
    version = registry.binaries()["supervisor"].versions[-1]
    require_daemon("supervisor", version)
    name = "autorestart"
    project, daemon = project_for(tmp_path_factory, version), Supervisor(version)

    def widened(params: dict) -> None:
        assert "bogus" not in params[f"program.{name}"]["values"]
        params[f"program.{name}"]["values"].append("bogus")

    def one() -> st.SearchStrategy:
        param = loaded("supervisor", "4", True).get(name, "program")
        return Draws(values, [name]).fragment(
            lambda d: {"workload": {"programs": [{"name": "worker", "supervisor": d}]}},
            {name: param})

    def disagreement(fragment: dict) -> Disagreement | None:
        return compare(daemon, project, version, fragment)[2]

    try:
        with planted(tmp_path_factory.mktemp("planted"), "supervisor", "4", widened,
                     monkeypatch), \
                pytest.raises(AssertionError, match="perfcfg accepts, the daemon refuses"):
            holds(one(), 15, disagreement)
        holds(one(), 15, disagreement)
    finally:
        daemon.parser.close()
