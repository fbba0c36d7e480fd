"""perfcfg's own input structures, declared with pydantic (unknown keys rejected).

This is the one definition of the project file, the host profile, the workload, databases,
users, direct clients, Redis ACL users, waivers and the memory budget. It feeds three things:
the JSON Schemas for editors (:mod:`perfcfg.cli.schema`), the documentation, and
``scripts/gen_model.py``, which compiles it into :mod:`perfcfg.model` — the classes and
pydantic-core schemas perfcfg runs with, so that ``perfcfg validate`` (a pre-commit hook) does
not pay for importing pydantic and building its models on every commit. The checks themselves
live in :mod:`perfcfg.model.rules` and are shared by both.

Daemon parameters (``postgres.*``, ``pgbouncer.*``, ``redis.*``, ``supervisor.*``) are not
modelled field by field here: they are checked against the catalog of the target daemon
version by :mod:`perfcfg.stages.validate`.

>>> Program.model_validate({"name": "matcher", "command": "python -m bots.matcher",
...                        "processes": 4, "memory": "200MiB"}).memory
209715200
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from perfcfg.core import units
from perfcfg.model import rules
from perfcfg.model.rules import ACL_NAME, DURATION_PATTERN, NAME, SIZE_PATTERN

EnvKind = Literal["development", "staging", "production"]


class Strict(BaseModel):
    # strict: YAML's true is not the number 1 (`cpus: true` must not mean one CPU).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Size = Annotated[int, BeforeValidator(rules.size), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE_PATTERN}],
     "description": "bytes, or a size like 512MiB or 16GiB (1024-based)"})]


Duration = Annotated[float, BeforeValidator(rules.duration), WithJsonSchema(
    {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
               {"type": "string", "pattern": DURATION_PATTERN}],
     "description": "seconds, or a duration like 10s, 500ms or 2min"})]


class PostgresBuild(Strict):
    """What the PostgreSQL binaries were built with. perfcfg assumes Debian's and PGDG's
    packages (lz4, zstd, and liburing from 18 on); a project running another build (an embedded
    or hand-made one) states what it lacks, e.g. ``postgres_build: {lz4: false}``."""

    lz4: bool = True
    zstd: bool = True
    liburing: bool = True
    # Libraries the host adds to the build's own lib directory (its contrib modules are known
    # from the catalog): shared_preload_libraries may name them. Unset: perfcfg warns about
    # a library it does not know, naming the assumption.
    libraries: list[str] | None = None


class Targets(Strict):
    """Daemon versions the files are written for. The cache daemon is Redis or Valkey: name
    one of the two (neither: Redis). The accepted versions are those with a catalog
    (``schemas/catalogs/``); ``perfcfg schema`` lists them."""

    postgres: int = Field(default=17, ge=1, le=99)
    postgres_build: PostgresBuild = PostgresBuild()
    pgbouncer: str = Field(default="1.24", pattern=r"^[0-9]+\.[0-9]+$")
    redis: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    valkey: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    supervisor: str = Field(default="4.3", pattern=r"^[0-9]+\.[0-9]+$")
    # The Prometheus exporters of a monitored environment, pinned like the daemons: the
    # accepted versions are those with a metric catalog (schemas/catalogs/metrics/); unset,
    # the one perfcfg's alert rules are written against.
    postgres_exporter: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    pgbouncer_exporter: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    redis_exporter: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    node_exporter: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")


class EnvironmentDeploy(Strict):
    """An environment's own deploy choices, over the project's ``deploy:`` (each one given
    replaces the project's)."""

    layout: Literal["debian", "datadir"] | None = None
    limits: bool | None = None


class Environment(Strict):
    preset: str
    host: str
    kind: EnvKind | None = None
    output: str | None = Field(None, pattern=r"^[^\x00-\x1f\x7f]+$")
    # Versions this environment runs where they differ from the project's ``targets``: the
    # keys given replace the project's (naming redis or valkey replaces the cache daemon).
    targets: Targets | None = None
    deploy: EnvironmentDeploy | None = None


class Secrets(Strict):
    mode: Literal["resolve", "placeholder"] = "resolve"
    # Directories outside the project that ${file:…} may read (absolute, or relative to the
    # project), e.g. /run/secrets; everything else outside the project is refused.
    dirs: list[str] = []


class PresetSources(Strict):
    # Directories outside the project that ``extends`` may read (absolute, or relative to the
    # project), e.g. a monorepo's shared presets; everything else outside the project is
    # refused (PCF116).
    dirs: list[str] = []


class HostSources(Strict):
    # Directories outside the project that host profiles may be read from (absolute, or
    # relative to the project), e.g. a fleet's shared profiles; a host profile anywhere else
    # outside the project, named in perfcfg.yaml or with --host, is refused (PCF101).
    dirs: list[str] = []


class DeployFile(Strict):
    """Where one generated file goes on the host and who owns it there (manifest.json);
    unset keys keep the Debian package's layout for the target version."""

    path: Annotated[str | None, AfterValidator(rules.deploy_path)] = Field(None, pattern=r"^/")
    owner: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_-]*$")
    group: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_-]*$")
    mode: str | None = Field(None, pattern=r"^0[0-7]{3}$")


