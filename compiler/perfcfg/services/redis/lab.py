"""Redis/Valkey data and Cluster nodes on lab hosts, from their config text, and their state.

The file's ``bind`` and ``port`` stay as written (each host has its own address); the harness
places the node's files as the loopback harness does (``daemon.scratch_copy``: ``dir`` and
``logfile`` lines commented out, then ``--dir``, ``--logfile ""``, ``--pidfile`` on the
command line) and keeps it in the foreground. The copy stays writable: Sentinel and Cluster
rewrite it (``replicaof``, ``nodes.conf``) — the lines perfcfg calls runtime-owned.

>>> cli_beside("/opt/perfcfg-daemons/valkey-8.1/bin/valkey-server")
'/opt/perfcfg-daemons/valkey-8.1/bin/valkey-cli'
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from typing import Any

import redis

from perfcfg.harness import netns
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError
from perfcfg.services.redis import cluster, programs
from perfcfg.services.redis.daemon import scratch_copy

DEFAULT_PORT = 6379


def cli_beside(server: str) -> str:
    """The command-line client installed beside a server binary (same version and flavour)."""
    folder, name = os.path.split(server)
    return os.path.join(folder, name.replace("-server", "-cli"))


def server_program(daemon: str = "redis", version: str | None = None) -> str:
    """``redis-server`` or ``valkey-server`` of ``version``."""
    spec = next(s for s in programs.SPECS if s.daemon == daemon)
    return require(next(iter(spec.programs)), version)


def port_of(conf_text: str, default: int) -> int:
    found = re.search(r"^\s*port\s+(\d+)", conf_text, re.M | re.I)
    return int(found.group(1)) if found else default


class RedisNode(netns.HostDaemon):
    """A Redis (or Valkey: ``daemon="valkey"``) data or Cluster node on a lab host."""

    daemon = "redis"
    start_timeout = 20.0
    default_port = DEFAULT_PORT
    mode: tuple[str, ...] = ()

    def __init__(self, lab: netns.Lab, host: str, conf_text: str, password: str | None = None,
                 daemon: str = "redis", version: str | None = None) -> None:
        if not self.mode:   # a data node says which server it is; a Sentinel says Sentinel
            self.daemon = daemon
        self.port = port_of(conf_text, self.default_port)
        super().__init__(lab, host, f"{self.daemon}-{self.port}")
        self.program = server_program(daemon, version)
        self.conf_text = conf_text
        self.password = password

    def prepare(self) -> None:
        self.write("node.conf", scratch_copy(self.conf_text))

    def argv(self) -> list[str]:
        return [self.program, f"{self.dir}/node.conf", *self.mode, "--daemonize", "no",
                "--supervised", "no", "--dir", self.dir, "--logfile", "",
                "--pidfile", f"{self.dir}/node.pid"]

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client of this node; ``kwargs``: any other option of redis.Redis."""
        return redis.Redis(host=self.address, port=self.port, password=self.password,
                           decode_responses=True, socket_timeout=3, socket_connect_timeout=2,
                           **kwargs)

    def probe(self) -> bool | None:
        try:
            with self.client() as c:
                c.ping()
            return True
        except (redis.ConnectionError, redis.TimeoutError):
            return None
        except redis.RedisError:
            return True   # it answered (NOAUTH, DENIED): it serves; our access is another matter

    def info(self, section: str) -> dict[str, Any]:
        with self.client() as c:
            return dict(c.info(section))

    def role(self) -> str | None:
        """``master`` or ``slave`` as INFO replication says; None when unreachable."""
        try:
            return str(self.info("replication")["role"])
        except (redis.RedisError, OSError):
            return None

    def cluster_info(self) -> dict[str, str]:
        """``CLUSTER INFO`` (redis-py parses it into a dict; values as the node wrote them)."""
        with self.client() as c:
            found = c.execute_command("CLUSTER INFO")
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items()}
        return dict(line.split(":", 1) for line in str(found).splitlines() if ":" in line)

    def saved_conf(self) -> str:
        """The node's config file as it is now (after any rewrite by Sentinel or Cluster)."""
        with open(f"{self.dir}/node.conf", encoding="utf-8") as fh:
            return fh.read()


def cluster_create(nodes: Sequence[RedisNode], replicas: int = 1, timeout: float = 60) -> str:
    """The one-shot ``--cluster create`` over ``nodes`` (run from this machine, which reaches
    every host); its output. Masters are the first ``len/(replicas+1)`` nodes."""
    first = nodes[0]
    argv = cluster.create_argv(cli_beside(first.program), [(n.address, n.port) for n in nodes],
                               replicas)
    env = {**netns.BASE_ENV, **({"REDISCLI_AUTH": first.password} if first.password else {})}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
        raise DaemonError(first.daemon, "--cluster create failed",
                          (done.stdout + done.stderr)[-3000:])
    return done.stdout
