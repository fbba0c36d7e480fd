"""Typed models of perfcfg's own input structures (pydantic, unknown keys rejected).

Daemon parameters (``postgres.*``, ``pgbouncer.*``, ``redis.*``, ``supervisor.*``) are not
modelled field by field here: they are checked against the catalog of the target daemon
version by :mod:`perfcfg.validate`. This module models the rest: the project file, the host
profile, the workload, databases, users and direct clients.

>>> Program.model_validate({"name": "matcher", "command": "python -m bots.matcher",
...                        "processes": 4, "memory": "200MiB"}).memory
209715200
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator
from typing_extensions import Annotated

from perfcfg import units

NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"
REDIS_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_REF = re.compile(r"^\$\{(env|file):([^}]+)\}$")
EnvKind = Literal["development", "staging", "production"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _size(value: Any) -> int:
    try:
        return units.parse_size(value)
    except units.UnitError as exc:
        raise ValueError(str(exc)) from None


SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*(B|KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB)?$"
Size = Annotated[int, BeforeValidator(_size), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE_PATTERN}],
     "description": "bytes, or a size like 512MiB or 16GiB (1024-based)"})]


class Targets(Strict):
    """Daemon versions the files are written for."""

    postgres: int = Field(default=15, ge=10, le=18)
    pgbouncer: str = Field(default="1.18", pattern=r"^1\.[0-9]+$")
    redis: str = Field(default="7.0", pattern=r"^[6-8]\.[0-9]+$")
    supervisor: str = Field(default="4.2", pattern=r"^4\.[0-9]+$")


class Environment(Strict):
    preset: str
    host: str
    kind: EnvKind | None = None
    output: str | None = None


class Secrets(Strict):
    mode: Literal["resolve", "placeholder"] = "resolve"


class ProjectFile(Strict):
    project: str = Field(pattern=NAME)
    output: str = "generated/{env}"
    targets: Targets = Targets()
    secrets: Secrets = Secrets()
    environments: dict[str, Environment] = Field(min_length=1)

    @field_validator("environments")
    @classmethod
    def _env_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                raise ValueError(f"environment name {name!r} must be lower-case letters, "
                                 "digits, '-' or '_'")
        return value


class HostProfile(Strict):
    memory: Size
    cpus: int = Field(ge=1, le=4096)
    storage: Literal["hdd", "ssd", "san", "nvme"] = "ssd"
    open_files: int = Field(65536, ge=256)

    @field_validator("memory")
    @classmethod
    def _enough(cls, value: int) -> int:
        if value < 256 * units.MiB:
            raise ValueError("a host needs at least 256MiB of memory")
        return value


class Program(Strict):
    """A worker program: supervisord runs ``processes`` copies of ``command``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    command: str | list[str]
    processes: int = Field(1, ge=0, le=10000)
    db_connections: int = Field(1, ge=0, le=1000)
    redis_connections: int = Field(1, ge=0, le=1000)
    memory: Size = 128 * units.MiB
    database: str | None = None
    user: str | None = None
    directory: str | None = None
    run_as: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_-]*$")
    redis_user: str | None = Field(None, pattern=REDIS_NAME)
    environment: dict[str, str | int | float | bool] = {}
    supervisor: dict[str, Any] = {}

    @field_validator("command")
    @classmethod
    def _argv(cls, value: str | list[str]) -> str | list[str]:
        argv = shlex.split(value) if isinstance(value, str) else value
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise ValueError("command must be a non-empty command line or list of arguments")
        return value

    @field_validator("environment")
    @classmethod
    def _env_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.fullmatch(ENV_KEY, key):
                raise ValueError(f"environment variable name {key!r} is not valid")
        return value

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)


class Workload(Strict):
    db_profile: Literal["web", "oltp", "dw", "mixed", "desktop"] = "web"
    programs: list[Program] = []


class Database(Strict):
    """A database served through pgbouncer: one pool per (database, user)."""

    # PostgreSQL truncates identifiers to 63 bytes; pgbouncer 1.18 refuses 64+ in [databases].
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=63)
    dbname: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", max_length=63)
    user: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    pool_size: int | Literal["auto"] = "auto"
    reserve_pool: int | Literal["auto"] = "auto"
    pool_mode: Literal["session", "transaction", "statement"] | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in ("pgbouncer", "*"):
            raise ValueError(f"{value!r} is reserved by pgbouncer")
        return value


class User(Strict):
    """A PostgreSQL role that logs in through pgbouncer (written to userlist.txt)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    password: str | None = None
    admin: bool = False
    stats: bool = False


class Client(Strict):
    """A client that connects to PostgreSQL directly, not through pgbouncer."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    user: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    database: str = Field("all", pattern=r"^[A-Za-z0-9_.-]+$")
    address: str = "127.0.0.1/32"
    # md5, password and trust are accepted here so that the policy stage can refuse them with
    # a rule code (and a waiver) rather than a bare schema error.
    method: Literal["scram-sha-256", "md5", "password", "trust", "peer", "cert",
                    "reject"] = "scram-sha-256"
    connections: int = Field(1, ge=0, le=10000)
    replication: bool = False

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        import ipaddress

        if value in ("local", "samehost", "samenet"):
            return value
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not 'local' or an address in CIDR form "
                             f"like 10.0.0.0/24 ({exc})") from None
        return value


# An ACL file line is split on single spaces with no quoting (research §4.3), so a rule can
# carry no whitespace, quote or control character; a leading '#', '>' or '<' would be a
# password, which only ``password`` may set.
_ACL_TOKEN = re.compile(r"[!-~]+")
_ACL_FORBIDDEN = re.compile(r"[\s\"'\\]")


def _acl_tokens(values: list[str], what: str, check: "re.Pattern[str]") -> list[str]:
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


class RedisUser(Strict):
    """A Redis ACL user (``redis.users``), written to the ACL file with a hashed password.

    >>> RedisUser(name="bot", password="${env:P}", keys=["cache:*"], commands=["+@read"]).enabled
    True
    """

    name: str = Field(pattern=REDIS_NAME)
    password: str | None = None
    nopass: bool = False
    enabled: bool = True
    keys: list[str] = []
    channels: list[str] = []
    commands: list[str] = []

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        return _acl_tokens(value, "key pattern", re.compile(r"[^~%&].*"))

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return _acl_tokens(value, "channel pattern", re.compile(r"[^&].*"))

    @field_validator("commands")
    @classmethod
    def _commands(cls, value: list[str]) -> list[str]:
        return _acl_tokens(value, "command rule",
                           re.compile(r"[+-](@[a-z]+|[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)?)"
                                      r"|allcommands|nocommands"))

    @field_validator("password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("a password cannot be empty; use nopass: true for no password")
        return value


class Waiver(Strict):
    """An accepted exception to one security rule or cross-service check (PCF3xx), with the
    reason it is accepted."""

    rule: str = Field(pattern=r"^PCF[34][0-9]{2}$")
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason: say why the risk is accepted")
        return value


class Policy(Strict):
    waivers: list[Waiver] = []


class Budget(Strict):
    """Memory shares: ``auto``, a size (``8GiB``) or a share of the host (``40%``)."""

    os_reserve: str | int = "auto"
    postgres: str | int = "auto"
    redis: str | int = "auto"

    @field_validator("os_reserve", "postgres", "redis")
    @classmethod
    def _share(cls, value: str | int) -> str | int:
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
    return _size(value)
