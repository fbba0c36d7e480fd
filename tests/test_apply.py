"""``perfcfg apply`` deploys the example's staging on a scratch Debian host and a second run does
nothing; a failed step stops with what was done and what to run next, and the same command
goes on from there.

The scratch host is this machine in its own mount, network and process namespaces
(tests/apply_host.py): the files go to their real destinations and the daemons (PostgreSQL
17, pgbouncer 1.24, Valkey 8.1, supervisor 4.3) listen on their real ports, and nothing of
either reaches the machine's own. The workers of the rehearsal overlay sleep (the example's
Python modules are not here), as in docs/deploying.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_daemon
from helpers import copy_example, write

pytestmark = [pytest.mark.daemons, pytest.mark.slow]

PASSWORDS = {"BOTFARM_DB_PASSWORD": "bot-db-pw-0123456789",
             "BOTFARM_PGBOUNCER_ADMIN_PASSWORD": "admin-pw-0123456789",
             "BOTFARM_REDIS_PASSWORD": "redis-pw-0123456789",
             "BOTFARM_REDIS_EXPORTER_PASSWORD": "exporter-pw-0123456789",
             "BOTFARM_REDIS_MONITOR_PASSWORD": "monitor-pw-0123456789",
             "BOTFARM_REPORTER_PASSWORD": "reporter-pw-0123456789"}
REHEARSAL = """\
workload:
  programs:
    - name: matcher
      command: /bin/sleep 100000
    - name: notifier
      command: /bin/sleep 100000
    - name: payments
      command: /bin/sleep 100000
    - name: moderation
      command: /bin/sleep 100000
# a Redis user that verify --live reads Valkey as (the example's bot may not run CONFIG GET)
redis:
  users:
    - name: monitor
      password: ${env:BOTFARM_REDIS_MONITOR_PASSWORD}
      commands: [-@all, +config|get, +acl|list, +@connection]
