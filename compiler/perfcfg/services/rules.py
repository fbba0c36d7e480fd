"""Security rules (PCF4xx): the shape each service's rules take, and what they share.

Each rule is a code, a title, a severity per environment kind (``None``: the rule does not
apply to that kind), why it matters, how to fix it, and a check that yields ``Finding``s
(the setting path to blame and a message). Each service lists its own rules
(``services/<daemon>/policy.py``); the policy stage runs them all and applies waivers.

>>> STRICT["production"], STRICT["development"]
('error', 'warning')
>>> is_loopback("127.0.0.2"), split_addresses("a, b c")
(True, ['a', 'b', 'c'])
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from perfcfg.core.codes import TITLES
from perfcfg.core.config import Config
from perfcfg.core.diagnostics import Severity
from perfcfg.core.plan import Plan

Kind = str  # development | staging | production


@dataclass(frozen=True)
class Finding:
    path: str
    message: str


Check = Callable[[Plan, Config], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Mapping[Kind, Severity | None]
    why: str
    fix: str
    check: Check

    @property
    def title(self) -> str:
        return TITLES[self.code]    # the diagnostics registry's, shown everywhere alike


def sev(production: Severity | None, staging: Severity | None,
        development: Severity | None) -> dict[Kind, Severity | None]:
    return {"production": production, "staging": staging, "development": development}


STRICT = sev("error", "error", "warning")      # refused where it matters, flagged on laptops
ALWAYS = sev("error", "error", "error")        # dangerous even on a laptop
NOT_DEV = sev("error", "error", None)          # development may trade it for speed

ANY_ADDRESS = {"*", "0.0.0.0", "::", "[::]"}
_LOOPBACK = {"localhost", "::1", "[::1]", ""}


def is_loopback(address: str) -> bool:
    address = address.strip().lstrip("-")
    return address in _LOOPBACK or address.startswith("127.")


def split_addresses(value: object) -> list[str]:
    """A listen value as a list of addresses: ``'a, b'``, ``['a -b']`` or ``['a', 'b']``."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [a.strip() for item in items for a in re.split(r"[\s,]+", str(item)) if a.strip()]


def is_on(value: object) -> bool:
    return value is True or str(value).lower() in ("on", "true", "yes", "1")


def is_local_address(address: str) -> bool:
    """Whether a pg_hba address can only match connections from this host."""
    if address in ("local", "samehost"):
        return True
    if address == "samenet":
        return False
    return ipaddress.ip_network(address).is_loopback
