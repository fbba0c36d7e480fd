"""The 15-host matrix of issue 26's review: 1 GiB/1 CPU to 2 TiB/192 CPUs, HDD/SSD/SAN/NVMe,
Linux/macOS/Windows, PostgreSQL 15–18, Redis 7/8 and Valkey 8, web/oltp/dw/mixed/desktop.

Each host is one environment of one project, built through the whole pipeline. The tests pin
the safety properties, not the numbers: every budget part and PostgreSQL's worst case within
the host, every tuned value inside its daemon version's catalog, and none of the review's
problems (P1–P14, the ones this part owns) reproducible. The daemon tests hand every plan to its
real PostgreSQL (``postgres -C``: each value parsed and range-checked; a 2 TiB plan cannot
start on this machine), start the real server of each version on the
small hosts' plans, and start every plan's pgbouncer and Redis or Valkey of its version.

The builds target the PostgreSQL binaries installed here (their catalogs' ``build``: the
16 and 18 builds lack lz4 and liburing), so that a plan can start on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_daemon
from helpers import ROOT, write

from perfcfg.cli.calculator import CalcInput, calculate_data
from perfcfg.core.units import format_size
from perfcfg.services import registry
from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US
from perfcfg.stages.pipeline import Request, Result, compile_env
from perfcfg.tune.context import GiB, MiB, TiB

CATALOGS = ROOT / "schemas" / "catalogs"


@dataclass(frozen=True)
class Host:
    name: str
    memory: int
    cpus: int
    storage: str
    os: str
    postgres: int
    cache: tuple[str, str]          # ("redis" | "valkey", version)
    profile: str
    kind: str = "production"
    limits: bool = False            # deploy.limits: the build writes the kernel's files
    data_size: int | None = None
    wal_disk: int | None = None
    role: str = "cache"

    @property
    def processes(self) -> int:
        return max(2, min(4 * self.cpus, 400))


HOSTS = (
    Host("h01-1g-1cpu-hdd", 1 * GiB, 1, "hdd", "linux", 15, ("redis", "7.0"), "web"),
    Host("h02-2g-darwin", 2 * GiB, 1, "ssd", "darwin", 16, ("redis", "7.0"), "desktop",
         kind="development"),
    Host("h03-4g-windows", 4 * GiB, 2, "ssd", "windows", 17, ("valkey", "8.0"), "web"),
    Host("h04-8g-san", 8 * GiB, 2, "san", "linux", 18, ("redis", "8.0"), "mixed",
         kind="staging"),
    Host("h05-8g-darwin-18", 8 * GiB, 4, "nvme", "darwin", 18, ("valkey", "8.1"), "oltp"),
    Host("h06-16g-hdd-dw-small-data", 16 * GiB, 4, "hdd", "linux", 16, ("redis", "7.0"), "dw",
         data_size=4 * GiB),
    Host("h07-32g-windows-18", 32 * GiB, 8, "ssd", "windows", 18, ("valkey", "8.1"), "oltp"),
    Host("h08-64g-nvme-limits", 64 * GiB, 16, "nvme", "linux", 17, ("valkey", "8.1"), "oltp",
         limits=True),
    Host("h09-128g-san", 128 * GiB, 32, "san", "linux", 15, ("redis", "7.0"), "mixed",
         role="store"),
    Host("h10-256g-dw-wal-disk", 256 * GiB, 48, "nvme", "linux", 18, ("valkey", "8.0"), "dw",
         limits=True, wal_disk=1 * TiB),
    Host("h11-512g-64cpu-valkey", 512 * GiB, 64, "ssd", "linux", 16, ("valkey", "8.1"), "web"),
    Host("h12-1t-dw-no-wal-disk", 1 * TiB, 96, "nvme", "linux", 17, ("redis", "8.0"), "dw"),
    Host("h13-1t-hdd-18-store", 1 * TiB, 128, "hdd", "linux", 18, ("redis", "7.0"), "dw",
         role="store"),
    Host("h14-2t-192cpu", 2 * TiB, 192, "nvme", "linux", 18, ("valkey", "8.1"), "oltp",
         limits=True),
    Host("h15-24g-darwin-mixed", 24 * GiB, 6, "ssd", "darwin", 17, ("valkey", "8.0"), "mixed",
         kind="staging"),
)
BY_NAME = {h.name: h for h in HOSTS}
IDS = [h.name for h in HOSTS]
# the small hosts' plans a real server of each version starts with
STARTED = ("h01-1g-1cpu-hdd", "h02-2g-darwin", "h03-4g-windows", "h04-8g-san")


def build_features(version: int) -> dict[str, bool]:
    """What the installed PostgreSQL of ``version`` was built with (its catalog says)."""
    features = json.loads((CATALOGS / f"postgresql-{version}.json").read_text())["build"]["features"]
    return {f: features.get(f) is not False for f in ("lz4", "zstd", "liburing")}


def _size(n: int) -> str:
    return format_size(n)


def write_project(root: Path) -> Path:
    envs = []
    for h in HOSTS:
        host = [f"memory: {_size(h.memory)}", f"cpus: {h.cpus}", f"storage: {h.storage}",
                f"os: {h.os}", "open_files: 1048576"]
        if h.wal_disk is not None:
            host.append(f"wal_disk: {_size(h.wal_disk)}")
        write(root / f"hosts/{h.name}.yaml", "\n".join(host) + "\n")
        workload = [f"  db_profile: {h.profile}"]
        if h.data_size is not None:
            workload.append(f"  data_size: {_size(h.data_size)}")
        write(root / f"presets/{h.name}.yaml", f"""\
