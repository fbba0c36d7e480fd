"""pgbouncer's security rules: client authentication, listening and TLS, console users."""

from __future__ import annotations

from collections.abc import Iterator

from perfcfg.core.config import Config
from perfcfg.core.plan import Plan
from perfcfg.services import catalog as catalogs
from perfcfg.services.rules import (
    ALWAYS,
    ANY_ADDRESS,
    STRICT,
    Finding,
    Rule,
    is_loopback,
    sev,
    split_addresses,
)


def _default(config: Config, name: str) -> str | None:
    """The target release's own default (an unset auth_type is md5 on 1.18)."""
    cat = catalogs.load("pgbouncer", config.targets.pgbouncer)
    param = cat.get(name) if cat else None
    return param.default if param else None


_WEAK_AUTH = {"trust", "any", "plain", "md5"}


def _pgbouncer_auth(plan: Plan, config: Config) -> Iterator[Finding]:
    auth = plan.value("pgbouncer.auth_type", _default(config, "auth_type"))
    if auth in _WEAK_AUTH:
        detail = "any user is admin" if auth == "any" else "not scram-sha-256"
        yield Finding("pgbouncer.auth_type", f"pgbouncer.auth_type is {auth} ({detail})")


def _pgbouncer_listen_all(plan: Plan, config: Config) -> Iterator[Finding]:
    listen = split_addresses(plan.value("pgbouncer.listen_addr", ""))
    tls = plan.value("pgbouncer.client_tls_sslmode", "disable")
    if any(a in ANY_ADDRESS for a in listen) and tls not in ("require", "verify-ca", "verify-full"):
        shown = ", ".join(a for a in listen if a in ANY_ADDRESS)
        yield Finding("pgbouncer.listen_addr", f"listen_addr {shown} and client_tls_sslmode "
                                               f"{tls}: passwords and queries from any network "
                                               "cross it in clear")


def _pgbouncer_no_tls(plan: Plan, config: Config) -> Iterator[Finding]:
    listen = [a for a in split_addresses(plan.value("pgbouncer.listen_addr", ""))
              if a not in ANY_ADDRESS and not is_loopback(a)]   # '*' is PCF414's
    tls = plan.value("pgbouncer.client_tls_sslmode", "disable")
    if listen and tls not in ("require", "verify-ca", "verify-full"):
        yield Finding("pgbouncer.listen_addr", f"pgbouncer listens on {', '.join(listen)} "
                                               "without client TLS: queries and results cross "
                                               "the network in clear")


def _pgbouncer_admins(plan: Plan, config: Config) -> Iterator[Finding]:
    # Declared with a password, resolved or not: a secret that failed to resolve is PCF120's
    # to report, not a second error about a user who is there.
    known = {u.name for u in config.users if u.password is not None}
    for key in ("admin_users", "stats_users"):
        for name in split_addresses(plan.value(f"pgbouncer.{key}", "")):
            if name not in known:
                yield Finding(f"pgbouncer.{key}",
                              f"pgbouncer.{key} names {name!r}, who has no entry in the auth "
                              "file (users with a password)")


RULES = (
    Rule("PCF413", STRICT,
         "trust and any skip passwords (with any, every user is admin), plain sends them in "
         "clear, md5 (1.18's default) stores password-equivalent hashes",
         "pgbouncer.auth_type: scram-sha-256",
         _pgbouncer_auth),
    Rule("PCF414", STRICT,
         "listen_addr = * without client TLS exposes logins and data to the network",
         "listen_addr: 127.0.0.1 (or a private address), or client_tls_sslmode: require "
         "with client_tls_cert_file and client_tls_key_file",
         _pgbouncer_listen_all),
    Rule("PCF415", ALWAYS,
         "pgbouncer authenticates admin_users and stats_users from the auth file; a name "
         "missing there can never log in to the console, so nobody can SHOW or PAUSE",
         "declare the user under users: with a password and admin: true or stats: true",
         _pgbouncer_admins),
    Rule("PCF417", sev("error", "warning", None),
         "SCRAM protects the password but not the queries and results that cross the network",
         "client_tls_sslmode: require with client_tls_cert_file and client_tls_key_file, or "
         "listen_addr: 127.0.0.1",
         _pgbouncer_no_tls),
)
