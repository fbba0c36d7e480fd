#!/usr/bin/env python3
"""Generate schemas/catalogs/*.json (docs/catalogs.md) from the installed real daemons.

    python scripts/gen_catalogs.py            # rewrite the catalogs (only files that changed)
    python scripts/gen_catalogs.py --check    # exit 1 with a unified diff if a file is stale
    python scripts/gen_catalogs.py postgresql-17.json   # just one

One catalog per supported daemon version (``perfcfg.services.registry.binaries()``), each read off
that version's own binary (``.ci/install-daemons.sh`` installs the ones Debian 12 lacks); a
catalog whose binary is not installed here is skipped with a note on stderr, unless named.
Each catalog's ``build`` object says which build it was read from and, for PostgreSQL, the
build's compile-time features and the enum values they would add that this build lacks.

Sources: PostgreSQL ``pg_settings`` of a throwaway server; pgbouncer ``SHOW CONFIG`` of a real
instance plus the enum/bool/time tables of its src/main.c; Redis ``CONFIG GET *`` plus each
directive's type as redis-server itself reports it when fed a probe value (its
"argument must be …" messages come from the typed config table in src/config.c); supervisor
from its own option parser with every key read recorded (perfcfg.services.supervisor.parse).
Output is deterministic: sorted keys, two-space JSON, ``\\n`` line ends.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from perfcfg.harness import binaries, procs
from perfcfg.harness.binaries import require
from perfcfg.services import registry
from perfcfg.services.pgbouncer.daemon import ENUMS as PGBOUNCER_ENUMS
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.redis.daemon import RedisServer, ValkeyServer
from perfcfg.services.supervisor.parse import parse_supervisord_conf

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "schemas" / "catalogs"


def entry(type_: str, *, default: Any = None, unit: str | None = None, min_: Any = None,
          max_: Any = None, values: list[str] | None = None, context: str | None = None,
          section: str | None = None) -> dict[str, Any]:
    return {"type": type_, "unit": unit, "min": min_, "max": max_, "values": values,
            "default": default, "context": context, "section": section}


def catalog(daemon: str, version: str, source: str, params: dict[str, dict],
            build: dict[str, Any]) -> dict[str, Any]:
    return {"daemon": daemon, "version": version, "source": source, "parameters": params,
            "build": build}


def package_of(daemon: str, version: str, program: str) -> str:
    """Which build a binary is: install-daemons.sh's VERSION, else the Debian package owning it."""
    info = binaries.build_info(daemon, version)
    if info.get("build"):
        return info["build"]
    path = os.path.realpath(require(program, version))
    owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=False)
    if owner.returncode != 0:
        return f"local {path}"
    pkg = owner.stdout.split(":", 1)[0]
    ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                         text=True, check=False).stdout
    return f"debian-12 {pkg} {ver}"


# -- PostgreSQL ---------------------------------------------------------------------------------

PG_TYPES = {"bool": "bool", "integer": "integer", "real": "real", "string": "string",
            "enum": "enum"}


def _pg_number(text: str | None, vartype: str) -> int | float | None:
    if text is None:
        return None
    return int(text) if vartype == "integer" else float(text)


# Enum values that exist only when PostgreSQL is built with a library (#ifdef USE_LZ4,
# USE_ZSTD in xlog.c's wal_compression_options and toast_compression.c's
# default_toast_compression_options; IOMETHOD_IO_URING_ENABLED in aio.c's io_method_options).
# The npm and PyPI builds lack lz4 and zstd; Debian's and PGDG's have them.
PG_FEATURE_VALUES: dict[str, dict[str, str]] = {
    "lz4": {"default_toast_compression": "lz4", "wal_compression": "lz4"},
    "zstd": {"wal_compression": "zstd"},
    "liburing": {"io_method": "io_uring"},
}
# A feature is present when its value is among the parameter's enumvals; the first parameter
# that exists in the version decides (io_method is new in 18: None before).
PG_FEATURE_PROBE = {"lz4": "default_toast_compression", "zstd": "wal_compression",
                    "liburing": "io_method"}


def _pg_build(pg: PostgresServer, version: str, release: str,
              enums: dict[str, list[str]]) -> dict[str, Any]:
    jit, icu, ssl = pg.query(
        "SELECT pg_jit_available(), "
        "(SELECT count(*) > 0 FROM pg_collation WHERE collname LIKE '%-x-icu'), "
        "coalesce(current_setting('ssl_library', true), '')")[0]
    features: dict[str, bool | None] = {"icu": icu, "llvm": jit, "ssl": ssl != ""}
    lacks: dict[str, list[str]] = {}
    for feature, param in PG_FEATURE_PROBE.items():
        value = PG_FEATURE_VALUES[feature][param]
        features[feature] = value in enums[param] if param in enums else None
        if features[feature] is False:
            for name, missing_value in PG_FEATURE_VALUES[feature].items():
                if name in enums and missing_value not in enums[name]:
                    lacks.setdefault(name, []).append(missing_value)
    return {"package": package_of("postgresql", version, "postgres"), "release": release,
            "features": features, "lacks": {k: sorted(v) for k, v in sorted(lacks.items())}}


