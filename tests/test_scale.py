"""Cost is linear in programs, users, databases, clients and environments: counted, not timed.

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


# Each kind: the preset's own text, and its items as (list, item line) — written in parts of
# at most PART items, each a preset the environment extends (a preset holds 1 MiB at most).
Items = tuple[str, list[tuple[str, str]]]
PART = 2048


def programs(n: int) -> Items:
    return (BASE + "databases:\n  - {name: app, user: app}\n"
            "users:\n  - {name: app, password: '${env:P}'}\n",
            [("programs", f"{{name: p{i}, command: run{i}, memory: 1MiB, db_connections: 0, "
                          f"redis_connections: 0}}") for i in range(n)])


def users(n: int) -> Items:
    return (BASE + "databases:\n  - {name: app, user: u0}\n",
            [("users", f"{{name: u{i}, password: '${{env:P}}'}}") for i in range(n)])


def databases(n: int) -> Items:
    return (BASE + "users:\n  - {name: app, password: '${env:P}'}\n",
            [item for i in range(n) for item in (
                ("databases", f"{{name: d{i}, user: app}}"),
                ("programs", f"{{name: p{i}, command: run, database: d{i}, memory: 1MiB}}"))])


def clients(n: int) -> Items:
    return (BASE + "databases:\n  - {name: app, user: app}\n"
            "users:\n  - {name: app, password: '${env:P}'}\n",
            [("clients", f"{{name: c{i}, user: u{i}, database: app}}") for i in range(n)])


def preset_files(own: str, items: list[tuple[str, str]]) -> dict[str, str]:
    """``staging.yaml`` (``own``, extending the parts) and the parts holding the items."""
    parts: dict[str, str] = {}
    for first in range(0, len(items), PART):
        chunk = items[first:first + PART]
        text = ""
        for section in dict.fromkeys(k for k, _ in chunk):
            lines = "".join(f"    - {line}\n" if section == "programs" else f"  - {line}\n"
                            for k, line in chunk if k == section)
            text += ("workload:\n  programs:\n" if section == "programs" else
                     f"{section}:\n") + lines
        parts[f"part{first // PART}.yaml"] = text
    head = own.replace("extends: [builtin:staging]",
                       "extends: [builtin:staging" + "".join(f", {p}" for p in parts) + "]")
    return {"staging.yaml": head, **parts}


def calls(root: Path, envs: list[str], render: bool) -> int:
    forget_parsed()
    profile = cProfile.Profile()
    results = []
    profile.enable()
    try:
        for env in envs:
            results.append(compile_env(Request(root, env, secrets_mode="placeholder",
                                               render=render)))
    finally:
        profile.disable()       # never left on: every count after it would be wrong
    for result in results:
        assert result.ok, result.diagnostics[:3]
    return sum(row[1] for row in pstats.Stats(profile).stats.values())   # type: ignore[attr-defined]


def project(tmp_path: Path, kind: str, n: int) -> tuple[Path, list[str]]:
    root = tmp_path / f"{kind}-{n}"
    write(root / "hosts/big.yaml", HOST)
    if kind == "environments":
        envs = [f"e{i}" for i in range(n)]
        write(root / "perfcfg.yaml", HEAD + "".join(
            f"  e{i}: {{preset: presets/base.yaml, host: hosts/big.yaml, kind: staging}}\n"
            for i in range(n)))
        own, items = programs(2)
        for name, text in preset_files(own, items).items():
            write(root / "presets" / ("base.yaml" if name == "staging.yaml" else name), text)
        return root, envs
    own, items = {"programs": programs, "users": users, "databases": databases,
                  "clients": clients}[kind](n)
    for name, text in preset_files(own, items).items():
        write(root / "presets" / name, text)
    write(root / "perfcfg.yaml", HEAD + "  staging: {preset: presets/staging.yaml, host: "
          "hosts/big.yaml}\n")
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
