"""pgbouncer sizing: pool mode, pool sizes, client limit, timeouts and the fd need.

Every declared database gets its own ``pool_size``, ``reserve_pool`` and ``max_db_connections``
in ``[databases]``, derived from the clients declared for it (the workload's programs and the
database's own ``clients``) and its pool mode, so one pool can never take another's server
connections; PostgreSQL's ``max_connections`` is then exactly the sum of those caps plus the
direct clients and the reserved slots.

A transaction-mode pool is sized from the work the host can do at once: active backends ≈
2 × cores + spindles for read-mostly work; commit-bound OLTP backends also wait on the WAL
flush, so more of them keep the CPUs busy. A session-mode pool holds one server connection per
client for the whole session, so it is exactly its declared clients.

>>> from perfcfg.tune.context import Host, Pool, Program, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (Program("bot", 40, 2, 1, 0),),
...                   (Pool("app", "bot", 80), Pool("report", "bi", 2, mode="session")))
>>> [(d.database, d.size, d.reserve, d.cap) for d in database_pools(ctx, {})]
[('app', 8, 2, 10), ('report', 2, 0, 2)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfcfg.services.pgbouncer import backend
from perfcfg.tune import budget
from perfcfg.tune.context import MiB, Pool, Recommendation, TuneContext
from perfcfg.tune.limits import NOFILE_FLOOR, Need
from perfcfg.tune.util import ceil_div, floor_to, pick, rec

# PostgreSQL wiki "Number Of Database Connections": connections = (core_count × 2) +
# effective_spindle_count. SSD/NVMe have no seek queue to fill, so they add no spindle.
ACTIVE_CONNECTIONS_PER_CORE = 2
EFFECTIVE_SPINDLES = {"hdd": 1, "san": 1, "ssd": 0, "nvme": 0}
# Commit-bound work (oltp: every transaction waits for its WAL flush with synchronous_commit
# on) keeps a backend off the CPU for about the flush time, so more backends are needed to keep
# the CPUs busy: the extra fraction per storage class follows the flush latency (a rotating or
# networked disk waits milliseconds, NVMe tens of microseconds).
COMMIT_BOUND_PROFILES = frozenset({"oltp"})
COMMIT_WAIT_FACTOR = {"hdd": 2.0, "san": 2.0, "ssd": 1.0, "nvme": 0.5}
# bench/README.md (experiment B, 2 CPUs): a pool of 10 gave 1.26× stock TPC-B-like TPS where
# 5 gave 1.04×: below 10 a commit-bound pool leaves the disk's group commit idle.
COMMIT_BOUND_POOL_MIN = 10
# Below 5 server connections one slow transaction already makes the other clients queue.
POOL_SIZE_MIN = 5
# Each active backend needs memory of its own (its base, work_mem for a few nodes, its share
# of the page cache): PostgreSQL's budget (the host's memory before it is split) gives at
# most one per 32MiB, whatever the CPU count.
HOST_MEMORY_PER_ACTIVE = 32 << 20
# Reserve: a quarter of the pool for bursts, at least 1 (pgbouncer default is 0, doc/config.md).
RESERVE_FRACTION = 4
RESERVE_MIN = 1
# pgbouncer default reserve_pool_timeout is 5 s; bots retry fast, so take the reserve after 3 s.
RESERVE_POOL_TIMEOUT = 3.0
# Client limit: a deploy that overlaps old and new workers doubles the clients for a while,
# and a connection leak should queue, not fail hard; never below pgbouncer's own default
# max_client_conn (100, doc/config.md) unless the fd limit forces it.
CLIENT_HEADROOM_FACTOR = 2
MAX_CLIENT_CONN_DEFAULT = 100
# src/main.c check_limits(): max_client_conn + 10 + Σ pool sizes.
FD_FIXED_OVERHEAD = 10
# doc/config.md: idle_transaction_timeout default 0 (off); a stuck worker would pin a server
# connection forever. Development keeps interactive sessions alive longer.
IDLE_TRANSACTION_TIMEOUT = {"development": 300.0, "staging": 60.0, "production": 60.0}
# doc/config.md: query_wait_timeout default 120 s; bots should fail fast and retry.
QUERY_WAIT_TIMEOUT = 30.0
# doc/config.md: a pool waiting on max_db_connections only gets a slot after another pool's
# idle server connection closes (server_idle_timeout, default 600 s). Only pools that share a
# database's cap can wait that way; otherwise closing idle connections early is reconnect churn.
SERVER_IDLE_TIMEOUT_SHARED = 60.0
SERVER_IDLE_TIMEOUT_DEFAULT = 600.0
# doc/config.md: server_login_retry default 15 s. After a failed server login (PostgreSQL
# shutting down or starting up during a restart) pgbouncer fails every client login of the
# pool with the cached error until it tries again: tests/test_short_restarts.py measured
# 15.1 s of failed logins for a 0.2 s restart with the default, 0.6 s with 0.5 s. Two login
# attempts a second while PostgreSQL is really down cost it nothing.
SERVER_LOGIN_RETRY = 0.5
# max_prepared_statements exists from 1.21; 200 is the 1.24 default (doc/config.md).
PREPARED_STATEMENTS_SINCE = (1, 21)
MAX_PREPARED_STATEMENTS = 200
# pgbouncer's own defaults (src/main.c config table): what a key left unwritten means.
DEFAULT_POOL_SIZE = 20
DEFAULT_POOL_MODE = "transaction"


def worker_db_clients(ctx: TuneContext) -> int:
    """The workers' connections to pgbouncer, each program at its ceiling (max_processes)."""
    return sum(p.sized * p.db_connections for p in ctx.programs)


