"""supervisord.conf: [supervisord], the control-socket and HTTP-server sections, and one
[program:x] per worker program (mode 0600: it may hold the HTTP server's password hash)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.core.encoding import EncodeError
from perfcfg.services.output import Output, RenderContext
from perfcfg.services.supervisor.encode import (
    option_value,
    supervisor_command,
    supervisor_environment,
)
from perfcfg.services.systemd import dropin

if TYPE_CHECKING:
    from perfcfg.services.base import Service

SUBSECTIONS = ("unix_http_server", "inet_http_server")
# [program:x] keys perfcfg writes from a program's own fields (key → the field): a program's
# `supervisor:` map may not repeat them, or the section would hold two of the same directive
# (supervisor keeps the last) or perfcfg's value would be silently replaced.
PROGRAM_OWNED = {"command": "command", "environment": "environment", "numprocs": "processes",
                 "directory": "directory", "user": "run_as"}
# Settings under supervisor.* that are not [supervisord] keys: the two server sections and
# the tuned keys of each [program:x] (supervisor.programs.NAME.KEY).
NESTED = (*SUBSECTIONS, "programs")


def supervisord_conf(ctx: RenderContext, service: Service) -> bytes:
    sections = []
    for name in SUBSECTIONS:
        settings = ctx.lines(service, ctx.plan.service(service.name, name), section=name)
        if settings:
            sections.append({"name": name, "settings": settings})
    socket = ctx.plan.value("supervisor.unix_http_server.file")
    programs = []
    for prog in ctx.plan.parts[service.name]:
        path = f"workload.programs.{prog.name}"
        try:
            options = [{"name": "command", "value": supervisor_command(list(prog.argv))}]
            for key, value in prog.options:
                param = ctx.param(service, key, "program")
                if param is None:
                    raise EncodeError(f"unknown supervisor program option {key!r}")
                text = option_value(param, value)
                options.append({"name": key, "value": text})
            if prog.environment:
                for pair in prog.environment:   # a refused value is reported at its own key
                    path = f"workload.programs.{prog.name}.environment.{pair[0]}"
                    supervisor_environment([pair])
                options.append({"name": "environment",
                                "value": supervisor_environment(prog.environment)})
        except EncodeError as exc:
            ctx.fail(path, exc)
            continue
        programs.append({"name": prog.name, "options": options})
    return ctx.template("supervisord.conf",
                        settings=ctx.lines(service, ctx.plan.service(service.name,
                                                                     nested=NESTED),
                                           section="supervisord"),
                        sections=sections, socket=socket, programs=programs)


# Debian's supervisor package runs supervisord as supervisor.service.
# Root's alone (0600 on the host too): it holds each program's secrets, which only
# supervisord reads, and hands each program its own.
OUTPUTS = (Output("supervisord.conf", supervisord_conf, secret=True, program_secrets=True),
           dropin("systemd-supervisor.conf", lambda targets: "supervisor"))