def postgresql(version: str) -> dict[str, Any]:
    with PostgresServer("", version=version) as pg:
        release = pg.query("SELECT current_setting('server_version')")[0][0]
        rows = pg.query("SELECT name, vartype, unit, min_val, max_val, enumvals, boot_val, context "
                        "FROM pg_settings ORDER BY name")
        enums = {r[0]: list(r[5]) for r in rows if r[5]}
        build = _pg_build(pg, version, release, enums)
    params = {name: entry(PG_TYPES[vartype], unit=unit, min_=_pg_number(lo, vartype),
                          max_=_pg_number(hi, vartype), values=enums.get(name),
                          default=boot, context=context)
              for name, vartype, unit, lo, hi, _enumvals, boot, context in rows}
    return catalog("postgresql", release.split(".")[0], f"pg_settings of PostgreSQL {release}",
                   params, build)


# -- pgbouncer ----------------------------------------------------------------------------------

# From src/main.c (bouncer_params) at pgbouncer_1_18_0: CF_INT keys documented as 0/1 switches,
# CF_TIME_USEC keys (float seconds), and the one octal key. Everything else is typed by the
# shape of its default: an integer, or a string. 1.24 adds one CF_TIME_USEC key
# (cancel_wait_timeout); its other new keys (max_prepared_statements, peer_id,
# max_{db,user}_client_connections, auth_dbname, auth_ident_file, track_extra_parameters) are
# CF_INT or CF_STR, typed by their defaults like the rest.
PGBOUNCER_BOOLS = frozenset({
    "application_name_add_host", "disable_pqexec", "log_connections", "log_disconnections",
    "log_pooler_errors", "log_stats", "server_fast_close", "server_reset_query_always",
    "server_round_robin", "so_reuseport", "syslog", "tcp_defer_accept", "tcp_keepalive"})
PGBOUNCER_SECONDS = frozenset({
    "autodb_idle_timeout", "client_idle_timeout", "client_login_timeout", "dns_max_ttl",
    "dns_nxdomain_ttl", "dns_zone_check_period", "idle_transaction_timeout", "query_timeout",
    "query_wait_timeout", "reserve_pool_timeout", "server_check_delay",
    "server_connect_timeout", "server_idle_timeout", "server_lifetime", "server_login_retry",
    "suspend_timeout", "cancel_wait_timeout"})
PGBOUNCER_OCTAL = frozenset({"unix_socket_mode"})
# Ranges pgbouncer does not check but its use of the value implies (src/main.c declares these
# keys plain CF_INT): listen_port becomes a 16-bit TCP port (99999 would silently listen on
# 34463), unix_socket_mode is a permission mode (0777 at most).
PGBOUNCER_RANGES = {"listen_port": (1, 65535), "unix_socket_mode": (None, 0o777)}


def _pgbouncer_type(key: str, default: str) -> str:
    if key in PGBOUNCER_ENUMS:
        return "enum"
    if key in PGBOUNCER_BOOLS:
        return "bool"
    if key in PGBOUNCER_SECONDS:
        return "seconds"
    if key in PGBOUNCER_OCTAL:
        return "octal"
    return "integer" if re.fullmatch(r"-?\d+", default) or key == "verbose" else "string"


def pgbouncer(version: str) -> dict[str, Any]:
    with PgBouncer("[pgbouncer]\n", version=version) as bnc:
        release = bnc.console("SHOW VERSION")[0]["version"].split()[-1]
        rows = bnc.config()
    params = {}
    for key, row in sorted(rows.items()):
        kind = _pgbouncer_type(key, row["default"])
        params[key] = entry(kind, default=row["default"], context=row["changeable"],
                            values=list(PGBOUNCER_ENUMS[key]) if kind == "enum" else None,
                            min_=0 if kind in ("bool", "seconds") else
                            PGBOUNCER_RANGES.get(key, (None, None))[0],
                            max_=1 if kind == "bool" else PGBOUNCER_RANGES.get(key, (None, None))[1])
    build = {"package": package_of("pgbouncer", version, "pgbouncer"),
             "release": release}
    return catalog("pgbouncer", ".".join(release.split(".")[:2]),
                   f"SHOW CONFIG of PgBouncer {release}", params, build)


# -- Redis --------------------------------------------------------------------------------------

# Multi-argument ("special") directives whose value is a list of words; types for the rest come
# from redis-server's own validation messages.
REDIS_LISTS = frozenset({"bind", "client-output-buffer-limit", "latency-tracking-info-percentiles",
                         "oom-score-adj-values", "rdma-bind", "replicaof", "save", "slaveof"})
