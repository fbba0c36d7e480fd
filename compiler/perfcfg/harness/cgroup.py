"""A memory cgroup for throwaway daemons: what a systemd unit's ``MemoryHigh=``/``MemoryMax=``
put in force, without systemd (tests and ``verify`` run where systemd is not PID 1).

The cgroup is made under the one this process runs in, on whichever hierarchy holds the memory
controller: cgroup v2 (``memory.high``, ``memory.max``) or the legacy v1 one, where systemd
applies ``MemoryMax=`` as ``memory.limit_in_bytes`` and has no counterpart for
``MemoryHigh=`` (systemd.resource-control(5)), so neither does this. Children spawned inside
:func:`perfcfg.harness.procs.limits` with ``cgroup=`` join it before they exec, so everything
they fork is counted from its first byte. :meth:`MemoryCgroup.close` kills what is left in it
(only processes started inside it can be there) and removes it.

>>> where()[0] in ("v1", "v2", None)
True
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from types import TracebackType

PREFIX = "perfcfg-"
# removal waits this long for the killed processes to leave the cgroup
CLOSE_TIMEOUT = 10.0


class CgroupError(RuntimeError):
    """No memory cgroup can be made here; the message says why."""


def _mounts() -> dict[str, str]:
    """``v2`` → the cgroup2 mount point, ``v1`` → the v1 memory controller's, when mounted."""
    out: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2":
                out.setdefault("v2", fields[4])
            elif fstype == "cgroup" and "memory" in options:
                out.setdefault("v1", fields[4])
    return out


def _own() -> dict[str, str]:
    """This process's cgroup per hierarchy: ``v2`` → its path, ``v1`` → its memory path."""
    out: dict[str, str] = {}
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "":
                out["v2"] = path
            elif "memory" in controllers.split(","):
                out["v1"] = path
    return out


def where() -> tuple[str | None, str]:
    """(hierarchy, the directory new cgroups go under), or (None, why none can be made)."""
    mounts, own = _mounts(), _own()
    if "v1" in mounts and "v1" in own:
        base = Path(mounts["v1"] + own["v1"])
        if os.access(base, os.W_OK):
            return "v1", str(base)
        return None, f"{base} (the v1 memory controller) is not writable"
    if "v2" in mounts and "v2" in own:
        base = Path(mounts["v2"] + own["v2"])
        controllers = (base / "cgroup.controllers").read_text().split()
        if "memory" not in controllers:
            return None, (f"the memory controller is not delegated to {base} "
                          f"(cgroup.controllers: {' '.join(controllers) or 'none'})")
        if not os.access(base, os.W_OK):
            return None, f"{base} is not writable"
        return "v2", str(base)
    return None, "no cgroup hierarchy with the memory controller is mounted"


class MemoryCgroup:
    """A fresh memory cgroup with the limits of a unit's ``MemoryHigh``/``MemoryMax``."""

    def __init__(self, memory_max: int, memory_high: int | None = None,
                 name: str = "daemon") -> None:
        kind, base = where()
        if kind is None:
            raise CgroupError(base)
        self.kind = kind
        self.path = Path(base) / f"{PREFIX}{name}-{os.getpid()}-{time.monotonic_ns()}"
        self.path.mkdir()
        try:
            if kind == "v2" and not (self.path / "memory.max").exists():
                raise CgroupError(f"{base} does not pass the memory controller to its children "
                                  "(its cgroup.subtree_control lacks memory): run under a "
                                  "delegated cgroup (systemd-run --scope -p Delegate=yes)")
            if kind == "v2":
                if memory_high is not None:
                    self._write("memory.high", str(memory_high))
                self._write("memory.max", str(memory_max))
            else:
                self._write("memory.limit_in_bytes", str(memory_max))
        except (OSError, CgroupError):
            self.path.rmdir()
            raise
        self.memory_max = memory_max
        # None where the hierarchy has no MemoryHigh (v1): the limit is not in force here
        self.memory_high = memory_high if kind == "v2" else None

    def _write(self, name: str, value: str) -> None:
        with open(self.path / name, "w", encoding="ascii") as f:
            f.write(value)

    def _read(self, name: str) -> str:
        return (self.path / name).read_text(encoding="ascii")

    @property
    def procs_file(self) -> str:
        """Where a child writes its pid to join (``procs.limits(cgroup=…)``)."""
        return str(self.path / "cgroup.procs")

    def pids(self) -> list[int]:
        return [int(p) for p in self._read("cgroup.procs").split()]

    def oom_kills(self) -> int:
        """Processes the OOM killer killed in this cgroup (at its limit)."""
        text = self._read("memory.events" if self.kind == "v2" else "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak(self) -> int:
        """The most memory the cgroup was charged at once, in bytes."""
        return int(self._read("memory.peak" if self.kind == "v2" else
                              "memory.max_usage_in_bytes"))

    def usage(self) -> int:
        return int(self._read("memory.current" if self.kind == "v2" else
                              "memory.usage_in_bytes"))

    def close(self) -> None:
        """Kill whatever still runs in it (only processes started inside), then remove it."""
        if not self.path.exists():
            return
        deadline = time.monotonic() + CLOSE_TIMEOUT
        while True:
            left = self.pids()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not left:
                try:
                    self.path.rmdir()
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise
            elif time.monotonic() > deadline:
                raise CgroupError(f"{self.path} still holds {left} after SIGKILL")
            time.sleep(0.05)

    def __enter__(self) -> MemoryCgroup:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
