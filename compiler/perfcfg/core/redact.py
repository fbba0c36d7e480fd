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

import difflib
import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import quote

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?$|secret|token|api_?key|credential|"
                          r"masterauth|requirepass|pass_word|^(pwd|pw|psw|key)$",
                          re.IGNORECASE)
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


_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "credential",
                 "masterauth", "requirepass")
# Section names that contain a secret-sounding word but hold settings, not a value.
_SECTIONS = frozenset({"secrets"})


def looks_secret(name: str) -> bool:
    """:func:`is_secret_key`, or a misspelling of one (``pasword``, ``secert``): a code frame
    must not show a password because its key was mistyped.

    >>> looks_secret("pasword"), looks_secret("db_passwrd"), looks_secret("timeout")
    (True, True, False)
    """
    if is_secret_key(name):
        return True
    if name.rsplit(".", 1)[-1].lower() in _NOT_SECRET:
        return False
    words = [w for w in re.split(r"[^a-z]+", name.rsplit(".", 1)[-1].lower()) if len(w) >= 5]
    return any(difflib.SequenceMatcher(None, word, secret).ratio() >= 0.8
               for word in words for secret in _SECRET_WORDS)


_KEY_LINE = re.compile(r"""^(?P<indent>[ \t]*(?:-[ \t]+)*)["']?(?P<name>[A-Za-z0-9_.-]+)["']?"""
                       r"""[ \t]*:(?:[ \t]+(?P<value>.*))?$""")


def mask_text(text: str) -> str:
    """``text`` (a YAML file) with every secret value masked, also where the value is not on
    its key's line (``password:`` then the value below it, a block scalar, a continued plain
    scalar) and where the key is misspelt: the lines below a secret key that are indented
    deeper than the key belong to its value and are masked whole. Line count is unchanged.

    >>> mask_text("users:\\n  - name: a\\n    password:\\n      hunter2\\n    admin: true")
    'users:\\n  - name: a\\n    password:\\n      ***\\n    admin: true'
    >>> mask_text("pasword: hunter2")
    'pasword: ***'
    """
    out: list[str] = []
    masking_below: int | None = None     # the column of the secret key whose value continues
    explicit: int | None = None          # the column of a secret ``? key`` awaiting its ``:``
    for line in text.split("\n"):
        body = line.lstrip(" \t")
        indent = len(line) - len(body)
        if masking_below is not None and body and indent > masking_below:
            out.append(line[:indent] + MASK if not body.startswith("#") else line)
            continue
        masking_below = None
        if explicit is not None and body.startswith(":") and indent == explicit:
            # YAML's explicit key form: "? password" then ": value" on the next line
            out.append(line[:indent + 1] + (" " + MASK if body[1:].strip() else ""))
            masking_below, explicit = indent, None
            continue
        key_form = re.match(r"\?\s+[\"']?([A-Za-z0-9_.-]+)[\"']?\s*$", body)
        explicit = indent if key_form and looks_secret(key_form.group(1)) else None
        key = _KEY_LINE.match(line)
        if key and looks_secret(key.group("name")) and key.group("name") not in _SECTIONS:
            value = (key.group("value") or "").strip()
            if value and not value.startswith(("#", "|", ">")):
                head = value.split(" #")[0]
                shown = mask_value("password", head) + " " * (len(head) - len(head.rstrip()))
                line = line[:key.start("value")] + shown + (
                    " #" + value.split(" #", 1)[1] if " #" in value else "")
            masking_below = len(key.group("indent"))
        out.append(mask_line(line))
    return "\n".join(out)


def mask_value(key: str, value: str) -> str:
    text = value.strip().strip("'\"")
    if not text or not is_secret_key(key) or _REFERENCE.match(text):
        return value
    return MASK


def mask_line(line: str) -> str:
    """``line`` with the value of every secret ``key: value`` (or ``PATH=VALUE``) masked."""
    assignment = _ASSIGNMENT.match(line)
    if assignment and ":" not in assignment.group("path"):
        path, value = assignment.group("path"), assignment.group("value")
        if is_secret_key(path):
            return f"{path}={mask_value(path, value)}"
        # a map given to a parent (--set supervisor.inet_http_server={password: x}) is YAML
        return f"{path}={mask_line(' ' + value)[1:]}" if value.startswith(("{", "[")) \
            else f"{path}={value}"
    out, done = [], 0
    for key in _YAML_KEY.finditer(line):
        value = _YAML_VALUE.match(line, key.end())
        if key.start() < done or value is None or not is_secret_key(key.group("name")):
            continue
        start, end = value.span("value")
        out += [line[done:start], mask_value(key.group("name"), value.group("value"))]
        done = end
    return "".join(out) + line[done:]


