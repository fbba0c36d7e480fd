"""Host detection for ``perfcfg host``: what this machine (or container) really offers.

This module owns reading RAM, usable CPUs, the storage class of the data directory and the
soft open-files limit, each with where the figure came from, and printing them as a
host-profile file. Container limits win over the machine's size: memory is
min(RAM, cgroup limit) and CPUs min(online, affinity/cpuset, ceil(quota/period)), because
tuning Postgres for the host's 128 GiB inside a 1 GiB container is the classic way to get
it OOM-killed (timescaledb-tune#58, timescaledb-docker#87).

Every file is read below ``root`` so tests can build a fake ``/proc``, ``/sys`` tree:

>>> host = detect(use_psutil=False)
>>> host.memory > 0 and host.cpus >= 1 and host.storage in ("hdd", "ssd", "san", "nvme")
True

Nothing here raises for a missing or odd file: an unreadable figure falls back to the next
source and says so in its provenance.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from perfcfg.tune.context import Host

Storage = Literal["hdd", "ssd", "san", "nvme"]

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
# cgroup v1 reports "no limit" as LONG_MAX rounded down to a page (9223372036854771712) and
# some kernels as 2^64-1; anything this large cannot be a real limit.
V1_UNLIMITED_FLOOR = 1 << 62
# Used when RLIMIT_NOFILE is "unlimited" and fs.nr_open cannot be read (the kernel default).
DEFAULT_NR_OPEN = 1 << 20
_STORAGE_RANK = {"hdd": 0, "san": 1, "ssd": 2, "nvme": 3}
_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


@dataclass(frozen=True)
class DetectedHost:
    """The detected figures and, for each key, a one-line account of where it came from."""

    memory: int                 # bytes
    cpus: int
    storage: Storage
    open_files: int
    provenance: dict[str, str]  # "memory" | "cpus" | "storage" | "open_files" | "os" → source
    os: str = "linux"           # linux, darwin, freebsd, …
    locales: tuple[str, ...] | None = None   # locale -a; None when not read
    nr_open: int | None = None  # fs.nr_open; None when not read

    def to_host(self) -> Host:
        """The profile as the tuning engine's input."""
        from perfcfg.tune.context import Host

        return Host(self.memory, self.cpus, self.storage, self.open_files, self.os)


@dataclass(frozen=True)
class _Figure:
    value: int
    source: str


def detect(root: str = "/", *, use_psutil: bool = True, data_dir: str = "/") -> DetectedHost:
    """Detect the host seen from ``root`` (``/`` for this machine).

    ``use_psutil`` reads RAM and CPU count through psutil (imported here, not at module
    import) when ``root`` is this machine's ``/``; otherwise they come from
    ``/proc/meminfo`` and ``/sys/devices/system/cpu/online`` below ``root``.
    ``data_dir`` is the directory whose block device decides ``storage``.
    """
    fs = _Root(root)
    cgroups = _Cgroups(fs)
    memory = _memory(fs, cgroups, use_psutil)
    cpus = _cpus(fs, cgroups, use_psutil)
    storage, storage_source = _storage(fs, data_dir)
    open_files = _open_files(fs)
    system, system_source = _os(fs)
    locales, locales_source = _locales(fs)
    nr_open_text = fs.read("/proc/sys/fs/nr_open")
    nr_open = int(nr_open_text) if nr_open_text and nr_open_text.strip().isdigit() else None
    provenance = {"memory": memory.source, "cpus": cpus.source,
                  "storage": storage_source, "open_files": open_files.source,
                  "os": system_source, "locales": locales_source,
                  "nr_open": "/proc/sys/fs/nr_open" if nr_open else "not read"}
    return DetectedHost(memory.value, cpus.value, storage, open_files.value, provenance,
                        system, locales, nr_open)


