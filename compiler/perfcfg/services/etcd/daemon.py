"""An etcd member in a lab host, from its YAML config file (``etcd --config-file``).

etcd ignores its command-line flags when it reads a config file, so the harness places the
member by editing two keys of its copy: ``data-dir`` and ``wal-dir`` go into the member's
scratch dir (a host's ``/var/lib/etcd`` is not ours); every other key is the text's. A new
cluster answers ``/health`` only once a quorum of its members is up, so members are
``launch()``-ed together and then waited for (``wait_healthy``).

>>> placed("name: e1\\ndata-dir: /var/lib/etcd/default\\n", "/tmp/x")
'data-dir: /tmp/x/data\\nname: e1\\n'
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Sequence

import yaml

from perfcfg.harness import netns
from perfcfg.harness.errors import DaemonError

CLIENT_PORT = 2379


def placed(conf_text: str, scratch: str) -> str:
    """``conf_text`` with its data and WAL dirs in ``scratch``."""
    conf = yaml.safe_load(conf_text) or {}
    conf["data-dir"] = f"{scratch}/data"
    if "wal-dir" in conf:
        conf["wal-dir"] = f"{scratch}/wal"
    return yaml.safe_dump(conf, sort_keys=True)


class EtcdMember(netns.HostDaemon):
    """One etcd member; reads its state over the v3 HTTP gateway on the client port."""

    daemon = "etcd"
    user = "etcd"

    def __init__(self, lab: netns.Lab, host: str, conf_text: str,
                 client_port: int = CLIENT_PORT) -> None:
        super().__init__(lab, host)
        self.conf_text = conf_text
        self.client_port = client_port

    def prepare(self) -> None:
        self.write("etcd.yml", placed(self.conf_text, self.dir))

    def argv(self) -> list[str]:
        return [netns.program("etcd"), "--config-file", f"{self.dir}/etcd.yml"]

    def probe(self) -> bool | None:
        return True if netns.tcp_open(self.address, self.client_port) else None

    # -- reading ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"http://{self.address}:{self.client_port}{path}"

    def healthy(self) -> bool:
        """``/health`` says true: this member is in a cluster that has a leader and a quorum."""
        try:
            with urllib.request.urlopen(self.url("/health"), timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")
        except (OSError, ValueError):
            return False

    def members(self) -> list[str]:
        """The cluster's member names, as this member knows them (``etcdctl member list``)."""
        done = subprocess.run(
            [netns.program("etcdctl"), f"--endpoints={self.address}:{self.client_port}",
             "member", "list", "-w", "json"], capture_output=True, text=True, timeout=30,
            env={**netns.BASE_ENV, "ETCDCTL_API": "3"}, check=False, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise DaemonError(self.daemon, f"etcdctl member list: {done.stderr.strip()}")
        return sorted(m.get("name", "") for m in json.loads(done.stdout)["members"])


def wait_healthy(members: Sequence[EtcdMember], timeout: float = 60) -> None:
    """Wait until every member reports a healthy cluster."""
    for member in members:
        member.wait_ready(timeout)
    netns.wait_for("etcd cluster healthy on every member",
                   lambda: True if all(m.healthy() for m in members) else None, timeout)

