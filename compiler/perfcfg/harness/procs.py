"""Process plumbing shared by every daemon handle: scratch dirs, service user, ports, teardown.

Daemons run as **foreground children in their own session**; PostgreSQL backends (``setsid``)
and supervisor programs (``setpgrp``) leave that process group, so teardown kills by the PIDs
recorded before the stop rather than by group (tests/test_harness_teardown.py).

>>> d = scratch_dir("pf-doc-")
>>> len(d) < 40 and d.startswith("/tmp/pf-doc-")
True
>>> remove_dir(d)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pickle
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr, TypedDict, TypeVar

from perfcfg.harness.errors import DaemonError

LOG_TAIL_LINES = 30
T = TypeVar("T")
H = TypeVar("H", bound="Handle")
R = TypeVar("R")


class Drop(TypedDict, total=False):
    """The keywords of subprocess.Popen that start a child as another account."""

    user: int
    group: int | None
    extra_groups: list[int]


@dataclass(frozen=True)
class Account:
    """Who a child runs as; ``uid is None`` means "as ourselves" (not root)."""

    uid: int | None
    gid: int | None

    def popen_kwargs(self) -> Drop:
        if self.uid is None:
            return {}
        # extra_groups=[] drops root's supplementary groups; Popen keeps our rlimits
        # (runuser/PAM would reset nofile to 1024).
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def service_account(name: str) -> Account:
    """The account to drop to when we are root (``name``: a daemon that refuses to run as
    root names its own); ourselves otherwise."""
    if os.geteuid() != 0:
        return Account(None, None)
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise DaemonError(name, f"system user {name!r} is missing (useradd --system {name})") from exc
    return Account(entry.pw_uid, entry.pw_gid)


def scratch_dir(prefix: str, owner: Account | None = None) -> str:
    """A short private dir under /tmp (unix-socket paths must stay under 107 bytes)."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    if owner is not None and owner.uid is not None:
        os.chown(path, owner.uid, owner.gid if owner.gid is not None else -1)
    return path


def write_file(path: str | Path, text: str, owner: Account | None = None, mode: int = 0o600) -> str:
    p = Path(path)
    p.write_text(text, encoding="utf-8", newline="")
    os.chmod(p, mode)
    if owner is not None and owner.uid is not None:
        os.chown(p, owner.uid, owner.gid if owner.gid is not None else -1)
    return str(p)


def remove_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    """A loopback port that was free a moment ago; callers retry when it was taken since."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# How many free ports a daemon is tried on before its start counts as failed.
PORT_RETRIES = 5


def start_on_free_port(daemon: str, spawn: Callable[[int], subprocess.Popen[bytes]],
                       probe: Callable[[], object | None], logs: Sequence[str], timeout: float,
                       busy: str, again: Callable[[subprocess.Popen[bytes]], object] | None = None
                       ) -> None:
    """Start a daemon with ``spawn(port)`` on a free loopback port and wait until ``probe``
    answers; when another process took the port between ``free_port()`` and the daemon's bind
    (the log tail says ``busy``), ``again(proc)`` tidies up and the next port is tried."""
    for attempt in range(PORT_RETRIES):
        proc = spawn(free_port())
        try:
            wait_ready(daemon, proc, probe, logs, timeout)
            return
        except DaemonError as err:
            if busy not in err.log_tail or attempt == PORT_RETRIES - 1:
                raise
            if again is not None:
                again(proc)


# Resource limits the children spawned now start with (resource.RLIMIT_* → value), set by
# ``limits()``; empty: they inherit ours.
_CHILD_LIMITS: dict[int, int] = {}
# What else a unit gives the children spawned now: "cgroup" → the cgroup.procs file they join
# before they exec, "oom" → their OOM score, "env" → variables added to ours.
_CHILD_UNIT: dict[str, Any] = {}
OOM_SCORE_FILE = "/proc/self/oom_score_adj"


@contextlib.contextmanager
def limits(nofile: int | None = None, nproc: int | None = None,
           memlock: int | None = None, cgroup: str | None = None,
           oom_score_adj: int | None = None,
           environment: Mapping[str, str] | None = None) -> Iterator[None]:
    """Daemons started inside run with these limits, soft and hard alike, as under a systemd
    unit's ``LimitNOFILE=``/``LimitNPROC=``/``LimitMEMLOCK=`` (we keep our own); in the
    cgroup whose ``cgroup.procs`` is ``cgroup`` (``harness.cgroup``: its ``MemoryMax=``); with
    the unit's ``OOMScoreAdjust=`` and ``Environment=``."""
    import resource

    wanted = {k: v for k, v in ((resource.RLIMIT_NOFILE, nofile),
                                (resource.RLIMIT_NPROC, nproc),
                                (resource.RLIMIT_MEMLOCK, memlock)) if v is not None}
    saved, saved_unit = dict(_CHILD_LIMITS), dict(_CHILD_UNIT)
    _CHILD_LIMITS.update(wanted)
    _CHILD_UNIT.update({k: v for k, v in (("cgroup", cgroup), ("oom", oom_score_adj),
                                          ("env", environment)) if v is not None})
    try:
        yield
    finally:
        _CHILD_LIMITS.clear()
        _CHILD_LIMITS.update(saved)
        _CHILD_UNIT.clear()
        _CHILD_UNIT.update(saved_unit)


# capabilities(7): lowering an OOM score below 0 takes CAP_SYS_RESOURCE.
CAP_SYS_RESOURCE = 24


