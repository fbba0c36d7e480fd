"""The first hour, scripted: a newcomer starts a project in a fresh directory and follows
every command perfcfg prints, exactly as printed, until check is green."""

from helpers import printed_commands, run_as_printed


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
