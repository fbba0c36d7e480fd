"""The limits perfcfg puts in force are what the real daemons need: each daemon started with
its drop-in's LimitNOFILE (soft and hard, as systemd sets it) runs with that limit and keeps
every client slot its generated file asks for, where a lower limit makes it give some up; the
listen backlogs the sysctl file's somaxconn must cover are the ones the daemons really use;
systemd's own parser reads the drop-ins without a complaint; and the huge pages the sysctl
file reserves are what PostgreSQL maps.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require_daemon
from helpers import EXAMPLE, raised_kernel_setting

from perfcfg.harness import procs
from perfcfg.services import registry
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.redis.daemon import ValkeyServer
from perfcfg.stages.pipeline import Request, Result, compile_env

pytestmark = pytest.mark.daemons


@pytest.fixture(scope="module")
def production():
    """The example's production build, which turns the limits' files on."""
    result = compile_env(Request(EXAMPLE, "production"))
    assert result.ok, result.diagnostics
    return result


def text(result, name: str) -> str:
    return result.files[name].decode()


def limit(result, dropin: str, key: str = "LimitNOFILE") -> int:
    [value] = re.findall(rf"^{key}=(\d+)$", text(result, dropin), re.M)
    return int(value)


def open_files(handle: procs.Handle) -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of a running daemon, as the kernel reports it."""
    assert handle.proc is not None, handle.daemon
    [line] = [x for x in Path(f"/proc/{handle.proc.pid}/limits").read_text().splitlines()
              if x.startswith("Max open files")]
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def backlog(port: int) -> int:
    """The accept-queue limit of the socket listening on ``port`` (ss's Send-Q for LISTEN)."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[2])


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def test_valkey_keeps_every_client_slot_under_its_dropin_limit_and_loses_some_below(production):
    daemon, version = registry.daemons(production.config.targets)["redis"]
    require_daemon(daemon, version)
    nofile = limit(production, f"systemd-{daemon}.conf")
    maxclients = production.plan.value("redis.maxclients")
    need = production.plan.value("budget.redis_fds")
    assert need == maxclients + 32
    # the drop-in never lowers the package unit's own LimitNOFILE=65535
    assert nofile == max(65535, need)
    conf, acl = text(production, f"{daemon}.conf"), text(production, "users.acl")
    # as much of the drop-in's limit as this machine lets a process have (CI's hard limit is
    # 20000, and raising it needs CAP_SYS_RESOURCE), then exactly the need
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for given in (min(nofile, hard if hard != resource.RLIM_INFINITY else nofile), need):
        with procs.limits(nofile=given), ValkeyServer(conf, acl_text=acl, version=version) as r:
            assert open_files(r) == (given, given)
            with r.client() as c:
                assert int(c.config_get("maxclients")["maxclients"]) == maxclients
            assert "maxclients has been reduced" not in Path(r.log).read_text()
            assert backlog(r.port) == min(production.plan.value("redis.tcp-backlog"), somaxconn())
    # One fd fewer than it needs: the daemon quietly serves fewer clients.
    with procs.limits(nofile=need - 1), ValkeyServer(conf, acl_text=acl, version=version) as r:
        with r.client() as c:
            assert int(c.config_get("maxclients")["maxclients"]) == maxclients - 1
        assert f"maxclients has been reduced to {maxclients - 1}" in Path(r.log).read_text()


def test_postgres_and_pgbouncer_run_with_their_dropin_limits(production, pg_template_of):
    versions = registry.daemons(production.config.targets)
    pg_version, bnc_version = versions["postgres"][1], versions["pgbouncer"][1]
    require_daemon("postgresql", pg_version)
    require_daemon("pgbouncer", bnc_version)
    pg_files, bnc_files = (limit(production, "systemd-postgresql.conf"),
                           limit(production, "systemd-pgbouncer.conf"))
    # debug2 makes the postmaster log how many files each process may keep open (fd.c)
    conf = text(production, "postgresql.conf") + "log_min_messages = debug2\n"
    max_connections = production.plan.value("postgres.max_connections")
    with procs.limits(nofile=pg_files), PostgresServer(
            conf, pg_template_of(pg_version), hba_text=text(production, "pg_hba.conf"),
            version=pg_version) as pg:
        assert open_files(pg) == (pg_files, pg_files)
        [(safe, usable, already)] = re.findall(
            r"max_safe_fds = (\d+), usable_fds = (\d+), already_open = (\d+)",
            Path(pg.log).read_text())
        # the limit costs PostgreSQL nothing: every process may use max_files_per_process
        # (less what it already holds and the 10 fd.c keeps in reserve)
        assert int(usable) == 1000 and int(safe) == 1000 - int(already) - 10
        assert backlog(pg.port) == min(2 * max_connections, somaxconn())
        with procs.limits(nofile=bnc_files), PgBouncer(
                text(production, "pgbouncer.ini"), text(production, "userlist.txt"),
                backend=pg, version=bnc_version) as bnc:
            assert open_files(bnc) == (bnc_files, bnc_files)
            [(kernel, hard, clients, expected)] = re.findall(
                r"kernel file descriptor limit: (\d+) \(hard: (\d+)\); max_client_conn: (\d+), "
                r"max expected fd use: (\d+)", Path(bnc.log).read_text())
            assert int(kernel) == int(hard) == bnc_files
            assert int(clients) == production.plan.value("pgbouncer.max_client_conn")
            # pgbouncer's own estimate (every user × every pool) fits under the drop-in
            assert int(expected) <= bnc_files
            assert backlog(bnc.port) == min(
                production.plan.value("pgbouncer.listen_backlog"), somaxconn())


def test_a_lower_limit_costs_postgres_files_per_process(production, pg_template_of):
    pg_version = registry.daemons(production.config.targets)["postgres"][1]
    require_daemon("postgresql", pg_version)
    conf = text(production, "postgresql.conf") + "log_min_messages = debug2\n"
    with procs.limits(nofile=500), PostgresServer(
            conf, pg_template_of(pg_version), hba_text=text(production, "pg_hba.conf"),
            version=pg_version) as pg:
        [(safe, usable)] = re.findall(r"max_safe_fds = (\d+), usable_fds = (\d+)",
                                      Path(pg.log).read_text())
        assert int(usable) < 500 and int(safe) < 500


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
def test_systemd_reads_every_dropin_without_a_complaint(production, tmp_path):
    names = [n for n in production.files if n.startswith("systemd-")]
    assert len(names) == 4
    for name in names:
        unit = _unit_dir(tmp_path / name, name, production.files[name])
        assert _verify(unit) == ""
    # the check can fail: a value systemd cannot parse is reported
    bad = production.files[names[0]].replace(b"LimitNOFILE=", b"LimitNOFILE=x")
    assert "Failed to parse" in _verify(_unit_dir(tmp_path / "bad", names[0], bad))


def _unit_dir(root: Path, name: str, data: bytes) -> Path:
    """A stand-in unit with the drop-in beside it, as /etc/systemd/system would hold them."""
    root.mkdir()
    unit = root / "perfcfg-test.service"
    unit.write_text("[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    (root / "perfcfg-test.service.d").mkdir()
    (root / "perfcfg-test.service.d" / "perfcfg.conf").write_bytes(data)
    return unit


def _verify(unit: Path) -> str:
    env = {"SYSTEMD_UNIT_PATH": f"{unit.parent}:", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, env=env, timeout=60)
    return "\n".join(line for line in (done.stdout + done.stderr).splitlines()
                     if "perfcfg" in line)


def _shared_memory_pages(conf: str, version: str, template) -> int:
    """PostgreSQL's own count of huge pages for ``conf`` (``postgres -C``, server stopped)."""
    from perfcfg.harness.binaries import require

    account = procs.service_account("postgres")
    scratch = procs.scratch_dir("pf-hp-", account)
    try:
        data = f"{scratch}/data"
        template.copy_to(data)
        procs.write_file(f"{data}/postgresql.conf", conf, account)
        # the file places the cluster where Debian keeps it: point it at the scratch copy
        here = [f"--{key}={value}" for key, value in (
            ("data_directory", data), ("hba_file", f"{data}/pg_hba.conf"),
            ("ident_file", f"{data}/pg_ident.conf"), ("external_pid_file", ""))]
        done = procs.run([require("postgres", version), "-C", "shared_memory_size_in_huge_pages",
                          "-D", data, *here], account)
        assert done.returncode == 0, done.stderr
        return int(done.stdout)
    finally:
        procs.remove_dir(scratch)


