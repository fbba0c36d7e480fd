"""The tmpfiles.d file: the files of ``/sys`` the plan sets on its host (``sysfs.*``
settings, from what the services asked of the kernel in tuning; see ``tune/limits.py``), such
as transparent huge pages off. ``/sys`` forgets at every boot and sysctl.d cannot write it:
systemd-tmpfiles writes each line at boot (``w PATH - - - - VALUE``).

Like the sysctl.d file it belongs to no daemon: the manifest lists it under ``host``, and
perfcfg.yaml's ``deploy.limits`` turns it on.

>>> OUTPUT.place(None).path(NAME), OUTPUT.changed(None, b"w /x - - - - 1\\n", None).how
('/etc/tmpfiles.d/perfcfg.conf', 'systemd-tmpfiles --create /etc/tmpfiles.d/perfcfg.conf')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.services.actions import Action, by_content
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

NAME = "tmpfiles.conf"
PREFIX = "sysfs."
DIRECTORY = "/etc/tmpfiles.d"
DEPLOYED = "perfcfg.conf"
# tmpfiles.d(5) splits a line on whitespace and expands % specifiers: a value perfcfg writes
# is one word of letters, digits, _ and -.
_WORD = re.compile(r"^[A-Za-z0-9_-]+$")


def sysfs_path(key: str) -> str:
    """``kernel.mm.transparent_hugepage.enabled`` → its file under /sys."""
    return "/sys/" + key.replace(".", "/")


def tmpfiles_conf(ctx: RenderContext, service: None) -> bytes:
    lines: list[Line] = []
    for setting in ctx.plan.service(PREFIX.rstrip(".")):
        key, value = setting.path[len(PREFIX):], setting.value
        if not isinstance(value, str) or not _WORD.match(value):
            ctx.fail(setting.path, EncodeError(f"{key} = {value!r} is not a value perfcfg "
                                               "writes into /sys"))
            continue
        lines.append({"name": sysfs_path(key), "value": value,
                      "comment": reason_comment(setting)})
    return ctx.template("tmpfiles.conf", NAME, settings=lines)


def place(targets: Targets) -> Placement:
    return Placement(DIRECTORY, "root", "root", {NAME: DEPLOYED})


def _reload(targets: Targets) -> Action:
    # the kernel applies the new value to memory allocated from then on: a daemon's pages
    # already made huge stay until it restarts, which its own files' restarts do
    return Action("reload", (NAME,), f"systemd-tmpfiles --create {DIRECTORY}/{DEPLOYED}")


def needed(ctx: RenderContext) -> bool:
    return limits_on(ctx) and bool(ctx.plan.service(PREFIX.rstrip(".")))


def changed(before: bytes | None, data: bytes, targets: Targets) -> Action:
    # its lines are not name = value: a change to its comments alone needs nothing
    if before is None:
        return Action("reload", (f"{NAME} (new)",), _reload(targets).how)
    return by_content(_reload)(before, data, targets)


OUTPUT = Output(NAME, tmpfiles_conf, when=needed, place=place, changed=changed)
