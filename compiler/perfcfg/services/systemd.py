"""systemd drop-ins: the resource limits a daemon's plan needs, in force under its unit.

Each service that runs as a systemd unit declares one drop-in (``dropin(...)`` in its
``outputs.py``) with the unit's Debian name; the values are the plan's ``systemd.<service>.*``
settings, tuned from the same fd and process budgets as the daemon's own files, each with
its reason. The file is optional: perfcfg.yaml's ``deploy.limits`` turns it on.

A change is judged by the directives, not the bytes: a comment (a limit's reason naming
another need) changes nothing the unit runs with, so it needs nothing; a changed directive
needs ``daemon-reload`` and a restart, since systemd applies limits only when it starts the
unit. The memory limits are the exception: they are the unit's cgroup's, which systemd
changes on a running unit, so a change to them alone is applied live (``set-property
--runtime`` with the new values, the drop-in keeping them across restarts) and the daemon
keeps running.

>>> out = dropin("systemd-x.conf", lambda targets: "x")
>>> out.place(None).path("systemd-x.conf")
'/etc/systemd/system/x.service.d/perfcfg.conf'
>>> old = b"# need 136\\n[Service]\\nLimitNOFILE=1024\\n"
>>> out.changed(old, old.replace(b"136", b"139"), None).action
'none'
>>> out.changed(old, old.replace(b"=1024", b"=2048"), None).because
('systemd-x.conf LimitNOFILE',)
>>> mem = b"[Service]\\nMemoryHigh=1G\\nMemoryMax=2G\\n"
>>> live = out.changed(mem, mem.replace(b"=2G", b"=3G"), None)
>>> live.action, live.how
('reload', 'systemctl daemon-reload && systemctl set-property --runtime x MemoryMax=3G')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.services.actions import Action, changed_directives, directives, text
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
# systemd.resource-control(5): a size in bytes, or with a K/M/G/T suffix (base 1024). On a
# host still on the legacy (v1) cgroup hierarchy systemd applies MemoryMax as
# memory.limit_in_bytes and has nothing for MemoryHigh.
MEMORY_KEYS = ("MemoryHigh", "MemoryMax")
# systemd.exec(5): OOMScoreAdjust= is -1000…1000.
OOM_RANGE = range(-1000, 1001)
# Environment= assignments perfcfg writes: NAME=value words without quotes, escapes or the
# specifier sign % (systemd would expand it), space-separated.
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=[A-Za-z0-9_./-]+( [A-Z_][A-Z0-9_]*=[A-Za-z0-9_./-]+)*$")

# systemd.exec(5): ReadWritePaths= takes absolute paths, "-" before one ignores it if missing.
PATH_KEYS = ("ReadWritePaths",)
_PATH = re.compile(r"-?/[^\s\x00-\x1f\x7f%\\\"']*")


def size_text(n: int) -> str:
    """Bytes as systemd writes a size: the largest suffix that keeps the number whole.

    >>> size_text(3 << 30), size_text(1536 << 20), size_text(1000)
    ('3G', '1536M', '1000')
    """
    for suffix, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return str(n)


def encode(name: str, value: object) -> str:
    """One directive's value as the drop-in writes it (EncodeError: not one perfcfg writes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if name in LIMIT_KEYS and value >= 1:
            return str(value)
        if name in MEMORY_KEYS and value >= 1:
            return size_text(value)
        if name == "OOMScoreAdjust" and value in OOM_RANGE:
            return str(value)
    if name == "Environment" and isinstance(value, str) and _ENV.match(value):
        return value
    if name in PATH_KEYS and isinstance(value, str) and _PATH.fullmatch(value):
        return value
    raise EncodeError(f"{name}={value!r} is not a systemd setting perfcfg writes")


def settings_of(ctx: RenderContext, service: Service) -> list[Line]:
    out: list[Line] = []
    for setting in ctx.plan.service(PREFIX.rstrip("."), service.name):
        try:
            text = encode(setting.name, setting.value)
        except EncodeError as e:
            ctx.fail(setting.path, e)
            continue
        out.append({"name": setting.name, "value": text, "comment": reason_comment(setting)})
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

    def changed(before: bytes | None, data: bytes, targets: Targets) -> Action:
        how = f"systemctl daemon-reload && systemctl restart {unit(targets)}"
        file = named(targets) if named is not None else name
        if before is None:
            return Action("restart", (f"{file} (new)",), how)
        keys = changed_directives(before, data)
        because = tuple(f"{file} {k}" for k in keys)
        if keys and set(keys) <= set(MEMORY_KEYS):
            now = directives(text(data))
            values = " ".join(f"{k}={now[k][-1]}" for k in keys)
            return Action("reload", because, f"systemctl daemon-reload && systemctl "
                          f"set-property --runtime {unit(targets)} {values}")
        return Action("restart", because, how) if keys else Action("none")

    output = Output(name, render, when=limits_on, place=place, changed=changed, named=named,
                    also=also)
    return output
