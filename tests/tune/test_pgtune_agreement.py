"""perfcfg's PostgreSQL recommenders, fed PGTune's inputs, agree with PGTune within 10% — or say
why not in ``Recommendation.deviation``."""

from typing import Literal

import pytest

from perfcfg.cli.calculator import CalcInput, calculate
from perfcfg.tune.context import GiB
from tune.pgtune_oracle import DEFAULT_CONNECTIONS, PgTuneInput, pgtune, to_bytes

TOLERANCE = 0.10
# What PostgreSQL uses when PGTune omits a key (pg_settings boot values; autovacuum_work_mem -1
# means maintenance_work_mem; jit defaults to on).
PG_DEFAULTS = {"max_worker_processes": 8, "max_parallel_workers": 8,
               "max_parallel_workers_per_gather": 2, "max_parallel_maintenance_workers": 2,
               "autovacuum_max_workers": 3, "jit": "on"}

CASES: dict[str, tuple[Literal["web", "oltp", "dw", "mixed"], int, int,
                       Literal["ssd", "hdd", "san"]]] = {
    "a-web-4G-2cpu-ssd": ("web", 4, 2, "ssd"),
    "b-oltp-16G-4cpu-ssd": ("oltp", 16, 4, "ssd"),
    "c-dw-64G-16cpu-hdd": ("dw", 64, 16, "hdd"),
    "d-mixed-8G-8cpu-san": ("mixed", 8, 8, "san"),
}

# Where perfcfg knowingly differs from PGTune for these four inputs (checked below to carry a
# deviation); everything else must be within 10%. work_mem: with PGTune's connection counts,
# PGTune's own work_mem does not fit the worst case once hash_mem_multiplier (2.0 on 16) and
# the parallel workers are counted, so perfcfg holds it lower.
EXPECTED_DEVIATIONS = {
    "a-web-4G-2cpu-ssd": {"effective_io_concurrency", "max_parallel_workers",
                          "max_parallel_workers_per_gather", "max_parallel_maintenance_workers",
                          "work_mem"},
    "b-oltp-16G-4cpu-ssd": {"effective_io_concurrency", "max_worker_processes", "work_mem"},
    "c-dw-64G-16cpu-hdd": {"max_worker_processes", "autovacuum_work_mem", "work_mem"},
    "d-mixed-8G-8cpu-san": {"max_worker_processes", "work_mem"},
}


def _normal(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def _pgtune_effective(profile, gib, cpus, storage):
    result = pgtune(PgTuneInput(16, "linux", profile, gib, "GB", cpus, hd_type=storage))
    values = {k: _normal(to_bytes(k, v)) for k, v in result.settings}
    values.setdefault("autovacuum_work_mem", values["maintenance_work_mem"])
    return {**PG_DEFAULTS, **values}


def _perfcfg(profile, gib, cpus, storage):
    inputs = CalcInput("postgres", gib * GiB, cpus, DEFAULT_CONNECTIONS[profile], "16",
                       {"storage": storage, "profile": profile})
    return {r.path.removeprefix("postgres."): r for r in calculate(inputs)}


def _close(ours, theirs):
    if isinstance(theirs, str) or isinstance(ours, str):
        return str(ours) == str(theirs)
    return abs(ours - theirs) <= TOLERANCE * abs(theirs)


def _compare(case):
    theirs, ours = _pgtune_effective(*CASES[case]), _perfcfg(*CASES[case])
    return {k: (ours[k], v) for k, v in theirs.items() if k in ours}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_every_key_pgtune_emits_is_recommended(case):
    profile, gib, cpus, storage = CASES[case]
    emitted = {k for k, _ in pgtune(PgTuneInput(16, "linux", profile, gib, "GB", cpus,
                                                hd_type=storage)).settings}
    assert emitted - set(_perfcfg(*CASES[case])) == set()


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_within_ten_percent_or_deviation_documented(case):
    differing = set()
    for key, (ours, theirs) in _compare(case).items():
        if not _close(_normal(ours.value), theirs):
            differing.add(key)
            assert ours.deviation, f"{key}: {ours.value} vs PGTune {theirs} without a deviation"
    assert differing == EXPECTED_DEVIATIONS[case]
