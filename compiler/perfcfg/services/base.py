"""What a service (one daemon) tells the stages: the shape every ``services/<daemon>/service.py``
fills in, so that the stages loop over the registry and never name a daemon.

A service owns its section of the preset (``postgres:``), the catalogs of its daemon's versions,
how values are read (``coerce``) and written (``encode``), the files it produces, its security
rules and the hints its diagnostics give.

>>> from perfcfg.services.registry import SERVICES
>>> [s.name for s in SERVICES]
['postgres', 'pgbouncer', 'redis', 'supervisor']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcfg.services import catalog as catalogs

if TYPE_CHECKING:
    from perfcfg.services.actions import Action
    from perfcfg.services.output import Output, Placement
    from perfcfg.services.rules import Rule


def _no_hint(param: catalogs.Param) -> str | None:
    return None


def _no_fix(param: catalogs.Param, value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Service:
    name: str                                   # preset section and setting-path prefix
    daemon: str                                 # catalog file prefix and harness name
    title: str                                  # how people write the daemon's name
    version: Callable[[Any], str]               # project targets → catalog version
    coerce: Callable[[catalogs.Param, Any], Any]   # preset value → canonical (UnitError)
    encode: Callable[[catalogs.Param, Any], str]   # canonical → file text (EncodeError)
    case_insensitive: bool = True               # parameter names
    section: str | None = None                  # catalog section of the main parameters
    bool_hint: str = ""
    integer_hint: str = "write a whole number"
    unit_hint: Callable[[catalogs.Param], str | None] = _no_hint
    fix_it: Callable[[catalogs.Param, Any], str | None] = _no_fix
    # perfcfg's own keys inside the section (not daemon parameters): key → (checker, hint)
    own_keys: Mapping[str, tuple[Callable[[Any], Any], str]] = field(default_factory=dict)
    # the value an own key has when the preset leaves it out
    own_defaults: Mapping[str, Any] = field(default_factory=dict)
    # keys holding lists of perfcfg records (e.g. Redis ACL users): key → record class
    record_keys: Mapping[str, Any] = field(default_factory=dict)
    # nested catalog sections a preset may write as maps (supervisor's [inet_http_server])
    subsections: tuple[str, ...] = ()
    # setting-path sections perfcfg tunes that are not the main section's parameters
    # (pgbouncer's per-database [databases] values): left out of the main section's lines
    nested: tuple[str, ...] = ()
    # keys perfcfg writes itself → why a preset may not set them
    managed: Mapping[str, str] = field(default_factory=dict)
    # values the daemon accepts but silently lowers: name → (effective maximum, why)
    clamps: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    # for the service that runs the workload's programs: the catalog section of a program's
    # options, the program's field that passes options through, and the options perfcfg
    # writes from the program's own fields (option → field)
    program_section: str | None = None
    program_field: str = ""
    program_owned: Mapping[str, str] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    rules: tuple[Rule, ...] = ()
    # JSON Schema of perfcfg's own keys in the section: (draft-07 converter) → {key: schema};
    # called only by `perfcfg schema`, so it may import pydantic
    own_schema: Callable[[Callable[[dict], dict]], dict[str, Any]] | None = None
    # where the daemon's Debian package reads its files, for the target version, and who owns
    # them (the manifest's defaults; perfcfg.yaml's deploy: overrides them per file)
    placement: Callable[[Any], Placement] | None = None
    # what replacing its files needs on a running host: (service, old files by name (None:
    # not there), new files, targets) → Action (services/actions.py)
    changes: Callable[[Service, Mapping[str, bytes | None], Mapping[str, bytes], Any],
                      Action] | None = None

    def catalog(self, targets: Any) -> catalogs.Catalog | None:
        return catalogs.load(self.daemon, self.version(targets), self.case_insensitive)

    def versions(self) -> list[str]:
        return catalogs.versions(self.daemon)

    def param(self, targets: Any, name: str, section: str | None = None
              ) -> catalogs.Param | None:
        cat = self.catalog(targets)
        return cat.get(name, section if section is not None else self.section) if cat else None
