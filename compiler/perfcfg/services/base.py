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

from perfcfg.harness.binaries import Binaries
from perfcfg.services import catalog as catalogs
from perfcfg.services.calculator import Calculator
from perfcfg.services.catalog import Catalog, Param
from perfcfg.services.catalog_reading import Job
from perfcfg.services.net import Endpoint
from perfcfg.services.topology import Topology
from perfcfg.services.verifier import Verifier
from perfcfg.tune.budget import Part
from perfcfg.tune.checks import Check
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.limits import NeedsFn

TuningGroup = Callable[[TuneContext, Mapping[str, Any]], list[Recommendation]]


@dataclass(frozen=True)
class ContextPart:
    """What a service adds to the tuning context: fields of ``TuneContext`` (e.g. ``pools``,
    ``programs``), versions and build facts its rules read, facts about itself, memory shares
    the preset stated for it."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    shares: Mapping[str, Any] = field(default_factory=dict)

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan, Setting
    from perfcfg.model import Targets
    from perfcfg.model.base import Record
    from perfcfg.services.actions import Action
    from perfcfg.services.control import Control
    from perfcfg.services.monitor import Monitor
    from perfcfg.services.output import Output, Placement
    from perfcfg.services.rules import Rule


def targets_version(service: Service, targets: Targets) -> str:
    """The version string ``targets`` gives this service, as written in perfcfg.yaml."""
    # a service perfcfg.yaml cannot version (a package's daemon without a targets key)
    stated = getattr(targets, service.target_key(targets).split(".", 1)[1], None)
    return str(stated or service.version(targets))


def _no_hint(param: Param) -> str | None:
    return None


def _no_fix(param: Param, value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Service:
    name: str                                   # preset section and setting-path prefix
    daemon: str                                 # catalog file prefix and harness name
    title: str                                  # how people write the daemon's name
    version: Callable[[Targets], str]           # project targets → catalog version
    coerce: Callable[[Param, Any], Any]   # preset value → canonical (UnitError)
    encode: Callable[[Param, Any], str]   # canonical → file text (EncodeError)
    case_insensitive: bool = True               # parameter names
    section: str | None = None                  # catalog section of the main parameters
    bool_hint: str = ""
    integer_hint: str = "write a whole number"
    unit_hint: Callable[[Param], str | None] = _no_hint
    fix_it: Callable[[Param, Any], str | None] = _no_fix
    # perfcfg's own keys inside the section (not daemon parameters): key → (checker, hint)
    own_keys: Mapping[str, tuple[Callable[[Any], Any], str]] = field(default_factory=dict)
    # the value an own key has when the preset leaves it out
    own_defaults: Mapping[str, Any] = field(default_factory=dict)
    # keys holding lists of perfcfg records (e.g. Redis ACL users): key → record class
    record_keys: Mapping[str, type[Record]] = field(default_factory=dict)
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
    own_schema: Callable[[Callable[[dict[str, Any]], dict[str, Any]]],
                         dict[str, Any]] | None = None
    # where the daemon reads its files for the target version and layout (Debian's package
    # by default; the Plan's own paths, such as hba_file, where it has them), and who owns
    # them: the manifest's defaults, which perfcfg.yaml's deploy.files overrides per file
    placement: Callable[[Config, Plan], Placement] | None = None
    # what replacing its files needs on a running host: (service, old files by name (None:
    # not there), new files, targets) → Action (services/actions.py)
    changes: Callable[[Service, Mapping[str, bytes | None], Mapping[str, bytes], Targets],
                      Action] | None = None
    # The daemon the targets name, when one service speaks for several that read the same
    # file (Redis or Valkey): targets → daemon; its target key is then ``targets.<daemon>``.
    flavour: Callable[[Targets], str] | None = None
    # Every daemon ``flavour`` can name (the JSON Schema offers each one's versions).
    flavours: tuple[str, ...] = ()
    # Target versions accepted besides the catalogs' own names, when one catalog serves several
    # releases (supervisor 4.2 and 4.3 read the same options): daemon → versions.
    releases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Parameters a version removed → what does their job now (the error names it)
    replaced: Mapping[str, str] = field(default_factory=dict)
    # The catalog narrowed to the build the targets state (values a build without lz4 lacks).
    build: Callable[[Catalog, Targets], Catalog] | None = None
    # Where its files, findings and tuning come among the services' (registry order): the
    # built-in ones are 10 (postgres) to 40 (supervisor); a service a package adds comes after.
    order: int = 100
    # Its daemons' programs per version (harness.binaries): one per daemon it can target.
    binaries: tuple[Binaries, ...] = ()
    # How ``perfcfg verify`` checks its files against its real daemon (None: it cannot).
    verifier: Verifier | None = None
    # Tuning (stages/tune.py runs them): its groups with their phase (groups run phase by
    # phase, services in registry order within one; the built-ins use 10–90), where its files
    # go (after all tuning), its part of the host's memory, what it needs of the kernel, its
    # cross-service checks and its worst-case memory for PCF301.
    tuning: tuple[tuple[int, TuningGroup], ...] = ()
    placing: tuple[TuningGroup, ...] = ()
    memory: Part | None = None
    needs: NeedsFn | None = None
    checks: tuple[Check, ...] = ()
    worst_case: Callable[[TuneContext, Mapping[str, Any]], dict[str, int]] | None = None
    # Its part of the tuning context, from the validated input (versions, facts, pools…),
    # and the facts about it that hold whatever the input (e.g. where its fd limit is set).
    context: Callable[[Config], ContextPart] | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Topology (stages/planner.py): settings that follow from the others' (put into the
    # settings if no one set them), its part of the Plan (Plan.parts[name]), what a worker
    # program needs in its environment to reach it, and where it is reached.
    derive: Callable[[Config, dict[str, Setting]], None] | None = None
    topology: Callable[[Topology], Any] | None = None
    client_env: Callable[[Topology, Any], dict[str, str]] | None = None
    endpoint: Endpoint | None = None
    # What its file writes for a resolved secret at a setting path (a hash), if not the value.
    hash_secret: Callable[[str, str], str] | None = None
    # A tuned value in the shape its catalog gives the parameter, where a rule's differs.
    canonical: Callable[[str, Any], Any] | None = None
    # Diagnostic codes it brings besides perfcfg's own (code → title), e.g. its policy rules':
    # registered when the service is (core/codes.py), documented in its package.
    codes: Mapping[str, str] = field(default_factory=dict)
    # Where its catalogs are when not among perfcfg's (a package's own folder), and how
    # scripts/gen_catalogs.py reads them off its daemon: (versions no catalog has yet) → file
    # name → job (services/catalog_reading.py).
    catalogs: Traversable | None = None
    catalog_jobs: Callable[[tuple[str, ...]], dict[str, Job]] | None = None
    # ``perfcfg tune <name>``: the stand-alone calculator for its daemon (None: none).
    calculator: Calculator | None = None
    # perfcfg's own record keys whose value, when left unset or auto, is one of its settings
    # (``databases.pool_size`` → ``pgbouncer.default_pool_size``): what explain answers.
    fallbacks: Mapping[str, str] = field(default_factory=dict)
    # A parameter people know it by and a value, for hints (``("work_mem", "64MB")``).
    example: tuple[str, ...] = ()
    # its exporter, alert rules and catalog probe (services/<daemon>/monitoring.py)
    monitor: Monitor | None = None
    # A canonical value checked against the value sets read off the binary (the catalog's
    # ``sets``: time zones, key words…): (sets, param, value) → None, or UnitError.
    check_value: Callable[[Mapping[str, Any], Param, Any], None] | None = None
    # Where a secret may go: setting (below the section, e.g. ``masterauth``,
    # ``inet_http_server.password``) → (the output holding it, "hashed" (by ``hash_secret``)
    # or "clear"). A clear one is allowed only in a file the manifest keeps 0600 or 0640;
    # anything else that holds a secret is refused (stages/secrets.py).
    secret_slots: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # perfcfg's own records (record_keys) checked against the binary's sets the same way:
    # (sets, key, records) → [(path below the key, what the daemon refuses)]
    check_records: Callable[[Mapping[str, Any], str, list[Any]], list[tuple[str, str]]] | None = None
    # How the daemon is started, stopped and reloaded on its host (perfcfg apply).
    control: Control | None = None

    def daemon_of(self, targets: Targets) -> str:
        return self.flavour(targets) if self.flavour is not None else self.daemon

    def target_key(self, targets: Targets) -> str:
        """Where perfcfg.yaml states this service's version (``targets.postgres``)."""
        return f"targets.{self.daemon_of(targets) if self.flavour is not None else self.name}"

    def title_of(self, targets: Targets) -> str:
        """How people write the daemon the targets name (Valkey for a Valkey target)."""
        return self.daemon_of(targets).capitalize() if self.flavour is not None else self.title

    def catalog(self, targets: Targets) -> Catalog | None:
        daemon = self.daemon_of(targets)
        if daemon in self.releases and targets_version(self, targets) not in self.releases[daemon]:
            return None
        cat = catalogs.load(daemon, self.version(targets), self.case_insensitive)
        return self.build(cat, targets) if cat is not None and self.build else cat

    def versions(self, targets: Targets | None = None) -> list[str]:
        """The target versions perfcfg accepts for the daemon ``targets`` names (default: the
        service's own daemon), oldest first."""
        daemon = self.daemon if targets is None else self.daemon_of(targets)
        return list(self.releases.get(daemon, ())) or catalogs.versions(daemon)

    def target_versions(self) -> dict[str, list[str]]:
        """Key under ``targets:`` → the versions perfcfg accepts there, for every daemon this
        service can target (``{"redis": [...], "valkey": [...]}``)."""
        daemons = self.flavours or (self.daemon,)
        return {(d if self.flavours else self.name):
                list(self.releases.get(d, ())) or catalogs.versions(d) for d in daemons}

    def param(self, targets: Targets, name: str, section: str | None = None
              ) -> Param | None:
        cat = self.catalog(targets)
        return cat.get(name, section if section is not None else self.section) if cat else None
