"""supervisord as a service: the ``supervisor:`` section ([supervisord] keys plus the
``unix_http_server:``/``inet_http_server:`` maps), one catalog per major version, one file."""

from __future__ import annotations

from perfcfg.services.base import Service
from perfcfg.services.catalog_reading import Job
from perfcfg.services.output import Placement
from perfcfg.services.supervisor import (
    checks,
    context,
    encode,
    programs,
    secrets,
    topology,
    tuning,
    values,
    verify,
)
from perfcfg.services.supervisor.actions import changes
from perfcfg.services.supervisor.control import CONTROL
from perfcfg.services.supervisor.monitoring import MONITOR, derive
from perfcfg.services.supervisor.outputs import OUTPUTS, PROGRAM_OWNED, SUBSECTIONS
from perfcfg.services.supervisor.policy import RULES


def catalog_jobs(new: tuple[str, ...]) -> dict[str, Job]:
    """Its catalogs' readers (they start the daemon: imported only by scripts/gen_catalogs.py)."""
    from perfcfg.services.supervisor import catalog_reader

    return catalog_reader.jobs(new)


SERVICE = Service(
    control=CONTROL,
    name="supervisor",
    order=40,
    daemon="supervisor",
    title="supervisor",
    version=lambda targets: targets.supervisor.split(".")[0],
    # 4.2 and 4.3 read the same options (one catalog, supervisor-4.json); both are tested.
    releases={"supervisor": programs.RELEASES},
    coerce=values.coerce,
    encode=encode.option_value,
    section="supervisord",
    bool_hint=values.BOOL_HINT,
    unit_hint=values.unit_hint,
    subsections=SUBSECTIONS,
    program_section="program",
    program_field="supervisor",
    program_owned=PROGRAM_OWNED,
    binaries=(programs.SPEC,),
    verifier=verify.VERIFIER,
    catalog_jobs=catalog_jobs,
    tuning=((40, tuning.recommend),),        # after the daemons whose fds it may start
    checks=checks.CHECKS,
    context=context.context,
    facts=context.FACTS,
    topology=topology.topology,
    derive=derive,
    hash_secret=secrets.hashed,
    check_value=values.check_value,
    # its HTTP servers' passwords are written hashed (hash_secret: {SHA}<hex SHA-1>)
    secret_slots={"inet_http_server.password": ("supervisord.conf", "hashed"),
                  "unix_http_server.password": ("supervisord.conf", "hashed")},
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    # Debian's supervisord.conf includes conf.d/*.conf after its own sections; supervisor
    # merges a section read again key by key, so this file's values win and the package's
    # own file stays untouched (a conffile: no prompt on upgrade).
    placement=lambda config, plan: Placement("/etc/supervisor/conf.d", "root", "root",
                                        {"supervisord.conf": "perfcfg.conf"}),
    monitor=MONITOR,
)
