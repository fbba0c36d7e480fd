"""PGTune as an oracle: an exact port of le0pard/pgtune's selectors at slice ``830d3bb``
(2026-06-09), integer-kB arithmetic and rendering included.

perfcfg does not use these values; tests compare perfcfg's recommenders with them.

>>> r = pgtune(PgTuneInput(db_version=16, db_type="web", total_memory=4, cpu_num=2))
>>> dict(r.settings)["work_mem"], format_kb(dict(r.settings)["shared_buffers"])
(5041, '1GB')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

VERSION = "pgtune@830d3bb"
SIZE_UNIT_KB = {"MB": 1024, "GB": 1024 ** 2, "TB": 1024 ** 3}   # SIZE_UNIT_MAP[unit] / 1024
GB_KB, MB_KB = 1024 ** 2, 1024
DEFAULT_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}
DEFAULT_MAX_WORKER_PROCESSES = 8        # DEFAULT_DB_SETTINGS.default
MIN_WAL = {"web": 1024, "oltp": 2048, "dw": 4096, "desktop": 100, "mixed": 1024}    # MB
MAX_WAL = {"web": 4096, "oltp": 8192, "dw": 16384, "desktop": 2048, "mixed": 4096}  # MB
EIO = {"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}
# Keys whose values are integer kB (rendered by formatValue).
MEMORY_KEYS = frozenset({"shared_buffers", "effective_cache_size", "maintenance_work_mem",
                         "wal_buffers", "work_mem", "autovacuum_work_mem", "min_wal_size",
                         "max_wal_size"})
LZ4_WARNING = ("wal_compression = lz4 requires PostgreSQL", "to be compiled with --with-lz4")
IO_URING_WARNING = ("io_method = io_uring requires PostgreSQL", "to be compiled with --with-liburing")
DW_WARNING = ("cost parameters for dw on fast storage are", "left at defaults.",
              "Monitor query planner behavior")


@dataclass(frozen=True)
class PgTuneInput:
    db_version: int = 18
    os_type: Literal["linux", "windows", "mac"] = "linux"
    db_type: Literal["web", "oltp", "dw", "desktop", "mixed"] = "web"
    total_memory: int = 4
    total_memory_unit: Literal["MB", "GB", "TB"] = "GB"
    cpu_num: int | None = None
    connection_num: int | None = None
    hd_type: Literal["ssd", "hdd", "san", "nvme"] = "ssd"
    db_size: Literal["less_ram", "mid_ram", "greater_ram"] = "mid_ram"


@dataclass(frozen=True)
class PgTuneResult:
    inputs: PgTuneInput
    settings: tuple[tuple[str, int | float | str], ...]   # in PGTune's line order, falsy dropped
    warnings: tuple[tuple[str, ...], ...]


def _windows_old(i: PgTuneInput) -> bool:
    return i.os_type == "windows" and i.db_version <= 17


def shared_buffers(i: PgTuneInput, t: int) -> int:
    sb = t // 16 if i.db_type == "desktop" else t // 4
    if i.db_version < 10 and i.os_type == "windows":
        sb = min(sb, 512 * MB_KB)
    return sb


def maintenance_work_mem(i: PgTuneInput, t: int) -> int:
    value = t // 8 if i.db_type == "dw" else t // 16
    limit = 2 * GB_KB if _windows_old(i) else 8 * GB_KB
    if value >= limit:
        value = limit - MB_KB if _windows_old(i) else limit
    return value


def wal_buffers(sb: int) -> int:
    value = (3 * sb) // 100
    value = min(value, 16 * MB_KB)
    if 14 * MB_KB < value < 16 * MB_KB:
        value = 16 * MB_KB
    return max(value, 32)


def random_page_cost(i: PgTuneInput) -> float:
    if i.db_size == "less_ram":
        return 1.1
    return 4 if i.hd_type == "hdd" or i.db_type == "dw" else 1.1


def parallel(i: PgTuneInput) -> list[tuple[str, int]]:
    cpus = i.cpu_num
    if not cpus or cpus < 4:
        return []
    gather = math.ceil(cpus / 2)
    if i.db_type != "dw" and gather > 4:
        gather = 4
    out = [("max_worker_processes", cpus), ("max_parallel_workers_per_gather", gather)]
    if i.db_version >= 10:
        out.append(("max_parallel_workers", cpus))
    if i.db_version >= 11:
        out.append(("max_parallel_maintenance_workers", min(math.ceil(cpus / 2), 4)))
    return out


def work_mem(i: PgTuneInput, t: int, sb: int, conns: int, par: list[tuple[str, int]]) -> int:
    workers = dict(par).get("max_worker_processes") or DEFAULT_MAX_WORKER_PROCESSES
    w = (t - sb) / ((conns + workers) * 3)
    divisor = {"dw": 2, "mixed": 2, "desktop": 6}.get(i.db_type, 1)
    value = math.floor(w / divisor)
    if i.db_size == "less_ram":
        value = math.floor(value * 1.3)
    elif i.db_size == "greater_ram":
        value = math.floor(value * 0.9)
    value = max(value, 4 * MB_KB)
    if _windows_old(i):
        value = min(value, 2 * GB_KB - MB_KB)
    return value


def _version_keys(i: PgTuneInput, mwm: int) -> list[tuple[str, int | str | None]]:
    jit = "off" if i.db_version >= 12 and i.db_type in ("web", "oltp", "mixed") else None
    wal_c = "lz4" if i.db_version >= 15 else ("on" if i.db_version >= 10 else None)
    cpus = i.cpu_num or 0
    av_workers = 5 if cpus >= 32 else (4 if cpus >= 16 else None)
    av_mem = None
    if mwm >= 2 * GB_KB:
        av_mem = 2 * GB_KB - MB_KB if _windows_old(i) else 2 * GB_KB
    io_method = ("io_uring" if i.os_type == "linux" else "worker") if i.db_version >= 18 else None
    io_workers = None
    if i.db_version >= 18 and i.cpu_num and io_method != "io_uring":
        n = min(32, max(3, i.cpu_num // 4))
        io_workers = n if n > 3 else None
    return [("jit", jit), ("wal_compression", wal_c), ("autovacuum_max_workers", av_workers),
            ("autovacuum_work_mem", av_mem), ("io_method", io_method), ("io_workers", io_workers)]


def _warnings(i: PgTuneInput, t: int, settings: dict[str, object]) -> tuple[tuple[str, ...], ...]:
    out: list[tuple[str, ...]] = []
    if t < 256 * MB_KB:
        out.append(("this tool not being optimal", "for low memory systems"))
    elif t > 100 * GB_KB:
        out.append(("this tool not being optimal", "for very high memory systems"))
    if settings.get("wal_compression") == "lz4":
        out.append(LZ4_WARNING)
    if settings.get("io_method") == "io_uring":
        out.append(IO_URING_WARNING)
    if i.db_type == "dw" and i.hd_type != "hdd" and i.db_size != "less_ram":
        out.append(DW_WARNING)
    return tuple(out)


def pgtune(i: PgTuneInput) -> PgTuneResult:
    t = i.total_memory * SIZE_UNIT_KB[i.total_memory_unit]
    conns = i.connection_num or DEFAULT_CONNECTIONS[i.db_type]
    sb, mwm, par = shared_buffers(i, t), maintenance_work_mem(i, t), parallel(i)
    ecs = t // 4 if i.db_type == "desktop" else (t * 3) // 4
    huge = "off" if i.os_type == "mac" else ("try" if sb >= 2 * GB_KB else "off")
    lines: list[tuple[str, int | float | str | None]] = [
        ("max_connections", conns), ("shared_buffers", sb), ("effective_cache_size", ecs),
        ("maintenance_work_mem", mwm), ("checkpoint_completion_target", 0.9),
        ("wal_buffers", wal_buffers(sb)),
        ("default_statistics_target", 500 if i.db_type == "dw" else 100),
        ("random_page_cost", random_page_cost(i)),
        ("effective_io_concurrency", EIO[i.hd_type] if i.os_type == "linux" else None),
        ("work_mem", work_mem(i, t, sb, conns, par)), ("huge_pages", huge),
        *_version_keys(i, mwm),
        ("min_wal_size", MIN_WAL[i.db_type] * MB_KB), ("max_wal_size", MAX_WAL[i.db_type] * MB_KB),
        *par,
    ]
    if i.db_type == "desktop":
        lines += [("wal_level", "minimal"), ("max_wal_senders", "0")]
    kept = tuple((k, v) for k, v in lines if v)
    return PgTuneResult(i, kept, _warnings(i, t, dict(kept)))


def format_kb(kb: int) -> str:
    """PGTune's formatValue: the largest unit that divides exactly, never rounded."""
    if kb % GB_KB == 0:
        return f"{kb // GB_KB}GB"
    if kb % MB_KB == 0:
        return f"{kb // MB_KB}MB"
    return f"{kb}kB"


def format_value(key: str, value: float | str) -> str:
    if key in MEMORY_KEYS:
        return format_kb(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_bytes(key: str, value: float | str) -> int | float | str:
    """A PGTune value in perfcfg's canonical units (memory in bytes)."""
    return int(value) * 1024 if key in MEMORY_KEYS else value


def render_conf(r: PgTuneResult) -> str:
    """The site's postgresql.conf tab, byte for byte."""
    i, out = r.inputs, []
    if r.warnings:
        out.append("# WARNING")
        out += [f"# {line}" for w in r.warnings for line in w]
        out.append("")
    out += [f"# DB Version: {i.db_version}", f"# OS Type: {i.os_type}", f"# DB Type: {i.db_type}",
            f"# Total Memory (RAM): {i.total_memory} {i.total_memory_unit}"]
    if i.cpu_num:
        out.append(f"# CPUs num: {i.cpu_num}")
    if i.connection_num:
        out.append(f"# Connections num: {i.connection_num}")
    out += [f"# Data Storage: {i.hd_type}", ""]
    out += [f"{k} = {format_value(k, v)}" for k, v in r.settings]
    return "\n".join(out) + "\n"
