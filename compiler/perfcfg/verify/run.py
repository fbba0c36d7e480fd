"""``perfcfg verify``: boot the installed daemons from compiled files, compare effective values;
``--live``: compare running daemons.

Owns the orchestration only: which daemons run (those installed, in registry order, each after
the services it needs), the report, and that nothing a run starts outlives it. What each
daemon should report, how it is booted and read are its service's
(:class:`~perfcfg.services.verifier.Verifier`). Returns data; the CLI prints it.

>>> report = Report(checked=["exampled"], missing={"otherd": ["otherd"]})
>>> report.rows.append(Row("exampled", "hz", "1000", "500"))
>>> report.ok, report.verified_anything
(False, True)
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcfg.services import registry
from perfcfg.services.verifier import Boot
from perfcfg.verify import intended as intent

if TYPE_CHECKING:
    from perfcfg.stages.pipeline import Result


@dataclass(frozen=True)
class Row:
    """One value a daemon runs with that is not what perfcfg wrote (or a daemon that refused)."""

    daemon: str
    setting: str
    intended: str
    effective: str


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)         # daemons started and compared
    refused: list[str] = field(default_factory=list)         # daemons that rejected their file
    missing: dict[str, list[str]] = field(default_factory=dict)  # daemon → binaries it lacks
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)            # what the harness changed, and why
    compared: int = 0                                         # values compared in total

    @property
    def verified_anything(self) -> bool:
        """A daemon was started: it ran (and was compared) or refused the file."""
        return bool(self.checked or self.refused)

    @property
    def ok(self) -> bool:
        return self.verified_anything and not self.rows


def verify(result: Result, machine_memory: int | None = None,
           progress: Callable[[str], None] = lambda line: None,
           then: Callable[[dict[str, Any], ExitStack, Report], None] | None = None) -> Report:
    """Start every installed daemon from ``result.files`` (a compiled ``pipeline.Result``);
    ``progress`` hears which daemon is being started and compared (it takes seconds);
    ``then(handles, stack, report)`` runs while they still run (service name → the booted
    daemon; what it starts in ``stack`` stops with them)."""
    from perfcfg.harness.errors import DaemonError

    assert result.config is not None   # verify runs on a compiled result only
    want = intent.from_result(result)
    # the binaries of the versions the environment targets (each service's Binaries)
    runs = registry.daemons(result.config.targets)
    verified = [s for s in registry.SERVICES if s.verifier and s.verifier.boot]
    report = Report(missing={f"{d} {v}": m for s in verified for d, v in [runs[s.name]]
                             if (m := registry.missing(d, v))})
    files = {name: data.decode("utf-8") for name, data in result.files.items()}
    host_memory = result.config.host.memory if result.config.host is not None else 0
    machine = _machine(machine_memory)
    handles: dict[str, Any] = {}
    with ExitStack() as stack:
        for service in verified:
            assert service.verifier is not None and service.verifier.boot is not None
            daemon, version = runs[service.name]
            if f"{daemon} {version}" in report.missing or \
                    not all(n in handles for n in service.verifier.needs):
                continue
            progress(f"{daemon}: starting from the compiled files and comparing its values")
            boot = Boot(stack, files, want[service.name], daemon, version, host_memory,
                        machine, handles, report.notes)
            try:
                booted = service.verifier.boot(boot)
            except DaemonError as err:
                _refused(report, daemon, err)
                report.notes.extend(service.verifier.refusal_notes(err))
                continue
            handles[service.name] = booted.handle
            _add(report, daemon, booted.rows, booted.compared)
        if then is not None:
            then(handles, stack, report)
    return report


def bindir_hint(missing_key: str) -> str:
    """The variable that points a missing ``"<daemon> <version>"`` at the user's binaries."""
    from perfcfg.harness.binaries import bindir_variable

    return bindir_variable(*missing_key.split(" ", 1))


