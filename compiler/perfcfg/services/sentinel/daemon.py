"""A Redis/Valkey Sentinel on a lab host, from its sentinel.conf, and what it reports.

Sentinel is the data server's program with ``--sentinel``; it rewrites its own file (its id,
``known-replica``/``known-sentinel`` lines, the ``sentinel monitor`` address after a
failover), so the harness gives it a writable copy in the host's scratch dir, placed like a
data node's.

>>> from perfcfg.services.redis.lab import port_of
>>> port_of("port 26380\\n", 26379)
26380
"""

from __future__ import annotations

import redis

from perfcfg.services.redis.lab import RedisNode

DEFAULT_PORT = 26379


class Sentinel(RedisNode):
    """One Sentinel; ``password`` is its own ``requirepass`` if it has one."""

    daemon = "sentinel"
    default_port = DEFAULT_PORT
    mode = ("--sentinel",)

    def master_addr(self, name: str) -> tuple[str, int] | None:
        """``SENTINEL get-master-addr-by-name``: where this Sentinel says the master is."""
        try:
            with self.client() as c:
                found = c.execute_command("SENTINEL", "get-master-addr-by-name", name)
        except (redis.RedisError, OSError):
            return None
        return (str(found[0]), int(found[1])) if found else None

    def ckquorum(self, name: str) -> str:
        """``SENTINEL ckquorum``: ``OK 3 usable Sentinels…`` or the error it answers."""
        try:
            with self.client() as c:
                return str(c.execute_command("SENTINEL", "ckquorum", name))
        except redis.ResponseError as err:
            return str(err)
