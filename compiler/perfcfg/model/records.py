"""perfcfg's own input structures as it runs with them — GENERATED, do not edit.

Written by ``scripts/gen_model.py`` from the pydantic declarations in
:mod:`perfcfg.model.spec` (pydantic 2.14.4, pydantic-core 2.50.5): one immutable
:class:`~perfcfg.model.base.Record` class per model and the core schema pydantic built for it.
Validation runs in pydantic-core with the checks of :mod:`perfcfg.model.rules`; importing this
module does not import pydantic. Change modeldef.py or modelrules.py, then run
``python scripts/gen_model.py``.
"""
# ruff: noqa: E501

from __future__ import annotations

from typing import Any, Literal

from perfcfg.model import rules
from perfcfg.model.base import Record
from perfcfg.model.rules import SECRET_REF, ProgramMethods, parse_share

__all__ = ["PostgresBuild", "Targets", "EnvironmentDeploy", "Environment", "Secrets", "PresetSources", "HostSources", "DeployFile", "Deploy", "ProjectFile", "HostProfile", "Program", "Headroom", "Workload", "Database", "User", "Client", "RedisUser", "Waiver", "Policy", "AlertSetting", "AlertWaiver", "Monitoring", "Budget", "SECRET_REF", "parse_share"]


class PostgresBuild(Record):
    """What the PostgreSQL binaries were built with. perfcfg assumes Debian's and PGDG's
    packages (lz4, zstd, and liburing from 18 on); a project running another build (an embedded
    or hand-made one) states what it lacks, e.g. ``postgres_build: {lz4: false}``."""

    lz4: bool
    zstd: bool
    liburing: bool
    libraries: list[str] | None

    FIELDS = {'lz4': None, 'zstd': None, 'liburing': None, 'libraries': None}


class Targets(Record):
    """Daemon versions the files are written for. The cache daemon is Redis or Valkey: name
    one of the two (neither: Redis). The accepted versions are those with a catalog
    (``schemas/catalogs/``); ``perfcfg schema`` lists them."""

    postgres: int
    postgres_build: PostgresBuild
    pgbouncer: str
    redis: str | None
    valkey: str | None
    supervisor: str
    postgres_exporter: str | None
    pgbouncer_exporter: str | None
    redis_exporter: str | None
    node_exporter: str | None

    FIELDS = {
        'postgres': None,
        'postgres_build': PostgresBuild,
        'pgbouncer': None,
        'redis': None,
        'valkey': None,
        'supervisor': None,
        'postgres_exporter': None,
        'pgbouncer_exporter': None,
        'redis_exporter': None,
        'node_exporter': None,
    }


class EnvironmentDeploy(Record):
    """An environment's own deploy choices, over the project's ``deploy:`` (each one given
    replaces the project's)."""

    layout: Literal['debian', 'datadir'] | None
    limits: bool | None

    FIELDS = {'layout': None, 'limits': None}


class Environment(Record):
    preset: str
    host: str
    kind: Literal['development', 'staging', 'production'] | None
    output: str | None
    targets: Targets | None
    deploy: EnvironmentDeploy | None

    FIELDS = {
        'preset': None,
        'host': None,
        'kind': None,
        'output': None,
        'targets': Targets,
        'deploy': EnvironmentDeploy,
    }


class Secrets(Record):
    mode: Literal['resolve', 'placeholder']
    dirs: list[str]

    FIELDS = {'mode': None, 'dirs': None}


class PresetSources(Record):
    dirs: list[str]

    FIELDS = {'dirs': None}


class HostSources(Record):
    dirs: list[str]

    FIELDS = {'dirs': None}


class DeployFile(Record):
    """Where one generated file goes on the host and who owns it there (manifest.json);
    unset keys keep the Debian package's layout for the target version."""

    path: str | None
    owner: str | None
    group: str | None
    mode: str | None

    FIELDS = {'path': None, 'owner': None, 'group': None, 'mode': None}


