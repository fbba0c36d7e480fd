"""A throwaway PostgreSQL server (and an offline ``postgres -C`` check) for a postgresql.conf.

The server runs as the ``postgres`` system user in a short scratch dir, on a free loopback
port; only ``port``, ``listen_addresses`` and ``unix_socket_directories`` are overridden (with
``-c``, so they show ``source = 'command line'``), and the file's placement: a generated file
names the host's data directory, pg_hba.conf and pid file (Debian's ``/var/lib/postgresql/…``),
so the harness points ``data_directory``, ``hba_file`` and ``ident_file`` at its scratch copy
and writes no extra pid file, unless ``placed=True`` says the file's own paths already point
into scratch. The harness talks to it over the unix socket in the scratch dir, so the
generated pg_hba.conf decides only what TCP clients may do.
``version`` picks the major version (``programs.SPEC``; default 15, Debian 12's).

>>> with PgTemplate() as tpl, PostgresServer("shared_buffers = '32MB'\\n", tpl) as pg:  # doctest: +SKIP
...     pg.mismatches({"shared_buffers": "32MB"})
[]
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from perfcfg.core.units import UnitError
from perfcfg.harness import procs
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError, Mismatch
from perfcfg.services.postgres import programs
from perfcfg.services.postgres.compare import pg_equal
from perfcfg.services.postgres.hba import address_of, hba_rule
from perfcfg.services.postgres.units import (
    PG_BASE_BYTES,
    PG_BASE_US,
    format_pg_memory,
    format_pg_time,
)

if TYPE_CHECKING:
    from typing_extensions import Self

# Where the file says the cluster's files are: a real host's paths, set to the scratch dir's.
PLACEMENT_KEYS = frozenset({"data_directory", "hba_file", "ident_file", "external_pid_file"})
HARNESS_KEYS = frozenset({"port", "listen_addresses", "unix_socket_directories"}) | PLACEMENT_KEYS
SUPERUSER = "postgres"
# The harness reaches the server through its private socket dir; prepended to a generated
# pg_hba.conf only, so the file's own rules still govern every TCP client.
HARNESS_HBA_LINE = f"local all {SUPERUSER} trust\n"


@dataclass(frozen=True)
class PgSetting:
    """One row of ``pg_settings``: the value in its base ``unit``."""

    name: str
    setting: str
    unit: str | None
    vartype: str
    source: str

    def display(self) -> str:
        """The value as postgresql.conf would write it (``1GB``, not ``131072 8kB``), so that
        a report compares like with like; one that does not convert is shown as read."""
        if self.setting == "-1":     # "disabled" for the parameters that take it
            return self.setting
        number = int(self.setting) if self.setting.isdigit() else None
        try:
            if number is not None and self.unit in PG_BASE_BYTES:
                return format_pg_memory(number * PG_BASE_BYTES[self.unit], self.unit)
            if number is not None and self.unit in PG_BASE_US:
                return format_pg_time(number * PG_BASE_US[self.unit], self.unit)
        except UnitError:
            pass
        return f"{self.setting} {self.unit}" if self.unit else self.setting


class PgTemplate:
    """An initdb'd data directory, copied (``cp -a``) for each server to skip initdb."""

    def __init__(self, version: str | None = None) -> None:
        self.version = version
        self.account = procs.service_account(programs.ACCOUNT)
        self.root = procs.scratch_dir("pf-tpl-", self.account)
        self.data = f"{self.root}/data"
        result = procs.run([require("initdb", version), "-N", "-D", self.data, "-U", SUPERUSER,
                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
                           self.account)
        if result.returncode != 0:
            self.remove()
            raise DaemonError("initdb", f"exited with code {result.returncode}",
                              (result.stdout + result.stderr)[-4000:], result.returncode)

    def copy_to(self, dest: str) -> None:
        # cp -a keeps the postgres ownership and 0700 mode that shutil.copytree would lose.
        result = procs.run(["cp", "-a", self.data, dest])
        if result.returncode != 0:
            raise DaemonError("postgresql", f"cannot copy template: {result.stderr.strip()}")

    def remove(self) -> None:
        procs.remove_dir(self.root)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class PostgresServer(procs.Handle):
    """A running PostgreSQL from the text of a postgresql.conf (and optionally pg_hba.conf)."""

    daemon = "postgresql"
    stop_signal = signal.SIGINT   # fast shutdown: abort transactions, no wait for clients

    def __init__(self, conf_text: str, template: PgTemplate | None = None,
                 hba_text: str | None = None, timeout: float = 30,
                 version: str | None = None, placed: bool = False) -> None:
        # bench/ passes templates of its own (anything with copy_to/remove): no version there
        made_by = getattr(template, "version", None)
        if version is not None and made_by is not None and made_by != version:
            raise ValueError(f"template is PostgreSQL {made_by}, not {version}")
        self.version = version or made_by
        self.conf_text = conf_text
        self.hba_text = hba_text
        self.placed = placed
        self.timeout = timeout
        self._template = template
        self._own_template = template is None
        self.account = procs.service_account(programs.ACCOUNT)
        self.dir = ""
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def _launch(self) -> None:
        if self._template is None:
            self._template = PgTemplate(self.version)
        self.dir = procs.scratch_dir("pf-pg-", self.account)
        self._template.copy_to(self.data)
        procs.write_file(f"{self.data}/postgresql.conf", self.conf_text, self.account)
        if self.hba_text is not None:
            procs.write_file(f"{self.data}/pg_hba.conf", HARNESS_HBA_LINE + self.hba_text,
                             self.account)
        self._start_on_free_port()

    @property
    def data(self) -> str:
        return f"{self.dir}/data"

    @property
    def log(self) -> str:
        return f"{self.dir}/server.log"

    def placement(self) -> dict[str, str]:
        """The placement the harness gives the server instead of the file's (none if placed)."""
        if self.placed:
            return {}
        return {"data_directory": self.data, "hba_file": f"{self.data}/pg_hba.conf",
                "ident_file": f"{self.data}/pg_ident.conf", "external_pid_file": ""}

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.proc = procs.spawn(
            [require("postgres", self.version), "-D", self.data, "-c", f"port={self.port}",
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             *(arg for name, value in self.placement().items()
               for arg in ("-c", f"{name}={value}"))],
            self.log, self.account)
        return self.proc

    def restart(self) -> float:
        """Stop the server (fast) and start it again on the same port and socket, as a host's
        ``systemctl restart`` does: what changes needing a restart (ALTER SYSTEM of a
        postmaster setting) take effect with, while clients reconnect to the same address.
        The seconds it was away (clients' failed logins are measured against them)."""
        assert self.proc is not None
        began = time.monotonic()
        procs.stop_tree(self.proc, self.stop_signal)
        proc = self._spawn()
        procs.wait_ready(self.daemon, proc, self._probe,
                         [self.log, f"{self.data}/log/*"], self.timeout)
        return time.monotonic() - began

    def _start_on_free_port(self) -> None:
        def spawn(port: int) -> subprocess.Popen[bytes]:
            self.port = port
            return self._spawn()

        # logging_collector = on moves the server's words into data/log
        procs.start_on_free_port(self.daemon, spawn, self._probe,
                                 [self.log, f"{self.data}/log/*"], self.timeout,
                                 "already in use", lambda proc: Path(self.log).write_text(""))

    def _probe(self) -> bool | None:
        try:
            with self.connect(connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return None


    def stop(self) -> None:
        super().stop()
        if self._own_template and self._template is not None:
            self._template.remove()
            self._template = None


    # -- reading --------------------------------------------------------------------------------
    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(host=self.dir, port=self.port, user=SUPERUSER, dbname=dbname,
                               autocommit=True, **kwargs)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cur = conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description is not None else []

    def settings(self) -> dict[str, PgSetting]:
        """``pg_settings`` by lower-case name."""
        rows = self.query("SELECT name, setting, unit, vartype, source FROM pg_settings")
        return {r[0].lower(): PgSetting(*r) for r in rows}

    def file_errors(self) -> list[tuple[str, int, str, str]]:
        """``pg_file_settings`` rows with an error: (file, line, name, error)."""
        return [(file, line, name, error) for file, line, name, error in self.query(
            "SELECT sourcefile, sourceline, name, error FROM pg_file_settings "
            "WHERE error IS NOT NULL ORDER BY seqno")]

    def mismatches(self, intended: Mapping[str, str]) -> list[Mismatch]:
        """Intended GUC values (file syntax) that differ from ``pg_settings``."""
        return pg_mismatches(self.settings(), intended, HARNESS_KEYS)


_SETTINGS = "SELECT name, setting, unit, vartype, source FROM pg_settings"


def pg_mismatches(current: Mapping[str, PgSetting], intended: Mapping[str, str],
                  skip: frozenset[str] = frozenset()) -> list[Mismatch]:
    """Intended GUC values (file syntax) that differ from ``current`` (``pg_settings`` by
    lower-case name); ``skip`` names what the caller set itself."""
    out: list[Mismatch] = []
    for name, value in sorted(intended.items()):
        if name.lower() in skip:
            continue
        s = current.get(name.lower())
        if s is None:
            out.append((name, value, "<unknown parameter>"))
        elif not pg_equal(value, s.setting, s.unit, s.vartype):
            out.append((name, value, s.display()))
    return out


def live_settings(dsn: str) -> dict[str, PgSetting]:
    """``pg_settings`` of a running server (``verify --live``), by lower-case name."""
    return live_state(dsn).settings


@dataclass(frozen=True)
class LiveState:
    """What ``verify --live`` reads from a running server: ``pg_settings``, the settings roles
    and databases carry (``ALTER ROLE … SET``, ``ALTER DATABASE … SET``: they override
    postgresql.conf for those sessions) and pg_hba.conf as the server parses it now."""

    settings: dict[str, PgSetting]
    role_settings: dict[tuple[str, str], dict[str, str]]
    hba: list[tuple[int, str, str | None]]     # (line, rule as hba_rule() writes it, error)


_ROLE_SETTINGS = ("SELECT coalesce(r.rolname, ''), coalesce(d.datname, ''), s.setconfig "
                  "FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole "
                  "LEFT JOIN pg_database d ON d.oid = s.setdatabase")
# pg_hba_file_rules parses the file as it is on disk now, not what the server last loaded:
# a line added by hand shows before anyone reloads.
_HBA_RULES = ("SELECT line_number, type, database, user_name, address, netmask, auth_method, "
              "error FROM pg_hba_file_rules ORDER BY line_number")


def live_state(dsn: str) -> LiveState:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        settings = {r[0].lower(): PgSetting(*r) for r in conn.execute(_SETTINGS).fetchall()}
        roles: dict[tuple[str, str], dict[str, str]] = {}
        for role, database, config in conn.execute(_ROLE_SETTINGS).fetchall():
            for item in config or ():
                name, _, value = item.partition("=")
                roles.setdefault((role, database), {})[name.lower()] = value
        hba = [(line, hba_rule(kind, dbs, users, address_of(address, mask), method)
                if error is None else "", error)
               for line, kind, dbs, users, address, mask, method, error in
               conn.execute(_HBA_RULES).fetchall()]
    return LiveState(settings, roles, hba)


def hba_mismatches(live: list[tuple[int, str, str | None]], intended: list[str]
                   ) -> list[Mismatch]:
    """pg_hba.conf on the host against the plan's rules, in order (the first match wins): each
    line added, removed or changed, and each line the server cannot parse."""
    import difflib

    out: list[Mismatch] = [(f"pg_hba.conf line {line}", "a rule perfcfg writes", error)
                           for line, _, error in live if error]
    have = [(line, text) for line, text, error in live if not error]
    matcher = difflib.SequenceMatcher(a=intended, b=[text for _, text in have], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        wanted, found = intended[i1:i2], have[j1:j2]
        for k in range(max(len(wanted), len(found))):
            line = found[k][0] if k < len(found) else (have[j1 - 1][0] if j1 else 0)
            out.append((f"pg_hba.conf line {line}", wanted[k] if k < len(wanted) else "(none)",
                        found[k][1] if k < len(found) else "(missing)"))
    return out


def role_setting_mismatches(live: Mapping[tuple[str, str], Mapping[str, str]],
                            intended: Mapping[tuple[str, str], Mapping[str, str]]
                            ) -> list[Mismatch]:
    """``ALTER ROLE/DATABASE … SET`` on the host against what roles.sql sets (nothing but the
    read-only users' default): each one overrides postgresql.conf for its sessions."""
    out: list[Mismatch] = []
    for key in sorted(set(live) | set(intended)):
        role, database = key
        where = (f"role {role} in database {database}" if role and database else
                 f"role {role}" if role else f"database {database}")
        have, want = live.get(key, {}), intended.get(key, {})
        for name in sorted(set(have) | set(want)):
            if have.get(name) != want.get(name):
                out.append((f"{where}: {name}", want.get(name, "(postgresql.conf's)"),
                            have.get(name, "(not set)")))
    return out


def check_postgresql_conf(conf_text: str, names: tuple[str, ...] = ("shared_buffers",),
                          version: str | None = None) -> dict[str, str]:
    """``postgres -C`` on a scratch copy: every value parsed and validated, no server started.

    Returns ``{name: value in base units}``; raises ``DaemonError`` with the server's
    ``LOG``/``FATAL`` lines for a syntax error, unknown key or invalid value. Cross-parameter
    and memory problems show only at a real start (``PostgresServer``).
    """
    account = procs.service_account(programs.ACCOUNT)
    workdir = procs.scratch_dir("pf-pgc-", account)
    try:
        procs.write_file(f"{workdir}/postgresql.conf", conf_text, account)
        procs.write_file(f"{workdir}/postgresql.auto.conf", "", account)
        values: dict[str, str] = {}
        for name in names:
            # -C must come first: that is what lets it run as root.
            result = procs.run([require("postgres", version), "-C", name, "-D", workdir])
            if result.returncode != 0:
                raise DaemonError("postgresql", f"postgres -C exited with code {result.returncode}",
                                  (result.stderr + result.stdout).strip()[-4000:], result.returncode)
            values[name] = result.stdout.strip()
        return values
    finally:
        procs.remove_dir(workdir)
