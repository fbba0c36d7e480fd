"""perfcfg accepts exactly what Redis 7.0 and 8.0 and Valkey 8.0 and 8.1 accept at start.

The corpus (``tests/data/differential/redis.yaml``) is replayed first, against perfcfg alone
(the fast loop) and against each real server; then hypothesis draws directives of each
version's catalog — boundaries, units, odd strings, list shapes, ACL rules — and each draw
is started (differential.py says how both verdicts are made).
"""

from __future__ import annotations

import os

import pytest
from conftest import require_daemon
from differential import (
    Daemon,
    Draws,
    Project,
    Verdict,
    compare,
    corpus,
    expected,
    loaded,
    numbers,
    plain,
    project,
    replay,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from perfcfg.harness.errors import DaemonError
from perfcfg.services import registry
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.redis.encode import redis_arg

TARGETS = [(flavour, v) for flavour in ("redis", "valkey") for v in registry.binaries()[flavour].versions]
IDS = [f"{f}-{v}" for f, v in TARGETS]
EXAMPLES = int(os.environ.get("PERFCFG_DIFFERENTIAL_EXAMPLES", "40"))


class Redis(Daemon):
    name = "redis"
    service = "redis"
    about = ("redis.",)

    def __init__(self, flavour: str, version: str) -> None:
        self.flavour = flavour
        self.catalog = loaded(flavour, version, True)

    def conf_name(self, files) -> str:
        return "valkey.conf" if "valkey.conf" in files else "redis.conf"

    def accepts(self, files, version: str) -> Verdict:
        handle = ValkeyServer if self.flavour == "valkey" else RedisServer
        try:
            with handle(files[self.conf_name(files)], acl_text=files.get("users.acl"),
                        version=version):
                return Verdict(True)
        except DaemonError as exc:
            return Verdict(False, " | ".join(exc.log_tail.strip().splitlines()[-2:]))

    def raw(self, files, fragment) -> dict[str, str]:
        files = dict(files)
        name = self.conf_name(files)
        lines = []
        for key, value in fragment.get("redis", {}).items():
            if key == "users":
                # each user's line written anew, in place of the project's line for it
                names = {u["name"] for u in value}
                kept = [line for line in files["users.acl"].splitlines()
                        if line.split(" ")[1:2] and line.split(" ")[1] not in names]
                files["users.acl"] = "".join(line + "\n" for line in kept + [
                    " ".join(["user", u["name"], "on", "nopass",
                              *(f"~{k}" for k in u.get("keys", ["*"])),
                              *u.get("commands", [])]) for u in value])
                continue
            param = self.catalog.get(key)
            listed = param is not None and param.type == "list"
            if value == []:
                lines.append(f'{key} ""')       # an empty list, as perfcfg writes it
            for item in (value if isinstance(value, list) else [value]):
                # a list directive's arguments are words; any other value is one argument
                words = plain(item).split() if listed else [plain(item, ("yes", "no"))]
                lines.append(" ".join([key, *(redis_arg(w) for w in words)]))
        files[name] = files[name] + "".join(line + "\n" for line in lines)
        return files


def project_for(tmp_path_factory, flavour: str, version: str) -> Project:
    return project(tmp_path_factory, f"{flavour}-{version}", {flavour: version})


# -- the corpus -----------------------------------------------------------------------------

CASES = [(f, v, c) for f, v in TARGETS for c in corpus("redis").cases
         if expected(c, f"{f}-{v}") is not None]


@pytest.mark.parametrize("flavour, version, case", CASES,
                         ids=[f"{f}-{v}-{i}" for i, (f, v, _) in enumerate(CASES)])
def test_perfcfg_says_what_the_corpus_says_the_daemon_does(tmp_path_factory, flavour, version,
                                                          case):
    project = project_for(tmp_path_factory, flavour, version)
    verdict, result = project.verdict(case["preset"])
    assert verdict is not None, [str(d) for d in result.diagnostics]
    want = expected(case, f"{flavour}-{version}")
    assert verdict.accepts == (want == "accepts"), verdict


@pytest.mark.daemons
@pytest.mark.parametrize("flavour, version", TARGETS, ids=IDS)
def test_the_corpus_is_what_the_daemon_does(tmp_path_factory, flavour, version):
    require_daemon(flavour, version)
    wrong = replay(Redis(flavour, version), project_for(tmp_path_factory, flavour, version),
                   version, key=f"{flavour}-{version}")
    assert not wrong, "\n".join(wrong)


# -- drawn values ---------------------------------------------------------------------------

REDIS_WORDS = ["yes", "no", "YES", "maybe", "1", "0", "on"]
MEMORY = ["1gb", "1g", "1GB", "100mb", "100m", "1kb", "1k", "1b", "2GiB", "1.5gb", "-1", "1tb",
          "0"]
ACL_RULES = ["+@read", "-@all", "+get", "+GET", "+config|get", "-config|get", "+config|nosuch",
             "-flushall|async", "+flushall|async", "+@nosuchcat", "+nosuchcmd", "allcommands",
             "+acl|whoami", "-@dangerous", "+@READ"]


def values(param) -> st.SearchStrategy:
    if param.type == "bool":
        return st.sampled_from([True, False, *REDIS_WORDS])
    if param.type == "enum":
        return st.sampled_from([*param.values, *(v.upper() for v in param.values), "bogus"])
    if param.type == "integer":
        return numbers(param.min, param.max)
    if param.type == "memory":
        return st.one_of(st.sampled_from(MEMORY), st.integers(0, 2**40))
    if param.type == "octal":
        return st.sampled_from(["0700", "700", "0777", "0800", "7777", 700])
    if param.type == "list":
        word = st.one_of(st.integers(-3000, 3000).map(str),
                         st.floats(-1, 120, allow_nan=False).map(lambda f: f"{f:g}"),
                         st.sampled_from(["normal", "replica", "pubsub", "0", "100", "-2000"]))
        return st.one_of(st.lists(word, min_size=1, max_size=5).map(" ".join),
                         st.lists(st.lists(word, min_size=1, max_size=3).map(" ".join),
                                  max_size=3))
    return st.sampled_from(["x", "dump.rdb", "sub/dump.rdb", "../escape", "a b", "x'y",
                            'x"y', "", "/tmp/x", "appendonlydir", "é", "a\\b"])


def draws(flavour: str, version: str) -> Draws:
    cat = loaded(flavour, version, True)
    skip = corpus("redis").exclude
    names = sorted(n for n in cat.names() if n not in skip)
    return Draws(values, names)


def drawn_agree(project: Project, daemon: Redis, version: str, fragments: st.SearchStrategy,
                examples: int = EXAMPLES) -> None:
    """The property: for every drawn fragment, perfcfg and the server agree."""
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fragments)
    def agrees(fragment):
        _, _, disagreement = compare(daemon, project, version, fragment)
        assert disagreement is None, str(disagreement)

    agrees()


