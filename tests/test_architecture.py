"""The package's shape, checked: imports flow one way, and daemon knowledge stays in its service.

Both checks read the source with ``ast`` (function-level imports included), so a back-edge
hidden inside a function is caught as surely as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler" / "perfcfg"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _type_only(tree: ast.Module) -> set[int]:
    """Nodes inside ``if TYPE_CHECKING:`` blocks: annotations only, never executed."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every perfcfg module ``name`` imports when it runs, at the top or inside a function."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
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


def test_the_import_graph_has_no_cycle():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_planted_cycle(monkeypatch):
    # The check above must be able to fail: plant a back-edge and see it reported.
    monkeypatch.setitem(GRAPH, "perfcfg.core.spans", GRAPH["perfcfg.core.spans"] | {
        "perfcfg.stages.validate"})
    assert _cycle() is not None


def test_imports_flow_from_the_edge_to_the_core():
    """core/ imports only core/ (and the generated model); services/ never import stages/."""
    for name, deps in GRAPH.items():
        if name.startswith("perfcfg.core"):
            bad = {d for d in deps if not d.startswith(("perfcfg.core", "perfcfg.model"))}
            assert not bad, f"{name} imports {sorted(bad)}"
        if name.startswith("perfcfg.services"):
            bad = {d for d in deps if d.startswith("perfcfg.stages") and d != "perfcfg.stages"}
            assert not bad, f"{name} imports {sorted(bad)}"


DAEMON_WORDS = ("postgres", "postgresql", "pgbouncer", "redis", "valkey", "supervisor",
                "supervisord")
# Modules outside services/<daemon>/ that may name daemons, and why: the registry lists the
# services; the cross-service budget, checks and calculator are about several daemons at once;
# the harness facade and verify run all of them; the CLI's help text names them.
ALLOWED = {
    # the edge: help text and the calculator's daemon argument
    "perfcfg.cli.main": "help text", "perfcfg.cli.commands": "the tune command's daemon argument",
    # the list of services, and perfcfg.yaml's `targets:` keys (one per daemon)
    "perfcfg.services.registry": "lists the services",
    "perfcfg.model.records": "targets keys", "perfcfg.model.spec": "targets keys",
    "perfcfg.model.rules": "targets keys",
    "perfcfg.core.config": "properties for keys a service owns inside its section",
    # about several daemons at once
    "perfcfg.tune.budget": "one memory budget for all daemons",
    "perfcfg.tune.checks": "cross-service invariants",
    "perfcfg.tune.context": "the tuning inputs of every daemon",
    "perfcfg.tune.engine": "runs every service's tuning groups in order",
    "perfcfg.tune.calculator": "the stand-alone calculator's per-daemon commands",
    "perfcfg.stages.planner": "derives the cross-service topology (ports, pools, hba, programs)",
    "perfcfg.stages.layers": "an example setting path in a hint",
    "perfcfg.verify.intended": "the values each daemon should report, side by side",
    "perfcfg.verify.run": "starts every daemon and compares",
    "perfcfg.harness.binaries": "where each daemon's programs are installed",
    "perfcfg.harness.normalise": "how each daemon spells a value it reports",
    "perfcfg.harness.procs": "the service account the daemons run as",
}


def _code_names(path: Path) -> set[str]:
    """Daemon words in identifiers and in word-like string literals (keys, names, paths).

    Docstrings, comments and prose strings (messages and hints, which contain spaces) are
    left out: they may mention a daemon; code that decides by a daemon's name may not."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                                    ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    words: set[str] = set()
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and not any(c.isspace() for c in node.value):
            text = node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, (ast.ImportFrom,)):
            continue
        if text:
            lowered = text.lower()
            words.update(w for w in DAEMON_WORDS if w in lowered)
    return words


def naming_modules() -> dict[str, set[str]]:
    """Modules outside services/<daemon>/ whose code names a daemon."""
    out = {}
    for name, path in MODULES.items():
        parts = name.split(".")
        if len(parts) >= 3 and parts[1] == "services" and parts[2] in (
                "postgres", "pgbouncer", "redis", "supervisor"):
            continue
        words = _code_names(path)
        if words:
            out[name] = words
    return out


def test_daemon_knowledge_stays_in_its_service():
    found = naming_modules()
    unexpected = {name: sorted(words) for name, words in found.items() if name not in ALLOWED}
    assert not unexpected, f"modules outside services/<daemon>/ naming a daemon: {unexpected}"


@pytest.mark.parametrize("stage", sorted(n for n in MODULES if n.startswith("perfcfg.stages")
                                         and n not in ALLOWED))
def test_stages_name_no_daemon(stage):
    assert _code_names(MODULES[stage]) == set()


if __name__ == "__main__":   # python tests/test_architecture.py: the count, for the README
    found = naming_modules()
    print(f"{len(found)} of {len(MODULES)} modules outside services/<daemon>/ name a daemon:")
    for name, words in sorted(found.items()):
        print(f"  {name}: {', '.join(sorted(words))}")
