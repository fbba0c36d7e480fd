"""PostgreSQL's guards against one runaway session, and the lock table partitions need.

- ``temp_file_limit``: one process's temporary files (sorts and hashes that spill). Unlimited
  by default, so a runaway sort fills the data disk and stops every write. Short-query
  profiles cap it at 5GiB, mixed at 20GiB; a warehouse only with a declared data size (a query
  may spill as much as it reads).
- ``lock_timeout`` (web, oltp): a statement that waits half a minute for a lock is stuck
  behind a migration or a forgotten transaction, and every later one queues behind it; failing
  it lets the pool move on. Autovacuum and pg_dump set their own (0).
- ``transaction_timeout`` (PostgreSQL 17+, web, oltp): a transaction open for an hour holds
  back VACUUM's horizon for every table. A longer job says ``SET transaction_timeout = 0``.
- ``statement_timeout`` is not set: an operator's CREATE INDEX or VACUUM FULL, a report or a
  migration has no bound perfcfg could know; the workers' drivers set theirs.
- ``max_locks_per_transaction``: every partition and each of its indexes takes a lock; a
  warehouse's query over a year of daily partitions needs more than the default 64 per
  transaction (timescaledb-tune raises it with the memory, to 1024).

Development keeps PostgreSQL's defaults for the timeouts: a debugging session may sit in a
transaction.

>>> from perfcfg.tune.context import Host, TuneContext, Versions, GiB
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (), (), versions=Versions(postgres=17))
>>> {r.path: r.value for r in recommend(ctx, {})}["postgres.transaction_timeout"]
3600000000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune.context import GiB, KiB, Recommendation, TuneContext, seconds
from perfcfg.tune.util import mib_text, rec

TEMP_FILE_LIMIT = {"web": 5 * GiB, "oltp": 5 * GiB, "desktop": 5 * GiB, "mixed": 20 * GiB}
TEMP_FILE_LIMIT_DW_MIN = 20 * GiB
# temp_file_limit is an int of kB (schemas/catalogs/postgresql-*.json: max 2147483647).
TEMP_FILE_LIMIT_MAX = 2147483647 * KiB
TIMEOUT_PROFILES = frozenset({"web", "oltp"})
LOCK_TIMEOUT_S = 30
TRANSACTION_TIMEOUT_S = 60 * 60
TRANSACTION_TIMEOUT_SINCE = 17
MAX_LOCKS = {"dw": 256, "mixed": 128}


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _temp_files(ctx: TuneContext) -> list[Recommendation]:
    if ctx.db_profile == "dw":
        if ctx.data_size is None:
            return []
        value = max(TEMP_FILE_LIMIT_DW_MIN, -(-ctx.data_size // GiB) * GiB)
        why = (f"a warehouse query may spill as much as the declared data "
               f"({mib_text(ctx.data_size)}) but no more: a runaway one stops before the disk "
               "is full")
        formula = "max(20GiB, data_size) for dw"
    else:
        value = TEMP_FILE_LIMIT[ctx.db_profile]
        why = (f"one {ctx.db_profile} session spilling more than {mib_text(value)} of sorts "
               "and hashes is a runaway: it fails instead of filling the data disk")
        formula = "5GiB for web/oltp/desktop, 20GiB for mixed"
    return [rec("postgres.temp_file_limit", min(value, TEMP_FILE_LIMIT_MAX),
                "pg.guards.temp_file_limit", why, formula,
                {"profile": ctx.db_profile, "data_size": ctx.data_size})]


def _timeouts(ctx: TuneContext) -> list[Recommendation]:
    if ctx.env == "development" or ctx.db_profile not in TIMEOUT_PROFILES:
        return []
    inputs = {"profile": ctx.db_profile, "env": ctx.env, "version": ctx.versions.postgres}
    out = [rec("postgres.lock_timeout", seconds(LOCK_TIMEOUT_S), "pg.guards.lock_timeout",
               f"{_a(ctx.db_profile)} statement waiting {LOCK_TIMEOUT_S}s for a lock is stuck "
               "behind a migration or a forgotten transaction: it fails and the pool moves on "
               "(autovacuum and pg_dump set their own)", "30s for web/oltp", inputs)]
    if ctx.versions.postgres >= TRANSACTION_TIMEOUT_SINCE:
        out.append(rec("postgres.transaction_timeout", seconds(TRANSACTION_TIMEOUT_S),
                       "pg.guards.transaction_timeout",
                       f"PostgreSQL {TRANSACTION_TIMEOUT_SINCE}+ rule: {_a(ctx.db_profile)} "
                       "transaction open for an hour holds back VACUUM for every table; a "
                       "longer job sets transaction_timeout = 0 for itself",
                       "1h for web/oltp (PostgreSQL ≥ 17)", inputs))
    return out


def _locks(ctx: TuneContext) -> list[Recommendation]:
    locks = MAX_LOCKS.get(ctx.db_profile)
    if locks is None:
        return []
    return [rec("postgres.max_locks_per_transaction", locks, "pg.guards.max_locks_per_transaction",
                f"{ctx.db_profile} queries touch many partitions, each with its indexes, and "
                f"each takes a lock: {locks} per transaction instead of 64 (shared lock table: "
                "max_locks_per_transaction × max_connections entries)",
                "256 for dw, 128 for mixed, else the default 64", {"profile": ctx.db_profile})]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    return _temp_files(ctx) + _timeouts(ctx) + _locks(ctx)
