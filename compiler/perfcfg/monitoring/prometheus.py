"""A throwaway Prometheus: a config and rule files in a scratch dir, its TSDB there too, on a
free loopback port; ready once ``/-/ready`` answers; read through its HTTP API
(``/api/v1/targets``, ``/api/v1/alerts``); stopped with its whole process tree, dir removed.
The config is a ``prometheus.yml`` as ``services/monitor_files.py`` writes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from perfcfg.harness import procs
from perfcfg.harness.errors import DaemonError

T = TypeVar("T")

class Prometheus(procs.Handle):
    """A running Prometheus with ``config`` (prometheus.yml text) and ``files`` (rule files
    by the names the config gives them) in its scratch dir."""

    daemon = "prometheus"

    def __init__(self, config: str, files: Mapping[str, str] | None = None,
                 timeout: float = 30) -> None:
        self.config = config
        self.files = dict(files or {})
        self.timeout = timeout
        self.port = 0
        self.dir = ""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return f"{self.dir}/prometheus.log"

    def _launch(self) -> None:
        program = shutil.which("prometheus") or "/usr/bin/prometheus"
        self.dir = procs.scratch_dir("pf-prm-")
        procs.write_file(f"{self.dir}/prometheus.yml", self.config, mode=0o644)
        for name, text in self.files.items():
            procs.write_file(f"{self.dir}/{name}", text, mode=0o644)

        def spawn(port: int) -> subprocess.Popen[bytes]:
            self.port = port
            self.proc = procs.spawn(
                [program, f"--config.file={self.dir}/prometheus.yml",
                 f"--storage.tsdb.path={self.dir}/tsdb", f"--web.listen-address=127.0.0.1:{port}",
                 "--web.enable-lifecycle"], self.log, cwd=self.dir)
            return self.proc

        procs.start_on_free_port(self.daemon, spawn, self._probe, [self.log], self.timeout,
                                 "address already in use",
                                 lambda proc: procs.stop_tree(proc, self.stop_signal))

    def _probe(self) -> bool | None:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as response:
                return True if response.status == 200 else None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}", timeout=10) as response:
            body = json.loads(response.read().decode("utf-8"))
        if body.get("status") != "success":
            raise DaemonError(self.daemon, f"GET /api/v1/{path}: {body}")
        return body["data"]

    def targets(self) -> list[dict[str, Any]]:
        """The active targets: each with its ``labels`` (job, instance) and ``health``."""
        return list(self.api("targets")["activeTargets"])

    def alerts(self, state: str | None = "firing") -> list[dict[str, Any]]:
        """The alerts in ``state`` (None: pending ones too), each with labels and value."""
        found = self.api("alerts")["alerts"]
        return [a for a in found if state is None or a["state"] == state]

    def wait(self, check: Callable[[], T], timeout: float, what: str) -> T:
        """Poll ``check()`` until it returns something true; raise naming ``what`` if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.5)
        raise DaemonError(self.daemon, f"{what} not seen within {timeout:g}s",
                          procs.tail(self.log))
