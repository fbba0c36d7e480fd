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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

Storage = Literal["hdd", "ssd", "san", "nvme"]
DbProfile = Literal["web", "oltp", "dw", "mixed", "desktop"]
EnvKind = Literal["development", "staging", "production"]
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
    nr_open: int = 1 << 20      # fs.nr_open: no process may have more fds (Linux's default)


@dataclass(frozen=True)
class Program:
    """One worker program of the workload (a supervisord [program:x] with numprocs)."""

    name: str
    processes: int
    db_connections: int         # client connections each process opens to the database
    cache_connections: int      # connections each process opens to the cache
    memory: int                 # bytes of RSS per process
    stop_seconds: int | None = None     # graceful-shutdown time (drain); None = perfcfg default
    open_files: int = 0         # files/sockets each process opens besides its db/cache pools
    ceiling: int = 0            # max_processes: what the budget is sized for (0: processes)

    @property
    def sized(self) -> int:
        """The processes the budget is sized for: the declared ceiling, or more if it runs
        more (beyond its ceiling the budget follows the program)."""
        return max(self.processes, self.ceiling)


@dataclass(frozen=True)
class Headroom:
    """What the budget is sized for at least, whatever the workload declares now (None: what
    it declares)."""

    server_connections: int | None = None     # pooled PostgreSQL connections in all
    client_connections: int | None = None     # worker connections to pgbouncer in all
    worker_memory: int | None = None          # the workers' RSS in all, bytes


@dataclass(frozen=True)
class Pool:
    """One connection pool: a (database, user) pair served to the workers."""

    database: str
    user: str
    clients: int                # client connections the workload opens to this pool
    pool_size: int | None = None        # per-pool pool_size as declared; None = default
    reserve: int | None = None          # reserve_pool as declared; None = tuned
    mode: str | None = None             # pool_mode as declared; None = the global one
    # A user no program logs in as (a person, a BI tool): at most this many server connections
    # (pgbouncer's max_user_connections); None = a program's pool, sized for its clients.
    cap: int | None = None


class _Named(Mapping[str, Any]):
    """Name → value, read as attributes too (``versions.pgbouncer``); a name not given falls
    back to the default its service declared (:meth:`declare`)."""

    DEFAULTS: ClassVar[dict[str, Any]]

    def __init__(self, **values: Any) -> None:
        self._values = values

    @classmethod
    def declare(cls, name: str, default: Any) -> None:
        """A service's default for ``name``, used where a context does not give one."""
        cls.DEFAULTS.setdefault(name, default)

    def _merged(self) -> dict[str, Any]:
        return {**self.DEFAULTS, **self._values}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        merged = self._merged()
        if name not in merged:
            raise AttributeError(f"no {type(self).__name__.lower()} entry {name!r}")
        return merged[name]

    def __getitem__(self, name: str) -> Any:
        return self._merged()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._merged()))

    def __len__(self) -> int:
        return len(self._merged())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


class Versions(_Named):
    """The version of each daemon its tuning rules read, by service (``postgres=17``,
    ``pgbouncer=(1, 24)``) and the build facts a service keeps beside it; each service
    declares its default."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}


class Shares(_Named):
    """Memory shares stated by the preset, by budget part (``os_reserve`` or a service):
    None = auto, an int = bytes, a float = fraction of the host."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def of(self, name: str) -> int | float | None:
        return self._merged().get(name)


@dataclass(frozen=True)
class TuneContext:
    env: EnvKind
    host: Host
    programs: tuple[Program, ...]
    pools: tuple[Pool, ...]
    direct_clients: int = 0                 # connections straight to the database (migrations, monitoring…)
    db_profile: DbProfile = "web"
    versions: Versions = Versions()
    shares: Shares = Shares()
    # Values the preset fixed (setting path → canonical value). Rules must respect them and
    # size the rest around them, e.g. work_mem from a fixed max_connections.
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # Services this host runs (a stand-alone calculator tunes one; a cache-less stack omits
    # the cache). None: every service registered.
    services: frozenset[str] | None = None
    # Services started by the one that runs the workload: they inherit its fd limit.
    supervised: frozenset[str] = frozenset()
    # Seconds a worker waits for a database answer before giving up; the pooler's queue wait
    # is kept below it. None = unknown.
    client_timeout: float | None = None
    # Bytes of data (tables and indexes) the database holds; None = unknown (assume large).
    data_size: int | None = None
    # Where the daemons' files go on the host (perfcfg.yaml's deploy.layout): debian or datadir.
    layout: Layout = "debian"
    # perfcfg.yaml's deploy.limits: the build also writes the systemd drop-ins and the sysctl.d
    # file, so a kernel setting the plan needs (vm.nr_hugepages) is part of the deployment.
    limits: bool = False
    # What a service states about itself for its rules (``"<service>.<fact>"`` → value), e.g.
    # the cache's role; each service reads its own with a default.
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Each service's claim on the host's memory (tune.budget.Part), in service order.
    parts: tuple[Any, ...] = ()
    headroom: Headroom = Headroom()

    @cached_property
    def worker_processes(self) -> int:
        """The worker processes the budget is sized for (each program's ceiling)."""
        # cached: rules ask once per program, and summing each time made 10,000 programs O(N²)
        return sum(p.sized for p in self.programs)

    @cached_property
    def worker_memory(self) -> int:
        """The workers' memory the budget keeps: each program's ceiling at its RSS, at least
        the environment's headroom."""
        return max(sum(p.sized * p.memory for p in self.programs),
                   self.headroom.worker_memory or 0)

    def runs(self, service: str) -> bool:
        """Does this host run ``service``?"""
        return self.services is None or service in self.services


@dataclass(frozen=True)
class Recommendation:
    path: str                   # setting path, e.g. "postgres.shared_buffers"
    value: Any                  # canonical value (see module docstring)
    rule: str                   # stable rule id, e.g. "pg.memory.shared_buffers"
    reason: str                 # one line for humans, shown in explain and as a file comment
    formula: str = ""           # e.g. "min(budget × 0.25, 8GiB)"
    inputs: Mapping[str, Any] = field(default_factory=dict)
    deviation: str = ""         # where perfcfg knowingly differs from PGTune, and why
