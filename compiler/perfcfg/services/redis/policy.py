"""Redis's security rules: exposure, protected mode, users without passwords, TLS and the
admin commands."""

from __future__ import annotations

from collections.abc import Iterator

from perfcfg.core.config import Config
from perfcfg.core.plan import Plan
from perfcfg.model import RedisUser
from perfcfg.services.redis import values
from perfcfg.services.rules import ALWAYS, STRICT, Finding, Rule, is_loopback, sev, split_addresses


def _redis_default_open(config: Config) -> bool:
    """Whether a connection is logged in as ``default`` without a password (Redis auto-
    authenticates new connections as ``default`` only when it is on and ``nopass``)."""
    declared = {u.name: u for u in values.users(config)}
    if "default" in declared:
        return _open(declared["default"])
    return not values.users(config)   # no users declared: perfcfg keeps Redis's own default


def _open(user: RedisUser) -> bool:
    return user.enabled and user.nopass


def _redis_beyond_loopback(plan: Plan) -> bool:
    if plan.value("redis.port") == 0:   # no TCP listener at all
        return False
    bind = plan.value("redis.bind")
    if bind is None:                    # Redis's default binds every interface
        return True
    return any(not is_loopback(a) for a in split_addresses(bind))


def _listening(plan: Plan) -> str:
    """Where Redis listens beyond loopback, in the words of the finding's message."""
    bind = plan.value("redis.bind")
    if bind is None:
        return "no bind is set, so Redis listens on every interface"
    outside = [a for a in split_addresses(bind) if not is_loopback(a)]
    return f"bind {' '.join(outside)} is beyond loopback"


def _redis_exposed(plan: Plan, config: Config) -> Iterator[Finding]:
    if _redis_beyond_loopback(plan) and _redis_default_open(config):
        yield Finding("redis.bind", f"{_listening(plan)} and the default user needs no "
                                    "password: anyone who can reach the port owns the data")


def _redis_protected_mode(plan: Plan, config: Config) -> Iterator[Finding]:
    if plan.value("redis.protected-mode") is False:
        yield Finding("redis.protected-mode", "redis.protected-mode is off, which removes "
                                              "Redis's last guard against remote access")


def _redis_nopass(plan: Plan, config: Config) -> Iterator[Finding]:
    if not values.users(config):
        yield Finding("redis.users", "no redis.users are declared, so Redis's default user is "
                                     "on with no password")
    for user in values.users(config):
        if _open(user):
            yield Finding(f"redis.users.{user.name}.nopass",
                          f"Redis user {user.name!r} is enabled with no password")


def _redis_no_tls(plan: Plan, config: Config) -> Iterator[Finding]:
    if _redis_beyond_loopback(plan) and not plan.value("redis.tls-port"):
        yield Finding("redis.bind", f"{_listening(plan)} and no tls-port is set: AUTH "
                                    "passwords and data cross the network in clear")


_REDIS_ADMIN = ("enable-debug-command", "enable-module-command", "enable-protected-configs")


def _redis_admin_commands(plan: Plan, config: Config) -> Iterator[Finding]:
    for name in _REDIS_ADMIN:
        if plan.value(f"redis.{name}") in ("yes", True):
            yield Finding(f"redis.{name}", f"redis.{name} is yes: any client with the command "
                                           "may use it, not only local ones")


RULES = (
    Rule("PCF402", ALWAYS,
         "a network-reachable Redis whose default user needs no password is taken over in "
         "minutes (CONFIG SET dir + SAVE writes files as the redis user)",
         "bind 127.0.0.1 -::1, or declare redis.users so the default user is off",
         _redis_exposed),
    Rule("PCF403", STRICT,
         "protected mode refuses remote clients while the default user has no password; "
         "turning it off removes the last guard",
         "remove protected-mode: no (the default is yes)",
         _redis_protected_mode),
    Rule("PCF404", STRICT,
         "every local process (and any SSRF) can then read and change all keys the user may "
         "touch",
         "declare redis.users with password: ${env:…}; the default user is then written off",
         _redis_nopass),
    Rule("PCF418", sev("error", "warning", None),
         "Redis's AUTH sends the password in clear, and every key and value follows it",
         "tls-port with tls-cert-file and tls-key-file (and port 0), or bind 127.0.0.1 -::1",
         _redis_no_tls),
    Rule("PCF419", STRICT,
         "DEBUG, MODULE LOAD and CONFIG SET of protected paths let a client run code or "
         "rewrite files as the redis user; Redis 7 disables them by default",
         "remove the override, or use local to allow them from loopback only",
         _redis_admin_commands),
)
