"""``perfcfg verify`` for PostgreSQL: boot a throwaway server from postgresql.conf and
pg_hba.conf and compare ``pg_settings`` with the file; or read a running one (``--live``).

A file sized for a host bigger than this machine may not map its ``shared_buffers`` here: the
server is started again with a quarter of this machine's memory, and the note says so.

>>> scaled_shared_buffers("could not map anonymous shared memory", 64 << 30, 16 << 30)
'4096MB'
>>> scaled_shared_buffers("FATAL: some other reason", 64 << 30, 16 << 30) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from perfcfg.core.plan import Plan
from perfcfg.services.catalog import Catalog
from perfcfg.services.postgres.encode import pg_value
from perfcfg.services.postgres.hba import intended_hba
from perfcfg.services.postgres.values import BUILD_VALUES
from perfcfg.services.verifier import Boot, Booted, Row, Verifier, file_values

# PostgreSQL cannot map more shared memory than this share of the machine and still run.
SHARED_BUFFERS_SHARE = 4
_INVALID_VALUE = re.compile(r'invalid value for parameter "(\w+)": "(\w+)"')
_SHMEM_FAILURE = re.compile(r"could not (map|create) (anonymous )?shared memory|out of memory",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Want:
    values: dict[str, str]               # GUC → value as postgresql.conf writes it
    # (role, database) → ALTER ROLE … SET values roles.sql gives (verify --live reads them)
    role_settings: dict[tuple[str, str], dict[str, str]]
    hba: list[str]                       # pg_hba.conf's rules, in order, in one spelling


def intended(plan: Plan, cat: Catalog) -> Want:
    part = plan.parts["postgres"]
    return Want(file_values(plan, "postgres", cat, pg_value), dict(part.role_settings),
                intended_hba(part.hba))


def scaled_shared_buffers(log_tail: str, host_memory: int, machine_memory: int) -> str | None:
    """A ``shared_buffers`` for this machine, when the failure was shared memory not fitting."""
    if not _SHMEM_FAILURE.search(log_tail) or host_memory <= machine_memory:
        return None
    return f"{machine_memory // SHARED_BUFFERS_SHARE // 2**20}MB"


def _gib(n: int) -> str:
    return f"{n / 2**30:.0f}GiB"


def boot(b: Boot) -> Booted:
    from perfcfg.harness.errors import DaemonError
    from perfcfg.services.postgres.daemon import HARNESS_KEYS, PgTemplate, PostgresServer

    conf, hba = b.files["postgresql.conf"], b.files["pg_hba.conf"]
    expected = dict(b.want.values)
    template = b.stack.enter_context(PgTemplate(b.version))
    try:
        pg = b.stack.enter_context(PostgresServer(conf, template, hba_text=hba,
                                                  version=b.version))
    except DaemonError as err:
        scaled = scaled_shared_buffers(err.log_tail, b.host_memory, b.machine_memory)
        if scaled is None:
            raise
        b.notes.append(
            f"postgresql: shared_buffers = {expected.get('shared_buffers')} does not fit "
            f"this machine ({_gib(b.machine_memory)}; the host profile has "
            f"{_gib(b.host_memory)}): started with shared_buffers = {scaled} and did not "
            "compare it")
        expected.pop("shared_buffers", None)
        extra = f"shared_buffers = {scaled}\n"
        if expected.get("huge_pages") == "on":
            # sized for the host profile's huge pages, which this machine has not reserved
            b.notes.append("postgresql: huge_pages = on needs the host's reserved huge "
                           "pages: started with huge_pages = try and did not compare it")
            expected.pop("huge_pages")
            extra += "huge_pages = try\n"
        pg = b.stack.enter_context(PostgresServer(conf + extra, template, hba_text=hba,
                                                  version=b.version))
    if b.host_memory > b.machine_memory and "shared_buffers" in expected:
        b.notes.append(f"postgresql: the host profile has {_gib(b.host_memory)}, this machine "
                       f"{_gib(b.machine_memory)}; the files started unchanged")
    # the harness's -c port/listen_addresses make the file's lines "not applied"
    errors: list[Row] = [(f"{name} (line {line})", "applied", error)
                         for _f, line, name, error in pg.file_errors()
                         if name not in HARNESS_KEYS]
    # the values the harness puts on the command line are not compared, so not counted
    return Booted(pg.mismatches(expected) + errors,
                  sum(name.lower() not in HARNESS_KEYS for name in expected), pg)


def refusal_notes(err: Exception) -> list[str]:
    """A refused value that only some builds have (lz4, io_uring): say which feature this
    PostgreSQL lacks and how the project states it, so perfcfg stops writing the value."""
    notes = []
    for name, value in _INVALID_VALUE.findall(getattr(err, "log_tail", "")):
        feature = BUILD_VALUES.get(value)
        if feature is not None:
            notes.append(
                f"postgresql: this build has no {feature} (it refused {name} = {value}); "
                f"state it in perfcfg.yaml: targets: {{postgres_build: {{{feature}: false}}}}")
    return notes


def read_live(dsn: str) -> Any:
    from perfcfg.services.postgres.daemon import live_state

    return live_state(dsn)


def compare_live(state: Any, want: Want, notes: list[str]) -> tuple[list[Row], int]:
    """pg_settings, and what the file does not say but changes what sessions run with: the
    settings roles and databases carry, and pg_hba.conf as it is on disk now."""
    from perfcfg.services.postgres.daemon import (
        hba_mismatches,
        pg_mismatches,
        role_setting_mismatches,
    )

    rows = pg_mismatches(state.settings, want.values) + \
        role_setting_mismatches(state.role_settings, want.role_settings) + \
        hba_mismatches(state.hba, want.hba)
    roles = sum(len(v) for v in want.role_settings.values())
    return rows, len(want.values) + roles + len(want.hba)


# `verify --live --postgres`: what it takes
HELP = ("libpq connection string of the running PostgreSQL (with --live).")
VERIFIER = Verifier(intended, boot, refusal_notes=refusal_notes,
                    live_variable="PERFCFG_POSTGRES_DSN", read_live=read_live,
                    compare_live=compare_live, live_metavar="DSN",
                    live_help=HELP, clients=("psycopg",))
