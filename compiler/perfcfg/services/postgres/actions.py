"""What a change to PostgreSQL's files needs: a parameter whose catalog ``context`` is
``postmaster`` takes effect only at server start (pg_settings shows it ``pending_restart``
after a reload); every other context is read again on reload (``sighup``) or by new sessions
(``user``, ``superuser``, ``backend``). pg_hba.conf and pg_ident.conf are read on reload;
roles.sql is run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from perfcfg.services.actions import (
    Action,
    by_parameter,
    changed,
    context_is,
    differing,
    settings,
    text,
    worst,
)

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service


def changes(service: Service, old: Mapping[str, bytes | None], new: Mapping[str, bytes],
            targets: Targets) -> Action:
    unit = f"postgresql@{targets.postgres}-main"
    reload = f"systemctl reload {unit} (or SELECT pg_reload_conf())"
    restart = f"systemctl restart {unit}"
    parts = []
    for name, before, data in differing(old, new):
        if name == "roles.sql":
            if _statements(before) != _statements(data):
                parts.append(Action("none", run=(name,)))
        elif before is None:
            # pg_hba.conf and pg_ident.conf are read again on reload; postgresql.conf's own
            # postmaster parameters need the restart
            parts.append(Action("restart" if name == "postgresql.conf" else "reload",
                                (f"{name} (new)",),
                                restart if name == "postgresql.conf" else reload))
        elif name == "postgresql.conf":
            parts.append(by_parameter(changed(settings(text(before)), settings(text(data))),
                                      context_is(service, targets, "postmaster"), reload,
                                      restart))
        elif _rules(before) != _rules(data):
            parts.append(Action("reload", (name,), reload))
    return worst(parts)


def _statements(data: bytes | None) -> list[str]:
    return [line for line in text(data).splitlines() if line and not line.startswith("--")]


def _rules(data: bytes | None) -> list[str]:
    """pg_hba.conf's rule lines (comments and spacing do not matter to PostgreSQL)."""
    return [" ".join(line.split("#")[0].split()) for line in text(data).splitlines()
            if line.split("#")[0].strip()]
