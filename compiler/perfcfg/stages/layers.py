"""Resolve one environment: project file → preset chain (extends) → --set, with provenance.

Merge rules (documented in the README):

- maps deep-merge, scalars replace;
- lists of named things (``databases``, ``users``, ``clients``, ``workload.programs``,
  ``redis.users``) merge item by item on ``name``; ``- !unset NAME`` removes an inherited item;
- other lists replace;
- ``key: !unset`` removes an inherited key.

Every leaf keeps the chain of places that set it (``history``), used by ``perfcfg explain``.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path as FsPath

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.core.files import ReadError, inside, read_bounded
from perfcfg.core.nodes import Entry, Mapping, Node, Path, Scalar, Sequence, path_str
from perfcfg.core.spans import Origin, Span
from perfcfg.services import registry
from perfcfg.stages import load as yamlload

# Lists of named records merge item by item: perfcfg's own, and those inside a service's
# section (e.g. Redis ACL users).
NAMED_LISTS: frozenset[Path] = frozenset({
    ("databases",), ("users",), ("clients",), ("workload", "programs"),
    *((s.name, key) for s in registry.SERVICES for key in s.record_keys),
})
BUILTIN_PREFIX = "builtin:"
MAX_EXTENDS_DEPTH = 32
BUILTIN_PRESETS = ("development", "staging", "production")
PROJECT_NAMER = "perfcfg.yaml"    # names an environment's preset, relative to the project


@dataclass
class Sources:
    """Texts of every file read, by display name (for code frames and the input hash)."""

    texts: dict[str, str] = field(default_factory=dict)
    # Shown in code frames but not inputs of the build (the --set flags are hashed apart).
    shown_only: dict[str, str] = field(default_factory=dict)
    # Read but never shown: files that did not parse as YAML mappings and are not the
    # project's YAML files (``--host /etc/passwd`` must not print a line of it).
    hidden: set[str] = field(default_factory=set)

    def shown(self) -> dict[str, str]:
        return {name: text for name, text in {**self.texts, **self.shown_only}.items()
                if name not in self.hidden}

    def load(self, real: FsPath | None, display: str, text: str | None = None
             ) -> tuple[Node | None, list[Diagnostic]]:
        if text is None:
            assert real is not None
            try:
                data = read_bounded(real, yamlload.MAX_FILE_BYTES)
            except ReadError as exc:
                return None, [Diagnostic("PCF101", "error", f"cannot read {display}: {exc}",
                                         Span(display, 1, 1),
                                         hint="check that it is a regular file you may read")]
            self.texts[display] = data.decode("utf-8", "replace")
            tree, diags = _fresh(_parse_bytes(display, data))
            if not isinstance(tree, Mapping) and not _own_yaml(display):
                self.hidden.add(display)
            return tree, diags
        self.texts[display] = text
        return _fresh(_parse_text(display, text))


def _own_yaml(display: str) -> bool:
    """A YAML file of the project (its lines may be quoted in a code frame even when they do
    not parse): named .yaml or .yml, inside the project directory."""
    return display.endswith((".yaml", ".yml")) and not display.startswith(("../", "/"))


# Parsed trees by file name and content, for the whole process: a file that several
# environments share (perfcfg.yaml, a base preset, a built-in) is parsed once, also where each
# environment gets its own Sources (`check`, or a tool building environments in a loop) —
# perfcfg.yaml names every environment, so parsing it per environment is O(N²). Trees are
# not changed after parsing, except the top mapping, which _fresh copies.
@functools.lru_cache(maxsize=4096)
def _parse_bytes(display: str, data: bytes) -> tuple[Node | None, list[Diagnostic]]:
    return yamlload.load_bytes(data, display)


@functools.lru_cache(maxsize=1024)
def _parse_text(display: str, text: str) -> tuple[Node | None, list[Diagnostic]]:
    return yamlload.load_text(text, display)


def _fresh(parsed: tuple[Node | None, list[Diagnostic]]) -> tuple[Node | None, list[Diagnostic]]:
    tree, diags = parsed
    # Resolving pops `extends` from a layer's top mapping; the cached tree must keep it.
    if isinstance(tree, Mapping):
        tree = Mapping(tree.span, dict(tree.entries))
    return tree, list(diags)


def forget_parsed() -> None:
    """Drop the parse cache (tests that count parses start from nothing)."""
    _parse_bytes.cache_clear()
    _parse_text.cache_clear()


@dataclass
class Layer:
    display: str
    tree: Mapping
    extends_span: Span | None = None


@dataclass
class Chain:
    layers: list[Layer]
    diagnostics: list[Diagnostic]
    # False when a file of the chain could not be read or parsed: the merged tree would lack
    # its values, and every check of them would report that instead of the real mistakes
    complete: bool = True


def builtin_text(name: str) -> str | None:
    try:
        return resources.files("perfcfg.presets").joinpath(f"{name}.yaml").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None


def display_name(path: FsPath, project_dir: FsPath) -> str:
    try:
        return os.path.relpath(path, project_dir).replace(os.sep, "/")
    except ValueError:
        return str(path)


def load_chain(preset: FsPath, project_dir: FsPath, sources: Sources,
               origin_span: Span | None = None, dirs: tuple[FsPath, ...] = (),
               named_by: str = "extends") -> Chain:
    """The preset and everything it extends, bases first, each file once; files are read
    from the project directory and from ``dirs`` (perfcfg.yaml's ``presets.dirs``) only.
    ``named_by``: what names ``preset`` itself, for its messages (``--overlay``)."""
    chain = Chain([], [])
    allowed = [project_dir, *(project_dir / d for d in dirs)]
    _visit(("file", preset), project_dir, sources, chain, [], set(), origin_span, allowed,
           named_by)
    return chain


def _visit(ref: tuple[str, FsPath | str], project_dir: FsPath, sources: Sources, chain: Chain,
           stack: list[str], done: set[str], at: Span | None,
           allowed: list[FsPath], named_by: str = "extends",
           named_from: FsPath | None = None) -> None:
    """``named_from``: the folder the reference is written relative to (an ``extends``
    entry's own file's), for a did-you-mean written the same way."""
    kind, target = ref
    if kind == "builtin":
        display = f"{BUILTIN_PREFIX}{target}"
        text = builtin_text(str(target))
        if text is None:
            chain.diagnostics.append(Diagnostic(
                "PCF112", "error", f"unknown built-in preset {display!r}", at,
                hint=f"built-in presets: {', '.join(BUILTIN_PREFIX + n for n in BUILTIN_PRESETS)}"))
            chain.complete = False
            return
        key = display
    else:
        real = FsPath(target).resolve()
        display = display_name(real, project_dir)
        key = str(real)
        text = None
        if not inside(real, allowed):
            shown = display if named_by == "extends" else str(target)
            chain.diagnostics.append(Diagnostic(
                "PCF116", "error", f"{named_by} names {shown}, which is outside the project "
                "directory", at, hint="presets are read from the project directory (after "
                "resolving .. and symbolic links) and the directories perfcfg.yaml lists under "
                f"presets.dirs; list {display_name(real.parent, project_dir)} there, or copy "
                "the preset into the project"))
            chain.complete = False
            return
        if not real.is_file():
            chain.diagnostics.append(Diagnostic(
                "PCF113", "error", f"preset file {display} does not exist", at,
                hint=_sibling_hint(real, named_by, named_from or project_dir) or
                "check the path; extends paths are relative to the file that names them",
                files=(display,)))
            chain.complete = False
            return
    if len(stack) >= MAX_EXTENDS_DEPTH:
        chain.diagnostics.append(Diagnostic(
            "PCF116", "error", f"extends chain deeper than {MAX_EXTENDS_DEPTH} files", at,
            hint="no project needs this many layers; extend several bases from one preset"))
        chain.complete = False
        return
    if key in stack:
        cycle = " → ".join([*stack[stack.index(key):], key])
        chain.diagnostics.append(Diagnostic("PCF114", "error", f"extends cycle: {_short(cycle)}",
                                            at, hint="remove one of the extends entries"))
        chain.complete = False
        return
    if key in done:
        return
    tree, diags = sources.load(None if kind == "builtin" else FsPath(key), display, text)
    chain.diagnostics.extend(diags)
    if tree is None:
        chain.complete = False
        return
    if not isinstance(tree, Mapping):
        chain.diagnostics.append(Diagnostic("PCF115", "error", "a preset must be a mapping",
                                            tree.span, hint="start the file with keys like postgres:"))
        chain.complete = False
        return
    base_dir = FsPath(key).parent if kind == "file" else project_dir
    children, whole = _extends(tree, display, chain.diagnostics)
    chain.complete = chain.complete and whole
    for child, span in children:
        if child.startswith(BUILTIN_PREFIX):
            nxt: tuple[str, FsPath | str] = ("builtin", child[len(BUILTIN_PREFIX):])
        else:
            nxt = ("file", base_dir / child)
        _visit(nxt, project_dir, sources, chain, [*stack, key], done, span, allowed,
               named_from=base_dir)
    done.add(key)
    chain.layers.append(Layer(display, tree))


def _sibling_hint(missing: FsPath, named_by: str, named_from: FsPath) -> str | None:
    """Did-you-mean among the YAML files next to where the missing preset was looked for,
    written as the place that names it writes paths: ``extends`` from its own file,
    perfcfg.yaml from the project, ``--overlay`` from where perfcfg runs."""
    from perfcfg.stages.validate import did_you_mean

    try:
        found = sorted(p for p in missing.parent.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError:
        return None
    stems = {p.stem: p for p in found if p != missing}
    meant = did_you_mean(missing.stem, list(stems))
    if meant is None:
        return None
    base = FsPath.cwd() if named_by == "--overlay" else named_from
    written = os.path.relpath(stems[meant.split("'")[1]], base.resolve())
    where = {"extends": "the file that names them", PROJECT_NAMER: "the project"}.get(
        named_by, "where perfcfg runs")
    return f"did you mean {written!r}? (paths are relative to {where})"


def _short(cycle: str) -> str:
    return " → ".join(os.path.basename(p) if os.sep in p else p for p in cycle.split(" → "))


def _extends(tree: Mapping, display: str, diags: list[Diagnostic]
             ) -> tuple[list[tuple[str, Span]], bool]:
    """The files ``tree`` extends, and False when an entry names none."""
    entry = tree.entries.pop("extends", None)
    if entry is None:
        return [], True
    node = entry.value
    items = node.items if isinstance(node, Sequence) else [node]
    out = []
    for item in items:
        if isinstance(item, Scalar) and isinstance(item.value, str) and item.value:
            out.append((item.value, item.span))
        else:
            diags.append(Diagnostic("PCF116", "error", "extends takes a preset name or a list of them",
                                    item.span, path="extends",
                                    hint="e.g. extends: [builtin:production, base.yaml]"))
    return out, len(out) == len(items)


# -- merging -----------------------------------------------------------------------------

History = dict[Path, list[Origin]]


def merge_layers(layers: list[Layer], history: History,
                 notes: list[Diagnostic] | None = None) -> Mapping:
    """The layers merged in order; an ``!unset`` that removes nothing is noted (PCF122)."""
    result = Mapping(Span("", 1, 1))
    for layer in layers:
        origin = "builtin" if layer.display.startswith(BUILTIN_PREFIX) else "file"
        merged = merge(result, layer.tree, (), history, origin, notes)
        assert isinstance(merged, Mapping)
        result = merged
    return result


def merge(base: Node | None, over: Node, path: Path, history: History, origin: str,
          notes: list[Diagnostic] | None = None) -> Node:
    if isinstance(over, Mapping):
        entries = dict(base.entries) if isinstance(base, Mapping) else {}
        if not over.entries:
            history.setdefault(path, []).append(Origin(origin, over.span))
        for key, entry in over.entries.items():
            child = path + (key,)
            if isinstance(entry.value, Scalar) and entry.value.is_unset:
                if entries.pop(key, None) is None:
                    _unset_nothing(notes, path, key, entry.key_span, list(entries))
                _record_unset(history, child, entry.value.span, origin)
                continue
            prev = entries.get(key)
            entries[key] = Entry(entry.key_span, merge(prev.value if prev else None, entry.value,
                                                       child, history, origin, notes))
        return Mapping(over.span, entries)
    if isinstance(over, Sequence) and path in NAMED_LISTS:
        return _merge_named(base if isinstance(base, Sequence) else None, over, path, history,
                            origin, notes)
    _record(history, over, path, origin)
    return over


def _merge_named(base: Sequence | None, over: Sequence, path: Path, history: History,
                 origin: str, notes: list[Diagnostic] | None = None) -> Sequence:
    items: dict[str, Node] = {}
    order: list[str] = []
    for item in (base.items if base else []):
        name = item_name(item) or f"#{len(order)}"
        items[name] = item
        order.append(name)
    for item in over.items:
        if isinstance(item, Scalar) and item.is_unset:
            name = str(item.raw)
            if name in items:
                del items[name]
                order.remove(name)
            else:
                _unset_nothing(notes, path, name, item.span, order)
            _record_unset(history, path + (name,), item.span, origin)
            continue
        name = item_name(item) or f"#{len(order)}"
        if name in items:
            items[name] = merge(items[name], item, path + (name,), history, origin, notes)
        else:
            items[name] = merge(None, item, path + (name,), history, origin, notes)
            order.append(name)
    return Sequence(over.span, [items[name] for name in order])


def item_name(item: Node) -> str | None:
    if isinstance(item, Mapping) and "name" in item.entries:
        value = item.entries["name"].value
        if isinstance(value, Scalar) and isinstance(value.value, str):
            return value.value
    return None


def _record(history: History, node: Node, path: Path, origin: str) -> None:
    history.setdefault(path, []).append(Origin(origin, node.span, written=written(node)))


def written(node: Node) -> str:
    """A value as its preset writes it, on one line: a scalar as typed, a list or mapping
    in YAML's flow style.

    >>> written(yamlload.load_text("a: [x, '2']", "t")[0].entries["a"].value)
    '[x, 2]'
    """
    if isinstance(node, Scalar):
        return str(node.raw)
    if isinstance(node, Sequence):
        return "[" + ", ".join(written(item) for item in node.items) + "]"
    if isinstance(node, Mapping):
        return "{" + ", ".join(f"{k}: {written(e.value)}" for k, e in node.entries.items()) + "}"
    return ""


def _unset_nothing(notes: list[Diagnostic] | None, parent: Path, name: str, span: Span,
                   present: list[str]) -> None:
    """An ``!unset`` with nothing to remove: most often a misspelt name, which would leave
    the inherited value in force without a word."""
    if notes is None:
        return
    close = difflib.get_close_matches(name, [p for p in present if not p.startswith("#")],
                                      n=1, cutoff=0.7)
    where = path_str(parent + (name,))
    notes.append(Diagnostic(
        "PCF122", "warning", f"!unset of {where} removes nothing: no earlier preset sets it",
        span, where, f"did you mean {close[0]!r}?" if close else
        "check the spelling, or remove the line if nothing needs removing"))


def _record_unset(history: History, path: Path, span: Span, origin: str) -> None:
    history.setdefault(path, []).append(Origin(origin, span, "unset"))


# -- --set -------------------------------------------------------------------------------

def _example() -> tuple[str, str]:
    """A setting path and value to show in a --set hint: the first service's example."""
    service = next(s for s in registry.SERVICES if s.example)
    return f"{service.name}.{service.example[0]}", service.example[1]


SET_FILE = "--set"   # the "file" of values given on the command line; line N = the Nth flag


def set_source(assignments: tuple[str, ...] | list[str]) -> str:
    """The --set flags as a text, one per line, for code frames (secret values masked)."""
    from perfcfg.core.redact import mask_assignment

    return "".join(mask_assignment(a) + "\n" for a in assignments)


def apply_set(tree: Mapping, assignment: str, history: History, index: int = 1
              ) -> list[Diagnostic]:
    """Apply ``PATH=VALUE`` (VALUE is YAML: ``64MB``, ``true``, ``[a, b]``), the ``index``-th
    --set flag (1-based; the line of its spans in the ``--set`` pseudo-file)."""
    from perfcfg.core.redact import mask_assignment

    label = f"--set {mask_assignment(assignment)}"
    raw_path = assignment.split("=", 1)[0]
    at_path = Span(SET_FILE, index, 1, index, len(raw_path) + 1)
    if "=" not in assignment:
        return [Diagnostic("PCF501", "error", f"{label}: expected PATH=VALUE", at_path, raw_path,
                           hint=f"e.g. --set {raw_path or _example()[0]}={_example()[1]}")]
    raw_value = assignment.split("=", 1)[1]
    parts = raw_path.strip().split(".")
    if not all(parts):
        return [Diagnostic("PCF501", "error", f"{label}: empty part in setting path {raw_path!r}",
                           at_path, raw_path,
                           hint="setting paths look like postgres.shared_buffers")]
    span = Span(SET_FILE, index, len(raw_path) + 2, index, len(assignment) + 1)
    value, diags = yamlload.load_text(raw_value if raw_value.strip() else '""', SET_FILE)
    if value is None or diags:
        return [Diagnostic("PCF502", "error", f"{label}: the value is not valid YAML", span,
                           raw_path, diags[0].message + "; quote the value if it is text"
                           if diags else "quote the value if it is text")]
    _respan(value, span)
    node: Mapping = tree
    path: Path = ()
    for i, part in enumerate(parts[:-1]):
        path += (part,)
        if path in NAMED_LISTS:
            seq = node.entries.get(part)
            name = parts[i + 1]
            target = _find_named(seq.value if seq else None, name)
            if target is None:
                return [Diagnostic("PCF503", "error",
                                   f"{label}: no item named {name!r} in {path_str(path)}",
                                   at_path, raw_path,
                                   _names_hint(seq.value if seq else None, name))]
            return _set_in(target, parts[i + 2:], value, path + (name,), history, label, raw_path,
                           at_path)
        entry = node.entries.get(part)
        if entry is None:
            entry = Entry(at_path, Mapping(span))
            node.entries[part] = entry
        if not isinstance(entry.value, Mapping):
            return [Diagnostic("PCF503", "error", f"{label}: {path_str(path)} is not a section",
                               at_path, raw_path, f"{path_str(path)} holds a single value; set "
                               f"it with --set {path_str(path)}=VALUE")]
        node = entry.value
    return _set_in(node, parts[-1:], value, path, history, label, raw_path, at_path)


def _set_in(node: Mapping, rest: list[str], value: Node, path: Path, history: History,
            label: str, raw_path: str, at_path: Span) -> list[Diagnostic]:
    if not rest:
        return [Diagnostic("PCF503", "error", f"{label}: name a setting inside the item",
                           at_path, raw_path, hint="e.g. workload.programs.matcher.processes=4")]
    for part in rest[:-1]:
        entry = node.entries.setdefault(part, Entry(value.span, Mapping(value.span)))
        if not isinstance(entry.value, Mapping):
            return [Diagnostic("PCF503", "error", f"{label}: {part} is not a section",
                               at_path, raw_path, f"{part} holds a single value")]
        node = entry.value
        path += (part,)
    node.entries[rest[-1]] = Entry(at_path, value)   # an unknown name points at the path
    leaf = path + (rest[-1],)
    history.setdefault(leaf, []).append(Origin("set", None, label))
    return []


def _find_named(node: Node | None, name: str) -> Mapping | None:
    if isinstance(node, Sequence):
        for item in node.items:
            if isinstance(item, Mapping) and item_name(item) == name:
                return item
    return None


def _names_hint(node: Node | None, name: str) -> str:
    names = [n for n in (item_name(i) for i in node.items) if n] \
        if isinstance(node, Sequence) else []
    if not names:
        return "there are no named items here to set"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(names)


def _respan(node: Node, span: Span) -> None:
    node.span = span
    if isinstance(node, Mapping):
        for entry in node.entries.values():
            entry.key_span = span
            _respan(entry.value, span)
    elif isinstance(node, Sequence):
        for item in node.items:
            _respan(item, span)
