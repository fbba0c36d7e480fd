"""HAProxy in a lab host, from its haproxy.cfg, and the state of its servers.

HAProxy reads several files in order (``-f A -f B``) and a ``global`` section may repeat, so
the harness adds a second file of its own holding only the admin socket it reads server
states from; the user's file is written and checked (``haproxy -c``) exactly as given.
``-db`` keeps it in the foreground as the lab's child.

>>> parse_stat("# pxname,svname,status,\\npg,db1,UP,\\npg,db2,DOWN,\\n")
[{'pxname': 'pg', 'svname': 'db1', 'status': 'UP'}, {'pxname': 'pg', 'svname': 'db2', 'status': 'DOWN'}]
"""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess

from perfcfg.harness import netns
from perfcfg.harness.errors import DaemonError


def parse_stat(text: str) -> list[dict[str, str]]:
    """``show stat`` CSV (its header starts with ``# ``) as one dict per row."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("# "))))
    if not rows:
        return []
    head = [h for h in rows[0] if h]
    return [dict(zip(head, row, strict=False)) for row in rows[1:] if row]   # a trailing ","


class HAProxy(netns.HostDaemon):
    """HAProxy on a lab host; ``ports`` are the ones it must listen on before it counts as up."""

    daemon = "haproxy"
    stop_signal = signal.SIGUSR1   # soft stop: close listeners, let sessions end
    start_timeout = 15.0

    def __init__(self, lab: netns.Lab, host: str, cfg_text: str,
                 ports: tuple[int, ...] = ()) -> None:
        super().__init__(lab, host)
        self.cfg_text = cfg_text
        self.ports = ports

    @property
    def socket_path(self) -> str:
        return f"{self.dir}/admin.sock"

    def files(self) -> list[str]:
        return ["-f", f"{self.dir}/haproxy.cfg", "-f", f"{self.dir}/harness.cfg"]

    def prepare(self) -> None:
        self.write("haproxy.cfg", self.cfg_text)
        self.write("harness.cfg", f"global\n    stats socket {self.socket_path} mode 600 "
                                  "level admin\n")
        done = subprocess.run([netns.program("haproxy"), "-c", *self.files()],
                              capture_output=True, text=True, timeout=30, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise DaemonError(self.daemon, "haproxy -c refused the configuration",
                              (done.stdout + done.stderr).strip())

    def argv(self) -> list[str]:
        return [netns.program("haproxy"), "-db", *self.files()]

    def probe(self) -> bool | None:
        try:
            self.command("show info")
        except OSError:
            return None
        return True if all(netns.tcp_open(self.address, p) for p in self.ports) else None

    def command(self, line: str) -> str:
        """One command on the admin socket, its whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket_path)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def servers(self, backend: str) -> dict[str, str]:
        """Server name → status (``UP``, ``DOWN``, ``no check`` …) in ``backend``."""
        return {r["svname"]: r["status"] for r in parse_stat(self.command("show stat"))
                if r.get("pxname") == backend and r["svname"] not in ("FRONTEND", "BACKEND")}
