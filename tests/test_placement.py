"""Placement: postgresql.conf and redis.conf (valkey.conf) deployable as the whole file, in
Debian's layout or a plain data directory, with the locale and time settings a replaced file
must keep; the manifest's destinations agree; the real daemons start from them and say so."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from conftest import require_daemon
from helpers import copy_example, run, write

from perfcfg.stages.pipeline import Request, compile_env

NO_LIBRARIES = "{lz4: false, zstd: false, liburing: false}"
# PostgreSQL major → the build its binary here has (the npm and PyPI builds lack the libraries)
PG_BUILDS = {"15": "", "16": f", postgres_build: {NO_LIBRARIES}", "17": "",
             "18": f", postgres_build: {NO_LIBRARIES}"}
LOCALE = {"TimeZone": "UTC", "log_timezone": "UTC", "lc_messages": "C.UTF-8",
          "lc_monetary": "C.UTF-8", "lc_numeric": "C.UTF-8", "lc_time": "C.UTF-8",
          "DateStyle": "ISO, MDY", "default_text_search_config": "pg_catalog.english"}
PLACED = ("data_directory", "hba_file", "ident_file", "external_pid_file",
          "unix_socket_directories")


def project_with(tmp_path: Path, staging: str = "", deploy: str = "") -> Path:
    """The example without its generated files; ``staging`` adds keys to its staging
    environment, ``deploy`` a project-level ``deploy:`` block."""
    project = copy_example(tmp_path, with_generated=False)
    text = (project / "perfcfg.yaml").read_text()
    if staging:
        text = text.replace("  staging:\n", f"  staging:\n{staging}", 1)
    if deploy:
        text = text.replace("environments:\n", f"{deploy}environments:\n", 1)
    write(project / "perfcfg.yaml", text)
    return project


def compiled(project: Path, env: str = "staging", *sets: str, overlay: Path | None = None):
    result = compile_env(Request(project, env, sets=sets, overlay=overlay))
    assert result.ok, [d.message for d in result.diagnostics if d.severity == "error"]
    return result


def conf_lines(data: bytes, sep: str = " = ") -> dict[str, str]:
    """``name → value`` of a postgresql.conf (comments skipped)."""
    return dict(line.split(sep, 1) for line in data.decode().splitlines()
                if line and not line.startswith("#"))


def reasons(data: bytes) -> dict[str, str]:
    """``name → the rule id in the comment above it``."""
    lines = data.decode().splitlines()
    return {lines[i + 1].split(" ", 1)[0]: m.group(1) for i, line in enumerate(lines[:-1])
            if (m := re.search(r"\[([a-z_.]+)\]$", line))}


# -- PostgreSQL: the two layouts -------------------------------------------------------

def test_debian_layout_is_the_default_with_postgresql_commons_paths(tmp_path):
    result = compiled(project_with(tmp_path))
    conf = result.files["postgresql.conf"]
    values = conf_lines(conf)
    assert {k: values[k] for k in (*PLACED, "cluster_name")} == {
        "data_directory": "'/var/lib/postgresql/17/main'",
        "hba_file": "'/etc/postgresql/17/main/pg_hba.conf'",
        "ident_file": "'/etc/postgresql/17/main/pg_ident.conf'",
        "external_pid_file": "'/var/run/postgresql/17-main.pid'",
        "unix_socket_directories": "'/var/run/postgresql'",
        "cluster_name": "'17/main'"}
    assert {k: values[k] for k in LOCALE} == {k: f"'{v}'" for k, v in LOCALE.items()}
    rules = reasons(conf)
    assert rules["data_directory"] == "pg.placement.data_directory"
    assert rules["TimeZone"] == "pg.locale.timezone" and rules["lc_time"] == "pg.locale.lc_time"


def test_debian_paths_follow_the_target_version(tmp_path):
    values = conf_lines(compiled(project_with(tmp_path), "development")
                        .files["postgresql.conf"])
    assert values["data_directory"] == "'/var/lib/postgresql/15/main'"
    assert values["external_pid_file"] == "'/var/run/postgresql/15-main.pid'"
    assert values["cluster_name"] == "'15/main'"


def test_datadir_layout_names_no_file_and_keeps_the_locale(tmp_path):
    result = compiled(project_with(tmp_path, deploy="deploy:\n  layout: datadir\n"))
    values = conf_lines(result.files["postgresql.conf"])
    assert not set(PLACED) & set(values)
    assert {k: values[k] for k in LOCALE} == {k: f"'{v}'" for k, v in LOCALE.items()}
    assert values["cluster_name"] == "'17/main'"
    files = json.loads(result.files["manifest.json"])["files"]
    assert files["postgresql.conf"]["destination"] == "/var/lib/postgresql/17/main/postgresql.conf"
    assert files["pg_hba.conf"]["destination"] == "/var/lib/postgresql/17/main/pg_hba.conf"


def test_an_environment_chooses_its_own_layout(tmp_path):
    project = project_with(tmp_path, staging="    deploy: {layout: datadir}\n")
    assert "data_directory" not in conf_lines(compiled(project).files["postgresql.conf"])
    assert "data_directory" in conf_lines(compiled(project, "production")
                                          .files["postgresql.conf"])


def test_a_non_linux_host_gets_the_c_locale(tmp_path):
    # the example's laptop is macOS, which has no C.UTF-8
    values = conf_lines(compiled(project_with(tmp_path), "development").files["postgresql.conf"])
    assert values["lc_messages"] == values["lc_time"] == "'C'"
    assert values["TimeZone"] == "'UTC'"


def test_a_preset_value_wins_and_the_manifest_follows_it(tmp_path):
    result = compiled(project_with(tmp_path), "staging", "postgres.timezone=Europe/Paris",
                      "postgres.hba_file=/srv/pg/hba.conf", "postgres.datestyle=iso, dmy",
                      "postgres.data_directory=/srv/pg/data")
    conf = result.files["postgresql.conf"]
    values = conf_lines(conf)
    assert values["TimeZone"] == "'Europe/Paris'" and values["log_timezone"] == "'UTC'"
    assert values["DateStyle"] == "'ISO, DMY'"
    assert values["data_directory"] == "'/srv/pg/data'"
    # written once, without a rule: the preset's value is not a derived one
    assert conf.decode().count("TimeZone =") == 1 and "TimeZone" not in reasons(conf)
    files = json.loads(result.files["manifest.json"])["files"]
    assert files["pg_hba.conf"]["destination"] == "/srv/pg/hba.conf"
    assert files["postgresql.conf"]["destination"] == "/etc/postgresql/17/main/postgresql.conf"


def test_debian_manifest_agrees_with_the_files(tmp_path):
    result = compiled(project_with(tmp_path))
    files = json.loads(result.files["manifest.json"])["files"]
    pg = conf_lines(result.files["postgresql.conf"])
    assert f"'{files['pg_hba.conf']['destination']}'" == pg["hba_file"]
    valkey = conf_lines(result.files["valkey.conf"], " ")
    assert files["users.acl"]["destination"] == valkey["aclfile"] == "/etc/valkey/users.acl"
    assert files["valkey.conf"]["destination"] == "/etc/valkey/valkey.conf"


def test_explain_answers_for_the_placement_in_any_case(tmp_path):
    project = project_with(tmp_path)
    for path, rule in (("postgres.timezone", "pg.locale.timezone"),
                       ("postgres.data_directory", "pg.placement.data_directory"),
                       ("redis.supervised", "redis.placement.supervised")):
        found = run("explain", path, "--env", "staging", "--project", str(project),
                    "--format", "json")
        assert found.code == 0, found.err
        assert json.loads(found.out)["rule"] == rule


# -- Redis / Valkey --------------------------------------------------------------------

@pytest.mark.parametrize("env, daemon", [("development", "redis"), ("staging", "valkey")])
def test_redis_gets_its_packages_paths_and_supervision(tmp_path, env, daemon):
    result = compiled(project_with(tmp_path), env)
    values = conf_lines(result.files[f"{daemon}.conf"], " ")
    assert {k: values[k] for k in ("dir", "logfile", "pidfile", "daemonize", "supervised")} == {
        "dir": f"/var/lib/{daemon}", "logfile": f"/var/log/{daemon}/{daemon}-server.log",
        "pidfile": f"/run/{daemon}/{daemon}-server.pid", "daemonize": "no",
        "supervised": "systemd"}
    assert reasons(result.files[f"{daemon}.conf"])["supervised"] == "redis.placement.supervised"


def test_redis_placement_is_overridable(tmp_path):
    result = compiled(project_with(tmp_path), "staging", "redis.dir=/srv/valkey",
                      "redis.supervised=no", "redis.aclfile=/srv/valkey/users.acl")
    values = conf_lines(result.files["valkey.conf"], " ")
    assert (values["dir"], values["supervised"]) == ("/srv/valkey", "no")
    files = json.loads(result.files["manifest.json"])["files"]
    assert files["users.acl"]["destination"] == "/srv/valkey/users.acl"


# -- pgbouncer -------------------------------------------------------------------------

PGBOUNCER_PLACED = {"logfile": "/var/log/postgresql/pgbouncer.log",
                    "pidfile": "/var/run/postgresql/pgbouncer.pid",
                    "unix_socket_dir": "/var/run/postgresql"}


def ini_lines(data: bytes) -> dict[str, str]:
    """``name → value`` of pgbouncer.ini's [pgbouncer] section."""
    section = data.decode().split("\n[pgbouncer]\n", 1)[1]
    return dict(line.split(" = ", 1) for line in section.splitlines()
                if " = " in line and not line.startswith(";"))


