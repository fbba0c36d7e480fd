"""The checks and constants behind perfcfg's own input structures, free of pydantic.

:mod:`perfcfg.model.spec` declares the structures with pydantic and attaches these functions as
validators; the generated :mod:`perfcfg.model` runs the same functions inside pydantic-core at
run time. Each validator takes the value and returns it (or a converted one), or raises
``ValueError`` with a message that becomes a PCF204 diagnostic.

>>> size("200MiB")
209715200
>>> parse_share("40%")
0.4
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

from perfcfg.core import units

NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"
# a cache ACL user name: letters, digits, _ . - (no spaces, which end an ACL rule)
ACL_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_REF = re.compile(r"^\$\{(env|file):([^}]+)\}$")
SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*(B|KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB)?$"


def size(value: Any) -> int:
    """A size in bytes: an integer, or a string like ``512MiB`` (1024-based)."""
    try:
        return units.parse_size(value)
    except units.UnitError as exc:
        raise ValueError(str(exc)) from None


# One pattern for the JSON Schema (editors) and for parsing: the number, then the unit.
# Prometheus's duration syntax (model.ParseDuration): number-unit pairs such as 90s, 5m or 1h30m.
PROM_DURATION = r"^(?:[0-9]+(?:ms|[ywdhms]))+$"
DURATION_PATTERN = r"^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|min|h)?$"
_DURATION = re.compile(DURATION_PATTERN)
_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, None: 1.0}


def duration(value: Any) -> float:
    """Seconds: a number, or a string like ``10s``, ``500ms``, ``2min`` (at most one day).

    >>> duration("500ms"), duration(10), duration("2min")
    (0.5, 10.0, 120.0)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected seconds or a duration like 10s or 500ms, got {value!r}")
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if isinstance(value, str) and match is None:
        raise ValueError(f"expected a duration like 10s, 500ms or 2min, got {value!r}")
    seconds = float(match.group(1)) * _SECONDS[match.group(2)] if match else float(value)
    if not 0 < seconds <= 86400:
        raise ValueError(f"a timeout must be more than 0 and at most 1 day, got {seconds:g} s")
    return seconds


def env_names(value: dict[str, Any]) -> dict[str, Any]:
    for name in value:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
            raise ValueError(f"environment name {name!r} must be lower-case letters, "
                             "digits, '-' or '_'")
    return value


def host_memory(value: int) -> int:
    if value < 256 * units.MiB:
        raise ValueError("a host needs at least 256MiB of memory")
    return value


def command(value: str | list[str]) -> str | list[str]:
    argv = shlex.split(value) if isinstance(value, str) else value
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise ValueError("command must be a non-empty command line or list of arguments")
    return value


def env_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if not re.fullmatch(ENV_KEY, key):
            raise ValueError(f"environment variable name {key!r} is not valid")
    return value


# Role names PostgreSQL keeps for itself: CREATE ROLE refuses them ("role name … is
# reserved"), even quoted, as roles.sql writes them; other spellings (Public) are ordinary.
RESERVED_ROLES = frozenset({"public", "none"})
RESERVED_ROLE_PREFIX = "pg_"


def role_name(value: str | None) -> str | None:
    """A PostgreSQL role perfcfg creates (roles.sql) or names in pg_hba.conf and userlist.txt.

    >>> role_name("app")
    'app'
    >>> role_name("pg_monitor")
    Traceback (most recent call last):
    ...
    ValueError: 'pg_monitor' is reserved by PostgreSQL: role names starting with pg_ are its own (CREATE ROLE refuses them)
    """
    if value is None:
        return value
    if value in RESERVED_ROLES:
        raise ValueError(f"{value!r} is reserved by PostgreSQL (CREATE ROLE refuses it)")
    if value.startswith(RESERVED_ROLE_PREFIX):
        raise ValueError(f"{value!r} is reserved by PostgreSQL: role names starting with "
                         f"{RESERVED_ROLE_PREFIX} are its own (CREATE ROLE refuses them)")
    return value


# Pseudo file systems: a generated file placed there is never what was meant.
REFUSED_ROOTS = ("/proc", "/sys", "/dev")


