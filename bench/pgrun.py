"""pgbench against a throwaway server: data templates, one timed run, and server memory.

A :class:`DataTemplate` is a data directory that already holds the pgbench tables and the
bench role, so every server under test starts from a ``cp -a`` of the same bytes (it
duck-types ``PgTemplate``); :func:`prewarm` loads them into each server's shared_buffers. :func:`pgbench` runs one timed pgbench, computes latency
percentiles from its per-transaction logs, and samples the memory of the daemons under test
while the clients are connected.

>>> parse_tps("tps = 1234.5 (without initial connection time)")
1234.5
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.machine import PGBENCH
from bench.stackproject import DATABASE, USER
from bench.stats import median, percentile
from perfcfg.harness import procs
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer

SAMPLE_EVERY = 0.5   # seconds between memory samples during a run


def stock_conf(template: PgTemplate) -> str:
    """The postgresql.conf initdb wrote (what Debian's pg_createcluster also starts from)."""
    return Path(template.data, "postgresql.conf").read_text()


class DataTemplate:
    """An initdb'd data dir with ``pgbench -i -s scale`` done in database ``bench``."""

    def __init__(self, base: PgTemplate, scale: int) -> None:
        self.account = procs.service_account("postgres")
        self.root = procs.scratch_dir("pf-dtpl-", self.account)
        self.data = f"{self.root}/data"
        try:
            self._fill(base, scale)
        except BaseException:
            self.remove()
            raise

    def _fill(self, base: PgTemplate, scale: int) -> None:
        with PostgresServer(stock_conf(base), base) as pg:
            pg.query(f"CREATE ROLE {USER} LOGIN")
            pg.query(f"CREATE DATABASE {DATABASE} OWNER {USER}")
            init = subprocess.run([PGBENCH, "-i", "-q", "-s", str(scale), "-h", pg.dir,
                                   "-p", str(pg.port), "-U", "postgres", DATABASE],
                                  capture_output=True, text=True, timeout=900, check=False)
            if init.returncode != 0:
                raise RuntimeError(f"pgbench -i failed: {init.stderr[-2000:]}")
            with pg.connect(DATABASE) as conn:
                conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {USER}")
                conn.execute("CREATE EXTENSION pg_prewarm")
                conn.execute("CHECKPOINT")
            assert pg.proc is not None
            procs.stop_tree(pg.proc, signal.SIGINT)   # clean shutdown, then keep the files
            pg.proc = None
            copied = procs.run(["cp", "-a", pg.data, self.data], timeout=900)
            if copied.returncode != 0:
                raise RuntimeError(f"cannot copy data dir: {copied.stderr}")

    def copy_to(self, dest: str) -> None:
        result = procs.run(["cp", "-a", self.data, dest], timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"cannot copy data template: {result.stderr.strip()}")

    def remove(self) -> None:
        procs.remove_dir(self.root)

    def __enter__(self) -> DataTemplate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def prewarm(pg: PostgresServer) -> None:
    """Read every pgbench table and index through shared_buffers (``pg_prewarm``), as a
    long-running server would have: each config then keeps what its own buffers can hold."""
    with pg.connect(DATABASE) as conn:
        conn.execute("SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n "
                     "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                     "AND c.relkind IN ('r', 'i') ORDER BY c.relpages")


@dataclass(frozen=True)
class Target:
    """Where pgbench connects, and which processes count as 'the server'."""

    host: str
    port: int
    user: str
    password: str | None
    pids: Callable[[], dict[str, list[int]]]   # component name → its process ids


@dataclass(frozen=True)
class Run:
    tps: float
    transactions: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    memory_mb: dict[str, tuple[float, float]]   # component → peak (RSS sum, PSS sum) in MiB


def parse_tps(stdout: str) -> float:
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", stdout)
    if not found:
        raise RuntimeError("pgbench printed no tps:\n" + stdout[-2000:])
    return float(found.group(1))


def _failed(stdout: str) -> int:
    found = re.search(r"number of failed transactions: (\d+)", stdout)
    return int(found.group(1)) if found else 0


def latencies_ms(logdir: str) -> list[float]:
    """Per-transaction latencies from ``pgbench --log`` files (3rd field, microseconds)."""
    out: list[float] = []
    for path in glob.glob(f"{logdir}/tx.*"):
        with open(path) as f:
            for line in f:
                field = line.split(" ", 3)[2]
                if field.isdigit():
                    out.append(int(field) / 1000)
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in kB; PSS splits shared pages (shared_buffers) fairly."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class _MemorySampler(threading.Thread):
    """Peak (RSS sum, PSS sum) per component while a run is in progress."""

    def __init__(self, pids: Callable[[], dict[str, list[int]]]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.stop_event = threading.Event()
        self.peak: dict[str, tuple[float, float]] = {}

    def run(self) -> None:
        while not self.stop_event.wait(SAMPLE_EVERY):
            for name, pids in self.pids().items():
                sizes = [_mem_kb(p) for p in pids]
                rss, pss = (sum(s[0] for s in sizes) / 1024, sum(s[1] for s in sizes) / 1024)
                old = self.peak.get(name, (0.0, 0.0))
                self.peak[name] = (max(old[0], rss), max(old[1], pss))


def pgbench(target: Target, clients: int, seconds: int, args: Sequence[str] = (),
            dbname: str = DATABASE) -> Run:
    """One ``pgbench -T seconds`` run (``args``: e.g. ``["-S"]``); no vacuum between runs."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if target.password is not None:
        env["PGPASSWORD"] = target.password
    with tempfile.TemporaryDirectory(prefix="pf-pgb-") as logdir:
        argv = [PGBENCH, "-h", target.host, "-p", str(target.port), "-U", target.user,
                "-c", str(clients), "-j", str(min(2, clients)), "-T", str(seconds), "-n",
                "--log", f"--log-prefix={logdir}/tx", *args, dbname]
        sampler = _MemorySampler(target.pids)
        sampler.start()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env,
                                  timeout=seconds + 120, check=False, cwd=logdir)
        finally:
            sampler.stop_event.set()
            sampler.join()
        tps = parse_tps(done.stdout)
        lat = latencies_ms(logdir)
    return Run(tps, len(lat), _failed(done.stdout), median(lat), percentile(lat, 95),
               percentile(lat, 99), sampler.peak)
