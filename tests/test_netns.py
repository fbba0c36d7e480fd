"""The multi-host lab's plumbing (``harness/netns.py``): hosts that reach each other, a cable
that can be pulled, programs that run as their user, and nothing left behind — on exit, on an
exception, on SIGTERM, and (through the sweeper) after a SIGKILL — while another lab that
still runs is never touched."""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perfcfg.harness import netns, procs
from perfcfg.harness.errors import DaemonError

CONNECT = ("import socket, sys\n"
           "socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\n")


def needs_root() -> None:
    try:
        netns.require_root()
    except netns.LabError as err:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(str(err))


def namespaces() -> set[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def leftovers(state: dict) -> list[str]:
    return netns.existing(state)


SERVER = "/usr/bin/python3"   # the system's: a dropped user may not read a venv under /root


def serve(lab: netns.Lab, host: str, port: int, user: str | None = None):
    proc = lab.spawn(host, [SERVER, "-m", "http.server", "--bind",
                            lab.hosts[host].address, str(port)],
                     lab.hosts[host].path("http.log"), user=user)
    netns.wait_for("listening", lambda: True if netns.tcp_open(
        lab.hosts[host].address, port) else None, 20, 0.05)
    return proc


def reaches(lab: netns.Lab, src: str, dst: str, port: int) -> bool:
    done = lab.exec(src, [SERVER, "-c", CONNECT, lab.hosts[dst].address, str(port)])
    return done.returncode == 0


def test_without_root_the_lab_says_it_needs_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(netns.LabError, match="needs root"):
        netns.Lab(["a"]).create()


@pytest.mark.parametrize("hosts", [[], ["a", "a"], ["Upper"], ["a" * 16], ["a b"]],
                         ids=["none", "twice", "upper-case", "too-long", "space"])
def test_host_names_are_checked_before_anything_is_made(hosts):
    with pytest.raises(netns.LabError, match="host names"):
        netns.Lab(hosts)


def test_hosts_reach_each_other_and_a_cut_host_is_unreachable_until_restored():
    needs_root()
    with netns.Lab(["a", "b"]) as lab:
        assert lab.hosts["a"].address != lab.hosts["b"].address
        assert lab.hosts["a"].address.startswith(lab.subnet + ".")
        serve(lab, "b", 8000)
        assert reaches(lab, "a", "b", 8000)
        assert netns.tcp_open(lab.hosts["b"].address, 8000)   # from this machine too
        lab.cut("b")
        assert not reaches(lab, "a", "b", 8000)
        assert not netns.tcp_open(lab.hosts["b"].address, 8000)
        lab.restore("b")
        netns.wait_for("b reachable again", lambda: True if reaches(lab, "a", "b", 8000)
                       else None, 10)


def test_a_program_runs_as_its_user_and_its_pid_is_the_programs():
    needs_root()
    with netns.Lab(["a"]) as lab:
        proc = serve(lab, "a", 8001, user="postgres")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uid = int(status.split("Uid:")[1].split()[0])
        assert uid == pwd.getpwnam("postgres").pw_uid
        assert Path(f"/proc/{proc.pid}/comm").read_text().strip().startswith("python")
        assert proc.pid in netns.ns_pids(lab.hosts["a"].ns)


def test_two_labs_at_once_get_different_subnets_and_names():
    needs_root()
    with netns.Lab(["a"]) as one, netns.Lab(["a"]) as two:
        assert one.subnet != two.subnet
        assert one.hosts["a"].ns != two.hosts["a"].ns


def test_an_exception_inside_removes_processes_namespaces_links_and_dirs():
    needs_root()
    with pytest.raises(RuntimeError, match="boom"), netns.Lab(["a", "b"]) as lab:
        proc = serve(lab, "a", 8002)
        state = dict(lab.state)
        assert leftovers(state)   # the check below can see what is there
        raise RuntimeError("boom")
    assert proc.poll() is not None
    assert leftovers(state) == []
    assert not os.path.exists(lab.state_path)


CHILD = textwrap.dedent("""\
    import json, sys, time
    from perfcfg.harness import netns, procs
    with netns.Lab(["a", "b"]) as lab:
        p = lab.spawn("a", ["sleep", "300"], lab.hosts["a"].path("log"))
        print(json.dumps({**lab.state, "sleeper": p.pid}), flush=True)
        time.sleep(300)
""")


def _child_lab() -> tuple[subprocess.Popen, dict]:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    state = json.loads(child.stdout.readline())
    return child, state


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_removes_everything_the_lab_made(sig):
    needs_root()
    child, state = _child_lab()
    try:
        assert leftovers(state)
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert leftovers(state) == []
    assert not procs.alive(state["sleeper"])


def test_the_sweeper_removes_a_killed_labs_leftovers_and_nothing_else():
    needs_root()
    foreign = "pcf-notours-x"   # our prefix, but no state file names it
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        with netns.Lab(["a"]) as alive:
            child, state = _child_lab()
            child.kill()   # SIGKILL: no handler runs, everything stays
            child.wait()
            assert child.stdout is not None
            child.stdout.close()
            assert leftovers(state), "a SIGKILL should leave the lab behind"
            assert procs.alive(state["sleeper"])
            removed = netns.sweep()
            assert leftovers(state) == []
            assert not procs.alive(state["sleeper"])
            assert any(state["bridge"] in line for line in removed)
            # the lab whose owner runs, and the namespace no lab listed, are untouched
            assert leftovers(alive.state) != [] and foreign in namespaces()
            assert netns.main(["sweep"]) == 0
            assert alive.hosts["a"].ns in namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=False)


@pytest.mark.daemons
def test_a_daemon_that_fails_to_start_reports_its_own_words():
    needs_root()
    from perfcfg.services.haproxy.daemon import HAProxy

    try:
        netns.program("haproxy")
    except DaemonError as err:
        if os.environ.get("PERFCFG_REQUIRE_DAEMONS") == "1":
            pytest.fail(str(err), pytrace=False)
        pytest.skip(str(err))
    with netns.Lab(["a"]) as lab:
        bad = HAProxy(lab, "a", "frontend f\n    bind :5000\n    no-such-keyword yes\n")
        with pytest.raises(DaemonError, match="no-such-keyword"):
            bad.start()
        assert not bad.running()


def test_wait_for_names_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(netns.LabError, match="the moon: not reached within 0.2s"):
        netns.wait_for("the moon", lambda: None, 0.2, 0.05)
    assert time.monotonic() - started < 5
