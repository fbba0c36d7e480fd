"""The test command changes the machine only as it says: it tells first, upgrades nothing
already installed unless asked, and leaves no daemon enabled at boot that was not before."""

import re
import subprocess

import pytest
from helpers import ROOT, group

# The services whose Debian packages enable them at boot, as install.sh itself lists them.
SERVICES = tuple(group(re.search(r"^SERVICES=\(([^)]*)\)", (ROOT / ".ci/install.sh").read_text(),
                                 re.M)).split())


@pytest.mark.parametrize("before", [(), ("postgresql",)], ids=["none-enabled", "pg-enabled"])
def test_install_runs_with_stubbed_apt_and_systemctl(before, tmp_path):
    # .ci/install.sh against stand-ins that record what it asks for: apt-get, systemctl (the
    # services start disabled; "installing" enables them, as Debian's postinst does),
    # id (root), useradd and the version probes.
    log = tmp_path / "calls"
    state = tmp_path / "enabled"
    state.mkdir()
    for svc in before:
        (state / svc).touch()
    stubs = {
        "id": 'echo 0',
        "apt-get": f'echo "apt-get $*" >> {log}; case " $* " in *" install "*) '
                   f'touch {" ".join(f"{state}/{svc}" for svc in SERVICES)};; esac',
        "systemctl": f'echo "systemctl $*" >> {log}; for svc; do :; done; '
                     f'case "$1" in is-enabled) [ -e {state}/$svc ];; '
                     f'disable) rm -f {state}/$svc;; esac',
        "useradd": f'echo "useradd $*" >> {log}',
        "pgbouncer": 'echo PgBouncer 1.18.0',
        "redis-server": 'echo Redis server v=7.0.15',
        "patroni": 'echo patroni 3.0.2',
        "etcd": 'echo etcd Version: 3.4.23',
        "haproxy": 'echo HAProxy version 2.6.12',
        "promtool": 'echo promtool, version 2.42.0+ds',
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    script = (ROOT / ".ci/install.sh").read_text()
    # Only the stand-ins: no policy-rc.d on this machine, no real postgres probe.
    script = script.replace("/usr/sbin/policy-rc.d", str(tmp_path / "policy-rc.d")) \
        .replace("/usr/lib/postgresql/15/bin/postgres --version", "true") \
        .replace("id -u postgres", "false") \
        .replace('"$(dirname "$0")/install-daemons.sh"', "true")
    (tmp_path / "install.sh").write_text(script)
    done = subprocess.run(["bash", str(tmp_path / "install.sh")], capture_output=True,
                          text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    apt = [c for c in calls if c.startswith("apt-get")]
    install = next(c for c in apt if " install " in c)
    assert "--no-upgrade" in install and "postgresql-15" in install
    assert {"prometheus", "prometheus-redis-exporter"} <= set(install.split())
    # every apt call waits for a lock another apt holds (a fresh VM's unattended-upgrades)
    assert all("DPkg::Lock::Timeout=" in c for c in apt), apt
    assert {c for c in calls if c.startswith("systemctl disable")} == {
        f"systemctl disable --quiet {svc}" for svc in SERVICES if svc not in before}
    assert sorted(p.name for p in state.iterdir()) == list(before)   # as it was at boot


def test_test_command_says_what_it_will_do_before_doing_it():
    text = (ROOT / "scripts/test.sh").read_text()
    plan = text.index("scripts/test.sh will:")
    assert plan < text.index("bash .ci/install.sh") < text.index("python3 -m venv")
    assert text.count('step "') >= 5


@pytest.mark.slow
def test_the_daemon_installer_waits_for_another_run(tmp_path):
    """Two set-ups at once (two sessions, two CI jobs on one runner) must not build the same
    folders together: a run waits on the prefix's lock before it touches anything."""
    import fcntl
    import os
    import signal
    import time

    if os.geteuid() != 0:
        pytest.skip("install-daemons.sh runs as root only")
    prefix = tmp_path / "daemons"
    prefix.mkdir()
    with open(prefix / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)     # another run holds it
        waiting = subprocess.Popen(["bash", str(ROOT / ".ci/install-daemons.sh")],
                                   env={**os.environ, "PERFCFG_DAEMONS_DIR": str(prefix)},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        try:
            time.sleep(2)
            assert waiting.poll() is None            # still there, waiting
            assert sorted(p.name for p in prefix.iterdir()) == [".lock"]   # built nothing
        finally:
            os.killpg(waiting.pid, signal.SIGTERM)  # before the lock is free: it downloads
            out, _ = waiting.communicate(timeout=30)
    assert "waiting for another install-daemons.sh to finish" in out


def test_the_daemon_installer_never_replaces_a_folder_in_place():
    # a folder is built beside its place and moved in whole: no `rm -rf` of a folder that
    # tests may be running binaries from, other than the staging and old copies
    script = (ROOT / ".ci/install-daemons.sh").read_text()
    import re

    removed = re.findall(r'rm -rf "([^"]+)"', script)
    assert removed and all(r.startswith(("$PREFIX/.stage-", "$PREFIX/.old-", "$APT/"))
                           or r in ("$tmp",) for r in removed), removed