def declared_clients(ctx: TuneContext) -> int:
    return max(worker_db_clients(ctx), sum(p.clients for p in ctx.pools),
               ctx.headroom.client_connections or 0)


def _fd_room(ctx: TuneContext, settings: Mapping[str, Any]) -> int | None:
    """Client connections pgbouncer's fd limit leaves after its pools, or None when supervisord
    raises the limit to what pgbouncer needs."""
    if "pgbouncer" in ctx.supervised:
        return None
    pools = sum(d.cap for d in database_pools(ctx, settings))
    return ctx.host.open_files - FD_FIXED_OVERHEAD - pools


def client_limit(ctx: TuneContext, settings: Mapping[str, Any] | None = None
                 ) -> tuple[int, int]:
    """(max_client_conn, wanted before the fd bound)."""
    clients = declared_clients(ctx)
    wanted = max(MAX_CLIENT_CONN_DEFAULT, CLIENT_HEADROOM_FACTOR * clients)
    room = _fd_room(ctx, settings or {})
    return (wanted if room is None else max(clients, min(wanted, room))), wanted


def max_client_conn(ctx: TuneContext, settings: Mapping[str, Any] | None = None) -> int:
    return int(pick(ctx, "pgbouncer.max_client_conn", client_limit(ctx, settings)[0]))


def cpu_target(ctx: TuneContext) -> int:
    return ACTIVE_CONNECTIONS_PER_CORE * ctx.host.cpus + EFFECTIVE_SPINDLES[ctx.host.storage]


