"""PostgreSQL as a service: the ``postgres:`` section, catalogs per major version, two files."""

from __future__ import annotations

from typing import Any

from perfcfg.services import catalog as catalogs
from perfcfg.services.base import Service
from perfcfg.services.postgres import encode, placement, values
from perfcfg.services.postgres.actions import changes
from perfcfg.services.postgres.outputs import OUTPUTS
from perfcfg.services.postgres.policy import RULES

_ONE_FILE = "perfcfg writes one self-contained file"
# Enum values that exist only in a build with a library (targets.postgres_build): value → feature.
BUILD_VALUES = {"lz4": "lz4", "zstd": "zstd", "io_uring": "liburing"}


def for_build(cat: catalogs.Catalog, targets: Any) -> catalogs.Catalog:
    """The catalog without the values the stated build lacks (``lz4: false`` → no lz4)."""
    build = targets.postgres_build
    return catalogs.without_values(
        cat, {v for v, feature in BUILD_VALUES.items() if not getattr(build, feature)})


SERVICE = Service(
    name="postgres",
    daemon="postgresql",
    title="PostgreSQL",
    version=lambda targets: str(targets.postgres),
    coerce=values.coerce,
    encode=encode.pg_value,
    bool_hint=values.BOOL_HINT,
    unit_hint=values.unit_hint,
    fix_it=values.fix_it,
    managed={
        "include": _ONE_FILE,
        "include_dir": _ONE_FILE,
        "include_if_exists": _ONE_FILE,
        "config_file": "set by the service manager, not in postgresql.conf",
    },
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    placement=placement.placement,
    build=for_build,
    replaced={
        "vacuum_defer_cleanup_age": "hot_standby_feedback = on, or a physical replication slot "
                                    "for the standby",
        "promote_trigger_file": "pg_ctl promote, or SELECT pg_promote()",
        "old_snapshot_threshold": "nothing does the same; bound long transactions with "
                                  "transaction_timeout (17+) or idle_in_transaction_session_timeout",
        "db_user_namespace": "nothing: give each user its own role",
    },
)
