"""``perfcfg verify``: boot the installed daemons from compiled files, compare effective values.

Owns the orchestration only: which daemons run (those installed), what the harness rewrites
beyond :mod:`perfcfg.daemons` (supervisor programs get a stand-in command; a PostgreSQL sized
for a bigger host gets its ``shared_buffers`` scaled down, and says so), and the report. The
intended values come from :mod:`perfcfg.verify.intended`; the comparison from each daemon handle.
Returns data; the CLI prints it.

>>> report = Report(checked=["redis"], missing={"postgresql": ["postgres"]})
>>> report.rows.append(Row("redis", "hz", "1000", "500"))
>>> report.ok, report.verified_anything
(False, True)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcfg.verify import intended as intent

if TYPE_CHECKING:
    from perfcfg.stages.pipeline import Result

DAEMONS = ("postgresql", "pgbouncer", "redis", "valkey", "supervisor")
CACHE_DAEMONS = ("redis", "valkey")
STAND_IN_COMMAND = "/bin/sleep 1000"
# Keys of a [program:x] that name this host's users and paths: verify runs programs as itself.
SUPERVISOR_DROPPED = ("user", "directory")
# PostgreSQL cannot map more shared memory than this share of the machine and still run.
SHARED_BUFFERS_SHARE = 4
_INVALID_VALUE = re.compile(r'invalid value for parameter "(\w+)": "(\w+)"')
_SHMEM_FAILURE = re.compile(r"could not (map|create) (anonymous )?shared memory|out of memory",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Row:
    """One value a daemon runs with that is not what perfcfg wrote (or a daemon that refused)."""

    daemon: str
    setting: str
    intended: str
    effective: str


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)         # daemons started and compared
    refused: list[str] = field(default_factory=list)         # daemons that rejected their file
    missing: dict[str, list[str]] = field(default_factory=dict)  # daemon → binaries it lacks
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)            # what the harness changed, and why
    compared: int = 0                                         # values compared in total

    @property
    def verified_anything(self) -> bool:
        """A daemon was started: it ran (and was compared) or refused the file."""
        return bool(self.checked or self.refused)

    @property
    def ok(self) -> bool:
        return self.verified_anything and not self.rows


def verify(result: Result, machine_memory: int | None = None,
           progress: Callable[[str], None] = lambda line: None) -> Report:
    """Start every installed daemon from ``result.files`` (a compiled ``pipeline.Result``);
    ``progress`` hears which daemon is being started and compared (it takes seconds)."""
    from perfcfg.harness.binaries import missing
    from perfcfg.services import registry

    assert result.config is not None   # verify runs on a compiled result only
    want = intent.from_result(result)
    # the binaries of the versions the environment targets (harness.binaries finds them)
    runs = dict(registry.daemons(result.config.targets).values())
    cache = next(d for d in runs if d in CACHE_DAEMONS)
    report = Report(missing={f"{d} {v}": m for d, v in runs.items() if (m := missing(d, v))})
    ran = {d: f"{d} {v}" not in report.missing for d, v in runs.items()}
    files = {name: data.decode("utf-8") for name, data in result.files.items()}
    host_memory = result.config.host.memory if result.config.host is not None else 0
    step = lambda daemon: progress(f"{daemon}: starting from the compiled files and "  # noqa: E731
                                   "comparing its values")
    with ExitStack() as stack:
        pg = None
        if ran["postgresql"]:
            step("postgresql")
            pg = _postgres(stack, files, want, report, host_memory, machine_memory,
                           runs["postgresql"])
        if pg is not None and ran["pgbouncer"]:
            step("pgbouncer")
            _pgbouncer(stack, files, want, report, pg, runs["pgbouncer"])
        if ran[cache]:
            step(cache)
            _redis(files, want, report, cache, runs[cache])
        if ran["supervisor"]:
            step("supervisor")
            _supervisor(files, want, report, runs["supervisor"])
    return report


def bindir_hint(missing_key: str) -> str:
    """The variable that points a missing ``"<daemon> <version>"`` at the user's binaries."""
    from perfcfg.harness.binaries import bindir_variable

    return bindir_variable(*missing_key.split(" ", 1))


def _refused(report: Report, daemon: str, err: Exception) -> None:
    from perfcfg.harness.errors import DaemonError

    detail = err.message if isinstance(err, DaemonError) else str(err)
    lines = err.log_tail.strip().splitlines() if isinstance(err, DaemonError) else []
    # the daemon's own reason, not its closing "shut down" line
    report.refused.append(daemon)
    said = [line for line in lines if re.search(r"FATAL|ERROR|Error", line)] or lines
    report.rows.append(Row(daemon, "(start)", "starts with the generated file",
                           "; ".join([detail, *said[:1]])))


