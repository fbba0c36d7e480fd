"""The located YAML tree: every node knows its file:line:column.

The loader builds these; ``resolve`` merges them; ``to_plain`` turns a tree into ordinary
Python values plus a map from setting path to the span it came from.

>>> s = Scalar(Span("a.yaml", 1, 7), 5, "5")
>>> to_plain(Mapping(Span("a.yaml", 1, 1), {"x": Entry(Span("a.yaml", 1, 1), s)}))[0]
{'x': 5}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from perfcfg.core.spans import Span

UNSET_TAG = "!unset"
# map keys and named-list item names (str), plain list indices (int)
Path: TypeAlias = tuple[str | int, ...]


@dataclass
class Node:
    span: Span


@dataclass
class Scalar(Node):
    value: Any
    raw: str
    quoted: bool = False
    tag: str | None = None

    @property
    def is_unset(self) -> bool:
        return self.tag == UNSET_TAG


@dataclass
class Entry:
    key_span: Span
    value: Node


@dataclass
class Mapping(Node):
    entries: dict[str, Entry] = field(default_factory=dict)


@dataclass
class Sequence(Node):
    items: list[Node] = field(default_factory=list)


def to_plain(node: Node, path: Path = (),
             keys: dict[Path, Span] | None = None) -> tuple[Any, dict[Path, Span]]:
    """Plain Python data and the span of every node, keyed by its path (indices for lists).
    ``keys``, if given, receives the span of every mapping key under the same paths."""
    spans: dict[Path, Span] = {}
    return _plain(node, path, spans, {} if keys is None else keys), spans


def _plain(node: Node, path: Path, spans: dict[Path, Span], keys: dict[Path, Span]) -> Any:
    spans[path] = node.span
    if isinstance(node, Mapping):
        out = {}
        for key, entry in node.entries.items():
            keys[path + (key,)] = entry.key_span
            out[key] = _plain(entry.value, path + (key,), spans, keys)
        return out
    if isinstance(node, Sequence):
        return [_plain(item, path + (i,), spans, keys) for i, item in enumerate(node.items)]
    assert isinstance(node, Scalar)
    return node.value


def path_str(path: Path) -> str:
    """``("workload", "programs", "matcher", "processes")`` → ``workload.programs.matcher.processes``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out
