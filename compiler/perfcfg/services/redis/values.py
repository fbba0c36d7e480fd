"""Redis values: yes/no booleans, sizes in Redis's own units, lists of arguments.

>>> from perfcfg.services.catalog import load
>>> cat = load("redis", "7.0", case_insensitive=True)
>>> coerce(cat.get("maxmemory"), "256mb")
268435456
>>> fix_it(cat.get("maxmemory"), "2GiB")
"write 2gb (Redis's kb/mb/gb are 1024-based; k/m/g are powers of 1000)"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.core.units import UnitError
from perfcfg.services.catalog import (
    Param,
    as_bool,
    as_enum,
    as_int,
    as_path,
    as_string,
    check_addresses,
    octal,
    ranged,
)
from perfcfg.services.fixit import fix_unit
from perfcfg.services.redis.units import parse_redis_memory

BOOL_HINT = "Redis booleans are yes or no"
ROLES = ("cache", "store")
# Where the server's files are (placement.py): absolute, or Redis resolves them against the
# directory it is started from ("" — no log file, no pid file — stays allowed).
PATH_DIRECTIVES = frozenset({"dir", "logfile", "pidfile", "aclfile"})


def _canonical(param: Param, value: Any) -> Any:
    if param.type == "bool":
        return as_bool(value, {"yes": True, "no": False}, "yes or no")
    if param.type == "enum":
        return as_enum(param, value)
    if param.type == "memory":
        return parse_redis_memory(value)
    if param.type == "integer":
        return as_int(value)
    if param.type == "octal":
        return octal(value)
    if param.type == "list":
        items = [as_string(item) for item in (value if isinstance(value, list) else [value])]
        if param.name == "bind":
            check_addresses([a for item in items for a in item.split()], " ",
                            everywhere=("*", "::*"), optional_prefix="-")
        return items
    if param.name in PATH_DIRECTIVES:
        return as_path(value, "Redis")
    return as_string(value)


coerce = ranged(_canonical)


def role(value: Any) -> str:
    """``redis.role``: perfcfg's own key — cache (evict keys) or store (keep them)."""
    if isinstance(value, str) and value in ROLES:
        return value
    raise UnitError(f"expected one of {', '.join(ROLES)}, got {value!r}")


def unit_hint(param: Param) -> str | None:
    if param.type == "memory":
        return "Redis reads k/m/g as powers of 1000 and kb/mb/gb as powers of 1024"
    return None


def fix_it(param: Param, value: Any) -> str | None:
    if param.name in PATH_DIRECTIVES:
        return "write an absolute path, e.g. /var/lib/redis for dir"
    if param.type != "memory":
        return None
    return fix_unit(value, {"kib": "kb", "mib": "mb", "gib": "gb"},
                    "Redis's kb/mb/gb are 1024-based; k/m/g are powers of 1000")


def users(config: Any) -> list[Any]:
    """The ``redis.users`` records of a validated config (perfcfg's own key)."""
    return list(config.own.get("redis", {}).get("users", []))


def config_role(config: Any) -> str:
    """The cache's role in a validated config: ``redis.role``, cache by default."""
    return str(config.own.get("redis", {}).get("role", "cache"))


def check_users(sets: Mapping[str, Any], key: str, users: list[Any]) -> list[tuple[str, str]]:
    """ACL rules naming a command, subcommand or category this version does not have: Redis
    stops at start on them ("Unknown command or category name in ACL"). Names are compared as
    Redis compares them, without case; ``+cmd|arg`` on a command without subcommands allows
    one first argument, which Redis takes only with ``+``."""
    acl = sets.get("acl")
    if key != "users" or not acl:
        return []
    commands, categories = acl["commands"], set(acl["categories"]) | {"all"}
    out = []
    for user in users:
        for i, rule in enumerate(user.commands):
            problem = _acl_problem(rule, commands, categories)
            if problem:
                out.append((f"{user.name}.commands[{i}]", problem))
    return out


def _acl_problem(rule: str, commands: Mapping[str, list[str]], categories: set[str]
                 ) -> str | None:
    lowered = rule.lower()
    if lowered in ("allcommands", "nocommands"):
        return None
    sign, name = lowered[:1], lowered[1:]
    if name.startswith("@"):
        return None if name[1:] in categories else \
            f"{rule!r}: Redis has no ACL category {name[1:]!r}"
    command, _, sub = name.partition("|")
    if command not in commands:
        return f"{rule!r}: Redis has no command {command!r}"
    if not sub:
        return None
    if commands[command]:
        return None if sub in commands[command] else \
            f"{rule!r}: {command} has no subcommand {sub!r} ({', '.join(commands[command])})"
    return None if sign == "+" else \
        (f"{rule!r}: {command} has no subcommands, and Redis blocks a first argument only "
         "with +, never with -")


def check_value(sets: Mapping[str, Any], param: Param, value: Any) -> None:
    """What this build refuses that its directives' types allow (the catalog's
    ``sets.refused``: ``activedefrag yes`` on a Redis without its own jemalloc)."""
    if param.type == "bool" and isinstance(value, bool):
        said = sets.get("refused", {}).get(param.name, {}).get("yes" if value else "no")
        if said:
            raise UnitError(f"this build refuses it: {said}")
