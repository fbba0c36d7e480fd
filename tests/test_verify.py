"""``perfcfg verify``: the real daemons agree with the example; silent changes fail with a
table naming them; missing daemons and missing packages are said, never passed over."""

from __future__ import annotations

import re

import pytest
from conftest import require_daemon
from helpers import run, snapshot_tree, write

from perfcfg.harness import binaries
from perfcfg.services import registry

pytestmark = pytest.mark.daemons


def verify(project, *extra: str):
    return run("verify", "--env", "staging", "--project", str(project), *extra)


def only_installed(monkeypatch, *keep: str) -> None:
    """Make every daemon except ``keep`` (daemon names) look uninstalled, in every version:
    its programs and its ``PERFCFG_<DAEMON>_<VERSION>_BINDIR`` point where nothing is."""
    for daemon, spec in registry.binaries().items():
        if daemon not in keep:
            for version in spec.versions:
                monkeypatch.setenv(binaries.bindir_variable(daemon, version), "/nonexistent")
            for name in spec.programs:
                monkeypatch.setitem(binaries.BINARIES, name, f"/nonexistent/{name}")


def test_example_verifies_and_nothing_is_written(example):
    # staging targets PostgreSQL 17, pgbouncer 1.24, Valkey 8.1 and supervisor 4.3
    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("valkey", "8.1"),
                            ("supervisor", "4.3")):
        require_daemon(daemon, version)
    before = snapshot_tree(example)
    result = verify(example)
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert "postgresql, pgbouncer, valkey, supervisor started from the compiled files" \
        in result.err
    assert ", 0 differ" in result.err
    assert snapshot_tree(example) == before


def test_a_fractional_queue_wait_from_the_client_timeout_is_what_pgbouncer_runs(example):
    # client_timeout 3 s → query_wait_timeout = 1.5 s: pgbouncer must read the fraction.
    require_daemon("pgbouncer")
    result = verify(example, "--set", "workload.client_timeout=3s")
    assert result.code == 0, result.err
    assert ", 0 differ" in result.err


SILENT_CHANGES = """\
extends: [builtin:staging, base.yaml]
redis:
  hz: 1000                      # Redis clamps to 500 and says nothing
"""


def test_values_the_daemons_silently_change_fail_with_a_table(example):
    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("valkey", "8.1")):
        require_daemon(daemon, version)
    write(example / "presets/staging.yaml", SILENT_CHANGES)
    result = verify(example)
    assert result.code == 1
    assert result.out.splitlines() == [
        "daemon | setting | intended | effective",
        "-------+---------+----------+----------",
        "valkey | hz      | 1000     | 500",
    ]
    assert ", 1 differ" in result.err
    assert "warning[PCF213]" in result.err   # validation saw it coming; verify proves it


def test_values_verify_found_are_now_refused_at_validation(example):
    """pgbouncer 1.18 kept the low 32 bits of listen_backlog (verify found it): an error now."""
    write(example / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "pgbouncer:\n  listen_backlog: 4294967424\n")
    result = run("validate", "--project", str(example), "--env", "staging")
    assert result.code == 1 and "error[PCF205]" in result.err


def test_a_host_bigger_than_this_machine_is_scaled_down_and_said(example, monkeypatch):
    """256 GiB of tuning cannot map here: shared_buffers is lowered, left out, and named."""
    import psutil

    require_daemon("postgresql", "17")
    if psutil.virtual_memory().total > 100 * 2**30:
        pytest.skip("this machine could map a 256 GiB host's shared_buffers")
    only_installed(monkeypatch, "postgresql")
    host = write(example / "hosts/huge.yaml", "memory: 256GiB\ncpus: 4\nstorage: ssd\n"
                 "open_files: 65536\n")
    result = verify(example, "--host", str(host))
    assert result.code == 0, result.out + result.err
    assert re.search(r"note: postgresql: shared_buffers = \d+MB does not fit this machine "
                     r"\(\d+GiB; the host profile has 256GiB\): started with shared_buffers = "
                     r"\d+MB and did not compare it", result.err)
    assert "staging: postgresql started from the compiled files" in result.err


