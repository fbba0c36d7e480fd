"""supervisord's security rules: the HTTP server's credentials and address, the control
socket's mode."""

from __future__ import annotations

from collections.abc import Iterator

from perfcfg.core.config import Config
from perfcfg.core.plan import Plan
from perfcfg.services.rules import STRICT, Finding, Rule, is_loopback, sev


def _inet_declared(plan: Plan) -> bool:
    return bool(plan.service("supervisor", "inet_http_server"))


def _supervisor_inet_auth(plan: Plan, config: Config) -> Iterator[Finding]:
    username = plan.value("supervisor.inet_http_server.username")
    password = plan.value("supervisor.inet_http_server.password")
    if _inet_declared(plan) and not (username and password):
        yield Finding("supervisor.inet_http_server.port",
                      "supervisord's inet_http_server has no username and password: whoever "
                      "reaches it can start, stop and reconfigure every program")


def _supervisor_inet_public(plan: Plan, config: Config) -> Iterator[Finding]:
    port = plan.value("supervisor.inet_http_server.port")
    if port is None:
        return
    host = str(port).rpartition(":")[0] if ":" in str(port) else ""
    if host in ("", "*") or not is_loopback(host):
        yield Finding("supervisor.inet_http_server.port",
                      f"supervisord's inet_http_server listens on {port!r}, beyond loopback")


def _supervisor_socket_mode(plan: Plan, config: Config) -> Iterator[Finding]:
    if plan.value("supervisor.unix_http_server.file") is None:
        return
    mode = int(plan.value("supervisor.unix_http_server.chmod", 0o700))
    chown = plan.value("supervisor.unix_http_server.chown")
    owner_only = mode & 0o077 == 0
    group_with_owner = mode & 0o007 == 0 and bool(chown)
    if not (owner_only or group_with_owner):
        # Say who the bits let in: others' bits open it to every local user; group bits
        # without a chown open it to whatever group supervisord runs with.
        who = "every local user" if mode & 0o007 else \
            "every member of the socket's group, which no chown names (supervisord's own)"
        yield Finding("supervisor.unix_http_server.chmod",
                      f"supervisord's control socket has mode 0{mode:o}: {who} can control "
                      "every program")


def _program_as_root(plan: Plan, config: Config) -> Iterator[Finding]:
    # supervisord starts a program as its own user when the program names none: root under
    # Debian's supervisor.service, unless [supervisord] user= drops it
    daemon_user = plan.value("supervisor.user")
    for program in plan.parts.get("supervisor", ()):
        user = dict(program.options).get("user") or daemon_user
        if user in (None, "", "root"):
            yield Finding(f"workload.programs.{program.name}.run_as",
                          f"program {program.name} runs as root: it names no run_as, so "
                          "supervisord starts it as its own user (root under Debian's unit)"
                          if user is None else f"program {program.name} runs as root")


RULES = (
    Rule("PCF405", STRICT,
         "supervisord's XML-RPC interface starts and stops programs and reads their logs; "
         "without a username and password anyone who reaches it controls the workers",
         "set supervisor.inet_http_server.username and password (a ${…} reference), or "
         "remove inet_http_server and use the Unix socket",
         _supervisor_inet_auth),
    Rule("PCF406", STRICT,
         "the XML-RPC interface has no TLS and only basic authentication",
         "port: 127.0.0.1:9001, or remove inet_http_server",
         _supervisor_inet_public),
    Rule("PCF407", STRICT,
         "a local user who can write to the socket controls every program",
         "chmod: \"0700\", or \"0770\" together with chown: user:group",
         _supervisor_socket_mode),
    Rule("PCF422", sev("error", "warning", None),
         "a worker that runs as root turns any bug in it (an injection, an unsafe "
         "deserialisation) into control of the whole host",
         "run_as: an unprivileged user that owns the program's directory (create it on the "
         "host: useradd --system NAME)",
         _program_as_root),
)
