"""Security policy: the ``PCF4xx`` rules, run as a pipeline stage over the Plan and the Config.

Each rule is a row of ``RULES``: a code, a title, a severity per environment kind (``None``
means the rule does not apply to that kind), why it matters, how to fix it, and a check
function that yields ``Finding``s (the setting path to blame and a message). The stage turns
findings into diagnostics at the setting's file:line; a waiver in the preset's ``policy:``
section turns an error into a warning that names the waiver and its reason.

>>> RULES["PCF403"].severity["production"], RULES["PCF403"].severity["development"]
('error', 'warning')
"""

from __future__ import annotations

import dataclasses

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping

from perfcfg.core.diagnostics import Diagnostic, Related, Severity
from perfcfg.model import RedisUser
from perfcfg.core.plan import Plan
from perfcfg.stages.secrets import is_reference
from perfcfg.core.config import Config

Kind = str  # development | staging | production


@dataclass(frozen=True)
class Finding:
    path: str
    message: str


Check = Callable[[Plan, Config], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severity: Mapping[Kind, Severity | None]
    why: str
    fix: str
    check: Check


def _sev(production: Severity | None, staging: Severity | None,
         development: Severity | None) -> dict[Kind, Severity | None]:
    return {"production": production, "staging": staging, "development": development}


STRICT = _sev("error", "error", "warning")      # refused where it matters, flagged on laptops
ALWAYS = _sev("error", "error", "error")        # dangerous even on a laptop
NOT_DEV = _sev("error", "error", None)          # development may trade it for speed

# -- address helpers ----------------------------------------------------------------------

_ANY = {"*", "0.0.0.0", "::", "[::]"}
_LOOPBACK = {"localhost", "::1", "[::1]", ""}


def _is_loopback(address: str) -> bool:
    address = address.strip().lstrip("-")
    return address in _LOOPBACK or address.startswith("127.")


def _split(value: object) -> list[str]:
    """A listen value as a list of addresses: ``'a, b'``, ``['a -b']`` or ``['a', 'b']``."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [a.strip() for item in items for a in re.split(r"[\s,]+", str(item)) if a.strip()]


def _on(value: object) -> bool:
    return value is True or str(value).lower() in ("on", "true", "yes", "1")


# -- secrets ------------------------------------------------------------------------------

# Daemon parameters that hold a secret end with one of these words (password_encryption and
# ssl_key_file do not); environment variables are matched anywhere in the name.
_SECRET_PARAM = re.compile(r".*(password|passwd|requirepass|masterauth|[-_]pass)$",
                           re.IGNORECASE)
_SECRET_ENV = re.compile(r"password|passwd|secret|token|api_?key|private_?key", re.IGNORECASE)


def _plaintext_secrets(plan: Plan, config: Config) -> Iterator[Finding]:
    what = "is written in plaintext, not as a ${…} reference"
    for user in config.users:
        if user.password is not None and not is_reference(user.password):
            yield Finding(f"users.{user.name}.password", f"users.{user.name}.password {what}")
    for ruser in config.redis_users:
        if ruser.password is not None and not is_reference(ruser.password):
            yield Finding(f"redis.users.{ruser.name}.password",
                          f"redis.users.{ruser.name}.password {what}")
    params = [(f"{svc}.{k}", v) for svc, ps in config.services.items() for k, v in ps.items()]
    params += [(f"supervisor.{sec}.{k}", v) for sec, ps in config.supervisor_sections.items()
               for k, v in ps.items()]
    for path, value in params:
        if _SECRET_PARAM.match(path.rsplit(".", 1)[-1]) and not is_reference(value):
            yield Finding(path, f"{path} {what}")
    for prog in config.workload.programs:
        for key, value in prog.environment.items():
            if _SECRET_ENV.search(key) and not is_reference(value):
                path = f"workload.programs.{prog.name}.environment.{key}"
                yield Finding(path, f"{path} looks like a secret and {what}; "
                                    "supervisord.conf would carry it in clear")


# -- Redis --------------------------------------------------------------------------------

def _redis_default_open(config: Config) -> bool:
    """Whether a connection is logged in as ``default`` without a password (Redis auto-
    authenticates new connections as ``default`` only when it is on and ``nopass``)."""
    declared = {u.name: u for u in config.redis_users}
    if "default" in declared:
        return _open(declared["default"])
    return not config.redis_users   # no users declared: perfcfg keeps Redis's own default


def _open(user: RedisUser) -> bool:
    return user.enabled and user.nopass


def _redis_beyond_loopback(plan: Plan) -> bool:
    if plan.value("redis.port") == 0:   # no TCP listener at all
        return False
    bind = plan.value("redis.bind")
    if bind is None:                    # Redis's default binds every interface
        return True
    return any(not _is_loopback(a) for a in _split(bind))


def _redis_exposed(plan: Plan, config: Config) -> Iterator[Finding]:
    if _redis_beyond_loopback(plan) and _redis_default_open(config):
        yield Finding("redis.bind", "Redis listens beyond loopback and its default user needs "
                                    "no password: anyone who can reach the port owns the data")


def _redis_protected_mode(plan: Plan, config: Config) -> Iterator[Finding]:
    if plan.value("redis.protected-mode") is False:
        yield Finding("redis.protected-mode", "redis.protected-mode is off, which removes "
                                              "Redis's last guard against remote access")


def _redis_nopass(plan: Plan, config: Config) -> Iterator[Finding]:
    if not config.redis_users:
        yield Finding("redis.users", "no redis.users are declared, so Redis's default user is "
                                     "on with no password")
    for user in config.redis_users:
        if _open(user):
            yield Finding(f"redis.users.{user.name}.nopass",
                          f"Redis user {user.name!r} is enabled with no password")


def _redis_no_tls(plan: Plan, config: Config) -> Iterator[Finding]:
    if _redis_beyond_loopback(plan) and not plan.value("redis.tls-port"):
        yield Finding("redis.bind", "Redis listens beyond loopback without TLS (tls-port): "
                                    "AUTH passwords and data cross the network in clear")


_REDIS_ADMIN = ("enable-debug-command", "enable-module-command", "enable-protected-configs")


def _redis_admin_commands(plan: Plan, config: Config) -> Iterator[Finding]:
    for name in _REDIS_ADMIN:
        if plan.value(f"redis.{name}") in ("yes", True):
            yield Finding(f"redis.{name}", f"redis.{name} is yes: any client with the command "
                                           "may use it, not only local ones")


# -- supervisord --------------------------------------------------------------------------

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
    if host in ("", "*") or not _is_loopback(host):
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
        yield Finding("supervisor.unix_http_server.chmod",
                      f"supervisord's control socket has mode 0{mode:o}: other local users can "
                      "control every program")


# -- PostgreSQL ---------------------------------------------------------------------------

def _pg_listen(plan: Plan) -> list[str]:
    return _split(plan.value("postgres.listen_addresses", "localhost"))


def _pg_ssl_off(plan: Plan, config: Config) -> Iterator[Finding]:
    remote = [a for a in _pg_listen(plan) if not _is_loopback(a)]
    if remote and not _on(plan.value("postgres.ssl", False)):
        path = "postgres.ssl" if "postgres.ssl" in config.spans else "postgres.listen_addresses"
        yield Finding(path, f"PostgreSQL listens on {', '.join(remote)} with ssl off: queries "
                            "and results cross the network in clear")


def _pg_unreachable(plan: Plan, config: Config) -> Iterator[Finding]:
    from perfcfg.stages.planner import is_local_address

    if any(not _is_loopback(a) for a in _pg_listen(plan)):
        return
    for client in config.clients:
        if not is_local_address(client.address):
            yield Finding(f"clients.{client.name}.address",
                          f"client {client.name!r} connects from {client.address}, but "
                          "PostgreSQL listens on loopback only")


def _pg_listen_all(plan: Plan, config: Config) -> Iterator[Finding]:
    if any(a in _ANY for a in _pg_listen(plan)):
        yield Finding("postgres.listen_addresses",
                      "listen_addresses = '*' accepts connections on every network interface")


def _pg_durability(plan: Plan, config: Config) -> Iterator[Finding]:
    for name in ("fsync", "full_page_writes"):
        value = plan.value(f"postgres.{name}")
        if value is not None and not _on(value):
            yield Finding(f"postgres.{name}", f"postgres.{name} is off: a crash or power loss "
                                              "can corrupt the database, not just lose commits")


def _hba_trust(plan: Plan, config: Config) -> Iterator[Finding]:
    for client in config.clients:
        if client.method == "trust":
            yield Finding(f"clients.{client.name}.method",
                          f"client {client.name!r} logs in with trust: no password at all")


def _weak_passwords(plan: Plan, config: Config) -> Iterator[Finding]:
    for client in config.clients:
        if client.method in ("md5", "password"):
            yield Finding(f"clients.{client.name}.method",
                          f"client {client.name!r} logs in with {client.method}, not "
                          "scram-sha-256")
    if plan.value("postgres.password_encryption") == "md5":
        yield Finding("postgres.password_encryption",
                      "postgres.password_encryption is md5: new passwords are stored as MD5")


# -- pgbouncer ----------------------------------------------------------------------------

PGBOUNCER_DEFAULT_AUTH = "md5"   # pgbouncer 1.18's default auth_type
_WEAK_AUTH = {"trust", "any", "plain", "md5"}


def _pgbouncer_auth(plan: Plan, config: Config) -> Iterator[Finding]:
    auth = plan.value("pgbouncer.auth_type", PGBOUNCER_DEFAULT_AUTH)
    if auth in _WEAK_AUTH:
        detail = "any user is admin" if auth == "any" else "not scram-sha-256"
        yield Finding("pgbouncer.auth_type", f"pgbouncer.auth_type is {auth} ({detail})")


def _pgbouncer_listen_all(plan: Plan, config: Config) -> Iterator[Finding]:
    listen = _split(plan.value("pgbouncer.listen_addr", ""))
    tls = plan.value("pgbouncer.client_tls_sslmode", "disable")
    if any(a in _ANY for a in listen) and tls not in ("require", "verify-ca", "verify-full"):
        yield Finding("pgbouncer.listen_addr", "pgbouncer listens on every interface without "
                                               "client TLS (client_tls_sslmode)")


def _pgbouncer_no_tls(plan: Plan, config: Config) -> Iterator[Finding]:
    listen = [a for a in _split(plan.value("pgbouncer.listen_addr", ""))
              if a not in _ANY and not _is_loopback(a)]   # '*' is PCF414's
    tls = plan.value("pgbouncer.client_tls_sslmode", "disable")
    if listen and tls not in ("require", "verify-ca", "verify-full"):
        yield Finding("pgbouncer.listen_addr", f"pgbouncer listens on {', '.join(listen)} "
                                               "without client TLS: queries and results cross "
                                               "the network in clear")


def _pgbouncer_admins(plan: Plan, config: Config) -> Iterator[Finding]:
    known = {name for name, _ in plan.users}
    for key in ("admin_users", "stats_users"):
        for name in _split(plan.value(f"pgbouncer.{key}", "")):
            if name not in known:
                yield Finding(f"pgbouncer.{key}",
                              f"pgbouncer.{key} names {name!r}, who has no entry in the auth "
                              "file (users with a password)")


# -- the table ----------------------------------------------------------------------------

RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("PCF401", "plaintext secret in a preset", STRICT,
         "a preset lives in git and in every clone, CI log and review; a password there is "
         "public to everyone who can read the repository",
         "write a reference, ${env:NAME} or ${file:path}, resolved only at build time",
         _plaintext_secrets),
    Rule("PCF402", "Redis reachable beyond loopback without a password", ALWAYS,
         "a network-reachable Redis whose default user needs no password is taken over in "
         "minutes (CONFIG SET dir + SAVE writes files as the redis user)",
         "bind 127.0.0.1 -::1, or declare redis.users so the default user is off",
         _redis_exposed),
    Rule("PCF403", "Redis protected-mode off", STRICT,
         "protected mode refuses remote clients while the default user has no password; "
         "turning it off removes the last guard",
         "remove protected-mode: no (the default is yes)",
         _redis_protected_mode),
    Rule("PCF404", "Redis user enabled without a password", STRICT,
         "every local process (and any SSRF) can then read and change all keys the user may "
         "touch",
         "declare redis.users with password: ${env:…}; the default user is then written off",
         _redis_nopass),
    Rule("PCF405", "supervisord HTTP server without credentials", STRICT,
         "supervisord's XML-RPC interface starts and stops programs and reads their logs; "
         "without a username and password anyone who reaches it controls the workers",
         "set supervisor.inet_http_server.username and password (a ${…} reference), or "
         "remove inet_http_server and use the Unix socket",
         _supervisor_inet_auth),
    Rule("PCF406", "supervisord HTTP server beyond loopback", STRICT,
         "the XML-RPC interface has no TLS and only basic authentication",
         "port: 127.0.0.1:9001, or remove inet_http_server",
         _supervisor_inet_public),
    Rule("PCF407", "supervisord control socket too open", STRICT,
         "a local user who can write to the socket controls every program",
         "chmod: \"0700\", or \"0770\" together with chown: user:group",
         _supervisor_socket_mode),
    Rule("PCF408", "PostgreSQL ssl off while listening beyond loopback",
         _sev("error", "warning", None),
         "SCRAM protects the password but not the queries and results that cross the network",
         "ssl: on with ssl_cert_file and ssl_key_file, or listen on localhost only",
         _pg_ssl_off),
    Rule("PCF409", "PostgreSQL listens on every interface", STRICT,
         "listen_addresses = '*' exposes the server on interfaces nobody meant to serve",
         "list the addresses clients use; with pgbouncer on the same host, localhost is enough",
         _pg_listen_all),
    Rule("PCF410", "PostgreSQL crash safety off", NOT_DEV,
         "with fsync or full_page_writes off a crash or power loss can corrupt the cluster",
         "remove the override (both are on by default); use synchronous_commit: off to trade "
         "durability of the last commits for speed instead",
         _pg_durability),
    Rule("PCF411", "trust authentication", STRICT,
         "trust lets anyone who can connect log in as any role, with no password",
         "method: scram-sha-256 (or peer for local OS users)",
         _hba_trust),
    Rule("PCF412", "md5 or password authentication", STRICT,
         "md5 hashes are password-equivalent and 'password' sends the password in clear; "
         "PostgreSQL 18 deprecates MD5",
         "method: scram-sha-256 and postgres.password_encryption: scram-sha-256, then reset "
         "the role passwords",
         _weak_passwords),
    Rule("PCF413", "pgbouncer auth_type weaker than SCRAM", STRICT,
         "trust and any skip passwords (with any, every user is admin), plain sends them in "
         "clear, md5 (1.18's default) stores password-equivalent hashes",
         "pgbouncer.auth_type: scram-sha-256",
         _pgbouncer_auth),
    Rule("PCF414", "pgbouncer on every interface without TLS", STRICT,
         "listen_addr = * without client TLS exposes logins and data to the network",
         "listen_addr: 127.0.0.1 (or a private address), or client_tls_sslmode: require "
         "with a certificate",
         _pgbouncer_listen_all),
    Rule("PCF415", "pgbouncer admin or stats user missing from the auth file", ALWAYS,
         "pgbouncer authenticates admin_users and stats_users from the auth file; a name "
         "missing there can never log in to the console, so nobody can SHOW or PAUSE",
         "declare the user under users: with a password and admin: true or stats: true",
         _pgbouncer_admins),
    Rule("PCF416", "remote client but PostgreSQL listens on loopback only",
         _sev("warning", "warning", "warning"),
         "perfcfg narrows listen_addresses to localhost when every client is local; a client "
         "from another host then cannot connect",
         "set postgres.listen_addresses to the private address the client reaches (not '*'), "
         "and ssl: on",
         _pg_unreachable),
    Rule("PCF417", "pgbouncer beyond loopback without TLS", _sev("error", "warning", None),
         "SCRAM protects the password but not the queries and results that cross the network",
         "client_tls_sslmode: require with client_tls_cert_file and client_tls_key_file, or "
         "listen_addr: 127.0.0.1",
         _pgbouncer_no_tls),
    Rule("PCF418", "Redis beyond loopback without TLS", _sev("error", "warning", None),
         "Redis's AUTH sends the password in clear, and every key and value follows it",
         "tls-port with tls-cert-file and tls-key-file (and port 0), or bind 127.0.0.1 -::1",
         _redis_no_tls),
    Rule("PCF419", "Redis debug, module or protected-config commands enabled", STRICT,
         "DEBUG, MODULE LOAD and CONFIG SET of protected paths let a client run code or "
         "rewrite files as the redis user; Redis 7 disables them by default",
         "remove the override, or use local to allow them from loopback only",
         _redis_admin_commands),
)}


# -- the stage ----------------------------------------------------------------------------

def check(plan: Plan, config: Config, cross: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """The security rules' diagnostics, and ``cross`` (the cross-service findings), each
    with the preset's waivers applied; a waiver that matched nothing is reported (PCF421)."""
    waivers = {w.rule: (i, w) for i, w in enumerate(config.policy.waivers)}
    used: set[str] = set()
    out: list[Diagnostic] = []
    for rule in RULES.values():
        severity = rule.severity.get(config.kind)
        if severity is None:
            continue
        for finding in rule.check(plan, config):
            waiver = waivers.get(rule.code)
            if waiver is not None:
                used.add(rule.code)
            out.append(_diagnostic(rule, severity, finding, config, waiver))
    for diag in cross:
        waiver = waivers.get(diag.code)
        if waiver is not None:
            used.add(diag.code)
            diag = _waived(diag, config, waiver)
        out.append(diag)
    for code, (i, _) in sorted(waivers.items()):
        if code not in used:
            path = f"policy.waivers[{i}].rule"
            out.append(Diagnostic("PCF421", "info", f"waiver for {code} matches nothing in "
                                  f"environment {config.env!r}", config.spans.get(path), path,
                                  "remove it once no environment needs it"))
    return out


_LOWER: dict[str, Severity] = {"error": "warning", "warning": "info", "info": "info"}


def _waived(diag: Diagnostic, config: Config, waiver: tuple[int, object]) -> Diagnostic:
    """A cross-service finding a person accepted: one severity lower, reason recorded."""
    i, w = waiver
    path = f"policy.waivers[{i}]"
    reason = getattr(w, "reason", "")
    return dataclasses.replace(
        diag, severity=_LOWER[diag.severity],
        message=f"{diag.message} (waived by {path}: {reason})",
        related=(*diag.related, Related(f"waived here: {reason}",
                                        config.spans.get(f"{path}.rule"), path)))


def _span(config: Config, path: str):
    """The span of the setting, else of its nearest written parent (e.g. the ``redis:``
    section when ``redis.users`` is missing, or ``supervisor.inet_http_server``)."""
    parts = path.split(".")
    while parts:
        span = config.spans.get(".".join(parts))
        if span is not None:
            return span
        parts.pop()
    return None


def _diagnostic(rule: Rule, severity: Severity, finding: Finding, config: Config,
                waiver: tuple[int, object] | None) -> Diagnostic:
    span = _span(config, finding.path)
    message = f"{rule.title}: {finding.message}"
    related: tuple[Related, ...] = ()
    if waiver is not None:
        i, w = waiver
        path = f"policy.waivers[{i}]"
        reason = getattr(w, "reason", "")
        message += f" (waived by {path}: {reason})"
        related = (Related(f"waived here: {reason}", config.spans.get(f"{path}.rule"), path),)
        severity = "warning" if severity == "error" else severity
    return Diagnostic(rule.code, severity, message, span, finding.path,
                      f"{rule.fix}. Why: {rule.why}", related)