class Deploy(Record):
    """The host side of the generated files. ``layout`` says how PostgreSQL is laid out:
    ``debian`` (postgresql-common's: postgresql.conf and pg_hba.conf in
    ``/etc/postgresql/<v>/main``, the data in ``/var/lib/postgresql/<v>/main``; the default) or
    ``datadir`` (every file inside the data directory, as initdb makes it). ``files``: generated
    file name → where it goes and who owns it."""

    layout: Literal['debian', 'datadir'] | None
    files: dict[str, DeployFile]
    limits: bool

    FIELDS = {'layout': None, 'files': DeployFile, 'limits': None}
    KEYED = frozenset(['files'])


class ProjectFile(Record):
    project: str
    output: str
    targets: Targets
    secrets: Secrets
    presets: PresetSources
    hosts: HostSources
    deploy: Deploy
    environments: dict[str, Environment]

    FIELDS = {
        'project': None,
        'output': None,
        'targets': Targets,
        'secrets': Secrets,
        'presets': PresetSources,
        'hosts': HostSources,
        'deploy': Deploy,
        'environments': Environment,
    }
    KEYED = frozenset(['environments'])


class HostProfile(Record):
    memory: int
    cpus: int
    storage: Literal['hdd', 'ssd', 'san', 'nvme']
    open_files: int
    os: Literal['linux', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'windows']
    wal_disk: int | None
    nr_open: int
    locales: list[str] | None

    FIELDS = {
        'memory': None,
        'cpus': None,
        'storage': None,
        'open_files': None,
        'os': None,
        'wal_disk': None,
        'nr_open': None,
        'locales': None,
    }


class Program(ProgramMethods, Record):
    """A worker program: supervisord runs ``processes`` copies of ``command``."""

    name: str
    command: str | list[str]
    processes: int
    max_processes: int | None
    db_connections: int
    redis_connections: int
    memory: int
    database: str | None
    user: str | None
    directory: str | None
    run_as: str | None
    home: str | None
    redis_user: str | None
    environment: dict[str, str | int | float | bool]
    supervisor: dict[str, Any]

    FIELDS = {
        'name': None,
        'command': None,
        'processes': None,
        'max_processes': None,
        'db_connections': None,
        'redis_connections': None,
        'memory': None,
        'database': None,
        'user': None,
        'directory': None,
        'run_as': None,
        'home': None,
        'redis_user': None,
        'environment': None,
        'supervisor': None,
    }


class Headroom(Record):
    """What the environment's budget is sized for beyond what it declares now, so that growing
    into it (another database, another program) needs reloads and no restart: pooled
    PostgreSQL connections in all (``max_connections`` admits them), worker connections to
    pgbouncer in all (``max_client_conn``), the workers' memory in all."""

    server_connections: int | None
    client_connections: int | None
    worker_memory: int | None

    FIELDS = {'server_connections': None, 'client_connections': None, 'worker_memory': None}


class Workload(Record):
    db_profile: Literal['web', 'oltp', 'dw', 'mixed', 'desktop']
    client_timeout: float | None
    data_size: int | None
    programs: list[Program]
    headroom: Headroom | None

    FIELDS = {
        'db_profile': None,
        'client_timeout': None,
        'data_size': None,
        'programs': Program,
        'headroom': Headroom,
    }


class Database(Record):
    """A database served through pgbouncer: one pool per (database, user)."""

    name: str
    dbname: str | None
    user: str | None
    pool_size: int | Literal['auto']
    reserve_pool: int | Literal['auto']
    pool_mode: Literal['session', 'transaction', 'statement'] | None
    clients: int

    FIELDS = {
        'name': None,
        'dbname': None,
        'user': None,
        'pool_size': None,
        'reserve_pool': None,
        'pool_mode': None,
        'clients': None,
    }


class User(Record):
    """A PostgreSQL role that logs in through pgbouncer (written to userlist.txt)."""

    name: str
    password: str | None
    admin: bool
    stats: bool
    readonly: bool
    databases: list[str]
    connections: int

    FIELDS = {
        'name': None,
        'password': None,
        'admin': None,
        'stats': None,
        'readonly': None,
        'databases': None,
        'connections': None,
    }


