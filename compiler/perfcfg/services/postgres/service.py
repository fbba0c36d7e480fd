"""PostgreSQL as a service: the ``postgres:`` section, catalogs per major version, two files."""

from __future__ import annotations

from perfcfg.services.base import Service
from perfcfg.services.postgres.actions import changes
from perfcfg.services.output import Placement
from perfcfg.services.postgres.policy import RULES
from perfcfg.services.postgres import encode, values
from perfcfg.services.postgres.outputs import OUTPUTS

_ONE_FILE = "perfcfg writes one self-contained file"

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
    # Debian's postgresql-common: one directory per cluster, owned by the postgres user.
    placement=lambda targets: Placement(f"/etc/postgresql/{targets.postgres}/main",
                                        "postgres", "postgres"),
)
