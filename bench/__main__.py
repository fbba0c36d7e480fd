"""``python -m bench [--quick] [--out DIR] [--only SECTION]… [--set PATH=VALUE]…``: run the benchmarks, print
progress, write results.md / results.json / plots into ``bench/results/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import machine, report
from bench.sizes import FULL, QUICK

SECTIONS = ("fleet", "database", "writes", "cache", "compiler")
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not numbers")
    p.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    p.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a setting of perfcfg's side (as perfcfg build --set), "
                        "to measure a tuning-engine change before making it")
    return p.parse_args(argv)


def run(args: argparse.Namespace, log=print) -> dict:
    from bench import cache, compiler, database, fleet, stackproject, writes
    from perfcfg.services.postgres.daemon import PgTemplate

    size = QUICK if args.quick else FULL
    sections = args.only or list(SECTIONS)
    results: dict = {"size": size.name}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    files = stackproject.compile_stack(size.fleet_clients, tuple(args.set))
    if {"fleet", "database", "writes"} & set(sections):
        with PgTemplate() as template:
            for name, module in (("fleet", fleet), ("database", database), ("writes", writes)):
                if name in sections:
                    log(f"{name}…")
                    began = time.perf_counter()
                    results[name] = module.run(size, template, files, log)
                    timings[name] = time.perf_counter() - began
    if "cache" in sections:
        log("cache…")
        began = time.perf_counter()
        fill_sets = (f"redis.maxmemory={size.redis_fill_maxmemory}",) \
            if size.redis_fill_maxmemory else ()
        fill_files = stackproject.compile_stack(size.fleet_clients, tuple(args.set) + fill_sets)
        results["cache"] = cache.run(size, (files["redis.conf"], files["users.acl"]),
                                     (fill_files["redis.conf"], fill_files["users.acl"]), log)
        timings["cache"] = time.perf_counter() - began
    if "compiler" in sections:
        log("compiler…")
        began = time.perf_counter()
        results["compiler"] = compiler.run(size, log)
        timings["compiler"] = time.perf_counter() - began
    results["seconds"] = time.perf_counter() - start
    results["section_seconds"] = timings
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    results = run(args)
    command = "python -m bench" + (" --quick" if args.quick else "") + "".join(
        f" --only {s}" for s in args.only or ()) + "".join(f" --set {s}" for s in args.set)
    for path in report.write(args.out, results, machine.describe(), command):
        print(f"wrote {path}")
    print(report.markdown(results, machine.describe(), command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
