"""The exporters Prometheus scrapes, where their binaries are, and a throwaway exporter process.

An exporter is pinned like a daemon: one name, the versions perfcfg has a metric catalog for,
the one the alert rules are written against. Debian 12's package puts its version in
``/usr/bin``; the others are in ``.ci/install-daemons.sh``'s folders
(``/opt/perfcfg-daemons/<name>-<version>/bin``), found the way the daemons' are.

>>> e = Exporter("redis_exporter", "prometheus-redis-exporter", ("1.45", "1.69"), "1.69",
...              system="1.45")
>>> e.catalog_name("1.69")
'redis_exporter-1.69.json'
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from perfcfg.harness import binaries, procs
from perfcfg.harness.errors import DaemonError

PORT_RETRIES = 5


@dataclass(frozen=True)
class Exporter:
    """One exporter: its upstream name (catalog and folder prefix), its Debian package (which
    is also its program's name), the versions with a catalog, the pinned one, and the one
    Debian 12 installs in ``/usr/bin`` (None: none there)."""

    name: str
    package: str
    versions: tuple[str, ...]
    pinned: str
    system: str | None = None

    def catalog_name(self, version: str) -> str:
        return f"{self.name}-{version}.json"

    def binary(self, version: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """The program of ``version``, or None when it is not installed here."""
        own = environ.get(binaries.bindir_variable(self.name, version))
        if own:
            path = f"{own}/{self.package}"
        elif version == self.system:
            path = f"/usr/bin/{self.package}"
        else:
            path = f"{binaries.folder(binaries.prefix(environ), self.name, version)}/bin/{self.package}"
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None

    def package_of(self, version: str) -> str:
        """Which build ``version`` is: the install-daemons.sh folder's, else Debian 12's."""
        info = _folder_info(self.name, version)
        if info.get("build"):
            return info["build"]
        have = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", self.package],
                              capture_output=True, text=True, check=False).stdout.strip()
        return f"debian-12 {self.package} {have}"


def _folder_info(name: str, version: str) -> dict[str, str]:
    path = f"{binaries.folder(binaries.prefix(), name, version)}/VERSION"
    try:
        with open(path, encoding="utf-8") as fh:
            return dict(line.split("=", 1) for line in fh.read().splitlines() if "=" in line)
    except OSError:
        return {}


@dataclass(frozen=True)
class Command:
    """How to start an exporter against one running daemon: its arguments after the program
    (``{listen}`` stands for the address it serves on), its environment, who runs it."""

    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    account: procs.Account | None = None


class ExporterProcess(procs.Handle):
    """A running exporter on a free loopback port, ready once ``/metrics`` answers."""

    daemon = "exporter"

    def __init__(self, program: str, command: Command, timeout: float = 15) -> None:
        self.program = program
        self.command = command
        self.timeout = timeout
        self.port = 0
        self.dir = ""
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    @property
    def log(self) -> str:
        return f"{self.dir}/exporter.log"

    def _launch(self) -> None:
        self.dir = procs.scratch_dir("pf-exp-", self.command.account)
        env = {"PATH": "/usr/bin:/bin", **self.command.env}
        for attempt in range(PORT_RETRIES):
            self.port = procs.free_port()
            listen = f"127.0.0.1:{self.port}"
            argv: Sequence[str] = [self.program,
                                   *(a.replace("{listen}", listen) for a in self.command.args)]
            self.proc = procs.spawn(argv, self.log, self.command.account, cwd=self.dir, env=env)
            try:
                procs.wait_ready(self.daemon, self.proc, self._probe, [self.log], self.timeout)
                return
            except DaemonError as err:
                if "address already in use" not in err.log_tail or attempt == PORT_RETRIES - 1:
                    raise
                procs.stop_tree(self.proc, self.stop_signal)

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
