"""The package's shape, checked: rooms import one way, and daemon knowledge stays in its service.

The checks read the source with ``ast``: every import counts, at the top of a module, inside a
function or under ``if TYPE_CHECKING:`` (a type-only import is still an arrow between rooms).
The daemons' names come from the service registry, not from a list kept here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from perfcfg.services import registry

PACKAGE = Path(__file__).resolve().parent.parent / "compiler" / "perfcfg"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every perfcfg module ``name`` imports, anywhere in it, type-only imports included."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("perfcfg"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("perfcfg"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle_even_through_type_only_imports():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_planted_cycle(monkeypatch):
    # The check above must be able to fail: plant a back-edge and see it reported.
    monkeypatch.setitem(GRAPH, "perfcfg.core.spans", GRAPH["perfcfg.core.spans"] | {
        "perfcfg.stages.validate"})
    assert _cycle() is not None


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# What each room may import (besides itself): docs/ARCHITECTURE.md draws the same arrows.
ALLOWED_ROOMS: dict[str, set[str]] = {
    "core": {"model"},
    "model": {"core"},
    "harness": {"core"},
    "tune": {"core", "model"},
    "services": {"core", "model", "harness", "tune"},
    "monitoring": {"core", "model", "harness", "tune", "services"},
    "stages": {"core", "model", "harness", "tune", "services", "monitoring"},
    "verify": {"core", "model", "harness", "tune", "services", "monitoring", "stages"},
    "host": {"core", "model", "tune", "services", "stages"},
    "cli": {"core", "model", "harness", "tune", "services", "monitoring", "stages", "verify",
            "host"},
}


def test_every_room_imports_only_the_rooms_below_it():
    for name, deps in GRAPH.items():
        room = _room(name)
        if room not in ALLOWED_ROOMS:     # the package's own __init__ and __main__
            continue
        bad = sorted(d for d in deps if _room(d) not in {room, "", *ALLOWED_ROOMS[room]})
        assert not bad, f"{name} ({room}/) imports {bad}"


def test_every_room_is_drawn_in_the_architecture_doc():
    doc = (PACKAGE.parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    rooms = {_room(name) for name in MODULES} - {"", "__main__"}
    assert rooms == set(ALLOWED_ROOMS)
    assert not [room for room in rooms if f"`{room}/`" not in doc]


# -- daemon names ------------------------------------------------------------------------------

def daemon_words() -> dict[str, str]:
    """Every word that names a daemon (its service, daemon, flavours, programs) → its service."""
    words: dict[str, str] = {}
    for service in registry.SERVICES:
        names = {service.name, service.daemon, *service.flavours}
        for spec in service.binaries:
            names |= {spec.daemon, *spec.programs}
        words.update({n.lower(): service.name for n in names if len(n) > 3})
    return words


WORDS = daemon_words()


def _code_names(path: Path) -> set[str]:
    """The services whose daemons a module's code names: identifiers, word-like string literals
    (keys, names, paths) and the modules it imports from.

    Docstrings, comments and prose strings (messages and hints, which contain spaces) are
    left out: they may mention a daemon; code that decides by a daemon's name may not."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                                    ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    found: set[str] = set()
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and not any(c.isspace() for c in node.value):
            texts = [node.value]
        elif isinstance(node, ast.Name):
            texts = [node.id]
        elif isinstance(node, ast.Attribute):
            texts = [node.attr]
        elif isinstance(node, ast.ImportFrom) and node.module:
            texts = [node.module, *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            texts = [a.name for a in node.names]
        for text in texts:
            lowered = text.lower()
            found.update(service for word, service in WORDS.items() if word in lowered)
    return found


def _own_service(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "services" and parts[2] in registry.names():
        return parts[2]
    return None


def naming_modules() -> dict[str, set[str]]:
    """Module → the services it names that are not its own."""
    out = {}
    for name, path in MODULES.items():
        others = _code_names(path) - {_own_service(name)}
        if others:
            out[name] = others
    return out


def by_service() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for module, services in naming_modules().items():
        for service in services:
            out[service].append(module)
    return dict(out)


# The most modules outside a daemon's own package that may name it: the input model's keys
# (perfcfg.yaml's targets, a program's connection fields) and a neighbour that talks to it.
MOST_MODULES_NAMING_ONE_DAEMON = 4


@pytest.mark.parametrize("service", registry.names())
def test_few_modules_outside_a_service_name_its_daemon(service):
    naming = sorted(by_service().get(service, []))
    assert len(naming) <= MOST_MODULES_NAMING_ONE_DAEMON, naming


@pytest.mark.parametrize("room", ["stages", "verify", "harness", "core", "tune", "cli",
                                  "monitoring"])
def test_the_generic_rooms_name_no_daemon(room):
    naming = {m: sorted(s) for m, s in naming_modules().items() if _room(m) == room}
    assert naming == {}


def test_the_name_check_sees_imports_and_would_catch_a_daemon_named_in_a_stage(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from perfcfg.services.pgbouncer.values import POOL_FALLBACKS\n")
    assert _code_names(planted) == {"pgbouncer"}
    planted.write_text('KEY = "postgres.max_connections"\n')
    assert _code_names(planted) == {"postgres"}


if __name__ == "__main__":   # python tests/test_architecture.py: the counts, for the README
    counts = by_service()
    print(f"{len(naming_modules())} of {len(MODULES)} modules name a daemon other than their "
          "own package's:")
    for service, modules in sorted(counts.items()):
        print(f"  {service} ({len(modules)}): {', '.join(sorted(modules))}")
