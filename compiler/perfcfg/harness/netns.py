"""Several hosts on this machine: a network namespace per host on a bridge of its own.

A ``Lab`` makes N hosts, each a network namespace with its own address on a private bridge
(standard ports on every host, as on real machines), runs programs inside them as a given
user, cuts and restores a host's link, and removes everything it made — processes,
namespaces, veths, the bridge, the scratch dir — on exit, on failure and on
SIGINT/SIGTERM/SIGHUP.
Creating namespaces needs root; without it ``Lab`` raises ``LabError`` saying so.

Every name it makes carries ``pcf`` and a random tag (bridge ``pcf3fa9c1b``, namespaces
``pcf-3fa9c1-db1``, veths ``pcf3fa9c1h1o``/``…i``), and before it makes anything it writes a
state file under ``/run/perfcfg-lab/`` listing those names with its own pid. ``sweep()``
removes what a killed run left, and only that: the labs whose state file names an owner that
no longer runs, and only the names that file lists (``python -m perfcfg.harness.netns sweep``).

Addresses come from 198.18.0.0/15, the range set aside for network test beds, one /24 per lab
that no interface or route of this machine uses (picked under a lock, so that concurrent labs
differ): the bridge is ``.1`` in the root namespace, hosts ``.11``, ``.12``, … in order, so the
test process reaches every host directly.

>>> subnet_of(3)
'198.18.3'
>>> names("3fa9c1", ["db1", "app1"])["veths"]
[['pcf3fa9c1h0o', 'pcf3fa9c1h0i'], ['pcf3fa9c1h1o', 'pcf3fa9c1h1i']]
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from perfcfg.harness import procs
from perfcfg.harness.errors import DaemonError

if TYPE_CHECKING:
    from typing_extensions import Self

STATE_DIR = "/run/perfcfg-lab"
PREFIX = "pcf"
# 198.18.0.0/15 (RFC 2544: benchmarking) as 512 /24s; the lab takes the first free one.
SUBNETS = [f"198.{18 + i // 256}.{i % 256}" for i in range(512)]
HOST_OFFSET = 11
T = TypeVar("T")
STOP_GRACE = 10.0
# What a program in a host starts with: the system's programs, not this user's own PATH (a
# dropped user cannot read root's, e.g. a pyenv shim).
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8"}
HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,14}$")


class LabError(RuntimeError):
    """The lab could not be made (not root, a tool missing, no free subnet) or a command in a
    host failed; the message says which and what to do."""


def subnet_of(index: int) -> str:
    """The first three octets of the ``index``-th /24 the lab may use."""
    return SUBNETS[index]


def names(tag: str, hosts: Sequence[str]) -> dict[str, Any]:
    """Every name a lab with ``tag`` makes, for ``create`` and ``sweep`` alike."""
    return {
        "bridge": f"{PREFIX}{tag}b",
        "namespaces": [f"{PREFIX}-{tag}-{h}" for h in hosts],
        "veths": [[f"{PREFIX}{tag}h{i}o", f"{PREFIX}{tag}h{i}i"] for i in range(len(hosts))],
        "dir": f"/tmp/pf-lab-{tag}",
    }


@dataclass
class Host:
    """One host of a lab: its namespace, address, link (the veth's bridge end) and dir."""

    name: str
    ns: str
    address: str
    outer: str
    inner: str
    dir: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)
    if check and done.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _used_subnets() -> set[str]:
    """The /24 prefixes this machine's root namespace already has an address or route in."""
    text = _ip("-4", "addr", "show").stdout + _ip("-4", "route", "show", "table", "all").stdout
    return {m.group(1) for m in re.finditer(r"\b(\d+\.\d+\.\d+)\.\d+", text)}


def _proc_start(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[19])


