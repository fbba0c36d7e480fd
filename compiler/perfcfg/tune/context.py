"""The inputs of every tuning rule and the shape of its answer.

Canonical units inside perfcfg (the renderers turn them into each daemon's syntax):

- memory: **bytes** (int) for every daemon;
- PostgreSQL time GUCs: **microseconds** (int) — use :func:`ms` / :func:`seconds`;
- pgbouncer times: **seconds** (float or int), as pgbouncer reads them;
- Redis and supervisor times: seconds (int);
- booleans: Python bool; enums and strings: str; plain numbers: int / float.

>>> Recommendation("postgres.shared_buffers", 4 * GiB, "pg.memory.shared_buffers",
...                "25% of PostgreSQL's memory budget", "budget × 0.25", {"budget": 16 * GiB}).value
4294967296
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

Storage = Literal["hdd", "ssd", "san", "nvme"]
Service = Literal["postgres", "pgbouncer", "redis", "supervisor"]
ALL_SERVICES: frozenset[str] = frozenset({"postgres", "pgbouncer", "redis", "supervisor"})
DbProfile = Literal["web", "oltp", "dw", "mixed", "desktop"]
EnvKind = Literal["development", "staging", "production"]
RedisRole = Literal["cache", "store"]
Layout = Literal["debian", "datadir"]


def ms(n: float) -> int:
    """Milliseconds → perfcfg's canonical PostgreSQL time unit (microseconds)."""
    return int(round(n * 1000))


def seconds(n: float) -> int:
    return int(round(n * 1_000_000))


@dataclass(frozen=True)
class Host:
    memory: int                 # bytes the stack may use (cgroup limit if lower than RAM)
    cpus: int                   # usable CPUs (cgroup quota / cpuset applied, rounded up)
    storage: Storage = "ssd"
    open_files: int = 1024      # soft RLIMIT_NOFILE the daemons start with
    os: str = "linux"           # linux, darwin, freebsd, …: posix_fadvise and huge pages
    wal_disk: int | None = None  # bytes of the disk holding pg_wal; None = unknown


@dataclass(frozen=True)
class Program:
    """One worker program of the workload (a supervisord [program:x] with numprocs)."""

    name: str
    processes: int
    db_connections: int         # client connections each process opens to pgbouncer
    redis_connections: int      # connections each process opens to Redis
    memory: int                 # bytes of RSS per process
    stop_seconds: int | None = None     # graceful-shutdown time (drain); None = perfcfg default
    open_files: int = 0         # files/sockets each process opens besides its db/Redis pools


@dataclass(frozen=True)
class Pool:
    """One pgbouncer pool: a (database, user) pair served to the workers."""

    database: str
    user: str
    clients: int                # client connections the workload opens to this pool
    pool_size: int | None = None        # per-pool pool_size ([databases] pool_size); None = default
    reserve: int | None = None          # [databases] reserve_pool as declared; None = tuned
    mode: str | None = None             # [databases] pool_mode as declared; None = the global one


# What Debian's and PGDG's PostgreSQL packages are built with (modeldef.PostgresBuild).
PG_BUILD_FEATURES: frozenset[str] = frozenset({"lz4", "zstd", "liburing"})


@dataclass(frozen=True)
class Versions:
    postgres: int = 17
    pgbouncer: tuple[int, int] = (1, 24)
    # The Redis release whose directives the cache daemon reads: Redis's own version, or for
    # Valkey the Redis it forked from (7.2), with Valkey's own version in ``valkey``.
    redis: tuple[int, int] = (8, 0)
    supervisor: tuple[int, int] = (4, 3)
    valkey: tuple[int, int] | None = None
    postgres_build: frozenset[str] = PG_BUILD_FEATURES     # features the binaries have


@dataclass(frozen=True)
class Shares:
    """Memory shares stated by the preset: None = auto, an int = bytes, a float = fraction."""

    os_reserve: int | float | None = None
    postgres: int | float | None = None
    redis: int | float | None = None


@dataclass(frozen=True)
class TuneContext:
    env: EnvKind
    host: Host
    programs: tuple[Program, ...]
    pools: tuple[Pool, ...]
    direct_clients: int = 0                 # connections straight to PostgreSQL (migrations, monitoring…)
    db_profile: DbProfile = "web"
    redis_role: RedisRole = "cache"
    redis_persistence: bool = False         # RDB or AOF enabled → fork copy-on-write headroom
    versions: Versions = Versions()
    shares: Shares = Shares()
    # Values the preset fixed (setting path → canonical value). Rules must respect them and
    # size the rest around them, e.g. work_mem from a fixed max_connections.
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # Daemons this host runs (a stand-alone calculator tunes one; a cache-less stack omits redis).
    services: frozenset[str] = ALL_SERVICES
    # Daemons started by supervisord: they inherit its minfds as their fd limit.
    supervised: frozenset[str] = frozenset()
    # Seconds a worker waits for a database answer before giving up; pgbouncer's
    # query_wait_timeout is kept below it. None = unknown.
    client_timeout: float | None = None
    # Bytes of data (tables and indexes) the database holds; None = unknown (assume large).
    data_size: int | None = None
    # Where the daemons' files go on the host (perfcfg.yaml's deploy.layout): debian or datadir.
    layout: Layout = "debian"

    @cached_property
    def worker_processes(self) -> int:
        # cached: rules ask once per program, and summing each time made 10,000 programs O(N²)
        return sum(p.processes for p in self.programs)


@dataclass(frozen=True)
class Recommendation:
    path: str                   # setting path, e.g. "postgres.shared_buffers"
    value: Any                  # canonical value (see module docstring)
    rule: str                   # stable rule id, e.g. "pg.memory.shared_buffers"
    reason: str                 # one line for humans, shown in explain and as a file comment
    formula: str = ""           # e.g. "min(budget × 0.25, 8GiB)"
    inputs: Mapping[str, Any] = field(default_factory=dict)
    deviation: str = ""         # where perfcfg knowingly differs from PGTune, and why
