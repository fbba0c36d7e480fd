"""How big each benchmark runs: the full size (under ten minutes on 2 cores) and ``--quick``.

>>> QUICK.reps, FULL.reps
(1, 5)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    reps: int                 # alternating A/B rounds; medians are over these
    seconds: int              # pgbench -T per run
    warmup_seconds: int       # one unreported run per server before the rounds
    fleet_clients: int        # pgbench -c for the bot fleet
    fleet_scale: int          # pgbench -s for the bot fleet
    db_clients: int           # pgbench -c for the database scenario
    db_scale: int             # pgbench -s: > stock shared_buffers (128MB), < the tuned one
    write_clients: int        # pgbench -c for the write-heavy scenario
    write_scale: int          # pgbench -s: several GB, many times stock's shared_buffers
    write_seconds: int        # pgbench -T per write run: several stock checkpoints (1GB WAL)
    write_reps: int           # alternating rounds of the write-heavy scenario
    redis_requests: int       # redis-benchmark -n
    redis_fill_maxmemory: str | None   # override of redis.maxmemory for the fill (None: tuned)
    cold_runs: int            # cold `perfcfg build` processes
    scale_envs: tuple[int, ...]
    scale_programs: tuple[int, ...] = ()   # programs in one environment (linear cost)


FULL = Size("full", reps=5, seconds=6, warmup_seconds=3, fleet_clients=200, fleet_scale=10,
            db_clients=8, db_scale=50, write_clients=10, write_scale=200, write_seconds=60,
            write_reps=2, redis_requests=200_000, redis_fill_maxmemory=None,
            cold_runs=15, scale_envs=(1, 10, 100, 1000),
            scale_programs=(1250, 2500, 5000, 10000))
QUICK = Size("quick", reps=1, seconds=1, warmup_seconds=0, fleet_clients=10, fleet_scale=1,
             db_clients=2, db_scale=1, write_clients=2, write_scale=1, write_seconds=1,
             write_reps=1, redis_requests=2_000, redis_fill_maxmemory="8mb",
             cold_runs=2, scale_envs=(1, 3), scale_programs=(10, 20))
