"""Every message is checked against the target: versions named from the target, hints for how
versions are written, numbers as people write them, a did-you-mean for every enum value and
for a parameter written without its section."""

import re

import pytest
from helpers import compile_with, run, write

from perfcfg.core.units import UnitError
from perfcfg.services import catalog as catalogs
from perfcfg.services import registry
from perfcfg.stages.validate import PATTERN_HINTS


def errors(result):
    return [d for d in result.diagnostics if d.severity == "error"]


def test_every_pattern_of_perfcfgs_own_fields_has_words():
    from perfcfg.model import spec

    patterns = set()
    for record in spec.MODELS:
        for field in record.model_fields.values():
            for meta in field.metadata:
                if getattr(meta, "pattern", None):
                    patterns.add(meta.pattern)
    assert patterns and patterns <= set(PATTERN_HINTS), patterns - set(PATTERN_HINTS)


@pytest.mark.parametrize("version", ["1.18", "1.24"])
def test_a_message_names_the_targeted_version_not_another(project, version):
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text() +
          f"targets: {{pgbouncer: '{version}'}}\n")
    found = errors(compile_with(project, "pgbouncer:\n  query_timeout: 30s\n", render=False))
    assert len(found) == 1 and f"pgbouncer {version} accepts no unit" in found[0].message
    other = {"1.18": "1.24", "1.24": "1.18"}[version]
    assert other not in found[0].message


def test_no_range_anywhere_is_written_with_an_exponent():
    # every bounded parameter of every catalog, given a value past its maximum
    seen = 0
    for service in registry.SERVICES:
        for daemon in service.flavours or (service.daemon,):
            for version in catalogs.versions(daemon):
                cat = catalogs.load(daemon, version, service.case_insensitive)
                assert cat is not None, (daemon, version)
                for param in cat.params.values():
                    if param.max is None or param.type not in ("integer", "real"):
                        continue
                    with pytest.raises(UnitError) as raised:
                        catalogs.check_range(param, param.max * 2 + 1)
                    assert not re.search(r"\de[+-]\d", str(raised.value)), str(raised.value)
                    assert f"{daemon} {version}" in str(raised.value)
                    seen += 1
    assert seen > 500


def test_a_bare_number_out_of_range_gets_the_unit_it_was_read_in(project):
    found = errors(compile_with(project, None, render=False, sets=("postgres.work_mem=16",)))
    assert len(found) == 1
    assert "16kB is outside the range postgresql 17 accepts, 64kB .. 2147483647kB" in \
        found[0].message
    assert "e.g. 16MB" in found[0].hint


@pytest.mark.parametrize("given, meant", [
    ('pgbouncer: "1.24.1"', 'write "1.24"'),
    ('postgres: "17.6"', "write 17 "),
    ("redis: 8.0", 'write "8.0"'),
    ('postgres: "seventeen"', "e.g. 17;"),
    ('valkey: "8.1.1"', 'write "8.1"'),
], ids=["pgbouncer-patch", "postgres-minor", "redis-float", "postgres-word", "valkey-patch"])
def test_a_version_written_another_way_gets_how_to_write_it(project, given, meant):
    write(project / "perfcfg.yaml", (project / "perfcfg.yaml").read_text() +
          f"targets: {{{given}}}\n")
    found = errors(compile_with(project, render=False))
    assert len(found) == 1 and found[0].path.startswith("targets."), found
    assert meant in found[0].hint and "perfcfg has catalogs for" in found[0].hint
    assert "letters, digits" not in found[0].hint and "e.g. 4" not in found[0].hint


@pytest.mark.parametrize("text, meant", [
    ("pgbouncer:\n  pool_mode: transactional\n", "'transaction'"),
    ("redis:\n  maxmemory-policy: allkeys-lfru\n", "'allkeys-lfu'"),
    ("postgres:\n  wal_level: replicas\n", "'replica'"),
    ("supervisor:\n  loglevel: warning\n", "'warn'"),
    ("workload:\n  db_profile: oltpp\n", "'oltp'"),
    ("databases:\n  - name: app\n    pool_mode: sessions\n", "'session'"),
], ids=["pgbouncer", "redis", "postgres", "supervisor", "own-literal", "own-literal-in-item"])
def test_every_enum_value_gets_a_did_you_mean(project, text, meant):
    found = errors(compile_with(project, text, render=False))
    assert len(found) == 1, found
    assert re.search(rf"did you mean [^?]*{meant}", found[0].hint), found[0].hint


@pytest.mark.parametrize("assignment, meant", [
    ("work_mem=16MB", "'postgres.work_mem'"),
    ("maxmemory-policy=allkeys-lru", "'redis.maxmemory-policy'"),
    ("default_pool_size=5", "'pgbouncer.default_pool_size'"),
])
def test_a_set_without_its_section_gets_the_setting_path(project, assignment, meant):
    found = errors(compile_with(project, None, render=False, sets=(assignment,)))
    assert len(found) == 1 and f"did you mean {meant}" in found[0].hint


def test_an_environment_given_by_its_beginning_gets_a_did_you_mean(project):
    done = run("validate", "--project", str(project), "--env", "stag")
    assert done.code == 1 and "did you mean 'staging'?" in done.err


@pytest.mark.parametrize("mode, chown, who", [
    ("0777", "", "every local user"),
    ("0707", "", "every local user"),
    ("0770", "", "socket's group, which no chown names"),
    ("0770", "app:app", None),
    ("0700", "", None),
])
def test_the_control_socket_finding_names_who_the_mode_lets_in(project, mode, chown, who):
    text = f"supervisor:\n  unix_http_server:\n    chmod: \"{mode}\"\n" + \
        (f"    chown: {chown}\n" if chown else "")
    found = [d for d in compile_with(project, text, "staging", render=False).diagnostics
             if d.code == "PCF407"]
    assert [who in d.message for d in found] == ([True] if who else [])


@pytest.mark.parametrize("program", [
    "    - name: worker\n      memory: 20GiB\n",
    "    - name: worker\n      processes: 400\n",
], ids=["its-memory", "its-processes"])
def test_a_memory_overrun_points_at_the_program_that_takes_it(project, program):
    found = [d for d in compile_with(project, "workload:\n  programs:\n" + program,
                                     render=False).diagnostics if d.code == "PCF301"]
    assert len(found) == 1
    places = [(s.file, s.line) for s in (found[0].span, *(r.span for r in found[0].related))
              if s is not None]
    assert ("presets/staging.yaml", 5) in places, places
    assert (found[0].path or "").startswith("workload.programs.worker.")
    assert "worker" in found[0].message
    assert "host.memory" in [r.path for r in found[0].related]
