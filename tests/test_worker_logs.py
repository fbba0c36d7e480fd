"""Workers' logs keep their names across supervisord restarts, where a log shipper finds them.

supervisord names an AUTO log ``<program>-stdout---supervisor-<random>.log`` and deletes the
AUTO logs of its child log directory at every start, so a worker's traceback was gone after
the restart that followed it. perfcfg writes a fixed path per process under the supervisor log
directory; the real supervisord keeps the first run's lines across a restart, and loses them
with AUTO logs.
"""

from __future__ import annotations

import glob
import os
import re

import pytest
from helpers import compile_with

from perfcfg.services.supervisor.daemon import Supervisord
from perfcfg.services.supervisor.verify import supervisor_stand_in

# Each process says which run it is in, from a marker file the test writes before each start.
COMMAND = "/bin/sh -c 'echo run-$(cat {marker}) pid-$$; exec sleep 1000'"
QUICK = "workload.programs.worker.supervisor.startsecs=1"    # RUNNING after 1 s, not 5


def _conf(project, marker, *sets: str) -> str:
    result = compile_with(project, sets=(QUICK, *sets))
    assert result.ok, result.diagnostics
    return supervisor_stand_in(result.files["supervisord.conf"].decode(),
                               COMMAND.format(marker=marker))


def test_each_process_has_a_fixed_log_under_the_supervisor_log_directory(project):
    text = compile_with(project).files["supervisord.conf"].decode()
    assert "stdout_logfile = /var/log/supervisor/worker_%(process_num)02d.stdout.log" in text
    assert "stderr_logfile = /var/log/supervisor/worker_%(process_num)02d.stderr.log" in text
    one = compile_with(project, sets=("workload.programs.worker.processes=1",
                                      "supervisor.childlogdir=/srv/logs")).files
    assert "stdout_logfile = /srv/logs/worker.stdout.log" in one["supervisord.conf"].decode()


def _lines(sup: Supervisord) -> dict[str, list[str]]:
    """Every log file of the programs (AUTO ones in the child log directory too), by name
    without supervisor's random part."""
    out = {}
    for path in glob.glob(f"{sup.dir}/logs/*.log") + glob.glob(f"{sup.dir}/children/*.log"):
        name = re.sub(r"---supervisor-\w+", "", os.path.basename(path))
        with open(path) as f:
            out[name] = f.read().split()
    return out


@pytest.mark.daemons
@pytest.mark.parametrize("logs", ["fixed", "auto"])
def test_a_supervisord_restart_keeps_the_logs_of_the_run_before(project, tmp_path, logs):
    marker = tmp_path / "run"
    conf = _conf(project, marker)
    if logs == "auto":
        conf = re.sub(r"^std(out|err)_logfile = .*\n", "", conf, flags=re.M)
    marker.write_text("1")
    with Supervisord(conf) as sup:
        marker.write_text("2")
        sup.restart()
        found = _lines(sup)
    stdout = {name: words for name, words in found.items() if "stdout" in name}
    # four processes, one stdout log each, under the names the file gives (or AUTO's)
    assert len(stdout) == 4, found
    if logs == "fixed":
        assert sorted(stdout) == [f"worker_0{n}.stdout.log" for n in range(4)]
    kept = all("run-1" in words and "run-2" in words for words in stdout.values())
    assert kept is (logs == "fixed"), found