_CONNINFO_PASSWORD = re.compile(r"(\bpassword[ \t]*=[ \t]*)('(?:[^'\\\n]|\\.)*'?|[^\s'][^\s]*)",
                                re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^@\s]*)(@)")


def mask_credentials(text: str) -> str:
    """``text`` with the password of every libpq connection string (``password=…``) and URL
    (``scheme://user:password@host``) masked, parsed or not: a malformed DSN's error message
    quotes it as given.

    >>> mask_credentials("missing '=' after 'x' in 'host=db password=s3cr3t x'")
    "missing '=' after 'x' in 'host=db password=*** x'"
    >>> mask_credentials("redis://bot:hunter2@127.0.0.1:6379/0 and http://u:p@h")
    'redis://bot:***@127.0.0.1:6379/0 and http://u:***@h'
    """
    text = _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)


def mask_assignment(assignment: str) -> str:
    """A ``--set PATH=VALUE`` flag as it may be echoed in a message."""
    return mask_line(assignment)


def line_redactor(sources: Mapping[str, str]) -> Callable[[str, int], str]:
    """The ``redact`` callable of :func:`perfcfg.cli.reporters.render` for these sources."""
    split: dict[str, list[str]] = {}

    def redact(file: str, number: int) -> str:
        if file not in split:
            split[file] = mask_text(sources[file]).split("\n")
        return split[file][number - 1]

    return redact


def encoded_forms(secret: str) -> set[str]:
    """``secret`` as each target format (or a message) may spell it once escaped or quoted.

    Every encoder perfcfg has is covered: PostgreSQL strings (``\\`` and ``''``), pgbouncer
    and userlist doubling (``''``, ``""``), Redis's backslash and ``\\xNN`` escapes,
    supervisor's ``%%`` and shell quoting, URLs (percent-encoding), JSON and Python ``repr``.

    >>> {'a\\\\"b', 'a""b', 'a%22b'} <= encoded_forms('a"b')
    True
    """
    forms = {secret,
             secret.replace("\\", "\\\\").replace("'", "''"),         # postgresql.conf
             secret.replace("'", "''"), secret.replace('"', '""'),      # pgbouncer, userlist
             secret.replace("%", "%%"),                                  # supervisord.conf
             json.dumps(secret)[1:-1], repr(secret)[1:-1],
             quote(secret, safe=""), quote(secret, safe="/:@"),
             shlex.quote(secret), shlex.quote(secret).replace("%", "%%")}
    escaped = []
    for ch in secret:                                                    # redis.conf
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif " " <= ch < "\x7f":
            escaped.append(ch)
        else:
            escaped.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    forms.add("".join(escaped))
    return {f for f in forms if f}


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every known secret value replaced (values resolved at build time), in
    clear or in any of its :func:`encoded_forms`."""
    if not text:
        return text
    forms = {form for secret in secrets if secret for form in encoded_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


# Resolved secret values of this process: the resolver registers each one, and everything the
# command line writes (reports, diffs, explain, an internal error's text) is scrubbed of them.
# Shorter values are left alone: masking every "ab" of a report would hide more than a secret.
SCRUB_MIN_LENGTH = 4
_KNOWN: set[str] = set()


def remember(secret: str) -> None:
    if len(secret) >= SCRUB_MIN_LENGTH:
        _KNOWN.add(secret)


def scrub_known(text: str) -> str:
    """``text`` without any secret this process has resolved (see :func:`remember`)."""
    return (scrub(text, _KNOWN) or "") if _KNOWN and text else text


class ScrubbedStream:
    """A text stream whose every write goes through :func:`scrub_known` (the CLI's stdout and
    stderr: the one path from perfcfg to a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(scrub_known(mask_credentials(text)))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    # everything else a stream has (encoding, fileno…), whatever its type there
    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
