"""explain answers for every setting path perfcfg knows, in each of the example's environments."""

import json
import re

import pytest
from helpers import ENVS, EXAMPLE, ROOT, run

from perfcfg.cli import explain as explainer
from perfcfg.stages import pipeline


@pytest.fixture(scope="module", params=ENVS)
def compiled(request):
    result = pipeline.compile_env(pipeline.Request(EXAMPLE, request.param, render=False))
    assert result.plan is not None
    return result


def test_every_known_path_is_explained(compiled):
    found = explainer.paths(compiled)
    kinds: dict[str, str] = {}
    for path in found:
        answer = explainer.explain(compiled, path)
        assert answer is not None, path
        json.dumps(answer)   # the --format json answer is plain data
        kinds.setdefault(answer["origin"]["kind"], path)
    # tuned, written in a preset, derived, the daemon's default: each kind occurs
    assert {"tuned", "derived", "daemon-default"} <= set(kinds), kinds
    assert {"file", "builtin"} & set(kinds), kinds
    assert len(found) > 500   # the catalogs' parameters are in it, not only perfcfg's own


def test_a_daemon_default_names_its_value_and_catalog(compiled):
    answer = explainer.explain(compiled, "postgres.wal_writer_delay")
    assert answer is not None
    assert answer["origin"]["kind"] == "daemon-default" and answer["written_as"] == "200ms"
    version = compiled.config.targets.postgres   # 17 in staging and production, 15 on laptops
    assert f"postgresql-{version}.json" in answer["origin"]["detail"]


def test_an_auto_pool_size_shows_the_number_its_own_line_writes(compiled):
    # not the [pgbouncer] fallback: each database's line has its own (test_explain_written
    # compares every one with the files, in a project whose databases differ)
    answer = explainer.explain(compiled, "databases.botfarm.pool_size")
    assert answer is not None
    own = compiled.plan.settings["pgbouncer.databases.botfarm.pool_size"].value
    assert answer["value"] == own and isinstance(own, int)
    assert answer["origin"]["kind"] == "tuned"
    assert "pgbouncer.databases.botfarm.pool_size" in answer["reason"]


def test_every_setting_path_the_readme_lists_is_explained():
    table = (ROOT / "README.md").read_text().split("### Presets", 1)[1].split("\n\n", 3)[2]
    listed = re.findall(r"`([a-z_]+\.[a-z_.-]+)`", table)
    assert "redis.users.bot.keys" in listed and len(listed) >= 10
    for path in listed:
        result = run("explain", "--env", "production", "--project", str(EXAMPLE), path)
        assert result.code == 0, (path, result.err)
        assert result.out.startswith(f"{path} = ")


def test_the_readme_tuning_sample_is_the_real_output():
    """The README's explain sample under "Tuning" (lines before its "...") is what explain
    prints today: a tuning change that moves work_mem must update the README with it."""
    command = "$ perfcfg explain --env staging --project examples/botfarm postgres.work_mem\n"
    sample = (ROOT / "README.md").read_text().split(command, 1)[1].split("  ...\n", 1)[0]
    result = run("explain", "--env", "staging", "--project", str(EXAMPLE), "postgres.work_mem")
    assert result.code == 0, result.err
    assert sample.count("\n") >= 3 and result.out.startswith(sample), (sample, result.out)


def test_a_target_version_is_explained_with_the_line_that_states_it():
    # the cross-service findings (PCF309, PCF310) name targets.<daemon>: explain answers it
    found = run("explain", "targets.pgbouncer", "--env", "development", "--project", str(EXAMPLE),
                "--format", "json")
    assert found.code == 0, found.err
    answer = json.loads(found.out)
    assert answer["value"] == "1.18"
    line = (EXAMPLE / "perfcfg.yaml").read_text().splitlines()[answer["origin"]["line"] - 1]
    assert 'pgbouncer: "1.18"' in line
    staging = run("explain", "targets.pgbouncer", "--env", "staging", "--project", str(EXAMPLE))
    assert staging.code == 0 and staging.out.startswith("targets.pgbouncer = 1.24\n")


def test_a_host_figure_is_explained_with_the_host_profile_line(monkeypatch):
    monkeypatch.chdir(EXAMPLE / "presets")
    found = run("explain", "host.memory", "--env", "production")
    assert found.code == 0, found.err
    assert found.out.splitlines()[0] == "host.memory = 68719476736 (64 GiB)"
    # the place as typed from where perfcfg runs; --format json keeps the project's name
    assert "origin: ../hosts/prod-nvme.yaml:3:" in found.out
    doc = run("explain", "host.memory", "--env", "production", "--format", "json").out
    assert '"file": "hosts/prod-nvme.yaml"' in doc


def test_an_unwritten_target_says_it_is_perfcfgs_default(tmp_path):
    from helpers import copy_example

    project = copy_example(tmp_path, with_generated=False)
    text = (project / "perfcfg.yaml").read_text()
    (project / "perfcfg.yaml").write_text(text.replace('  supervisor: "4.3"\n', "", 1))
    found = run("explain", "targets.supervisor", "--env", "staging", "--project", str(project))
    assert found.code == 0, found.err
    assert "perfcfg's default target" in found.out