def _locales(fs: _Root) -> tuple[tuple[str, ...] | None, str]:
    """The locales PostgreSQL's lc_* settings may name here (``locale -a``)."""
    if not fs.is_live:
        return None, "not read below another root"
    import shutil
    import subprocess

    program = shutil.which("locale")
    if program is None:
        return None, "no locale program here"
    try:
        found = subprocess.run([program, "-a"], capture_output=True, text=True, timeout=10,
                               check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"locale -a failed: {exc}"
    names = tuple(sorted({line.strip() for line in found.stdout.splitlines() if line.strip()}))
    return (names or None), "locale -a"


def _os(fs: _Root) -> tuple[str, str]:
    """The kernel, as a host profile spells it: linux, darwin, freebsd, …"""
    if fs.is_live:
        import platform

        name = platform.system().lower() or "linux"
        return name, f"platform.system(): {platform.system() or 'unknown'}"
    ostype = fs.read("/proc/sys/kernel/ostype")
    if ostype:
        return ostype.lower(), f"/proc/sys/kernel/ostype: {ostype}"
    return "linux", "no /proc/sys/kernel/ostype below the root: assumed linux"


# --- files below root ---------------------------------------------------------------------

class _Root:
    """Reads files of a (possibly fake) filesystem root; shows paths as seen from inside it."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.is_live = os.path.realpath(self.root) == os.path.realpath(os.sep)

    def path(self, inside: str) -> str:
        return os.path.join(self.root, inside.lstrip("/"))

    def read(self, inside: str) -> str | None:
        try:
            with open(self.path(inside), encoding="utf-8", errors="replace") as f:
                return f.read().strip()
        except OSError:
            return None

    def listdir(self, inside: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(inside)))
        except OSError:
            return []

    def resolve(self, inside: str) -> str | None:
        """Follow a sysfs symlink; the answer is again a path inside the root."""
        real = os.path.realpath(self.path(inside))
        if not os.path.exists(real):
            return None
        relative = os.path.relpath(real, os.path.realpath(self.root))
        return None if relative.startswith("..") else "/" + relative


# --- cgroups ------------------------------------------------------------------------------

class _Cgroups:
    """The process's cgroups: v2 (unified) when the root has ``cgroup.controllers``, else v1."""

    MOUNT = "/sys/fs/cgroup"

    def __init__(self, fs: _Root, pid: str = "self"):
        self.fs = fs
        self.v2 = fs.read(f"{self.MOUNT}/cgroup.controllers") is not None
        self.paths = _proc_cgroup_paths(fs.read(f"/proc/{pid}/cgroup") or "")

    def files(self, controller: str, name: str) -> Iterator[str]:
        """``name`` in the process's cgroup and each ancestor up to the mount, innermost first.

        Limits of ancestors bind too (a systemd slice's MemoryMax), and inside a container
        without a cgroup namespace the process path does not exist below the mount at all,
        so every level that exists is read.
        """
        base = self.MOUNT if self.v2 else self._v1_mount(controller)
        if base is None:
            return
        own = self.paths.get("" if self.v2 else controller, "/")
        for level in _ancestors(own):
            candidate = f"{base}{level}/{name}" if level != "/" else f"{base}/{name}"
            if self.fs.read(candidate) is not None:
                yield candidate

    def _v1_mount(self, controller: str) -> str | None:
        dirs = _V1_CPU_DIRS if controller == "cpu" else (controller,)
        for name in dirs:
            if self.fs.listdir(f"{self.MOUNT}/{name}"):
                return f"{self.MOUNT}/{name}"
        return None


def _proc_cgroup_paths(text: str) -> dict[str, str]:
    """``/proc/self/cgroup`` → {controller: path}; the v2 entry (``0::/x``) is under ``""``."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller] = parts[2] or "/"
    return paths


def _ancestors(path: str) -> list[str]:
    """'/a/b' → ['/a/b', '/a', '/'].

    A path outside the process's cgroup namespace reads as '/../x'; it names nothing below
    the mount, so only the mount's own level is searched.
    """
    parts = [p for p in path.split("/") if p]
    if ".." in parts:
        return ["/"]
    levels = []
    current = "/" + "/".join(parts) if parts else "/"
    while True:
        levels.append(current)
        if current == "/":
            return levels
        current = os.path.dirname(current)


# --- memory ---------------------------------------------------------------------------------

def _memory(fs: _Root, cgroups: _Cgroups, use_psutil: bool) -> _Figure:
    ram = _ram(fs, use_psutil)
    limit = _cgroup_memory_limit(fs, cgroups, _mem_total(fs) or ram.value)
    if limit is not None and limit.value < ram.value:
        return limit
    return ram


def _ram(fs: _Root, use_psutil: bool) -> _Figure:
    if use_psutil and fs.is_live:
        import psutil  # only `perfcfg host` needs it; keep it off the validate path

        return _Figure(int(psutil.virtual_memory().total), "psutil.virtual_memory().total")
    total = _mem_total(fs)
    if total:
        return _Figure(total, "/proc/meminfo MemTotal")
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return _Figure(pages, "sysconf(SC_PHYS_PAGES × SC_PAGE_SIZE)")


def _mem_total(fs: _Root) -> int | None:
    for line in (fs.read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1]) * KiB
    return None


def _cgroup_memory_limit(fs: _Root, cgroups: _Cgroups, mem_total: int) -> _Figure | None:
    """The tightest memory limit of the process's cgroups, or None when unlimited."""
    name = "memory.max" if cgroups.v2 else "memory.limit_in_bytes"
    label = "cgroup v2 memory.max" if cgroups.v2 else "cgroup v1 memory.limit_in_bytes"
    limits = []
    for path in cgroups.files("memory", name):
        value = _parse_memory_limit(fs.read(path) or "", mem_total, cgroups.v2)
        if value is not None:
            limits.append(_Figure(value, f"{label} ({path})"))
    return min(limits, key=lambda f: f.value, default=None)


def _parse_memory_limit(text: str, mem_total: int, v2: bool) -> int | None:
    if text == "max" or not text.lstrip("-").isdigit():
        return None
    value = int(text)
    if value <= 0:
        return None
    # v1 never says "max": huge sentinels, or a limit above RAM (moby#18087), mean unlimited.
    if not v2 and (value >= V1_UNLIMITED_FLOOR or value > mem_total):
        return None
    return value


# --- cpus -----------------------------------------------------------------------------------

def _cpus(fs: _Root, cgroups: _Cgroups, use_psutil: bool) -> _Figure:
    candidates = [_online_cpus(fs, use_psutil)]
    candidates += [f for f in (_affinity(fs), _cpuset(fs, cgroups)) if f is not None]
    candidates += _cpu_quota(fs, cgroups)
    # Stable choice among equal counts: the first source listed above wins.
    return min(candidates, key=lambda f: f.value)


def _online_cpus(fs: _Root, use_psutil: bool) -> _Figure:
    if use_psutil and fs.is_live:
        import psutil

        count = psutil.cpu_count(logical=True)
        if count:
            return _Figure(count, "psutil.cpu_count()")
    online = fs.read("/sys/devices/system/cpu/online")
    count = _count_cpu_list(online or "")
    if count:
        return _Figure(count, "/sys/devices/system/cpu/online")
    return _Figure(os.cpu_count() or 1, "os.cpu_count()")


def _affinity(fs: _Root) -> _Figure | None:
    if not fs.is_live or not hasattr(os, "sched_getaffinity"):
        return None
    return _Figure(len(os.sched_getaffinity(0)), "sched_getaffinity")


def _cpuset(fs: _Root, cgroups: _Cgroups) -> _Figure | None:
    names = ("cpuset.cpus.effective",) if cgroups.v2 else ("cpuset.effective_cpus", "cpuset.cpus")
    for name in names:
        for path in cgroups.files("cpuset", name):
            count = _count_cpu_list(fs.read(path) or "")
            if count:
                return _Figure(count, f"cgroup cpuset ({path})")
    return None


def _count_cpu_list(text: str) -> int:
    """Kernel cpu list syntax: '0-3,8,10-11' → 7; garbage → 0."""
    total = 0
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return 0
        total += int(high) - int(low) + 1 if high else 1
    return total


def _cpu_quota(fs: _Root, cgroups: _Cgroups) -> list[_Figure]:
    if cgroups.v2:
        return [f for path in cgroups.files("cpu", "cpu.max")
                if (f := _v2_quota(fs.read(path) or "", path)) is not None]
    figures = []
    for path in cgroups.files("cpu", "cpu.cfs_quota_us"):
        period_path = path.replace("cpu.cfs_quota_us", "cpu.cfs_period_us")
        figure = _v1_quota(fs.read(path) or "", fs.read(period_path) or "", path)
        if figure is not None:
            figures.append(figure)
    return figures


def _v2_quota(text: str, path: str) -> _Figure | None:
    quota, _, period = text.partition(" ")
    cpus = _quota_cpus(quota, period or "100000")
    return None if cpus is None else _Figure(cpus, f"cgroup v2 cpu.max ({path}): {text}")


def _v1_quota(quota: str, period: str, path: str) -> _Figure | None:
    cpus = _quota_cpus(quota, period)
    if cpus is None:
        return None
    return _Figure(cpus, f"cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us ({path}): {quota}/{period}")


def _quota_cpus(quota: str, period: str) -> int | None:
    """ceil(quota / period), any period; 'max', -1 or garbage → None (unlimited)."""
    if not quota.isdigit() or not period.isdigit() or int(period) == 0 or int(quota) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


# --- storage --------------------------------------------------------------------------------

def _storage(fs: _Root, data_dir: str) -> tuple[Storage, str]:
    device = _mount_device(fs, data_dir)
    disks = _disks(fs, device) if device else []
    kinds = [(kind, source) for kind, source in (_classify(fs, d) for d in disks) if kind]
    if not kinds:
        where = f" for {data_dir}" if data_dir != "/" else ""
        return "ssd", f"unknown{where}, assumed ssd"
    # Data striped or mirrored over several disks is as slow as the slowest of them.
    return min(kinds, key=lambda k: _STORAGE_RANK[k[0]])


def _mount_device(fs: _Root, data_dir: str) -> str | None:
    """The block device name (e.g. 'sda1', 'dm-0') of the mount holding ``data_dir``."""
    target = os.path.realpath(data_dir) if fs.is_live else os.path.normpath(data_dir)
    best: tuple[int, str] | None = None
    for line in (fs.read("/proc/self/mountinfo") or "").splitlines():
        fields = line.split()
        if len(fields) < 5 or not _contains(fields[4], target):
            continue
        # ">=": of two mounts on the same point the later one hides the earlier.
        if best is None or len(fields[4]) >= best[0]:
            best = (len(fields[4]), fields[2])
    if best is None:
        return None
    resolved = fs.resolve(f"/sys/dev/block/{best[1]}")
    return os.path.basename(resolved) if resolved else None


def _contains(mount_point: str, path: str) -> bool:
    mount_point = mount_point.replace("\\040", " ")
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def _disks(fs: _Root, name: str, depth: int = 0) -> list[str]:
    """Whole disks under a block device: partition → its disk; dm/md → their slaves' disks."""
    resolved = fs.resolve(f"/sys/class/block/{name}")
    if resolved and fs.read(f"{resolved}/partition") is not None:
        name = os.path.basename(os.path.dirname(resolved))
    slaves = fs.listdir(f"/sys/block/{name}/slaves")
    if not slaves or depth > 8:  # sysfs has no cycles; the bound only guards a broken tree
        return [name]
    return [disk for slave in slaves for disk in _disks(fs, slave, depth + 1)]


def _classify(fs: _Root, disk: str) -> tuple[Storage | None, str]:
    flag_path = f"/sys/block/{disk}/queue/rotational"
    flag = fs.read(flag_path)
    if flag == "1" and disk.startswith(("vd", "xvd")):
        # virtio/Xen disks report whatever the hypervisor says, 1 even on the SSD-backed
        # volumes clouds mostly give; tuning a VM as spinning rust (random_page_cost 4,
        # effective_io_concurrency 2) is the costlier mistake, so assume ssd and say so.
        return "ssd", (f"{flag_path} = 1 on a virtual disk (the hypervisor sets it): assumed "
                       "ssd; state storage: hdd in the host profile if the volume spins")
    if flag == "1":
        return "hdd", f"{flag_path} = 1"
    if disk.startswith("nvme"):
        return "nvme", f"device name {disk}"
    if flag == "0":
        return "ssd", f"{flag_path} = 0"
    return None, ""


# --- open files -----------------------------------------------------------------------------

def _open_files(fs: _Root) -> _Figure:
    for line in (fs.read("/proc/self/limits") or "").splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files"):].split()[0]
            if soft.isdigit():
                return _Figure(int(soft), "/proc/self/limits Max open files (soft)")
            if soft == "unlimited":
                return _nr_open(fs)
    if fs.is_live:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if limit != resource.RLIM_INFINITY:
            return _Figure(limit, "getrlimit(RLIMIT_NOFILE) soft")
        return _nr_open(fs)
    return _Figure(1024, "unknown, assumed 1024 (the Linux default soft limit)")


def _nr_open(fs: _Root) -> _Figure:
    text = fs.read("/proc/sys/fs/nr_open") or ""
    if text.isdigit():
        return _Figure(int(text), "RLIMIT_NOFILE unlimited, capped by /proc/sys/fs/nr_open")
    return _Figure(DEFAULT_NR_OPEN, "RLIMIT_NOFILE unlimited, assumed the kernel's nr_open")


# --- the kernel's limits that perfcfg's plan needs (perfcfg host --env) -------------------

@dataclass(frozen=True)
class Limits:
    """Kernel settings (``net.core.somaxconn`` → value; None: unreadable) and the open-files
    limit this process runs with, each with where it was read."""

    sysctls: dict[str, int | str | None]     # a file of /sys: its chosen word ("never")
    nofile: tuple[int | None, int | None]        # (soft, hard); None: unlimited or unknown
    provenance: dict[str, str]
    # running daemons found by their pid files: name → (pid, soft, hard) open-files limit
    running: dict[str, tuple[int, int | None, int | None]] = field(default_factory=dict)
    # and the memory limit of each one's cgroup (None: unlimited), as MemoryMax= sets it
    memory: dict[str, int | None] = field(default_factory=dict)
    # this machine's cgroup hierarchy for memory: "v2" (MemoryHigh= and MemoryMax= both in
    # force) or "v1" (systemd applies MemoryMax= as memory.limit_in_bytes, no MemoryHigh=)
    cgroup: str = "v2"


def _nofile(text: str | None) -> tuple[int | None, int | None] | None:
    """(soft, hard) from a ``/proc/<pid>/limits`` text (None: unlimited), or None."""
    for line in (text or "").splitlines():
        if line.startswith("Max open files"):
            fields = line[len("Max open files"):].split()
            soft, hard = (int(f) if f.isdigit() else None for f in fields[:2])
            return soft, hard
    return None


def running(pidfiles: dict[str, str], root: str = "/"
            ) -> dict[str, tuple[int, int | None, int | None]]:
    """The open-files limit each running daemon has: its pid from the pid file its config
    names, its limit from ``/proc/<pid>/limits`` (a daemon that is not running is left out)."""
    fs = _Root(root)
    out = {}
    for name, pidfile in sorted(pidfiles.items()):
        words = (fs.read(pidfile) or "").split()
        pid = words[0] if words else ""
        found = _nofile(fs.read(f"/proc/{pid}/limits")) if pid.isdigit() else None
        if found is not None:
            out[name] = (int(pid), *found)
    return out


def chosen(text: str) -> str:
    """The word in brackets of a /sys choice file (``always [madvise] never`` → madvise).

    >>> chosen("always madvise [never]"), chosen("never")
    ('never', 'never')
    """
    words = text.split()
    return next((w[1:-1] for w in words if w.startswith("[") and w.endswith("]")),
                words[0] if words else "")


def limits(keys: tuple[str, ...], root: str = "/",
           pidfiles: dict[str, str] | None = None, sysfs: tuple[str, ...] = ()) -> Limits:
    """Read each sysctl ``keys`` names from ``/proc/sys`` below ``root`` (each ``sysfs`` key
    from ``/sys``), the soft and hard RLIMIT_NOFILE from ``/proc/self/limits`` (this process's
    limits on the live root), and those of the daemons running from ``pidfiles`` (name → pid
    file)."""
    fs = _Root(root)
    values: dict[str, int | str | None] = {}
    provenance: dict[str, str] = {}
    for key in keys:
        where = ("/sys/" if key in sysfs else "/proc/sys/") + key.replace(".", "/")
        text = fs.read(where)
        if key in sysfs:
            values[key] = chosen(text) if text is not None else None
        else:
            number = text is not None and text.lstrip("-").isdigit()
            values[key] = int(text) if text is not None and number else None
        provenance[key] = where if text is not None else f"{where} cannot be read"
    soft = hard = None
    provenance["nofile"] = "/proc/self/limits cannot be read"
    own = _nofile(fs.read("/proc/self/limits"))
    if own is not None:
        soft, hard = own
        provenance["nofile"] = "/proc/self/limits Max open files"
    if provenance["nofile"].endswith("read") and fs.is_live:
        import resource

        got = resource.getrlimit(resource.RLIMIT_NOFILE)
        soft, hard = (None if v == resource.RLIM_INFINITY else v for v in got)
        provenance["nofile"] = "getrlimit(RLIMIT_NOFILE)"
    daemons = running(pidfiles or {}, root)
    total = _mem_total(fs) or V1_UNLIMITED_FLOOR
    memory = {name: _cgroup_memory_limit(fs, _Cgroups(fs, str(pid)), total)
              for name, (pid, _, _) in daemons.items()}
    return Limits(values, (soft, hard), provenance, daemons,
                  {name: None if f is None else f.value for name, f in memory.items()},
                  "v2" if _Cgroups(fs).v2 else "v1")


# --- host-profile files ---------------------------------------------------------------------

def format_memory(n: int) -> str:
    """Exact size in the largest binary unit that divides it: 17179869184 → '16GiB'.

    >>> format_memory(1536 * MiB), format_memory(1000)
    ('1536MiB', '1000B')
    """
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def profile_memory(n: int) -> str:
    """The size a host profile states: whole MiB (rounded down, the stack may use no more
    than the host has), in the largest unit that divides it.

    >>> profile_memory(24683772 * KiB), profile_memory(16 * GiB), profile_memory(1000)
    ('24105MiB', '16GiB', '1000B')
    """
    return format_memory(n - n % MiB if n >= MiB else n)


def _profile(host: DetectedHost) -> dict[str, object]:
    out: dict[str, object] = {"memory": profile_memory(host.memory), "cpus": host.cpus,
                              "storage": host.storage, "open_files": host.open_files,
                              "os": host.os}
    if host.nr_open is not None:
        out["nr_open"] = host.nr_open
    if host.locales is not None:
        out["locales"] = list(host.locales)
    return out


def to_yaml(host: DetectedHost) -> str:
    """A host-profile file with a comment above each key saying where the value came from."""
    lines = ["# host profile written by `perfcfg host`"]
    for key, value in _profile(host).items():
        source = _one_line(host.provenance.get(key, "unknown"))
        if key == "memory" and value != format_memory(host.memory):
            source += f" ({format_memory(host.memory)}, rounded down to whole MiB)"
        lines.append(f"# {key}: {source}")
        shown = "[" + ", ".join(json.dumps(v) for v in value) + "]" if isinstance(value, list) \
            else value
        lines.append(f"{key}: {shown}")
    return "\n".join(lines) + "\n"


def to_json(host: DetectedHost) -> str:
    """The same profile as JSON, with the sources under ``provenance``."""
    document = {**_profile(host), "provenance": dict(host.provenance)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
