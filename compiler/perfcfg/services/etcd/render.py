"""An etcd member's config file (``etcd --config-file``) for each DCS host.

``initial-cluster`` lists every member and is the same text in every file; the v3 HTTP
gateway is switched on explicitly (a config file leaves it off, and Patroni's etcd3 client
speaks only through it: docs/multihost-lab.md).

>>> files = render((("e1", "10.0.0.21"), ("e2", "10.0.0.22"), ("e3", "10.0.0.23")), "main")
>>> [line for line in files["e2"].splitlines() if line.startswith(("name", "initial-cluster:"))]
['name: e2', 'initial-cluster: e1=http://10.0.0.21:2380,e2=http://10.0.0.22:2380,e3=http://10.0.0.23:2380']
>>> even_membership(4)
['etcd needs an odd number of members (4): an even one tolerates no more failures than one fewer']
"""

from __future__ import annotations

from collections.abc import Sequence

CLIENT_PORT, PEER_PORT = 2379, 2380


def initial_cluster(members: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{name}=http://{address}:{PEER_PORT}" for name, address in members)


def render(members: Sequence[tuple[str, str]], token: str,
           data_dir: str = "/var/lib/etcd/default") -> dict[str, str]:
    """Member name → its config text, for members ``(name, address)``."""
    cluster = initial_cluster(members)
    out = {}
    for name, address in members:
        out[name] = "\n".join([
            f"name: {name}",
            f"data-dir: {data_dir}",
            f"listen-client-urls: http://{address}:{CLIENT_PORT},http://127.0.0.1:{CLIENT_PORT}",
            f"advertise-client-urls: http://{address}:{CLIENT_PORT}",
            f"listen-peer-urls: http://{address}:{PEER_PORT}",
            f"initial-advertise-peer-urls: http://{address}:{PEER_PORT}",
            f"initial-cluster: {cluster}",
            "initial-cluster-state: new",
            f"initial-cluster-token: {token}",
            "enable-grpc-gateway: true",
        ]) + "\n"
    return out


def even_membership(count: int) -> list[str]:
    """A majority of an even membership is no more tolerant than one member fewer."""
    if count % 2 == 0:
        return [f"etcd needs an odd number of members ({count}): an even one tolerates no "
                "more failures than one fewer"]
    return []
