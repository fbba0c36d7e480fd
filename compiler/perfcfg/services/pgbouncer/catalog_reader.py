"""pgbouncer's catalogs: ``SHOW CONFIG`` of a real instance of each release, typed by the tables
of its src/main.c (bools, times, octal, ranges)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from perfcfg.services.catalog_reading import Job, catalog, entry, package_of
from perfcfg.services.pgbouncer import programs
from perfcfg.services.pgbouncer.daemon import ENUMS as PGBOUNCER_ENUMS
from perfcfg.services.pgbouncer.daemon import PgBouncer

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
PGBOUNCER_RANGES = {"listen_port": (1, 65535), "unix_socket_mode": (None, 0o777),
                    # Linux's own limits for the socket options pgbouncer sets (MAX_TCP_KEEPIDLE,
                    # MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT): past them it cannot listen at all
                    "tcp_keepidle": (None, 32767), "tcp_keepintvl": (None, 32767),
                    "tcp_keepcnt": (None, 127)}


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


def jobs(new: tuple[str, ...] = ()) -> dict[str, Job]:
    """Every supported release's catalog, and ``new`` ones (a release no catalog has yet)."""
    return {f"pgbouncer-{v}.json": Job(partial(pgbouncer, v), "pgbouncer", v)
            for v in (*programs.SPEC.versions, *new)}
