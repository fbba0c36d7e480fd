"""Parse a supervisord.conf in-process with supervisor's own ``ServerOptions`` and record every
key it reads — supervisor silently ignores unknown keys and sections, so the keys it never read
are the typos.

Every section reader goes through ``UnhosedConfigParser.saneget``; a patched version records
``(section, key, default)``, and wrapped ``supervisor.datatypes`` converters note which
converter consumed each value (the key's type). ``host_independent=True`` stubs the checks
that depend on this machine (log directories exist, ``user=`` resolves), so a production
config can be validated in CI.

>>> p = parse_supervisord_conf("[supervisord]\\n[program:w]\\ncommand=/bin/true\\nstartretires=3\\n")
>>> p.unknown_keys
[('program:w', 'startretires')]
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfcfg.harness import procs
from perfcfg.harness.errors import DaemonError

SECTION_KINDS = ("supervisord", "unix_http_server", "inet_http_server", "supervisorctl",
                 "include", "program", "group", "eventlistener", "fcgi-program", "rpcinterface",
                 "ctlplugin")
# Sections read by other means (include: files; rpcinterface and ctlplugin: every key becomes
# a factory argument). [supervisorctl] is read by ClientOptions, which is run as well.
_NOT_CHECKED = ("ctlplugin", "include", "rpcinterface")
# converter in supervisor.options → catalog type (docs/catalogs.md)
CONVERTER_TYPES: dict[str, str] = {
    "boolean": "bool", "integer": "integer", "byte_size": "memory", "octal_type": "octal",
    "logging_level": "enum", "auto_restart": "enum", "signal_number": "string",
    "list_of_exitcodes": "list", "list_of_strings": "list", "dict_of_key_value_pairs": "string",
    "logfile_name": "string", "existing_dirpath": "string", "existing_directory": "string",
    "colon_separated_user_group": "string", "inet_address": "string", "url": "string",
    "name_to_uid": "string", "process_or_group_name": "string", "profile_options": "string",
}
_HOST_CHECKS = ("existing_dirpath", "existing_directory", "name_to_uid")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class KeyRead:
    section: str
    key: str
    default: Any            # what supervisor falls back to; None when the key is required/absent
    converter: str | None   # the supervisor.datatypes function that consumed the value


@dataclass
class SupervisorParse:
    """The outcome of one in-process parse."""

    options: Any                                  # supervisor.options.ServerOptions
    reads: dict[tuple[str, str], KeyRead] = field(default_factory=dict)
    unknown_keys: list[tuple[str, str]] = field(default_factory=list)
    unknown_sections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def section_kind(section: str) -> str:
    return section.split(":", 1)[0]


@contextmanager
def recording(host_independent: bool) -> Iterator[dict[tuple[str, str], KeyRead]]:
    """Patch supervisor's parser for the duration of one parse (serialised by a lock)."""
    import supervisor.datatypes as dt
    import supervisor.options as so

    reads: dict[tuple[str, str], KeyRead] = {}
    last: list[Any] = [None, None]          # [(section, key), value returned]
    originals: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, name: str, new: Any) -> None:
        originals.append((obj, name, getattr(obj, name)))
        setattr(obj, name, new)

    orig_saneget = so.UnhosedConfigParser.saneget
    marker = so._marker

    def saneget(self: Any, section: str, option: str, default: Any = marker, *a: Any,
                **kw: Any) -> Any:
        value = orig_saneget(self, section, option, default, *a, **kw)
        key = (section, option)
        prior = reads.get(key)
        reads[key] = KeyRead(section, option, None if default is marker else default,
                             prior.converter if prior else None)
        last[0], last[1] = key, value
        return value

    def converter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(value: Any, *a: Any, **kw: Any) -> Any:
            if last[0] is not None and value is last[1] and last[0] in reads:
                reads[last[0]] = dataclasses.replace(reads[last[0]], converter=name)
                last[0] = None
            if host_independent and name in _HOST_CHECKS:
                return 0 if name == "name_to_uid" else value
            return fn(value, *a, **kw)
        return wrapped

    with _LOCK:
        patch(so.UnhosedConfigParser, "saneget", saneget)
        for name in CONVERTER_TYPES:
            if hasattr(so, name):
                patch(so, name, converter(name, getattr(so, name)))
        if host_independent:
            patch(dt, "existing_dirpath", lambda v: v)
        try:
            yield reads
        finally:
            for obj, name, value in reversed(originals):
                setattr(obj, name, value)


def parse_supervisord_conf(text: str, host_independent: bool = True) -> SupervisorParse:
    """Parse like ``supervisord -c``; raise ``DaemonError`` with supervisor's message."""
    from supervisor.options import ClientOptions, ServerOptions, UnhosedConfigParser

    workdir = procs.scratch_dir("pf-svp-")
    try:
        path = procs.write_file(f"{workdir}/supervisord.conf", text)
        opts = ServerOptions()
        opts.configfile = path
        with recording(host_independent) as reads:
            try:
                opts.process_config(do_usage=False)
            except ValueError as exc:
                raise DaemonError("supervisor", str(exc).replace(workdir, "<dir>")) from exc
        result = SupervisorParse(opts, dict(reads), warnings=list(opts.parse_warnings))
        parser = UnhosedConfigParser()
        parser.read_string(Path(path).read_text())
        if parser.has_section("supervisorctl"):
            with recording(host_independent) as ctl_reads:
                try:
                    ClientOptions().read_config(path)
                except ValueError as exc:
                    raise DaemonError("supervisor", str(exc).replace(workdir, "<dir>")) from exc
            result.reads.update(ctl_reads)
        _unread(parser, result)
        return result
    finally:
        procs.remove_dir(workdir)


def _unread(parser: Any, result: SupervisorParse) -> None:
    for section in parser.sections():
        kind = section_kind(section)
        if kind not in SECTION_KINDS:
            result.unknown_sections.append(section)
        elif kind not in _NOT_CHECKED:
            result.unknown_keys += [(section, k) for k in parser.options(section)
                                    if (section, k) not in result.reads]
