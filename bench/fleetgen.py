"""Generate a project of N environments, each with its own host profile and workload.

Hosts and workloads vary deterministically with the index (RAM 2–256 GiB, 1–32 CPUs, three
storage classes, three built-in presets, 1–4 worker programs), so every size is reproducible.

>>> import tempfile, pathlib
>>> root = generate(pathlib.Path(tempfile.mkdtemp()), 3)
>>> sorted(p.name for p in (root / "hosts").iterdir())
['h0000.yaml', 'h0001.yaml', 'h0002.yaml']
"""

from __future__ import annotations

from pathlib import Path

MEMORY_GIB = (2, 4, 8, 16, 32, 64, 128, 256)
CPUS = (1, 2, 4, 8, 16, 32)
STORAGE = ("hdd", "ssd", "nvme")
BASES = ("production", "staging", "development")
PROGRAMS = (("matcher", 120), ("notifier", 80), ("payments", 200), ("moderation", 300))


def _host(i: int) -> str:
    mem = MEMORY_GIB[i % len(MEMORY_GIB)]
    cpus = CPUS[(i // 2) % len(CPUS)]
    return (f"memory: {mem}GiB\ncpus: {cpus}\nstorage: {STORAGE[i % 3]}\n"
            f"open_files: {65536 * (1 + i % 4)}\n")


def _preset(i: int) -> str:
    mem = MEMORY_GIB[i % len(MEMORY_GIB)]
    programs = PROGRAMS[:1 + i % len(PROGRAMS)]
    scale = max(1, mem // 8)
    lines = [f"extends: [builtin:{BASES[i % 3]}]",
             "databases:", f"  - {{name: app{i}, user: bot}}",
             "users:", "  - {name: bot, password: \"${env:BOT_PASSWORD}\"}",
             "redis:", "  users:",
             "    - {name: bot, password: \"${env:BOT_REDIS_PASSWORD}\", keys: [\"app:*\"],"
             " commands: [+@all, -@dangerous]}",
             "workload:", f"  db_profile: {('oltp', 'web', 'mixed')[i % 3]}", "  programs:"]
    for n, (name, memory) in enumerate(programs):
        lines += [f"    - name: {name}", f"      command: python -m app.{name}",
                  f"      processes: {1 + (i + n) % 4 * scale}",
                  f"      db_connections: {1 + n % 2}", "      redis_connections: 1",
                  f"      memory: {memory}MiB", "      run_as: app"]
    return "\n".join(lines) + "\n"


def generate(root: Path, n: int) -> Path:
    """Write perfcfg.yaml, presets/eNNNN.yaml and hosts/hNNNN.yaml for ``n`` environments."""
    (root / "presets").mkdir(parents=True, exist_ok=True)
    (root / "hosts").mkdir(exist_ok=True)
    envs = []
    for i in range(n):
        (root / f"hosts/h{i:04d}.yaml").write_text(_host(i))
        (root / f"presets/e{i:04d}.yaml").write_text(_preset(i))
        envs.append(f"  e{i:04d}: {{preset: presets/e{i:04d}.yaml, host: hosts/h{i:04d}.yaml}}")
    (root / "perfcfg.yaml").write_text(
        "project: scale\noutput: generated/{env}\n"
        "targets: {postgres: 15, pgbouncer: \"1.18\", redis: \"7.0\", supervisor: \"4.2\"}\n"
        "secrets: {mode: placeholder}\nenvironments:\n" + "\n".join(envs) + "\n")
    return root