# Values that depend on the harness or on the host's RLIMIT_NOFILE, not on Redis: no default.
REDIS_HOST_DEFAULTS = frozenset({"bind", "daemonize", "dir", "logfile", "maxclients", "pidfile",
                                 "port", "supervised", "unixsocket"})
_PROBE = "pf-bogus"
_LLONG_MIN = "-9223372036854775808"
_REDIS_BASE = ["--save", "", "--logfile", "", "--unixsocket", "", "--daemonize", "no"]


def _redis_message(program: str, key: str, value: str) -> str | None:
    """The server's complaint about ``key value`` on its command line, or None if accepted."""
    workdir = procs.scratch_dir("pf-rcat-")
    try:
        proc = subprocess.Popen([program, "--port", "0", *_REDIS_BASE,
                                 "--dir", workdir, f"--{key}", value], cwd=workdir,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            procs.stop_tree(proc, __import__("signal").SIGKILL)
            proc.communicate()   # reap it and close its pipe
            return None
        lines = [x for x in out.strip().splitlines() if x.strip()]
        return lines[-1] if proc.returncode != 0 and lines else None
    finally:
        procs.remove_dir(workdir)


def _redis_type(program: str, key: str) -> dict[str, Any]:
    if key in REDIS_LISTS:
        return {"type": "list"}
    msg = _redis_message(program, key, _PROBE) or ""
    if "must be 'yes' or 'no'" in msg:
        return {"type": "bool"}
    if "one of the following:" in msg:
        return {"type": "enum", "values": [v.strip() for v in msg.split(":", 1)[1].split(",")]}
    if "memory" in msg:
        return {"type": "memory"}
    if "octal" in msg:
        return {"type": "octal"}
    if "parsed into an integer" in msg:
        bounds = re.search(r"between (-?\d+) and (-?\d+)",
                           _redis_message(program, key, _LLONG_MIN) or "")
        return {"type": "integer", "min": int(bounds.group(1)) if bounds else None,
                "max": int(bounds.group(2)) if bounds else None}
    return {"type": "string"}


def redis(version: str, daemon: str = "redis") -> dict[str, Any]:
    """Redis or Valkey (same directives, same commands; Valkey reports ``valkey_version``)."""
    handle = ValkeyServer if daemon == "valkey" else RedisServer
    with handle("", version=version) as r:
        values = r.config()
        info = r.client().info("server")
        release = info.get(f"{daemon}_version") or info["redis_version"]
        with r.client() as c:
            modules = sorted(m["name"] for m in c.module_list())
    keys = sorted(values)
    program = require(handle.program, version)
    # 4 probes at a time: each is a short-lived server, and the CI machine has 2 cores.
    with ThreadPoolExecutor(max_workers=4) as pool:
        types = dict(zip(keys, pool.map(partial(_redis_type, program), keys), strict=True))
    params = {}
    for key in keys:
        t = types[key]
        params[key] = entry(t["type"], values=t.get("values"), min_=t.get("min"),
                            max_=t.get("max"),
                            default=None if key in REDIS_HOST_DEFAULTS else values[key])
    build = {"package": package_of(daemon, version, handle.program), "release": release,
             "modules": modules}
    name = "Valkey" if daemon == "valkey" else "Redis"
    return catalog(daemon, ".".join(release.split(".")[:2]),
                   f"CONFIG GET * and command-line validation of {name} {release}", params, build)


# -- supervisor ---------------------------------------------------------------------------------

# One section of every kind, with every optional key set so each value reaches its converter.
SUPERVISOR_PROBE = """\
[supervisord]
logfile=/tmp/supervisord.log
pidfile=/tmp/supervisord.pid
childlogdir=/tmp
directory=/tmp
user=root
umask=022
environment=A="1"
[unix_http_server]
file=/tmp/pf.sock
chmod=0700
chown=root:root
username=u
password=p
[inet_http_server]
port=127.0.0.1:9001
username=u
password=p
[supervisorctl]
serverurl=unix:///tmp/pf.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface
[program:p]
command=/bin/true
directory=/tmp
umask=022
user=root
environment=A="1"
serverurl=AUTO
[group:g]
programs=p
[eventlistener:e]
command=/bin/true
events=PROCESS_STATE
[fcgi-program:f]
command=/bin/true
socket=unix:///tmp/pf-f.sock
socket_owner=root:root
socket_mode=0700
socket_backlog=10
"""
# Keys whose converter runs outside saneget's value (or not at all), from supervisor/options.py.
SUPERVISOR_OVERRIDES = {"umask": "octal", "chmod": "octal", "socket_mode": "octal",
                        "socket_backlog": "integer", "environment": "string"}
SUPERVISOR_ENUMS = {"auto_restart": ["false", "unexpected", "true"]}
_HOST_DEFAULTS = {("supervisord", "childlogdir")}   # tempfile.gettempdir(): depends on TMPDIR


def _supervisor_default(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, type):                      # datatypes.Automatic, written AUTO
        return "AUTO" if value.__name__ == "Automatic" else value.__name__.upper()
    return str(value)


def supervisor() -> dict[str, Any]:
    import supervisor as sup_pkg
    from supervisor.loggers import LevelsByDescription

    parsed = parse_supervisord_conf(SUPERVISOR_PROBE, host_independent=True)
    from perfcfg.services.supervisor.parse import CONVERTER_TYPES, section_kind

    levels = sorted((n for n in vars(LevelsByDescription) if not n.startswith("_")),
                    key=lambda n: -getattr(LevelsByDescription, n))
    params: dict[str, dict] = {}
    for (section, key), read in sorted(parsed.reads.items()):
        kind = section_kind(section)
        name = f"{kind}.{key}"
        type_ = SUPERVISOR_OVERRIDES.get(key) or CONVERTER_TYPES.get(read.converter or "", "string")
        values = None
        if read.converter == "logging_level":
            values = levels
        elif read.converter in SUPERVISOR_ENUMS:
            values = SUPERVISOR_ENUMS[read.converter]
        default = None if (kind, key) in _HOST_DEFAULTS else _supervisor_default(read.default)
        params[name] = entry(type_, values=values, default=default, section=kind)
    version = getattr(sup_pkg, "__version__", None) or _dist_version("supervisor")
    # One catalog for 4.x: 4.2.5 and 4.3.0 read the same keys with the same converters (their
    # options.py differ only in how rpcinterface factories are imported).
    build = {"package": f"pypi supervisor {version}", "release": version}
    source = (f"option parser of supervisor {version} "
              "(keys read by ServerOptions and ClientOptions)")
    return catalog("supervisor", version.split(".")[0], source, params, build)


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# -- driver -------------------------------------------------------------------------------------

class Generator(NamedTuple):
    """One catalog file: the function that reads it and the daemon version it needs."""

    make: Callable[[], dict[str, Any]]
    daemon: str
    version: str | None


def _generators() -> dict[str, Generator]:
    out = {f"postgresql-{v}.json": Generator(partial(postgresql, v), "postgresql", v)
           for v in registry.binaries()["postgresql"].versions}
    out.update({f"pgbouncer-{v}.json": Generator(partial(pgbouncer, v), "pgbouncer", v)
                for v in registry.binaries()["pgbouncer"].versions})
    for daemon in ("redis", "valkey"):
        out.update({f"{daemon}-{v}.json": Generator(partial(redis, v, daemon), daemon, v)
                    for v in registry.binaries()[daemon].versions})
    out["supervisor-4.json"] = Generator(supervisor, "supervisor", None)
    return out


GENERATORS: dict[str, Generator] = _generators()


def render(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def installed(names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The requested catalogs (all by default) split into (binary installed, not installed)."""
    chosen = names or sorted(GENERATORS)
    here = [n for n in chosen if not binaries.missing(GENERATORS[n].daemon, GENERATORS[n].version)]
    return here, [n for n in chosen if n not in here]


def generate(names: list[str] | None = None) -> dict[str, str]:
    """``{file name: JSON text}`` for the requested catalogs (all installed ones by default)."""
    return {name: render(GENERATORS[name].make()) for name in (names or installed()[0])}


def diff(texts: dict[str, str], directory: Path = CATALOG_DIR) -> str:
    out = []
    for name, text in texts.items():
        path = directory / name
        old = path.read_text() if path.exists() else ""
        # A Debian point release (15.18 → 15.20) changes only the "source" line and the build's
        # package and release; the parameters and build features are what validation relies
        # on, so only they make a catalog stale.
        if _without_source(old) == _without_source(text):
            continue
        if old != text:
            out += difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"a/schemas/catalogs/{name}", f"b/schemas/catalogs/{name}")
    return "".join(out)


_RELEASE_LINES = ('"source":', '"package":', '"release":')


def _without_source(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith(_RELEASE_LINES)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing, exit 1 if stale")
    parser.add_argument("--out", type=Path, default=CATALOG_DIR)
    parser.add_argument("names", nargs="*", choices=[*sorted(GENERATORS), []], metavar="FILE")
    args = parser.parse_args(argv)
    here, absent = installed(args.names or None)
    if absent and args.names:
        parser.error(f"not installed here (run .ci/install.sh): {', '.join(absent)}")
    for name in absent:
        sys.stderr.write(f"gen_catalogs: skipped {name}: its binary is not installed here\n")
    texts = generate(here)
    if args.check:
        changes = diff(texts, args.out)
        sys.stdout.write(changes)
        return 1 if changes else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = args.out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
