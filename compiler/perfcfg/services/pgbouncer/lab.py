"""A pgbouncer on a lab host (an app host of several), from its pgbouncer.ini and userlist.

Unlike the loopback harness (``daemon.py``), the file's ``listen_addr`` and ``listen_port``
stay as written: each host has its own address and ports. The harness places only the files
every host would otherwise share on this machine: ``unix_socket_dir``, ``logfile``,
``pidfile`` and ``auth_file`` go into the host's scratch dir.

>>> print(placed("[pgbouncer]\\nlisten_port = 6432\\n", "/s"), end="")
[pgbouncer]
listen_port = 6432
unix_socket_dir = /s
logfile = /s/pgbouncer.log
pidfile = /s/pgbouncer.pid
auth_file = /s/userlist.txt
"""

from __future__ import annotations

import re

from perfcfg.harness import ini, netns, procs
from perfcfg.harness.binaries import require
from perfcfg.services.pgbouncer import programs

DEFAULT_PORT = 6432


def placed(ini_text: str, scratch: str) -> str:
    return ini.set_keys(ini_text, "pgbouncer", {
        "unix_socket_dir": scratch, "logfile": f"{scratch}/pgbouncer.log",
        "pidfile": f"{scratch}/pgbouncer.pid", "auth_file": f"{scratch}/userlist.txt"})


class HostPgBouncer(netns.HostDaemon):
    """pgbouncer on a lab host, as its packaged account (it refuses root)."""

    daemon = programs.DAEMON
    user = programs.ACCOUNT
    start_timeout = 15.0

    def __init__(self, lab: netns.Lab, host: str, ini_text: str, userlist_text: str,
                 version: str | None = None) -> None:
        super().__init__(lab, host)
        self.ini_text = ini_text
        self.userlist_text = userlist_text
        self.version = version
        found = re.search(r"^\s*listen_port\s*=\s*(\d+)", ini_text, re.M)
        self.port = int(found.group(1)) if found else DEFAULT_PORT

    def prepare(self) -> None:
        self.write("userlist.txt", self.userlist_text)
        self.write("pgbouncer.ini", placed(self.ini_text, self.dir))

    def argv(self) -> list[str]:
        return [require(programs.DAEMON, self.version), f"{self.dir}/pgbouncer.ini"]

    def probe(self) -> bool | None:
        return True if netns.tcp_open(self.address, self.port) else None

    def tail(self) -> str:
        return procs.tail(self.log, f"{self.dir}/pgbouncer.log")
