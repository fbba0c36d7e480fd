"""explain answers with what is written: for every path it accepts that a generated file
writes, its value is the file's, in the example's environments and in a project with two
databases; a value the daemon keeps by default is one no file writes; each layer that set a
value shows what it set."""

from __future__ import annotations

import re

import pytest
from helpers import ENVS, EXAMPLE, run, write

from perfcfg.cli import explain as explainer
from perfcfg.stages import pipeline

TWO_DATABASES = """\
databases:
  - name: shop
    user: shop
  - name: reports
    user: reporter
    clients: 3
  - name: audit
    user: auditor
    pool_size: 3
    pool_mode: session
    clients: 2
users:
  - {name: shop, password: "${env:SHOP_DB_PASSWORD}"}
  - {name: reporter, password: "${env:SHOP_REPORT_PASSWORD}"}
  - {name: auditor, password: "${env:SHOP_AUDIT_PASSWORD}"}
redis:
  users:
    - {name: shop, password: "${env:SHOP_REDIS_PASSWORD}", keys: ["shop:*"], commands: [+@all]}
workload:
  db_profile: web
  programs:
    - {name: web, command: gunicorn shop.wsgi, processes: 4, db_connections: 2, memory: 200MiB,
       run_as: shop}
    - {name: mailer, command: python -m shop.mailer, processes: 2, memory: 100MiB, run_as: shop}
    - {name: reportgen, command: python -m shop.reports, database: reports, memory: 150MiB,
       run_as: shop}
"""


def two_database_project(root):
    write(root / "perfcfg.yaml", "project: shop\nsecrets: {mode: placeholder}\nenvironments:\n"
          "  production: {preset: presets/production.yaml, host: hosts/prod.yaml}\n"
          "  development: {preset: presets/development.yaml, host: hosts/laptop.yaml}\n")
    write(root / "hosts/prod.yaml", "memory: 32GiB\ncpus: 8\nstorage: nvme\n")
    write(root / "hosts/laptop.yaml", "memory: 8GiB\ncpus: 4\n")
    write(root / "presets/base.yaml", TWO_DATABASES)
    for env in ("production", "development"):
        write(root / f"presets/{env}.yaml", f"extends: [builtin:{env}, base.yaml]\n")
    return root


