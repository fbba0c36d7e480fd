"""What a Redis (or Valkey) binary accepts that ``CONFIG GET *`` does not say, read off the binary
for ``scripts/gen_catalogs.py`` (docs/catalogs.md):

- the catalog's ``sets.acl``: the commands an ACL rule may name (with their subcommands) and
  the categories (``COMMAND``, ``ACL CAT`` of a running server);
- per directive, what the server answers to probe values on its command line: a size's bounds
  (``argument must be between 1048576 and …``), and a string's ``pattern`` when the server
  refuses a path (``dbfilename can't be a path, just a filename``) or names the characters it
  takes (``Invalid event class character. Use 'Ag$lshzxeKEtmdn'.``), or refuses an empty
  value (``cluster-config-file can't be empty``);
- the catalog's ``sets.refused``: what a yes/no directive refuses in this build, with the
  server's words (``activedefrag yes`` without Redis's own jemalloc).

>>> pattern_of("dbfilename can't be a path, just a filename", "pf/bogus")
'[^/]*'
>>> pattern_of("Invalid event class character. Use 'Ag$lsh'.", "pf-bogus")
'[Ag\\\\$lsh]*'
>>> string_pattern({"": "cluster-config-file can't be empty"}.get)
'.+'
>>> bounds("argument must be between 1048576 and 9223372036854775807 inclusive")
(1048576, 9223372036854775807)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Probe values for a string directive: a path, and a word of characters most refuse.
PATH_PROBE = "pf/bogus"
WORD_PROBE = "pf-bogus"
# Probe values for a size: the smallest and a value past any upper bound.
SIZE_PROBES = ("0", "99999999999999999999")
_BOUNDS = re.compile(r"between (-?\d+) and (-?\d+)")


def bounds(message: str | None) -> tuple[int, int] | None:
    found = _BOUNDS.search(message or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


# What the server's words about a probe value say the value may hold: a character class.
_SAYS = ((re.compile(r"can't be a path"), "[^/]"),
         (re.compile(r"may only contain alphanumeric characters, hyphens or dots"),
          "[A-Za-z0-9.-]"),
         (re.compile(r"Invalid IPv6 address"), "[0-9A-Fa-f:.]"))
# An IPv4 address, or nothing (the directive unset).
_IPV4 = r"(((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9]))?"


def pattern_of(message: str | None, probe: str) -> str | None:
    """The regular expression a string directive's value must match, from the server's
    complaint about ``probe``; None when its words say nothing perfcfg can use."""
    if not message:
        return None
    use = re.search(r"Use '([^']+)'", message)
    if use:
        return "[" + re.escape(use.group(1)) + "]*"
    if "Invalid IPv4 address" in message:
        return _IPV4
    for words, chars in _SAYS:
        if words.search(message):
            return chars + "*"
    return None


def size_bounds(message: Callable[[str], str | None]) -> dict[str, Any]:
    """``min``/``max`` of a size directive, from ``message(value)`` (the server's complaint
    about the value, or None); a size is never below 0."""
    found = [b for b in (bounds(message(v)) for v in SIZE_PROBES) if b]
    return {"min": found[0][0], "max": found[0][1]} if found else {"min": 0, "max": None}


# A Windows-style path. Valkey 8.1 quotes command-line values before reading them (so one
# backslash arrives as an escape): the second spelling gets a backslash to it.
BACKSLASH_PROBES = ("pf\\bogus", "pf\\\\bogus")


def string_pattern(message: Callable[[str], str | None]) -> str | None:
    """The pattern of a string directive: what the server's answers to a path, a word and an
    empty value say it takes (``[^/]*``; ``.+`` when it refuses an empty value)."""
    found = next((p for p in (pattern_of(message(probe), probe)
                              for probe in (PATH_PROBE, WORD_PROBE)) if p), None)
    if found == "[^/]*" and any("can't be a path" in (message(p) or "")
                                for p in BACKSLASH_PROBES):
        found = "[^/\\\\]*"
    empty = message("") or ""
    if "can't be empty" in empty or "cannot be empty" in empty:
        return (found[:-1] if found else ".") + "+"
    return found


def refused_words(message: Callable[[str], str | None]) -> dict[str, str]:
    """What a yes/no directive refuses in this build, with the server's words: Redis built
    without its own jemalloc refuses ``activedefrag yes``."""
    return {word: said for word in ("yes",) if (said := message(word))}


def acl_sets(client: Any) -> dict[str, Any]:
    """``{"commands": {name: [subcommands]}, "categories": [...]}`` of a running server
    (a redis-py client)."""
    commands: dict[str, list[str]] = {}
    for name, info in client.command().items():
        subs = [entry[0].split("|", 1)[1] for entry in info.get("subcommands") or []]
        commands[str(name).lower()] = sorted(s.lower() for s in subs)
    categories = sorted(str(c).lower() for c in client.execute_command("ACL", "CAT"))
    return {"commands": dict(sorted(commands.items())), "categories": categories}
