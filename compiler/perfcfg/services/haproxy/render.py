"""``haproxy.cfg`` for an app host: one listener that always reaches the current primary.

Each database member is a server whose health is Patroni's REST ``/primary`` (200 on the
leader only), so HAProxy marks exactly the leader up; ``on-marked-down shutdown-sessions``
closes the old leader's sessions at once, or pgbouncer would keep a dead server connection
(docs/multihost-lab.md). ``balance first``: every client goes to the one server that is up.

>>> text = render((("db1", "10.0.0.11"), ("db2", "10.0.0.12")), "10.0.0.31")
>>> "option httpchk GET /primary" in text, text.count("check port 8008")
(True, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

LISTEN_PORT, PG_PORT, REST_PORT = 5000, 5432, 8008


def render(members: Sequence[tuple[str, str]], address: str, port: int = LISTEN_PORT,
           check_interval_ms: int = 1000, maxconn: int = 1000) -> str:
    """The config for an app host at ``address``; ``members`` are ``(name, address)``."""
    servers = "".join(f"    server {name} {addr}:{PG_PORT} check port {REST_PORT}\n"
                      for name, addr in members)
    return (
        "global\n"
        f"    maxconn {maxconn}\n"
        "defaults\n"
        "    mode tcp\n"
        "    timeout connect 2s\n"
        "    timeout client 30m\n"
        "    timeout server 30m\n"
        "    timeout check 1s\n"
        "listen primary\n"
        f"    bind {address}:{port}\n"
        f"    bind 127.0.0.1:{port}\n"
        "    balance first\n"
        "    option httpchk GET /primary\n"
        "    http-check expect status 200\n"
        f"    default-server inter {check_interval_ms}ms fall 2 rise 1 "
        "on-marked-down shutdown-sessions\n"
        f"{servers}"
    )
