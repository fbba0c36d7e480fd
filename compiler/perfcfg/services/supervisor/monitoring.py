"""supervisord's monitoring: are the workers running, as many processes as compiled?

No supervisord exporter is packaged for Debian; node_exporter's ``supervisord`` collector is
(Debian 12's prometheus-node-exporter), and it reads supervisord's own XML-RPC
(``supervisor.getAllProcessInfo``) over the control socket perfcfg writes
(``[unix_http_server]``), one ``node_supervisord_up{group, name}`` per process. It runs with
only that collector: the host's other metrics are not perfcfg's to judge.

>>> from perfcfg.services.monitor import Scope
>>> workers("matcher", 8, Scope("staging")).expr
'sum by (group) (node_supervisord_up{job="staging-supervisor",group="matcher"}) < 8'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perfcfg.harness import binaries
from perfcfg.services.monitor import Alert, Command, Exporter, Monitor, Scope, Series

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan

EXPORTER = Exporter("node_exporter", "prometheus-node-exporter", ("1.5",), pinned="1.5",
                    system="1.5")
SERVICE = "supervisor"
# node_exporter's arguments: the supervisord collector alone, at the control socket.
ARGS = ("--web.listen-address={listen}", "--collector.disable-defaults",
        "--collector.supervisord")


def workers(program: str, processes: int, scope: Scope) -> Alert:
    """Fewer of ``program``'s processes up than its compiled ``numprocs``."""
    labels = scope.labels(SERVICE, group=program)
    series = tuple(Series("node_supervisord_up", (*labels, ("name", f"{program}_{i:02d}")),
                          ok="1", bad="0" if i == 0 else "1") for i in range(processes))
    return Alert(
        "WorkersNotRunning", SERVICE, "health",
        f"sum by (group) (node_supervisord_up{scope.sel(SERVICE, group=program)}) < {processes}",
        "critical", "2m",
        f"fewer than {processes} processes of {program} are running in {scope.env}",
        f"{processes} = workload.programs.{program}.processes (supervisord numprocs)",
        (f"workload.programs.{program}.processes",), series, by=("group",),
        extra=(("program", program),))


def alerts(plan: Plan, config: Config, scope: Scope) -> list[Alert]:
    collector = scope.labels(SERVICE, collector="supervisord")
    return [
        Alert("SupervisordDown", SERVICE, "health",
              f"node_scrape_collector_success{scope.sel(SERVICE, collector='supervisord')} == 0",
              "critical", "1m", f"node_exporter of {scope.env} cannot reach supervisord",
              "the collector fails when supervisord's control socket does not answer", (),
              (Series("node_scrape_collector_success", collector, ok="1", bad="0"),)),
        *(workers(p.name, p.processes, scope) for p in plan.parts[SERVICE]),
    ]


def daemons() -> list[tuple[str, str]]:
    return [("supervisor", v) for v in binaries.versions("supervisor")]


PROBE_CONF = ("[supervisord]\n[program:w]\ncommand=/bin/sleep 1000\nnumprocs=2\n"
              "process_name=%(program_name)s_%(process_num)02d\n")


@contextmanager
def probe(daemon: str, version: str) -> Iterator[Command]:
    """A throwaway supervisord ``version`` running two processes, and the exporter command
    that reads them over its control socket."""
    from perfcfg.services.supervisor.daemon import Supervisord

    with Supervisord(PROBE_CONF, version=version) as sup:
        yield Command((*ARGS, f"--collector.supervisord.url=unix://{sup.socket}"))


MONITOR = Monitor(EXPORTER, alerts, daemons, probe,
                  ready='node_scrape_collector_success{collector="supervisord"} 1')
