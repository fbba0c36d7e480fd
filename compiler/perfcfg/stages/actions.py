"""What deploying a build needs, per daemon: each service compares the files already there
(the output directory, or ``--against DIR``: what is deployed) with the new ones and says
``restart``, ``reload`` or ``none``, with the parameters that force it.

>>> from perfcfg.services.actions import Action
>>> as_json({"postgres": Action("restart", ("shared_buffers",))})
{'postgres': {'action': 'restart', 'because': ['shared_buffers']}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from perfcfg.services import registry
from perfcfg.services.actions import Action, worst
from perfcfg.services.output import Output
from perfcfg.services.sysctl import HOST

if TYPE_CHECKING:
    from perfcfg.model import Targets


def actions(old: Mapping[str, bytes | None], new: Mapping[str, bytes], targets: Targets
            ) -> dict[str, Action]:
    """Per service (in registry order): what replacing ``old`` with ``new`` needs."""
    out = {}
    for service in registry.SERVICES:
        if service.changes is None:
            continue
        own = [o for o in service.outputs if o.file(targets) in new]
        names = [o.file(targets) for o in own if o.changed is None]
        found = [service.changes(service, {n: old.get(n) for n in names},
                                 {n: new[n] for n in names}, targets)]
        # a drop-in's action first: on a tie its how (daemon-reload, then restart) is the one kept
        out[service.name] = worst(_fixed(own, old, new, targets) + found)
    # files of no one service, by what they belong to: the host (sysctl.d), Prometheus and
    # each exporter's unit (the monitoring files)
    by_owner: dict[str, list[Output]] = {}
    for output in (*registry.HOST, *registry.MONITORING):
        if output.file(targets) in new:
            by_owner.setdefault(output.owner[1] if output.owner else HOST, []).append(output)
    for owner, outputs in by_owner.items():
        found = _fixed(outputs, old, new, targets)
        if found:
            out[owner] = worst(found)
            if owner == HOST:
                # the host's files are independent (sysctl.d, tmpfiles.d): each changed one's
                # command
                hows = " && ".join(dict.fromkeys(a.how for a in found
                                                 if a.action != "none" and a.how))
                out[owner] = replace(out[owner], how=hows)
    return out


def _fixed(outputs: list[Output], old: Mapping[str, bytes | None], new: Mapping[str, bytes],
           targets: Targets) -> list[Action]:
    """What the files that judge their own changes (a drop-in, the sysctl file) need."""
    out = []
    for output in outputs:
        if output.changed is None:
            continue
        name = output.file(targets)
        out.append(output.changed(old.get(name), new[name], targets))
    return out


def as_json(found: Mapping[str, Action]) -> dict[str, dict[str, str | list[str]]]:
    return {name: action.as_json() for name, action in found.items()}


def from_json(found: Mapping[str, Mapping[str, Any]]) -> dict[str, Action]:
    """The actions :func:`as_json` wrote, read back from JSON."""
    return {name: Action(a["action"], tuple(a["because"]), a.get("how", ""),
                         tuple(a.get("run", ()))) for name, a in found.items()}


def as_lines(env: str, found: Mapping[str, Action], changed: bool = False) -> list[str]:
    """One line per daemon: ``env: postgres: restart (shared_buffers)``, and ``env: redis:
    none`` for one that needs nothing once a file changed (a reader of a change, even one to
    comments alone, sees that each daemon was judged, not forgotten); nothing at all when no
    file changed and no daemon needs anything."""
    out: list[str] = []
    if not changed and all(a.action == "none" and not a.run for a in found.values()):
        return out
    for name, action in found.items():
        # "on the host", not "run:": these are for the deployed host, not for here.
        why = f" ({', '.join(action.because)})" if action.because else ""
        how = f", on the host: {action.how}" if action.how else ""
        line = f"{env}: {name}: {action.action}{why}{how}"
        if action.run:
            line += f"; then apply {', '.join(action.run)} (see manifest.json)"
        out.append(line)
    return out