def active_target(ctx: TuneContext, settings: Mapping[str, Any] | None = None) -> int:
    """Server connections that keep the host's CPUs (and, commit-bound, its disk) busy."""
    target = cpu_target(ctx)
    if ctx.db_profile in COMMIT_BOUND_PROFILES:
        waiting = int(target * COMMIT_WAIT_FACTOR[ctx.host.storage])
        target = max(COMMIT_BOUND_POOL_MIN, target + waiting)
    memory = int((settings or {}).get(backend.BUDGET, ctx.host.memory))
    return min(target, max(POOL_SIZE_MIN, memory // HOST_MEMORY_PER_ACTIVE))


def global_mode(ctx: TuneContext, settings: Mapping[str, Any] | None = None) -> str:
    known = {**(settings or {}), **ctx.fixed}
    return str(known.get("pgbouncer.pool_mode", DEFAULT_POOL_MODE))


def _mode(ctx: TuneContext, pool: Pool, settings: Mapping[str, Any]) -> str:
    return pool.mode or global_mode(ctx, settings)


def _transaction_share(ctx: TuneContext, settings: Mapping[str, Any]) -> int:
    """Each program's transaction-mode pool's share of the host's active target (a capped
    user's pool takes its few connections from the cap, not from the share)."""
    sharing = [p for p in ctx.pools if _mode(ctx, p, settings) != "session" and p.cap is None]
    if ctx.env == "development":
        return POOL_SIZE_MIN
    return max(POOL_SIZE_MIN, ceil_div(active_target(ctx, settings), max(1, len(sharing))))


@dataclass(frozen=True)
class DatabasePools:
    """One ``[databases]`` entry: its pools (one per user) and what each may open."""

    database: str
    users: tuple[str, ...]
    mode: str
    clients: int            # the busiest pool's declared clients
    size: int               # pool_size, per (database, user) pool
    reserve: int            # reserve_pool, per pool
    size_declared: bool     # pool_size written by a person (Database.pool_size)
    reserve_declared: bool
    capped: tuple[tuple[str, int], ...] = ()    # (user, max_user_connections) no program uses

    @property
    def cap(self) -> int:
        """max_db_connections: every program's pool full, reserve included, and what each
        capped user may hold: no user can take a program's slots."""
        full = self.size + self.reserve
        return full * (len(self.users) - len(self.capped)) + \
            sum(min(full, n) for _, n in self.capped)


def _tuned_size(ctx: TuneContext, mode: str, clients: int, share: int) -> int:
    if mode == "session":
        # one server connection per client for the whole session: fewer would make a client
        # wait for another's disconnect, more could never be used by the declared clients
        return max(1, clients)
    if "pgbouncer.default_pool_size" in ctx.fixed:
        return int(ctx.fixed["pgbouncer.default_pool_size"])
    return max(1, min(share, clients)) if clients else share


def _tuned_reserve(ctx: TuneContext, mode: str, clients: int, size: int) -> int:
    if mode == "session":
        return 0
    if "pgbouncer.reserve_pool_size" in ctx.fixed:
        return int(ctx.fixed["pgbouncer.reserve_pool_size"])
    reserve = max(RESERVE_MIN, ceil_div(size, RESERVE_FRACTION))
    # slots beyond the declared clients could only serve clients nobody declared
    return min(reserve, max(0, clients - size)) if clients else reserve


def database_pools(ctx: TuneContext, settings: Mapping[str, Any]) -> list[DatabasePools]:
    """Per database: pool size, reserve and cap, from its declared clients and pool mode."""
    share = _transaction_share(ctx, settings)
    by_db: dict[str, list[Pool]] = {}
    for pool in ctx.pools:
        by_db.setdefault(pool.database, []).append(pool)
    out = []
    for name, pools in by_db.items():
        first = next((p for p in pools if p.cap is None), pools[0])
        mode = _mode(ctx, first, settings)
        clients = max(p.clients for p in pools if p.cap is None or p is first)
        size = first.pool_size if first.pool_size is not None else \
            _tuned_size(ctx, mode, clients, share)
        reserve = first.reserve if first.reserve is not None else \
            _tuned_reserve(ctx, mode, clients, size)
        users = tuple(sorted({p.user for p in pools}))
        capped = tuple(sorted((p.user, p.cap) for p in pools if p.cap is not None
                              and p is not first))
        out.append(DatabasePools(name, users, mode, clients, size, reserve,
                                 first.pool_size is not None, first.reserve is not None,
                                 capped))
    return out


def db_path(database: str, key: str) -> str:
    return f"pgbouncer.databases.{database}.{key}"


def _effective(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Per database: (Σ pools' size + reserve, cap or 0) as the settings will run them."""
    size_all = int(settings.get("pgbouncer.default_pool_size", DEFAULT_POOL_SIZE))
    reserve_all = int(settings.get("pgbouncer.reserve_pool_size", 0))
    cap_all = int(settings.get("pgbouncer.max_db_connections", 0) or 0)
    out: dict[str, tuple[int, int]] = {}
    for pool in pools:
        size = pool.pool_size if pool.pool_size is not None else \
            int(settings.get(db_path(pool.database, "pool_size"), size_all))
        reserve = pool.reserve if pool.reserve is not None else \
            int(settings.get(db_path(pool.database, "reserve_pool"), reserve_all))
        cap = int(settings.get(db_path(pool.database, "max_db_connections"), cap_all) or 0)
        full, _ = out.get(pool.database, (0, cap))
        held = size + reserve if pool.cap is None else min(size + reserve, pool.cap)
        out[pool.database] = (full + held, cap)
    return out


def slots_by_database(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> dict[str, int]:
    """Server connections pgbouncer can open per database: its pools full, within its cap."""
    return {db: min(full, cap) if cap > 0 else full
            for db, (full, cap) in _effective(pools, settings).items()}


def server_slots(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> int:
    """Σ over databases of min(Σ pool slots, max_db_connections) — what PostgreSQL must admit."""
    return sum(slots_by_database(pools, settings).values())


def fd_need(pools: tuple[Pool, ...], settings: Mapping[str, Any]) -> int:
    """check_limits() in src/main.c (max_client_conn + 10 + Σ pool sizes) plus reserve pools."""
    pools_total = sum(full for full, _ in _effective(pools, settings).values())
    return int(settings.get("pgbouncer.max_client_conn", 100)) + FD_FIXED_OVERHEAD + pools_total


def _database_recs(ctx: TuneContext, dbs: list[DatabasePools], prior: Mapping[str, Any]
                   ) -> list[Recommendation]:
    out = []
    target = active_target(ctx, prior)
    commit = ctx.db_profile in COMMIT_BOUND_PROFILES
    work = (f"{target} active backends keep {ctx.host.cpus} CPU(s)"
            + (f" and the {ctx.host.storage} WAL flush busy (commit-bound {ctx.db_profile})"
               if commit else f" busy ({ctx.db_profile})"))
    for d in dbs:
        inputs = {"mode": d.mode, "clients": d.clients, "users": list(d.users)}
        if not d.size_declared:
            if d.mode == "session":
                why = f"session mode: each of its {d.clients} declared clients holds a server " \
                      "connection for its whole session"
                formula = "declared clients (session mode)"
            elif ctx.env == "development":
                why = f"development: {POOL_SIZE_MIN} server connections are plenty for a " \
                      "laptop's few workers"
                formula = f"min({POOL_SIZE_MIN}, clients) in development"
            else:
                why = f"{work}, split over the transaction pools; never more than its " \
                      f"{d.clients} declared clients"
                formula = ("min(max(10, (2 × cpus + spindles) × (1 + commit wait)) ≤ budget / "
                           "32MiB, split over the transaction pools, clients)" if commit else
                           "min(max(5, (2 × cpus + spindles) ≤ budget / 32MiB, split over the "
                           "transaction pools), clients)")
            out.append(rec(db_path(d.database, "pool_size"), d.size, "pgbouncer.pool.db_pool_size",
                           why, formula, {**inputs, "cpus": ctx.host.cpus,
                                          "storage": ctx.host.storage, "active_target": target}))
        if not d.reserve_declared:
            why = ("session mode: the pool already has a connection per declared client"
                   if d.mode == "session" else
                   "a quarter of the pool absorbs bursts after reserve_pool_timeout, within "
                   "the declared clients")
            out.append(rec(db_path(d.database, "reserve_pool"), d.reserve,
                           "pgbouncer.pool.db_reserve_pool", why,
                           "0 (session) else min(max(1, ceil(pool_size / 4)), clients − "
                           "pool_size)", {**inputs, "pool_size": d.size}))
        capped = f" and {', '.join(f'{u} {n}' for u, n in d.capped)} for its capped users" \
            if d.capped else ""
        out.append(rec(db_path(d.database, "max_db_connections"), d.cap,
                       "pgbouncer.pool.db_max_db_connections",
                       f"hard cap: its {len(d.users) - len(d.capped)} program pool(s) full with "
                       f"their reserve{capped}; no pool can take another database's PostgreSQL "
                       "slots",
                       "(pool_size + reserve_pool) × program users + Σ capped users' "
                       "max_user_connections",
                       {**inputs, "pool_size": d.size, "reserve_pool": d.reserve,
                        "capped": dict(d.capped)}))
    for user, limit in sorted({(p.user, p.cap) for p in ctx.pools if p.cap is not None}):
        out.append(rec(f"pgbouncer.users.{user}.max_user_connections", limit,
                       "pgbouncer.pool.max_user_connections",
                       f"no program logs in as {user}: at most {limit} server connections in "
                       "all, counted in its databases' caps, so it cannot take a program's "
                       "slots", "users.<name>.connections", {"connections": limit}))
    return out


def _pool_recs(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    dbs = database_pools(ctx, prior)
    share = _transaction_share(ctx, prior)
    size = int(pick(ctx, "pgbouncer.default_pool_size",
                    max((d.size for d in dbs), default=share)))
    reserve = int(pick(ctx, "pgbouncer.reserve_pool_size",
                       max((d.reserve for d in dbs), default=RESERVE_MIN)))
    fallback = "fallback for a database without its own line (each declared database has one)"
    out = [
        rec("pgbouncer.pool_mode", DEFAULT_POOL_MODE, "pgbouncer.pool_mode",
            "many workers running short transactions share few server connections",
            "transaction", {"worker_processes": ctx.worker_processes}),
        rec("pgbouncer.default_pool_size", size, "pgbouncer.pool.default_pool_size",
            f"{fallback}: the largest pool", "max over databases of pool_size",
            {"pools": len(ctx.pools), "active_target": active_target(ctx, prior),
             "env": ctx.env}),
        rec("pgbouncer.reserve_pool_size", reserve, "pgbouncer.pool.reserve_pool_size",
            f"{fallback}: the largest reserve", "max over databases of reserve_pool",
            {"default_pool_size": size}),
        rec("pgbouncer.reserve_pool_timeout", RESERVE_POOL_TIMEOUT,
            "pgbouncer.pool.reserve_pool_timeout",
            "open reserve connections after 3 s of waiting instead of 5", "3.0", {}),
    ]
    if dbs:
        out.append(rec("pgbouncer.max_db_connections", max(d.cap for d in dbs),
                       "pgbouncer.pool.max_db_connections",
                       f"{fallback}: the largest per-database cap",
                       "max over databases of max_db_connections",
                       {"caps": {d.database: d.cap for d in dbs}}))
    return out + _database_recs(ctx, dbs, prior)


# doc/config.md: listen_backlog default 128. Every client may reconnect at once (a restart, a
# deploy), as Redis' tcp-backlog is raised for the same workers; pgbouncer reads the backlog
# only at start, so it is not sized from max_client_conn (scaling the workers would then need a
# restart): Linux ≥ 5.4's net.core.somaxconn default, 4096, which cuts any larger one anyway.
LISTEN_BACKLOG_DEFAULT = 128
SOMAXCONN_DEFAULT = 4096


def _backlog(ctx: TuneContext, clients: int) -> Recommendation:
    return rec("pgbouncer.listen_backlog", SOMAXCONN_DEFAULT, "pgbouncer.clients.listen_backlog",
               f"all {clients} clients (max_client_conn) may reconnect at once after a restart: "
               "the kernel queues them instead of refusing the overflow; the kernel's 4096 "
               "(net.core.somaxconn), fixed so that scaling the workers stays a reload",
               "4096 (Linux ≥ 5.4's somaxconn; pgbouncer reads it only at start)",
               {"max_client_conn": clients})


def _client_recs(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    value, wanted = client_limit(ctx, prior)
    cut = value < wanted
    return [_backlog(ctx, int(pick(ctx, "pgbouncer.max_client_conn", value))), rec("pgbouncer.max_client_conn", value, "pgbouncer.clients.max_client_conn",
                f"cut to what the fd limit {ctx.host.open_files} leaves after the pools "
                f"(wanted {wanted}): raise open_files to restore the headroom" if cut else
                "twice the declared clients (a rolling deploy overlaps old and new workers; a "
                "leak queues instead of failing), never below pgbouncer's default 100",
                "max(100, 2 × declared clients), ≤ open_files − 10 − Σ pool caps "
                "(never below the declared clients)",
                {"worker_clients": worker_db_clients(ctx),
                 "pool_clients": sum(p.clients for p in ctx.pools),
                 "fd_limit": None if "pgbouncer" in ctx.supervised else ctx.host.open_files})]


def _timeout_recs(ctx: TuneContext) -> list[Recommendation]:
    wait = QUERY_WAIT_TIMEOUT
    if ctx.client_timeout is not None:
        wait = max(1.0, min(wait, ctx.client_timeout / 2))
    idle_tx = IDLE_TRANSACTION_TIMEOUT[ctx.env]
    return [
        rec("pgbouncer.idle_transaction_timeout", idle_tx,
            "pgbouncer.timeouts.idle_transaction_timeout",
            "a worker stuck inside a transaction must not pin a server connection",
            f"{idle_tx:g} s ({ctx.env})", {"env": ctx.env}),
        rec("pgbouncer.query_wait_timeout", wait, "pgbouncer.timeouts.query_wait_timeout",
            "a queued client fails fast (and retries) before its own timeout fires",
            "min(30, client_timeout / 2)", {"client_timeout": ctx.client_timeout}),
        _server_idle(ctx),
        rec("pgbouncer.server_login_retry", SERVER_LOGIN_RETRY,
            "pgbouncer.timeouts.server_login_retry",
            "after a failed server login (a PostgreSQL restart) pgbouncer fails every client "
            "login until it retries: half a second, not 15, keeps a restart's cost to clients "
            "about the restart itself", f"{SERVER_LOGIN_RETRY:g} s", {"default": 15}),
    ]


def _server_idle(ctx: TuneContext) -> Recommendation:
    pools_of = Counter(p.database for p in ctx.pools)    # one pass: 16k pools, not 16k²
    shared = sorted(db for db, n in pools_of.items() if n > 1)
    if shared:
        return rec("pgbouncer.server_idle_timeout", SERVER_IDLE_TIMEOUT_SHARED,
                   "pgbouncer.timeouts.server_idle_timeout",
                   f"pools of {', '.join(shared)} share its max_db_connections: an idle server "
                   "connection returns its slot to the other pool within a minute",
                   "60 when pools share a database's cap, else 600", {"shared": shared})
    return rec("pgbouncer.server_idle_timeout", SERVER_IDLE_TIMEOUT_DEFAULT,
               "pgbouncer.timeouts.server_idle_timeout",
               "pgbouncer's default: no two pools share a database's cap, so closing idle "
               "server connections sooner would only add reconnects",
               "60 when pools share a database's cap, else 600", {"shared": []})


def _version_recs(ctx: TuneContext) -> list[Recommendation]:
    if ctx.versions.pgbouncer < PREPARED_STATEMENTS_SINCE:
        return []
    return [rec("pgbouncer.max_prepared_statements", MAX_PREPARED_STATEMENTS,
                "pgbouncer.version.max_prepared_statements",
                "protocol-level prepared statements work in transaction pooling from 1.21",
                "200 (1.24 default)", {"pgbouncer": ctx.versions.pgbouncer})]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    out = _pool_recs(ctx, prior) + _client_recs(ctx, prior) + _timeout_recs(ctx) + _version_recs(ctx)
    settings = {**{r.path: r.value for r in out}, **ctx.fixed}
    out.append(rec("budget.pgbouncer_fds", fd_need(ctx.pools, settings), "pgbouncer.fds",
                   "file descriptors pgbouncer needs (check_limits() plus reserve pools)",
                   "max_client_conn + 10 + Σ pools (pool_size + reserve_pool_size)",
                   {"max_client_conn": settings["pgbouncer.max_client_conn"],
                    "pools": len(ctx.pools)}))
    fds = out[-1].value
    out.append(rec("systemd.pgbouncer.LimitNOFILE", max(NOFILE_FLOOR, fds),
                   "pgbouncer.limits.nofile",
                   f"pgbouncer's fd need is {fds} (budget.pgbouncer_fds): below it pgbouncer "
                   "only logs a warning at start and fails clients once its fds run out",
                   f"max({NOFILE_FLOOR}, budget.pgbouncer_fds)", {"budget.pgbouncer_fds": fds}))
    return out


def needs(ctx: TuneContext, known: Mapping[str, Any]) -> list[Need]:
    backlog = int(known.get("pgbouncer.listen_backlog", LISTEN_BACKLOG_DEFAULT))
    return [Need("net.core.somaxconn", backlog, "pgbouncer's listen_backlog",
                 "pgbouncer.listen_backlog")]


# -- its part of the host's memory ---------------------------------------------------------

# One process of a few MiB plus ~2 × pkt_buf (4096, doc/config.md) per connection (pgbouncer's
# features page gives "~2 kB per connection" as the idle minimum).
MEMORY_BASE = 8 * MiB
PKT_BUF = 4096
BUFFERS_PER_CONNECTION = 2


def memory(ctx: TuneContext) -> int:
    servers = max(sum(d.cap for d in database_pools(ctx, {})),
                  ctx.headroom.server_connections or 0) * 2
    connections = max_client_conn(ctx) + servers
    per_conn = PKT_BUF * BUFFERS_PER_CONNECTION
    return MEMORY_BASE + floor_to(connections * per_conn + MiB - 1, MiB)


def memory_part(ctx: TuneContext, free: int) -> Recommendation:
    return rec("budget.pgbouncer", memory(ctx), "budget.pgbouncer",
               "one pgbouncer process plus two packet buffers per client and server connection",
               "8MiB + (max_client_conn + 2 × Σ pool sizes) × 2 × pkt_buf(4096)",
               {"max_client_conn": max_client_conn(ctx)})


PART = budget.Part("pgbouncer", "fixed", memory_part)
