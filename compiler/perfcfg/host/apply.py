"""``perfcfg apply --env E``: deploy one environment on this host, as root, in the one order
that works.

1. Check what perfcfg does not make: the owners of the files and the programs' users exist,
   and each daemon's own prerequisites (``Control.missing``: PostgreSQL's cluster, the
   supervisor package's supervisord.conf). Anything missing stops the run before it changes
   anything, with the command that makes it.
2. Create the directories the files name (log, pid, socket, data and working directories),
   owned by who uses them.
3. Install every file of the manifest whose bytes, owner, group or mode differ (written next
   to its destination, then renamed over it; its SHA-256 read back), ``systemctl
   daemon-reload`` after a drop-in, ``sysctl --system`` after the sysctl.d file.
4. The daemons, each as its action says (start one that is not running): PostgreSQL, then
   roles.sql (its roles must exist before pgbouncer logs in as them), pgbouncer, Redis,
   supervisor (the workers connect to all three). A started daemon is waited for.
5. ``verify --live`` of what runs against what the environment compiles to.

The actions are the ones ``build`` prints, judged against the files installed now (and, for
roles.sql, which is run and not placed, the copy the last apply kept in
``/var/lib/perfcfg/<project>/<env>/``), so a second run finds nothing to do. ``--dry-run``
prints the steps and changes nothing. A failed step stops the run: what was done, what
failed, and what to run next.

>>> _mode(0o100640)
'0640'
"""

from __future__ import annotations

import functools
import grp
import hashlib
import os
import pwd
import shlex
import signal as signals
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfcfg.services.control import (
    Call,
    Cmd,
    Control,
    Directory,
    Runtime,
    Signal,
    pid_alive,
    systemd_running,
)

if TYPE_CHECKING:
    from perfcfg.services.actions import Action
    from perfcfg.services.base import Service
    from perfcfg.stages.pipeline import Result

STATE_ROOT = "/var/lib/perfcfg"
READY_TIMEOUT = 60.0      # seconds a started daemon may take to serve
STOP_TIMEOUT = 300.0      # seconds a stopping daemon may take (supervisord waits on programs)


@dataclass
class Step:
    """One thing apply does: a line for people (``title``), the commands it amounts to
    (``shown``: what a person would run instead) and what does it."""

    title: str
    shown: list[str]
    run: Callable[[], None]


@dataclass
class Applied:
    """What a run found and did."""

    missing: list[str] = field(default_factory=list)     # prerequisites perfcfg does not make
    steps: list[Step] = field(default_factory=list)
    done: list[Step] = field(default_factory=list)
    failed: Step | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)


class StepError(Exception):
    """A step that could not be done; the message says what the host answered."""


# -- what is there ---------------------------------------------------------------------------

def _mode(st_mode: int) -> str:
    return f"0{st_mode & 0o7777:o}"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _installed(path: str, data: bytes, owner: str, group: str, mode: str) -> bool:
    """Whether ``path`` already holds ``data`` with that owner, group and mode."""
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            same = hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(data).hexdigest()
        return same and _mode(st.st_mode) == mode and \
            pwd.getpwuid(st.st_uid).pw_name == owner and grp.getgrgid(st.st_gid).gr_name == group
    except (OSError, KeyError):
        return False


def _exists(kind: Callable[[str], Any], name: str) -> bool:
    try:
        kind(name)
        return True
    except KeyError:
        return False


# -- doing -------------------------------------------------------------------------------------

