"""PostgreSQL memory: shared_buffers, caches, work_mem and maintenance memory, all carved from
PostgreSQL's **own** budget (``budget.postgres``), not from the whole host.

work_mem starts from PGTune's model ``(budget − shared_buffers) / ((max_connections +
max_worker_processes) × 3)`` with the pooled ``max_connections``, and is held so that the
worst case (:func:`worst_case`) fits the budget: ``shared_buffers + wal_buffers + every
process's private base + (max_connections + max_parallel_workers) × work_mem ×
hash_mem_multiplier × nodes per query + autovacuum workers × autovacuum_work_mem + one
maintenance_work_mem``. PCF301 checks the same sum, and ``perfcfg explain
budget.postgres_worst_case`` shows it.

>>> from perfcfg.tune.context import Host, TuneContext, GiB
>>> prior = {"budget.postgres": 16 * GiB, "postgres.max_connections": 300,
...          "postgres.max_worker_processes": 8, "postgres.max_parallel_workers": 4,
...          "postgres.autovacuum_max_workers": 3}
>>> ctx = TuneContext("production", Host(16 * GiB, 4), (), (), db_profile="oltp")
>>> recs = {r.path: r.value for r in recommend(ctx, prior)}
>>> recs["postgres.shared_buffers"] // GiB, recs["postgres.work_mem"] // 1024
(4, 5850)
>>> recs["budget.postgres_worst_case"] <= 16 * GiB
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcfg.tune import budget
from perfcfg.tune.context import GiB, KiB, MiB, Recommendation, TuneContext
from perfcfg.tune.util import floor_to, mib_text, need, pick, rec

PAGE = 8 * KiB                      # BLCKSZ: base unit of shared_buffers, wal_buffers, ecs
# PGTune 830d3bb: shared_buffers T/4 (desktop T/16), effective_cache_size 3T/4 (desktop T/4).
SHARED_BUFFERS_DIVISOR = {"desktop": 16}
SHARED_BUFFERS_DIVISOR_DEFAULT = 4
CACHE_FRACTION = {"desktop": 0.25}
CACHE_FRACTION_DEFAULT = 0.75
SHARED_BUFFERS_MIN = 16 * MiB
# A development database is small; more shared memory only slows a laptop.
DEV_SHARED_BUFFERS_CAP = 1 * GiB
# PGTune 830d3bb: maintenance_work_mem T/16 (dw T/8), capped at 8GB.
MAINTENANCE_DIVISOR = {"dw": 8}
MAINTENANCE_DIVISOR_DEFAULT = 16
MAINTENANCE_CAP = 8 * GiB
MAINTENANCE_MIN = 16 * MiB
# PostgreSQL ≤ 16 docs (maintenance_work_mem): "VACUUM is only able to utilize up to a maximum
# of 1GB" for dead tuple ids; 17 removed the limit, PGTune then uses 2GB.
AUTOVACUUM_MEM_CAP = {True: 1 * GiB, False: 2 * GiB}     # key: version ≤ 16
AUTOVACUUM_MEM_UNLIMITED_SINCE = 17
# Autovacuum's worst case held to 3/16 of the budget: PGTune's 3 default workers × T/16.
AUTOVACUUM_SHARE = 3 / 16
# PGTune 830d3bb work_mem: "× 3" nodes per backend; dw/mixed halve, desktop divides by 6;
# floor 4MB (PostgreSQL's default).
WORK_MEM_NODES = 3
WORK_MEM_DIVISOR = {"dw": 2, "mixed": 2, "desktop": 6}
WORK_MEM_FLOOR = 4 * MiB
WORK_MEM_MIN = 64 * KiB             # pg_settings min_val
# One sort/hash above 1GB rarely gets faster, and hash nodes take hash_mem_multiplier (2) × it.
WORK_MEM_CAP = 1 * GiB
# Sort and hash nodes one query of the profile runs at once, each allowed work_mem (hash
# nodes × hash_mem_multiplier): short OLTP/web statements rarely have more than two, reporting
# and warehouse plans join and aggregate in several steps.
NODES_PER_QUERY = {"web": 2, "oltp": 2, "mixed": 3, "dw": 4, "desktop": 2}
# hash_mem_multiplier boot value: 1.0 when it appeared in PostgreSQL 13, 2.0 from 15
# (release notes 15: "Increase hash_mem_multiplier default to 2.0").
HASH_MEM_MULTIPLIER = {13: 1.0, 15: 2.0}
# What every backend, parallel worker and autovacuum worker holds besides work memory: catalog
# and relation caches, plan cache, its stack and libpq buffers. Measured on PostgreSQL 15: a
# backend that ran a few catalog and table queries holds 1.8MiB private (smaps_rollup); a real
# schema's catalog and plan caches about double it.
PROCESS_BASE = 4 * MiB
# PGTune 830d3bb: huge_pages = try when shared_buffers ≥ 2GB.
HUGE_PAGES_FROM = 2 * GiB
# From 32GiB of shared_buffers, 4kB pages cost each backend that touches them 64MiB of page
# tables (8 bytes per 4kB page): a hundred backends lose more memory than a silent fallback
# is worth, so huge_pages = on (PostgreSQL then refuses to start without them) — but only
# when the build also writes the vm.nr_hugepages it needs (deploy.limits: a sysctl.d file
# applied at boot, before memory fragments). Without it, on would make a performance setting a
# start dependency on a kernel setting nobody wrote, and reserving 100k+ pages on a running,
# fragmented host fails: try, which starts on normal pages when the pages are missing.
HUGE_PAGES_ON_FROM = 32 * GiB
HUGE_PAGE_SIZE = 2 * MiB            # x86-64 and most arm64 kernels; others: check Hugepagesize
# PostgreSQL uses huge pages on Linux (vm.nr_hugepages) and Windows (large pages, given the
# "Lock pages in memory" right to its service account; try falls back without it); macOS and
# the BSDs have none it can ask for.
HUGE_PAGES_OS = frozenset({"linux", "windows"})
HUGE_PAGES_SYSCTL_OS = frozenset({"linux"})
# PostgreSQL's shared memory beyond shared_buffers and wal_buffers: buffer descriptors, the
# buffer mapping table and checkpointer queue (~3% of shared_buffers), locks and the rest.
SHARED_MEMORY_OVERHEAD = 0.03
SHARED_MEMORY_FIXED = 64 * MiB
# With a declared data size, shared_buffers and effective_cache_size stop at the data plus a
# fifth for growth, indexes bloat and the free space map.
DATA_HEADROOM = 1.2
# PostgreSQL's wal_buffers = -1 rule (xlog.c XLOGChooseNumBuffers): shared_buffers / 32,
# between 8 pages and one WAL segment (16MB).
WAL_BUFFERS_DIVISOR = 32
WAL_BUFFERS_MIN = 8 * PAGE
WAL_BUFFERS_MAX = 16 * MiB


def data_need(ctx: TuneContext) -> int | None:
    """Bytes the declared data needs in memory (None: unknown, assume more than RAM)."""
    if ctx.data_size is None:
        return None
    return max(SHARED_BUFFERS_MIN, -(-int(ctx.data_size * DATA_HEADROOM) // MiB) * MiB)


def shared_buffers(ctx: TuneContext, budget: int) -> int:
    divisor = SHARED_BUFFERS_DIVISOR.get(ctx.db_profile, SHARED_BUFFERS_DIVISOR_DEFAULT)
    value = max(SHARED_BUFFERS_MIN, floor_to(budget / divisor, MiB))
    need = data_need(ctx)
    if need is not None:
        value = min(value, need)
    return min(value, DEV_SHARED_BUFFERS_CAP) if ctx.env == "development" else value


def nr_hugepages(shared_buffers: int, wal_buffers: int) -> int:
    """An estimate of vm.nr_hugepages for PostgreSQL's shared memory (2MiB pages)."""
    total = shared_buffers * (1 + SHARED_MEMORY_OVERHEAD) + wal_buffers + SHARED_MEMORY_FIXED
    return -(-int(total) // HUGE_PAGE_SIZE)


def huge_pages(ctx: TuneContext, sb: int) -> str:
    if ctx.env == "development" or ctx.host.os not in HUGE_PAGES_OS or sb < HUGE_PAGES_FROM:
        return "off"
    written = ctx.limits and ctx.host.os in HUGE_PAGES_SYSCTL_OS
    return "on" if sb >= HUGE_PAGES_ON_FROM and written else "try"


def maintenance_work_mem(ctx: TuneContext, budget: int) -> int:
    divisor = MAINTENANCE_DIVISOR.get(ctx.db_profile, MAINTENANCE_DIVISOR_DEFAULT)
    return max(MAINTENANCE_MIN, min(MAINTENANCE_CAP, floor_to(budget / divisor, MiB)))


def autovacuum_work_mem(ctx: TuneContext, budget: int, mwm: int, workers: int) -> int:
    cap = AUTOVACUUM_MEM_CAP[ctx.versions.postgres < AUTOVACUUM_MEM_UNLIMITED_SINCE]
    share = floor_to(budget * AUTOVACUUM_SHARE / max(1, workers), MiB)
    return max(MiB, min(mwm, cap, share))


# The parts of worst_case() as explain shows them (the keys name the setting that drives each).
WORST_CASE_LABELS = {
    "postgres.shared_buffers": "shared_buffers + wal_buffers",
    "postgres.work_mem": "queries: (backends + parallel workers) × work_mem × factor",
    "postgres.autovacuum_work_mem": "autovacuum workers × autovacuum_work_mem",
    "postgres.maintenance_work_mem": "one maintenance_work_mem (index build, VACUUM)",
    "postgres.max_connections": "processes × 4MiB base",
}


def hash_mem_multiplier(ctx: TuneContext, settings: Mapping[str, Any] | None = None) -> float:
    known = {**(settings or {}), **ctx.fixed}
    if "postgres.hash_mem_multiplier" in known:
        return float(known["postgres.hash_mem_multiplier"])
    since = [v for v in HASH_MEM_MULTIPLIER if ctx.versions.postgres >= v]
    return HASH_MEM_MULTIPLIER[max(since)] if since else 1.0


def per_query_factor(ctx: TuneContext, settings: Mapping[str, Any] | None = None) -> float:
    """work_mem multiples one process may hold at worst: nodes × hash_mem_multiplier."""
    return NODES_PER_QUERY[ctx.db_profile] * hash_mem_multiplier(ctx, settings)


def worst_case(ctx: TuneContext, s: Mapping[str, Any]) -> dict[str, int]:
    """PostgreSQL's worst-case memory by part (bytes), from final or partial settings."""
    if "postgres.shared_buffers" not in s:
        return {}
    sb = int(s["postgres.shared_buffers"])
    conns = int(s.get("postgres.max_connections", 100))
    parallel = int(s.get("postgres.max_parallel_workers", 8))
    av_workers = int(s.get("postgres.autovacuum_max_workers", 3))
    mwm = int(s.get("postgres.maintenance_work_mem", 64 * MiB))
    avwm = int(s.get("postgres.autovacuum_work_mem", -1))
    avwm = mwm if avwm == -1 else avwm
    wal = int(s.get("postgres.wal_buffers", min(WAL_BUFFERS_MAX, sb // WAL_BUFFERS_DIVISOR)))
    wm = int(s.get("postgres.work_mem", WORK_MEM_FLOOR))
    return {
        "postgres.shared_buffers": sb + wal,
        "postgres.work_mem": int((conns + parallel) * wm * per_query_factor(ctx, s)),
        "postgres.autovacuum_work_mem": av_workers * avwm,
        "postgres.maintenance_work_mem": mwm,
        "postgres.max_connections": (conns + parallel + av_workers) * PROCESS_BASE,
    }


def work_mem(ctx: TuneContext, budget: int, sb: int, conns: int, slots: int,
             fixed_part: int, queries: int, factor: float) -> tuple[int, int, int]:
    """(value, PGTune-model value, fit limit) in bytes, each a whole number of kB.

    ``fixed_part`` is the worst case without work_mem; ``queries`` the processes that may run
    a query at once (backends + parallel workers), each holding ``factor`` × work_mem."""
    model = (budget - sb) / ((conns + slots) * WORK_MEM_NODES)
    model = floor_to(model / WORK_MEM_DIVISOR.get(ctx.db_profile, 1), KiB)
    fit = floor_to((budget - fixed_part) / (max(1, queries) * factor), KiB)
    value = min(model, max(fit, 0), WORK_MEM_CAP)
    value = max(value, min(WORK_MEM_FLOOR, max(fit, 0)))
    return max(WORK_MEM_MIN, value), model, fit


def _buffers(ctx: TuneContext, budget: int, sb: int, held: bool = False
             ) -> list[Recommendation]:
    fraction = CACHE_FRACTION.get(ctx.db_profile, CACHE_FRACTION_DEFAULT)
    wal = max(WAL_BUFFERS_MIN, min(WAL_BUFFERS_MAX, floor_to(sb / WAL_BUFFERS_DIVISOR, PAGE)))
    huge = huge_pages(ctx, sb)
    need = data_need(ctx)
    cache = floor_to(budget * fraction, MiB)
    if need is not None:
        cache = max(sb, min(cache, need))
    pages = nr_hugepages(sb, wal)
    if huge == "on":
        huge_why = (f"{mib_text(sb)} of shared_buffers: without huge pages every backend pays "
                    f"~{mib_text(sb // 512)} of page tables; needs vm.nr_hugepages ≥ {pages}, "
                    "which this build writes (deploy.limits: sysctl.conf, applied at boot)")
    elif huge == "try" and ctx.host.os not in HUGE_PAGES_SYSCTL_OS:
        huge_why = (f"from 2GiB of shared memory large pages pay off; on {ctx.host.os} "
                    "PostgreSQL's service account needs the \"Lock pages in memory\" right "
                    "(try starts without them when it lacks it)")
    elif huge == "try" and sb >= HUGE_PAGES_ON_FROM:
        huge_why = (f"{mib_text(sb)} of shared_buffers would be worth on, but nothing this build "
                    f"writes reserves the {pages} pages (deploy.limits is off): on would make "
                    "the kernel setting a start dependency, so try (set vm.nr_hugepages ≥ "
                    f"{pages} at boot to get them)")
    elif huge == "try":
        huge_why = ("from 2GiB of shared memory huge pages pay off: set vm.nr_hugepages from "
                    "postgres -C shared_memory_size_in_huge_pages (try falls back without them)")
    else:
        huge_why = (f"{ctx.host.os} has no huge pages PostgreSQL can use"
                    if ctx.host.os not in HUGE_PAGES_OS else
                    "shared memory below 2GiB (or development): not worth it")
    # Asked for by the tuning or by the preset: huge_pages = try uses them only when the
    # kernel has reserved enough, so try needs the reservation as much as on does.
    asked = str(ctx.fixed.get("postgres.huge_pages", huge))
    extra = [rec("budget.nr_hugepages", pages, "pg.memory.nr_hugepages",
                 f"huge pages the kernel must reserve for PostgreSQL's shared memory "
                 f"(huge_pages = {asked}: set vm.nr_hugepages ≥ {pages} before starting it)",
                 "ceil((shared_buffers × 1.03 + wal_buffers + 64MiB) / 2MiB)",
                 {"shared_buffers": sb, "wal_buffers": wal, "huge_pages": asked}
                 )] if asked in ("on", "try") and ctx.host.os in HUGE_PAGES_SYSCTL_OS else []
    return extra + [
        rec("postgres.shared_buffers", sb, "pg.memory.shared_buffers",
            "held below a quarter: the processes' own memory would not fit otherwise" if held
            else f"the declared data ({mib_text(ctx.data_size or 0)}) plus a fifth: more would "
            "hold nothing" if need is not None and sb == need
            else f"a quarter of PostgreSQL's {mib_text(budget)} (the OS page cache holds the rest)"
            if ctx.db_profile != "desktop" else "1/16 of the budget for a desktop database",
            "budget / 4 (desktop / 16), ≥ 16MiB" + (", ≤ 1GiB in development"
                                                    if ctx.env == "development" else ""),
            {"budget": budget, "profile": ctx.db_profile, "env": ctx.env,
             "data_size": ctx.data_size}),
        rec("postgres.effective_cache_size", cache, "pg.memory.effective_cache_size",
            "shared_buffers plus the page cache PostgreSQL can count on"
            + (", up to the declared data" if need is not None else ""),
            f"budget × {fraction}" + (", ≤ max(shared_buffers, data_size × 1.2)"
                                      if need is not None else ""),
            {"budget": budget, "data_size": ctx.data_size}),
        rec("postgres.huge_pages", huge, "pg.memory.huge_pages", huge_why,
            "off without huge pages (macOS, BSD) or below 2GiB; try from 2GiB; on from 32GiB "
            "of shared_buffers when the build writes vm.nr_hugepages (deploy.limits, Linux)",
            {"shared_buffers": sb, "os": ctx.host.os, "limits": ctx.limits}),
        rec("postgres.wal_buffers", wal, "pg.memory.wal_buffers",
            "what PostgreSQL's own -1 rule picks, written out so it can be explained",
            "clamp(shared_buffers / 32, 64kB, 16MB)", {"shared_buffers": sb},
            deviation="" if wal == WAL_BUFFERS_MAX else
            "PostgreSQL's rule (shared_buffers/32) instead of PGTune's 3%, below 512MB"),
    ]


def _maintenance(ctx: TuneContext, budget: int, mwm: int, avwm: int,
                 workers: int) -> list[Recommendation]:
    cap = AUTOVACUUM_MEM_CAP[ctx.versions.postgres < AUTOVACUUM_MEM_UNLIMITED_SINCE]
    return [
        rec("postgres.maintenance_work_mem", mwm, "pg.memory.maintenance_work_mem",
            "index builds and manual VACUUM get 1/16 of the budget (dw 1/8), at most 8GiB",
            "clamp(budget / 16 (dw / 8), 16MiB, 8GiB)", {"budget": budget}),
        rec("postgres.autovacuum_work_mem", avwm, "pg.memory.autovacuum_work_mem",
            f"{workers} autovacuum workers share 3/16 of the budget, never more than VACUUM "
            f"can use ({mib_text(cap)} on PostgreSQL {ctx.versions.postgres})",
            "min(maintenance_work_mem, version cap, budget × 3/16 / autovacuum_max_workers)",
            {"budget": budget, "autovacuum_max_workers": workers, "version": ctx.versions.postgres},
            deviation="always bounded: PostgreSQL ≤ 16 VACUUM uses at most 1GB, and the "
                      "workers' total must fit the budget; PGTune sets 2GB only when "
                      "maintenance_work_mem ≥ 2GB"),
    ]


def recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]:
    budget = int(need(prior, "budget.postgres"))
    conns = int(need(prior, "postgres.max_connections"))
    slots = int(need(prior, "postgres.max_worker_processes"))
    workers = int(need(prior, "postgres.autovacuum_max_workers"))
    parallel = int(prior.get("postgres.max_parallel_workers", 0))
    sb = int(pick(ctx, "postgres.shared_buffers", shared_buffers(ctx, budget)))
    mwm = int(pick(ctx, "postgres.maintenance_work_mem", maintenance_work_mem(ctx, budget)))
    avwm = int(pick(ctx, "postgres.autovacuum_work_mem",
                    autovacuum_work_mem(ctx, budget, mwm, workers)))
    base = {**prior, **ctx.fixed, "postgres.maintenance_work_mem": mwm,
            "postgres.autovacuum_work_mem": avwm, "postgres.max_parallel_workers": parallel}
    factor = per_query_factor(ctx, base)
    floor_part = int((conns + parallel) * WORK_MEM_MIN * factor)
    # On a small host with many CPUs the processes' own memory can leave no room even for the
    # smallest work_mem: tuned shared_buffers, then autovacuum and maintenance memory give way
    # (each down to its floor).
    held = False
    for path, floor in (("postgres.shared_buffers", SHARED_BUFFERS_MIN),
                        ("postgres.autovacuum_work_mem", MiB),
                        ("postgres.maintenance_work_mem", MiB)):
        overflow = sum(worst_case(ctx, {**base, "postgres.shared_buffers": sb,
                                        "postgres.work_mem": 0}).values()) + floor_part - budget
        if overflow <= 0 or path in ctx.fixed:
            continue
        current = {"postgres.shared_buffers": sb, "postgres.autovacuum_work_mem": avwm,
                   "postgres.maintenance_work_mem": mwm}[path]
        lowered = max(floor, floor_to(current - overflow - MiB, MiB))
        held = held or lowered < current
        if path == "postgres.shared_buffers":
            sb = lowered
        elif path == "postgres.autovacuum_work_mem":
            avwm = lowered
        else:
            mwm, avwm = lowered, min(avwm, lowered)
        base = {**base, "postgres.maintenance_work_mem": mwm, "postgres.autovacuum_work_mem": avwm}
    buffers = _buffers(ctx, budget, sb, held and sb < shared_buffers(ctx, budget))
    known = {**base, **{r.path: r.value for r in buffers}, **ctx.fixed,
             "postgres.shared_buffers": sb}
    without = worst_case(ctx, {**known, "postgres.work_mem": 0})
    wm, model, fit = work_mem(ctx, budget, sb, conns, slots, sum(without.values()),
                              conns + parallel, factor)
    wm = int(pick(ctx, "postgres.work_mem", wm))
    parts = worst_case(ctx, {**known, "postgres.work_mem": wm})
    pooled = "postgres.max_connections" not in ctx.fixed and bool(ctx.pools)
    inputs = {"budget": budget, "shared_buffers": sb, "max_connections": conns,
              "max_worker_processes": slots, "max_parallel_workers": parallel,
              "profile": ctx.db_profile, "per_process_factor": factor, "fit_limit": fit,
              "pgtune_model": model}
    deviation = ("sized from the pooled max_connections and PostgreSQL's own memory share, "
                 "not PGTune's connection guess and the whole host" if pooled else "")
    if wm != max(model, WORK_MEM_FLOOR):
        deviation = (deviation + "; " if deviation else "") + (
            f"held at {mib_text(wm)} so the worst case fits the budget or stays ≤ 1GiB "
            f"(PGTune's model gives {mib_text(model)}, floor 4MB)")
    nodes = NODES_PER_QUERY[ctx.db_profile]
    wm_rec = rec("postgres.work_mem", wm, "pg.memory.work_mem",
                 f"{conns} connections + {parallel} parallel workers, each up to {nodes} "
                 f"sorts/hashes × hash_mem_multiplier {factor / nodes:g}, fit in "
                 f"{mib_text(budget)} with shared_buffers and maintenance",
                 "min(PGTune (budget − shared_buffers) / ((max_connections + "
                 "max_worker_processes) × 3) / profile divisor, (budget − the rest of the worst "
                 "case) / ((max_connections + max_parallel_workers) × nodes × "
                 "hash_mem_multiplier)), ≥ min(4MB, fit), ≤ 1GiB", inputs, deviation)
    total = sum(parts.values())
    worst_rec = rec("budget.postgres_worst_case", total, "pg.memory.worst_case",
                    f"PostgreSQL at its worst uses {mib_text(total)} of its "
                    f"{mib_text(budget)}: every slot running its heaviest query",
                    "shared_buffers + wal_buffers + (max_connections + max_parallel_workers) × "
                    "work_mem × nodes × hash_mem_multiplier + autovacuum_max_workers × "
                    "autovacuum_work_mem + maintenance_work_mem + every process × 4MiB",
                    {"budget": budget, **{WORST_CASE_LABELS[k]: v for k, v in parts.items()},
                     "work_mem": wm, "per_process_factor": factor})
    return buffers + [wm_rec] + _maintenance(ctx, budget, mwm, avwm, workers) + [worst_rec]


def fit(ctx: TuneContext, s: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(connections the budget holds, bytes the planned connections need, that budget) when
    each process gets PostgreSQL's default work_mem (4MB) with shared_buffers, maintenance and
    autovacuum memory at their tuned (unheld) sizes; None without a budget.

    Below that the tuning still fits the worst case, but only by starving every query (P2:
    1GiB and 200 direct connections gave shared_buffers 16MB and work_mem 158kB): the request
    does not fit, and the answer is what would."""
    if "budget.postgres" not in s or "postgres.max_connections" not in s:
        return None
    budget = int(s["budget.postgres"])
    conns = int(s["postgres.max_connections"])
    workers = int(s.get("postgres.autovacuum_max_workers", 3))
    sb = int(ctx.fixed.get("postgres.shared_buffers", shared_buffers(ctx, budget)))
    mwm = int(ctx.fixed.get("postgres.maintenance_work_mem", maintenance_work_mem(ctx, budget)))
    avwm = int(ctx.fixed.get("postgres.autovacuum_work_mem",
                             autovacuum_work_mem(ctx, budget, mwm, workers)))
    settings = {**s, "postgres.shared_buffers": sb, "postgres.maintenance_work_mem": mwm,
                "postgres.autovacuum_work_mem": avwm, "postgres.work_mem": WORK_MEM_FLOOR,
                "postgres.wal_buffers": max(WAL_BUFFERS_MIN, min(
                    WAL_BUFFERS_MAX, floor_to(sb / WAL_BUFFERS_DIVISOR, PAGE)))}
    per_connection = int(WORK_MEM_FLOOR * per_query_factor(ctx, settings)) + PROCESS_BASE
    needed = sum(worst_case(ctx, settings).values())
    rest = needed - conns * per_connection
    return max(0, (budget - rest) // per_connection), needed, budget


# -- its part of the host's memory ---------------------------------------------------------

# PostgreSQL below 128 MiB (its default shared_buffers alone) cannot run a useful workload.
BUDGET_MIN = 128 * MiB


def budget_part(ctx: TuneContext, rest: int) -> Recommendation:
    """PostgreSQL takes what the other parts leave (``rest``: below 0 when they overshoot the
    host), or its stated share."""
    given = budget.stated(ctx, "postgres")
    size = given if given is not None else max(BUDGET_MIN, floor_to(rest, MiB))
    return rec("budget.postgres", size, "budget.postgres",
               f"PostgreSQL gets {mib_text(size)}: "
               + ("its stated share" if ctx.shares.of("postgres") is not None
                  else "the rest of the host"),
               "stated share, else host − os_reserve − workers − pgbouncer − redis",
               {"host_memory": ctx.host.memory, "stated": ctx.shares.of("postgres"),
                # every other part took host − rest: the whole exceeds the host by this
                "shortfall": max(0, size - rest)})


PART = budget.Part("postgres", "rest", budget_part)
