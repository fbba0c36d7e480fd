"""Cost is linear in programs, users, databases and environments: counted, not timed.

Each case compiles a generated project of N and of 4N items and counts the Python function
calls the whole run makes (``cProfile``'s call counts, which do not depend on the machine's
speed or load). Linear work gives a ratio near 4 (plus a fixed cost that only lowers it);
one pass over all items per item (quadratic) gives 16. The bound, 5, fails anything that
grows faster than N·log N on these sizes. ``bench/compiler.py`` measures the time (10,000
programs: bench/README.md).
"""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

import pytest
from helpers import write

from perfcfg.stages.layers import forget_parsed
from perfcfg.stages.pipeline import Request, compile_env

HEAD = ("project: demo\nsecrets: {mode: placeholder}\nenvironments:\n")
HOST = "memory: 4TiB\ncpus: 64\nstorage: ssd\nopen_files: 1048576\n"
BASE = ("extends: [builtin:staging]\n"
        "redis:\n  users:\n    - {name: app, password: '${env:P}', keys: ['a:*'], commands: [+@read]}\n")


def programs(n: int) -> tuple[str, str]:
    return (BASE + "databases:\n  - {name: app, user: app}\n"
            "users:\n  - {name: app, password: '${env:P}'}\n"
            "workload:\n  programs:\n" + "".join(
                f"    - {{name: p{i}, command: run{i}, memory: 1MiB, db_connections: 0, "
                f"redis_connections: 0}}\n" for i in range(n)), "")


def users(n: int) -> tuple[str, str]:
    return (BASE + "databases:\n  - {name: app, user: u0}\n"
            "users:\n" + "".join(f"  - {{name: u{i}, password: '${{env:P}}'}}\n"
                                 for i in range(n)), "")


def databases(n: int) -> tuple[str, str]:
    return (BASE + "users:\n  - {name: app, password: '${env:P}'}\n"
            "databases:\n" + "".join(f"  - {{name: d{i}, user: app}}\n" for i in range(n)) +
            "workload:\n  programs:\n" + "".join(
                f"    - {{name: p{i}, command: run, database: d{i}, memory: 1MiB}}\n"
                for i in range(n)), "")


def clients(n: int) -> tuple[str, str]:
    return (BASE + "databases:\n  - {name: app, user: app}\n"
            "users:\n  - {name: app, password: '${env:P}'}\n"
            "clients:\n" + "".join(f"  - {{name: c{i}, user: u{i}, database: app}}\n"
                                    for i in range(n)), "")


def calls(root: Path, envs: list[str], render: bool) -> int:
    forget_parsed()
    profile = cProfile.Profile()
    profile.enable()
    for env in envs:
        result = compile_env(Request(root, env, secrets_mode="placeholder", render=render))
        assert result.ok, result.diagnostics[:3]
    profile.disable()
    return sum(row[1] for row in pstats.Stats(profile).stats.values())   # type: ignore[attr-defined]


def project(tmp_path: Path, kind: str, n: int) -> tuple[Path, list[str]]:
    root = tmp_path / f"{kind}-{n}"
    write(root / "hosts/big.yaml", HOST)
    if kind == "environments":
        envs = [f"e{i}" for i in range(n)]
        write(root / "perfcfg.yaml", HEAD + "".join(
            f"  e{i}: {{preset: presets/base.yaml, host: hosts/big.yaml, kind: staging}}\n"
            for i in range(n)))
        write(root / "presets/base.yaml", programs(2)[0])
        return root, envs
    preset, _ = {"programs": programs, "users": users, "databases": databases,
                 "clients": clients}[kind](n)
    write(root / "perfcfg.yaml", HEAD + "  staging: {preset: presets/staging.yaml, host: "
          "hosts/big.yaml}\n")
    write(root / "presets/staging.yaml", preset)
    return root, ["staging"]


@pytest.mark.parametrize("render", [False, True], ids=["validate", "build"])
@pytest.mark.parametrize("kind, n", [("programs", 150), ("users", 100), ("databases", 60),
                                     ("clients", 100), ("environments", 10)])
def test_cost_is_linear(tmp_path, kind, n, render):
    small = calls(*project(tmp_path, kind, n), render)
    large = calls(*project(tmp_path, kind, 4 * n), render)
    assert large / small < 5, f"{kind}: {small} → {large} calls for 4× the items"


# Doubling each list up to 16,384 items: every doubling at most this much more work. Linear
# work gives 2 (a fixed cost lowers it); N·log N about 2.15 at these sizes; one pass over all
# items per item gives 4.
DOUBLING = 2.3


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["databases", "users", "programs", "clients"])
def test_doubling_every_list_up_to_16k_doubles_the_work(tmp_path, kind):
    """validate (every stage but the files' layout) on 1k … 16k items, counted in calls."""
    counts = {n: calls(*project(tmp_path, kind, n), False) for n in (1024, 2048, 4096, 8192,
                                                                      16384)}
    sizes = sorted(counts)
    ratios = {f"{a}→{b}": round(counts[b] / counts[a], 2) for a, b in zip(sizes, sizes[1:], strict=False)}
    assert all(r < DOUBLING for r in ratios.values()), f"{kind}: {ratios}"