class Deploy(Strict):
    """The host side of the generated files. ``layout`` says how PostgreSQL is laid out:
    ``debian`` (postgresql-common's: postgresql.conf and pg_hba.conf in
    ``/etc/postgresql/<v>/main``, the data in ``/var/lib/postgresql/<v>/main``; the default) or
    ``datadir`` (every file inside the data directory, as initdb makes it). ``files``: generated
    file name → where it goes and who owns it."""

    layout: Literal["debian", "datadir"] | None = None
    files: dict[str, DeployFile] = {}
    # Also write the files that put the plan's limits in force on a systemd host: a drop-in
    # per daemon (LimitNOFILE, LimitNPROC) and a sysctl.d file (somaxconn, overcommit, huge
    # pages). Off by default: they are root's files, outside the daemons' own directories.
    limits: bool = False


class ProjectFile(Strict):
    project: str = Field(pattern=NAME)
    output: str = Field("generated/{env}", pattern=r"^[^\x00-\x1f\x7f]+$")
    targets: Targets = Targets()
    secrets: Secrets = Secrets()
    presets: PresetSources = PresetSources()
    hosts: HostSources = HostSources()
    deploy: Deploy = Deploy()
    environments: Annotated[dict[str, Environment], AfterValidator(rules.env_names)] = Field(
        min_length=1)


class HostProfile(Strict):
    memory: Annotated[Size, AfterValidator(rules.host_memory)]
    cpus: int = Field(ge=1, le=4096)
    storage: Literal["hdd", "ssd", "san", "nvme"] = "ssd"
    open_files: int = Field(65536, ge=256)
    # the kernel: I/O prefetching (posix_fadvise) and huge pages exist on Linux only
    os: Literal["linux", "darwin", "freebsd", "openbsd", "netbsd", "windows"] = "linux"
    # size of the disk (or volume) that holds pg_wal; sizes max_wal_size and min_wal_size
    wal_disk: Size | None = None
    # fs.nr_open: the kernel's ceiling on a process's file descriptors (Linux's default);
    # no LimitNOFILE, minfds or maxclients may need more
    nr_open: int = Field(1 << 20, ge=1024)
    # the locales the host has (locale -a): lc_messages and the other lc_* settings must be
    # one of them; unset, perfcfg warns about a locale other than C, POSIX and C.UTF-8
    locales: list[str] | None = None


class Program(rules.ProgramMethods, Strict):
    """A worker program: supervisord runs ``processes`` copies of ``command``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    command: Annotated[str | list[str], AfterValidator(rules.command)]
    processes: int = Field(1, ge=0, le=10000)
    # The most processes it may run without a restart of PostgreSQL, pgbouncer or Redis: the
    # budget (connections, pools, memory, fds, logs) is sized for this many, so scaling within
    # it changes supervisord.conf alone.
    max_processes: int | None = Field(None, ge=1, le=10000)
    db_connections: int = Field(1, ge=0, le=1000)
    redis_connections: int = Field(1, ge=0, le=1000)
    memory: Size = 128 * units.MiB
    # PostgreSQL truncates names to 63 bytes (NAMEDATALEN - 1): a longer one would silently
    # name another role or database.
    database: str | None = Field(None, max_length=63)
    user: Annotated[str | None, AfterValidator(rules.role_name)] = Field(None, max_length=63)
    directory: str | None = None
    run_as: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_-]*$")
    # The run_as user's home directory, given to the program as HOME (supervisord keeps its
    # own, root's, otherwise); default: ``directory``, else /home/<run_as>.
    home: str | None = Field(None, pattern=r"^/")
    redis_user: str | None = Field(None, pattern=ACL_NAME)
    environment: Annotated[dict[str, str | int | float | bool],
                           AfterValidator(rules.env_keys)] = {}
    supervisor: dict[str, Any] = {}


class Headroom(Strict):
    """What the environment's budget is sized for beyond what it declares now, so that growing
    into it (another database, another program) needs reloads and no restart: pooled
    PostgreSQL connections in all (``max_connections`` admits them), worker connections to
    pgbouncer in all (``max_client_conn``), the workers' memory in all."""

    server_connections: int | None = Field(None, ge=1, le=100000)
    client_connections: int | None = Field(None, ge=1, le=1000000)
    worker_memory: Size | None = None


class Workload(Strict):
    db_profile: Literal["web", "oltp", "dw", "mixed", "desktop"] = "web"
    # How long a worker waits for the database before it gives up (its driver's or its own
    # timeout); pgbouncer's query_wait_timeout is kept below it.
    client_timeout: Duration | None = None
    # how much data the database holds (tables and indexes): shared_buffers and
    # effective_cache_size stop at what it needs, leaving the rest to Redis and the workers
    data_size: Size | None = None
    programs: list[Program] = []
    headroom: Headroom | None = None