def _add(report: Report, daemon: str, mismatches: list[tuple[str, str, str]], compared: int
         ) -> None:
    report.checked.append(daemon)
    report.compared += compared
    report.rows.extend(Row(daemon, *m) for m in mismatches)


# -- PostgreSQL --------------------------------------------------------------------------

def _postgres(stack: ExitStack, files: dict[str, str], want: intent.Intended, report: Report,
              host_memory: int, machine_memory: int | None, version: str) -> Any:
    from perfcfg.harness.errors import DaemonError
    from perfcfg.services.postgres.daemon import HARNESS_KEYS, PgTemplate, PostgresServer

    conf, hba = files["postgresql.conf"], files["pg_hba.conf"]
    expected = dict(want.postgres)
    try:
        template = stack.enter_context(PgTemplate(version))
        try:
            pg = stack.enter_context(PostgresServer(conf, template, hba_text=hba,
                                                    version=version))
        except DaemonError as err:
            scaled = _scaled_shared_buffers(err, host_memory, machine_memory)
            if scaled is None:
                raise
            report.notes.append(
                f"postgresql: shared_buffers = {expected.get('shared_buffers')} does not fit "
                f"this machine ({_gib(_machine(machine_memory))}; the host profile has "
                f"{_gib(host_memory)}): started with shared_buffers = {scaled} and did not "
                "compare it")
            expected.pop("shared_buffers", None)
            extra = f"shared_buffers = {scaled}\n"
            if expected.get("huge_pages") == "on":
                # sized for the host profile's huge pages, which this machine has not reserved
                report.notes.append("postgresql: huge_pages = on needs the host's reserved huge "
                                    "pages: started with huge_pages = try and did not compare it")
                expected.pop("huge_pages")
                extra += "huge_pages = try\n"
            pg = stack.enter_context(PostgresServer(conf + extra, template, hba_text=hba,
                                                    version=version))
    except DaemonError as err:
        _refused(report, "postgresql", err)
        _build_note(report, err)
        return None
    if host_memory > _machine(machine_memory) and "shared_buffers" in expected:
        report.notes.append(f"postgresql: the host profile has {_gib(host_memory)}, this machine "
                            f"{_gib(_machine(machine_memory))}; the files started unchanged")
    # the harness's -c port/listen_addresses make the file's lines "not applied"
    errors = [(f"{name} (line {line})", "applied", error)
              for _f, line, name, error in pg.file_errors() if name not in HARNESS_KEYS]
    # the values the harness puts on the command line are not compared, so not counted
    _add(report, "postgresql", pg.mismatches(expected) + errors,
         sum(name.lower() not in HARNESS_KEYS for name in expected))
    return pg


def _machine(machine_memory: int | None) -> int:
    if machine_memory is not None:
        return machine_memory
    import psutil

    return int(psutil.virtual_memory().total)


def _build_note(report: Report, err: Exception) -> None:
    """A refused value that only some builds have (lz4, io_uring): say which feature this
    PostgreSQL lacks and how the project states it, so perfcfg stops writing the value."""
    from perfcfg.services.postgres.service import BUILD_VALUES

    tail = getattr(err, "log_tail", "")
    for name, value in _INVALID_VALUE.findall(tail):
        feature = BUILD_VALUES.get(value)
        if feature is not None:
            report.notes.append(
                f"postgresql: this build has no {feature} (it refused {name} = {value}); "
                f"state it in perfcfg.yaml: targets: {{postgres_build: {{{feature}: false}}}}")


def _scaled_shared_buffers(err: Exception, host_memory: int, machine_memory: int | None
                           ) -> str | None:
    """A ``shared_buffers`` for this machine, when the failure was shared memory not fitting."""
    tail = getattr(err, "log_tail", "")
    if not _SHMEM_FAILURE.search(tail) or host_memory <= _machine(machine_memory):
        return None
    return f"{_machine(machine_memory) // SHARED_BUFFERS_SHARE // 2**20}MB"


def _gib(n: int) -> str:
    return f"{n / 2**30:.0f}GiB"


# -- pgbouncer ---------------------------------------------------------------------------

