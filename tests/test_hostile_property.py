"""No input makes perfcfg fail with an internal error: a property test (hypothesis).

What it generates, each example one staging preset over the conftest project:

- a **structured** preset: named lists (``workload.programs``, ``databases``, ``users``,
  ``clients``) whose items have their real fields (``processes``, ``database``,
  ``supervisor``, ``environment``, ``password``…) and the generated values below, and
  ``redis:``/``pgbouncer:`` maps of real parameters;
- a **tree**: a mapping whose top-level keys are perfcfg's sections (``postgres``,
  ``pgbouncer``, ``redis``, ``supervisor``, ``databases``, ``users``, ``clients``,
  ``workload``, ``budget``, ``policy``, ``extends``) or arbitrary text; under them, real
  parameter and field names (``work_mem``, ``listen_port``, ``maxmemory``, ``processes``,
  ``supervisor``, ``environment``…) or arbitrary text; and as values any of: integers from
  tiny to 60 digits, floats (inf and nan included), booleans, null, text (control characters,
  quotes, ``%``, ``;``, ``#``, non-ASCII, U+2028), secret references, ``auto``, lists and
  nested mappings, to a depth of four;
- written as YAML (``yaml.safe_dump``), or as a **raw text** of arbitrary characters (a
  broken file), with a ``--set PATH=VALUE`` of generated text half of the time.

For each, ``perfcfg validate`` and ``perfcfg build`` must exit 0 or 1, never print
"internal error" or a traceback, and never leave a file behind when they exit 1. 80
examples: well under a minute on a loaded CI runner.

A second property (real daemon) generates host profiles — 256 MiB to 64 TiB, 1 to 4,096
CPUs, every storage kind, 256 to 1,048,576 open files — and checks that PostgreSQL itself
(``postgres -C``) accepts every tuned value perfcfg writes for them, and reports it unchanged.
"""

from __future__ import annotations

import string

import pytest
import yaml
from helpers import run, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECTIONS = ["postgres", "pgbouncer", "redis", "supervisor", "databases", "users", "clients",
            "workload", "budget", "policy", "extends"]
NAMES = ["work_mem", "shared_buffers", "max_connections", "listen_addresses", "listen_port",
         "pool_mode", "maxmemory", "save", "bind", "hz", "minfds", "name", "user", "password",
         "processes", "command", "database", "environment", "supervisor", "memory", "programs",
         "directory", "run_as", "redis_user", "keys", "commands", "connections", "address",
         "method", "replication", "pool_size", "waivers", "rule", "reason", "role", "users",
         "inet_http_server", "port", "numprocs", "stopwaitsecs", "dbname", "admin"]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
leaf = st.one_of(
    st.integers(min_value=-10, max_value=10),
    st.integers(min_value=-(10 ** 60), max_value=10 ** 60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), text,
    st.sampled_from(["auto", "${env:APP_DB_PASSWORD}", "${file:secrets/x}", "${env:}",
                     "64MB", "1GiB", "127.0.0.1", "*", "0700", "1:30", "%(here)s", "a ;b",
                     "builtin:staging", "base.yaml", "../x.yaml", "/etc/passwd"]),
)
key = st.one_of(st.sampled_from(NAMES), text.filter(bool))
value = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=4)), max_leaves=12)
tree = st.dictionaries(st.one_of(st.sampled_from(SECTIONS), text.filter(bool)), value,
                       max_size=4)
# Named lists with their real fields, so that generated values reach the model and the
# encoders rather than stopping at an unknown key.
PROGRAM_FIELDS = ["command", "processes", "db_connections", "redis_connections", "memory",
                  "database", "user", "directory", "run_as", "redis_user", "environment",
                  "supervisor"]
item = st.builds(lambda name, fields: {"name": name, **fields},
                 st.one_of(st.sampled_from(["worker", "app", "all", "x"]), text),
                 st.dictionaries(st.sampled_from(PROGRAM_FIELDS + ["password", "pool_size",
                                                                   "address", "method",
                                                                   "connections", "admin"]),
                                 value, max_size=4))
