"""perfcfg accepts exactly the role and database names PostgreSQL takes in roles.sql.

For each PostgreSQL version one server runs; each case names a user, a database owner, a
direct client or a database. perfcfg accepts: its own roles.sql must run under psql
(``ON_ERROR_STOP``); perfcfg refuses: the plain ``CREATE ROLE`` / ``CREATE DATABASE`` of that
name must fail. The corpus (``tests/data/differential/roles.yaml``) is replayed first, then
hypothesis draws names: reserved ones, keywords, long ones, odd characters.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import require_daemon
from differential import (
    Daemon,
    Project,
    Verdict,
    compare,
    corpus_cases,
    perfcfg_expected,
    project,
    replay,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from perfcfg.harness.binaries import require
from perfcfg.services import registry
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.postgres.roles import ident

EXAMPLES = int(os.environ.get("PERFCFG_DIFFERENTIAL_EXAMPLES", "40"))


class Roles(Daemon):
    name = "roles"
    service = "postgres"
    about = ("users.", "databases.", "clients.", "workload.")

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def psql(self, sql: str) -> Verdict:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONNECT_TIMEOUT": "5"}
        result = subprocess.run(
            [require("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.server.dir,
             "-p", str(self.server.port), "-U", "postgres", "-d", "postgres", "-f", "-"],
            input=sql, capture_output=True, text=True, env=env, timeout=60, check=False,
            **self.server.account.popen_kwargs())
        return Verdict(result.returncode == 0, result.stderr.strip()[-300:])

    def accepts(self, files, version: str) -> Verdict:
        return self.psql(files["roles.sql"])

    def raw(self, files, fragment) -> dict[str, str]:
        roles = [u["name"] for u in fragment.get("users", [])] + \
            [d["user"] for d in fragment.get("databases", []) if "user" in d] + \
            [c["user"] for c in fragment.get("clients", [])]
        # each asked of the server and taken back: the next case starts from the same roles
        statements = [f"BEGIN; CREATE ROLE {ident(str(r))}; ROLLBACK;" for r in roles]
        statements += [f"CREATE DATABASE {ident(str(d['name']))}; "
                       f"DROP DATABASE {ident(str(d['name']))};"
                       for d in fragment.get("databases", []) if d["name"] != "app"]
        return {**files, "roles.sql": "\n".join(statements) + "\n"}


@pytest.fixture(scope="module")
def servers():
    started: dict[str, PostgresServer] = {}
    try:
        def get(version: str) -> PostgresServer:
            if version not in started:
                require_daemon("postgresql", version)
                # a scratch server: no fsync, so a hundred CREATE DATABASEs and the shutdown
                # checkpoint after them cost no disk flushes
                started[version] = PostgresServer(
                    "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n",
                    version=version).start()
            return started[version]
        yield get
    finally:
        for server in started.values():
            server.stop()


def project_for(tmp_path_factory, version: str) -> Project:
    return project(tmp_path_factory, f"roles-{version}", {"postgres": int(version)})


CASES = corpus_cases("roles", registry.binaries()["postgresql"].versions)


@pytest.mark.parametrize("version, case", CASES, ids=[f"{v}-{i}" for i, (v, _) in
                                                       enumerate(CASES)])
def test_perfcfg_says_what_the_corpus_says_the_daemon_does(tmp_path_factory, version, case):
    verdict, result = project_for(tmp_path_factory, version).verdict(case["preset"],
                                                                     Roles.about)
    assert verdict is not None, [str(d) for d in result.diagnostics]
    assert verdict.accepts == (perfcfg_expected(case, version) == "accepts"), verdict


@pytest.mark.daemons
@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_the_corpus_is_what_the_daemon_does(tmp_path_factory, servers, version):
    wrong = replay(Roles(servers(version)), project_for(tmp_path_factory, version), version)
    assert not wrong, "\n".join(wrong)


NAMES = ["public", "Public", "none", "None", "pg_app", "PG_app", "pgapp", "all", "sameuser",
         "replication", "current_user", "user", "postgres", "x" * 63, "x" * 64, "a b", "a-b",
         "a.b", "_x", "9x", "é", "a\"b", "template0", "template1"]


def fragments() -> st.SearchStrategy:
    name = st.one_of(st.sampled_from(NAMES),
                     st.text(st.characters(codec="ascii", categories=("L", "N", "P")),
                             min_size=1, max_size=12))
    return st.one_of(
        name.map(lambda n: {"users": [{"name": n, "password": "${env:APP_DB_PASSWORD}"}],
                            "databases": [{"name": "app", "user": n}]}),
        name.map(lambda n: {"databases": [{"name": "app", "user": n}]}),
        name.map(lambda n: {"clients": [{"name": "tool", "user": n}]}),
        name.map(lambda n: {"databases": [{"name": n, "user": "app"}],
                            "workload": {"programs": [{"name": "worker", "database": n}]}}),
    )


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize("version", registry.binaries()["postgresql"].versions)
def test_drawn_names_agree_with_the_daemon(tmp_path_factory, servers, version):
    project, daemon = project_for(tmp_path_factory, version), Roles(servers(version))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fragments())
    def agrees(fragment):
        _, _, disagreement = compare(daemon, project, version, fragment)
        assert disagreement is None, str(disagreement)

    agrees()