def _ids(owner: str, group: str) -> tuple[int, int]:
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def install(path: str, data: bytes, owner: str, group: str, mode: str, sha256: str) -> None:
    """Write ``data`` next to ``path``, give it its owner and mode, rename it over ``path``,
    then read it back and check its SHA-256 against the manifest's."""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StepError(f"{path}: the compiled file does not match its manifest entry")
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    temp = os.path.join(directory, f".{os.path.basename(path)}.perfcfg-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chown(temp, *_ids(owner, group))
        os.chmod(temp, int(mode, 8))
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    back = _read(path)
    if back is None or hashlib.sha256(back).hexdigest() != sha256:
        raise StepError(f"{path}: what was written reads back with another SHA-256")


def make_directory(d: Directory) -> None:
    os.makedirs(d.path, exist_ok=True)
    os.chown(d.path, *_ids(d.owner, d.group))
    os.chmod(d.path, d.mode)


def run_command(cmd: Cmd, stdin: bytes | None = None) -> None:
    """Run ``cmd`` (as its user); a detached one is started in its own session and left."""
    kwargs: dict[str, Any] = {}
    if cmd.user:
        entry = pwd.getpwnam(cmd.user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [],
                  "cwd": "/"}
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8",
           **({"HOME": pwd.getpwnam(cmd.user).pw_dir, "USER": cmd.user} if cmd.user else {}),
           **cmd.env}
    if cmd.detach:
        log = open(cmd.log or os.devnull, "ab")   # noqa: SIM115 - handed to the child
        try:
            subprocess.Popen(list(cmd.argv), stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True, env=env,
                             close_fds=True, **kwargs)
        finally:
            log.close()
        return
    done = subprocess.run(list(cmd.argv), input=stdin, capture_output=True, env=env,
                          timeout=STOP_TIMEOUT, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL, **kwargs)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        raise StepError(f"exit {done.returncode}" + (f": {said[-1]}" if said else ""))


def send_signal(sig: Signal) -> None:
    pid = pid_alive(sig.pidfile)
    if pid is None:
        if sig.wait:
            return           # already stopped
        raise StepError(f"no running process in {sig.pidfile}")
    os.kill(pid, getattr(signals, f"SIG{sig.signal}"))
    if sig.wait:
        deadline = time.monotonic() + STOP_TIMEOUT
        while os.path.exists(f"/proc/{pid}") and pid_alive(sig.pidfile) == pid:
            if time.monotonic() > deadline:
                raise StepError(f"pid {pid} still runs {STOP_TIMEOUT:g} s after SIG{sig.signal}")
            time.sleep(0.05)


def do(step: Cmd | Signal | Call) -> None:
    if isinstance(step, Cmd):
        run_command(step)
    elif isinstance(step, Signal):
        send_signal(step)
    else:
        step.run()


# Words a daemon's log line starts its error with (PostgreSQL, pgbouncer, Redis, supervisor).
ERROR_WORDS = ("FATAL", "ERROR", "PANIC", "CRIT", "# ")


def last_error(log: str | None, tail: int = 64 * 1024) -> str:
    """The last error line of a daemon's log (its own reason for not starting), or ""."""
    if not log:
        return ""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, os.path.getsize(log) - tail))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    found = [line.strip() for line in lines if any(w in line for w in ERROR_WORDS)]
    return found[-1] if found else ""


