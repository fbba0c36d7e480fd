"""What a change to pgbouncer's files needs: RELOAD (SIGHUP) re-reads pgbouncer.ini and the
auth file, except the settings SHOW CONFIG marks not changeable (the catalog's ``context``
``no``: listen_addr, listen_port, unix_socket_dir, user, pidfile…), which need a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from perfcfg.services.actions import (
    Action,
    by_parameter,
    changed,
    context_is,
    differing,
    sections,
    text,
    worst,
)

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service

RELOAD = "systemctl reload pgbouncer (or RELOAD; on the admin console)"
RESTART = "systemctl restart pgbouncer"


def changes(service: Service, old: Mapping[str, bytes | None], new: Mapping[str, bytes],
            targets: Targets) -> Action:
    parts = []
    for name, before, data in differing(old, new):
        if before is None:
            parts.append(Action("restart", (f"{name} (new)",), RESTART))
        elif name == "pgbouncer.ini":
            was, now = sections(text(before)), sections(text(data))
            names = changed(was.get("pgbouncer", {}), now.get("pgbouncer", {}))
            names += [f"[databases] {db}" for db in
                      changed(was.get("databases", {}), now.get("databases", {}))]
            parts.append(by_parameter(names, context_is(service, targets, "no"), RELOAD, RESTART))
        elif _lines(before) != _lines(data):
            parts.append(Action("reload", (name,), RELOAD))
    return worst(parts)


def _lines(data: bytes | None) -> list[str]:
    """The auth file's entries: comments and their order mean nothing to pgbouncer."""
    return sorted(line for line in text(data).splitlines() if line.strip() and
                  not line.lstrip().startswith((";", "#")))