def sections(text: str, comment: str) -> dict[str, list[str]]:
    """An INI-like file's lines per ``[section]`` (comments left out)."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            out.setdefault(current, [])
        elif line.strip() and not line.startswith(comment):
            out[current].append(line)
    return out


class Written:
    """What the generated files of one environment write, looked up by setting path."""

    def __init__(self, files: dict[str, bytes]):
        text = {name: data.decode() for name, data in files.items()}
        self.pg = {m.group(1): m.group(2) for m in re.finditer(
            r"^(\w+) = (.*?)(?:\s+#.*)?$", text["postgresql.conf"], re.MULTILINE)}
        ini = sections(text["pgbouncer.ini"], ";")
        self.bouncer = dict(line.split(" = ", 1) for line in ini["pgbouncer"])
        self.databases = {}
        for line in ini["databases"]:
            name, conn = line.split(" = ", 1)
            self.databases[name] = dict(pair.split("=", 1) for pair in conn.split())
        cache = text.get("redis.conf") or text["valkey.conf"]
        self.redis: dict[str, str] = {}
        for line in cache.splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition(" ")
                self.redis[key] = (self.redis[key] + "\n" + value) if key in self.redis \
                    else value
        sup = sections(text["supervisord.conf"], ";")
        self.supervisor = {name: dict(line.split(" = ", 1) for line in lines
                                      if " = " in line) for name, lines in sup.items()}

    def value(self, path: str) -> str | None:
        """The written value of ``path``; None when no file writes it."""
        service, _, rest = path.partition(".")
        if service == "postgres":
            return self.pg.get(rest)
        if service == "pgbouncer" and rest.startswith("databases."):
            _, db, key = rest.split(".")
            return self.databases.get(db, {}).get(key)
        if service == "pgbouncer":
            return self.bouncer.get(rest)
        if service == "redis":
            return self.redis.get(rest)
        if service == "supervisor":
            if rest.startswith("programs."):
                _, program, key = rest.rsplit(".", 2)
                return self.supervisor.get(f"program:{program}", {}).get(key)
            section, _, key = rest.rpartition(".")
            return self.supervisor.get(section or "supervisord", {}).get(key)
        if service == "databases":
            db, key = rest.split(".")
            return self.databases.get(db, {}).get(key)
        return None


def compiled_envs():
    return [(EXAMPLE, env) for env in ENVS] + [("two-databases", env)
                                              for env in ("production", "development")]


@pytest.fixture(scope="module")
def two_databases(tmp_path_factory):
    return two_database_project(tmp_path_factory.mktemp("shop"))


@pytest.mark.parametrize("project, env", compiled_envs(),
                         ids=[f"{'example' if p == EXAMPLE else p}-{e}"
                              for p, e in compiled_envs()])
def test_every_explained_value_is_the_written_one(project, env, two_databases):
    root = two_databases if project == "two-databases" else project
    result = pipeline.compile_env(pipeline.Request(root, env, secrets_mode="placeholder"))
    assert result.ok, result.diagnostics
    written = Written(result.files)
    compared = defaults = 0
    for path in explainer.paths(result):
        answer = explainer.explain(result, path)
        if answer is None or answer["value"] == explainer.SECRET:
            continue
        in_file = written.value(path)
        shown = answer["written_as"] if answer["written_as"] is not None else answer["value"]
        if answer["origin"]["kind"] == "daemon-default":
            # perfcfg leaves it to the daemon: no file writes it
            assert in_file is None, (path, in_file)
            defaults += 1
        elif in_file is not None:
            assert str(shown) == in_file, (path, shown, in_file)
            compared += 1
    assert compared > 100 and defaults > 100, (compared, defaults)


def test_every_pool_reserve_and_cap_of_two_databases(two_databases):
    result = pipeline.compile_env(pipeline.Request(two_databases, "production",
                                                   secrets_mode="placeholder"))
    written = Written(result.files)
    assert set(written.databases) == {"shop", "reports", "audit"}
    for db in written.databases:
        for key in ("pool_size", "reserve_pool", "max_db_connections"):
            paths = [f"pgbouncer.databases.{db}.{key}"] + \
                ([f"databases.{db}.{key}"] if key != "max_db_connections" else [])
            for path in paths:
                done = run("explain", "--env", "production", "--project", str(two_databases),
                           path)
                assert done.code == 0, done.err
                assert done.out.splitlines()[0] == f"{path} = {written.databases[db][key]}"
    # the databases differ, so a pool that showed the shared fallback would be caught
    assert len({written.databases[db]["pool_size"] for db in written.databases}) > 1


def test_a_pool_mode_left_unset_names_the_one_it_runs_with(two_databases):
    result = pipeline.compile_env(pipeline.Request(two_databases, "production",
                                                   secrets_mode="placeholder"))
    own = explainer.explain(result, "databases.audit.pool_mode")
    assert own is not None and own["value"] == "session"
    shared = explainer.explain(result, "databases.reports.pool_mode")
    assert shared is not None and result.plan is not None
    assert shared["value"] == result.plan.settings["pgbouncer.pool_mode"].value
    assert "runs with pgbouncer.pool_mode" in shared["reason"]


def test_each_layer_shows_what_it_set():
    done = run("explain", "--env", "development", "--project", str(EXAMPLE),
               "workload.programs.matcher.processes")
    lines = done.out.splitlines()
    base = next(x for x in lines if "presets/base.yaml" in x)
    own = next(x for x in lines if "presets/development.yaml" in x)
    assert base.endswith(": 24") and own.endswith(": 2"), done.out
    listed = run("explain", "--env", "production", "--project", str(EXAMPLE), "redis.bind")
    assert listed.out.splitlines()[0] == "redis.bind = 127.0.0.1 -::1", listed.out
    assert "[127.0.0.1, -::1]" in listed.out.replace('"', "").replace("'", ""), listed.out