def _pgbouncer(stack: ExitStack, files: dict[str, str], want: intent.Intended, report: Report,
               pg: Any, version: str) -> None:
    from perfcfg.harness.errors import DaemonError
    from perfcfg.services.pgbouncer.daemon import HARNESS_KEYS, PgBouncer

    try:
        bnc = stack.enter_context(PgBouncer(files["pgbouncer.ini"], files["userlist.txt"],
                                            postgres=pg, version=version))
        rows = bnc.mismatches(want.pgbouncer) + _database_rows(bnc.databases(), want.databases)
    except DaemonError as err:
        _refused(report, "pgbouncer", err)
        return
    _add(report, "pgbouncer", rows, len(set(want.pgbouncer) - HARNESS_KEYS) + sum(
        len(set(columns) - {"host", "port"}) for columns in want.databases.values()))


def _database_rows(shown: list[dict[str, str]], databases: dict[str, dict[str, str]],
                   skip: tuple[str, ...] = ("host", "port")) -> list[tuple[str, str, str]]:
    """``[databases]`` entries against SHOW DATABASES (``skip``: the harness's host/port)."""
    by_name = {row["name"]: row for row in shown}
    out = []
    for name, columns in sorted(databases.items()):
        row = by_name.get(name)
        for column, value in sorted(columns.items()):
            if column in skip:
                continue
            effective = "<missing database>" if row is None else row.get(column, "<unknown>")
            if effective != value:
                out.append((f"databases.{name}.{column}", value, effective))
    return out


# -- Redis -------------------------------------------------------------------------------

def _redis(files: dict[str, str], want: intent.Intended, report: Report, daemon: str,
           version: str) -> None:
    from perfcfg.harness.errors import DaemonError
    from perfcfg.services.redis.daemon import HARNESS_KEYS, RedisServer, ValkeyServer

    handle = ValkeyServer if daemon == "valkey" else RedisServer
    try:
        with handle(files[f"{daemon}.conf"], acl_text=files.get("users.acl"),
                    version=version) as r:
            rows = r.mismatches(want.redis, want.redis_enums)
    except DaemonError as err:
        _refused(report, daemon, err)
        return
    _add(report, daemon, rows, len(set(want.redis) - HARNESS_KEYS))


# -- supervisord -------------------------------------------------------------------------

def supervisor_stand_in(text: str, command: str = STAND_IN_COMMAND) -> str:
    """Every program runs ``command`` as ourselves; all its other options stay as generated."""
    out, program = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            program = stripped.startswith("[program:")
        elif program and "=" in stripped and not stripped.startswith((";", "#")):
            key = stripped.split("=", 1)[0].strip().lower()
            if key in SUPERVISOR_DROPPED:
                continue
            if key == "command":
                line = f"command = {command}\n"
        out.append(line)
    return "".join(out)


def _supervisor(files: dict[str, str], want: intent.Intended, report: Report,
                version: str) -> None:
    from perfcfg.harness.errors import DaemonError
    from perfcfg.services.supervisor.daemon import Supervisord

    report.notes.append(f"supervisor: every program ran {STAND_IN_COMMAND!r} as this user "
                        f"({', '.join(SUPERVISOR_DROPPED)} and command not compared)")
    try:
        with Supervisord(supervisor_stand_in(files["supervisord.conf"]), version=version) as sup:
            rows = sup.mismatches(want.supervisor) + _process_rows(sup.process_info(), want)
    except DaemonError as err:
        _refused(report, "supervisor", err)
        return
    _add(report, "supervisor", rows, len(want.supervisor))


def _process_rows(info: list[dict[str, Any]], want: intent.Intended
                  ) -> list[tuple[str, str, str]]:
    """Each program's processes exist under the intended names and are RUNNING."""
    out = []
    for program, names in sorted(want.process_names.items()):
        running = sorted(p["name"] for p in info
                         if p["group"] == program and p["statename"] == "RUNNING")
        if running != sorted(names):
            out.append((f"program:{program}.processes RUNNING", ", ".join(names),
                        ", ".join(running) or "none"))
    for group in sorted({p["group"] for p in info} - set(want.process_names)):
        names = sorted(p["name"] for p in info if p["group"] == group)
        out.append((f"program:{group}", "not in the plan", ", ".join(names)))
    return out


# -- report text -------------------------------------------------------------------------

COLUMNS = ("daemon", "setting", "intended", "effective")


def table(rows: list[Row]) -> str:
    """The mismatches as an aligned ``daemon | setting | intended | effective`` table."""
    cells = [COLUMNS] + [(r.daemon, r.setting, r.intended, r.effective) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    line = lambda c: " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip()  # noqa: E731
    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])]) + "\n"


# -- live: a running deployment ------------------------------------------------------------