def _owner_alive(state: Mapping[str, Any]) -> bool:
    return _proc_start(int(state["pid"])) == state.get("start")


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    os.makedirs(STATE_DIR, mode=0o755, exist_ok=True)
    with open(f"{STATE_DIR}/.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _states() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(Path(STATE_DIR).glob(f"{PREFIX}*.json")):
        try:
            out.append((str(path), json.loads(path.read_text())))
        except (OSError, ValueError):
            continue
    return out


def require_root() -> None:
    """Raise ``LabError`` unless this process may make namespaces and has the tools."""
    if os.geteuid() != 0:
        raise LabError("the multi-host lab makes network namespaces, which needs root "
                       "(run as root, e.g. in CI or a throwaway VM)")
    lacking = [t for t in ("ip", "setpriv") if shutil.which(t) is None]
    if lacking:
        raise LabError(f"the multi-host lab needs {', '.join(lacking)} "
                       "(Debian: iproute2, util-linux; .ci/install.sh installs them)")


def ns_pids(ns: str) -> list[int]:
    """Every process whose network namespace is ``ns``."""
    done = _ip("netns", "pids", ns, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def _kill_namespace(ns: str, grace: float) -> None:
    deadline = time.monotonic() + grace
    while True:
        pids = ns_pids(ns)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _links() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)", _ip("link", "show").stdout,
                                            re.M)}


def existing(state: Mapping[str, Any]) -> list[str]:
    """What of a lab's listed names still exists: namespaces, links, its dir."""
    spaces = set(_ip("netns", "list", check=False).stdout.split())
    links = _links()
    found = [f"netns {ns}" for ns in state["namespaces"] if ns in spaces]
    found += [f"link {n}" for n in [state["bridge"], *(o for o, _ in state["veths"])]
              if n in links]
    return found + ([f"dir {state['dir']}"] if os.path.exists(state["dir"]) else [])


def _remove(state: Mapping[str, Any]) -> list[str]:
    """Remove what ``state`` lists (processes in its namespaces first); what was there."""
    removed = []
    existing = set(_ip("netns", "list", check=False).stdout.split())
    for ns in state["namespaces"]:
        if ns in existing:
            _kill_namespace(ns, STOP_GRACE)
            _ip("netns", "del", ns, check=False)
            removed.append(f"netns {ns}")
    links = _links()
    for outer, _inner in state["veths"]:
        if outer in links:
            _ip("link", "del", outer, check=False)
            removed.append(f"link {outer}")
    if state["bridge"] in links:
        _ip("link", "del", state["bridge"], check=False)
        removed.append(f"link {state['bridge']}")
    if os.path.isdir(state["dir"]):
        shutil.rmtree(state["dir"], ignore_errors=True)
        removed.append(f"dir {state['dir']}")
    return removed


def sweep() -> list[str]:
    """Remove every lab whose owner no longer runs (a killed run); what was removed."""
    if not os.path.isdir(STATE_DIR):
        return []
    removed: list[str] = []
    with _state_lock():
        for path, state in _states():
            if _owner_alive(state):
                continue
            removed += _remove(state)
            with contextlib.suppress(OSError):
                os.unlink(path)
    return removed


