"""Redis sizing: maxmemory from its budget, eviction and persistence by role, I/O threads by
CPUs, and a client limit the fd limit can honour.

>>> from perfcfg.tune.context import Host, Program, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 8, open_files=65536),
...                   (Program("bot", 40, 2, 2, 0),), ())
>>> v = {r.path: r.value for r in recommend(ctx, {})}
>>> v["redis.maxmemory-policy"], v["redis.io-threads"], v["redis.maxclients"]
('allkeys-lfu', 1, 10000)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.services.redis import budget
from perfcfg.services.redis.placement import UNIT_LIMIT_NOFILE
from perfcfg.tune.context import Recommendation, TuneContext
from perfcfg.tune.limits import NOFILE_FLOOR, Need
from perfcfg.tune.util import mib_text, pick, rec

# Redis docs (key eviction): allkeys-lfu keeps the frequently used keys when access follows a
# power law, as bot caches do (a few hot chats, users, settings); LRU would evict a hot key
# after one scan of cold ones. A store must never lose keys: noeviction.
POLICY = {"cache": "allkeys-lfu", "store": "noeviction"}
# redis.conf 7.0: the default save points; a store snapshots as well as appending.
DEFAULT_SAVE = ((3600, 1), (300, 100), (60, 10000))
# redis.conf 7.0 (io-threads): "we only recommend using threaded I/O if you actually have
# performance problems", only with ≥ 4 cores, leaving cores spare, > 8 rarely helps. perfcfg
# switches it on by itself only where one thread's socket I/O becomes the bottleneck: ≥ 8 CPUs
# and ≥ 1000 declared client connections; then Redis takes at most a quarter of the cores of
# a host that also runs PostgreSQL and the workers. A preset can always set it.
IO_THREADS_MIN_CPUS = 8
IO_THREADS_MIN_CLIENTS = 1000
IO_THREADS_SHARE = 4
IO_THREADS_CAP = 8
# Valkey 8.0 rewrote I/O threading (valkey.conf 8.0, io-threads): the main thread hands reads,
# writes and command parsing to I/O threads that it activates with the load and parks when
# idle, and it is meant for multi-core hosts. Redis 7.0's caution (a measured bottleneck, many
# clients) does not apply: from 4 CPUs Valkey gets a quarter of them, at most 8.
VALKEY_ASYNC_IO_SINCE = (8, 0)
VALKEY_IO_THREADS_MIN_CPUS = 4
# redis.conf: Redis needs maxclients + 32 file descriptors (it reserves 32 for itself).
REDIS_RESERVED_FDS = 32
# maxclients: twice the declared clients (a rolling deploy overlaps old and new workers, a leak
# or extra pub/sub connections should not fail hard), never below Redis' default 10000 unless
# the fd limit forces it.
CLIENT_HEADROOM_FACTOR = 2
MAXCLIENTS_DEFAULT = 10000
# Free big keys in a background thread on every path (eviction, expiry, DEL/UNLINK by users,
# FLUSH*, server-side deletes, replica full sync): the main thread never stalls on a big free.
# Valkey 8.0 made all of them the default.
LAZYFREE = ("lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
            "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "replica-lazy-flush")
# tcp-backlog default 511; Linux ≥ 5.4 net.core.somaxconn default 4096 caps any larger value.
TCP_BACKLOG_DEFAULT = 511
SOMAXCONN_DEFAULT = 4096
# redis.conf: timeout 0 keeps idle pooled connections (closing them makes reconnect storms);
# tcp-keepalive 300 (the default since 3.2.1) detects dead peers.
TIMEOUT = 0
TCP_KEEPALIVE = 300


def worker_clients(ctx: TuneContext) -> int:
    return sum(p.sized * p.cache_connections for p in ctx.programs)


def fd_limit(ctx: TuneContext) -> int | None:
    """The fd limit Redis starts with, or None when supervisord raises it to what Redis needs."""
    return None if "redis" in ctx.supervised else ctx.host.open_files


def maxclients(ctx: TuneContext) -> tuple[int, int]:
    """(maxclients, wanted before the fd bound)."""
    clients = worker_clients(ctx)
    wanted = max(MAXCLIENTS_DEFAULT, CLIENT_HEADROOM_FACTOR * clients)
    limit = fd_limit(ctx)
    return (wanted if limit is None else max(1, min(wanted, limit - REDIS_RESERVED_FDS))), wanted


def valkey_async_io(ctx: TuneContext) -> bool:
    valkey = ctx.versions.valkey
    return bool(valkey) and tuple(valkey) >= VALKEY_ASYNC_IO_SINCE


def io_threads(ctx: TuneContext) -> int:
    if ctx.env == "development":
        return 1
    if valkey_async_io(ctx):
        if ctx.host.cpus < VALKEY_IO_THREADS_MIN_CPUS:
            return 1
    elif ctx.host.cpus < IO_THREADS_MIN_CPUS or worker_clients(ctx) < IO_THREADS_MIN_CLIENTS:
        return 1
    return max(2, min(ctx.host.cpus // IO_THREADS_SHARE, IO_THREADS_CAP))


def _memory(ctx: TuneContext) -> list[Recommendation]:
    mm, role = budget.maxmemory(ctx), budget.role(ctx)
    persist = budget.persists(ctx)
    out = [
        rec("redis.maxmemory", mm, "redis.memory.maxmemory",
            f"Redis' budget less fragmentation{' and fork copy-on-write' if persist else ''}: "
            f"{mib_text(mm)}" + (
                f", at most {mib_text(mm)} for a Redis that persists: every save forks, and "
                f"the fork stops the main thread ~{budget.FORK_STALL_MS_PER_GIB}ms per GiB; "
                "shard more data over instances" if budget.held_for_fork(ctx, mm) else ""),
            "(budget.redis − 16MiB) / 1.2 / (2 if persistence else 1), ≤ 16GiB when it persists",
            {"role": role, "persistence": persist}),
        rec("redis.maxmemory-policy", POLICY[role], "redis.memory.policy",
            "a cache evicts its least frequently used keys" if role == "cache"
            else "a store refuses writes rather than silently dropping data",
            "allkeys-lfu for cache, noeviction for store", {"role": role}),
    ]
    # Valkey 8 rule: its defaults already free lazily on every path (the valkey-8.x catalogs
    # say yes): nothing to write, and explain shows the default with the catalog it is from.
    if ctx.versions.valkey:
        return out
    for name in LAZYFREE:
        out.append(rec(f"redis.{name}", True, "redis.memory.lazyfree",
                       "free big keys in a background thread: the main thread never stalls on "
                       "a large free (Valkey 8.0's default)", "yes", {}))
    return out


def _persistence(ctx: TuneContext) -> list[Recommendation]:
    if budget.role(ctx) == "store":
        return [
            rec("redis.appendonly", True, "redis.persistence.appendonly",
                "a store keeps every write in the AOF", "yes for store", {}),
            rec("redis.appendfsync", "everysec", "redis.persistence.appendfsync",
                "fsync once a second: at most one second of writes lost", "everysec", {}),
            rec("redis.save", DEFAULT_SAVE, "redis.persistence.save",
                "RDB snapshots as well, for fast restarts and backups", "Redis 7.0 default", {}),
        ]
    if ctx.facts.get("redis.persistence", False):
        return []
    return [
        rec("redis.save", (), "redis.persistence.save",
            "a pure cache never forks to snapshot, so it never needs twice its memory",
            'save ""', {"persistence": False}),
        rec("redis.appendonly", False, "redis.persistence.appendonly",
            "a cache is rebuilt from the database, not from a log", "no", {}),
    ]


def _clients(ctx: TuneContext) -> list[Recommendation]:
    value, wanted = maxclients(ctx)
    value = int(pick(ctx, "redis.maxclients", value))
    limit = fd_limit(ctx)
    backlog = min(SOMAXCONN_DEFAULT, max(TCP_BACKLOG_DEFAULT,
                                         CLIENT_HEADROOM_FACTOR * worker_clients(ctx)))
    threads = io_threads(ctx)
    return [
        rec("redis.maxclients", value, "redis.clients.maxclients",
            f"cut to the fd limit {limit} − 32 (wanted {wanted}): raise open_files to restore "
            "the headroom" if value < wanted else
            "twice the workers' connections (rolling deploys, leaks, pub/sub), never below "
            "Redis' default 10000",
            "max(10000, 2 × Σ processes × redis_connections), ≤ open_files − 32",
            {"worker_clients": worker_clients(ctx), "fd_limit": limit}),
        rec("redis.tcp-backlog", backlog, "redis.clients.tcp_backlog",
            "all workers may reconnect at once after a restart; ≤ net.core.somaxconn",
            "min(4096, max(511, 2 × worker connections))",
            {"worker_clients": worker_clients(ctx)}),
        rec("redis.timeout", TIMEOUT, "redis.clients.timeout",
            "pooled idle connections stay open (closing them causes reconnect storms)", "0", {}),
        rec("redis.tcp-keepalive", TCP_KEEPALIVE, "redis.clients.tcp_keepalive",
            "detect dead peers in minutes", "300", {}),
        rec("redis.io-threads", threads, "redis.cpu.io_threads",
            f"Valkey 8 rule: its I/O threads wake with the load and park when idle, made for "
            f"multi-core hosts: a quarter of the {ctx.host.cpus} CPUs" if threads > 1
            and valkey_async_io(ctx) else
            f"{worker_clients(ctx)} client connections on {ctx.host.cpus} CPUs: one thread's "
            "socket I/O becomes the bottleneck; a quarter of the cores" if threads > 1 else
            "one thread: Valkey's I/O threads need at least 4 CPUs" if valkey_async_io(ctx)
            and ctx.env != "development" else
            "one thread: Redis advises I/O threads only for a measured bottleneck (perfcfg "
            "turns them on from 8 CPUs and 1000 clients; set io-threads to ask for them)",
            "Valkey ≥ 8: max(2, min(cpus // 4, 8)) from 4 CPUs; Redis: the same if cpus ≥ 8 "
            "and clients ≥ 1000; 1 in development",
            {"cpus": ctx.host.cpus, "clients": worker_clients(ctx), "env": ctx.env,
             "valkey": ctx.versions.valkey}),
        rec("budget.redis_fds", value + REDIS_RESERVED_FDS, "redis.fds",
            "file descriptors Redis needs", "maxclients + 32", {"maxclients": value}),
    ]


def _limits(ctx: TuneContext, fds: int) -> list[Recommendation]:
    packaged = max(NOFILE_FLOOR, UNIT_LIMIT_NOFILE)
    return [rec("systemd.redis.LimitNOFILE", max(packaged, fds), "redis.limits.nofile",
                f"Redis' fd need is {fds} (budget.redis_fds): below it Redis lowers maxclients "
                f"at start and only logs it; never below the package unit's own {packaged}",
                f"max({packaged} (the unit's LimitNOFILE), budget.redis_fds)",
                {"budget.redis_fds": fds})]


def canonical(path: str, value: Any) -> Any:
    """``save`` as the catalog lists it: one "seconds changes" item per save point."""
    if path == "redis.save" and isinstance(value, tuple):
        return [f"{secs} {changes}" for secs, changes in value]
    return value


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    clients = _clients(ctx)
    return _memory(ctx) + _persistence(ctx) + clients + _limits(ctx, clients[-1].value)


def needs(ctx: TuneContext, known: Mapping[str, Any]) -> list[Need]:
    out = [Need("net.core.somaxconn", int(known.get("redis.tcp-backlog", TCP_BACKLOG_DEFAULT)),
                "Redis' tcp-backlog", "redis.tcp-backlog")]
    if budget.persists(ctx) or ctx.facts.get("redis.replicaof"):
        out.append(Need("vm.overcommit_memory", 1,
                        "Redis persists (RDB or AOF): its background save forks, and with the "
                        "kernel's heuristic overcommit the fork of a large Redis can fail "
                        "(Redis warns at start)" if budget.persists(ctx) else
                        "Redis is a replica: promoted at a failover, it forks for its own "
                        "replicas' full syncs, and with the kernel's heuristic overcommit the "
                        "fork of a large Redis can fail (Redis warns at start)",
                        "redis.persistence" if budget.persists(ctx) else "redis.replicaof"))
        out.append(Need("vm.swappiness", 1,
                        "a forked Redis and its parent share their pages until written: a "
                        "swapped-out page stalls the fork and the parent's event loop",
                        "budget.redis"))
    return out
