"""``perfcfg apply`` before it changes anything: as another user it refuses, and on a host that
lacks what perfcfg does not make (here: this machine, without Valkey's user, PostgreSQL 17's
cluster or the supervisor package) it names each one with the command that makes it and
changes nothing. The deployment itself is tests/test_apply.py."""

from __future__ import annotations

import os
import pwd

from helpers import EXAMPLE, run

PASSWORDS = {"BOTFARM_DB_PASSWORD": "bot-db-pw-0123456789",
             "BOTFARM_PGBOUNCER_ADMIN_PASSWORD": "admin-pw-0123456789",
             "BOTFARM_REDIS_PASSWORD": "redis-pw-0123456789",
             "BOTFARM_REDIS_EXPORTER_PASSWORD": "exporter-pw-0123456789"}


def test_apply_refuses_to_run_as_another_user_than_root(monkeypatch):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run("apply", "--env", "staging", "--project", str(EXAMPLE))
    assert result.code == 1
    assert "run it as root (--dry-run shows the steps as anyone)" in result.err
    # the dry run reads and tells, as anyone
    assert "run it as root" not in run("apply", "--env", "staging", "--project", str(EXAMPLE),
                                       "--dry-run").err


def test_what_perfcfg_does_not_make_is_named_with_its_command_and_nothing_changes(monkeypatch):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    # the modules apply reads the host through
    monkeypatch.setattr(pwd, "getpwnam", _without("valkey", pwd.getpwnam))
    monkeypatch.setattr(os.path, "isfile", lambda path: False)   # no cluster, no package
    result = run("apply", "--env", "staging", "--project", str(EXAMPLE))
    assert result.code == 1
    assert "staging: missing: user valkey does not exist: useradd --system" in result.err
    assert "missing: postgres: PostgreSQL 17's cluster is missing (/var/lib/postgresql/17/main " \
           "holds no PG_VERSION): create it with pg_createcluster 17 main" in result.err
    assert "missing: supervisor: /etc/supervisor/supervisord.conf is missing" in result.err
    assert "nothing changed; make what is missing, then run: perfcfg apply --env staging" \
        in result.err
    assert "[1/" not in result.err
    for password in PASSWORDS.values():
        assert password not in result.out + result.err


def _without(name, real):
    def lookup(user):
        if user == name:
            raise KeyError(user)
        return real(user)
    return lookup
