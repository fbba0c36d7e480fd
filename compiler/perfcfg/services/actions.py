"""What a change to a daemon's files needs on a running host: ``restart``, ``reload`` or
``none``, and the parameters (or files) that force it.

Each service answers for its own files (``Service.changes``), from its catalog's knowledge of
what a running daemon can take without a restart; the stage in ``stages/actions.py`` hands it
the files already there (the output directory, or ``--against DIR``) and the new ones.

>>> settings("# c\\nwork_mem = 4MB\\nport = 5432\\n")
{'work_mem': '4MB', 'port': '5432'}
>>> worst([Action("reload", ("a",)), Action("restart", ("b",))]).action
'restart'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.catalog import Param

RANK = {"none": 0, "reload": 1, "restart": 2}


class Catalogued(Protocol):
    """A service as :func:`context_is` reads it (services/base.py's Service)."""

    def param(self, targets: Targets, name: str, section: str | None = None
              ) -> Param | None: ...


@dataclass(frozen=True)
class Action:
    action: str                      # none | reload | restart
    because: tuple[str, ...] = ()    # the parameters (or files, sections) that force it
    how: str = ""                    # the command that does it on a packaged install
    run: tuple[str, ...] = ()        # files to run rather than place (roles.sql)

    def as_json(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {"action": self.action, "because": list(self.because)}
        if self.how:
            out["how"] = self.how
        if self.run:
            out["run"] = list(self.run)
        return out


def differing(old: Mapping[str, bytes | None], new: Mapping[str, bytes]
              ) -> Iterator[tuple[str, bytes | None, bytes]]:
    """``(name, before, data)`` for each file whose bytes change (``before`` None: a new file)."""
    for name, data in new.items():
        before = old.get(name)
        if before != data:
            yield name, before, data


def worst(actions: Iterable[Action]) -> Action:
    """The strongest action of several, with every reason (restart's first)."""
    items = sorted(actions, key=lambda a: -RANK[a.action])
    if not items:
        return Action("none")
    top = items[0]
    because = tuple(dict.fromkeys(b for a in items if a.action != "none" for b in a.because))
    run = tuple(dict.fromkeys(r for a in items for r in a.run))
    return Action(top.action, because, top.how, run)


_LINE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")


def settings(text: str) -> dict[str, str]:
    """``name = value`` lines of a file perfcfg wrote (comment lines and blank lines skipped:
    perfcfg writes its comments on lines of their own)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";", "[")):
            continue
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def sections(text: str) -> dict[str, dict[str, str]]:
    """An ini file's sections, each as its ``name = value`` lines."""
    out: dict[str, dict[str, str]] = {}
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
            out.setdefault(current, {})
            continue
        if current and stripped and not stripped.startswith(("#", ";")):
            m = _LINE.match(line)
            if m:
                out[current][m.group(1)] = m.group(2)
    return out


def directives(text: str) -> dict[str, tuple[str, ...]]:
    """``name = value`` (or ``Name=Value``) lines outside comments, every value of a name
    that may repeat (systemd's ``ReadWritePaths=``) kept in order."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";", "[")):
            continue
        m = _LINE.match(line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return {k: tuple(v) for k, v in out.items()}


def changed_directives(before: bytes | None, data: bytes) -> list[str]:
    """The directives whose values differ between two versions of a file: comments, blank
    lines and the order of different directives change nothing a daemon reads."""
    return changed(directives(text(before)), directives(text(data)))


def by_content(action: Callable[[Targets], Action]
               ) -> Callable[[bytes | None, bytes, Targets], Action]:
    """How a file that is not ``name = value`` lines (YAML, JSON, a shell defaults file) judges
    its change: its comment lines alone changing (the header, a reason) needs nothing, any
    other change needs ``action``. Its other lines keep their order: in these files order can
    matter.

    >>> judge = by_content(lambda targets: Action("reload", ("x.yml",)))
    >>> judge(b"# a\\nk: 1\\n", b"# b\\nk: 1\\n", None).action
    'none'
    >>> judge(b"k: 1\\n", b"k: 2\\n", None).action
    'reload'
    """
    def kept(data: bytes) -> list[str]:
        # perfcfg writes its comments on lines of their own, never inside a block scalar
        return [line for line in text(data).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]

    def judge(before: bytes | None, data: bytes, targets: Targets) -> Action:
        if before is not None and kept(before) == kept(data):
            return Action("none")
        return action(targets)
    return judge


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names whose value differs, appeared or went, sorted; one that went or appeared says so
    (``bgwriter_delay (removed)``, ``program:x (new)``): an action's reasons tell a removal
    from a change.

    >>> changed({"a": 1, "b": 2}, {"b": 3, "c": 4})
    ['a (removed)', 'b', 'c (new)']
    """
    return [f"{k} (removed)" if k not in new else f"{k} (new)" if k not in old else k
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def bare(name: str) -> str:
    """A name of :func:`changed` without what it says of it."""
    return name.split(" (", 1)[0]


def context_is(service: Catalogued, targets: Targets, context: str) -> Callable[[str], bool]:
    """Whether a parameter's catalog context is ``context`` (the one a restart applies:
    PostgreSQL's ``postmaster``, pgbouncer's ``no``)."""
    def check(name: str) -> bool:
        found = service.param(targets, name)
        return found is not None and found.context == context
    return check


def by_parameter(names: Iterable[str], needs_restart: Callable[[str], bool], how: str,
                 restart_how: str) -> Action:
    names = list(names)
    restart = [n for n in names if needs_restart(bare(n))]
    if restart:
        return Action("restart", tuple(restart + [n for n in names if n not in restart]),
                      restart_how)
    return Action("reload", tuple(names), how) if names else Action("none")


def text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