def can_lower_oom_score() -> bool:
    """Whether this process may give a child a negative ``OOMScoreAdjust`` (containers often
    drop CAP_SYS_RESOURCE even for root)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1)
    return False


@contextlib.contextmanager
def _oom_score(value: int | None) -> Iterator[None]:
    """Ours set to ``value`` while a child is forked, which inherits it: lowering a score
    takes CAP_SYS_RESOURCE, which the child no longer has once it dropped to its account
    (Popen drops before preexec_fn runs). Raising ours back is always allowed."""
    if value is None:
        yield
        return
    with open(OOM_SCORE_FILE, encoding="ascii") as f:
        before = f.read().strip()
    with open(OOM_SCORE_FILE, "w", encoding="ascii") as f:
        f.write(str(value))
    try:
        yield
    finally:
        with open(OOM_SCORE_FILE, "w", encoding="ascii") as f:
            f.write(before)


def _set_limits(wanted: dict[int, int], cgroup: str = "") -> Callable[[], None] | None:
    if not wanted and not cgroup:
        return None

    def apply() -> None:   # in the child, before exec
        import resource

        for kind, value in wanted.items():
            resource.setrlimit(kind, (value, value))
        if cgroup:
            # before exec: everything the daemon allocates and forks is counted there
            with open(cgroup, "w", encoding="ascii") as f:
                f.write(str(os.getpid()))
    return apply


def spawn(argv: Sequence[str], log_path: str, account: Account | None = None,
          cwd: str | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start a foreground child in its own session, stdout+stderr into ``log_path``."""
    extra = _CHILD_UNIT.get("env")
    if extra:
        env = {**(os.environ if env is None else env), **extra}
    cgroup = _CHILD_UNIT.get("cgroup", "")
    if cgroup and account is not None and account.uid is not None:
        # the child joins after it dropped to its account: it may write its own pid there
        os.chown(cgroup, account.uid, -1)
    with open(log_path, "ab") as log, _oom_score(_CHILD_UNIT.get("oom")):
        if account is not None and account.uid is not None:
            os.chown(log_path, account.uid, account.gid if account.gid is not None else -1)
        return subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=cwd, env=env, start_new_session=True, close_fds=True,
            preexec_fn=_set_limits(dict(_CHILD_LIMITS), cgroup),
            **(account.popen_kwargs() if account else {}),
        )


def run(argv: Sequence[str], account: Account | None = None, cwd: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          check=False,
                          stdin=subprocess.DEVNULL, **(account.popen_kwargs() if account else {}))


def tail(*paths: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of each existing log (globs allowed), so errors quote the daemon itself."""
    chunks = []
    expanded = [p for pattern in paths
                for p in (sorted(glob.glob(pattern)) if "*" in pattern else [pattern])]
    for path in expanded:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if text.strip():
            chunks.append("\n".join(text.rstrip("\n").splitlines()[-lines:]))
    return "\n".join(chunks)


# -- process tree -------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, starttime) from /proc; starttime guards against PID reuse."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of ``root`` as ``{pid: starttime}``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append((int(entry), st[1]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            if pid not in found:
                found[pid] = start
                todo.append(pid)
    return found


def alive(pid: int, starttime: int | None = None) -> bool:
    """True if ``pid`` runs and is not a zombie (and is the same process, if starttime given)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    rest = raw[raw.rindex(")") + 2:].split()
    if rest[0] == "Z":
        return False
    return starttime is None or int(rest[19]) == starttime


def stop_tree(proc: subprocess.Popen[AnyStr], polite: signal.Signals, grace: float = 10.0) -> None:
    """Polite signal, wait, SIGKILL, then SIGKILL every descendant recorded before the stop."""
    family = descendants(proc.pid) if proc.poll() is None else {}
    if proc.poll() is None:
        try:
            proc.send_signal(polite)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
    _kill_leftovers(family, grace)


def _kill_leftovers(family: dict[int, int], grace: float) -> None:
    for pid, start in family.items():
        if alive(pid, start):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while any(alive(pid, start) for pid, start in family.items()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)


def wait_ready(daemon: str, proc: subprocess.Popen[bytes], probe: Callable[[], T | None],
               logs: Sequence[str], timeout: float) -> T:
    """Poll ``probe`` until it returns non-None; raise with the log tail if the child exits."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        code = proc.poll()
        if code is not None:
            raise DaemonError(daemon, f"exited with code {code} before it was ready",
                              tail(*logs), code)
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise DaemonError(daemon, f"not ready after {timeout:g}s", tail(*logs))
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class Handle:
    """What every daemon handle shares: a foreground child in a scratch dir, stopped with
    ``stop_signal``, its whole process tree killed, the dir removed; usable with ``with``.

    Subclasses set ``daemon`` and ``stop_signal`` and implement ``_launch()`` (which makes
    ``self.dir``, writes the files and starts ``self.proc``); ``start()`` stops whatever was
    begun when that fails, so a failed start leaves no process and no scratch dir."""

    daemon = ""
    stop_signal = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None
    dir = ""

    def _launch(self) -> None:  # pragma: no cover - every handle defines its own
        raise NotImplementedError

    def start(self: H) -> H:
        try:
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> list[int]:
        """The daemon and every process below it (children may leave its process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid, *descendants(self.proc.pid)]

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc, self.stop_signal)
        if self.dir:
            remove_dir(self.dir)

    def __enter__(self: H) -> H:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_as(user: str, func: Callable[[], R]) -> R:
    """``func()`` in a child process running as ``user`` (PostgreSQL's peer authentication
    lets only the postgres OS user in as postgres); its result comes back pickled."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child
        os.close(read)
        code = 0
        try:
            entry = pwd.getpwnam(user)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            payload = pickle.dumps(("ok", func()))
        except BaseException as exc:   # noqa: BLE001 - carried to the parent
            payload, code = pickle.dumps(("error", f"{type(exc).__name__}: {exc}")), 1
        with os.fdopen(write, "wb") as fh:
            fh.write(payload)
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "error":
        raise ConnectionError(value)
    result: R = value
    return result
