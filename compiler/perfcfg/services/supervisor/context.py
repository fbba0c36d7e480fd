"""What supervisord adds to the tuning context: its release, each worker program with the
drain time its ``stopwaitsecs`` gives, and where its fd limit and programs' settings live (the
workload runner's, which the cross-service checks name)."""

from __future__ import annotations

from typing import Any

from perfcfg.services.base import ContextPart
from perfcfg.tune.context import Program, Versions

Versions.declare("supervisor", (4, 3))
# the setting that is the fd limit of every daemon and worker it starts, and the prefix of its
# programs' settings
# runner.unit: its systemd unit's cgroup holds the programs it starts (tune/enforce.py), and
# supervisord itself: a Python process of ~25MiB RSS (supervisor 4.3, measured on start).
OWN_MEMORY = 32 << 20
FACTS = {"runner.fds": "supervisor.minfds", "runner.programs": "supervisor.programs",
         "runner.unit": "supervisor", "runner.own_memory": OWN_MEMORY}


def release(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def context(config: Any) -> ContextPart:
    programs = tuple(Program(p.name, p.processes, p.db_connections, p.redis_connections,
                             p.memory, stop_seconds=p.supervisor.get("stopwaitsecs"),
                             ceiling=p.max_processes or 0)
                     for p in config.workload.programs)
    return ContextPart(fields={"programs": programs},
                       versions={"supervisor": release(config.targets.supervisor)})
