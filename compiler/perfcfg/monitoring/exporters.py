"""A throwaway exporter process: one ``Command`` (``services/monitor.py``) started on a free
loopback port, ready once ``/metrics`` answers, stopped with its process tree.

An exporter's program is found like a daemon's (``Exporter.binary``): Debian 12's package puts
its version in ``/usr/bin``; the others are in ``.ci/install-daemons.sh``'s folders
(``/opt/perfcfg-daemons/<name>-<version>/bin``).
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from perfcfg.harness import procs
from perfcfg.harness.errors import DaemonError
from perfcfg.services.monitor import Command


class ExporterProcess(procs.Handle):
    """A running exporter on a free loopback port, ready once ``/metrics`` answers."""

    daemon = "exporter"

    def __init__(self, program: str, command: Command, timeout: float = 15) -> None:
        self.program = program
        self.command = command
        self.timeout = timeout
        self.port = 0
        self.dir = ""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    @property
    def log(self) -> str:
        return f"{self.dir}/exporter.log"

    def _launch(self) -> None:
        self.dir = procs.scratch_dir("pf-exp-", self.command.account)
        for name, text in self.command.files.items():
            procs.write_file(f"{self.dir}/{name}", text, self.command.account)
        env = {"PATH": "/usr/bin:/bin", **self.command.env}

        def spawn(port: int) -> subprocess.Popen[bytes]:
            self.port = port
            listen = f"127.0.0.1:{port}"
            argv: Sequence[str] = [self.program, *(
                a.replace("{listen}", listen).replace("{dir}", self.dir)
                for a in self.command.args)]
            self.proc = procs.spawn(argv, self.log, self.command.account, cwd=self.dir, env=env)
            return self.proc

        procs.start_on_free_port(self.daemon, spawn, self._probe, [self.log], self.timeout,
                                 "address already in use",
                                 lambda proc: procs.stop_tree(proc, self.stop_signal))

    def _probe(self) -> bool | None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                return True if response.status == 200 else None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return str(response.read().decode("utf-8"))

    def wait_for(self, check: str, timeout: float = 15) -> str:
        """The exposition text once it holds the sample line ``check`` (``pg_up 1``)."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.scrape()
            if any(line.strip() == check for line in text.splitlines()):
                return text
            time.sleep(0.3)
        raise DaemonError(self.daemon, f"{self.program} never reported {check!r}",
                          procs.tail(self.log))