class Client(Record):
    """A client that connects to PostgreSQL directly, not through pgbouncer."""

    name: str
    user: str
    database: str
    address: str
    method: Literal['scram-sha-256', 'md5', 'password', 'trust', 'peer', 'cert', 'reject']
    connections: int
    replication: bool

    FIELDS = {
        'name': None,
        'user': None,
        'database': None,
        'address': None,
        'method': None,
        'connections': None,
        'replication': None,
    }


class RedisUser(Record):
    """A Redis ACL user (``redis.users``), written to the ACL file with a hashed password."""

    name: str
    password: str | None
    nopass: bool
    enabled: bool
    keys: list[str]
    channels: list[str]
    commands: list[str]

    FIELDS = {
        'name': None,
        'password': None,
        'nopass': None,
        'enabled': None,
        'keys': None,
        'channels': None,
        'commands': None,
    }


class Waiver(Record):
    """An accepted exception to one security rule or cross-service check (PCF3xx), with the
    reason it is accepted."""

    rule: str
    reason: str

    FIELDS = {'rule': None, 'reason': None}


class Policy(Record):
    waivers: list[Waiver]

    FIELDS = {'waivers': Waiver}


class AlertSetting(Record):
    """One alert's severity and how long its condition must hold before it fires (``for:``,
    a Prometheus duration such as ``30s``, ``5m`` or ``1h``)."""

    severity: Literal['critical', 'warning', 'info'] | None
    for_: str | None

    FIELDS = {'severity': None, 'for_': None}


class AlertWaiver(Record):
    """An alert this environment does without, with the reason it is accepted."""

    alert: str
    reason: str

    FIELDS = {'alert': None, 'reason': None}


class Monitoring(Record):
    """The monitoring files (exporters, scrape config, alert rules and their tests, a dashboard):
    ``enabled`` (default: on for staging and production), each alert's ``severity`` and
    ``for:`` by alert name, and waivers that leave an alert out."""

    enabled: bool | None
    alerts: dict[str, AlertSetting]
    waivers: list[AlertWaiver]

    FIELDS = {'enabled': None, 'alerts': AlertSetting, 'waivers': AlertWaiver}
    KEYED = frozenset(['alerts'])


class Budget(Record):
    """Memory shares: ``auto``, a size (``8GiB``) or a share of the host (``40%``)."""

    os_reserve: str | int
    postgres: str | int
    redis: str | int

    FIELDS = {'os_reserve': None, 'postgres': None, 'redis': None}