@pytest.mark.daemons
@pytest.mark.slow
@pytest.mark.parametrize("flavour, version", TARGETS, ids=IDS)
def test_drawn_directives_agree_with_the_daemon(tmp_path_factory, flavour, version):
    require_daemon(flavour, version)
    project, daemon = project_for(tmp_path_factory, flavour, version), Redis(flavour, version)
    cat = loaded(flavour, version, True)
    params = {n: cat.get(n) for n in cat.names()}
    acl = st.lists(st.sampled_from(ACL_RULES), min_size=1, max_size=2).map(
        lambda rules: {"redis": {"users": [{"name": "app", "commands": rules}]}})
    directives = draws(flavour, version).fragment(lambda d: {"redis": d}, params)
    drawn_agree(project, daemon, version, st.one_of(directives, acl))


@pytest.mark.daemons
def test_a_planted_disagreement_makes_the_differential_fail(tmp_path_factory, monkeypatch):
    """A test copy of Redis 8.0's catalog whose maxmemory-eviction-tenacity goes to 1000
    (Redis takes 0 to 100): drawn at its widened bounds, perfcfg now accepts what the server
    refuses, and the property fails; with the real catalog it holds."""
    import json
    from importlib import resources

    from perfcfg.services import catalog as catalogs

    require_daemon("redis", "8.0")
    name = "maxmemory-eviction-tenacity"
    folder = tmp_path_factory.mktemp("planted")
    data = json.loads((resources.files("perfcfg.schemas.catalogs") / "redis-8.0.json")
                      .read_text())
    assert data["parameters"][name]["max"] == 100
    data["parameters"][name]["max"] = 1000
    (folder / "redis-8.0.json").write_text(json.dumps(data))
    real = catalogs._files
    project = project_for(tmp_path_factory, "redis", "8.0")

    def only(names: list[str]) -> Draws:
        found = draws("redis", "8.0")
        return Draws(found.values, names)

    try:
        monkeypatch.setattr(catalogs, "_files", lambda: [folder, *real()])
        catalogs.load.cache_clear()
        planted = only([name]).fragment(lambda d: {"redis": d},
                                        {name: loaded("redis", "8.0", True).get(name)})
        with pytest.raises(AssertionError, match="perfcfg accepts, the daemon refuses"):
            drawn_agree(project, Redis("redis", "8.0"), "8.0", planted, examples=15)
    finally:
        monkeypatch.undo()
        catalogs.load.cache_clear()
    honest = only([name]).fragment(lambda d: {"redis": d},
                                   {name: loaded("redis", "8.0", True).get(name)})
    drawn_agree(project, Redis("redis", "8.0"), "8.0", honest, examples=15)