@pytest.mark.parametrize("env", ["development", "production"])
def test_pgbouncer_gets_the_debian_packages_log_pid_and_socket(tmp_path, env):
    result = compiled(project_with(tmp_path), env)
    values = ini_lines(result.files["pgbouncer.ini"])
    assert {k: values[k] for k in PGBOUNCER_PLACED} == PGBOUNCER_PLACED
    assert {k: reasons(result.files["pgbouncer.ini"])[k] for k in PGBOUNCER_PLACED} == {
        k: f"pgbouncer.placement.{k}" for k in PGBOUNCER_PLACED}


def test_pgbouncer_placement_is_overridable(tmp_path):
    result = compiled(project_with(tmp_path), "staging", "pgbouncer.unix_socket_dir=/run/pgb",
                      "pgbouncer.logfile=''")
    values = ini_lines(result.files["pgbouncer.ini"])
    assert values["unix_socket_dir"] == "/run/pgb" and values.get("logfile", "") == ""


@pytest.mark.daemons
def test_pgbouncer_runs_with_the_files_placement(tmp_path):
    """pgbouncer started from the generated file alone (no harness rewriting it) logs, writes
    its pid and opens its socket where the file's placement says."""
    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require

    require_daemon("pgbouncer", "1.18")
    account = procs.service_account("postgres")
    place = Path(procs.scratch_dir("pf-pgb-", account))
    port = procs.free_port()
    try:
        want = {"logfile": f"{place}/pgbouncer.log", "pidfile": f"{place}/pgbouncer.pid",
                "unix_socket_dir": str(place)}
        # development targets pgbouncer 1.18, the binary Debian 12 installs
        result = compiled(project_with(tmp_path), "development",
                          *(f"pgbouncer.{k}={v}" for k, v in want.items()),
                          f"pgbouncer.listen_port={port}",
                          f"pgbouncer.auth_file={place}/userlist.txt")
        for name in ("pgbouncer.ini", "userlist.txt"):
            (place / name).write_bytes(result.files[name])
            if account.uid is not None:
                os.chown(place / name, account.uid, -1 if account.gid is None else account.gid)
        proc = subprocess.Popen([require("pgbouncer", "1.18"), str(place / "pgbouncer.ini")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                **account.popen_kwargs())
        try:
            socket = place / f".s.PGSQL.{port}"
            for _ in range(100):
                if socket.exists() and (place / "pgbouncer.pid").exists():
                    break
                if proc.poll() is not None:
                    pytest.fail(proc.communicate()[0])
                time.sleep(0.1)
            assert socket.exists()
            assert (place / "pgbouncer.pid").read_text().split() == [str(proc.pid)]
            assert "process up" in (place / "pgbouncer.log").read_text()
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    finally:
        shutil.rmtree(place, ignore_errors=True)


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, daemon", [
    ("postgres", "data_directory: pgdata", "PostgreSQL"),
    ("postgres", "hba_file: conf/pg_hba.conf", "PostgreSQL"),
    ("redis", "dir: data", "Redis"),
    ("pgbouncer", "logfile: pgbouncer.log", "pgbouncer"),
    ("pgbouncer", "unix_socket_dir: run", "pgbouncer"),
], ids=["data_directory", "hba_file", "redis-dir", "pgbouncer-logfile", "pgbouncer-socket"])
def test_a_relative_path_is_refused_where_it_is_written(tmp_path, key, value, daemon,
                                                        monkeypatch):
    project = project_with(tmp_path)
    monkeypatch.chdir(project)
    write(project / "presets/relative.yaml", f"{key}:\n  {value}\n")
    result = run("build", "--env", "staging", "--project", str(project),
                 "--overlay", str(project / "presets/relative.yaml"))
    assert result.code == 1
    assert f"is a relative path: {daemon} would resolve it" in result.err
    assert "--> presets/relative.yaml:2:" in result.err and "write an absolute path" in result.err
    assert not (project / "generated").exists()


