"""Fixtures that start real daemons (each service's daemon.py) and always tear them down.

A missing daemon binary skips the test, unless ``PERFCFG_REQUIRE_DAEMONS=1`` (CI), where it
fails: CI must never go green by skipping the real-daemon tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from perfcfg.harness.binaries import missing
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres.daemon import PgTemplate, PostgresServer
from perfcfg.services.redis.daemon import RedisServer
from perfcfg.services.supervisor.daemon import Supervisord

# Fixtures that start a real daemon: a test using one is a `daemons` test whether it says so
# or not, so that `-m "not daemons"` never starts one.
DAEMON_FIXTURES = frozenset({"pg_template", "pg_template_of", "postgres_bin", "start_postgres",
                             "start_pgbouncer", "start_redis", "start_supervisord"})
# Markers of tests that are slow by nature (a virtualenv from PyPI, pre-commit's own run).
SLOW_MARKERS = frozenset({"precommit", "pypi"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fast loop is ``pytest -m "not slow and not daemons"`` (README: Developing)."""
    for item in items:
        names = {m.name for m in item.iter_markers()}
        if names & SLOW_MARKERS:
            item.add_marker(pytest.mark.slow)
        if DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.daemons)


def require_daemon(daemon: str, version: str | None = None) -> None:
    """Skip (or, under PERFCFG_REQUIRE_DAEMONS=1, fail) when ``daemon`` (of ``version``; None:
    the default one) is not installed."""
    lacking = missing(daemon, version)
    if not lacking:
        return
    message = f"{daemon}: {', '.join(lacking)} not installed (run .ci/install.sh)"
    if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate]:
    """One initdb per session; each server starts from a ``cp -a`` of it."""
    require_daemon("postgresql")
    with PgTemplate() as template:
        yield template


@pytest.fixture
def postgres_bin() -> None:
    """For offline checks (``postgres -C``) that need the binary but no server."""
    require_daemon("postgresql")


@pytest.fixture(scope="session")
def pg_template_of(pg_template: PgTemplate) -> Iterator[Callable[[str | None], PgTemplate]]:
    """``pg_template_of(version)``: one initdb per PostgreSQL version per session, made when
    first asked for (None: the default version's ``pg_template``)."""
    templates: dict[str, PgTemplate] = {}
    with ExitStack() as stack:
        def get(version: str | None) -> PgTemplate:
            if version is None or version == pg_template.version:
                return pg_template
            if version not in templates:
                require_daemon("postgresql", version)
                templates[version] = stack.enter_context(PgTemplate(version))
            return templates[version]
        yield get


@pytest.fixture
def start_postgres(pg_template_of) -> Iterator[Callable[..., PostgresServer]]:
    """``start_postgres(conf_text, hba_text=None, version=None, placed=False)`` → a running
    server of that version (None: the harness's default), stopped after the test."""
    with ExitStack() as stack:
        yield lambda conf, hba_text=None, version=None, placed=False: stack.enter_context(
            PostgresServer(conf, pg_template_of(version), hba_text=hba_text, version=version,
                           placed=placed))


@pytest.fixture
def start_pgbouncer(pg_template: PgTemplate) -> Iterator[Callable[..., PgBouncer]]:
    """``start_pgbouncer(ini_text, userlist_text="", backend=None, version=None)`` → a
    running pgbouncer in front of ``backend`` (a started PostgreSQL)."""
    require_daemon("pgbouncer")
    with ExitStack() as stack:
        def start(ini, userlist="", backend=None, version=None):
            if version is not None:
                require_daemon("pgbouncer", version)
            return stack.enter_context(PgBouncer(ini, userlist, backend=backend,
                                                 version=version))
        yield start


@pytest.fixture
def start_redis() -> Iterator[Callable[..., RedisServer]]:
    """``start_redis(conf_text, username=None, password=None)`` → a running redis-server."""
    require_daemon("redis")
    with ExitStack() as stack:
        yield lambda conf, username=None, password=None, acl=None, placed=False: \
            stack.enter_context(RedisServer(conf, username=username, password=password,
                                            acl_text=acl, placed=placed))


@pytest.fixture
def start_supervisord() -> Iterator[Callable[..., Supervisord]]:
    """``start_supervisord(conf_text)`` → a supervisord whose programs are RUNNING."""
    require_daemon("supervisor")
    with ExitStack() as stack:
        yield lambda conf: stack.enter_context(Supervisord(conf))


@pytest.fixture
def project(tmp_path):
    """A small valid project; tests overwrite its files to make cases."""
    from helpers import write  # imported here: the harness tests copy this conftest alone

    root = tmp_path / "proj"
    write(root / "perfcfg.yaml", "project: demo\nsecrets: {mode: placeholder}\nenvironments:\n"
          "  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 16GiB\ncpus: 4\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/base.yaml", """\
databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
redis:
  users:
    - name: app
      password: ${env:APP_REDIS_PASSWORD}
      keys: ["app:*"]
      commands: [-@all, +@read, +@write, +@connection]
workload:
  programs:
    - name: worker
      command: python -m app.worker
      processes: 4
      memory: 100MiB
      run_as: app
""")
    write(root / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n")
    return root


@pytest.fixture
def example(tmp_path):
    from helpers import copy_example

    return copy_example(tmp_path)
