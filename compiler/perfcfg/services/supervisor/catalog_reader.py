"""supervisor's catalog: its own option parser, every key read recorded
(``services/supervisor/parse.py``). One catalog serves every 4.x release."""

from __future__ import annotations

from typing import Any

from perfcfg.services.catalog_reading import Job, catalog, entry
from perfcfg.services.supervisor import readers as supervisor_readers
from perfcfg.services.supervisor.parse import parse_supervisord_conf

# One section of every kind, with every optional key set so each value reaches its converter.
SUPERVISOR_PROBE = """\
[supervisord]
logfile=/tmp/supervisord.log
pidfile=/tmp/supervisord.pid
childlogdir=/tmp
directory=/tmp
user=root
umask=022
environment=A="1"
[unix_http_server]
file=/tmp/pf.sock
chmod=0700
chown=root:root
username=u
password=p
[inet_http_server]
port=127.0.0.1:9001
username=u
password=p
[supervisorctl]
serverurl=unix:///tmp/pf.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface
[program:p]
command=/bin/true
directory=/tmp
umask=022
user=root
environment=A="1"
serverurl=AUTO
[group:g]
programs=p
[eventlistener:e]
command=/bin/true
events=PROCESS_STATE
[fcgi-program:f]
command=/bin/true
socket=unix:///tmp/pf-f.sock
socket_owner=root:root
socket_mode=0700
socket_backlog=10
"""
# Keys whose converter runs outside saneget's value (or not at all), from supervisor/options.py.
SUPERVISOR_OVERRIDES = {"umask": "octal", "chmod": "octal", "socket_mode": "octal",
                        "socket_backlog": "integer", "environment": "string"}
SUPERVISOR_ENUMS = {"auto_restart": ["false", "unexpected", "true"]}
# What a converter refuses, as a pattern of the value (supervisor/datatypes.py): a process or
# group name may not hold a space, a colon or a slash.
SUPERVISOR_PATTERNS = {"process_or_group_name": "[^ :/]*"}
_HOST_DEFAULTS = {("supervisord", "childlogdir")}   # tempfile.gettempdir(): depends on TMPDIR


def _supervisor_default(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, type):                      # datatypes.Automatic, written AUTO
        return "AUTO" if value.__name__ == "Automatic" else value.__name__.upper()
    return str(value)


def supervisor() -> dict[str, Any]:
    import supervisor as sup_pkg
    from supervisor.loggers import LevelsByDescription

    parsed = parse_supervisord_conf(SUPERVISOR_PROBE, host_independent=True)
    from perfcfg.services.supervisor.parse import CONVERTER_TYPES, section_kind

    levels = sorted((n for n in vars(LevelsByDescription) if not n.startswith("_")),
                    key=lambda n: -getattr(LevelsByDescription, n))
    params: dict[str, dict[str, Any]] = {}
    for (section, key), read in sorted(parsed.reads.items()):
        kind = section_kind(section)
        name = f"{kind}.{key}"
        type_ = SUPERVISOR_OVERRIDES.get(key) or CONVERTER_TYPES.get(read.converter or "", "string")
        values = None
        if read.converter == "logging_level":
            values = levels
        elif read.converter in SUPERVISOR_ENUMS:
            values = SUPERVISOR_ENUMS[read.converter]
        default = None if (kind, key) in _HOST_DEFAULTS else _supervisor_default(read.default)
        params[name] = entry(type_, values=values, default=default, section=kind,
                             pattern=SUPERVISOR_PATTERNS.get(read.converter or ""))
    version = getattr(sup_pkg, "__version__", None) or _dist_version("supervisor")
    # One catalog for 4.x: 4.2.5 and 4.3.0 read the same keys with the same converters (their
    # options.py differ only in how rpcinterface factories are imported).
    build = {"package": f"pypi supervisor {version}", "release": version}
    source = (f"option parser of supervisor {version} "
              "(keys read by ServerOptions and ClientOptions)")
    return catalog("supervisor", version.split(".")[0], source, params, build,
                   {"signals": supervisor_readers.signals()})


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def jobs(new: tuple[str, ...] = ()) -> dict[str, Job]:
    """The one catalog every 4.x release reads (a new major would be a new reader)."""
    return {"supervisor-4.json": Job(supervisor, "supervisor", None)}
