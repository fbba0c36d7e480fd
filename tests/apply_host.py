"""A scratch Debian host inside this one, for ``perfcfg apply`` (run by tests/test_apply.py).

Started as ``unshare --mount --net --pid --fork --mount-proc python apply_host.py SCENARIO
PROJECT WORKDIR``: in its own mount, network and process namespaces it sees a copy of /etc and empty
/run, /var/lib, /var/log and /srv, so the files go exactly where the manifest says
(/etc/postgresql/17/main, /etc/valkey, /var/lib/postgresql…) and the daemons listen on their
real ports, without touching the machine's own; when this process ends, the kernel ends every
process of the namespace. It prepares what a host with the packages has and perfcfg does not
make (the users, the cluster, Debian's supervisord.conf), runs the scenario's apply commands
and prints one JSON object with what each printed and what a client saw.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

# Debian 12's /etc/supervisor/supervisord.conf (package supervisor 4.2.5), which the package
# installs and perfcfg's conf.d file completes.
DEBIAN_SUPERVISORD_CONF = """\
; supervisor config file

[unix_http_server]
file=/var/run/supervisor.sock   ; (the path to the socket file)
chmod=0700                       ; sockef file mode (default 0700)

[supervisord]
logfile=/var/log/supervisor/supervisord.log ; (main log file;default $CWD/supervisord.log)
pidfile=/var/run/supervisord.pid ; (supervisord pidfile;default supervisord.pid)
childlogdir=/var/log/supervisor            ; ('AUTO' child log dir, default $TEMP)

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock ; use a unix:// URL  for a unix socket

[include]
files = /etc/supervisor/conf.d/*.conf
"""


def sh(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kwargs)


def scratch_host(work: str) -> None:
    sh("ip", "link", "set", "lo", "up")
    shutil.copytree("/etc", f"{work}/etc", symlinks=True)
    sh("mount", "--bind", f"{work}/etc", "/etc")
    for path in ("/run", "/var/lib", "/var/log", "/srv"):
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path)
    # what the packages make: their users, the cluster, supervisor's own file
    sh("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "valkey")
    sh("useradd", "--system", "--home-dir", "/srv/botfarm", "--no-create-home", "--shell",
       "/usr/sbin/nologin", "botfarm")
    data = "/var/lib/postgresql/17/main"
    os.makedirs(data)
    for path in ("/var/lib/postgresql", "/var/lib/postgresql/17", data):
        shutil.chown(path, "postgres", "postgres")
    os.chmod(data, 0o700)
    from perfcfg.harness.binaries import require
    from perfcfg.services import registry  # each service declares its daemon's programs

    assert registry.SERVICES

    sh("runuser", "-u", "postgres", "--", require("initdb", "17"), "-D", data, "-N",
       "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
       cwd="/")
    os.makedirs("/etc/supervisor/conf.d", exist_ok=True)
    with open("/etc/supervisor/supervisord.conf", "w") as fh:
        fh.write(DEBIAN_SUPERVISORD_CONF)


def apply(project: str, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "perfcfg", "apply", "--env", "staging",
                           "--project", project, "--overlay", f"{project}/rehearsal.yaml",
                           *extra], capture_output=True, text=True, timeout=600)
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr}


def login(password: str, dbname: str = "botfarm", user: str = "bot") -> str:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=6432, dbname=dbname, user=user,
                         password=password, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_user || '@' || current_database()").fetchone()
    assert row is not None
    return str(row[0])


def postmaster() -> int:
    with open("/var/run/postgresql/17-main.pid") as fh:
        return int(fh.readline())


def running(program: str) -> int:
    """How many processes of ``program`` supervisord reports RUNNING."""
    import xmlrpc.client

    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, "unix:///run/supervisor.sock")
    with xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport) as proxy:
        found = proxy.supervisor.getAllProcessInfo()
    assert isinstance(found, list), found
    return sum(p["group"] == program and p["statename"] == "RUNNING" for p in found)


# What a project adds when it grows: a database, its owner, a program that uses it.
GROW = """
databases:
  - name: reports
    user: reporter
users:
  - name: reporter
    password: ${env:BOTFARM_REPORTER_PASSWORD}
workload:
  programs:
    - name: reporter
      command: /bin/sleep 100000
      processes: 2
      database: reports
      memory: 200MiB
      directory: /srv/botfarm
      run_as: botfarm
"""


def steps(run: dict) -> list[str]:
    return [line.split("] ", 1)[1] for line in run["err"].splitlines() if "] " in line]


def run(scenario: str, project: str) -> dict:
    out: dict = {"runs": []}
    if scenario == "deploy":
        out["runs"].append(apply(project, "--dry-run"))
        out["runs"].append(apply(project))
        out["login"] = login(os.environ["BOTFARM_DB_PASSWORD"])
        out["runs"].append(apply(project))
        # a change of pgbouncer's alone, then nothing again
        out["runs"].append(apply(project, "--set", "pgbouncer.server_idle_timeout=300"))
        out["runs"].append(apply(project, "--set", "pgbouncer.server_idle_timeout=300"))
        out["files"] = {path: oct(os.stat(path).st_mode & 0o7777) for path in (
            "/etc/postgresql/17/main/postgresql.conf", "/etc/pgbouncer/userlist.txt",
            "/etc/valkey/users.acl", "/etc/supervisor/conf.d/perfcfg.conf")}
        with open("/proc/self/mountinfo") as fh:
            out["scratch"] = "/etc " in fh.read()
    elif scenario == "headroom":
        out["runs"].append(apply(project))
        pid = postmaster()
        scale = ("--set", "workload.programs.matcher.processes=12")
        out["scaled"] = apply(project, *scale)
        out["scaled_steps"] = steps(out["scaled"])
        out["matcher"] = running("matcher")
        out["postmaster_kept_after_scaling"] = postmaster() == pid
        # a database, its owner and a program that uses it, within the headroom
        with open(f"{project}/rehearsal.yaml") as fh:
            rehearsal = fh.read()
        with open(f"{project}/rehearsal.yaml", "w") as fh:
            fh.write(rehearsal.replace("workload:\n  programs:\n",
                                       GROW.split("workload:\n  programs:\n")[0]
                                       + "workload:\n  programs:\n"
                                       + GROW.split("workload:\n  programs:\n")[1], 1))
        out["grown"] = apply(project, *scale)
        out["grown_steps"] = steps(out["grown"])
        out["postmaster_kept_after_growing"] = postmaster() == pid
        out["reporter_login"] = login(os.environ["BOTFARM_REPORTER_PASSWORD"], "reports",
                                      "reporter")
        # beyond the ceiling: the restart it costs, and why
        out["beyond"] = apply(project, "--set", "workload.programs.matcher.processes=20")
        out["beyond_steps"] = steps(out["beyond"])
        out["postmaster_kept_beyond"] = postmaster() == pid
        out["matcher_beyond"] = running("matcher")
    elif scenario == "fail":
        # something else holds PostgreSQL's port: its start fails; once it is gone, the same
        # command goes on from there
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 5432))
        holder.listen()
        out["runs"].append(apply(project))
        holder.close()
        out["runs"].append(apply(project))
        out["runs"].append(apply(project))
    return out


if __name__ == "__main__":
    scenario, project, work = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        scratch_host(work)
        result = run(scenario, project)
    except subprocess.CalledProcessError as exc:
        result = {"error": f"{exc.cmd}: {exc.stderr}"}
    print(json.dumps(result))