structured = st.fixed_dictionaries({}, optional={
    "workload": st.fixed_dictionaries({"programs": st.lists(item, max_size=3)}),
    "databases": st.lists(item, max_size=2), "users": st.lists(item, max_size=2),
    "clients": st.lists(item, max_size=2),
    "redis": st.dictionaries(st.sampled_from(["maxmemory", "save", "bind", "hz", "users",
                                              "masterauth", "role"]), value, max_size=3),
    "pgbouncer": st.dictionaries(st.sampled_from(["listen_port", "pool_mode", "auth_type",
                                                  "max_client_conn", "listen_addr"]), value,
                                 max_size=3)})
raw = st.text(alphabet=string.printable + "\x00\u2028é{}[]&*!|>", max_size=200)
assignment = st.one_of(st.none(), st.builds(lambda p, v: f"{p}={v}",
                                            st.sampled_from([
                                                "postgres.work_mem", "redis.bind",
                                                "workload.programs.worker.processes",
                                                "workload.programs.worker.name",
                                                "users.app.name", "pgbouncer.listen_port"]),
                                            text))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(preset=st.one_of(st.one_of(tree, structured).map(
           lambda t: "extends: [builtin:staging, base.yaml]\n" +
           yaml.safe_dump(t, allow_unicode=True)), raw),
       extra=assignment)
@pytest.mark.slow
def test_no_generated_input_is_an_internal_error(project, monkeypatch, preset, extra):
    monkeypatch.setenv("APP_DB_PASSWORD", "db-password-123")
    write(project / "presets/staging.yaml", preset)
    sets = ["--set", extra] if extra else []
    for args in (["validate"], ["build", "--env", "staging"]):
        result = run(*args, "--project", str(project), *sets)
        assert result.code in (0, 1), (result.code, result.err)
        assert "internal error" not in result.err and "Traceback" not in result.err, result.err
        if args[0] == "build" and result.code == 1:
            assert not (project / "generated").exists()
    import shutil

    shutil.rmtree(project / "generated", ignore_errors=True)


HOSTS = st.fixed_dictionaries({
    "memory": st.sampled_from(["256MiB", "1GiB", "7GiB", "64GiB", "1TiB", "64TiB"]),
    "cpus": st.integers(min_value=1, max_value=4096),
    "storage": st.sampled_from(["hdd", "ssd", "san", "nvme"]),
    "open_files": st.sampled_from([256, 1024, 65536, 1048576]),
})


@pytest.mark.daemons
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(host=HOSTS)
def test_postgres_keeps_every_tuned_value_for_any_host(project, postgres_bin, host):
    """Tuned and derived values, widened to any host (256 MiB to 64 TiB, 1 to 4,096 CPUs):
    the real PostgreSQL (``postgres -C``, every value parsed and range-checked, no server
    started) accepts postgresql.conf and reports each tuned value exactly as intended."""
    from conftest import require_daemon

    from perfcfg.services.postgres.daemon import check_postgresql_conf
    from perfcfg.services.postgres.units import PG_BASE_BYTES, PG_BASE_US
    from perfcfg.services.registry import SERVICES
    from perfcfg.stages.pipeline import Request, compile_env

    postgres = next(s for s in SERVICES if s.daemon == "postgresql")
    write(project / "hosts/vm.yaml", "".join(f"{k}: {v}\n" for k, v in host.items()))
    result = compile_env(Request(project, "staging", secrets_mode="placeholder"))
    if not result.ok:           # a host too small for the workload is a diagnostic, not a file
        assert all(d.code.startswith(("PCF3", "PCF2")) for d in result.diagnostics
                   if d.severity == "error"), result.diagnostics
        return
    assert result.plan is not None and result.config is not None
    expected = {}
    for path, setting in result.plan.settings.items():
        if not path.startswith("postgres.") or not setting.tuned or \
                isinstance(setting.value, bool) or not isinstance(setting.value, (int, float)):
            continue
        name = path.split(".", 1)[1]
        param = postgres.param(result.config.targets, name)
        assert param is not None
        scale = PG_BASE_BYTES.get(param.unit or "") or PG_BASE_US.get(param.unit or "") or 1
        expected[name] = setting.value / scale if setting.value != -1 else -1
    conf = result.files["postgresql.conf"].decode()
    assert len(expected) > 10
    # the binary of the version the file targets (a 17 file may hold 16+ parameters)
    version = str(result.config.targets.postgres)
    require_daemon("postgresql", version)
    reported = check_postgresql_conf(conf, tuple(sorted(expected)), version=version)
    for name, want in expected.items():
        assert float(reported[name]) == pytest.approx(want), (name, reported[name], want)
