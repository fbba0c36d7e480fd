"""What to do, in order, to take a running Patroni cluster from one configuration to the next.

A cluster-wide change is one ``PATCH /config`` (``render.dcs_patch``); a member's local one is a
``patronictl reload`` of that member. A parameter PostgreSQL reads only at start then needs
each member restarted through Patroni (``patronictl restart``, never the leader's service),
and for the parameters a hot standby checks against its primary's the order matters (seen on
the lab, docs/multihost-lab.md):

- **raised**: the replicas first, then the leader — a replica with less than its primary's
  value stops replaying;
- **lowered**: the leader first, then each replica once it has **replayed** the leader's
  restart (lag 0): Patroni starts a replica with the larger of the DCS value and what its
  ``pg_controldata`` last saw from the primary, so a replica restarted too early keeps the old
  value and stays ``pending_restart``.

A change that raises some of them and lowers others is two rounds, raises first. Other
restart-only parameters restart the replicas, then the leader (the leader last: one short
primary outage, not three).

>>> from perfcfg.services.postgres.patroni.render import Account, Cluster, Member
>>> a = [Account(n, "pw") for n in ("postgres", "replicator", "rewinder")]
>>> def c(mc): return Cluster("main", (Member("db1", "10.0.0.11"),), ("e:2379",), "n", *a,
...                          parameters={"max_connections": mc})
>>> [s.action + " " + s.target for s in plan(c("200"), c("100"), lambda n: True)]
['dcs-patch cluster', 'restart leader', 'wait-replayed replicas', 'restart replicas']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from perfcfg.services.postgres.patroni.render import Cluster, dcs_patch

# The settings a hot standby must have at least as high as its primary (PostgreSQL's
# CheckRequiredParameterValues): the order of a restart depends on their direction.
STANDBY_CHECKED = frozenset({"max_connections", "max_worker_processes", "max_wal_senders",
                             "max_prepared_transactions", "max_locks_per_transaction"})


@dataclass(frozen=True)
class Step:
    """One thing to do: ``action`` on ``target`` (``cluster``, ``leader``, ``replicas`` or a
    member's name), with its data (the patch body, the parameters) and why."""

    action: str          # dcs-patch | reload | restart | wait-replayed
    target: str
    why: str
    data: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"action": self.action, "target": self.target, "why": self.why,
                **({"data": dict(self.data)} if self.data else {})}


def _number(value: str | None) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _direction(old: str | None, new: str | None) -> str:
    before, after = _number(old), _number(new)
    if before is None or after is None:
        return "other"
    return "raise" if after > before else "lower" if after < before else "same"


def plan(old: Cluster, new: Cluster, needs_restart: Callable[[str], bool]) -> list[Step]:
    """The steps from ``old`` to ``new`` (same members); ``needs_restart(name)`` says whether
    PostgreSQL reads a parameter only at start (its catalog's ``postmaster`` context)."""
    steps: list[Step] = []
    changed = {k for k in set(old.parameters) | set(new.parameters)
               if old.parameters.get(k) != new.parameters.get(k)}
    restart = sorted(k for k in changed if needs_restart(k))
    way = {k: _direction(old.parameters.get(k), new.parameters.get(k)) for k in restart}
    raised = [k for k in restart if k in STANDBY_CHECKED and way[k] == "raise"]
    lowered = [k for k in restart if k in STANDBY_CHECKED and way[k] == "lower"]
    # restart-only, and not ordered by a standby's check (or removed: back to the default)
    others = [k for k in restart if k not in raised and k not in lowered]
    rest = {k: new.parameters[k] for k in sorted(changed - set(lowered)) if k in new.parameters}
    removed = {k for k in changed - set(lowered) if k not in new.parameters}
    if rest or removed:
        first = {**{k: v for k, v in old.parameters.items() if k not in changed or k in lowered},
                 **rest}
        steps.append(Step("dcs-patch", "cluster", "cluster-wide parameters live in the DCS",
                          dcs_patch(old.parameters, first)))
        if raised or others:
            steps += _restart("replicas-first", raised + others)
    if lowered:
        steps.append(Step("dcs-patch", "cluster", "cluster-wide parameters live in the DCS",
                          dcs_patch({k: v for k, v in old.parameters.items() if k in lowered},
                                    {k: new.parameters[k] for k in lowered
                                     if k in new.parameters})))
        steps += _restart("leader-first", lowered)
    for before, after in zip(old.members, new.members, strict=True):
        if dict(before.parameters) != dict(after.parameters):
            local = sorted(k for k in set(before.parameters) | set(after.parameters)
                           if before.parameters.get(k) != after.parameters.get(k))
            steps.append(Step("reload", after.name, "a member's own parameters are in its "
                              "patroni.yml: patronictl reload re-reads it",
                              {"parameters": local}))
            if any(needs_restart(k) for k in local):
                steps.append(Step("restart", after.name, "read only at start",
                                  {"parameters": [k for k in local if needs_restart(k)]}))
    return steps


def _restart(order: str, names: list[str]) -> list[Step]:
    data = {"parameters": names}
    if order == "replicas-first":
        why = "read only at start; raised, a replica must not have less than its primary"
        return [Step("restart", "replicas", why, data), Step("restart", "leader", why, data)]
    why = "read only at start; lowered, the primary first"
    return [Step("restart", "leader", why, data),
            Step("wait-replayed", "replicas", "a replica started before it replays the "
                 "primary's restart keeps the old value", data),
            Step("restart", "replicas", why, data)]
