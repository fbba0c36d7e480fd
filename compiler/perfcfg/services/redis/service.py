"""Redis — or Valkey, which reads the same directives — as a service: the ``redis:`` section
(with perfcfg's own ``role`` and ``users``), catalogs per release of each, redis.conf (or
valkey.conf) and users.acl. ``targets.redis`` or ``targets.valkey`` says which daemon runs."""

from __future__ import annotations

from perfcfg import model
from perfcfg.services.base import Service
from perfcfg.services.catalog_reading import Job
from perfcfg.services.redis import (
    budget,
    calculator,
    checks,
    context,
    encode,
    placement,
    programs,
    schema,
    topology,
    tuning,
    values,
    verify,
)
from perfcfg.services.redis.actions import changes
from perfcfg.services.redis.context import DEFAULT_VERSION
from perfcfg.services.redis.control import CONTROL
from perfcfg.services.redis.monitoring import MONITOR
from perfcfg.services.redis.outputs import OUTPUTS
from perfcfg.services.redis.policy import RULES


def catalog_jobs(new: tuple[str, ...]) -> dict[str, Job]:
    """Its catalogs' readers (they start the daemon: imported only by scripts/gen_catalogs.py)."""
    from perfcfg.services.redis import catalog_reader

    return catalog_reader.jobs(new)


SERVICE = Service(
    control=CONTROL,
    name="redis",
    order=30,
    daemon="redis",
    title="Redis",
    version=lambda targets: targets.valkey or targets.redis or DEFAULT_VERSION,
    flavour=lambda targets: "valkey" if targets.valkey else "redis",
    flavours=("redis", "valkey"),
    coerce=values.coerce,
    encode=encode.redis_value,
    bool_hint=values.BOOL_HINT,
    unit_hint=values.unit_hint,
    fix_it=values.fix_it,
    own_keys={"role": (values.role, "redis.role is cache (evict keys) or store (keep them)")},
    own_defaults={"role": "cache"},
    record_keys={"users": model.RedisUser},
    check_records=values.check_users,
    check_value=values.check_value,
    managed={
        "include": "perfcfg writes one self-contained file",
        "user": "declare Redis users under redis.users",
        "requirepass": "declare redis.users: Redis ignores requirepass when it reads an "
                       "aclfile, and it would put the password in redis.conf",
    },
    clamps={"hz": (500, "Redis clamps hz to 500 (CONFIG GET then shows 500)")},
    own_schema=schema.own_schema,
    binaries=programs.SPECS,
    verifier=verify.VERIFIER,
    catalog_jobs=catalog_jobs,
    calculator=calculator.CALCULATOR,
    tuning=((30, tuning.recommend),),
    placing=(placement.recommend,),
    memory=budget.PART,
    needs=tuning.needs,
    checks=checks.CHECKS,
    worst_case=checks.worst_case,
    context=context.context,
    topology=topology.topology,
    canonical=tuning.canonical,
    client_env=topology.client_env,
    endpoint=topology.ENDPOINT,
    secret_slots={"masterauth": ("redis.conf", "clear"),
                  "tls-key-file-pass": ("redis.conf", "clear"),
                  "tls-client-key-file-pass": ("redis.conf", "clear")},
    outputs=OUTPUTS,
    changes=changes,
    rules=RULES,
    placement=placement.placement,
    monitor=MONITOR,
)