def test_an_unknown_layout_is_refused(tmp_path):
    project = project_with(tmp_path, deploy="deploy:\n  layout: rpm\n")
    result = run("build", "--env", "staging", "--project", str(project))
    assert result.code == 1 and "perfcfg.yaml:" in result.err and "datadir" in result.err
    assert not (project / "generated").exists()


# -- the real daemons --------------------------------------------------------------------

@contextmanager
def debian_cluster(root: str, result, template, version: str):
    """PostgreSQL started as pg_ctlcluster does: ``postgres -D <config dir>``, nothing on the
    command line; the file's placement points into ``root`` (etc/, data/, run/)."""
    from perfcfg.harness import procs
    from perfcfg.harness.binaries import require
    from perfcfg.services.postgres.daemon import HARNESS_HBA_LINE

    account = procs.service_account("postgres")
    for sub in ("etc", "run"):
        os.mkdir(f"{root}/{sub}", 0o700)
        if account.uid is not None:
            os.chown(f"{root}/{sub}", account.uid, account.gid or -1)
    template.copy_to(f"{root}/data")
    procs.write_file(f"{root}/etc/postgresql.conf", result.files["postgresql.conf"].decode(),
                     account)
    procs.write_file(f"{root}/etc/pg_hba.conf",
                     HARNESS_HBA_LINE + result.files["pg_hba.conf"].decode(), account)
    procs.write_file(f"{root}/etc/pg_ident.conf", "", account)   # pg_createcluster makes one
    port = int(conf_lines(result.files["postgresql.conf"])["port"])
    proc = procs.spawn([require("postgres", version), "-D", f"{root}/etc"], f"{root}/log",
                       account)

    def connect():
        return psycopg.connect(host=f"{root}/run", port=port, user="postgres",
                               dbname="postgres", autocommit=True, connect_timeout=2)

    def probe():
        try:
            connect().close()
            return True
        except psycopg.OperationalError:
            return None

    try:
        procs.wait_ready("postgresql", proc, probe, [f"{root}/log"], 30)
        yield connect, proc
    finally:
        procs.stop_tree(proc, signal.SIGINT)


