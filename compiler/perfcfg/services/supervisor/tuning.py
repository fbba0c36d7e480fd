"""supervisord: one [program:x] per worker program (numprocs, restarts, stopping, log rotation)
and the rlimits every child inherits (minfds, minprocs).

>>> from perfcfg.tune.context import Host, Program, TuneContext, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (Program("bot", 40, 2, 1, 0),), ())
>>> v = {r.path: r.value for r in recommend(ctx, {})}
>>> v["supervisor.programs.bot.process_name"], v["supervisor.minfds"]
('%(program_name)s_%(process_num)02d', 1024)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import MiB, Program, Recommendation, TuneContext
from perfcfg.tune.util import ceil_div, clamp, floor_to, mib_text, rec

# supervisor docs: numprocs > 1 needs %(process_num) in process_name (fatal otherwise).
PROCESS_NAME = "%(program_name)s_%(process_num)02d"
# A bot connects to PostgreSQL and Redis before it is useful; 5 s up counts as started
# (default startsecs 1 declares a worker that dies on its first query "RUNNING").
STARTSECS = 5
# Default startretries 3 gives up within seconds while the database restarts; 5 rides it out.
STARTRETRIES = 5
# Graceful stop: the worker's drain time (default: finish the update in hand, bounded by
# pgbouncer's query_wait_timeout of 30 s) plus a margin before SIGKILL (default stopwaitsecs 10).
DEFAULT_DRAIN_SECONDS = 25
STOP_MARGIN_SECONDS = 5
# Log disk per environment for all workers' stdout+stderr with their backups (target-formats
# §5.5 disk rule); supervisor's default 50MB × 11 per stream would fill a disk with 100 workers.
LOG_DISK_BUDGET = {"development": 256 * MiB, "staging": 2048 * MiB, "production": 4096 * MiB}
LOG_BACKUPS = {"development": 1, "staging": 5, "production": 10}
LOG_MAXBYTES_MIN = 1 * MiB
LOG_MAXBYTES_MAX = 50 * MiB           # supervisor's default stdout_logfile_maxbytes
STREAMS = ("stdout", "stderr")
# Debian's supervisord.conf: childlogdir=/var/log/supervisor (a preset's childlogdir wins).
LOG_DIR = "/var/log/supervisor"
# Fds a Python worker holds besides its pools: stdio, log files, epoll, DNS and HTTP sockets.
WORKER_BASE_FDS = 64
# supervisord holds 3 pipes and up to 2 log files per child, plus its own sockets and logs.
SUPERVISORD_FDS_PER_CHILD = 5
SUPERVISORD_BASE_FDS = 64
MINFDS_DEFAULT = 1024                 # supervisor docs default, also the usual soft limit
FD_ROUNDING = 1024
# RLIMIT_NPROC counts threads: asyncio bots run a default executor and driver threads.
THREADS_PER_WORKER = 8
MINPROCS_DEFAULT = 200                # supervisor docs default
MINPROCS_BASE = 64                    # supervisord, pgbouncer, Redis' bio threads, shells


def worker_fds(program: Program) -> int:
    return program.db_connections + program.cache_connections + program.open_files \
        + WORKER_BASE_FDS


def log_rotation(ctx: TuneContext) -> tuple[int, int]:
    """(maxbytes, backups) so every worker's logs with backups fit the environment's log disk;
    with very many workers fewer backups are kept before a log shrinks below 1MiB."""
    streams = max(1, ctx.worker_processes) * len(STREAMS)
    files = LOG_DISK_BUDGET[ctx.env] // (streams * LOG_MAXBYTES_MIN)
    backups = max(1, min(LOG_BACKUPS[ctx.env], files - 1))
    share = LOG_DISK_BUDGET[ctx.env] / (streams * (backups + 1))
    # Every program's log size follows the total number of workers, and supervisor restarts a
    # program whose section changes: down to a power of two, one program's scaling changes the
    # others' sections only when the share crosses one, not on every new process.
    step = MiB << max(0, int(share // MiB).bit_length() - 1)
    return int(clamp(floor_to(share, step), LOG_MAXBYTES_MIN, LOG_MAXBYTES_MAX)), backups


def _program(ctx: TuneContext, p: Program, maxbytes: int, backups: int) -> list[Recommendation]:
    base = f"supervisor.programs.{p.name}"
    drain = p.stop_seconds if p.stop_seconds is not None else DEFAULT_DRAIN_SECONDS
    out = [rec(f"{base}.numprocs", p.processes, "supervisor.program.numprocs",
               f"{p.processes} copies of {p.name} as the workload declares", "processes",
               {"processes": p.processes})]
    if p.processes > 1:
        out.append(rec(f"{base}.process_name", PROCESS_NAME, "supervisor.program.process_name",
                       "numprocs > 1 needs %(process_num)s; names sort as bot_00, bot_01…",
                       PROCESS_NAME, {"numprocs": p.processes}))
    out += [
        rec(f"{base}.autorestart", True, "supervisor.program.autorestart",
            "a long-running worker is restarted whenever it exits", "true", {}),
        rec(f"{base}.startsecs", STARTSECS, "supervisor.program.startsecs",
            "up 5 s (connected to PostgreSQL and Redis) counts as started", "5", {}),
        rec(f"{base}.startretries", STARTRETRIES, "supervisor.program.startretries",
            "retry with backoff long enough to ride out a database restart", "5", {}),
        rec(f"{base}.stopwaitsecs", drain + STOP_MARGIN_SECONDS, "supervisor.program.stopwaitsecs",
            f"{drain} s to drain, 5 s margin, then SIGKILL", "drain + 5",
            {"drain": drain, "stated": p.stop_seconds}),
        rec(f"{base}.stopasgroup", True, "supervisor.program.stopasgroup",
            "stop the worker's children too (multiprocessing, subprocesses)", "true", {}),
        rec(f"{base}.killasgroup", True, "supervisor.program.killasgroup",
            "stopasgroup implies killasgroup (false with stopasgroup is fatal)", "true", {}),
    ]
    logdir = str(ctx.fixed.get("supervisor.childlogdir", LOG_DIR)).rstrip("/") or "/"
    process = "_%(process_num)02d" if p.processes > 1 else ""
    for stream in STREAMS:
        path = f"{logdir}/{p.name}{process}.{stream}.log"
        out += [
            rec(f"{base}.{stream}_logfile", path, "supervisor.program.logfile",
                f"a fixed {stream} log per process under {logdir}: kept across supervisord "
                "restarts (AUTO logs get new names and are deleted at every start) and where a "
                "log shipper can follow it",
                "<childlogdir>/<program>[_<process_num>].<stream>.log",
                {"childlogdir": logdir, "numprocs": p.processes}),

            rec(f"{base}.{stream}_logfile_maxbytes", maxbytes, "supervisor.program.log_maxbytes",
                f"{mib_text(maxbytes)} per log keeps all workers' logs within "
                f"{mib_text(LOG_DISK_BUDGET[ctx.env])}",
                "clamp(log_budget / (workers × 2 streams × (backups + 1)) down to a power of two "
                "MiB, 1MiB, 50MiB)",
                {"workers": ctx.worker_processes, "backups": backups,
                 "log_budget": LOG_DISK_BUDGET[ctx.env]}),
            rec(f"{base}.{stream}_logfile_backups", backups, "supervisor.program.log_backups",
                f"{backups} rotated logs kept ({ctx.env})",
                f"min({ctx.env} table, what the log disk holds at ≥ 1MiB per file)",
                {"env": ctx.env, "workers": ctx.worker_processes}),
        ]
    return out


def _fd_needs(ctx: TuneContext, prior: Mapping[str, Any]) -> dict[str, int]:
    needs = {f"worker {p.name}": worker_fds(p) for p in ctx.programs}
    for service in sorted(ctx.supervised):     # each daemon it starts says its fd need
        path = f"budget.{service}_fds"
        if path in prior:
            needs[service] = int(prior[path])
    needs["supervisord"] = SUPERVISORD_BASE_FDS + SUPERVISORD_FDS_PER_CHILD * ctx.worker_processes
    return needs


def _limits(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    needs = _fd_needs(ctx, prior)
    top = max(needs.values())
    minfds = max(MINFDS_DEFAULT, ceil_div(top, FD_ROUNDING) * FD_ROUNDING)
    threads = ctx.worker_processes * THREADS_PER_WORKER + MINPROCS_BASE
    minprocs = max(MINPROCS_DEFAULT, ceil_div(threads, 100) * 100)
    worst = max((worker_fds(p) for p in ctx.programs), default=WORKER_BASE_FDS)
    minfds = int(ctx.fixed.get("supervisor.minfds", minfds))
    minprocs = int(ctx.fixed.get("supervisor.minprocs", minprocs))
    return [
        rec("supervisor.minfds", minfds, "supervisor.limits.minfds",
            f"every child inherits it: the largest need is {top} ("
            + max(needs, key=lambda k: needs[k]) + ")",
            "max(1024, roundup(max(worker needs, supervised pgbouncer/redis fds, "
            "64 + 5 × children), 1024))", needs),
        rec("supervisor.minprocs", minprocs, "supervisor.limits.minprocs",
            "RLIMIT_NPROC counts every thread of the workers' user",
            "max(200, roundup(workers × 8 + 64, 100))", {"workers": ctx.worker_processes}),
        rec("budget.worker_fds", worst, "supervisor.limits.worker_fds",
            "file descriptors the hungriest worker process needs",
            "db_connections + redis_connections + open_files + 64",
            {p.name: worker_fds(p) for p in ctx.programs}),
        # supervisord raises its own limits to minfds/minprocs at start, but only up to the
        # hard limits unless it runs as root: the unit's limits make them hold either way.
        rec("systemd.supervisor.LimitNOFILE", minfds, "supervisor.limits.nofile",
            "supervisord's minfds: it and every program it starts run with this fd limit",
            "supervisor.minfds", {"supervisor.minfds": minfds}),
        rec("systemd.supervisor.LimitNPROC", minprocs, "supervisor.limits.nproc",
            "supervisord's minprocs: the processes and threads its programs may start",
            "supervisor.minprocs", {"supervisor.minprocs": minprocs}),
    ]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    maxbytes, backups = log_rotation(ctx)
    out = [r for p in ctx.programs for r in _program(ctx, p, maxbytes, backups)]
    return out + _limits(ctx, prior)
