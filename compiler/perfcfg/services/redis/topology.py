"""Redis's part of the topology: the ACL file's lines (``default`` first, off unless declared,
then the declared users with hashed passwords), a check that every worker's Redis user exists,
and the ``REDIS_URL`` a worker connects with."""

from __future__ import annotations

from typing import Any

from perfcfg.core.diagnostics import Diagnostic
from perfcfg.services import net
from perfcfg.services.redis import values
from perfcfg.services.redis.secrets import password_hash
from perfcfg.services.topology import Topology

ENDPOINT = net.Endpoint("redis.port", 6379, "redis.bind")


def topology(t: Topology) -> list[str]:
    t.diags.extend(_user_refs(t.config))
    users = values.users(t.config)
    declared = {u.name for u in users}
    lines = []
    if "default" not in declared:
        # With users declared, nobody should get in without naming one; with none declared,
        # Redis's own default is written out as is and policy rule PCF404 reports it.
        lines.append("user default off resetpass resetkeys resetchannels -@all"
                     if users else "user default on nopass ~* &* +@all")
    for user in users:
        path = f"redis.users.{user.name}.password"
        words = ["user", user.name, "on" if user.enabled else "off"]
        if user.password is not None:
            password = t.resolve(path, user.password)
            if password is None:
                continue
            words.append(password_hash(password))
        elif user.nopass:
            words.append("nopass")
        words += [f"~{k}" for k in user.keys] + [f"&{c}" for c in user.channels] + user.commands
        lines.append(" ".join(words))
    return lines


def _user_refs(config: Any) -> list[Diagnostic]:
    """A worker's REDIS_URL must name a Redis user that exists and is enabled."""
    usable = {u.name for u in values.users(config) if u.enabled}
    out = []
    for prog in config.workload.programs:
        if prog.redis_user is not None and prog.redis_user not in usable and \
                f"redis.users.{prog.redis_user}" not in config.broken:
            # (a user left out for a mistake of its own is reported there, once)
            path = f"workload.programs.{prog.name}.redis_user"
            out.append(Diagnostic("PCF209", "error",
                                  f"{path} names {prog.redis_user!r}, which is not an enabled "
                                  "user in redis.users", config.spans.get(path), path,
                                  f"declare it under redis.users, or use one of: "
                                  f"{', '.join(sorted(usable)) or '(none declared)'}"))
    return out


def client_env(t: Topology, program: Any) -> dict[str, str]:
    """The URL names the ACL user; the password reaches the worker another way
    (supervisord.conf is not a secret file)."""
    if not program.redis_connections:
        return {}
    user = program.redis_user or _default_user(t.config)
    at = f"{net.url_host(net.connect_host(t.settings, ENDPOINT))}:{net.port(t.settings, ENDPOINT)}/0"
    return {"REDIS_URL": f"redis://{net.url_part(user) + '@' if user else ''}{at}"}


def _default_user(config: Any) -> str | None:
    names = [u.name for u in values.users(config) if u.enabled and u.name != "default"]
    return names[0] if names else None