@pytest.mark.parametrize("sets", [(), ("postgres.shared_buffers=2GB", "postgres.huge_pages=on"),
                                  ("postgres.shared_buffers=36GB",)],
                         ids=["as-built", "2GB-on", "36GB"])
def test_the_huge_pages_reserved_cover_what_postgres_maps(sets, pg_template_of):
    result = compile_env(Request(EXAMPLE, "production", sets=sets))
    assert result.ok and result.config is not None and result.plan is not None, \
        result.diagnostics
    version = registry.daemons(result.config.targets)["postgres"][1]
    require_daemon("postgresql", version)
    reserved = result.plan.value("sysctl.vm.nr_hugepages")
    exact = _shared_memory_pages(text(result, "postgresql.conf"), version,
                                 pg_template_of(version))
    # the estimate covers PostgreSQL's own figure, with at most a few percent to spare
    assert exact <= reserved <= exact * 1.05 + 8, (exact, reserved)


HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")


def test_postgres_starts_on_the_reserved_huge_pages_without_a_memlock_limit(pg_template_of):
    """huge_pages = on refuses to start without enough pages: with exactly the reservation the
    sysctl file asks for it starts, under a 64 KiB RLIMIT_MEMLOCK (PostgreSQL maps anonymous
    huge pages, which memlock does not count: the drop-in needs no LimitMEMLOCK)."""
    import os

    if not os.access(HUGEPAGES, os.W_OK):
        pytest.skip("vm.nr_hugepages is not writable here (a container without the privilege)")
    result = compile_env(Request(EXAMPLE, "production", sets=(
        "postgres.shared_buffers=32MB", "postgres.huge_pages=on")))
    assert result.ok and result.config is not None and result.plan is not None, \
        result.diagnostics
    version = registry.daemons(result.config.targets)["postgres"][1]
    require_daemon("postgresql", version)
    pages = result.plan.value("sysctl.vm.nr_hugepages")
    # under the host-wide lock, and giving back exactly what it added: runs of the suite that
    # overlap on one machine leave the host as they found it
    with raised_kernel_setting(HUGEPAGES, pages) as added:
        if added < pages:
            pytest.skip("the kernel could not reserve the huge pages (fragmented memory)")
        with procs.limits(memlock=64 << 10), PostgresServer(
                text(result, "postgresql.conf"), pg_template_of(version),
                hba_text=text(result, "pg_hba.conf"), version=version) as pg:
            assert pg.query("SHOW huge_pages") == [("on",)]
            assert pg.proc is not None
            limits = Path(f"/proc/{pg.proc.pid}/limits").read_text()
            assert re.search(r"Max locked memory\s+65536\s+65536", limits)
            # PostgreSQL 17 reports whether its shared memory really is in huge pages
            if int(version) >= 17:
                assert pg.query("SHOW huge_pages_status") == [("on",)]