SHOWN = ("data_directory", "hba_file", "ident_file", "external_pid_file", "config_file",
         "cluster_name", *LOCALE)


def shown(connect) -> dict[str, str]:
    with connect() as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SHOWN}


@pytest.mark.daemons
@pytest.mark.parametrize("version", list(PG_BUILDS))
def test_postgres_starts_from_a_debian_layout_with_nothing_on_the_command_line(
        tmp_path, pg_template_of, version):
    from perfcfg.harness import procs

    require_daemon("postgresql", version)
    template = pg_template_of(version)
    root = procs.scratch_dir("pf-deb-", procs.service_account("postgres"))   # short: a socket lives here
    try:
        project = project_with(tmp_path, staging=f"    targets: {{postgres: {version}"
                                                 f"{PG_BUILDS[version]}}}\n")
        # A rehearsal of the host: the same layout under a scratch root, in a preset file
        overlay = write(project / "presets/rehearsal.yaml", "postgres:\n" + "".join(
            f"  {k}: {root}/{v}\n" for k, v in (
                ("data_directory", "data"), ("hba_file", "etc/pg_hba.conf"),
                ("ident_file", "etc/pg_ident.conf"),
                ("external_pid_file", f"run/{version}-main.pid"),
                ("unix_socket_directories", "run"))) + f"  port: {procs.free_port()}\n")
        result = compiled(project, "staging", overlay=overlay)
        with debian_cluster(root, result, template, version) as (connect, proc):
            got = shown(connect)
            pid_file = Path(f"{root}/run/{version}-main.pid")
            assert pid_file.read_text().split() == [str(proc.pid)]
            with connect() as conn:
                errors = conn.execute("SELECT name, error FROM pg_file_settings "
                                      "WHERE error IS NOT NULL").fetchall()
        assert errors == []      # every line of the file applied: nothing was overridden
        assert {k: got[k] for k in ("data_directory", "hba_file", "ident_file",
                                    "external_pid_file", "config_file", "cluster_name")} == {
            "data_directory": f"{root}/data", "hba_file": f"{root}/etc/pg_hba.conf",
            "ident_file": f"{root}/etc/pg_ident.conf",
            "external_pid_file": f"{root}/run/{version}-main.pid",
            "config_file": f"{root}/etc/postgresql.conf", "cluster_name": f"{version}/main"}
        assert {k: got[k] for k in LOCALE} == LOCALE
        assert not pid_file.exists()    # removed at shutdown, as pg_ctlcluster expects
    finally:
        procs.remove_dir(root)


