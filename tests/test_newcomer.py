"""The first hour, scripted: a newcomer starts a project in a fresh directory and follows
every command perfcfg prints, exactly as printed, until check is green."""

from helpers import group, printed_commands, run_as_printed


def test_newcomer_from_init_to_a_green_check(tmp_path):
    def sh(command: str, code: int = 0):
        done = run_as_printed(command, tmp_path)
        assert done.returncode == code, (command, done.stdout, done.stderr)
        assert "internal error" not in done.stderr
        return done

    # init, answering every question with flags (no terminal here, so it would not ask)
    started = sh("perfcfg init 'bot shop' --env development --env production --db-profile oltp")
    nexts = printed_commands(started.stderr)
    assert [c.split()[1] for c in nexts] == ["validate", "build", "check"], started.stderr
    # edit: more workers
    base = tmp_path / "bot shop/presets/base.yaml"
    base.write_text(base.read_text().replace("processes: 2", "processes: 6"))
    sh(nexts[0])                                      # validate
    assert nexts[1].count("--env") == 2, nexts[1]     # every environment check covers
    sh(nexts[1])                                      # build
    sh(nexts[2])                                      # check: green at once
    # hand-edit a generated file, leave a stray one, and lose one
    conf = tmp_path / "bot shop/generated/production/postgresql.conf"
    conf.write_text(conf.read_text().replace("max_connections = ", "max_connections = 1 #"))
    (tmp_path / "bot shop/generated/production/notes.txt").write_text("mine\n")
    (tmp_path / "bot shop/generated/development/users.acl").unlink()
    found = sh(nexts[2], 3)
    fixes = printed_commands(found.stderr)
    assert len(fixes) == 3, found.stderr              # rebuild both, remove notes.txt
    for command in fixes:
        sh(command)
    sh(nexts[2])                                      # check: green again