class Lab:
    """N hosts on a private bridge; a context manager that removes all of it on exit.

    >>> with Lab(["db1", "db2"]) as lab:  # doctest: +SKIP
    ...     lab.exec("db1", ["ping", "-c1", lab.hosts["db2"].address]).returncode
    0
    """

    def __init__(self, hosts: Sequence[str]) -> None:
        bad = [h for h in hosts if not HOST_NAME.match(h)]
        if bad or len(set(hosts)) != len(hosts) or not hosts:
            raise LabError(f"host names must be distinct, lower-case, ≤ 15 characters: {bad}")
        self.host_names = list(hosts)
        self.tag = ""
        self.hosts: dict[str, Host] = {}
        self.state: dict[str, Any] = {}
        self.state_path = ""
        self.subnet = ""
        self._saved_handlers: dict[int, Any] = {}
        self._started: list[subprocess.Popen[bytes]] = []
        self._closed = True

    # -- making it ---------------------------------------------------------------------------
    def create(self) -> Lab:
        require_root()
        sweep()
        self.tag = secrets.token_hex(3)
        planned = names(self.tag, self.host_names)
        with _state_lock():
            taken = _used_subnets() | {s.get("subnet", "") for _p, s in _states()}
            free = [s for s in SUBNETS if s not in taken]
            if not free:
                raise LabError("no free /24 left in 198.18.0.0/15 for the lab's bridge")
            self.subnet = free[0]
            self.state = {"pid": os.getpid(), "start": _proc_start(os.getpid()),
                          "subnet": self.subnet, "hosts": self.host_names, **planned}
            self.state_path = f"{STATE_DIR}/{PREFIX}{self.tag}.json"
            Path(self.state_path).write_text(json.dumps(self.state, indent=1))
        self._closed = False
        try:
            self._build(planned)
        except BaseException:
            self.close()
            raise
        return self

    def _build(self, planned: Mapping[str, Any]) -> None:
        os.makedirs(planned["dir"], mode=0o755)
        os.chmod(planned["dir"], 0o755)
        bridge = planned["bridge"]
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{self.subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i, name in enumerate(self.host_names):
            ns = planned["namespaces"][i]
            outer, inner = planned["veths"][i]
            address = f"{self.subnet}.{HOST_OFFSET + i}"
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", outer, "master", bridge)
            _ip("link", "set", outer, "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            host_dir = os.path.join(planned["dir"], name)
            os.makedirs(host_dir, mode=0o755)
            os.chmod(host_dir, 0o755)
            self.hosts[name] = Host(name, ns, address, outer, inner, host_dir)

    # -- using it ----------------------------------------------------------------------------
    def _argv(self, host: str, argv: Sequence[str], user: str | None) -> list[str]:
        drop = [] if user is None else [
            "setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
        return ["ip", "netns", "exec", self.hosts[host].ns, *drop, *argv]

    def spawn(self, host: str, argv: Sequence[str], log: str, user: str | None = None,
              env: Mapping[str, str] | None = None, cwd: str | None = None
              ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in ``host`` as ``user`` (None: root), in its own session, output into
        ``log``; ``ip netns exec`` and ``setpriv`` both exec, so the pid is the program's."""
        full_env = {**BASE_ENV, **(env or {})}
        proc = procs.spawn(self._argv(host, argv, user), log, cwd=cwd or self.hosts[host].dir,
                           env=full_env)
        self.hosts[host].procs.append(proc)
        self._started.append(proc)
        return proc

    def exec(self, host: str, argv: Sequence[str], user: str | None = None,
             timeout: float = 60, env: Mapping[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        """Run a short command in ``host`` and wait for it (output captured as text)."""
        full_env = {**BASE_ENV, **(env or {})}
        return subprocess.run(self._argv(host, argv, user), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=full_env,
                              cwd=self.hosts[host].dir, check=False)

    def cut(self, host: str) -> None:
        """Pull ``host``'s cable: its bridge end goes down; it keeps its address and
        processes, and its packets go nowhere (as on a real partition, not an instant
        "network unreachable")."""
        _ip("link", "set", self.hosts[host].outer, "down")

    def restore(self, host: str) -> None:
        _ip("link", "set", self.hosts[host].outer, "up")

    def mkdir(self, host: str, name: str, user: str | None = None, mode: int = 0o700) -> str:
        """A directory in ``host``'s scratch dir owned by ``user``."""
        path = self.hosts[host].path(name)
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)
        if user is not None:
            shutil.chown(path, user, user)
        return path

    # -- removing it -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every process (politely, then by force), then remove namespaces, veths, the
        bridge, the scratch dir and the state file; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        held = _hold_signals()
        try:
            # Last started, first stopped: a program stops before the ones it depends on (a
            # Patroni member still deletes its leader key from etcd as it stops).
            for proc in reversed(self._started):
                if proc.poll() is None:
                    procs.stop_tree(proc, signal.SIGTERM, grace=STOP_GRACE)
            if self.state:
                _remove(self.state)
            if self.state_path:
                with contextlib.suppress(OSError):
                    os.unlink(self.state_path)
        finally:
            _release_signals(held)

    def leftovers(self) -> list[str]:
        """What this lab made that still exists (empty once it is closed)."""
        return existing(self.state) if self.state else []

    def __enter__(self) -> Lab:
        self._saved_handlers = _raise_on_terminate()
        try:
            return self.create()
        except BaseException:
            _restore_handlers(self._saved_handlers)
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            _restore_handlers(self._saved_handlers)


class HostDaemon:
    """One program in one host of a lab, from a config text: what every lab daemon shares.

    Subclasses set ``daemon`` (for messages), ``user`` (None: root), ``stop_signal``, and
    implement ``prepare()`` (write the files into ``self.dir``), ``argv()`` and ``probe()``
    (non-None once the program serves). ``start()`` waits for ``probe``; a start that fails
    raises ``DaemonError`` with the program's own last words. The lab stops whatever is still
    running when it closes; ``stop()`` and ``kill()`` end one program earlier."""

    daemon = ""
    user: str | None = None
    stop_signal = signal.SIGTERM
    start_timeout = 60.0

    def __init__(self, lab: Lab, host: str, name: str | None = None) -> None:
        """``name``: the scratch dir's, when a host runs more than one of this daemon."""
        self.lab = lab
        self.host = lab.hosts[host]
        self.dir = lab.mkdir(host, name or self.daemon, self.user, mode=0o700)
        self.log = os.path.join(self.dir, f"{self.daemon}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return self.host.address

    def prepare(self) -> None:
        """Write the program's files into ``self.dir`` (owned by ``self.user``)."""

    def argv(self) -> list[str]:  # pragma: no cover - every daemon defines its own
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {"HOME": self.dir}

    def probe(self) -> object | None:  # pragma: no cover - every daemon defines its own
        raise NotImplementedError

    def write(self, name: str, text: str, mode: int = 0o600) -> str:
        path = os.path.join(self.dir, name)
        Path(path).write_text(text, encoding="utf-8", newline="")
        os.chmod(path, mode)
        if self.user is not None:
            shutil.chown(path, self.user, self.user)
        return path

    def launch(self) -> Self:
        """Start without waiting (members of a cluster that is ready only once all are up)."""
        self.prepare()
        Path(self.log).touch()
        if self.user is not None:
            shutil.chown(self.log, self.user, self.user)
        self.proc = self.lab.spawn(self.host.name, self.argv(), self.log, user=self.user,
                                   env=self.env(), cwd=self.dir)
        return self

    def wait_ready(self, timeout: float | None = None) -> Self:
        assert self.proc is not None, "launch() first"
        procs.wait_ready(f"{self.daemon} on {self.host.name}", self.proc, self.probe,
                         [self.log], self.start_timeout if timeout is None else timeout)
        return self

    def start(self, timeout: float | None = None) -> Self:
        return self.launch().wait_ready(timeout)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop_tree(self.proc, self.stop_signal, grace=STOP_GRACE)

    def kill(self) -> None:
        if self.proc is not None:
            procs.stop_tree(self.proc, signal.SIGKILL, grace=STOP_GRACE)

    def tail(self) -> str:
        return procs.tail(self.log)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float,
             interval: float = 0.2, state: Callable[[], object] | None = None) -> T:
    """Poll ``probe`` until it returns non-None; ``LabError`` naming ``what`` on time-out,
    with what ``state()`` says then (what was seen instead)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            seen = f"; seen: {state()}" if state is not None else ""
            raise LabError(f"{what}: not reached within {timeout:g}s{seen}")
        time.sleep(interval)


def program(name: str) -> str:
    """The absolute path of an installed program, or ``DaemonError`` saying how to get it."""
    path = shutil.which(name, path=BASE_ENV["PATH"])
    if path is None:
        raise DaemonError(name, f"{name} is not installed (run .ci/install.sh)")
    return path


def tcp_open(address: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


class Terminated(SystemExit):
    """SIGTERM/SIGHUP arrived: unwinds like Ctrl-C so every ``with Lab`` removes its hosts."""


def _on_terminate(signum: int, _frame: object) -> None:
    raise Terminated(128 + signum)


def _raise_on_terminate() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise (SIGINT already does), in the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    saved: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, None):
            saved[sig] = signal.signal(sig, _on_terminate)
    return saved


def _restore_handlers(saved: Mapping[int, Any]) -> None:
    for sig, handler in saved.items():
        signal.signal(sig, handler)


_pending: list[int] = []


def _hold_signals() -> dict[int, Any]:
    """While the lab is removed, a second Ctrl-C or SIGTERM waits for the removal to end."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda s, _f: _pending.append(s))
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}


def _release_signals(held: Mapping[int, Any]) -> None:
    _restore_handlers(held)
    if _pending:
        sig = _pending.pop()
        _pending.clear()
        os.kill(os.getpid(), sig)


def main(argv: Sequence[str]) -> int:
    """``python -m perfcfg.harness.netns sweep``: remove what killed labs left."""
    if list(argv) != ["sweep"]:
        print("usage: python -m perfcfg.harness.netns sweep")
        return 2
    try:
        require_root()
    except LabError as err:
        print(f"netns: {err}")
        return 1
    for line in sweep():
        print(f"removed {line}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