def _machine(machine_memory: int | None) -> int:
    if machine_memory is not None:
        return machine_memory
    import psutil

    return int(psutil.virtual_memory().total)


def _refused(report: Report, daemon: str, err: Exception) -> None:
    from perfcfg.harness.errors import DaemonError

    detail = err.message if isinstance(err, DaemonError) else str(err)
    lines = err.log_tail.strip().splitlines() if isinstance(err, DaemonError) else []
    # the daemon's own reason, not its closing "shut down" line
    report.refused.append(daemon)
    said = [line for line in lines if re.search(r"FATAL|ERROR|Error", line)] or lines
    report.rows.append(Row(daemon, "(start)", "starts with the generated file",
                           "; ".join([detail, *said[:1]])))


def _add(report: Report, daemon: str, mismatches: list[tuple[str, str, str]], compared: int
         ) -> None:
    report.checked.append(daemon)
    report.compared += compared
    report.rows.extend(Row(daemon, *m) for m in mismatches)


# -- report text -------------------------------------------------------------------------

COLUMNS = ("daemon", "setting", "intended", "effective")


def table(rows: list[Row]) -> str:
    """The mismatches as an aligned ``daemon | setting | intended | effective`` table."""
    cells = [COLUMNS] + [(r.daemon, r.setting, r.intended, r.effective) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]

    def line(c: tuple[str, ...]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])]) + "\n"


# -- live: a running deployment ------------------------------------------------------------

def live_variables() -> dict[str, str]:
    """Service → the environment variable naming its running daemon when no option does."""
    return {s.name: s.verifier.live_variable for s in registry.SERVICES
            if s.verifier is not None and s.verifier.read_live is not None}


def verify_live(result: Result, targets: dict[str, str],
                as_user: Mapping[str, str] | None = None) -> Report:
    """Compare running daemons (``targets``: service name → DSN or URL) with what ``result``
    compiles to; a daemon that cannot be reached is a row, never a crash. Neither the DSN nor
    the URL is repeated in the report, and the password either holds is masked in anything
    perfcfg prints. ``as_user``: service name → the OS user to read it as (root's ``perfcfg
    apply`` reads a daemon whose peer authentication lets in only its own user)."""
    from perfcfg.core.redact import mask_credentials, remember, scrub

    assert result.config is not None   # verify runs on a compiled result only
    want = intent.from_result(result)
    runs = registry.daemons(result.config.targets)
    report = Report()
    for service in registry.SERVICES:
        v = service.verifier
        if v is None or v.read_live is None or v.compare_live is None or \
                service.name not in targets:
            continue
        label = runs[service.name][0]
        secrets = _passwords(targets[service.name])
        for secret in secrets:
            remember(secret)
        try:
            if as_user and service.name in as_user:
                from perfcfg.harness.procs import run_as

                state = run_as(as_user[service.name],
                               functools.partial(v.read_live, targets[service.name]))
            else:
                state = v.read_live(targets[service.name])
        except Exception as exc:   # the client's own words: they name the host, not the password
            report.refused.append(label)
            report.rows.append(Row(label, "(connect)", "reachable",
                                   scrub(mask_credentials(_first_line(exc)), secrets)
                                   or type(exc).__name__))
            continue
        rows, compared = v.compare_live(state, want[service.name], report.notes)
        _add(report, label, rows, compared)
    return report


def _passwords(target: str) -> list[str]:
    """The password a DSN (``password=…``) or URL (``scheme://user:password@…``) holds."""
    from urllib.parse import urlsplit

    found = []
    if "://" in target:
        with contextlib.suppress(ValueError):
            found.append(urlsplit(target).password or "")
    try:
        from psycopg.conninfo import conninfo_to_dict

        found.append(str(conninfo_to_dict(target).get("password") or ""))
    except Exception:   # not a libpq string (a Redis or supervisor URL)
        pass
    return [p for p in found if p]


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