# The daemons ``verify --live`` reads (the cache is Redis or Valkey, whichever the environment
# targets) and the environment variable that names each one when its option is not given.
LIVE_ENV = {"postgresql": "PERFCFG_POSTGRES_DSN", "pgbouncer": "PERFCFG_PGBOUNCER_DSN",
            "redis": "PERFCFG_REDIS_URL", "supervisor": "PERFCFG_SUPERVISOR_URL"}


def verify_live(result: Result, targets: dict[str, str]) -> Report:
    """Compare running daemons (``targets``: daemon → DSN or URL, keys of ``LIVE_ENV``) with
    what ``result`` compiles to; a daemon that cannot be reached is a row, never a crash.
    Neither the DSN nor the URL is repeated in the report, and the password either holds is
    masked in anything perfcfg prints."""
    from perfcfg.core.redact import remember, scrub
    from perfcfg.services import registry

    assert result.config is not None   # verify runs on a compiled result only
    want = intent.from_result(result)
    cache = next(d for d, _v in registry.daemons(result.config.targets).values()
                 if d in CACHE_DAEMONS)
    report = Report()
    for daemon, (read, compare) in _LIVE.items():
        if daemon not in targets:
            continue
        label = cache if daemon == "redis" else daemon
        secrets = _passwords(targets[daemon])
        for secret in secrets:
            remember(secret)
        try:
            state = read(targets[daemon])
        except Exception as exc:   # the client's own words: they name the host, not the password
            report.refused.append(label)
            report.rows.append(Row(label, "(connect)", "reachable",
                                   scrub(_first_line(exc), secrets) or type(exc).__name__))
            continue
        rows, compared = compare(state, want, report)
        _add(report, label, rows, compared)
    return report


def _passwords(target: str) -> list[str]:
    """The password a DSN (``password=…``) or URL (``scheme://user:password@…``) holds."""
    from urllib.parse import urlsplit

    found = []
    if "://" in target:
        with contextlib.suppress(ValueError):
            found.append(urlsplit(target).password or "")
    try:
        from psycopg.conninfo import conninfo_to_dict

        found.append(str(conninfo_to_dict(target).get("password") or ""))
    except Exception:   # not a libpq string (a Redis or supervisor URL)
        pass
    return [p for p in found if p]


def _live_postgres(state: Any, want: intent.Intended, report: Report) -> tuple[list, int]:
    from perfcfg.services.postgres.daemon import pg_mismatches

    return pg_mismatches(state, want.postgres), len(want.postgres)


def _live_pgbouncer(state: Any, want: intent.Intended, report: Report) -> tuple[list, int]:
    from perfcfg.services.pgbouncer.daemon import pgbouncer_mismatches

    config, databases = state
    # [databases] host and port are the deployment's own here, so they are compared too
    rows = pgbouncer_mismatches(config, want.pgbouncer) + \
        _database_rows(databases, want.databases, skip=())
    return rows, len(want.pgbouncer) + len(want.databases)


def _live_redis(state: Any, want: intent.Intended, report: Report) -> tuple[list, int]:
    from perfcfg.services.redis.daemon import redis_mismatches

    return redis_mismatches(state, want.redis, want.redis_enums), len(want.redis)


def _live_supervisor(state: Any, want: intent.Intended, report: Report) -> tuple[list, int]:
    from perfcfg.services.supervisor.daemon import supervisor_mismatches

    info, processes = state
    rows, unread = supervisor_mismatches(info, want.supervisor)
    if unread:
        keys = sorted({path.rpartition(".")[2] for path in unread})
        report.notes.append(f"supervisor: XML-RPC does not report {', '.join(keys)}: "
                            f"{len(unread)} value(s) not compared")
    return rows + _process_rows(processes, want), len(want.supervisor) - len(unread)


def _read_postgres(dsn: str) -> Any:
    from perfcfg.services.postgres.daemon import live_settings

    return live_settings(dsn)


def _read_pgbouncer(dsn: str) -> Any:
    from perfcfg.services.pgbouncer.daemon import live_console

    return live_console(dsn)


def _read_redis(url: str) -> Any:
    from perfcfg.services.redis.daemon import live_config

    return live_config(url)


def _read_supervisor(url: str) -> Any:
    from perfcfg.services.supervisor.daemon import live_state

    return live_state(url)


_LIVE: dict[str, tuple[Callable[[str], Any],
                       Callable[[Any, intent.Intended, Report], tuple[list, int]]]] = {
    "postgresql": (_read_postgres, _live_postgres),
    "pgbouncer": (_read_pgbouncer, _live_pgbouncer),
    "redis": (_read_redis, _live_redis),
    "supervisor": (_read_supervisor, _live_supervisor),
}


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