class Database(Strict):
    """A database served through pgbouncer: one pool per (database, user)."""

    # PostgreSQL truncates identifiers to 63 bytes; pgbouncer 1.18 refuses 64+ in [databases].
    name: Annotated[str, AfterValidator(rules.pool_name)] = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", max_length=63)
    dbname: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", max_length=63)
    user: Annotated[str | None, AfterValidator(rules.role_name)] = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)
    pool_size: int | Literal["auto"] = "auto"
    reserve_pool: int | Literal["auto"] = "auto"
    pool_mode: Literal["session", "transaction", "statement"] | None = None
    # Client connections opened through pgbouncer by something other than the workload's
    # programs (a reporting tool, a dashboard): added to the programs' connections when the
    # pool, its reserve and its max_db_connections are sized.
    clients: int = Field(0, ge=0, le=100000)


class User(Strict):
    """A PostgreSQL role that logs in through pgbouncer (written to userlist.txt)."""

    name: Annotated[str, AfterValidator(rules.role_name)] = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    password: str | None = None
    admin: bool = False
    stats: bool = False
    # Reads only: roles.sql grants CONNECT, USAGE and SELECT, and nothing else.
    readonly: bool = False
    # Databases (names under databases:) it reaches through pgbouncer besides those its
    # programs use; pg_hba.conf lets it into these and no others.
    databases: list[str] = []
    # Server connections it may hold at once through pgbouncer when no program logs in as it
    # (a person, a BI tool, the owner running a migration): pgbouncer's max_user_connections,
    # counted in its databases' caps, so it can never take a program's slots.
    connections: int = Field(2, ge=1, le=10000)


class Client(Strict):
    """A client that connects to PostgreSQL directly, not through pgbouncer."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    user: Annotated[str, AfterValidator(rules.role_name)] = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)
    database: str = Field("all", pattern=r"^[A-Za-z0-9_.-]+$", max_length=63)
    address: Annotated[str, AfterValidator(rules.hba_address)] = "127.0.0.1/32"
    # md5, password and trust are accepted here so that the policy stage can refuse them with
    # a rule code (and a waiver) rather than a bare schema error.
    method: Literal["scram-sha-256", "md5", "password", "trust", "peer", "cert",
                    "reject"] = "scram-sha-256"
    connections: int = Field(1, ge=0, le=10000)
    replication: bool = False


class RedisUser(Strict):
    """A Redis ACL user (``redis.users``), written to the ACL file with a hashed password.

    >>> RedisUser(name="bot", password="${env:P}", keys=["cache:*"], commands=["+@read"]).enabled
    True
    """

    name: str = Field(pattern=ACL_NAME)
    password: Annotated[str | None, AfterValidator(rules.acl_password)] = None
    nopass: bool = False
    enabled: bool = True
    keys: Annotated[list[str], AfterValidator(rules.acl_keys)] = []
    channels: Annotated[list[str], AfterValidator(rules.acl_channels)] = []
    commands: Annotated[list[str], AfterValidator(rules.acl_commands)] = []


class Waiver(Strict):
    """An accepted exception to one security rule or cross-service check (PCF3xx), with the
    reason it is accepted."""

    rule: str = Field(pattern=r"^PCF[34][0-9]{2}$")
    reason: Annotated[str, AfterValidator(rules.waiver_reason)]


class Policy(Strict):
    waivers: list[Waiver] = []


class AlertSetting(Strict):
    """One alert's severity and how long its condition must hold before it fires (``for:``,
    a Prometheus duration such as ``30s``, ``5m`` or ``1h``)."""

    severity: Literal["critical", "warning", "info"] | None = None
    for_: str | None = Field(None, alias="for", pattern=rules.PROM_DURATION)


class AlertWaiver(Strict):
    """An alert this environment does without, with the reason it is accepted."""

    alert: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    reason: Annotated[str, AfterValidator(rules.waiver_reason)]


class Monitoring(Strict):
    """The monitoring files (exporters, scrape config, alert rules and their tests, a dashboard):
    ``enabled`` (default: on for staging and production), each alert's ``severity`` and
    ``for:`` by alert name, and waivers that leave an alert out."""

    enabled: bool | None = None
    alerts: dict[str, AlertSetting] = {}
    waivers: list[AlertWaiver] = []


Share = Annotated[str | int, AfterValidator(rules.share)]


class Budget(Strict):
    """Memory shares: ``auto``, a size (``8GiB``) or a share of the host (``40%``)."""

    os_reserve: Share = "auto"
    postgres: Share = "auto"
    redis: Share = "auto"


# The structures perfcfg validates on its own, in the order scripts/gen_model.py writes them.
MODELS: tuple[type[Strict], ...] = (PostgresBuild, Targets, EnvironmentDeploy, Environment,
                                    Secrets, PresetSources, HostSources, DeployFile, Deploy,
                                    ProjectFile,
                                    HostProfile, Program, Headroom, Workload, Database, User, Client,
                                    RedisUser, Waiver, Policy, AlertSetting, AlertWaiver,
                                    Monitoring, Budget)
