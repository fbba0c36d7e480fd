"""PostgreSQL's catalogs, read off ``pg_settings`` of a throwaway server of each version, with the
build's compile-time features and the enum values a build without them lacks."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from perfcfg.harness.errors import DaemonError
from perfcfg.services.catalog_reading import Job, catalog, entry, package_of
from perfcfg.services.postgres import programs
from perfcfg.services.postgres import readers as pg_readers
from perfcfg.services.postgres.daemon import PostgresServer, check_postgresql_conf

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


def _pg_refusal(version: str) -> Callable[[str, str], str | None]:
    """What ``postgres -C`` of ``version`` says of ``name = 'value'``: its DETAIL (or its
    last line) when it refuses the value, else None."""
    def refusal(name: str, value: str) -> str | None:
        try:
            check_postgresql_conf(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n",
                                  (name,), version=version)
            return None
        except DaemonError as exc:
            lines = exc.log_tail.splitlines() or [exc.message]
            return next((line.split("DETAIL:", 1)[1].strip() for line in lines
                         if "DETAIL:" in line), lines[-1])
    return refusal


def _pg_accepts(version: str) -> Callable[[str, str], bool]:
    """Whether ``postgres -C`` of ``version`` takes ``name = 'value'``."""
    refusal = _pg_refusal(version)
    return lambda name, value: refusal(name, value) is None


def postgresql(version: str) -> dict[str, Any]:
    with PostgresServer("", version=version) as pg:
        release = pg.query("SELECT current_setting('server_version')")[0][0]
        rows = pg.query("SELECT name, vartype, unit, min_val, max_val, enumvals, boot_val, context "
                        "FROM pg_settings ORDER BY name")
        enums = {r[0]: list(r[5]) for r in rows if r[5]}
        build = _pg_build(pg, version, release, enums)
        sets = pg_readers.value_sets(pg.query, _pg_accepts(version), [r[0] for r in rows])
    # Probes of what postgres -C refuses (not the read-only parameters: it refuses them all).
    settable = [r for r in rows if r[7] != "internal"]
    # A build without SSL (PyPI's) refuses ssl = on; Debian's and PGDG's, which perfcfg
    # assumes for every version, take it: a build feature, not the version's.
    switches = [r[0] for r in settable if r[1] == "bool" and
                not (r[0] == "ssl" and build["features"].get("ssl") is False)]
    sets["refused"] = pg_readers.refused_switches(_pg_accepts(version), switches)
    refusal = _pg_refusal(version)
    with ThreadPoolExecutor(max_workers=4) as pool:
        strings = [r[0] for r in settable if r[1] == "string"]
        patterns = dict(zip(strings, pool.map(
            lambda name: pg_readers.pattern(partial(refusal, name)), strings), strict=True))
    params = {name: entry(PG_TYPES[vartype], unit=unit, min_=_pg_number(lo, vartype),
                          max_=_pg_number(hi, vartype), values=enums.get(name),
                          default=boot, context=context, pattern=patterns.get(name))
              for name, vartype, unit, lo, hi, _enumvals, boot, context in rows}
    return catalog("postgresql", release.split(".")[0], f"pg_settings of PostgreSQL {release}",
                   params, build, sets)


def jobs(new: tuple[str, ...] = ()) -> dict[str, Job]:
    """Every supported major's catalog, and ``new`` ones (a version no catalog has yet)."""
    return {f"postgresql-{v}.json": Job(partial(postgresql, v), "postgresql", v)
            for v in (*programs.SPEC.versions, *new)}
