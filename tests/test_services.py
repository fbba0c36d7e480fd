"""The service registry: each daemon declared once, and a new daemon version is only a catalog
file (plus its facts inside its own service)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import copy_example, write

from perfcfg.services import catalog as catalogs
from perfcfg.services import registry
from perfcfg.services.base import targets_version
from perfcfg.stages.pipeline import Request, compile_env
from perfcfg.stages.render import FILES, SECRET_FILES

CATALOGS = Path(__file__).resolve().parent.parent / "schemas" / "catalogs"


@pytest.fixture
def extra_catalogs(tmp_path, monkeypatch):
    """A catalog folder of the test's own, searched after the packaged catalogs."""
    folder = tmp_path / "catalogs"
    folder.mkdir()
    monkeypatch.setattr(catalogs, "EXTRA_DIRS", [folder])
    catalogs.load.cache_clear()
    yield folder
    catalogs.load.cache_clear()


def _targets(project: Path, **targets: str) -> None:
    text = (project / "perfcfg.yaml").read_text()
    for key, value in targets.items():
        # the project's own targets (two spaces in), not an environment's
        lines = [f'  {key}: "{value}"' if line.startswith(f"  {key}:") else line
                 for line in text.splitlines()]
        text = "\n".join(lines) + "\n"
    write(project / "perfcfg.yaml", text)


def test_a_new_daemon_version_is_one_catalog_file(tmp_path, extra_catalogs):
    # The recipe "add a daemon version", exercised: a pgbouncer release perfcfg has never
    # heard of, described only by its catalog file, builds with no other change.
    data = json.loads((CATALOGS / "pgbouncer-1.18.json").read_text())
    data["version"] = "1.19"
    (extra_catalogs / "pgbouncer-1.19.json").write_text(json.dumps(data))
    base = copy_example(tmp_path / "base", with_generated=False)
    newer = copy_example(tmp_path / "newer", with_generated=False)
    _targets(base, pgbouncer="1.18")
    _targets(newer, pgbouncer="1.19")
    before = compile_env(Request(base, "staging"))
    after = compile_env(Request(newer, "staging"))
    assert before.ok and after.ok, [d.message for d in after.diagnostics]
    assert "1.19" in registry.by_name("pgbouncer").versions()
    assert after.files["pgbouncer.ini"].split(b"\n[databases]")[1] == \
        before.files["pgbouncer.ini"].split(b"\n[databases]")[1]


def test_a_version_without_a_catalog_lists_the_versions_there_are(tmp_path):
    project = copy_example(tmp_path, with_generated=False)
    _targets(project, pgbouncer="1.9")
    result = compile_env(Request(project, "staging"))
    [diag] = [d for d in result.diagnostics if d.code == "PCF207"]
    assert diag.path == "targets.pgbouncer"
    assert diag.span is not None and diag.span.file == "perfcfg.yaml"
    for version in registry.by_name("pgbouncer").versions():
        assert version in (diag.hint or "")


def test_every_output_is_declared_once_by_one_service():
    names = [n for o in registry.outputs() for n in o.names]
    assert len(names) == len(set(names))
    assert tuple(names) == FILES
    assert {n for s in registry.SERVICES for o in s.outputs if o.secret
                            for n in o.names} == SECRET_FILES
    assert {o.mode for o in registry.outputs()} <= {0o600, 0o644}


@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_every_service_has_a_catalog_for_its_default_target(service):
    from perfcfg import model

    catalog = service.catalog(model.Targets())
    assert catalog is not None and catalog.params
    assert targets_version(service, model.Targets()) in service.versions(model.Targets())


@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_every_rule_of_a_service_is_in_the_policy_table(service):
    from perfcfg.stages.policy import RULES

    for rule in service.rules:
        assert RULES[rule.code] is rule


def test_a_copied_catalog_is_still_read_from_the_package_first(tmp_path, extra_catalogs):
    # A test folder never shadows a packaged catalog.
    shutil.copy(CATALOGS / "redis-7.0.json", extra_catalogs / "redis-7.0.json")
    data = json.loads((extra_catalogs / "redis-7.0.json").read_text())
    data["parameters"] = {}
    (extra_catalogs / "redis-7.0.json").write_text(json.dumps(data))
    loaded = catalogs.load("redis", "7.0", True)
    assert loaded is not None and loaded.params