@pytest.mark.daemons
def test_postgres_starts_from_a_datadir_layout_inside_its_data_directory(
        tmp_path, start_postgres):
    result = compiled(project_with(tmp_path, deploy="deploy:\n  layout: datadir\n"))
    require_daemon("postgresql", "17")
    pg = start_postgres(result.files["postgresql.conf"].decode(),
                        hba_text=result.files["pg_hba.conf"].decode(), version="17",
                        placed=True)
    got = shown(pg.connect)
    assert {k: got[k] for k in ("data_directory", "hba_file", "ident_file",
                                "external_pid_file", "config_file", "cluster_name")} == {
        "data_directory": pg.data, "hba_file": f"{pg.data}/pg_hba.conf",
        "ident_file": f"{pg.data}/pg_ident.conf", "external_pid_file": "",
        "config_file": f"{pg.data}/postgresql.conf", "cluster_name": "17/main"}
    assert {k: got[k] for k in LOCALE} == LOCALE
    # only the harness's port and address are on the command line
    assert {name for _f, _l, name, _e in pg.file_errors()} <= {"port", "listen_addresses"}


CACHES = [("redis", "7.0"), ("redis", "8.0"), ("valkey", "8.0"), ("valkey", "8.1")]


@pytest.mark.daemons
@pytest.mark.parametrize("daemon, version", CACHES, ids=[f"{d}{v}" for d, v in CACHES])
def test_redis_runs_with_the_files_placement(tmp_path, daemon, version):
    from perfcfg.services.redis.daemon import RedisServer, ValkeyServer

    require_daemon(daemon, version)
    project = project_with(tmp_path, staging=f'    targets: {{{daemon}: "{version}"}}\n')
    place = tmp_path / "host"
    (place / "lib").mkdir(parents=True)
    (place / "log").mkdir()
    (place / "run").mkdir()
    want = {"dir": str(place / "lib"), "logfile": str(place / f"log/{daemon}-server.log"),
            "pidfile": str(place / f"run/{daemon}-server.pid")}
    result = compiled(project, "staging", *(f"redis.{k}={v}" for k, v in want.items()))
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle(result.files[f"{daemon}.conf"].decode(), acl_text=result.files["users.acl"]
                .decode(), version=version, placed=True) as server:
        with server.client() as client:
            got = {k: client.config_get(k)[k] for k in (*want, "supervised", "daemonize")}
        assert got == {**want, "supervised": "systemd", "daemonize": "no"}
        assert server.proc is not None
        assert Path(want["pidfile"]).read_text().split() == [str(server.proc.pid)]
        log = Path(want["logfile"]).read_text()
    # supervised systemd without systemd: the server says so and serves anyway
    assert "NOTIFY_SOCKET" in log and "Ready to accept connections" in log


@pytest.mark.daemons
def test_the_harness_placement_is_not_drift_but_the_locale_is(tmp_path, start_postgres):
    """verify's comparison skips what the harness puts on the command line (the placement)
    and compares the locale and time settings, which are real settings of the server."""
    from perfcfg.verify import intended

    require_daemon("postgresql", "17")
    result = compiled(project_with(tmp_path))
    want = intended.from_result(result)["postgres"].values
    assert {"data_directory", "TimeZone", "lc_messages"} <= set(want)
    pg = start_postgres(result.files["postgresql.conf"].decode(),
                        hba_text=result.files["pg_hba.conf"].decode(), version="17")
    assert pg.mismatches(want) == []
    pg.query("ALTER SYSTEM SET timezone = 'Europe/Paris'")
    pg.query("ALTER SYSTEM SET lc_messages = 'C'")
    pg.query("SELECT pg_reload_conf()")
    assert [name for name, _want, _got in pg.mismatches(want)] == ["TimeZone", "lc_messages"]