extends: [builtin:{h.kind}]
databases: [{{name: app, user: bot}}]
users: [{{name: bot, password: "${{env:MATRIX_PASSWORD}}"}}]
clients: [{{name: monitoring, user: monitor, database: app, connections: 2}}]
redis:
  role: {h.role}
  users:
    - {{name: bot, password: "${{env:MATRIX_PASSWORD}}", keys: ["*"], commands: [+@all]}}
workload:
{chr(10).join(workload)}
  programs:
    - {{name: bot, command: python -m bot, processes: {h.processes}, db_connections: 1,
       redis_connections: 2, memory: 48MiB, run_as: bot}}
""")
        build = ", ".join(f"{k}: {str(v).lower()}" for k, v in build_features(h.postgres).items())
        envs.append(f"""\
  {h.name}:
    preset: presets/{h.name}.yaml
    host: hosts/{h.name}.yaml
    kind: {h.kind}
    targets: {{postgres: {h.postgres}, postgres_build: {{{build}}}, {h.cache[0]}: "{h.cache[1]}"}}
    deploy: {{limits: {str(h.limits).lower()}}}
""")
    write(root / "perfcfg.yaml", "project: matrix\nsecrets: {mode: placeholder}\n"
          "targets: {pgbouncer: \"1.24\", supervisor: \"4.3\"}\nenvironments:\n" + "".join(envs))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    project = write_project(tmp_path_factory.mktemp("matrix"))
    return {h.name: compile_env(Request(project, h.name, secrets_mode="placeholder"))
            for h in HOSTS}


def plan_values(result: Result) -> dict[str, Any]:
    assert result.plan is not None, [str(d) for d in result.diagnostics]
    return {path: s.value for path, s in result.plan.settings.items()}


# -- the safety properties -----------------------------------------------------------------

@pytest.mark.parametrize("name", IDS)
def test_every_host_builds_without_a_finding_about_its_budgets(built, name):
    result = built[name]
    assert result.ok, [f"{d.code} {d.message}" for d in result.diagnostics
                       if d.severity == "error"]
    budget_codes = {"PCF301", "PCF302", "PCF303", "PCF304", "PCF305", "PCF306", "PCF307",
                    "PCF308", "PCF312", "PCF313", "PCF320"}
    assert [d.code for d in result.diagnostics if d.code in budget_codes] == []


@pytest.mark.parametrize("name", IDS)
def test_worst_case_within_the_budget(built, name):
    v = plan_values(built[name])
    parts = [v[f"budget.{p}"] for p in ("os_reserve", "workers", "pgbouncer", "redis",
                                        "postgres")]
    assert sum(parts) <= BY_NAME[name].memory
    assert v["budget.postgres_worst_case"] <= v["budget.postgres"]
    # PostgreSQL's worst case, recomputed from the written values: every slot and parallel
    # worker at its heaviest query, autovacuum and one maintenance job, every process's base
    from perfcfg.services.postgres.tuning import memory
    factor = memory.NODES_PER_QUERY[BY_NAME[name].profile] * 2.0    # hash_mem_multiplier 15+
    worst = (v["postgres.shared_buffers"] + v["postgres.wal_buffers"]
             + (v["postgres.max_connections"] + v["postgres.max_parallel_workers"])
             * v["postgres.work_mem"] * factor
             + v["postgres.autovacuum_max_workers"] * v["postgres.autovacuum_work_mem"]
             + v["postgres.maintenance_work_mem"]
             + (v["postgres.max_connections"] + v["postgres.max_parallel_workers"]
                + v["postgres.autovacuum_max_workers"]) * memory.PROCESS_BASE)
    assert worst <= v["budget.postgres"]


def _in_catalog(service: Any, targets: Any, name: str, value: Any) -> bool | None:
    """Is ``value`` (perfcfg's canonical unit) inside the catalog's range or values? None when
    the catalog cannot say (no such parameter in a section, or not a number or an enum)."""
    param = service.param(targets, name)
    if param is None or isinstance(value, bool):
        return None
    if param.type == "enum":
        return param.values is None or str(value) in param.values
    if not isinstance(value, (int, float)) or param.min is None or param.max is None:
        return None
    scale = 1
    if service.name == "postgres":
        scale = {**PG_BASE_BYTES, **PG_BASE_US}.get(param.unit or "", 1)
    elif param.unit is not None:
        return None     # a size or duration another daemon writes in units of its own
    own = value / scale
    return (value == -1 and param.min == -1) or param.min <= own <= param.max


@pytest.mark.parametrize("name", IDS)
def test_every_tuned_value_is_inside_its_catalog(built, name):
    result = built[name]
    assert result.plan is not None and result.config is not None
    services = {s.name: s for s in registry.SERVICES}
    checked, outside = 0, []
    for path, setting in result.plan.settings.items():
        service = services.get(path.split(".", 1)[0])
        if service is None or not setting.tuned or path.count(".") != 1:
            continue
        inside = _in_catalog(service, result.config.targets, setting.name, setting.value)
        if inside is None:
            continue
        checked += 1
        if not inside:
            outside.append((path, setting.value))
    assert outside == [] and checked > 20


# -- none of the review's problems reproducible ------------------------------------------

def _pg(built: dict[str, Result], name: str) -> tuple[Host, dict[str, Any]]:
    return BY_NAME[name], plan_values(built[name])


@pytest.mark.parametrize("name", IDS)
def test_prefetch_is_what_the_kernel_and_version_accept(built, name):
    """P1/P3/P4/P6: ≤ 17 off Linux no prefetch (it refuses to start); 18 prefetches on every
    kernel, never below its defaults 16/16, and VACUUM's read-stream depth stays ≤ 100."""
    h, v = _pg(built, name)
    eio, mio = v["postgres.effective_io_concurrency"], v["postgres.maintenance_io_concurrency"]
    if h.postgres <= 17 and h.os != "linux":
        assert (eio, mio) == (0, 0)
    elif h.postgres >= 18:
        assert eio >= 16 and 16 <= mio <= 100
        assert v["postgres.io_method"] == "worker"   # no liburing build here; io_uring is Linux's
    else:
        assert eio >= 2 and mio >= 10


@pytest.mark.parametrize("name", IDS)
def test_page_costs_follow_where_the_data_is(built, name):
    """P5: data that fits the cache is read from memory, whatever the profile or the disk."""
    h, v = _pg(built, name)
    cached = h.data_size is not None and h.data_size * 1.2 <= v["budget.postgres"] * 0.75
    slow = (h.storage == "hdd" or h.profile == "dw") and not cached
    assert v["postgres.random_page_cost"] == (4.0 if slow else 1.1)


@pytest.mark.parametrize("name", IDS)
def test_operators_have_spare_slots_counted_in_the_budget(built, name):
    """P7: Σ pools + direct + reserved + spare = max_connections, with 3 spare slots."""
    result = built[name]
    assert result.plan is not None
    setting = result.plan.settings["postgres.max_connections"]
    inputs = setting.inputs
    assert inputs["spare_connections"] == 3
    v = plan_values(result)
    caps = sum(value for path, value in v.items()
               if path.startswith("pgbouncer.databases.") and path.endswith(".max_db_connections"))
    assert caps == inputs["pooled_slots"]
    result_config = result.config
    assert result_config is not None
    direct = sum(c.connections for c in result_config.clients if not c.replication)
    assert direct >= 2 and inputs["direct_clients"] == direct   # ours, and any exporter's
    assert v["postgres.max_connections"] == caps + direct + 3 + v[
        "postgres.superuser_reserved_connections"] + v.get("postgres.reserved_connections", 0)


@pytest.mark.parametrize("name", IDS)
def test_huge_pages_never_become_an_unwritten_start_dependency(built, name):
    """P8/P14: on only when the build writes vm.nr_hugepages; try on Windows (large pages);
    off where the kernel has none."""
    h, v = _pg(built, name)
    sb, huge = v["postgres.shared_buffers"], v["postgres.huge_pages"]
    if huge == "on":
        assert h.limits and h.os == "linux" and "sysctl.conf" in built[name].files
    if h.kind != "development" and sb >= 2 * GiB and h.os in ("linux", "windows"):
        assert huge in ("on", "try")
    if h.os in ("darwin",):
        assert huge == "off"
    if h.limits and h.os == "linux" and sb >= 32 * GiB:
        assert huge == "on"
        assert f"vm.nr_hugepages = {v['budget.nr_hugepages']}" in \
            built[name].files["sysctl.conf"].decode()


@pytest.mark.parametrize("name", IDS)
def test_wal_keeps_up_with_shared_buffers(built, name):
    """P9: without a WAL disk, max_wal_size follows shared_buffers (a quarter, ≤ 64GiB)."""
    h, v = _pg(built, name)
    if h.kind == "development":
        return
    want = min(64 * GiB, v["postgres.shared_buffers"] // 4 // GiB * GiB)
    if h.wal_disk is None:
        assert v["postgres.max_wal_size"] >= want
    else:
        assert v["postgres.max_wal_size"] <= min(64 * GiB, h.wal_disk * 0.6 + 16 * MiB)


@pytest.mark.parametrize("name", IDS)
def test_a_persisting_redis_is_never_sized_to_stall_on_its_forks(built, name):
    """P10: a 1TiB host's store got 104GiB (250GiB budgeted for copy-on-write, second-long fork
    stalls): a persisting Redis stops at 16GiB and the rest goes to PostgreSQL."""
    h, v = _pg(built, name)
    if h.role == "store":
        assert v["redis.maxmemory"] <= 16 * GiB
        assert v["budget.redis"] <= 16 * GiB * 1.2 * 2 + 16 * MiB
    assert not [d for d in built[name].diagnostics if d.code == "PCF321"]


@pytest.mark.parametrize("name", IDS)
def test_the_poolers_backlog_holds_its_clients(built, name):
    """P12: listen_backlog holds every client's reconnect (up to Linux's somaxconn 4096)."""
    _, v = _pg(built, name)
    assert v["pgbouncer.listen_backlog"] >= min(4096, v["pgbouncer.max_client_conn"])


@pytest.mark.parametrize("name", IDS)
def test_valkey_8_gets_its_io_threads_on_multi_core_hosts(built, name):
    """P13: Valkey 8's I/O threads on multi-core hosts (a quarter of the CPUs, ≤ 8)."""
    h, v = _pg(built, name)
    threads = v["redis.io-threads"]
    if h.cache[0] == "valkey" and h.cpus >= 4 and h.kind != "development":
        assert threads == max(2, min(h.cpus // 4, 8))
    assert 1 <= threads <= max(1, h.cpus)


@pytest.mark.parametrize("name", IDS)
def test_guards_and_headroom(built, name):
    """The review's "not covered" items, each where it is safe."""
    h, v = _pg(built, name)
    if h.profile != "dw" or h.data_size is not None:
        assert 0 < v["postgres.temp_file_limit"] <= 2147483647 * 1024
    timeouts = h.profile in ("web", "oltp") and h.kind != "development"
    assert ("postgres.lock_timeout" in v) == timeouts
    assert ("postgres.transaction_timeout" in v) == (timeouts and h.postgres >= 17)
    assert "postgres.statement_timeout" not in v
    assert (v.get("postgres.autovacuum_vacuum_cost_limit", 200) > 200) == (h.storage != "hdd")
    assert v["postgres.max_worker_processes"] >= max(8, h.cpus + 2)
    assert v["postgres.max_parallel_workers"] <= v["postgres.max_worker_processes"]


@pytest.mark.parametrize("name", IDS)
def test_the_calculator_never_collapses_silently_without_a_pooler(name):
    """P2 on every host: PGTune's connection count straight to PostgreSQL either fits with
    PostgreSQL's default work_mem or is refused with what fits (PCF320)."""
    h = BY_NAME[name]
    inp = CalcInput("postgres", h.memory, h.cpus, None, str(h.postgres),
                    {"storage": h.storage, "profile": h.profile, "pooler": "none"},
                    os=h.os, wal_disk=h.wal_disk, data_size=h.data_size)
    data = calculate_data(inp)
    codes = [f["code"] for f in data["findings"] if f["severity"] == "error"]
    values = {s["name"]: s for s in data["settings"]}
    if "PCF320" not in codes:
        assert values["work_mem"]["value"] >= 4 * MiB
        assert "held below" not in values["shared_buffers"]["reason"]
    assert set(codes) <= {"PCF320"}


# -- the real daemons ------------------------------------------------------------------------

def _tuned_postgres(result: Result) -> dict[str, float]:
    """Every tuned number PostgreSQL should report (``postgres -C`` base units)."""
    assert result.plan is not None and result.config is not None
    postgres = registry.by_name("postgres")
    out = {}
    for path, setting in result.plan.settings.items():
        if not path.startswith("postgres.") or not setting.tuned \
                or isinstance(setting.value, bool) or not isinstance(setting.value, (int, float)):
            continue
        param = postgres.param(result.config.targets, setting.name)
        assert param is not None, path
        scale = PG_BASE_BYTES.get(param.unit or "") or PG_BASE_US.get(param.unit or "") or 1
        out[setting.name] = setting.value / scale if setting.value != -1 else -1
    return out


@pytest.mark.daemons
@pytest.mark.parametrize("name", IDS)
def test_postgres_of_its_version_accepts_every_plan(built, name, postgres_bin):
    from perfcfg.services.postgres.daemon import check_postgresql_conf

    h = BY_NAME[name]
    require_daemon("postgresql", str(h.postgres))
    expected = _tuned_postgres(built[name])
    assert len(expected) > 20
    conf = built[name].files["postgresql.conf"].decode()
    reported = check_postgresql_conf(conf, tuple(sorted(expected)), version=str(h.postgres))
    for param, want in expected.items():
        assert float(reported[param]) == pytest.approx(want), (param, reported[param], want)


@pytest.fixture(scope="module")
def started(built) -> Iterator[dict[str, Any]]:
    """One real server per small host's plan (PostgreSQL 15, 16, 17 and 18)."""
    from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer

    with ExitStack() as stack:
        servers: dict[str, Any] = {}

        def start(name: str) -> Any:
            if name not in servers:
                h, result = BY_NAME[name], built[name]
                version = str(h.postgres)
                require_daemon("postgresql", version)
                template = stack.enter_context(PgTemplate(version))
                servers[name] = stack.enter_context(PostgresServer(
                    result.files["postgresql.conf"].decode(), template,
                    hba_text=result.files["pg_hba.conf"].decode(), version=version))
            return servers[name]
        yield {"start": start}


@pytest.mark.daemons
@pytest.mark.parametrize("name", STARTED)
def test_postgres_starts_with_the_small_hosts_plans(built, started, name):
    from perfcfg.verify import intended

    h = BY_NAME[name]
    pg = started["start"](name)
    assert pg.query("SHOW server_version")[0][0].startswith(f"{h.postgres}.")
    want = intended.from_result(built[name])["postgres"].values
    assert len(want) > 30
    assert pg.mismatches(want) == []
    # the spare slots are real: with every pooled, direct and spare slot counted, the server
    # admits exactly max_connections − reserved ordinary connections
    v = plan_values(built[name])
    assert int(pg.query("SHOW max_connections")[0][0]) == v["postgres.max_connections"]


@pytest.mark.daemons
@pytest.mark.parametrize("name", IDS)
def test_pgbouncer_takes_every_plan(built, started, name):
    """pgbouncer 1.24 runs each plan's pgbouncer.ini (listen_backlog included, P12) and
    reports every key written (the small hosts' in front of their real PostgreSQL)."""
    from perfcfg.services.pgbouncer.daemon import PgBouncer
    from perfcfg.verify import intended

    require_daemon("pgbouncer", "1.24")
    result = built[name]
    want = intended.from_result(result)["pgbouncer"].settings
    assert "listen_backlog" in want
    backend = started["start"](name) if name in STARTED else None
    with PgBouncer(result.files["pgbouncer.ini"].decode(), result.files["userlist.txt"].decode(),
                   backend=backend, version="1.24") as bnc:
        assert bnc.mismatches(want) == []


@pytest.mark.daemons
@pytest.mark.parametrize("name", IDS)
def test_the_cache_daemon_of_its_version_takes_every_plan(built, name):
    """Redis 7.0/8.0 and Valkey 8.0/8.1 start from each plan (a 2 TiB host's maxmemory and
    Valkey's I/O threads included) and report every directive written."""
    from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
    from perfcfg.verify import intended

    daemon, version = BY_NAME[name].cache
    require_daemon(daemon, version)
    result = built[name]
    want = intended.from_result(result)["redis"]
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle(result.files[f"{daemon}.conf"].decode(),
                acl_text=result.files["users.acl"].decode(), version=version) as server:
        assert server.mismatches(want.values, want.enums) == []
        assert server.config()["io-threads"] == str(plan_values(result)["redis.io-threads"])
