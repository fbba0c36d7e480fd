"""pg_hba.conf rules in one spelling, to compare the plan's with what a server parses
(``pg_hba_file_rules``): names unquoted, one database and user list, an address as its
network with the prefix length.

>>> intended_hba([type("R", (), {"type": "host", "database": "app", "user": "bot",
...               "address": "127.0.0.1/32", "method": "scram-sha-256"})()])
['host app bot 127.0.0.1/32 scram-sha-256']
>>> address_of("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), address_of("db.example", None)
('::1/128', 'db.example')
"""

from __future__ import annotations

import ipaddress
from typing import Any


def hba_rule(kind: str, databases: Any, users: Any, address: str, method: str) -> str:
    """One pg_hba.conf rule in one spelling, whether it comes from the plan or from
    ``pg_hba_file_rules`` (names unquoted, an address with its prefix length).

    >>> hba_rule("host", ["app"], ["bot"], "127.0.0.1/32", "scram-sha-256")
    'host app bot 127.0.0.1/32 scram-sha-256'
    """
    def names(v: Any) -> str:
        return ",".join(v) if isinstance(v, (list, tuple)) else str(v)

    return " ".join(w for w in (kind, names(databases), names(users), address, method) if w)


def address_of(address: str | None, netmask: str | None) -> str:
    """pg_hba_file_rules' address and netmask as one CIDR (a host name stays as it is)."""
    if not address:
        return ""
    if netmask:
        # ip_network takes an IPv4 mask, not an IPv6 one: count the mask's bits instead
        prefix = bin(int(ipaddress.ip_address(netmask))).count("1")
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return address


def intended_hba(rules: list[Any]) -> list[str]:
    """The plan's pg_hba.conf rules (``HbaRule``) in ``hba_rule()``'s spelling."""
    return [hba_rule(r.type, [r.database], [r.user], _network(r.address), r.method)
            for r in rules]


def _network(address: str) -> str:
    try:
        return str(ipaddress.ip_network(address, strict=False)) if address else ""
    except ValueError:
        return address    # a host name
