"""What each daemon should run with: the Plan's values, spelled as perfcfg writes them.

The real-daemon tests and ``perfcfg verify`` compare these with the effective values the
daemons report. Each service that can be verified says what its daemon should report
(``Service.verifier.intended``), through the same catalog entries and encoders its renderer
uses, so an intended value is exactly the text in the generated file.

>>> from pathlib import Path
>>> from perfcfg.stages.pipeline import Request, compile_env
>>> want = from_result(compile_env(Request(Path("examples/botfarm"), "staging")))
>>> sorted(want)
['pgbouncer', 'postgres', 'redis', 'supervisor']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perfcfg.core.plan import Plan
from perfcfg.services import registry

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.stages.pipeline import Result


def from_result(result: Result) -> dict[str, Any]:
    """From a ``pipeline.Result`` that compiled (``result.plan`` and ``result.config`` set):
    service name → what its daemon should report."""
    assert result.plan is not None and result.config is not None
    return from_plan(result.plan, result.config.targets)


def from_plan(plan: Plan, targets: Targets) -> dict[str, Any]:
    out = {}
    for service in registry.SERVICES:
        if service.verifier is None:
            continue
        catalog = service.catalog(targets)
        if catalog is None:   # a Plan exists only for targets that have catalogs
            raise ValueError(f"no catalog for {service.daemon_of(targets)} "
                             f"{service.version(targets)}")
        out[service.name] = service.verifier.intended(plan, catalog)
    return out
