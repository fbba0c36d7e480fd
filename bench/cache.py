"""Cache: redis-benchmark SET/GET (pipelined ``-P 16`` and not) on perfcfg's cache-role
redis.conf vs stock (no config file: Redis's compiled-in defaults), and a fill past
``maxmemory``.

The fill writes unique 16 KiB values with a pipelined client until it has sent 1.25 ×
perfcfg's ``maxmemory``, counting every error reply; then it reads ``INFO``. Stock has no
``maxmemory``, so the same bytes simply pile up — bounded by the same amount, never more.
"""

from __future__ import annotations

import csv
import io
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass

import redis

from bench.sizes import Size
from perfcfg.harness.binaries import require
from perfcfg.services.redis.daemon import RedisServer

VALUE_BYTES = 16 * 1024
FILL_FACTOR = 1.25
BATCH = 64
CASES = {"SET": ("set", 1), "GET": ("get", 1), "SET -P 16": ("set", 16), "GET -P 16": ("get", 16)}


@dataclass(frozen=True)
class BenchRun:
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Fill:
    sent_mb: float
    maxmemory_mb: float          # 0 = no limit
    used_memory_mb: float
    used_memory_rss_mb: float
    keys: int
    evicted_keys: int
    errors: int
    alive: bool


def redis_benchmark(port: int, test: str, pipeline: int, requests: int) -> BenchRun:
    exe = require("redis-server").replace("redis-server", "redis-benchmark")
    out = subprocess.run([exe, "-h", "127.0.0.1", "-p", str(port), "-c", "50",
                          "-n", str(requests), "-r", "100000", "-P", str(pipeline),
                          "-t", test, "--csv"], capture_output=True, text=True, timeout=300,
                         check=True, stdin=subprocess.DEVNULL).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    return BenchRun(float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))


def fill(server: RedisServer, target_bytes: int) -> Fill:
    """Write unique keys until ``target_bytes`` of values were sent; count the error replies."""
    value = b"x" * VALUE_BYTES
    errors = 0
    n = 0
    with redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=30) as client:
        while n * VALUE_BYTES < target_bytes:
            pipe = client.pipeline(transaction=False)
            for _ in range(BATCH):
                pipe.set(f"fill:{n}", value)
                n += 1
            errors += sum(isinstance(r, Exception) for r in pipe.execute(raise_on_error=False))
        alive = server.proc is not None and server.proc.poll() is None
        mem, stats = client.info("memory"), client.info("stats")
        keys = int(client.dbsize())
        client.flushall()   # stock saves on shutdown: do not write gigabytes to /tmp
    mb = 2 ** 20
    return Fill(n * VALUE_BYTES / mb, int(mem["maxmemory"]) / mb, int(mem["used_memory"]) / mb,
                int(mem["used_memory_rss"]) / mb, keys, int(stats["evicted_keys"]), errors, alive)


def run(size: Size, tuned: tuple[str, str], fill_files: tuple[str, str], log=print) -> dict:
    """``{"bench": {case: {config: [BenchRun]}}, "fill": {config: Fill}}``; ``tuned`` and
    ``fill_files`` are perfcfg's (redis.conf, users.acl)."""
    confs: dict[str, tuple[str, str | None]] = {"perfcfg": tuned, "stock": ("", None)}
    bench: dict[str, dict[str, list[BenchRun]]] = {c: {n: [] for n in confs} for c in CASES}
    with ExitStack() as stack:
        servers = {n: stack.enter_context(RedisServer(conf, acl_text=acl))
                   for n, (conf, acl) in confs.items()}
        for rnd in range(size.reps):
            for case, (test, pipeline) in CASES.items():
                order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
                for name in order:
                    # pipelined runs get more requests so they last about as long
                    r = redis_benchmark(servers[name].port, test, pipeline,
                                        size.redis_requests * (4 if pipeline > 1 else 1))
                    log(f"  cache {case} {name} round {rnd + 1}: {r.rps:.0f} rps")
                    bench[case][name].append(r)
    fills: dict[str, Fill] = {}
    with RedisServer(fill_files[0], acl_text=fill_files[1]) as server:
        limit = int(server.config()["maxmemory"])
        fills["perfcfg"] = fill(server, int(limit * FILL_FACTOR))
    with RedisServer("") as stock:
        fills["stock"] = fill(stock, int(limit * FILL_FACTOR))
    for name, f in fills.items():
        log(f"  cache fill {name}: used {f.used_memory_mb:.0f} MiB of max {f.maxmemory_mb:.0f}, "
            f"evicted {f.evicted_keys}, errors {f.errors}")
    return {"bench": bench, "fill": fills}
