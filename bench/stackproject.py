"""The project the stack benchmarks compile: a bot fleet on a host profile of *this* machine.

The host profile comes from ``perfcfg.host.detect.detect()`` (what ``perfcfg host`` prints), so
the tuned files are sized for the machine the benchmark runs on. The fleet declares one
program of ``clients`` single-connection bots, which is what pgbench's clients stand for.

>>> files = compile_stack(clients=10)                        # doctest: +SKIP
>>> sorted(files)[:2]
['pg_hba.conf', 'pgbouncer.ini']
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from perfcfg.host import detect as hostdetect
from perfcfg.stages import pipeline

ENV = "fleet"
DATABASE = "bench"
USER = "bot"
PASSWORD = "bench-only-password"   # loopback-only throwaway daemons
PASSWORD_VAR = "BENCH_DB_PASSWORD"

PROJECT = """\
project: benchfleet
output: generated/{env}
targets: {postgres: 15, pgbouncer: "1.18", redis: "7.0", supervisor: "4.2"}
secrets: {mode: resolve}
environments:
  fleet: {preset: presets/fleet.yaml, host: hosts/this-machine.yaml}
"""

PRESET = """\
extends: [builtin:production]
databases:
  - {name: %(db)s, user: %(user)s}
users:
  - {name: %(user)s, password: "${env:%(var)s}"}
workload:
  db_profile: oltp
  programs:
    - name: bot
      command: python -m bot
      processes: %(clients)d
      db_connections: 1
      redis_connections: 1
      memory: 30MiB
      run_as: bot      # the bench never starts supervisord; the file names an unprivileged user
redis:
  users:
    # redis-benchmark logs in as the default user, as it would against a stock Redis.
    - {name: default, nopass: true, keys: ["*"], channels: ["*"], commands: [+@all]}
policy:
  waivers:
    - rule: PCF404
      reason: a throwaway benchmark Redis on loopback that redis-benchmark reaches as default
"""


def host_profile_yaml() -> str:
    """This machine as a host profile (the figures ``perfcfg host`` prints)."""
    found = hostdetect.detect()
    return (f"# detected by perfcfg.host.detect.detect(): {found.provenance.get('storage', '')}\n"
            f"memory: {found.memory // 1024}KiB\ncpus: {found.cpus}\n"
            f"storage: {found.storage}\nopen_files: {found.open_files}\n")


def write_project(root: Path, clients: int) -> Path:
    (root / "presets").mkdir(parents=True, exist_ok=True)
    (root / "hosts").mkdir(exist_ok=True)
    (root / "perfcfg.yaml").write_text(PROJECT)
    (root / "presets/fleet.yaml").write_text(PRESET % {
        "db": DATABASE, "user": USER, "var": PASSWORD_VAR, "clients": clients})
    (root / "hosts/this-machine.yaml").write_text(host_profile_yaml())
    return root


def compile_stack(clients: int, sets: tuple[str, ...] = ()) -> dict[str, str]:
    """Every generated file of the fleet environment, as text; raises on diagnostics errors."""
    with tempfile.TemporaryDirectory(prefix="pf-bench-proj-") as tmp:
        root = write_project(Path(tmp), clients)
        result = pipeline.compile_env(pipeline.Request(
            root, ENV, sets=sets, environ={PASSWORD_VAR: PASSWORD}))
        if not result.ok:
            raise RuntimeError("bench project does not compile: " + "; ".join(
                d.message for d in result.diagnostics if d.severity == "error"))
        return {name: data.decode() for name, data in result.files.items()}


def scram_secret(userlist: str, user: str = USER) -> str:
    """The SCRAM secret of ``user`` in userlist.txt (PostgreSQL must store the same one)."""
    for line in userlist.splitlines():
        if line.startswith(f'"{user}" '):
            return line.split(" ", 1)[1].strip().strip('"')
    raise KeyError(user)
