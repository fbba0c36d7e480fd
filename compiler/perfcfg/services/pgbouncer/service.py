"""pgbouncer as a service: the ``pgbouncer:`` section, catalogs per release, two files."""

from __future__ import annotations

from perfcfg.services.base import Service
from perfcfg.services.catalog_reading import Job
from perfcfg.services.pgbouncer import (
    calculator,
    checks,
    context,
    encode,
    placement,
    programs,
    topology,
    tuning,
    values,
    verify,
)
from perfcfg.services.pgbouncer.actions import changes
from perfcfg.services.pgbouncer.control import CONTROL
from perfcfg.services.pgbouncer.monitoring import MONITOR
from perfcfg.services.pgbouncer.outputs import NESTED, OUTPUTS
from perfcfg.services.pgbouncer.policy import RULES


def catalog_jobs(new: tuple[str, ...]) -> dict[str, Job]:
    """Its catalogs' readers (they start the daemon: imported only by scripts/gen_catalogs.py)."""
    from perfcfg.services.pgbouncer import catalog_reader

    return catalog_reader.jobs(new)


SERVICE = Service(
    control=CONTROL,
    name="pgbouncer",
    order=20,
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
    nested=NESTED,
    binaries=(programs.SPEC,),
    verifier=verify.VERIFIER,
    catalog_jobs=catalog_jobs,
    calculator=calculator.CALCULATOR,
    tuning=((10, tuning.recommend),),       # first: the database's connections follow its pools
    placing=(placement.recommend,),
    memory=tuning.PART,
    needs=tuning.needs,
    checks=checks.CHECKS,
    worst_case=checks.worst_case,
    context=context.context,
    derive=topology.derive,
    topology=topology.topology,
    client_env=topology.client_env,
    endpoint=topology.ENDPOINT,
    fallbacks={f"databases.{key}": path for key, path in values.POOL_FALLBACKS.items()},
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    # Debian's pgbouncer package runs the daemon as postgres and reads /etc/pgbouncer;
    # userlist.txt goes wherever auth_file says.
    placement=placement.placement,
    monitor=MONITOR,
)
