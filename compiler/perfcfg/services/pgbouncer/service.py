"""pgbouncer as a service: the ``pgbouncer:`` section, catalogs per release, two files."""

from __future__ import annotations

from perfcfg.services.base import Service
from perfcfg.services.output import Placement
from perfcfg.services.pgbouncer import encode, values
from perfcfg.services.pgbouncer.actions import changes
from perfcfg.services.pgbouncer.outputs import OUTPUTS
from perfcfg.services.pgbouncer.policy import RULES

SERVICE = Service(
    name="pgbouncer",
    daemon="pgbouncer",
    title="pgbouncer",
    version=lambda targets: targets.pgbouncer,
    coerce=values.coerce,
    encode=lambda param, value: encode.pgbouncer_value(value, param),
    case_insensitive=False,
    bool_hint=values.BOOL_HINT,
    integer_hint=values.INTEGER_HINT,
    unit_hint=values.unit_hint,
    managed={"%include": "perfcfg writes one self-contained file"},
    nested=("databases",),
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    # Debian's pgbouncer package runs the daemon as postgres and reads /etc/pgbouncer.
    placement=lambda config, plan: Placement("/etc/pgbouncer", "postgres", "postgres"),
)