"""


def _host(tmp_path: Path, scenario: str) -> dict:
    for daemon, version in (("postgresql", "17"), ("pgbouncer", "1.24"), ("valkey", "8.1"),
                            ("supervisor", "4.3")):
        require_daemon(daemon, version)
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for the scratch host")
    project = copy_example(tmp_path, with_generated=False)
    write(project / "rehearsal.yaml", REHEARSAL)
    work = tmp_path / "host"
    work.mkdir()
    import os

    env = {**os.environ, **PASSWORDS}
    done = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
                           "--propagation", "private", sys.executable,
                           str(Path(__file__).parent / "apply_host.py"), scenario, str(project),
                           str(work)], capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert "error" not in found, found["error"]
    return found


def _every_output(found: dict) -> str:
    return "".join(r["out"] + r["err"] for r in found["runs"])


def test_apply_deploys_staging_and_a_second_run_has_nothing_to_do(tmp_path):
    found = _host(tmp_path, "deploy")
    dry, first, second, change, again = found["runs"]
    assert found["scratch"], "the scratch host's /etc is a mount of its own"
    # --dry-run: the steps in order, nothing done
    assert dry["code"] == 0, dry["err"]
    steps = [line for line in dry["out"].splitlines() if line[:1].isdigit()]
    order = [s.split(". ", 1)[1].split(":")[0].split(" ")[0] for s in steps]
    daemons = [o for o in order if o in ("postgres", "pgbouncer", "redis", "supervisor")]
    assert daemons == ["postgres", "postgres", "pgbouncer", "redis", "supervisor"], steps
    assert any("postgres: run roles.sql" in s for s in steps)
    assert order.index("install") < order.index("postgres")
    # the first run does them, then verify --live finds what runs is what was compiled
    assert first["code"] == 0, first["out"] + first["err"]
    assert f"{len(steps)}/{len(steps)}]" in first["err"]
    assert "verify --live: postgresql, pgbouncer, valkey, supervisor running" in first["err"]
    assert ", 0 differ" in first["err"]
    assert found["login"] == "bot@botfarm"
    assert found["files"] == {"/etc/postgresql/17/main/postgresql.conf": "0o644",
                              "/etc/pgbouncer/userlist.txt": "0o600",
                              "/etc/valkey/users.acl": "0o600",
                              "/etc/supervisor/conf.d/perfcfg.conf": "0o600"}
    # a second run: nothing to do
    assert second["code"] == 0, second["err"]
    assert "staging: nothing to do" in second["err"] and "[1/" not in second["err"]
    # one daemon's change: that daemon's action, and nothing else
    assert change["code"] == 0, change["err"]
    done = [line.split("] ", 1)[1] for line in change["err"].splitlines() if "] " in line]
    assert done == ["install pgbouncer.ini as /etc/pgbouncer/pgbouncer.ini (postgres:postgres "
                    "0640)", "pgbouncer: reload (server_idle_timeout)"], change["err"]
    assert "staging: nothing to do" in again["err"]
    shown = _every_output(found)
    for password in PASSWORDS.values():
        assert password not in shown


def test_a_failed_step_stops_with_what_was_done_and_the_same_command_goes_on(tmp_path):
    found = _host(tmp_path, "fail")
    failed, resumed, again = found["runs"]
    assert failed["code"] == 1
    assert "failed: postgres: start (not running)" in failed["err"]
    # the server's own reason, from its log
    assert "its log says: " in failed["err"] and "FATAL:  could not create any TCP/IP sockets" \
        in failed["err"], failed["err"]
    assert "done before it: 7 directory(ies) made, 15 file(s) installed\n" in failed["err"]
    assert "the failed step by hand: runuser -u postgres -- " in failed["err"]
    assert "fix what it says, then run: perfcfg apply --env staging" in failed["err"]
    # nothing after the failed step was done: pgbouncer was not started
    assert "pgbouncer: start" not in failed["err"]
    assert resumed["code"] == 0, resumed["err"]
    # what was done is not done again: only the daemons and roles.sql
    assert "install " not in resumed["err"] and "postgres: start" in resumed["err"]
    assert "nothing to do" in again["err"]


def test_growing_within_the_headroom_never_restarts_postgresql(tmp_path):
    """The example's staging declares headroom (matcher up to 16 processes; 30 server and 200
    client connections and 4GiB of workers in all): scaling matcher 8 → 12, then adding a
    database with a program of its own, are reloads with the real daemons, and PostgreSQL's
    postmaster is the same process after both; matcher at 20 is beyond its ceiling and the
    workers' memory beyond the headroom: the build says so (PCF319), and PostgreSQL restarts."""
    found = _host(tmp_path, "headroom")
    assert found["runs"][0]["code"] == 0, found["runs"][0]["err"]
    assert found["scaled"]["code"] == 0, found["scaled"]["err"]
    # the workers' files and the alert rules that count their processes; of the daemons, only
    # supervisor's reload
    assert {s.split(" as ")[0] for s in found["scaled_steps"] if s.startswith("install ")} == {
        "install supervisord.conf", "install alerts.yml", "install alerts.test.yml"}
    assert [s for s in found["scaled_steps"] if not s.startswith(("install ", "keep "))] == [
        "supervisor: reload (program:matcher)"]
    assert found["matcher"] == 12 and found["postmaster_kept_after_scaling"]
    assert found["grown"]["code"] == 0, found["grown"]["err"]
    daemons = [s for s in found["grown_steps"] if not s.startswith(("install ", "make "))]
    assert daemons[0] == "postgres: reload (pg_hba.conf)", daemons
    assert [s.split(":")[0] for s in daemons] == ["postgres", "postgres", "pgbouncer",
                                                  "supervisor", "keep grafana-dashboard.json, "
                                                  "roles.sql in /var/lib/perfcfg/botfarm/staging "
                                                  "(what the next apply compares with)"
                                                  ][:len(daemons)]
    assert daemons[-2] == "supervisor: reload (program:reporter (new))"
    assert found["postmaster_kept_after_growing"]
    assert found["reporter_login"] == "reporter@reports"
    beyond = found["beyond"]
    assert beyond["code"] == 0, beyond["err"]
    assert "warning[PCF319]: matcher runs 20 processes, above its max_processes 16" in beyond["err"]
    # and the workers' memory passes the environment's headroom too: PostgreSQL's share
    # shrinks, which needs its restart (and Redis's, and supervisord's for its minprocs)
    assert "warning[PCF319]: the workers need 4560MiB, above the headroom's worker_memory " \
        "4GiB" in beyond["err"]
    assert "postgres: restart (shared_buffers, " in "\n".join(found["beyond_steps"])
    last = [s for s in found["beyond_steps"] if not s.startswith("keep ")][-1]
    assert last == "supervisor: restart ([supervisord] minprocs, program:matcher)"
    assert not found["postmaster_kept_beyond"] and found["matcher_beyond"] == 20
    assert not any(p in _every_output(found) for p in PASSWORDS.values())
