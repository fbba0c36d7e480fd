"""The sysctl.d file: the kernel settings the plan needs on its host (``sysctl.*`` settings,
from what every service asked of the kernel in tuning; see ``tune/limits.py``).

It belongs to no daemon: the manifest lists it under ``host`` and places it in
``/etc/sysctl.d/``, and a change to it needs ``sysctl --system``. Optional, like the systemd
drop-ins: perfcfg.yaml's ``deploy.limits`` turns it on.

>>> OUTPUT.place(None).path(NAME), OUTPUT.changed(None, b"x = 1\\n", None).how
('/etc/sysctl.d/60-perfcfg.conf', 'sysctl --system')
>>> OUTPUT.changed(b"# a\\nx = 1\\n", b"# b\\nx = 1\\n", None).action
'none'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.services.actions import Action, changed_directives
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

NAME = "sysctl.conf"
PREFIX = "sysctl."
# The manifest's owner of a file about the host rather than a daemon, and the kernel it is for.
HOST = "host"
KERNEL = "linux"
# /etc/sysctl.d/*.conf apply in name order, the last setting of a key winning: 60 comes after
# the distribution's 10-… and 50-… defaults and before an admin's 99-… overrides.
DEPLOYED = "60-perfcfg.conf"


def sysctl_conf(ctx: RenderContext, service: None) -> bytes:
    lines: list[Line] = []
    for setting in ctx.plan.service(PREFIX.rstrip(".")):
        key, value = setting.path[len(PREFIX):], setting.value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            ctx.fail(setting.path, EncodeError(f"{key} = {value!r} is not a sysctl value "
                                               "perfcfg writes"))
            continue
        lines.append({"name": key, "value": str(value), "comment": reason_comment(setting)})
    return ctx.template("sysctl.conf", NAME, settings=lines)


def place(targets: Targets) -> Placement:
    return Placement("/etc/sysctl.d", "root", "root", {NAME: DEPLOYED})


def changed(before: bytes | None, data: bytes, targets: Targets) -> Action:
    # A listening daemon keeps the backlog it listened with, and PostgreSQL takes huge pages
    # only at start: the restarts its own files need then make the new values count.
    keys = [f"{NAME} (new)"] if before is None else \
        [f"{NAME} {k}" for k in changed_directives(before, data)]
    return Action("reload", tuple(keys), "sysctl --system") if keys else Action("none")


OUTPUT = Output(NAME, sysctl_conf, when=limits_on, place=place, changed=changed)