PostgresBuild.__core_schema__ = {
    'type': 'model',
    'cls': PostgresBuild,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'lz4': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': True},
            },
            'zstd': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': True},
            },
            'liburing': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': True},
            },
            'libraries': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    },
                    'default': None,
                },
            },
        },
        'model_name': 'PostgresBuild',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'PostgresBuild'},
}
Targets.__core_schema__ = {
    'type': 'model',
    'cls': Targets,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'postgres': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 1, 'le': 99}, 'default': 17},
            },
            'postgres_build': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': PostgresBuild.__core_schema__,
                    'default': PostgresBuild._make({'lz4': True, 'zstd': True, 'liburing': True, 'libraries': None}),
                },
            },
            'pgbouncer': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'},
                    'default': '1.24',
                },
            },
            'redis': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
            'valkey': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
            'supervisor': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'},
                    'default': '4.3',
                },
            },
            'postgres_exporter': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
            'pgbouncer_exporter': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
            'redis_exporter': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
            'node_exporter': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^[0-9]+\\.[0-9]+$'}},
                    'default': None,
                },
            },
        },
        'model_name': 'Targets',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Targets'},
}
EnvironmentDeploy.__core_schema__ = {
    'type': 'model',
    'cls': EnvironmentDeploy,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'layout': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'literal', 'expected': ['debian', 'datadir']},
                    },
                    'default': None,
                },
            },
            'limits': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'bool'}},
                    'default': None,
                },
            },
        },
        'model_name': 'EnvironmentDeploy',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'EnvironmentDeploy'},
}
Environment.__core_schema__ = {
    'type': 'model',
    'cls': Environment,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'preset': {'type': 'model-field', 'schema': {'type': 'str'}},
            'host': {'type': 'model-field', 'schema': {'type': 'str'}},
            'kind': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'literal', 'expected': ['development', 'staging', 'production']},
                    },
                    'default': None,
                },
            },
            'output': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^[^\\x00-\\x1f\\x7f]+$'},
                    },
                    'default': None,
                },
            },
            'targets': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': Targets.__core_schema__},
                    'default': None,
                },
            },
            'deploy': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': EnvironmentDeploy.__core_schema__},
                    'default': None,
                },
            },
        },
        'model_name': 'Environment',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Environment'},
}
Secrets.__core_schema__ = {
    'type': 'model',
    'cls': Secrets,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'mode': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'literal', 'expected': ['resolve', 'placeholder']},
                    'default': 'resolve',
                },
            },
            'dirs': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    'default': [],
                },
            },
        },
        'model_name': 'Secrets',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Secrets'},
}
PresetSources.__core_schema__ = {
    'type': 'model',
    'cls': PresetSources,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'dirs': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    'default': [],
                },
            },
        },
        'model_name': 'PresetSources',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'PresetSources'},
}
HostSources.__core_schema__ = {
    'type': 'model',
    'cls': HostSources,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'dirs': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    'default': [],
                },
            },
        },
        'model_name': 'HostSources',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'HostSources'},
}
DeployFile.__core_schema__ = {
    'type': 'model',
    'cls': DeployFile,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'path': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.deploy_path},
                        'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^/'}},
                    },
                    'default': None,
                },
            },
            'owner': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^[a-z_][a-z0-9_-]*$'},
                    },
                    'default': None,
                },
            },
            'group': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^[a-z_][a-z0-9_-]*$'},
                    },
                    'default': None,
                },
            },
            'mode': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^0[0-7]{3}$'}},
                    'default': None,
                },
            },
        },
        'model_name': 'DeployFile',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'DeployFile'},
}
Deploy.__core_schema__ = {
    'type': 'model',
    'cls': Deploy,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'layout': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'literal', 'expected': ['debian', 'datadir']},
                    },
                    'default': None,
                },
            },
            'files': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'dict',
                        'keys_schema': {'type': 'str'},
                        'values_schema': DeployFile.__core_schema__,
                    },
                    'default': {},
                },
            },
            'limits': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
        },
        'model_name': 'Deploy',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Deploy'},
}
ProjectFile.__core_schema__ = {
    'type': 'model',
    'cls': ProjectFile,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'project': {
                'type': 'model-field',
                'schema': {'type': 'str', 'pattern': '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$'},
            },
            'output': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'str', 'pattern': '^[^\\x00-\\x1f\\x7f]+$'},
                    'default': 'generated/{env}',
                },
            },
            'targets': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': Targets.__core_schema__,
                    'default': Targets._make({'postgres': 17, 'postgres_build': PostgresBuild._make({'lz4': True, 'zstd': True, 'liburing': True, 'libraries': None}), 'pgbouncer': '1.24', 'redis': None, 'valkey': None, 'supervisor': '4.3', 'postgres_exporter': None, 'pgbouncer_exporter': None, 'redis_exporter': None, 'node_exporter': None}),
                },
            },
            'secrets': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': Secrets.__core_schema__,
                    'default': Secrets._make({'mode': 'resolve', 'dirs': []}),
                },
            },
            'presets': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': PresetSources.__core_schema__,
                    'default': PresetSources._make({'dirs': []}),
                },
            },
            'hosts': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': HostSources.__core_schema__,
                    'default': HostSources._make({'dirs': []}),
                },
            },
            'deploy': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': Deploy.__core_schema__,
                    'default': Deploy._make({'layout': None, 'files': {}, 'limits': False}),
                },
            },
            'environments': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.env_names},
                    'schema': {
                        'type': 'dict',
                        'keys_schema': {'type': 'str'},
                        'values_schema': Environment.__core_schema__,
                        'min_length': 1,
                    },
                },
            },
        },
        'model_name': 'ProjectFile',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'ProjectFile'},
}
HostProfile.__core_schema__ = {
    'type': 'model',
    'cls': HostProfile,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'memory': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.host_memory},
                    'schema': {
                        'type': 'function-before',
                        'function': {'type': 'no-info', 'function': rules.size},
                        'schema': {'type': 'int'},
                    },
                },
            },
            'cpus': {'type': 'model-field', 'schema': {'type': 'int', 'ge': 1, 'le': 4096}},
            'storage': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'literal', 'expected': ['hdd', 'ssd', 'san', 'nvme']},
                    'default': 'ssd',
                },
            },
            'open_files': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 256}, 'default': 65536},
            },
            'os': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'literal',
                        'expected': ['linux', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'windows'],
                    },
                    'default': 'linux',
                },
            },
            'wal_disk': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {
                            'type': 'function-before',
                            'function': {'type': 'no-info', 'function': rules.size},
                            'schema': {'type': 'int'},
                        },
                    },
                    'default': None,
                },
            },
            'nr_open': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 1024}, 'default': 1048576},
            },
            'locales': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    },
                    'default': None,
                },
            },
        },
        'model_name': 'HostProfile',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'HostProfile'},
}
Program.__core_schema__ = {
    'type': 'model',
    'cls': Program,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'name': {'type': 'model-field', 'schema': {'type': 'str', 'pattern': '^[A-Za-z0-9_.-]+$'}},
            'command': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.command},
                    'schema': {
                        'type': 'union',
                        'choices': [{'type': 'str'}, {'type': 'list', 'items_schema': {'type': 'str'}}],
                    },
                },
            },
            'processes': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 0, 'le': 10000}, 'default': 1},
            },
            'max_processes': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 1, 'le': 10000}},
                    'default': None,
                },
            },
            'db_connections': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 0, 'le': 1000}, 'default': 1},
            },
            'redis_connections': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 0, 'le': 1000}, 'default': 1},
            },
            'memory': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-before',
                        'function': {'type': 'no-info', 'function': rules.size},
                        'schema': {'type': 'int'},
                    },
                    'default': 134217728,
                },
            },
            'database': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'max_length': 63}},
                    'default': None,
                },
            },
            'user': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.role_name},
                        'schema': {'type': 'nullable', 'schema': {'type': 'str', 'max_length': 63}},
                    },
                    'default': None,
                },
            },
            'directory': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                    'default': None,
                },
            },
            'run_as': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^[a-z_][a-z0-9_-]*$'},
                    },
                    'default': None,
                },
            },
            'home': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str', 'pattern': '^/'}},
                    'default': None,
                },
            },
            'redis_user': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^[A-Za-z0-9_.-]{1,64}$'},
                    },
                    'default': None,
                },
            },
            'environment': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.env_keys},
                        'schema': {
                            'type': 'dict',
                            'keys_schema': {'type': 'str'},
                            'values_schema': {
                                'type': 'union',
                                'choices': [
                                    {'type': 'str'},
                                    {'type': 'int'},
                                    {'type': 'float'},
                                    {'type': 'bool'},
                                ],
                            },
                        },
                    },
                    'default': {},
                },
            },
            'supervisor': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'dict',
                        'keys_schema': {'type': 'str'},
                        'values_schema': {'type': 'any'},
                    },
                    'default': {},
                },
            },
        },
        'model_name': 'Program',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Program'},
}
Headroom.__core_schema__ = {
    'type': 'model',
    'cls': Headroom,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'server_connections': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 1, 'le': 100000}},
                    'default': None,
                },
            },
            'client_connections': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 1, 'le': 1000000}},
                    'default': None,
                },
            },
            'worker_memory': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {
                            'type': 'function-before',
                            'function': {'type': 'no-info', 'function': rules.size},
                            'schema': {'type': 'int'},
                        },
                    },
                    'default': None,
                },
            },
        },
        'model_name': 'Headroom',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Headroom'},
}
Workload.__core_schema__ = {
    'type': 'model',
    'cls': Workload,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'db_profile': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'literal', 'expected': ['web', 'oltp', 'dw', 'mixed', 'desktop']},
                    'default': 'web',
                },
            },
            'client_timeout': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {
                            'type': 'function-before',
                            'function': {'type': 'no-info', 'function': rules.duration},
                            'schema': {'type': 'float'},
                        },
                    },
                    'default': None,
                },
            },
            'data_size': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {
                            'type': 'function-before',
                            'function': {'type': 'no-info', 'function': rules.size},
                            'schema': {'type': 'int'},
                        },
                    },
                    'default': None,
                },
            },
            'programs': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': Program.__core_schema__},
                    'default': [],
                },
            },
            'headroom': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': Headroom.__core_schema__},
                    'default': None,
                },
            },
        },
        'model_name': 'Workload',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Workload'},
}
Database.__core_schema__ = {
    'type': 'model',
    'cls': Database,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'name': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.pool_name},
                    'schema': {'type': 'str', 'max_length': 63, 'pattern': '^[A-Za-z0-9_.-]+$'},
                },
            },
            'dbname': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'max_length': 63, 'pattern': '^[A-Za-z0-9_.-]+$'},
                    },
                    'default': None,
                },
            },
            'user': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.role_name},
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'str', 'max_length': 63, 'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'},
                        },
                    },
                    'default': None,
                },
            },
            'pool_size': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'union',
                        'choices': [{'type': 'int'}, {'type': 'literal', 'expected': ['auto']}],
                    },
                    'default': 'auto',
                },
            },
            'reserve_pool': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'union',
                        'choices': [{'type': 'int'}, {'type': 'literal', 'expected': ['auto']}],
                    },
                    'default': 'auto',
                },
            },
            'pool_mode': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'literal', 'expected': ['session', 'transaction', 'statement']},
                    },
                    'default': None,
                },
            },
            'clients': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 0, 'le': 100000}, 'default': 0},
            },
        },
        'model_name': 'Database',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Database'},
}
User.__core_schema__ = {
    'type': 'model',
    'cls': User,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'name': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.role_name},
                    'schema': {'type': 'str', 'pattern': '^[A-Za-z_][A-Za-z0-9_]{0,62}$'},
                },
            },
            'password': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                    'default': None,
                },
            },
            'admin': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
            'stats': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
            'readonly': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
            'databases': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    'default': [],
                },
            },
            'connections': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 1, 'le': 10000}, 'default': 2},
            },
        },
        'model_name': 'User',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'User'},
}
Client.__core_schema__ = {
    'type': 'model',
    'cls': Client,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'name': {'type': 'model-field', 'schema': {'type': 'str', 'pattern': '^[A-Za-z0-9_.-]+$'}},
            'user': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.role_name},
                    'schema': {'type': 'str', 'max_length': 63, 'pattern': '^[A-Za-z_][A-Za-z0-9_]*$'},
                },
            },
            'database': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'str', 'max_length': 63, 'pattern': '^[A-Za-z0-9_.-]+$'},
                    'default': 'all',
                },
            },
            'address': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.hba_address},
                        'schema': {'type': 'str'},
                    },
                    'default': '127.0.0.1/32',
                },
            },
            'method': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'literal',
                        'expected': ['scram-sha-256', 'md5', 'password', 'trust', 'peer', 'cert', 'reject'],
                    },
                    'default': 'scram-sha-256',
                },
            },
            'connections': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'int', 'ge': 0, 'le': 10000}, 'default': 1},
            },
            'replication': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
        },
        'model_name': 'Client',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Client'},
}
RedisUser.__core_schema__ = {
    'type': 'model',
    'cls': RedisUser,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'name': {'type': 'model-field', 'schema': {'type': 'str', 'pattern': '^[A-Za-z0-9_.-]{1,64}$'}},
            'password': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.acl_password},
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                    },
                    'default': None,
                },
            },
            'nopass': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': False},
            },
            'enabled': {
                'type': 'model-field',
                'schema': {'type': 'default', 'schema': {'type': 'bool'}, 'default': True},
            },
            'keys': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.acl_keys},
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    },
                    'default': [],
                },
            },
            'channels': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.acl_channels},
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    },
                    'default': [],
                },
            },
            'commands': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.acl_commands},
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                    },
                    'default': [],
                },
            },
        },
        'model_name': 'RedisUser',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'RedisUser'},
}
Waiver.__core_schema__ = {
    'type': 'model',
    'cls': Waiver,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'rule': {'type': 'model-field', 'schema': {'type': 'str', 'pattern': '^PCF[34][0-9]{2}$'}},
            'reason': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.waiver_reason},
                    'schema': {'type': 'str'},
                },
            },
        },
        'model_name': 'Waiver',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Waiver'},
}
Policy.__core_schema__ = {
    'type': 'model',
    'cls': Policy,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'waivers': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': Waiver.__core_schema__},
                    'default': [],
                },
            },
        },
        'model_name': 'Policy',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Policy'},
}
AlertSetting.__core_schema__ = {
    'type': 'model',
    'cls': AlertSetting,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'severity': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'literal', 'expected': ['critical', 'warning', 'info']},
                    },
                    'default': None,
                },
            },
            'for_': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'nullable',
                        'schema': {'type': 'str', 'pattern': '^(?:[0-9]+(?:ms|[ywdhms]))+$'},
                    },
                    'default': None,
                },
                'validation_alias': 'for',
                'serialization_alias': 'for',
            },
        },
        'model_name': 'AlertSetting',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'AlertSetting'},
}
AlertWaiver.__core_schema__ = {
    'type': 'model',
    'cls': AlertWaiver,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'alert': {'type': 'model-field', 'schema': {'type': 'str', 'pattern': '^[A-Z][A-Za-z0-9]*$'}},
            'reason': {
                'type': 'model-field',
                'schema': {
                    'type': 'function-after',
                    'function': {'type': 'no-info', 'function': rules.waiver_reason},
                    'schema': {'type': 'str'},
                },
            },
        },
        'model_name': 'AlertWaiver',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'AlertWaiver'},
}
Monitoring.__core_schema__ = {
    'type': 'model',
    'cls': Monitoring,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'enabled': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'nullable', 'schema': {'type': 'bool'}},
                    'default': None,
                },
            },
            'alerts': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'dict',
                        'keys_schema': {'type': 'str'},
                        'values_schema': AlertSetting.__core_schema__,
                    },
                    'default': {},
                },
            },
            'waivers': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {'type': 'list', 'items_schema': AlertWaiver.__core_schema__},
                    'default': [],
                },
            },
        },
        'model_name': 'Monitoring',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Monitoring'},
}
Budget.__core_schema__ = {
    'type': 'model',
    'cls': Budget,
    'schema': {
        'type': 'model-fields',
        'fields': {
            'os_reserve': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.share},
                        'schema': {'type': 'union', 'choices': [{'type': 'str'}, {'type': 'int'}]},
                    },
                    'default': 'auto',
                },
            },
            'postgres': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.share},
                        'schema': {'type': 'union', 'choices': [{'type': 'str'}, {'type': 'int'}]},
                    },
                    'default': 'auto',
                },
            },
            'redis': {
                'type': 'model-field',
                'schema': {
                    'type': 'default',
                    'schema': {
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': rules.share},
                        'schema': {'type': 'union', 'choices': [{'type': 'str'}, {'type': 'int'}]},
                    },
                    'default': 'auto',
                },
            },
        },
        'model_name': 'Budget',
        'computed_fields': [],
    },
    'custom_init': False,
    'root_model': False,
    'config': {'extra_fields_behavior': 'forbid', 'strict': True, 'title': 'Budget'},
}
