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
"""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run, write

SECTIONS = ["postgres", "pgbouncer", "redis", "supervisor", "databases", "users", "clients",
            "workload", "budget", "policy", "extends"]
NAMES = ["work_mem", "shared_buffers", "max_connections", "listen_addresses", "listen_port",
         "pool_mode", "maxmemory", "save", "bind", "hz", "minfds", "name", "user", "password",
         "processes", "command", "database", "environment", "supervisor", "memory", "programs",
         "directory", "run_as", "redis_user", "keys", "commands", "connections", "address",
         "method", "replication", "pool_size", "waivers", "rule", "reason", "role", "users",
         "inet_http_server", "port", "numprocs", "stopwaitsecs", "dbname", "admin"]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
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