def wait_ready(control: Control, rt: Runtime, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        waiting = f"a process in {control.pidfile(rt)}" \
            if pid_alive(control.pidfile(rt)) is None else control.ready(rt)
        if waiting is None:
            return
        if time.monotonic() > deadline:
            raise StepError(f"{name} not ready after {READY_TIMEOUT:g} s: waiting for {waiting}")
        time.sleep(0.2)


# -- planning --------------------------------------------------------------------------------

def state_dir(project: str, env: str) -> str:
    return f"{STATE_ROOT}/{project}/{env}"


def _entries(result: Result) -> dict[str, dict[str, Any]]:
    import json

    return dict(json.loads(result.files["manifest.json"])["files"])


def _runtime(result: Result, resolve: Callable[[str], str]) -> Runtime:
    assert result.plan is not None and result.config is not None
    destinations = {n: e["destination"] for n, e in _entries(result).items() if e["destination"]}
    return Runtime(result.plan, result.config, destinations, result.files, resolve)


def _controlled() -> list[tuple[Service, Control]]:
    """Each service apply deploys, with its control."""
    from perfcfg.services import registry

    return [(s, s.control) for s in registry.SERVICES if s.control is not None]


def missing(result: Result, rt: Runtime) -> list[str]:
    """What must exist before anything is changed, and is not perfcfg's to make."""
    out = []
    users = {e["owner"] for e in _entries(result).values()}
    users |= {d.owner for _, control in _controlled() for d in control.directories(rt)}
    for user in sorted(users):
        if not _exists(pwd.getpwnam, user):
            out.append(f"user {user} does not exist: useradd --system --no-create-home "
                       f"--shell /usr/sbin/nologin {user}")
    groups = {e["group"] for e in _entries(result).values()}
    for group in sorted(groups - users):
        if not _exists(grp.getgrnam, group):
            out.append(f"group {group} does not exist: groupadd --system {group}")
    for service, control in _controlled():
        found = control.missing(rt)
        if found:
            out.append(f"{service.name}: {found}")
    return out


def plan_steps(result: Result, project: str, resolve: Callable[[str], str],
               systemd: bool | None = None) -> Applied:
    """Everything this run would do, in order, judged against what is on the host now."""
    from perfcfg.stages import actions as stage

    assert result.config is not None
    systemd = systemd_running() if systemd is None else systemd
    rt = _runtime(result, resolve)
    applied = Applied(missing=missing(result, rt))
    if applied.missing:
        return applied
    entries = _entries(result)
    state = state_dir(project, result.env)
    old: dict[str, bytes | None] = {}
    for name, entry in entries.items():
        where = entry["destination"] or f"{state}/{name}"
        old[name] = _read(where) if name != "manifest.json" else None
    found = stage.actions(old, result.files, result.config.targets)
    steps = applied.steps

    seen: set[str] = set()
    for _, control in _controlled():
        for d in control.directories(rt):
            if d.path in seen or os.path.isdir(d.path):
                continue
            seen.add(d.path)
            steps.append(Step(f"make {d.path} ({d.owner}:{d.group} 0{d.mode:o})",
                              [f"install -d -o {d.owner} -g {d.group} -m 0{d.mode:o} {d.path}"],
                              functools.partial(make_directory, d)))

    units_changed = False
    for name, entry in sorted(entries.items()):
        if not entry["destination"]:
            continue
        data = result.files[name]
        dest = entry["destination"]
        if _installed(dest, data, entry["owner"], entry["group"], entry["mode"]):
            continue
        units_changed |= dest.startswith("/etc/systemd/")
        steps.append(Step(f"install {name} as {dest} ({entry['owner']}:{entry['group']} "
                          f"{entry['mode']})",
                          [f"install -o {entry['owner']} -g {entry['group']} -m "
                           f"{entry['mode']} {name} {dest}"],
                          functools.partial(install, dest, data, entry["owner"],
                                            entry["group"], entry["mode"], entry["sha256"])))
    if units_changed and systemd:
        steps.append(_command_step("systemd: daemon-reload", Cmd(("systemctl",
                                                                   "daemon-reload"))))
    host = found.get("host")
    if host is not None and host.action != "none":
        if systemd:
            steps.append(_command_step(f"host: {host.action} ({', '.join(host.because)})",
                                       Cmd(("sysctl", "--system"))))
        else:
            # a container shares its host's kernel: its settings are the host's to make
            applied.notes.append("host: sysctl --system not run without systemd (a container "
                                 "shares its host's kernel): run it on the host")
    for service, _ in _controlled():
        action = found.get(service.name)
        steps += _daemon_steps(service, action, rt, systemd)
        if action is not None and action.run:
            steps += _run_steps(service, action, rt, result, state)
    steps += _keep_state(result, state, old)
    return applied


def _command_step(title: str, cmd: Cmd) -> Step:
    return Step(title, [cmd.shown()], lambda: run_command(cmd))


def _daemon_steps(service: Service, action: Action | None, rt: Runtime, systemd: bool
                  ) -> list[Step]:
    control = service.control
    assert control is not None
    running = pid_alive(control.pidfile(rt)) is not None
    kind = action.action if action is not None else "none"
    why = f" ({', '.join(action.because)})" if action is not None and action.because else ""
    unit = control.unit(rt.targets)
    if not running:
        verb, title = "start", f"{service.name}: start (not running)"
    elif kind == "none":
        return []
    else:
        verb, title = kind, f"{service.name}: {kind}{why}"
    if verb == "reload" and control.own_reload:
        parts = control.reload(rt, action.because if action is not None else ())
    elif systemd:
        parts = [Cmd(("systemctl", verb, unit))]
    elif verb == "reload":
        parts = control.reload(rt, action.because if action is not None else ())
    elif verb == "restart":
        parts = [*control.stop(rt), *control.start(rt)]
    else:
        parts = control.start(rt)

    def run() -> None:
        try:
            for part in parts:
                do(part)
            if verb in ("start", "restart"):
                wait_ready(control, rt, service.name)
        except StepError as exc:
            said = last_error(control.log(rt))
            raise StepError(f"{exc}" + (f"; its log says: {said}" if said else "")) from None

    return [Step(title, [p.shown() for p in parts], run)]


def _run_steps(service: Service, action: Action, rt: Runtime, result: Result, state: str
               ) -> list[Step]:
    """The files the action says to run (roles.sql), as the service runs them."""
    control = service.control
    assert control is not None and control.run is not None
    out = []
    for name in action.run:
        cmd = control.run(rt, name)

        def run(cmd: Cmd = cmd, data: bytes = result.files[name]) -> None:
            run_command(cmd, stdin=data)

        out.append(Step(f"{service.name}: run {name}", [f"{cmd.shown()} < {name}"], run))
    return out


def _keep_state(result: Result, state: str, old: Mapping[str, bytes | None]) -> list[Step]:
    """Keep what was run (roles.sql) and the manifest, for the next run to compare with."""
    kept = [n for n, e in _entries(result).items() if not e["destination"]]
    if all(old.get(n) == result.files[n] for n in kept):
        return []

    def run() -> None:
        os.makedirs(state, mode=0o700, exist_ok=True)
        for name in [*kept, "manifest.json"]:
            data = result.files[name]
            install(f"{state}/{name}", data, "root", "root", "0600",
                    hashlib.sha256(data).hexdigest())

    return [Step(f"keep {', '.join(kept)} in {state} (what the next apply compares with)",
                 [f"install -D -m 0600 {shlex.quote(n)} {state}/{n}" for n in kept], run)]


def run_steps(applied: Applied, say: Callable[[str], None]) -> Applied:
    """Do each step in order; stop at the first that fails."""
    total = len(applied.steps)
    for i, step in enumerate(applied.steps, 1):
        say(f"[{i}/{total}] {step.title}")
        try:
            step.run()
        except (StepError, OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
            applied.failed, applied.error = step, str(exc) or type(exc).__name__
            return applied
        except Exception as exc:   # a daemon client's own error (redis, psycopg): the host's
            applied.failed, applied.error = step, f"{type(exc).__name__}: {exc}"
            return applied
        applied.done.append(step)
    return applied


def live_targets(rt: Runtime) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """What ``verify --live`` reads after the steps (daemon → DSN or URL), as which OS user,
    and what it cannot read (notes)."""
    targets: dict[str, str] = {}
    users: dict[str, str] = {}
    notes: list[str] = []
    for service, control in _controlled():
        live = control.live(rt)
        if live is None:
            continue
        if live.note:
            notes.append(live.note)
            continue
        targets[service.name] = live.target
        if live.user:
            users[service.name] = live.user
    return targets, users, notes


def wait_all_ready(rt: Runtime) -> list[str]:
    """Each daemon that does not serve after READY_TIMEOUT (programs still starting after a
    reload, a server still recovering), before verify reads them."""
    late = []
    for service, control in _controlled():
        try:
            wait_ready(control, rt, service.name)
        except StepError as exc:
            late.append(str(exc))
    return late
