"""PGTune oracle (le0pard/pgtune slice 830d3bb) pinned to PGTune's own four reference cases."""

import pytest

from tune.pgtune_oracle import PgTuneInput, format_value, pgtune, render_conf

CASES = {
    "a-web-4G-2cpu-ssd": (PgTuneInput(16, "linux", "web", 4, "GB", 2, hd_type="ssd"), {
        "max_connections": "200", "shared_buffers": "1GB", "effective_cache_size": "3GB",
        "maintenance_work_mem": "256MB", "checkpoint_completion_target": "0.9",
        "wal_buffers": "16MB", "default_statistics_target": "100", "random_page_cost": "1.1",
        "effective_io_concurrency": "200", "work_mem": "5041kB", "huge_pages": "off",
        "jit": "off", "wal_compression": "lz4", "min_wal_size": "1GB", "max_wal_size": "4GB",
    }),
    "b-oltp-16G-4cpu-ssd": (PgTuneInput(16, "linux", "oltp", 16, "GB", 4, hd_type="ssd"), {
        "max_connections": "300", "shared_buffers": "4GB", "effective_cache_size": "12GB",
        "maintenance_work_mem": "1GB", "checkpoint_completion_target": "0.9",
        "wal_buffers": "16MB", "default_statistics_target": "100", "random_page_cost": "1.1",
        "effective_io_concurrency": "200", "work_mem": "13797kB", "huge_pages": "try",
        "jit": "off", "wal_compression": "lz4", "min_wal_size": "2GB", "max_wal_size": "8GB",
        "max_worker_processes": "4", "max_parallel_workers_per_gather": "2",
        "max_parallel_workers": "4", "max_parallel_maintenance_workers": "2",
    }),
    "c-dw-64G-16cpu-hdd": (PgTuneInput(16, "linux", "dw", 64, "GB", 16, hd_type="hdd"), {
        "max_connections": "40", "shared_buffers": "16GB", "effective_cache_size": "48GB",
        "maintenance_work_mem": "8GB", "checkpoint_completion_target": "0.9",
        "wal_buffers": "16MB", "default_statistics_target": "500", "random_page_cost": "4",
        "effective_io_concurrency": "2", "work_mem": "149796kB", "huge_pages": "try",
        "wal_compression": "lz4", "autovacuum_max_workers": "4", "autovacuum_work_mem": "2GB",
        "min_wal_size": "4GB", "max_wal_size": "16GB", "max_worker_processes": "16",
        "max_parallel_workers_per_gather": "8", "max_parallel_workers": "16",
        "max_parallel_maintenance_workers": "4",
    }),
    "d-mixed-8G-8cpu-san": (PgTuneInput(16, "linux", "mixed", 8, "GB", 8, hd_type="san"), {
        "max_connections": "100", "shared_buffers": "2GB", "effective_cache_size": "6GB",
        "maintenance_work_mem": "512MB", "checkpoint_completion_target": "0.9",
        "wal_buffers": "16MB", "default_statistics_target": "100", "random_page_cost": "1.1",
        "effective_io_concurrency": "300", "work_mem": "9709kB", "huge_pages": "try",
        "jit": "off", "wal_compression": "lz4", "min_wal_size": "1GB", "max_wal_size": "4GB",
        "max_worker_processes": "8", "max_parallel_workers_per_gather": "4",
        "max_parallel_workers": "8", "max_parallel_maintenance_workers": "4",
    }),
}

GOLDEN_A = """\
# WARNING
# wal_compression = lz4 requires PostgreSQL
# to be compiled with --with-lz4

# DB Version: 16
# OS Type: linux
# DB Type: web
# Total Memory (RAM): 4 GB
# CPUs num: 2
# Data Storage: ssd

max_connections = 200
shared_buffers = 1GB
effective_cache_size = 3GB
maintenance_work_mem = 256MB
checkpoint_completion_target = 0.9
wal_buffers = 16MB
default_statistics_target = 100
random_page_cost = 1.1
effective_io_concurrency = 200
work_mem = 5041kB
huge_pages = off
jit = off
wal_compression = lz4
min_wal_size = 1GB
max_wal_size = 4GB
"""


@pytest.mark.parametrize("inputs, expected", CASES.values(), ids=CASES.keys())
def test_oracle_table(inputs, expected):
    result = pgtune(inputs)
    assert {k: format_value(k, v) for k, v in result.settings} == expected


def test_golden_conf_case_a():
    assert render_conf(pgtune(CASES["a-web-4G-2cpu-ssd"][0])) == GOLDEN_A


@pytest.mark.parametrize("db_size, work_mem", [("less_ram", 6553), ("mid_ram", 5041),
                                               ("greater_ram", 4536)],
                         ids=["less-ram-x1.3", "mid-ram", "greater-ram-x0.9"])
def test_db_size_scales_work_mem(db_size, work_mem):
    inputs = PgTuneInput(16, "linux", "web", 4, "GB", 2, db_size=db_size)
    assert dict(pgtune(inputs).settings)["work_mem"] == work_mem


@pytest.mark.parametrize("inputs, key, value", [
    (PgTuneInput(18, "linux", "web", 4, "GB", 16), "io_method", "io_uring"),
    (PgTuneInput(18, "windows", "web", 4, "GB", 16), "io_workers", 4),
    (PgTuneInput(16, "windows", "dw", 64, "GB", 16), "maintenance_work_mem", 2096128),
    (PgTuneInput(16, "linux", "desktop", 4, "GB"), "wal_level", "minimal"),
], ids=["pg18-io-uring", "pg18-windows-io-workers", "windows-mwm-2047MB", "desktop-minimal"])
def test_version_and_os_rules(inputs, key, value):
    assert dict(pgtune(inputs).settings)[key] == value
