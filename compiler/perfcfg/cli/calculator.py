"""The stand-alone ``perfcfg tune <service>`` calculator: flags in, a conf fragment (one reason
comment per line) or JSON-able data out. The CLI only parses flags; each service that can be
tuned alone says what its flags mean (``Service.calculator``).

The memory flag is the memory *this daemon* may use (as in PGTune), so the OS reserve and the
other daemons' shares are zero here; ``perfcfg build`` splits a real host. The same PCF30x
checks as ``perfcfg build`` run on the result.

>>> text = calculate_text(CalcInput("postgres", 16 << 30, 4, 300, "16",
...                                 {"storage": "ssd", "profile": "oltp"}))
>>> [line.split("  #")[0] for line in text.splitlines() if line.startswith("shared_buffers")]
['shared_buffers = 4GB']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from perfcfg.services import registry
from perfcfg.services.calculator import CalcInput, Calculator, InputError
from perfcfg.stages.tune import check, recommend_all
from perfcfg.stages.tune import context as tune_context
from perfcfg.stages.tune import settings as final_settings
from perfcfg.tune.context import Host, MiB, Recommendation, Shares, TuneContext
from perfcfg.tune.findings import Finding
from perfcfg.tune.util import mib_text

__all__ = ["CalcInput", "InputError", "calculate", "calculate_data", "calculate_text",
           "context", "findings", "validate"]

# Below this a daemon cannot hold its own memory, a client and the OS page cache it relies on
# (PGTune warns under 256MB as well).
MEMORY_MIN = 256 * MiB


def calculators() -> dict[str, Calculator]:
    """Service → its calculator, for every service that can be tuned alone."""
    return {s.name: s.calculator for s in registry.SERVICES if s.calculator is not None}


def validate(inp: CalcInput) -> None:
    """Raise :class:`InputError` for inputs no daemon could run with."""
    if inp.memory < MEMORY_MIN:
        raise InputError("--memory", f"{mib_text(inp.memory)} is below the {mib_text(MEMORY_MIN)} "
                                     f"{inp.daemon} needs to run at all")
    if inp.cpus < 1:
        raise InputError("--cpus", "must be at least 1")
    service = registry.by_name(inp.daemon)
    calc = calculators()[inp.daemon]
    if inp.version is not None:
        known = calc.versions(inp) if calc.versions is not None else service.versions()
        if inp.version.strip() not in known:
            raise InputError("--version", f"{inp.version!r} is not a supported {inp.daemon} "
                                          f"version; supported: {', '.join(known)}")
    for name in inp.options:
        if name not in calc.options:
            raise InputError(f"--{name}", f"only applies to another daemon, not {inp.daemon}")
    calc.check(inp)


def context(inp: CalcInput) -> TuneContext:
    host = Host(inp.memory, inp.cpus, open_files=1 << 20, os=inp.os, wal_disk=inp.wal_disk)
    base = tune_context(env="production", host=host, programs=(), pools=(),
                        shares=Shares(os_reserve=0), data_size=inp.data_size)
    return calculators()[inp.daemon].context(inp, base)


def calculate(inp: CalcInput) -> list[Recommendation]:
    """The daemon's recommendations (fixed inputs echoed as a line of their own)."""
    ctx = context(inp)
    calc = calculators()[inp.daemon]
    out = [_kept(inp, r) for r in recommend_all(ctx) if r.path.startswith(f"{inp.daemon}.")]
    out = calc.echo(inp, ctx) + out
    if calc.order:
        out.sort(key=lambda r: next((i for i, p in enumerate(calc.order)
                                     if r.rule.startswith(p)), len(calc.order)))
    return out


def _kept(inp: CalcInput, r: Recommendation) -> Recommendation:
    """``r`` inside its parameter's range in the catalog of the version asked for (else the
    default target's), as build keeps it: 99999999TiB of memory still gives a shared_buffers
    PostgreSQL takes."""
    from perfcfg import model
    from perfcfg.services import catalog as catalogs

    service = registry.by_name(inp.daemon)
    # validate() has already refused a version the service has no catalog for
    version = inp.version.strip() if inp.version else service.version(model.Targets())
    cat = catalogs.load(service.daemon, version, service.case_insensitive)
    param = cat.get(r.path.split(".", 1)[1], service.section) if cat else None
    if param is None:
        return r
    value, note = catalogs.kept_in_range(param, service.coerce, r.value, service.title)
    return replace(r, value=value, reason=r.reason + note) if note else r


def _header(inp: CalcInput) -> list[str]:
    given = [f"memory {mib_text(inp.memory)}", f"cpus {inp.cpus}",
             *calculators()[inp.daemon].header(inp)]
    if inp.connections is not None:
        given.append(f"connections {inp.connections}")
    if inp.version:
        given.append(f"version {inp.version}")
    given.append(f"os {inp.os}")
    if inp.wal_disk is not None:
        given.append(f"wal disk {mib_text(inp.wal_disk)}")
    if inp.data_size is not None:
        given.append(f"data size {mib_text(inp.data_size)}")
    return [f"# perfcfg tune {inp.daemon}: " + ", ".join(given)]


def findings(inp: CalcInput) -> list[Finding]:
    """The PCF30x checks ``perfcfg build`` runs, over this daemon's settings (another daemon's
    memory and version are not this one's: --memory is the daemon's alone)."""
    ctx = context(inp)
    settings = dict(final_settings(ctx))
    for r in calculate(inp):        # the values as written: kept within their ranges
        settings[r.path] = r.value
    return check(replace(ctx, services=frozenset({inp.daemon})), settings)


def calculate_text(inp: CalcInput) -> str:
    notes = [f"# {f.severity}[{f.code}]: {f.message}" + (f"\n#   hint: {f.hint}" if f.hint else "")
             for f in findings(inp)]
    lines = _header(inp) + notes + calculators()[inp.daemon].fragment(inp, calculate(inp))
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def calculate_data(inp: CalcInput) -> dict[str, Any]:
    calc = calculators()[inp.daemon]
    settings = []
    for r in calculate(inp):
        name = r.path.split(".", 1)[1]
        settings.append({"name": name, "path": r.path, "value": _jsonable(r.value),
                         "text": calc.text(name, r.value), "rule": r.rule, "reason": r.reason,
                         "formula": r.formula, "inputs": _jsonable(dict(r.inputs)),
                         "deviation": r.deviation})
    inputs = {"memory": inp.memory, "cpus": inp.cpus, "connections": inp.connections,
              "version": inp.version, "os": inp.os, "wal_disk": inp.wal_disk,
              "data_size": inp.data_size,
              **{name: inp.options.get(name, option.default)
                 for name, option in calc.options.items()}}
    found = [{"code": f.code, "severity": f.severity, "message": f.message,
              "paths": list(f.paths), "hint": f.hint} for f in findings(inp)]
    return {"daemon": inp.daemon, "inputs": inputs, "settings": settings, "findings": found}
