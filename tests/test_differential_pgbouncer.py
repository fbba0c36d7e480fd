"""perfcfg accepts exactly what pgbouncer 1.18 and 1.24 accept at start.

The corpus (``tests/data/differential/pgbouncer.yaml``) is replayed first, against perfcfg
alone (the fast loop) and against each real pgbouncer; then hypothesis draws ``[pgbouncer]``
keys of each version's catalog — boundaries, seconds, switches, enums, odd strings — and pairs
the constraint data relates, and each draw is started (differential.py says how both
verdicts are made).
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
from perfcfg.harness.errors import DaemonError
from perfcfg.services import registry
from perfcfg.services.constraints import related_pairs
from perfcfg.services.pgbouncer.daemon import PgBouncer

EXAMPLES = int(os.environ.get("PERFCFG_DIFFERENTIAL_EXAMPLES", "40"))


class Bouncer(Daemon):
    name = "pgbouncer"
    service = "pgbouncer"
    about = ("pgbouncer.",)

    def accepts(self, files, version: str) -> Verdict:
        try:
            with PgBouncer(files["pgbouncer.ini"], files.get("userlist.txt", ""),
                           version=version):
                return Verdict(True)
        except DaemonError as exc:
            return Verdict(False, " | ".join(exc.log_tail.strip().splitlines()[-2:]))

    def raw(self, files, fragment) -> dict[str, str]:
        values = {k: plain(v, ("1", "0")) for k, v in fragment.get("pgbouncer", {}).items()}
        return {**files, "pgbouncer.ini": ini.set_keys(files["pgbouncer.ini"], "pgbouncer",
                                                       values)}


def project_for(tmp_path_factory, version: str) -> Project:
    return project(tmp_path_factory, f"pgbouncer-{version}", {"pgbouncer": version})


CASES = corpus_cases("pgbouncer", registry.binaries()["pgbouncer"].versions)


@pytest.mark.parametrize("version, case", CASES, ids=[f"{v}-{i}" for i, (v, _) in
                                                       enumerate(CASES)])
def test_perfcfg_says_what_the_corpus_says_the_daemon_does(tmp_path_factory, version, case):
    verdict, result = project_for(tmp_path_factory, version).verdict(case["preset"])
    assert verdict is not None, [str(d) for d in result.diagnostics]
    assert verdict.accepts == (perfcfg_expected(case, version) == "accepts"), verdict


@pytest.mark.daemons
@pytest.mark.parametrize("version", registry.binaries()["pgbouncer"].versions)
def test_the_corpus_is_what_the_daemon_does(tmp_path_factory, version):
    require_daemon("pgbouncer", version)
    wrong = replay(Bouncer(), project_for(tmp_path_factory, version), version)
    assert not wrong, "\n".join(wrong)


STRINGS = ["", "x", "a b", "x'y", "/tmp/x", "rel/x", "*", "127.0.0.1", "localhost", "a,b", "é",
           "extra_float_digits", "search_path", "SELECT 1"]


def values(param) -> st.SearchStrategy:
    if param.type == "bool":
        return st.sampled_from([True, False, "yes", "no", "1", "0", "2", "maybe"])
    if param.type == "enum":
        return st.sampled_from([*param.values, *(v.upper() for v in param.values), "bogus"])
    if param.type == "integer":
        return numbers(param.min, param.max)
    if param.type == "seconds":
        return st.one_of(numbers(0, 2**31), st.floats(0, 1e6, allow_nan=False),
                         st.sampled_from(["30s", "1.5", -1, 1e300]))
    if param.type == "octal":
        return st.sampled_from(["0700", "700", "0777", "0800", 777])
    return st.sampled_from(STRINGS)


def draws(version: str) -> tuple[Draws, dict]:
    cat = loaded("pgbouncer", version)
    skip = corpus("pgbouncer").exclude
    names = sorted(n for n in cat.names() if n not in skip)
    params = {n: cat.get(n) for n in cat.names()}
    pairs = [p for p in related_pairs("pgbouncer") if all(n in names for n in p)]
    return Draws(values, names, pairs), params


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize("version", registry.binaries()["pgbouncer"].versions)
def test_drawn_keys_agree_with_the_daemon(tmp_path_factory, version):
    require_daemon("pgbouncer", version)
    project, daemon = project_for(tmp_path_factory, version), Bouncer()
    found, params = draws(version)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(found.fragment(lambda d: {"pgbouncer": d}, params))
    def agrees(fragment):
        _, _, disagreement = compare(daemon, project, version, fragment)
        assert disagreement is None, str(disagreement)

    agrees()


@pytest.mark.daemons
def test_a_planted_disagreement_makes_the_differential_fail(tmp_path_factory, monkeypatch):
    """A test copy of pgbouncer 1.24's catalog whose pool_mode also takes ``bogus`` (pgbouncer
    takes session, transaction and statement): drawn, perfcfg now accepts what pgbouncer
    refuses at start, and the property fails; with the real catalog it holds."""
    require_daemon("pgbouncer", "1.24")
    name = "pool_mode"
    project, daemon = project_for(tmp_path_factory, "1.24"), Bouncer()

    def widened(params: dict) -> None:
        assert "bogus" not in params[name]["values"]
        params[name]["values"].append("bogus")

    def one() -> st.SearchStrategy:
        return Draws(values, [name]).fragment(lambda d: {"pgbouncer": d},
                                              {name: loaded("pgbouncer", "1.24").get(name)})

    def disagreement(fragment: dict) -> Disagreement | None:
        return compare(daemon, project, "1.24", fragment)[2]

    with planted(tmp_path_factory.mktemp("planted"), "pgbouncer", "1.24", widened, monkeypatch), \
            pytest.raises(AssertionError, match="perfcfg accepts, the daemon refuses"):
        holds(one(), 15, disagreement)
    holds(one(), 15, disagreement)
