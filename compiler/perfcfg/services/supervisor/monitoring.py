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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perfcfg.core.plan import Setting
from perfcfg.core.spans import Origin
from perfcfg.harness import binaries
from perfcfg.services.monitor import (
    ACCOUNT,
    Alert,
    Command,
    Drill,
    Exporter,
    Monitor,
    Panel,
    Scope,
    Series,
    monitored,
)

if TYPE_CHECKING:
    from perfcfg.core.config import Config
    from perfcfg.core.plan import Plan
    from perfcfg.services.supervisor.daemon import Supervisord

EXPORTER = Exporter("node_exporter", "prometheus-node-exporter", ("1.5",), pinned="1.5",
                    system="1.5")
SERVICE = "supervisor"
SOCKET = "/run/supervisor.sock"
SOCKET_KEY = "supervisor.unix_http_server"
# owner and group read and write: what the exporter's group needs of a Unix socket
GROUP_MODE = 0o770
OWNER_MODE = 0o700
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


def panels(plan: Plan, config: Config, scope: Scope) -> list[Panel]:
    return [Panel("worker processes running",
                  ((f"sum by (group) (node_supervisord_up{scope.sel(SERVICE)})", "{{group}}"),),
                  lines=tuple((p.processes, f"{p.name} numprocs") for p in plan.parts[SERVICE]))]


def derive(config: Config, settings: dict[str, Setting]) -> None:
    """The control socket's mode, unless the preset sets its owner or mode itself: root's
    alone (0700), or, when the environment is monitored, root's and the ``prometheus``
    group's (0770 with a chown, what PCF407 allows), since node_exporter reads the processes'
    states over it and supervisord has no read-only access."""
    if not plan_has(settings, "file") or plan_has(settings, "chown") or \
            plan_has(settings, "chmod"):
        return
    if not monitored(config):
        settings[f"{SOCKET_KEY}.chmod"] = Setting(f"{SOCKET_KEY}.chmod", OWNER_MODE,
                                                  Origin("derived"), "root alone")
        return
    why = ("the environment is monitored: node_exporter (user prometheus) reads the "
           "processes' states over this socket")
    settings[f"{SOCKET_KEY}.chown"] = Setting(f"{SOCKET_KEY}.chown", f"root:{ACCOUNT}",
                                              Origin("derived"), why)
    settings[f"{SOCKET_KEY}.chmod"] = Setting(f"{SOCKET_KEY}.chmod", GROUP_MODE,
                                              Origin("derived"), why)


def plan_has(settings: dict[str, Setting], key: str) -> bool:
    return f"{SOCKET_KEY}.{key}" in settings


def deployed(plan: Plan, config: Config) -> Command:
    """node_exporter with the supervisord collector alone, at the control socket; Debian's
    unit runs it as ``prometheus``, which the socket admits as its group (``derive``)."""
    socket = plan.value("supervisor.unix_http_server.file") or SOCKET
    return Command((*ARGS, f"--collector.supervisord.url=unix://{socket}"))


def live(command: Command, sup: Supervisord, plan: Plan, files: Mapping[str, str]) -> Command:
    """node_exporter against the supervisord ``perfcfg verify`` booted: its socket, whose
    directory is opened for the exporter's account to pass through (/run is)."""
    import os

    from perfcfg.harness import procs

    os.chmod(sup.dir, 0o711)
    args = [f"--collector.supervisord.url=unix://{sup.socket}"
            if a.startswith("--collector.supervisord.url=") else a for a in command.args]
    return Command(tuple(args), command.env, procs.service_account(ACCOUNT))


def _stop_program(sup: Supervisord, plan: Plan, config: Config,
                  resolved: Mapping[str, str]) -> Callable[[], None]:
    """supervisorctl stop of the first program: its processes are down."""
    name = plan.parts[SERVICE][0].name
    with sup.rpc() as proxy:
        proxy.supervisor.stopProcessGroup(name)

    def undo() -> None:
        with sup.rpc() as proxy:
            proxy.supervisor.startProcessGroup(name)

    return undo


DRILLS = (Drill("supervisorctl stop of a program", lambda plan, config: ("WorkersNotRunning",),
                _stop_program, when=lambda plan, config: bool(plan.parts.get(SERVICE))),)


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
                  ready='node_scrape_collector_success{collector="supervisord"} 1', port=9100,
                  deployed=deployed, panels=panels, live=live, drills=DRILLS)
