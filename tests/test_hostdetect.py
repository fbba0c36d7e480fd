"""perfcfg.host.detect against fake /proc and /sys trees, one per real-world layout.

Each known breakage of host detection has a case here: cgroup v2 without
the memory controller (timescaledb-docker#297), v1 sentinels and limits above RAM
(moby#18087), CFS quotas that cpuset-only detection missed (timescaledb-docker#154).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from perfcfg.host.detect import DetectedHost, detect, format_memory, to_json, to_yaml

GiB, MiB = 1 << 30, 1 << 20
RAM_KB = 16 * 1024 * 1024  # 16 GiB in /proc/meminfo's kB


class FakeRoot:
    """A tiny machine: /proc and /sys files written under tmp_path."""

    def __init__(self, base: Path, cpus: int = 8):
        self.base = base
        self.write("/proc/meminfo", f"MemTotal:       {RAM_KB} kB\nMemFree:  1 kB\n")
        self.write("/sys/devices/system/cpu/online", f"0-{cpus - 1}\n")
        self.write("/proc/self/limits",
                   "Limit                     Soft Limit           Hard Limit           Units\n"
                   "Max open files            4096                 524288               files\n")

    def write(self, inside: str, text: str) -> None:
        path = self.base / inside.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def link(self, inside: str, target: str) -> None:
        path = self.base / inside.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)

    def cgroup_v2(self, own: str = "/", **files: str) -> None:
        self.write("/proc/self/cgroup", f"0::{own}\n")
        self.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        for name, text in files.items():
            self.write(f"/sys/fs/cgroup{own.rstrip('/')}/{name.replace('_', '.')}", text + "\n")

    def cgroup_v1(self, own: str = "/", memory: str | None = None,
                  quota: str | None = None, period: str = "100000",
                  cpuset: str | None = None) -> None:
        lines = [f"12:memory:{own}", f"11:cpu,cpuacct:{own}", f"10:cpuset:{own}",
                 f"1:name=systemd:{own}"]
        self.write("/proc/self/cgroup", "\n".join(lines) + "\n")
        level = own.rstrip("/")
        self.write(f"/sys/fs/cgroup/memory{level}/memory.limit_in_bytes",
                   (memory or "9223372036854771712") + "\n")
        self.write(f"/sys/fs/cgroup/cpu,cpuacct{level}/cpu.cfs_quota_us", (quota or "-1") + "\n")
        self.write(f"/sys/fs/cgroup/cpu,cpuacct{level}/cpu.cfs_period_us", period + "\n")
        if cpuset is not None:
            self.write(f"/sys/fs/cgroup/cpuset{level}/cpuset.cpus", cpuset + "\n")

    def disk(self, name: str, rotational: str | None, majmin: str = "8:0",
             partition: str | None = None, mount: str = "/") -> None:
        """A disk (optionally a partition of it) mounted at ``mount``."""
        self.write(f"/sys/devices/pci0/block/{name}/dev", majmin + "\n")
        if rotational is not None:
            self.write(f"/sys/block/{name}/queue/rotational", rotational + "\n")
        self.link(f"/sys/class/block/{name}", f"../../devices/pci0/block/{name}")
        device = f"devices/pci0/block/{name}"
        if partition:
            self.write(f"/sys/devices/pci0/block/{name}/{partition}/partition", "1\n")
            self.link(f"/sys/class/block/{partition}", f"../../{device}/{partition}")
            device = f"{device}/{partition}"
        self.link(f"/sys/dev/block/{majmin}", f"../../{device}")
        self.mount(majmin, mount)

    def mount(self, majmin: str, mount: str) -> None:
        line = f"27 1 {majmin} / {mount} rw,relatime - ext4 /dev/x rw\n"
        existing = self.base / "proc/self/mountinfo"
        previous = existing.read_text() if existing.exists() else ""
        self.write("/proc/self/mountinfo", previous + line)

    def detect(self, **kwargs) -> DetectedHost:
        return detect(str(self.base), use_psutil=False, **kwargs)


@pytest.fixture
def fake(tmp_path: Path) -> FakeRoot:
    return FakeRoot(tmp_path)


# --- memory -------------------------------------------------------------------------------

def test_cgroup_v2_limit_wins_over_ram(fake: FakeRoot) -> None:
    fake.cgroup_v2(memory_max=str(1536 * MiB))
    host = fake.detect()
    assert host.memory == 1536 * MiB
    assert host.provenance["memory"] == "cgroup v2 memory.max (/sys/fs/cgroup/memory.max)"


def test_cgroup_v2_max_is_unlimited(fake: FakeRoot) -> None:
    fake.cgroup_v2(memory_max="max", cpu_max="max 100000")
    host = fake.detect()
    assert (host.memory, host.cpus) == (16 * GiB, 8)
    assert host.provenance["memory"] == "/proc/meminfo MemTotal"


def test_cgroup_v2_follows_process_cgroup_and_ancestors(fake: FakeRoot) -> None:
    fake.cgroup_v2(own="/system.slice/postgresql.service", memory_max="max")
    fake.write("/sys/fs/cgroup/system.slice/memory.max", f"{4 * GiB}\n")
    host = fake.detect()
    assert host.memory == 4 * GiB
    assert host.provenance["memory"] == \
        "cgroup v2 memory.max (/sys/fs/cgroup/system.slice/memory.max)"


def test_cgroup_v2_without_memory_controller_is_not_an_error(fake: FakeRoot) -> None:
    # Raspberry Pi OS: cgroup v2 with the memory controller off leaves no memory.max
    # (timescaledb-docker#297 turned this into a 0-byte panic).
    fake.cgroup_v2()
    fake.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io pids\n")
    host = fake.detect()
    assert host.memory == 16 * GiB
    assert host.provenance["memory"] == "/proc/meminfo MemTotal"


@pytest.mark.parametrize("limit, expected", [
    pytest.param(str(2 * GiB), 2 * GiB, id="limited"),
    pytest.param("9223372036854771712", 16 * GiB, id="sentinel-page-aligned-long-max"),
    pytest.param("18446744073709551615", 16 * GiB, id="sentinel-2^64-1"),
    pytest.param(str(64 * GiB), 16 * GiB, id="greater-than-MemTotal"),
])
def test_cgroup_v1_memory_limit(fake: FakeRoot, limit: str, expected: int) -> None:
    fake.cgroup_v1(own="/docker/abc", memory=limit)
    host = fake.detect()
    assert host.memory == expected
    if expected != 16 * GiB:
        assert host.provenance["memory"] == (
            "cgroup v1 memory.limit_in_bytes "
            "(/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes)")


def test_cgroup_v1_container_without_cgroup_namespace(fake: FakeRoot) -> None:
    # /proc/self/cgroup names /docker/<id>, but only the container's own cgroup is mounted.
    fake.cgroup_v1(memory=str(512 * MiB), quota="50000")
    fake.write("/proc/self/cgroup", "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n")
    host = fake.detect()
    assert (host.memory, host.cpus) == (512 * MiB, 1)


def test_cgroup_path_outside_namespace_reads_the_mount_level(fake: FakeRoot) -> None:
    fake.cgroup_v2(memory_max=str(2 * GiB))
    fake.write("/proc/self/cgroup", "0::/../../system.slice/x.service\n")
    assert fake.detect().memory == 2 * GiB


def test_no_cgroup_files_at_all(fake: FakeRoot) -> None:
    host = fake.detect()
    assert (host.memory, host.cpus) == (16 * GiB, 8)


# --- cpus ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cpu_max, expected", [
    pytest.param("150000 100000", 2, id="1.5-cpus-rounds-up"),
    pytest.param("200000 100000", 2, id="exact"),
    pytest.param("50000 1000000", 1, id="tiny-quota-is-one"),
    pytest.param("max 100000", 8, id="max-is-unlimited"),
])
def test_cgroup_v2_cpu_max(fake: FakeRoot, cpu_max: str, expected: int) -> None:
    fake.cgroup_v2(cpu_max=cpu_max)
    assert fake.detect().cpus == expected


def test_cgroup_v2_cpu_max_provenance(fake: FakeRoot) -> None:
    fake.cgroup_v2(cpu_max="150000 100000")
    assert fake.detect().provenance["cpus"] == \
        "cgroup v2 cpu.max (/sys/fs/cgroup/cpu.max): 150000 100000"


@pytest.mark.parametrize("quota, period, expected", [
    pytest.param("-1", "100000", 8, id="unlimited"),
    pytest.param("250000", "100000", 3, id="2.5-cpus"),
    pytest.param("30000", "20000", 2, id="non-default-period"),
])
def test_cgroup_v1_cfs_quota(fake: FakeRoot, quota: str, period: str, expected: int) -> None:
    fake.cgroup_v1(quota=quota, period=period)
    assert fake.detect().cpus == expected


def test_cpuset_narrower_than_quota(fake: FakeRoot) -> None:
    fake.cgroup_v2(cpu_max="400000 100000", cpuset_cpus_effective="2-3")
    host = fake.detect()
    assert host.cpus == 2
    assert host.provenance["cpus"] == "cgroup cpuset (/sys/fs/cgroup/cpuset.cpus.effective)"


def test_cgroup_v1_cpuset(fake: FakeRoot) -> None:
    fake.cgroup_v1(quota="400000", cpuset="0,4")
    assert fake.detect().cpus == 2


# --- storage ------------------------------------------------------------------------------

def test_rotational_disk_is_hdd(fake: FakeRoot) -> None:
    fake.disk("sda", rotational="1")
    host = fake.detect()
    assert host.storage == "hdd"
    assert host.provenance["storage"] == "/sys/block/sda/queue/rotational = 1"


@pytest.mark.parametrize("disk", ["vda", "xvdb"])
def test_virtual_disk_rotational_flag_is_not_trusted(fake: FakeRoot, disk: str) -> None:
    fake.disk(disk, rotational="1")
    host = fake.detect()
    assert host.storage == "ssd"
    assert "virtual disk" in host.provenance["storage"] and "storage: hdd" in host.provenance["storage"]


def test_non_rotational_disk_is_ssd(fake: FakeRoot) -> None:
    fake.disk("sdb", rotational="0")
    assert fake.detect().storage == "ssd"


def test_nvme_by_name(fake: FakeRoot) -> None:
    fake.disk("nvme0n1", rotational="0", majmin="259:0")
    host = fake.detect()
    assert host.storage == "nvme"
    assert host.provenance["storage"] == "device name nvme0n1"


def test_partition_resolves_to_parent_disk(fake: FakeRoot) -> None:
    fake.disk("sda", rotational="1", majmin="8:1", partition="sda1")
    assert fake.detect().storage == "hdd"


def test_device_mapper_resolves_to_slaves(fake: FakeRoot) -> None:
    fake.disk("nvme0n1", rotational="0", majmin="259:1", partition="nvme0n1p2", mount="/boot")
    fake.write("/sys/devices/virtual/block/dm-0/dev", "253:0\n")
    fake.link("/sys/class/block/dm-0", "../../devices/virtual/block/dm-0")
    fake.link("/sys/dev/block/253:0", "../../devices/virtual/block/dm-0")
    fake.link("/sys/block/dm-0/slaves/nvme0n1p2", "../../../class/block/nvme0n1p2")
    fake.mount("253:0", "/var/lib/postgresql")
    assert fake.detect(data_dir="/var/lib/postgresql/16/main").storage == "nvme"


def test_data_dir_picks_the_longest_mount(fake: FakeRoot) -> None:
    fake.disk("sda", rotational="1", majmin="8:0", mount="/")
    fake.disk("nvme0n1", rotational="0", majmin="259:0", mount="/srv/pg")
    assert fake.detect(data_dir="/srv/pg/data").storage == "nvme"
    assert fake.detect(data_dir="/srv/pgx").storage == "hdd"


def test_unknown_storage_is_assumed_ssd(fake: FakeRoot) -> None:
    fake.mount("0:42", "/")  # overlayfs: an anonymous device with no /sys/dev/block entry
    host = fake.detect()
    assert host.storage == "ssd"
    assert host.provenance["storage"] == "unknown, assumed ssd"


# --- open files ---------------------------------------------------------------------------

def test_open_files_is_the_soft_limit(fake: FakeRoot) -> None:
    host = fake.detect()
    assert host.open_files == 4096
    assert host.provenance["open_files"] == "/proc/self/limits Max open files (soft)"


def test_unlimited_open_files_is_capped_by_nr_open(fake: FakeRoot) -> None:
    fake.write("/proc/self/limits",
               "Max open files            unlimited            unlimited            files\n")
    fake.write("/proc/sys/fs/nr_open", "1048576\n")
    assert fake.detect().open_files == 1048576


# --- host-profile files -------------------------------------------------------------------

@pytest.mark.parametrize("n, text", [
    (16 * GiB, "16GiB"), (1536 * MiB, "1536MiB"), (2 << 40, "2TiB"), (3 * 1024, "3KiB"),
    (1000, "1000B"),
])
def test_format_memory_is_exact(n: int, text: str) -> None:
    assert format_memory(n) == text


SAMPLE = DetectedHost(1536 * MiB, 2, "nvme", 4096, {
    "memory": "cgroup v2 memory.max (/sys/fs/cgroup/memory.max)",
    "cpus": "cgroup v2 cpu.max (/sys/fs/cgroup/cpu.max): 150000 100000",
    "storage": "device name nvme0n1",
    "open_files": "/proc/self/limits Max open files (soft)",
    "os": "/proc/sys/kernel/ostype: Linux",
})


def test_to_yaml() -> None:
    assert to_yaml(SAMPLE) == (
        "# host profile written by `perfcfg host`\n"
        "# memory: cgroup v2 memory.max (/sys/fs/cgroup/memory.max)\n"
        "memory: 1536MiB\n"
        "# cpus: cgroup v2 cpu.max (/sys/fs/cgroup/cpu.max): 150000 100000\n"
        "cpus: 2\n"
        "# storage: device name nvme0n1\n"
        "storage: nvme\n"
        "# open_files: /proc/self/limits Max open files (soft)\n"
        "open_files: 4096\n"
        "# os: /proc/sys/kernel/ostype: Linux\n"
        "os: linux\n"
    )
    assert yaml.safe_load(to_yaml(SAMPLE)) == \
        {"memory": "1536MiB", "cpus": 2, "storage": "nvme", "open_files": 4096, "os": "linux"}


def test_to_json() -> None:
    document = json.loads(to_json(SAMPLE))
    assert document == {"memory": "1536MiB", "cpus": 2, "storage": "nvme", "open_files": 4096,
                        "os": "linux", "provenance": SAMPLE.provenance}
    assert to_json(SAMPLE) == to_json(SAMPLE)


def test_to_host() -> None:
    assert SAMPLE.to_host().memory == 1536 * MiB


# --- this machine -------------------------------------------------------------------------

@pytest.mark.parametrize("use_psutil", [True, False], ids=["psutil", "proc"])
def test_real_machine_is_plausible(use_psutil: bool) -> None:
    host = detect(use_psutil=use_psutil)
    assert 64 * MiB <= host.memory <= 64 << 40
    assert 1 <= host.cpus <= (os.cpu_count() or 1)
    assert host.storage in ("hdd", "ssd", "san", "nvme")
    assert host.open_files >= 1
    assert set(host.provenance) == {"memory", "cpus", "storage", "open_files", "os", "locales",
                                    "nr_open"}
    assert host.os == "linux"       # this test runs on Linux
    assert host.locales and "C" in host.locales     # locale -a always lists C
    assert all(host.provenance.values())


def test_psutil_is_imported_lazily() -> None:
    import subprocess
    import sys

    code = "import sys, perfcfg.host.detect; print('psutil' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_os_from_a_fake_root(fake: FakeRoot) -> None:
    assert fake.detect().os == "linux" and "assumed" in fake.detect().provenance["os"]
    fake.write("/proc/sys/kernel/ostype", "Linux\n")
    assert fake.detect().os == "linux" and "ostype" in fake.detect().provenance["os"]


def test_a_profile_states_whole_mib_and_says_it_rounded() -> None:
    odd = DetectedHost(24683772 * 1024, 2, "ssd", 4096, {"memory": "/proc/meminfo MemTotal"})
    text = to_yaml(odd)
    assert "\nmemory: 24105MiB\n" in text
    assert "(24683772KiB, rounded down to whole MiB)" in text
    assert "\nmemory: 1536MiB\n" in to_yaml(SAMPLE) and "rounded" not in to_yaml(SAMPLE)
