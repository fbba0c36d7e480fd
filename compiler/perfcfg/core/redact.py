"""Keeping secret values out of what perfcfg shows: code frames, messages, ``--set`` echoes.

A value is secret when its key says so (``password``, ``*_TOKEN``, ``api_key``…). Secret
*references* (``${env:NAME}``, ``${file:path}``) are not secrets and stay visible: they tell
the reader where the value comes from.

>>> mask_line("    password: hunter2  # rotate monthly")
'    password: ***  # rotate monthly'
>>> mask_line("  - {name: app, password: 'hunter2', admin: true}")
'  - {name: app, password: ***, admin: true}'
>>> mask_line("users.app.password=hunter2"), mask_line("postgres.work_mem=64MB")
('users.app.password=***', 'postgres.work_mem=64MB')
>>> mask_line("    password: ${env:APP_DB_PASSWORD}")
'    password: ${env:APP_DB_PASSWORD}'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?$|secret|token|api_?key|credential|"
                          r"masterauth|requirepass", re.IGNORECASE)
# Keys that contain a secret-sounding word but hold no secret (their values help a reader).
_NOT_SECRET = frozenset({"password_encryption"})
_REFERENCE = re.compile(r"^\$\{(env|file):[^}]+\}$")
# A YAML key (block or flow style) followed by a value; the value's extent is matched apart.
_YAML_KEY = re.compile(r"""(?:^|(?<=[\s{,\[]))["']?(?P<name>[A-Za-z0-9_.-]+)["']?\s*:(?=[ \t])""")
_YAML_VALUE = re.compile(r"""[ \t]+(?P<value>\$\{[^}]*\}|"[^"]*"|'[^']*'|\[[^\]]*\]?|\{[^}]*\}?|"""
                         r"""[^,}\]#\n]*?)(?=\s*(?:[,}\]]|\s#|$))""")
# `PATH=VALUE` as given to --set.
_ASSIGNMENT = re.compile(r"^(?P<path>[^=\s]+)=(?P<value>.*)$")


def is_secret_key(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return leaf.lower() not in _NOT_SECRET and _SECRET_NAME.search(leaf) is not None


def mask_value(key: str, value: str) -> str:
    text = value.strip().strip("'\"")
    if not text or not is_secret_key(key) or _REFERENCE.match(text):
        return value
    return MASK


def mask_line(line: str) -> str:
    """``line`` with the value of every secret ``key: value`` (or ``PATH=VALUE``) masked."""
    assignment = _ASSIGNMENT.match(line)
    if assignment and ":" not in assignment.group("path"):
        path = assignment.group("path")
        return f"{path}={mask_value(path, assignment.group('value'))}"
    out, done = [], 0
    for key in _YAML_KEY.finditer(line):
        value = _YAML_VALUE.match(line, key.end())
        if key.start() < done or value is None or not is_secret_key(key.group("name")):
            continue
        start, end = value.span("value")
        out += [line[done:start], mask_value(key.group("name"), value.group("value"))]
        done = end
    return "".join(out) + line[done:]


def mask_assignment(assignment: str) -> str:
    """A ``--set PATH=VALUE`` flag as it may be echoed in a message."""
    return mask_line(assignment)


def line_redactor(sources: Mapping[str, str]) -> Callable[[str, int], str]:
    """The ``redact`` callable of :func:`perfcfg.reporters.render` for these sources."""
    split: dict[str, list[str]] = {}

    def redact(file: str, number: int) -> str:
        lines = split.setdefault(file, sources[file].split("\n"))
        return mask_line(lines[number - 1])

    return redact


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every known secret value replaced (values resolved at build time)."""
    if not text:
        return text
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
