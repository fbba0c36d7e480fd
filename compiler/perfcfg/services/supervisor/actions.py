"""What a change to supervisord.conf needs: ``supervisorctl reread && supervisorctl update``
applies changed, added and removed [program:x]/[group:x] sections, restarting only the
programs whose sections changed; [supervisord] and the server sections are read only when
supervisord starts. [supervisorctl] is the client's: it needs nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from perfcfg.services.actions import Action, bare, changed, differing, sections, text, worst

if TYPE_CHECKING:
    from perfcfg.model import Targets
    from perfcfg.services.base import Service

UPDATE = "supervisorctl reread && supervisorctl update"
RESTART = "systemctl restart supervisor"
PROCESS_SECTIONS = ("program:", "group:", "fcgi-program:", "eventlistener:")


def changes(service: Service, old: Mapping[str, bytes | None], new: Mapping[str, bytes],
            targets: Targets) -> Action:
    parts = []
    for name, before, data in differing(old, new):
        if before is None:
            parts.append(Action("restart", (f"{name} (new)",), RESTART))
            continue
        was, now = sections(text(before)), sections(text(data))
        for labelled in changed(was, now):
            section = bare(labelled)
            keys = changed(was.get(section, {}), now.get(section, {}))
            if section.startswith(PROCESS_SECTIONS):
                parts.append(Action("reload", (labelled,), UPDATE))
            elif section != "supervisorctl":
                parts.append(Action("restart", tuple(f"[{section}] {k}" for k in keys) or
                                    (f"[{section}]",), RESTART))
    return worst(parts)