def test_overlapping_runs_leave_a_kernel_setting_as_they_found_it(tmp_path):
    """Two runs of the suite raising the same setting at once (as several sessions on one
    machine do): each adds its own share under the lock and takes back exactly that, so the
    setting ends where it began. A file stands in for /proc/sys/vm/nr_hugepages."""
    import subprocess
    import sys
    import textwrap

    setting, lock = tmp_path / "nr_hugepages", tmp_path / "lock"
    setting.write_text("7\n")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from helpers import raised_kernel_setting
        with raised_kernel_setting(Path({str(setting)!r}), int(sys.argv[1]),
                                   lock=Path({str(lock)!r})) as added:
            assert added == int(sys.argv[1])
            time.sleep(0.3)
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in (100, 250)]
    assert [r.wait(timeout=60) for r in runs] == [0, 0]
    assert setting.read_text() == "7\n"


UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system")


def packaged_units(unit: str) -> list[Path]:
    """The unit files the installed packages ship for ``unit`` (Debian 12's under /lib, and
    those .ci/install-daemons.sh unpacked for Debian 13 and Valkey); ``postgresql@17-main``'s
    is the template ``postgresql@.service``."""
    name = re.sub(r"@[^.]+\.service$", "@.service", unit)
    root = os.environ.get("PERFCFG_DAEMONS_DIR", "/opt/perfcfg-daemons")
    places = [*UNIT_DIRS, *(str(p) for p in Path(root).glob("*/usr/lib/systemd/system")),
              *(str(p) for p in Path(root).glob("*/root/lib/systemd/system"))]
    return [Path(d) / name for d in places if (Path(d) / name).is_file()]


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _redis_target(tmp_path) -> Result:
    from helpers import copy_example

    project = copy_example(tmp_path, with_generated=False)
    conf = project / "perfcfg.yaml"
    conf.write_text(conf.read_text().replace('  valkey: "8.1"\n', '  redis: "8.0"\n'))
    result = compile_env(Request(project, "production"))
    assert result.ok, result.diagnostics
    return result


def test_no_dropin_lowers_a_limit_its_packaged_unit_gives_or_locks_the_acl_file(
        production, tmp_path):
    import json

    checked = []
    for result in (production, _redis_target(tmp_path)):
        manifest = json.loads(result.files["manifest.json"])["files"]
        for name, entry in sorted(manifest.items()):
            if not name.startswith("systemd-"):
                continue
            unit = entry["destination"].split("/")[-2].removesuffix(".d")
            ours = directives(text(result, name))
            for path in packaged_units(unit):
                packaged = directives(path.read_text())
                for value in packaged.get("LimitNOFILE", []):
                    assert int(ours["LimitNOFILE"][0]) >= int(value), (name, path)
                if packaged.get("ProtectSystem") == ["strict"] and entry["service"] == "redis":
                    # ACL SAVE rewrites the ACL file: its directory must stay writable
                    acl = manifest["users.acl"]["destination"].rsplit("/", 1)[0]
                    assert f"-{acl}" in ours.get("ReadWritePaths", []), (name, path)
                checked.append(path.name)
    # Debian's units for every daemon perfcfg writes a drop-in for, Valkey's and Redis's
    if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1" or checked:
        assert {"valkey-server.service", "redis-server.service", "pgbouncer.service",
                "postgresql@.service"} <= set(checked), checked
