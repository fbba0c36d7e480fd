"""perfcfg accepts exactly what PostgreSQL 15, 16, 17 and 18 accept at start.

The corpus (``tests/data/differential/postgresql.yaml``) is replayed first, against perfcfg
alone (the fast loop) and against each real server; then hypothesis draws parameters of each
version's catalog — boundaries, units in every spelling, enum values, odd strings, value sets
(time zones, date styles) — and pairs the constraint data relates, and each draw is checked:
``postgres -C`` first (it parses and checks every value, in 10 ms), then a real start, which
is where PostgreSQL checks its parameters against each other (differential.py says how both
verdicts are made). One cluster per version is made once and restarted for every draw.
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

from perfcfg.harness import procs
from perfcfg.harness.errors import DaemonError
from perfcfg.services import registry
from perfcfg.services.constraints import related_pairs
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer, check_postgresql_conf

EXAMPLES = int(os.environ.get("PERFCFG_DIFFERENTIAL_EXAMPLES", "40"))


class _Restarted(PostgresServer):
    """A server on the one cluster made for the test, not on a fresh copy of it."""

    def _launch(self) -> None:
        assert self._template is not None
        self.dir = self._template.root
        procs.write_file(f"{self.data}/postgresql.conf", self.conf_text, self.account)
        if self.hba_text is not None:
            from perfcfg.services.postgres.daemon import HARNESS_HBA_LINE

            procs.write_file(f"{self.data}/pg_hba.conf", HARNESS_HBA_LINE + self.hba_text,
                             self.account)
        open(self.log, "w").close()
        for old in (f"{self.data}/log",):
            procs.remove_dir(old)
        self._start_on_free_port()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop_tree(self.proc, self.stop_signal)


class Postgres(Daemon):
    name = "postgresql"
    service = "postgres"
    about = ("postgres.", "users.", "clients.", "databases.")

    def __init__(self, version: str) -> None:
        self.version = version
        self.cluster = PgTemplate(version)
        self.parse_only = corpus("postgresql").parse_only
        self.drawn: set[str] = set()

    def accepts(self, files, version: str) -> Verdict:
        conf = files["postgresql.conf"]
        sized = sorted(n for n in self.drawn if n in self.parse_only)
        try:
            shown = check_postgresql_conf(conf, ("shared_buffers", *sized), version=version)
        except DaemonError as exc:
            return Verdict(False, _said(exc))
        big = [n for n in sized if not shown[n].lstrip("-").isdigit()
               or int(shown[n]) > self.parse_only[n]["up_to"]]
        if big:
            return Verdict(True, f"postgres -C only: {', '.join(big)} too large to start here",
                           sure=False)
        try:
            with _Restarted(conf, self.cluster, hba_text=files.get("pg_hba.conf"),
                            version=version, timeout=20):
                return Verdict(True)
        except DaemonError as exc:
            return Verdict(False, _said(exc))

    def raw(self, files, fragment) -> dict[str, str]:
        lines = [f"{name} = '" + plain(value).replace("\\", "\\\\").replace("'", "''") + "'\n"
                 for name, value in fragment.get("postgres", {}).items()]
        return {**files, "postgresql.conf": files["postgresql.conf"] + "".join(lines)}

    def close(self) -> None:
        self.cluster.remove()


def _said(exc: DaemonError) -> str:
    lines = [line for line in exc.log_tail.splitlines()
             if any(w in line for w in ("FATAL", "ERROR", "LOG:  invalid", "DETAIL", "HINT"))]
    return " | ".join(lines[-3:]) or exc.message


def project_for(tmp_path_factory, version: str) -> Project:
    return project(tmp_path_factory, f"postgresql-{version}", {"postgres": int(version)})


CASES = corpus_cases("postgresql", registry.binaries()["postgresql"].versions)


@pytest.mark.parametrize("version, case", CASES, ids=[f"{v}-{i}" for i, (v, _) in
                                                       enumerate(CASES)])
def test_perfcfg_says_what_the_corpus_says_the_daemon_does(tmp_path_factory, version, case):
    verdict, result = project_for(tmp_path_factory, version).verdict(case["preset"])
    assert verdict is not None, [str(d) for d in result.diagnostics]
    assert verdict.accepts == (perfcfg_expected(case, version) == "accepts"), verdict


def checked(daemon: Postgres, project: Project, version: str, fragment: dict):
    daemon.drawn = set(fragment.get("postgres", {}))
    return compare(daemon, project, version, fragment)


@pytest.mark.daemons
@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_the_corpus_is_what_the_daemon_does(tmp_path_factory, version):
    require_daemon("postgresql", version)
    project, daemon = project_for(tmp_path_factory, version), Postgres(version)
    try:
        wrong = replay(daemon, project, version, check=checked)
    finally:
        daemon.close()
    assert not wrong, "\n".join(wrong)


BOOLS = [True, False, "on", "off", "yes", "no", "true", "false", "1", "0", "tru", "o", "maybe",
         "ON"]
MEMORY_UNITS = ["B", "kB", "MB", "GB", "TB", "mb", "KB", "kb", "GiB", "m"]
TIME_UNITS = ["us", "ms", "s", "min", "h", "d", "m", "sec", "S"]
STRINGS = ["", "x", "a b", "x'y", "a\\b", "é", "%m [%p] ", "/tmp/x", "rel/x", "UTC",
           "Mars/Olympus", "Europe/Berlin", "EST5EDT", "ISO, MDY", "SQL, DMY", "Klingon",
           "ISO, SQL", "pg_catalog.english", "klingon", "C", "C.UTF-8", "xx_YY.UTF-8", "POSIX",
           "pg_stat_statements", "nosuchlib", "auto_explain", "$user, public", "*", "-1"]


def values(param) -> st.SearchStrategy:
    if param.type == "bool":
        return st.sampled_from(BOOLS)
    if param.type == "enum":
        return st.sampled_from([*param.values, *(v.upper() for v in param.values), "bogus"])
    if param.type in ("integer", "real"):
        plain_numbers = numbers(param.min, param.max, real=param.type == "real")
        if param.unit in ("B", "kB", "8kB", "MB"):
            return st.one_of(plain_numbers, st.tuples(st.integers(0, 4096), st.sampled_from(
                MEMORY_UNITS)).map(lambda p: f"{p[0]}{p[1]}"), st.sampled_from(["1.5GB", "-1"]))
        if param.unit in ("us", "ms", "s", "min"):
            return st.one_of(plain_numbers, st.tuples(st.integers(0, 4096), st.sampled_from(
                TIME_UNITS)).map(lambda p: f"{p[0]}{p[1]}"), st.sampled_from(["1.5s", "-1"]))
        return plain_numbers
    return st.sampled_from(STRINGS)


def draws(version: str) -> tuple[Draws, dict]:
    cat = loaded("postgresql", version, True)
    skip = corpus("postgresql").exclude
    names = sorted(n for n in cat.names() if n.lower() not in skip and n not in skip)
    params = {n: cat.get(n) for n in cat.names()}
    found = [(cat.get(a), cat.get(b)) for a, b in related_pairs("postgresql")]
    pairs = [(a.name, b.name) for a, b in found if a is not None and b is not None]
    return Draws(values, names, pairs), params


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_drawn_parameters_agree_with_the_daemon(tmp_path_factory, version):
    require_daemon("postgresql", version)
    project, daemon = project_for(tmp_path_factory, version), Postgres(version)
    found, params = draws(version)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(found.fragment(lambda d: {"postgres": d}, params))
    def agrees(fragment):
        _, _, disagreement = checked(daemon, project, version, fragment)
        assert disagreement is None, str(disagreement)

    try:
        agrees()
    finally:
        daemon.close()


@pytest.mark.daemons
def test_a_planted_disagreement_makes_the_differential_fail(tmp_path_factory, monkeypatch):
    """A test copy of PostgreSQL 17's catalog whose autovacuum_vacuum_cost_limit goes to
    100000 (PostgreSQL takes -1 to 10000): drawn at its widened bounds, perfcfg now accepts
    what ``postgres`` refuses, and the property fails; with the real catalog it holds."""
    require_daemon("postgresql", "17")
    name = "autovacuum_vacuum_cost_limit"
    project, daemon = project_for(tmp_path_factory, "17"), Postgres("17")

    def widened(params: dict) -> None:
        assert params[name]["max"] == 10000
        params[name]["max"] = 100000

    def one() -> st.SearchStrategy:
        return Draws(values, [name]).fragment(lambda d: {"postgres": d},
                                              {name: loaded("postgresql", "17", True).get(name)})

    def disagreement(fragment: dict) -> Disagreement | None:
        return checked(daemon, project, "17", fragment)[2]

    try:
        with planted(tmp_path_factory.mktemp("planted"), "postgresql", "17", widened,
                     monkeypatch), \
                pytest.raises(AssertionError, match="perfcfg accepts, the daemon refuses"):
            holds(one(), 15, disagreement)
        holds(one(), 15, disagreement)
    finally:
        daemon.close()
