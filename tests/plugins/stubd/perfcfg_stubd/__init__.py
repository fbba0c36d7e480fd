"""stubd: the smallest daemon a package can add to perfcfg.

Everything perfcfg knows of it is in this file: its ``stubd:`` preset section and catalog, one
output (``stubd.conf``), one tuned parameter (``workers``: one per CPU), one policy rule
(``STB401``: stubd listening beyond loopback), what a change needs (a reload), and a verifier
that reads a running stubd's effective values (``verify --live --stubd URL``; the test points
it at a stand-in that answers like one).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.request import urlopen

from perfcfg.services import catalog
from perfcfg.services.actions import Action, differing
from perfcfg.services.base import Service
from perfcfg.services.output import Output, Placement
from perfcfg.services.rules import Finding, Rule, is_loopback, sev
from perfcfg.services.verifier import Verifier, file_values
from perfcfg.tune.util import rec

NAME = "stubd"


def coerce(param: catalog.Param, value: Any) -> Any:
    if param.type == "integer":
        number = catalog.as_int(value)
        catalog.check_range(param, number)
        return number
    return catalog.as_string(value)


def encode(param: catalog.Param, value: Any) -> str:
    return str(value)


def render(ctx: Any, service: Service) -> bytes:
    """Every value is encoded (validate runs this too, ``ctx.layout`` false: only the encoders'
    complaints count); a build lays the file out under perfcfg's header."""
    settings = [f"{line['name']} = {line['value']}" for line in
                ctx.lines(service, ctx.plan.service(NAME))]
    if not ctx.layout:
        return b""
    header = [f"# {line}" for line in ctx.header_lines("stubd.conf")]
    return ("\n".join([*header, *settings]) + "\n").encode()


def workers(ctx: Any, prior: Any) -> list[Any]:
    return [rec("stubd.workers", min(64, ctx.host.cpus), "stubd.workers",
                "one worker per CPU", "cpus", {"cpus": ctx.host.cpus})]


def exposed(plan: Any, config: Any) -> list[Finding]:
    listen = plan.value("stubd.listen", "127.0.0.1")
    return [] if is_loopback(listen) else \
        [Finding("stubd.listen", f"stubd listens on {listen}, beyond loopback")]


def changes(service: Service, old: Any, new: Any, targets: Any) -> Action:
    """stubd rereads its file on SIGHUP: any change is a reload."""
    changed = [name for name, before, data in differing(old, new)]
    return Action("reload", tuple(changed), "kill -HUP $(pidof stubd)") if changed \
        else Action("none")


def read_live(url: str) -> dict[str, str]:
    with urlopen(url, timeout=5) as answer:       # a running stubd's /config: name → value
        return {str(k): str(v) for k, v in json.loads(answer.read()).items()}


def compare_live(state: dict[str, str], want: dict[str, str], notes: list[str]
                 ) -> tuple[list[tuple[str, str, str]], int]:
    rows = [(name, value, state.get(name, "<unknown>")) for name, value in sorted(want.items())
            if state.get(name) != value]
    return rows, len(want)


SERVICE = Service(
    name=NAME, daemon=NAME, title="stubd", order=200,
    version=lambda targets: "1.0",
    coerce=coerce, encode=encode,
    catalogs=resources.files("perfcfg_stubd.catalogs"),
    outputs=(Output("stubd.conf", render),),
    rules=(Rule("STB401", sev("error", "error", "warning"),
                "a stubd beyond loopback answers anyone", "listen on 127.0.0.1", exposed),),
    codes={"STB401": "stubd beyond loopback"},
    tuning=((60, workers),),
    changes=changes,
    placement=lambda config, plan: Placement("/etc/stubd", "root", "root"),
    verifier=Verifier(lambda plan, cat: file_values(plan, NAME, cat, encode),
                      live_variable="PERFCFG_STUBD_URL", read_live=read_live,
                      compare_live=compare_live, live_help="URL of a running stubd's /config"),
)
