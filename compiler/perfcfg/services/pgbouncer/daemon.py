"""A throwaway pgbouncer (1.18 by default, or ``version``) from the text of a pgbouncer.ini
(+ userlist.txt), optionally in front of a ``PostgresServer``.

Harness-owned keys are rewritten in place (never a second ``[pgbouncer]`` header, which would
reset every key): ``listen_addr``, ``listen_port``, ``unix_socket_dir``, ``logfile``,
``pidfile``, ``auth_file``, and each ``[databases]`` entry's ``host``/``port`` when a server is
given. The admin console is reached as the built-in user ``pgbouncer`` over the unix socket,
which pgbouncer admits without a password when the peer runs under its own UID — so neither
``admin_users`` nor the userlist need a harness entry. The console speaks only the simple
query protocol, hence the versioned ``psql --csv``, run as that same service user.

>>> ini = "[databases]\\napp = host=db port=5432 dbname=app\\n[pgbouncer]\\npool_mode = transaction\\n"
>>> with PgBouncer(ini, '"app" ""\\n', backend=pg) as bnc:  # doctest: +SKIP
...     bnc.mismatches({"pool_mode": "transaction"})
[]
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from perfcfg.harness import ini, procs
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError, Mismatch
from perfcfg.services.pgbouncer import backend, programs
from perfcfg.services.pgbouncer.compare import pgbouncer_equal

if TYPE_CHECKING:
    pass

HARNESS_KEYS = frozenset({"listen_addr", "listen_port", "unix_socket_dir", "logfile",
                          "pidfile", "auth_file", "conffile"})
# Enum (CfLookup) parameters of pgbouncer 1.18, from src/main.c (auth_type_map, pool_mode_map,
# sslmode_map); Debian's build links PAM, so "pam" is accepted. Not reported by SHOW CONFIG.
ENUMS: dict[str, tuple[str, ...]] = {
    "auth_type": ("any", "trust", "plain", "md5", "cert", "hba", "pam", "scram-sha-256"),
    "pool_mode": ("session", "transaction", "statement"),
    "client_tls_sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "server_tls_sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
}
_CONNSTR = re.compile(r"(\w+)\s*=\s*('(?:[^']|'')*'|\S+)")


def repoint_databases(text: str, host: str, port: int) -> str:
    """Point every ``[databases]`` entry at ``host:port``, keeping its other parameters."""
    def rewrite(_section: str, _name: str, value: str) -> str:
        pairs = [(k, v) for k, v in _CONNSTR.findall(value) if k not in ("host", "port")]
        return " ".join([f"host={host}", f"port={port}"] + [f"{k}={v}" for k, v in pairs])
    return ini.map_values(text, lambda s: s == "databases", rewrite)


class Backend(Protocol):
    """The server a test's or verify's pgbouncer pools: it listens on loopback ``port``."""

    port: int


# SHOW DATABASES columns whose name differs from the [databases] key they show.
SHOWN_AS = {"reserve_pool_size": "reserve_pool"}


class PgBouncer(procs.Handle):
    """A running pgbouncer; ``backend`` (optional) is the server its databases point at:
    anything with the loopback ``port`` it listens on."""

    daemon = "pgbouncer"
    stop_signal = signal.SIGTERM  # immediate shutdown ("got SIGTERM, fast exit")

    def __init__(self, ini_text: str, userlist_text: str = "",
                 backend: Backend | None = None, timeout: float = 15,
                 version: str | None = None) -> None:
        self.version = version
        self.ini_text = ini_text
        self.userlist_text = userlist_text
        self.backend = backend
        self.timeout = timeout
        self.account = procs.service_account(programs.ACCOUNT)
        self.dir = ""
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> str:
        return f"{self.dir}/pgbouncer.ini"

    @property
    def log(self) -> str:
        return f"{self.dir}/stderr.log"

    def effective_ini(self) -> str:
        """The ini text as started: harness keys rewritten, everything else untouched."""
        text = self.ini_text
        if self.backend is not None:
            text = repoint_databases(text, "127.0.0.1", self.backend.port)
        return ini.set_keys(text, "pgbouncer", {
            "listen_addr": "127.0.0.1", "listen_port": str(self.port),
            "unix_socket_dir": self.dir, "logfile": f"{self.dir}/pgbouncer.log",
            "pidfile": f"{self.dir}/pgbouncer.pid", "auth_file": f"{self.dir}/userlist.txt"})

    # -- lifecycle ----------------------------------------------------------------------------
    def _launch(self) -> None:
        self.dir = procs.scratch_dir("pf-bnc-", self.account)
        procs.write_file(f"{self.dir}/userlist.txt", self.userlist_text, self.account)
        self._start_on_free_port()

    def _start_on_free_port(self) -> None:
        for attempt in range(procs.PORT_RETRIES):
            self.port = procs.free_port()
            procs.write_file(self.conf, self.effective_ini(), self.account)
            Path(self.log).write_text("")
            self.proc = procs.spawn([require("pgbouncer", self.version), self.conf], self.log,
                                    self.account, cwd=self.dir)
            procs.wait_ready(self.daemon, self.proc, self._probe, [self.log], self.timeout)
            log = procs.tail(self.log, lines=200)
            if "cannot listen on 127.0.0.1" in log and attempt < procs.PORT_RETRIES - 1:
                procs.stop_tree(self.proc, signal.SIGTERM)
                continue
            # Missing or broken auth files, busy ports: pgbouncer only logs them and runs on.
            bad = [line for line in log.splitlines() if " ERROR " in line or "cannot listen" in line]
            if bad:
                raise DaemonError(self.daemon, "started with errors", "\n".join(bad))
            return

    def _probe(self) -> bool | None:
        try:
            return True if self.console("SHOW VERSION", timeout=5) else None
        except DaemonError:
            return None




    # -- reading --------------------------------------------------------------------------------
    def console(self, sql: str, timeout: float = 10) -> list[dict[str, str]]:
        """Rows of an admin-console command (``SHOW CONFIG``, ``SHOW DATABASES``, …)."""
        # SQL_ASCII: psql passes the bytes through as pgbouncer sent them. Under UTF8 its output
        # check silently drops the noncharacters U+nFFFE/U+nFFFF of planes 1-16, so a value
        # pgbouncer holds exactly would read back changed.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONNECT_TIMEOUT": "2",
               "PGCLIENTENCODING": "SQL_ASCII"}
        result = subprocess.run(
            [require(backend.CLIENT), "--csv", "-X", "-h", self.dir, "-p", str(self.port),
             "-U", "pgbouncer", "-d", "pgbouncer", "-c", sql],
            capture_output=True, env=env, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
            **self.account.popen_kwargs())
        if result.returncode != 0:
            raise DaemonError(self.daemon, f"console {sql!r} failed",
                              result.stderr.decode("utf-8", "replace").strip())
        text = result.stdout.decode("utf-8", "surrogateescape")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def config(self) -> dict[str, dict[str, str]]:
        """``SHOW CONFIG`` as ``{key: {"value", "default", "changeable"}}``."""
        return {r["key"]: {k: r[k] for k in ("value", "default", "changeable")}
                for r in self.console("SHOW CONFIG")}

    def databases(self) -> list[dict[str, str]]:
        """``SHOW DATABASES``, its columns named after the ``[databases]`` keys."""
        return shown_databases(self.console("SHOW DATABASES"))

    def users(self) -> list[dict[str, str]]:
        return self.console("SHOW USERS")

    def dsn(self, dbname: str, user: str, password: str | None = None) -> str:
        """A libpq DSN for a client connecting through this pgbouncer over TCP."""
        pw = f" password={password}" if password is not None else ""
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}{pw}"

    def mismatches(self, intended: Mapping[str, str]) -> list[Mismatch]:
        """Intended ``[pgbouncer]`` values that differ from ``SHOW CONFIG``."""
        current = {key: row["value"] for key, row in self.config().items()}
        return pgbouncer_mismatches(current, intended, HARNESS_KEYS)


def shown_databases(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """``SHOW DATABASES`` rows with their columns named after the ``[databases]`` keys:
    pgbouncer 1.24 shows ``reserve_pool`` as ``reserve_pool_size``."""
    return [{SHOWN_AS.get(k, k): v for k, v in row.items()} for row in rows]


def pgbouncer_mismatches(current: Mapping[str, str], intended: Mapping[str, str],
                         skip: frozenset[str] = frozenset()) -> list[Mismatch]:
    """Intended ``[pgbouncer]`` values that differ from ``current`` (``SHOW CONFIG``'s
    key → value); ``skip`` names what the caller set itself."""
    out: list[Mismatch] = []
    for key, value in sorted(intended.items()):
        if key in skip:
            continue
        effective = current.get(key)
        if effective is None:
            out.append((key, value, "<unknown parameter>"))
        elif not pgbouncer_equal(value, effective, enum=key in ENUMS):
            out.append((key, value, effective))
    return out


def live_console(dsn: str) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """``SHOW CONFIG`` (key → value), ``SHOW DATABASES`` and ``SHOW USERS`` of a running
    pgbouncer's admin console (``verify --live``): ``dsn`` names ``dbname=pgbouncer`` and an
    admin or stats user.
    The console speaks only the simple query protocol, which psycopg's client-side-binding
    cursor uses for a query without parameters."""
    import psycopg

    def text(value: object) -> str:   # as psql --csv shows it: NULL is empty
        return "" if value is None else str(value)

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10,
                         cursor_factory=psycopg.ClientCursor) as conn:
        config = {str(r[0]): text(r[1]) for r in conn.execute("SHOW CONFIG").fetchall()}
        shown = []
        for query in ("SHOW DATABASES", "SHOW USERS"):
            cur = conn.execute(query)
            columns = [c.name for c in cur.description or ()]
            shown.append([dict(zip(columns, map(text, r), strict=True))
                          for r in cur.fetchall()])
    return config, shown_databases(shown[0]), shown[1]