def deploy_path(value: str | None) -> str | None:
    """Where a generated file goes on the host: absolute, written once (no ``.``, ``..`` or
    ``//``), a file (no trailing ``/``), never under /proc, /sys or /dev.

    >>> deploy_path("/etc/redis/users.acl")
    '/etc/redis/users.acl'
    >>> deploy_path("/etc/redis/../shadow")
    Traceback (most recent call last):
    ...
    ValueError: '/etc/redis/../shadow' is not written plainly: write '/etc/shadow' (no ., .. or //)
    """
    import posixpath

    if value is None:
        return value
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path")
    if value.endswith(("/", "/.", "/..")):
        raise ValueError(f"{value!r} names a directory: give the file's whole path")
    plain = "/" + posixpath.normpath(value).lstrip("/")   # POSIX keeps a leading //
    if plain != value:
        raise ValueError(f"{value!r} is not written plainly: write {plain!r} (no ., .. or //)")
    for root in REFUSED_ROOTS:
        if value == root or value.startswith(root + "/"):
            raise ValueError(f"{value!r} is under {root}, a pseudo file system: a generated "
                             "file never goes there")
    return value


def pool_name(value: str) -> str:
    if value in ("pgbouncer", "*"):
        raise ValueError(f"{value!r} is reserved by pgbouncer")
    return value


def hba_address(value: str) -> str:
    import ipaddress

    if value in ("local", "samehost", "samenet"):
        return value
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not 'local' or an address in CIDR form "
                         f"like 10.0.0.0/24 ({exc})") from None
    return value


# An ACL file line is split on single spaces with no quoting (Redis's ACL loader), so a rule can
# carry no whitespace, quote or control character; a leading '#', '>' or '<' would be a
# password, which only ``password`` may set.
_ACL_TOKEN = re.compile(r"[!-~]+")
_ACL_FORBIDDEN = re.compile(r"[\s\"'\\]")
_ACL_KEY = re.compile(r"[^~%&].*")
_ACL_CHANNEL = re.compile(r"[^&].*")
# Redis reads command and category names in any case; after ``|`` a subcommand, or (with +)
# a first argument of a command that has none.
_ACL_COMMAND = re.compile(r"[+-](@[a-z]+|[a-z][a-z0-9-]*(\|[!-~]+)?)|allcommands|nocommands",
                          re.IGNORECASE)


def _acl_tokens(values: list[str], what: str, check: re.Pattern[str]) -> list[str]:
    for value in values:
        if any(mark in value for mark in "><#"):
            # Never echo it: it may be a password written in the wrong place.
            raise ValueError(f"a {what} cannot contain '>', '<' or '#': Redis reads those as "
                             "passwords; set the password with password: ${env:…}")
        if not _ACL_TOKEN.fullmatch(value) or _ACL_FORBIDDEN.search(value):
            raise ValueError(f"{what} {value!r} must be one word of printable ASCII without "
                             "quotes or backslashes (Redis ACL files have no quoting)")
        if not check.fullmatch(value):
            raise ValueError(f"{what} {value!r} is not valid here")
    return values


def acl_keys(value: list[str]) -> list[str]:
    return _acl_tokens(value, "key pattern", _ACL_KEY)


def acl_channels(value: list[str]) -> list[str]:
    return _acl_tokens(value, "channel pattern", _ACL_CHANNEL)


def acl_commands(value: list[str]) -> list[str]:
    return _acl_tokens(value, "command rule", _ACL_COMMAND)


def acl_password(value: str | None) -> str | None:
    if value is not None and not value:
        raise ValueError("a password cannot be empty; use nopass: true for no password")
    return value


def waiver_reason(value: str) -> str:
    if not value.strip():
        raise ValueError("a waiver needs a reason: say why the risk is accepted")
    return value


def share(value: str | int) -> str | int:
    parse_share(value)
    return value


def parse_share(value: str | int) -> int | float | None:
    """``auto`` → None, ``40%`` → 0.4, a size → bytes."""
    if value == "auto":
        return None
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = float(value[:-1])
        except ValueError:
            raise ValueError(f"expected a percentage like 40%, got {value!r}") from None
        if not 0 < pct < 100:
            raise ValueError("a share must be between 0% and 100%")
        return pct / 100
    return size(value)


class ProgramMethods:
    """Behaviour of a workload program beyond its fields (mixed into both model classes)."""

    if TYPE_CHECKING:
        command: str | list[str]

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)
