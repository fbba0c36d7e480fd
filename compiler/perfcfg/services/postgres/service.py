"""PostgreSQL as a service: the ``postgres:`` section, catalogs per major version, two files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfcfg.services import catalog as catalogs
from perfcfg.services.base import Service
from perfcfg.services.catalog_reading import Job
from perfcfg.services.postgres import (
    calculator,
    checks,
    context,
    encode,
    placement,
    programs,
    topology,
    values,
    verify,
)
from perfcfg.services.postgres.actions import changes
from perfcfg.services.postgres.control import CONTROL
from perfcfg.services.postgres.monitoring import MONITOR
from perfcfg.services.postgres.outputs import OUTPUTS
from perfcfg.services.postgres.policy import RULES
from perfcfg.services.postgres.tuning import (
    autovacuum,
    bgwriter,
    connections,
    guards,
    limits,
    memory,
    parallel,
    wal,
)
from perfcfg.services.postgres.tuning import planner as pg_planner
from perfcfg.services.postgres.tuning import versions as pg_versions
from perfcfg.services.postgres.values import BUILD_VALUES

if TYPE_CHECKING:
    from perfcfg.model import Targets

_ONE_FILE = "perfcfg writes one self-contained file"


def for_build(cat: catalogs.Catalog, targets: Targets) -> catalogs.Catalog:
    """The catalog without the values the stated build lacks (``lz4: false`` → no lz4)."""
    build = targets.postgres_build
    return catalogs.without_values(
        cat, {v for v, feature in BUILD_VALUES.items() if not getattr(build, feature)})


def catalog_jobs(new: tuple[str, ...]) -> dict[str, Job]:
    """Its catalogs' readers (they start the daemon: imported only by scripts/gen_catalogs.py)."""
    from perfcfg.services.postgres import catalog_reader

    return catalog_reader.jobs(new)


SERVICE = Service(
    control=CONTROL,
    name="postgres",
    order=10,
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
    binaries=(programs.SPEC,),
    verifier=verify.VERIFIER,
    catalog_jobs=catalog_jobs,
    calculator=calculator.CALCULATOR,
    own_keys={"spare_connections": (
        values.spare_connections,
        "postgres.spare_connections: ordinary slots beyond the pools and direct clients for "
        "an operator's psql, pg_dump or a second monitoring agent (default 3)")},
    own_defaults={"spare_connections": values.SPARE_CONNECTIONS_DEFAULT},
    own_schema=lambda draft7: {"spare_connections": {
        "type": "integer", "minimum": 0, "maximum": values.SPARE_CONNECTIONS_MAX,
        "description": "ordinary connection slots beyond the pools and direct clients, for "
                       "operators and tooling (counted in max_connections; default 3)"}},
    # after the pooler's pools (10): connections, then what they size; its fd limit once the
    # runner (40) has said what it starts
    tuning=((20, connections.recommend), (21, parallel.recommend), (22, autovacuum.recommend),
            (23, memory.recommend), (24, wal.recommend), (25, pg_planner.recommend),
            (26, pg_versions.recommend), (27, bgwriter.recommend), (28, guards.recommend),
            (50, limits.recommend)),
    placing=(placement.recommend,),
    memory=memory.PART,
    needs=limits.needs,
    facts=limits.FACTS,
    checks=checks.CHECKS,
    worst_case=checks.worst_case,
    context=context.context,
    derive=topology.derive,
    topology=topology.topology,
    endpoint=topology.ENDPOINT,
    example=("work_mem", "64MB"),
    secret_slots={"primary_conninfo": ("postgresql.conf", "clear"),
                  "ssl_passphrase_command": ("postgresql.conf", "clear")},
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    placement=placement.placement,
    build=for_build,
    check_value=values.check_value,
    replaced={
        "vacuum_defer_cleanup_age": "hot_standby_feedback = on, or a physical replication slot "
                                    "for the standby",
        "promote_trigger_file": "pg_ctl promote, or SELECT pg_promote()",
        "old_snapshot_threshold": "nothing does the same; bound long transactions with "
                                  "transaction_timeout (17+) or idle_in_transaction_session_timeout",
        "db_user_namespace": "nothing: give each user its own role",
    },
    monitor=MONITOR,
)