def test_init_never_overwrites(tmp_path):
    first = run_as_printed("perfcfg init p --no-input", tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_as_printed("perfcfg init p --no-input", tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "p/perfcfg.yaml already exists" in again.stderr


def test_init_inside_a_repository_points_the_hooks_at_the_project(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    done = run_as_printed("perfcfg init deploy/shop --no-input", tmp_path)
    assert done.returncode == 0, done.stderr
    hooks = (tmp_path / "deploy/shop/.pre-commit-config.yaml").read_text()
    assert hooks.count("args: [--project, deploy/shop]") == 2


def test_init_asks_on_a_terminal(tmp_path, monkeypatch):
    import io

    from perfcfg.cli import commands

    answers = iter(["shop", "staging", ""])        # name, environments, workload: default
    monkeypatch.setattr("builtins.input", lambda: next(answers))
    err = io.StringIO()
    assert commands.init(commands.Io(io.StringIO(), err), tmp_path / "x", None, [], None,
                         ask=True) == 0
    assert "Project name [x]: " in err.getvalue()
    project = (tmp_path / "x/perfcfg.yaml").read_text()
    assert "project: shop" in project and "  staging:\n" in project
    assert "db_profile: web" in (tmp_path / "x/presets/base.yaml").read_text()


# -- round two: the first hour with a project of one's own --------------------------------------

# A web app, three workers, a second database, a Redis cache and a direct client.
SHOP = """\
databases:
  - name: shop
    user: shop
  - name: reports
    user: reporter
    clients: 3
users:
  - name: shop
    password: ${env:SHOP_DB_PASSWORD}
  - name: reporter
    password: ${env:SHOP_REPORT_PASSWORD}
clients:
  - name: migrations
    user: shop
    database: shop
    connections: 2
redis:
  role: cache
  users:
    - name: shop
      password: ${env:SHOP_REDIS_PASSWORD}
      keys: ["shop:*"]
      commands: [-@all, +@read, +@write, +@keyspace, +@connection, -@dangerous]
workload:
  db_profile: web
  programs:
    - name: web
      command: gunicorn shop.wsgi
      processes: 4
      db_connections: 2
      redis_connections: 2
      memory: 200MiB
      run_as: shop
    - name: mailer
      command: python -m shop.mailer
      processes: 2
      memory: 100MiB
      run_as: shop
    - name: indexer
      command: python -m shop.indexer
      memory: 300MiB
      run_as: shop
    - name: reportgen
      command: python -m shop.reports
      memory: 150MiB
      database: reports
      run_as: shop
"""

# Eight mistakes, one preset: each of them in one run.
EIGHT = """\
extends: [builtin:production, base.yaml]
postgres:
  max_connections: 10
  work_mem: 16mb
  shared_bufers: 2GB
pgbouncer:
  pool_mode: transactional
redis:
  maxmemory-policy: allkeys-lfru
supervisor:
  unix_http_server:
    chmod: 0770
users:
  - name: reporter
    password: hunter2hunter2
workload:
  programs:
    - name: reportgen
      database: reprots
"""


def test_the_first_hour_round_two(tmp_path, monkeypatch):
    import json
    import re
    import subprocess

    from helpers import run

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    assert run("init", "shop", "--no-input").code == 0
    shop = tmp_path / "shop"
    (shop / "presets/base.yaml").write_text(SHOP)
    monkeypatch.chdir(shop)

    def sh(*args: str, code: int = 0, where: str = "."):
        monkeypatch.chdir(shop / where)
        done = run(*args)
        assert done.code == code, (args, done.out, done.err)
        assert "internal error" not in done.err and "Traceback" not in done.err
        return done

    sh("validate")
    sh("build", "--env", "development", "--env", "production")
    sh("check")
    clean = (shop / "presets/production.yaml").read_text()

    # 1. the 8-mistake preset: all 8 in one run, each at its line
    (shop / "presets/production.yaml").write_text(EIGHT)
    found = json.loads(sh("validate", "--env", "production", "--format", "json",
                          code=1).out)["diagnostics"]
    lines = {(d["code"], d["line"]) for d in found if d["file"] == "presets/production.yaml"}
    # the unquoted 0770 is the loader's (PCF110) and, read as the text it would be once
    # quoted, the policy's too (PCF407)
    assert {("PCF303", 3), ("PCF204", 4), ("PCF201", 5), ("PCF204", 7), ("PCF204", 9),
            ("PCF110", 12), ("PCF407", 12), ("PCF401", 15), ("PCF204", 19)} <= lines, found
    text = sh("validate", "--env", "production", code=1).err
    # 12. a did-you-mean for every enum value
    assert "did you mean 'transaction'?" in text and "'allkeys-lfu'" in text
    # 10. who a mode lets in, from its bits
    assert "0770: every member of the socket's group" in text and "other local" not in text
    (shop / "presets/production.yaml").write_text(clean)
    # 7. the target's version, not a literal
    text = sh("validate", "--env", "production", "--set", "pgbouncer.query_timeout=30s",
              code=1).err
    assert "pgbouncer 1.24 accepts no unit suffix" in text and "1.18" not in text

    # 1b. a bad target does not hide the next one in its block
    project = (shop / "perfcfg.yaml").read_text()
    (shop / "perfcfg.yaml").write_text(project + "targets: {redis: 8.0, postgres: 19}\n")
    text = sh("validate", code=1).err
    assert "targets.redis" in text and "no parameter catalog for postgresql 19" in text
    assert 'write "8.0"' in text
    # 8, 9. how a version is written
    (shop / "perfcfg.yaml").write_text(project + 'targets: {pgbouncer: "1.24.1", '
                                       'postgres: "17.6"}\n')
    text = sh("validate", code=1).err
    assert 'write "1.24"' in text and "write 17 " in text and "letters, digits" not in text
    (shop / "perfcfg.yaml").write_text(project)

    # 11. a bare number in range errors is written as PostgreSQL reads it
    text = sh("validate", "--set", "postgres.work_mem=16", code=1).err
    assert "64kB .. 2147483647kB" in text and "e+" not in text and "e.g. 16MB" in text
    # 12. a parameter without its section, an environment by its beginning
    assert "did you mean 'postgres.work_mem'?" in sh("validate", "--set", "work_mem=16MB",
                                                     code=1).err
    assert "did you mean 'production'?" in sh("build", "--env", "prod", code=1).err

    # 2. presets changed without a rebuild: rebuild, never "pin this tuned value"
    (shop / "presets/base.yaml").write_text(SHOP.replace("processes: 4", "processes: 6"))
    text = sh("check", code=3).err
    assert "changed since the last build; run: perfcfg build" in text
    assert "to keep it" not in text and "edited by hand" not in text
    for command in printed_commands(text):
        assert run_as_printed(command, shop).returncode == 0
    sh("check")

    # 3. explain answers with what pgbouncer.ini writes, for both databases
    ini = (shop / "generated/production/pgbouncer.ini").read_text()
    for db in ("shop", "reports"):
        written = dict(p.split("=") for p in group(re.search(rf"^{db} = (.*)$", ini, re.M))
                       .split())
        for key in ("pool_size", "reserve_pool"):
            shown = sh("explain", "--env", "production", f"databases.{db}.{key}").out
            assert shown.splitlines()[0] == f"databases.{db}.{key} = {written[key]}"

    # 4. environments cannot share an output
    (shop / "perfcfg.yaml").write_text(project.replace("generated/{env}",
                                                       "generated/{environment}"))
    assert "{environment} is not a placeholder" in sh("validate", code=1).err
    (shop / "perfcfg.yaml").write_text(project)

    # 5. an option that would be ignored is a usage error
    assert "--host and --detect cannot be given together" in sh(
        "build", "--env", "production", "--host", "hosts/this-machine.yaml", "--detect",
        code=2).err

    # 6. a memory overrun from the workload points at the program
    (shop / "presets/base.yaml").write_text(SHOP.replace("memory: 300MiB", "memory: 400GiB"))
    found = json.loads(sh("validate", "--env", "production", "--format", "json",
                          code=1).out)["diagnostics"]
    overrun = next(d for d in found if d["code"] == "PCF301")
    assert overrun["path"] == "workload.programs.indexer.memory"
    assert overrun["file"] == "presets/base.yaml"
    (shop / "presets/base.yaml").write_text(SHOP)

    # 13. from a subdirectory: it runs, and paths are as typed from there (github: the root)
    sh("validate", where="presets")
    (shop / "presets/production.yaml").write_text(clean + "postgres:\n  work_mem: 16mb\n")
    github = sh("validate", "--format", "github", code=1, where="presets").out
    assert "file=shop/presets/production.yaml," in github          # the repository's root
    assert " --> production.yaml:" in sh("validate", code=1, where="presets").err
    (shop / "presets/production.yaml").write_text(clean)
    text = sh("build", "--env", "production", "--host", "hosts/this-machine.yaml", code=1,
              where="presets").err
    assert "did you mean --host ../hosts/this-machine.yaml?" in text
    (shop / "perfcfg.yaml").write_text(project.replace("presets/production.yaml",
                                                       "presets/prod.yaml"))
    assert "did you mean 'presets/production.yaml'? (paths are relative to the project)" in \
        sh("validate", code=1, where="presets").err
    (shop / "perfcfg.yaml").write_text(project)

    # 14. the README's hooks are the ones init wrote
    from test_precommit import readme_hooks

    assert readme_hooks().split("repos:")[1] == (shop / ".pre-commit-config.yaml").read_text() \
        .split("repos:")[1].replace("\n        args: [--project, shop]", "")

    # and the smaller ones: a replaced hand edit is named, a removed environment's build is
    # reported, --out among the presets is refused, the host profile states whole MiB
    sh("build", "--env", "development", "--env", "production")
    conf = shop / "generated/production/postgresql.conf"
    conf.write_text(conf.read_text() + "bgwriter_delay = 100ms\n")
    assert "replacing generated/production/postgresql.conf, which was edited by hand" in \
        sh("build", "--env", "production").err
    (shop / "perfcfg.yaml").write_text(re.sub(r"  development:\n(    .*\n)+", "", project))
    assert "generated/development/ holds a build of environment 'development'" in \
        sh("check", code=3).err
    (shop / "perfcfg.yaml").write_text(project)
    assert "holds the project's" in sh("build", "--env", "production", "--out", "presets",
                                       code=2).err
    memory = group(re.search(r"^memory: (\S+)$", (shop / "hosts/this-machine.yaml").read_text(),
                             re.M))
    assert re.fullmatch(r"\d+(MiB|GiB|TiB)", memory), memory
