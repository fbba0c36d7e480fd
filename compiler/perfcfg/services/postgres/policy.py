"""PostgreSQL's security rules: listening, TLS, crash safety and authentication methods."""

from __future__ import annotations

from collections.abc import Iterator

from perfcfg.core.config import Config
from perfcfg.core.plan import Plan
from perfcfg.services.rules import (
    ANY_ADDRESS,
    NOT_DEV,
    STRICT,
    Finding,
    Rule,
    is_local_address,
    is_loopback,
    is_on,
    sev,
    split_addresses,
)


def _pg_listen(plan: Plan) -> list[str]:
    return split_addresses(plan.value("postgres.listen_addresses", "localhost"))


def _pg_ssl_off(plan: Plan, config: Config) -> Iterator[Finding]:
    remote = [a for a in _pg_listen(plan) if not is_loopback(a)]
    if remote and not is_on(plan.value("postgres.ssl", False)):
        path = "postgres.ssl" if "postgres.ssl" in config.spans else "postgres.listen_addresses"
        yield Finding(path, f"PostgreSQL listens on {', '.join(remote)} with ssl off: queries "
                            "and results cross the network in clear")


def _pg_unreachable(plan: Plan, config: Config) -> Iterator[Finding]:
    if any(not is_loopback(a) for a in _pg_listen(plan)):
        return
    for client in config.clients:
        if not is_local_address(client.address):
            yield Finding(f"clients.{client.name}.address",
                          f"client {client.name!r} connects from {client.address}, but "
                          "PostgreSQL listens on loopback only")


def _pg_listen_all(plan: Plan, config: Config) -> Iterator[Finding]:
    if any(a in ANY_ADDRESS for a in _pg_listen(plan)):
        yield Finding("postgres.listen_addresses",
                      "listen_addresses = '*' accepts connections on every network interface")


def _pg_durability(plan: Plan, config: Config) -> Iterator[Finding]:
    for name in ("fsync", "full_page_writes"):
        value = plan.value(f"postgres.{name}")
        if value is not None and not is_on(value):
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


RULES = (
    Rule("PCF408",
         sev("error", "warning", None),
         "SCRAM protects the password but not the queries and results that cross the network",
         "ssl: on with ssl_cert_file and ssl_key_file, or listen on localhost only",
         _pg_ssl_off),
    Rule("PCF409", STRICT,
         "listen_addresses = '*' exposes the server on interfaces nobody meant to serve",
         "list the addresses clients use; with pgbouncer on the same host, localhost is enough",
         _pg_listen_all),
    Rule("PCF410", NOT_DEV,
         "with fsync or full_page_writes off a crash or power loss can corrupt the cluster",
         "remove the override (both are on by default); use synchronous_commit: off to trade "
         "durability of the last commits for speed instead",
         _pg_durability),
    Rule("PCF411", STRICT,
         "trust lets anyone who can connect log in as any role, with no password",
         "method: scram-sha-256 (or peer for local OS users)",
         _hba_trust),
    Rule("PCF412", STRICT,
         "md5 hashes are password-equivalent and 'password' sends the password in clear; "
         "PostgreSQL 18 deprecates MD5",
         "method: scram-sha-256 and postgres.password_encryption: scram-sha-256, then reset "
         "the role passwords",
         _weak_passwords),
    Rule("PCF416",
         sev("warning", "warning", "warning"),
         "perfcfg narrows listen_addresses to localhost when every client is local; a client "
         "from another host then cannot connect",
         "set postgres.listen_addresses to the private address the client reaches (not '*'), "
         "and ssl: on",
         _pg_unreachable),
)
