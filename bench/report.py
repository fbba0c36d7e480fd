"""Turn the results of a run into ``results.md`` (tables with ratios), ``results.json`` and
plots. Numbers are printed as measured; nothing here computes anything but medians and ratios.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bench.stats import median, ratio


def _f(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _mem(runs, part: str) -> str:
    values = [r.memory_mb[part] for r in runs if part in r.memory_mb]
    if not values:
        return "—"
    return f"{_f(median([v[0] for v in values]))} / {_f(median([v[1] for v in values]))}"


def pg_table(results: dict, baseline: str) -> str:
    head = ["workload", "config", "TPS (median)", "TPS ratio vs " + baseline, "p50 ms", "p95 ms",
            "p99 ms", "p99 ratio", "failed", "postgres RSS / PSS MiB", "pgbouncer RSS / PSS MiB",
            "rounds (TPS)"]
    rows = []
    for script, by_config in results.items():
        base = by_config[baseline]
        base_tps, base_p99 = median([r.tps for r in base]), median([r.p99_ms for r in base])
        for name, runs in by_config.items():
            tps, p99 = median([r.tps for r in runs]), median([r.p99_ms for r in runs])
            rows.append([script, name, _f(tps), f"{ratio(tps, base_tps):.2f}×",
                         _f(median([r.p50_ms for r in runs]), 2),
                         _f(median([r.p95_ms for r in runs]), 2), _f(p99, 2),
                         f"{ratio(p99, base_p99):.2f}×", str(sum(r.failed for r in runs)),
                         _mem(runs, "postgres"), _mem(runs, "pgbouncer"),
                         ", ".join(_f(r.tps) for r in runs)])
    return _table(head, rows)


def writes_table(results: dict, baseline: str = "stock") -> str:
    head = ["workload", "config", "TPS (median)", "TPS ratio vs " + baseline, "p50 ms", "p99 ms",
            "checkpoints per run", "WAL MiB per run", "postgres RSS / PSS MiB", "rounds (TPS)"]
    rows = []
    for script, by_config in results.items():
        base_tps = median([w.run.tps for w in by_config[baseline]])
        for name, runs in by_config.items():
            tps = median([w.run.tps for w in runs])
            rows.append([script, name, _f(tps), f"{ratio(tps, base_tps):.2f}×",
                         _f(median([w.run.p50_ms for w in runs]), 2),
                         _f(median([w.run.p99_ms for w in runs]), 2),
                         ", ".join(str(w.checkpoints) for w in runs),
                         ", ".join(_f(w.wal_mb) for w in runs),
                         _mem([w.run for w in runs], "postgres"),
                         ", ".join(_f(w.run.tps) for w in runs)])
    return _table(head, rows)


def cache_tables(results: dict) -> str:
    rows = []
    for case, by_config in results["bench"].items():
        tuned, stock = (median([r.rps for r in by_config[n]]) for n in ("perfcfg", "stock"))
        rows.append([case, _f(tuned), _f(stock), f"{ratio(tuned, stock):.2f}×",
                     _f(median([r.p99_ms for r in by_config["perfcfg"]]), 3),
                     _f(median([r.p99_ms for r in by_config["stock"]]), 3)])
    bench = _table(["test", "perfcfg rps (median)", "stock rps (median)", "ratio",
                    "perfcfg p99 ms", "stock p99 ms"], rows)
    fill_rows = [[name, _f(f.maxmemory_mb) if f.maxmemory_mb else "none", _f(f.sent_mb),
                  _f(f.used_memory_mb), _f(f.used_memory_rss_mb), _f(f.keys),
                  _f(f.evicted_keys), str(f.errors), "yes" if f.alive else "NO"]
                 for name, f in results["fill"].items()]
    fill = _table(["config", "maxmemory MiB", "values sent MiB", "used_memory MiB",
                   "used_memory_rss MiB", "keys kept", "evicted_keys", "write errors",
                   "server alive"], fill_rows)
    return bench + "\nFill past maxmemory (16 KiB values, 1.25 × perfcfg's maxmemory):\n\n" + fill


def compiler_tables(results: dict) -> str:
    c = results["cold_build"]
    cold = _table(["runs", "median ms", "p90 ms", "min ms", "peak RSS MiB", "failures"],
                  [[str(c["runs"]), _f(c["median_ms"]), _f(c["p90_ms"]), _f(c["min_ms"]),
                    _f(c["peak_rss_mb"], 1), str(c["failures"])]])
    rows = [[_f(r["environments"]), _f(r["validate_s"], 2), _f(r["validate_rss_mb"], 1),
             _f(r["build_s"], 2), _f(r["build_ms_per_env"], 1), _f(r["build_rss_mb"], 1),
             f"{r['validate_exit']}/{r['build_exit']}"] for r in results["scale"]]
    scale = _table(["environments", "validate all s", "validate peak RSS MiB", "build all s",
                    "build ms / env", "build peak RSS MiB", "exit codes"], rows)
    text = ("Cold `perfcfg build --env production` of examples/botfarm (process start to exit):"
            "\n\n" + cold + "\nGenerated projects (one host profile per environment):\n\n" + scale)
    if results.get("programs"):
        rows = [[_f(r["programs"]), _f(r["validate_s"], 2), _f(r["validate_rss_mb"], 1),
                 _f(r["build_s"], 2), _f(r["build_rss_mb"], 1),
                 f"{r['validate_exit']}/{r['build_exit']}"] for r in results["programs"]]
        text += ("\nOne environment with many programs (`bench/compiler.py`, `programs`):\n\n" +
                 _table(["programs", "validate s", "validate peak RSS MiB", "build s",
                         "build peak RSS MiB", "exit codes"], rows))
    return text


def markdown(results: dict, machine: dict[str, str], command: str) -> str:
    took = ", ".join(f"{k} {v:.0f} s" for k, v in results.get("section_seconds", {}).items())
    parts = [f"Command: `{command}` (size: {results['size']}, total {results['seconds']:.0f} s: "
             f"{took})\n",
             _table(["machine / version", "value"], [[k, v] for k, v in machine.items()])]
    if "fleet" in results:
        parts += ["\n### Bot fleet (pgbench through perfcfg's pgbouncer vs straight into stock)\n",
                  pg_table(results["fleet"], "stock PG, direct")]
    if "database" in results:
        parts += ["\n### Database (PostgreSQL alone: perfcfg vs stock vs PGTune)\n",
                  pg_table(results["database"], "stock")]
    if "writes" in results:
        parts += ["\n### Write-heavy (TPC-B-like, data ≫ stock shared_buffers, checkpoints)\n",
                  writes_table(results["writes"])]
    if "cache" in results:
        parts += ["\n### Cache (redis-benchmark; fill past maxmemory)\n",
                  cache_tables(results["cache"])]
    if "compiler" in results:
        parts += ["\n### Compiler speed and scale\n", compiler_tables(results["compiler"])]
    return "\n".join(parts)


def _plain(obj):
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    raise TypeError(type(obj))


def write(out: Path, results: dict, machine: dict[str, str], command: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.md", out / "results.json"]
    written[0].write_text(markdown(results, machine, command))
    written[1].write_text(json.dumps({"machine": machine, "command": command, **results},
                                     default=_plain, indent=1))
    return written + plots(out, results)


def plots(out: Path, results: dict) -> list[Path]:
    """Scale curve and fleet latency percentiles; skipped without matplotlib (bench extra)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    if "compiler" in results:
        rows = results["compiler"]["scale"]
        fig, ax = plt.subplots(figsize=(6, 4))
        n = [r["environments"] for r in rows]
        ax.plot(n, [r["build_s"] for r in rows], "o-", label="build all")
        ax.plot(n, [r["validate_s"] for r in rows], "s-", label="validate all")
        ax.set(xscale="log", yscale="log", xlabel="environments", ylabel="seconds (one process)",
               title="perfcfg: cost vs number of environments")
        ax.grid(True, which="both", alpha=.3)
        ax.legend()
        written.append(out / "scale.png")
        fig.savefig(written[-1], dpi=100, bbox_inches="tight")
        plt.close(fig)
    if "fleet" in results:
        fig, axes = plt.subplots(1, len(results["fleet"]), figsize=(10, 4))
        for ax, (script, by_config) in zip(axes, results["fleet"].items(), strict=True):
            for i, (name, runs) in enumerate(by_config.items()):
                values = [median([getattr(r, k) for r in runs]) for k in ("p50_ms", "p95_ms", "p99_ms")]
                ax.bar([x + i * 0.4 for x in range(3)], values, width=0.4, label=name)
            ax.set_xticks([0.2, 1.2, 2.2], ["p50", "p95", "p99"])
            ax.set(title=f"bot fleet: {script}", ylabel="latency ms (median of rounds)")
            ax.legend(fontsize=7)
        written.append(out / "fleet_latency.png")
        fig.savefig(written[-1], dpi=100, bbox_inches="tight")
        plt.close(fig)
    return written
