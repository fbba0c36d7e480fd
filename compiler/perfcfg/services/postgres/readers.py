"""What a PostgreSQL binary accepts that ``pg_settings`` does not list, read off the binary for
``scripts/gen_catalogs.py``: the catalog's ``sets`` (docs/catalogs.md).

- ``timezones``: every name ``TimeZone`` and ``log_timezone`` take (``pg_timezone_names``:
  the build's own time zone data, or the host's for a build that uses the system's);
- ``timezone_abbreviations``: the files ``timezone_abbreviations`` may name;
- ``libraries``: the libraries in the build's ``$libdir`` (``shared_preload_libraries``), and
  ``plugins``, those in ``$libdir/plugins`` (all ``local_preload_libraries`` may load);
- ``text_search_configs``: the configurations a new database has;
- ``words``: for each parameter that takes a list of key words (``DateStyle``,
  ``log_destination``…), the words the binary takes alone, the pairs it refuses together and
  whether it takes an empty value — each found by asking ``postgres -C`` itself;
- ``refused``: the switches this build refuses to turn on (``bonjour`` without Bonjour);

and, per string parameter, the ``pattern`` its refusal of a probe value describes (a
replication slot name takes lower case letters, digits and ``_``; some refuse an empty value).

>>> sorted(WORD_CANDIDATES)[:3]
['DateStyle', 'createrole_self_grant', 'debug_io_direct']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

# Candidate key words per parameter (from PostgreSQL's documentation); the binary decides
# which it takes. wal_consistency_checking's are its resource managers, read from the server.
WORD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "DateStyle": ("ISO", "SQL", "Postgres", "German", "YMD", "DMY", "MDY", "Euro", "European",
                  "US", "NonEuro", "NonEuropean", "Default"),
    "createrole_self_grant": ("set", "inherit"),
    "log_destination": ("stderr", "csvlog", "jsonlog", "syslog", "eventlog"),
    "restrict_nonsystem_relation_kind": ("view", "foreign-table"),
    "debug_io_direct": ("data", "wal", "wal_init"),
    "log_connections": ("receipt", "authentication", "authorization", "setup_durations", "all",
                        "on", "off", "true", "false", "yes", "no", "1", "0"),
    "wal_consistency_checking": ("all",),
}


def value_sets(query: Callable[..., list[tuple[Any, ...]]], accepts: Callable[[str, str], bool],
               names: Iterable[str]) -> dict[str, Any]:
    """The sets of one version: ``query(sql, params)`` runs SQL on a running server of it,
    ``accepts(name, value)`` asks its ``postgres -C``; ``names`` are its parameters."""
    libdir = query("SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")[0][0]
    share = query("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")[0][0]
    libraries = sorted(f[:-3] for (f,) in query("SELECT pg_ls_dir(%s)", (libdir,))
                       if f.endswith(".so"))
    plugins = sorted(f[:-3] for (f,) in query("SELECT pg_ls_dir(%s, true, false)",
                                              (f"{libdir}/plugins",)) if f.endswith(".so"))
    abbreviations = sorted(f for (f,) in query("SELECT pg_ls_dir(%s)",
                                               (f"{share}/timezonesets",)) if "." not in f)
    managers = [r for (r,) in query("SELECT rm_name FROM pg_get_wal_resource_managers()")]
    candidates = {**WORD_CANDIDATES, "wal_consistency_checking": (
        *WORD_CANDIDATES["wal_consistency_checking"], *managers)}
    have = set(names)
    return {
        "timezones": sorted(n for (n,) in query("SELECT name FROM pg_timezone_names")),
        "timezone_abbreviations": abbreviations,
        "libraries": libraries,
        "plugins": plugins,
        "text_search_configs": sorted(n for (n,) in query("SELECT cfgname FROM pg_ts_config")),
        "words": {name: words(name, options, accepts) for name, options in
                  sorted(candidates.items()) if name in have},
    }


def words(name: str, candidates: Iterable[str], accepts: Callable[[str, str], bool]
          ) -> dict[str, Any]:
    """The words ``name`` takes alone, the pairs it refuses together, whether it takes an
    empty value and whether case matters."""
    alone = [w for w in candidates if accepts(name, w)]
    conflicts = [[a, b] for i, a in enumerate(alone) for b in alone[i + 1:]
                 if not accepts(name, f"{a}, {b}")]
    return {"words": alone, "conflicts": conflicts, "empty": accepts(name, ""),
            "any_case": bool(alone) and accepts(name, alone[0].swapcase())}


# What PostgreSQL's words about a probe value say the value may hold, as a pattern.
PROBES = ("Pf/bogus", "")
_SAYS = (("contains invalid character", "[a-z0-9_]*"),)


def pattern(refusal: Callable[[str], str | None]) -> str | None:
    """The pattern of a string parameter from ``refusal(value)``: the server's DETAIL about
    a refused value, or None when it takes it.

    >>> pattern({"Pf/bogus": 'replication slot name "Pf/bogus" contains invalid character'}.get)
    '[a-z0-9_]*'
    >>> pattern({"": '"default_table_access_method" cannot be empty.'}.get)
    '.+'
    """
    said = refusal(PROBES[0]) or ""
    only = re.search(r'The only allowed value is "([^"]+)"', said)
    if only:
        return f"({re.escape(only.group(1))})?"
    found = next((chars for words, chars in _SAYS if words in said), None)
    if "cannot be empty" in (refusal("") or ""):
        return (found[:-1] if found else ".") + "+"
    return found


def refused_switches(accepts: Callable[[str, str], bool],
                     names: Iterable[str]) -> dict[str, dict[str, str]]:
    """The switches among ``names`` this build refuses to turn on (``bonjour`` in a build
    without Bonjour support), as ``{name: {"on": why}}``."""
    return {name: {"on": "this build of PostgreSQL does not support it"}
            for name in names if not accepts(name, "on")}
