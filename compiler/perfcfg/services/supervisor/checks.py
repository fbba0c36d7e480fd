"""supervisord's cross-service findings (docs/diagnostics.md): each worker's fd need against the
limit it inherits (PCF312), and its unit's fd limit within fs.nr_open (PCF318).

>>> from perfcfg.tune.context import Host, Program, TuneContext, GiB
>>> ctx = TuneContext("production", Host(4 * GiB, 2, open_files=16), (Program("w", 1, 9, 9, 0),), ())
>>> [f.code for f in check_worker_fds(ctx, {})]
['PCF312']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.supervisor.tuning import worker_fds
from perfcfg.tune.checks import fd_ceiling
from perfcfg.tune.context import TuneContext
from perfcfg.tune.findings import Finding

Settings = Mapping[str, Any]


def check_worker_fds(ctx: TuneContext, s: Settings) -> list[Finding]:
    supervised = "supervisor.minfds" in s
    limit = int(s["supervisor.minfds"]) if supervised else ctx.host.open_files
    where = "supervisor.minfds" if supervised else "host.open_files"
    return [Finding("PCF312", "error",
                    f"each {p.name} process needs {worker_fds(p)} file descriptors "
                    f"but inherits a limit of {limit}", (where, f"supervisor.programs.{p.name}"),
                    f"raise {where} to at least {worker_fds(p)}")
            for p in ctx.programs if worker_fds(p) > limit]


CHECKS = (check_worker_fds, fd_ceiling("systemd.supervisor.LimitNOFILE", "supervisor.minfds"))
