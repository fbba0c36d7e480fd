"""systemd drop-ins: the resource limits a daemon's plan needs, in force under its unit.

Each service that runs as a systemd unit declares one drop-in (``dropin(...)`` in its
``outputs.py``) with the unit's Debian name; the values are the plan's ``systemd.<service>.*``
settings, tuned from the same fd and process budgets as the daemon's own files, each with
its reason. The file is optional: perfcfg.yaml's ``deploy.limits`` turns it on.

>>> out = dropin("systemd-x.conf", lambda targets: "x")
>>> out.place(None).path("systemd-x.conf"), out.changed(None).action
('/etc/systemd/system/x.service.d/perfcfg.conf', 'restart')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.services.actions import Action
from perfcfg.services.output import (
    Line,
    Output,
    Placement,
    RenderContext,
    limits_on,
    reason_comment,
)

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service

PREFIX = "systemd."
# The name a drop-in takes inside <unit>.service.d/: systemd reads every *.conf there.
DROPIN_NAME = "perfcfg.conf"
# systemd.exec(5): Limit*= take a number (soft and hard alike) or "infinity".
LIMIT_KEYS = ("LimitNOFILE", "LimitNPROC", "LimitMEMLOCK")


def settings_of(ctx: RenderContext, service: Service) -> list[Line]:
    out: list[Line] = []
    for setting in ctx.plan.service(PREFIX.rstrip("."), service.name):
        value = setting.value
        if setting.name not in LIMIT_KEYS or isinstance(value, bool) or \
                not isinstance(value, int) or value < 1:
            ctx.fail(setting.path, EncodeError(
                f"{setting.name}={value!r} is not a systemd resource limit perfcfg writes"))
            continue
        out.append({"name": setting.name, "value": str(value),
                    "comment": reason_comment(setting)})
    return out


def dropin(name: str, unit: Callable[[Targets], str], named: Callable[[Targets], str] | None = None,
           also: tuple[str, ...] = ()) -> Output:
    """The drop-in ``name`` of the systemd unit ``unit(targets)`` (without ``.service``)."""

    def render(ctx: RenderContext, service: Service) -> bytes:
        return ctx.template("systemd.conf", ctx.file(output) if ctx.layout else name,
                            unit=f"{unit(ctx.config.targets)}.service",
                            settings=settings_of(ctx, service))

    def place(targets: Targets) -> Placement:
        generated = named(targets) if named is not None else name
        return Placement(f"/etc/systemd/system/{unit(targets)}.service.d", "root", "root",
                         {generated: DROPIN_NAME})

    def changed(targets: Targets) -> Action:
        return Action("restart", (named(targets) if named is not None else name,),
                      f"systemctl daemon-reload && systemctl restart {unit(targets)}")

    output = Output(name, render, when=limits_on, place=place, changed=changed, named=named,
                    also=also)
    return output
