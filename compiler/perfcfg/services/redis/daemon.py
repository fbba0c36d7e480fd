"""A throwaway redis-server (7.0 by default, or ``version``) or valkey-server from a redis.conf.

Harness-owned directives are appended on the command line, which Redis applies after the
file: ``port bind daemonize supervised dir logfile pidfile unixsocket``. A generated file
places the server as Debian's package does (``/var/lib/redis``, ``supervised systemd``); the
harness keeps it in the foreground as its child (``--daemonize no``), with no systemd to
notify (``--supervised no``) and its files in the scratch dir, unless ``placed=True`` says the
file's ``dir``, ``logfile`` and ``pidfile`` already point into scratch (then the file's
``supervised`` stays too). ``dir`` matters beyond tidiness: with a ``save`` rule, Redis writes
``dump.rdb`` into it on SIGTERM. Redis acts on two of them while it reads the file, before
the command line's values replace them: it changes into ``dir`` and opens ``logfile``, and
stops if a host's path (``/var/lib/valkey``) is not there. The harness's copy of the file has
those two lines commented out, and only those: every other line, and every line number, is
the generated file's.
Redis runs fine as root, so it is not dropped to the service user. Valkey reads the same
directives and answers the same commands: ``ValkeyServer`` differs only in its program.

>>> with RedisServer("maxmemory 256mb\\n") as r:  # doctest: +SKIP
...     r.mismatches({"maxmemory": "256mb"})
[]
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from perfcfg.harness import procs
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import Mismatch
from perfcfg.services.redis import programs
from perfcfg.services.redis.compare import redis_equal

if TYPE_CHECKING:
    pass

HARNESS_KEYS = frozenset({"port", "bind", "daemonize", "supervised", "dir", "logfile",
                          "pidfile", "unixsocket", "aclfile"})
# With an ACL file the harness adds a user of its own (the file's users may not run CONFIG,
# and `user default off` refuses the unauthenticated reads).
HARNESS_USER = "perfcfg-harness"
# Directives Redis applies while reading the file (chdir, fopen): a host's path stops a start
# in scratch before the command line's value replaces it.
READ_TIME_KEYS = ("dir", "logfile")


class RedisServer(procs.Handle):
    """A running redis-server; ``username``/``password`` authenticate the harness's reads."""

    daemon = "redis"
    program = programs.REDIS_SERVER

    def __init__(self, conf_text: str, username: str | None = None, password: str | None = None,
                 timeout: float = 15, acl_text: str | None = None,
                 version: str | None = None, placed: bool = False,
                 harness_user: bool = True) -> None:
        self.version = version
        self.placed = placed
        # False: the ACL file is exactly ``acl_text``, and ``username`` must be one of its users
        self.harness_user = harness_user
        self.conf_text = conf_text
        self.acl_text = acl_text
        self.username = username
        self.password = password
        self.timeout = timeout
        self.dir = ""
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        return f"{self.dir}/redis.log"

    def _launch(self) -> None:
        self.dir = procs.scratch_dir("pf-rds-")
        procs.write_file(f"{self.dir}/redis.conf",
                         self.conf_text if self.placed else scratch_copy(self.conf_text))
        if self.acl_text is not None and not self.harness_user:
            procs.write_file(f"{self.dir}/users.acl", self.acl_text)
        elif self.acl_text is not None:
            secret = os.urandom(16).hex()
            procs.write_file(f"{self.dir}/users.acl", self.acl_text.rstrip("\n") +
                             f"\nuser {HARNESS_USER} on >{secret} ~* &* +@all\n")
            if self.username is None:
                self.username, self.password = HARNESS_USER, secret
        self._start_on_free_port()

    def _start_on_free_port(self) -> None:
        def spawn(port: int) -> subprocess.Popen[bytes]:
            self.port = port
            self.proc = procs.spawn(
                [require(self.program, self.version), f"{self.dir}/redis.conf",
                 "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no",
                 *([] if self.placed else
                   ["--supervised", "no", "--dir", self.dir, "--logfile", "",
                    "--pidfile", f"{self.dir}/redis.pid"]),
                 "--unixsocket", "",
                 *(["--aclfile", f"{self.dir}/users.acl"] if self.acl_text is not None else [])],
                self.log, cwd=self.dir)
            return self.proc

        procs.start_on_free_port(self.daemon, spawn, self._probe, [self.log], self.timeout,
                                 "already in use", lambda proc: open(self.log, "w").close())

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client of this server; ``kwargs``: any other option of redis.Redis."""
        return redis.Redis(host="127.0.0.1", port=self.port, username=self.username,
                           password=self.password, decode_responses=True, socket_timeout=5,
                           **kwargs)

    def _probe(self) -> bool | None:
        try:
            # redis-py retries refused connections with backoff by default; a probe must not.
            with self.client(socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)) as c:
                c.ping()
            return True
        except (redis.AuthenticationError, redis.exceptions.NoPermissionError):
            return True   # it answered: the server is up, our credentials are another matter
        except redis.ResponseError as exc:
            return True if "NOAUTH" in str(exc) else None
        except (redis.ConnectionError, redis.TimeoutError):
            return None




    # -- reading --------------------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        """``CONFIG GET *`` (memory in bytes, aliases such as ``slaveof`` included)."""
        with self.client() as c:
            return dict(c.config_get("*"))

    def acl_list(self) -> list[str]:
        with self.client() as c:
            return list(c.acl_list())

    def mismatches(self, intended: Mapping[str, str], enums: frozenset[str] = frozenset()
                   ) -> list[Mismatch]:
        """Intended directives that differ from ``CONFIG GET``; ``enums`` compare any case."""
        return redis_mismatches(self.config(), intended, enums, HARNESS_KEYS)


def scratch_copy(conf_text: str) -> str:
    """``conf_text`` with its ``dir`` and ``logfile`` lines commented out (line numbers kept).

    >>> scratch_copy("dir /var/lib/valkey\\nport 6379\\n")
    '# dir /var/lib/valkey (set by the harness)\\nport 6379\\n'
    """
    out = []
    for line in conf_text.splitlines(keepends=True):
        words = line.split(None, 1)
        if words and words[0].lower() in READ_TIME_KEYS:
            line = f"# {line.rstrip()} (set by the harness)\n"
        out.append(line)
    return "".join(out)


def redis_mismatches(current: Mapping[str, str], intended: Mapping[str, str],
                     enums: frozenset[str] = frozenset(), skip: frozenset[str] = frozenset()
                     ) -> list[Mismatch]:
    """Intended directives that differ from ``current`` (``CONFIG GET *``)."""
    out: list[Mismatch] = []
    for key, value in sorted(intended.items()):
        name = key.lower()
        if name in skip:
            continue
        if name not in current:
            out.append((key, value, "<unknown parameter>"))
        elif not redis_equal(value, current[name], enum=name in enums, key=name):
            out.append((key, value, current[name]))
    return out


def live_config(url: str) -> dict[str, str]:
    """``CONFIG GET *`` of a running server (``verify --live``), by lower-case name."""
    return live_state(url).config


@dataclass(frozen=True)
class LiveState:
    """What ``verify --live`` reads from a running server: ``CONFIG GET *``, ``ACL LIST``
    (None when the user may not run it) and whether the server reports command rules as they
    were written (Redis 7.0 reports each category expanded into its commands)."""

    config: dict[str, str]
    acl: list[str] | None
    rules_as_written: bool


# Redis 7.2 (and Valkey, forked from it) keep a user's command rules as written.
RULES_AS_WRITTEN_SINCE = (7, 2)


def live_state(url: str) -> LiveState:
    """An answer to ``CONFIG GET *`` that is not a list of directives (not a Redis) is a
    ValueError that says so."""
    with redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                              socket_connect_timeout=10, retry=Retry(NoBackoff(), 0)) as client:
        try:
            answer = client.config_get("*")
        except (AttributeError, TypeError, ValueError, IndexError, KeyError):
            # redis-py's own reading of a reply that is not Redis's (+OK, a number…) breaks
            answer = None
        if not isinstance(answer, dict) or not answer:
            raise ValueError("not a Redis: its answer to CONFIG GET * is not a list of "
                             "directives")
        config = {str(k).lower(): str(v) for k, v in answer.items()}
        try:
            acl: list[str] | None = [str(line) for line in client.acl_list()]
        except redis.exceptions.NoPermissionError:
            acl = None
        hello = client.execute_command("HELLO")       # @connection: every user may
    server = dict(zip(hello[::2], hello[1::2], strict=True)) if isinstance(hello, list) \
        else dict(hello)
    version = tuple(int(p) for p in str(server.get("version", "0.0")).split(".")[:2])
    written = server.get("server") == "valkey" or version >= RULES_AS_WRITTEN_SINCE
    return LiveState(config, acl, written)


def acl_user(line: str) -> tuple[str, dict[str, Any]]:
    """An ACL rule line (users.acl's or ACL LIST's) as the parts that decide what the user may
    do, whatever the spelling: ``allkeys`` is ``~*``, a reset empties what came before, the
    flag Redis 7.2 adds to every user (``sanitize-payload``, its default) is left out.

    >>> acl_user("user a on sanitize-payload #ab ~k:* resetchannels -@all +get")[1]["keys"]
    ('~k:*',)
    >>> acl_user("user d off resetpass resetkeys resetchannels -@all")[1] == \\
    ...     acl_user("user d off sanitize-payload resetchannels -@all")[1]
    True
    """
    words = line.split()
    name, on, nopass = words[1], False, False
    passwords: set[str] = set()
    keys: list[str] = []
    channels: list[str] = []
    commands: list[str] = []
    for word in words[2:]:
        low = word.lower()
        if low in ("on", "off"):
            on = low == "on"
        elif low == "nopass":
            nopass, passwords = True, set()
        elif low == "resetpass":
            nopass, passwords = False, set()
        elif word.startswith("#"):
            passwords.add(low)
        elif low in ("allkeys", "resetkeys") or word.startswith(("~", "%")):
            keys = [] if low == "resetkeys" else keys + ["~*" if low == "allkeys" else word]
        elif low in ("allchannels", "resetchannels") or word.startswith("&"):
            channels = [] if low == "resetchannels" else \
                channels + ["&*" if low == "allchannels" else word]
        elif low in ("allcommands", "nocommands") or word.startswith(("+", "-")):
            commands.append({"allcommands": "+@all", "nocommands": "-@all"}.get(low, low))
        elif low != "sanitize-payload":
            commands.append(low)            # another flag or a selector: kept as written
    return name, {"on": on, "nopass": nopass, "passwords": frozenset(passwords),
                  "keys": tuple(sorted(keys)), "channels": tuple(sorted(channels)),
                  "commands": tuple(commands)}


def acl_mismatches(live: list[str], intended: list[str], commands: bool = True,
                   passwords: bool = True) -> list[Mismatch]:
    """``ACL LIST`` against users.acl: every user, whether it is on, its password (never
    shown: "users.acl's" or "another"; not compared against a placeholder build), keys,
    channels and, when the server reports them as written, its command rules; a user
    users.acl lacks is drift too (``ACL SETUSER``)."""
    have = dict(acl_user(line) for line in live if line.startswith("user "))
    want = dict(acl_user(line) for line in intended if line.startswith("user "))
    out: list[Mismatch] = []
    for name in sorted(set(have) | set(want)):
        if name not in have:
            out.append((f"acl user {name}", "in users.acl", "(missing)"))
            continue
        if name not in want:
            out.append((f"acl user {name}", "(not in users.acl)", "on" if have[name]["on"]
                        else "off"))
            continue
        got, wanted = have[name], want[name]
        if got["on"] != wanted["on"]:
            out.append((f"acl user {name}.on", str(wanted["on"]).lower(),
                        str(got["on"]).lower()))
        if not passwords:
            got = {**got, "passwords": wanted["passwords"]}
        if (got["passwords"], got["nopass"]) != (wanted["passwords"], wanted["nopass"]):
            out.append((f"acl user {name}.password", "nopass" if wanted["nopass"] else
                        "users.acl's", "nopass" if got["nopass"] else
                        "another" if got["passwords"] else "none"))
        fields = ("keys", "channels", "commands") if commands else ("keys", "channels")
        for field in fields:
            if got[field] != wanted[field]:
                out.append((f"acl user {name}.{field}", " ".join(wanted[field]) or "(none)",
                            " ".join(got[field]) or "(none)"))
    return out


class ValkeyServer(RedisServer):
    """A running valkey-server (8.1 by default); the same harness as Redis's."""

    daemon = "valkey"
    program = programs.VALKEY_SERVER
