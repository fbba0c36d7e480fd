"""Where a service is reached: its port and the address a client on the same host connects to,
and how both go into a pg_hba line or a URL. Each service names its own settings
(``Service.endpoint``); the helpers here know no daemon.

>>> e = Endpoint("exampled.port", 7000, "exampled.bind")
>>> port({}, e), connect_host({"exampled.bind": "0.0.0.0"}, e)
(7000, '127.0.0.1')
>>> host_address("127.0.0.1"), host_address("::1"), host_address("db.example.com")
('127.0.0.1/32', '::1/128', 'db.example.com')
>>> url_host("::1"), url_part("a@b c")
('[::1]', 'a%40b%20c')
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    port: str            # the setting path of its port
    default_port: int    # the daemon's own default
    address: str         # the setting path of the address(es) it listens on


def _value(settings: Mapping[str, Any], path: str) -> Any:
    setting = settings.get(path)
    return getattr(setting, "value", setting)


def port(settings: Mapping[str, Any], endpoint: Endpoint) -> int:
    """``settings``: path → Setting (or a plain value)."""
    value = _value(settings, endpoint.port)
    return int(value) if value is not None else endpoint.default_port


def connect_host(settings: Mapping[str, Any], endpoint: Endpoint) -> str:
    """The address a client on the same host uses to reach the service."""
    value = _value(settings, endpoint.address)
    if value is None:
        value = "127.0.0.1"
    text = " ".join(value) if isinstance(value, list) else str(value)
    # The first address named (a "-" marks an optional one); empty items are skipped.
    first = next((a.lstrip("-") for a in re.split(r"[,\s]+", text) if a.lstrip("-")), "")
    if first in ("", "*", "0.0.0.0", "localhost"):
        return "127.0.0.1"
    if first in ("::", "::1"):
        return "::1"
    return first


def host_address(host: str) -> str:
    """A pg_hba.conf-style address matching exactly ``host``: an IP with its full mask, or a
    host name as it is (``db.example.com/32`` is refused)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"{host}/{address.max_prefixlen}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def url_part(text: str) -> str:
    """A user or database name inside a URL: percent-encoded (``a@b`` would end the user
    part, a space would end the URL for many drivers)."""
    return quote(text, safe="")