def test_missing_daemons_are_named_and_the_rest_verified(example, monkeypatch):
    require_daemon("valkey", "8.1")
    only_installed(monkeypatch, "valkey")
    result = verify(example)
    assert result.code == 0, result.err
    for line in ("postgresql 17 not verified: postgres 17, initdb 17, psql 17 not installed "
                 "(.ci/install-daemons.sh installs every supported version; "
                 "PERFCFG_POSTGRESQL_17_BINDIR points at binaries of your own)",
                 "pgbouncer 1.24 not verified: pgbouncer 1.24, postgres, initdb, psql not "
                 "installed",
                 "supervisor 4.3 not verified: supervisord 4.3 not installed",
                 "staging: valkey started from the compiled files"):
        assert line in result.err


def test_nothing_installed_is_a_failure(example, monkeypatch):
    only_installed(monkeypatch)
    result = verify(example)
    assert result.code == 1
    assert "nothing verified: none of the daemons is installed" in result.err


def test_a_daemon_that_refuses_its_file_fails_with_its_words(example, monkeypatch):
    require_daemon("postgresql", "17")
    only_installed(monkeypatch, "postgresql")
    write(example / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n"
          "postgres:\n  shared_preload_libraries: no_such_extension\n")
    result = verify(example)
    assert result.code == 1, result.err
    [row] = [[cell.strip() for cell in line.split(" | ")] for line in result.out.splitlines()[2:]]
    assert row[:3] == ["postgresql", "(start)", "starts with the generated file"]
    assert 'could not access file "no_such_extension"' in row[3]


def test_missing_python_packages_name_the_extra(example, monkeypatch):
    import dataclasses

    from perfcfg.services import registry

    def lacking(service):   # the cache's client is a package this machine does not have
        if service.name != "redis" or service.verifier is None:
            return service
        return dataclasses.replace(service, verifier=dataclasses.replace(
            service.verifier, clients=("no_such_module_for_perfcfg",)))

    monkeypatch.setattr(registry, "SERVICES", tuple(map(lacking, registry.SERVICES)))
    result = verify(example)
    assert result.code == 1
    assert "needs the Python packages no_such_module_for_perfcfg" in result.err
    assert "pip install 'perfcfg[verify]'" in result.err


def test_json_report_with_placeholder_secrets(example, monkeypatch):
    # A project that resolves real passwords, verified without them: --secrets placeholder.
    import json

    require_daemon("valkey", "8.1")
    only_installed(monkeypatch, "valkey")
    write(example / "perfcfg.yaml", (example / "perfcfg.yaml").read_text().replace(
        "mode: placeholder", "mode: resolve"))
    for name in [k for k in __import__("os").environ if k.startswith("BOTFARM_")]:
        monkeypatch.delenv(name)
    assert verify(example).code == 1                      # the secrets are missing
    result = verify(example, "--secrets", "placeholder", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["ok"] is True and data["checked"] == ["valkey"] and data["differences"] == []
    assert data["compared"] > 0 and "postgresql 17" in data["missing"]


def test_progress_lines_name_each_daemon_on_a_terminal_only(example, monkeypatch):
    import io

    from perfcfg.cli import commands
    from perfcfg.stages import pipeline

    require_daemon("valkey", "8.1")
    only_installed(monkeypatch, "valkey")
    for progress in (True, False):
        err = io.StringIO()
        streams = commands.Io(io.StringIO(), err, {}, progress=progress)
        request = pipeline.Request(example, "staging")
        assert commands.verify(streams, request) == 0
        lines = [line for line in err.getvalue().splitlines() if "starting" in line]
        assert lines == (["perfcfg: staging: valkey: starting from the compiled files and "
                          "comparing its values"] if progress else [])


def test_the_readme_sample_is_the_real_output(example):
    from helpers import ROOT

    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("valkey", "8.1"),
                            ("supervisor", "4.3")):
        require_daemon(daemon, version)
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("$ perfcfg verify --env staging --project examples/botfarm "
                          "--set redis.hz=1000\n", 1)[1].split("```", 1)[0]
    result = verify(example, "--set", "redis.hz=1000")
    assert result.code == 1
    table, summary = sample.rsplit("daemon", 1)[1], sample.splitlines()[-1]
    assert "daemon" + table.split("perfcfg:")[0] == result.out
    assert summary in result.err
