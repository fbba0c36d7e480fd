"""Parameter catalogs of the target daemons, and the value checks every daemon's coercion shares.

Catalogs are JSON files generated from the real daemons (``scripts/gen_catalogs.py``; format in
``docs/catalogs.md``), one per daemon version, named ``<daemon>-<version>.json``. Each service
turns what a preset says into perfcfg's canonical value for a parameter (its ``values.coerce``)
with the helpers here, or raises ``UnitError`` with a message that states what was expected.

>>> cat = load("postgresql", "15", case_insensitive=True)
>>> cat.get("WORK_MEM").unit
'kB'
>>> as_bool("on", BOOL_WORDS, "on or off")
True
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from perfcfg.core.units import UnitError

if TYPE_CHECKING:
    from importlib.abc import Traversable

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BOOL_WORDS = {"on": True, "off": False, "true": True, "false": False, "yes": True,
              "no": False, "1": True, "0": False}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    default: str | None = None
    context: str | None = None
    section: str | None = None
    # the catalog's daemon and version (``pgbouncer``, ``1.24``): messages name the target
    daemon: str = ""
    version: str = ""
    # a regular expression the whole value must match (read off the binary: Redis refuses a
    # path in dbfilename, names the characters notify-keyspace-events takes)
    pattern: str | None = None

    @property
    def release(self) -> str:
        return f"{self.daemon} {self.version}".strip()


def number(value: float) -> str:
    """A bound or value as people write it: ``2147483647``, ``0.5``, never ``2.14748e+09``.

    >>> number(2147483647.0), number(64), number(0.25), number(1e-05)
    ('2147483647', '64', '0.25', '0.00001')
    """
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10f}".rstrip("0")


@dataclass(frozen=True)
class Catalog:
    daemon: str
    version: str
    params: dict[str, Param]
    case_insensitive: bool
    # value sets read off the binary (time zones, ACL commands, signal names…): name → data
    sets: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, section: str | None = None) -> Param | None:
        key = name.lower() if self.case_insensitive else name
        if section is not None:
            key = f"{section}.{key}"
        return self.params.get(key)

    def names(self, section: str | None = None) -> list[str]:
        if section is None:
            return [p.name for p in self.params.values() if p.section is None]
        return [p.name for p in self.params.values() if p.section == section]


# Folders searched after the packaged catalogs (a test's own catalogs, for one): Paths, or a
# package's folder from importlib.resources.
EXTRA_DIRS: list[Traversable] = []


def _files() -> list[Traversable]:
    packaged = resources.files("perfcfg.schemas.catalogs")
    return [packaged, *EXTRA_DIRS]


@cache
def load(daemon: str, version: str, case_insensitive: bool = False) -> Catalog | None:
    """The catalog for a daemon version, or None when perfcfg has none for that version."""
    for folder in _files():
        try:
            text = folder.joinpath(f"{daemon}-{version}.json").read_text("utf-8")
            break
        except (FileNotFoundError, OSError):
            continue
    else:
        return None
    data = json.loads(text)
    ci = case_insensitive
    params: dict[str, Param] = {}
    # A catalog describes the version: enum values its build lacks (the npm and PyPI PostgreSQL
    # builds have no lz4) are added back; a service narrows them to a stated build's features.
    lacks = data.get("build", {}).get("lacks", {})
    for name, spec in data["parameters"].items():
        values = tuple(spec["values"]) + tuple(v for v in lacks.get(name, ())
                                               if v not in spec["values"]) \
            if spec.get("values") else None
        param = Param(spec.get("name", name.split(".")[-1]), spec["type"], spec.get("unit"),
                      spec.get("min"), spec.get("max"), values, spec.get("default"),
                      spec.get("context"), spec.get("section"), daemon, version,
                      spec.get("pattern"))
        key = name.lower() if ci else name
        params[key] = param
    return Catalog(daemon, version, params, ci, data.get("sets") or {})


def without_values(cat: Catalog, drop: set[str]) -> Catalog:
    """``cat`` (as :func:`load` gave it) with the enum values in ``drop`` taken out (a build
    without a feature); made once per catalog and set of values."""
    if not drop:
        return cat
    return _without(cat.daemon, cat.version, cat.case_insensitive, frozenset(drop))


@cache
def _without(daemon: str, version: str, case_insensitive: bool, drop: frozenset[str]
             ) -> Catalog:
    cat = load(daemon, version, case_insensitive)
    assert cat is not None
    params = {k: replace(p, values=tuple(v for v in p.values if v not in drop))
              if p.values and drop & set(p.values) else p for k, p in cat.params.items()}
    return Catalog(cat.daemon, cat.version, params, cat.case_insensitive, cat.sets)


def versions(daemon: str) -> list[str]:
    """Every version of ``daemon`` that has a catalog, oldest first."""
    prefix = f"{daemon}-"
    names = {p.name for folder in _files() for p in folder.iterdir()}
    found = [n[len(prefix):-len(".json")] for n in names
             if n.startswith(prefix) and n.endswith(".json")]
    return sorted(found, key=version_key)


def having(daemon: str, name: str, case_insensitive: bool, section: str | None = None
           ) -> list[str]:
    """The versions of ``daemon`` whose catalog has parameter ``name``, oldest first: where a
    parameter appeared and where it went."""
    return [v for v in versions(daemon)
            if (cat := load(daemon, v, case_insensitive)) is not None
            and cat.get(name, section) is not None]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) if x.isdigit() else 0 for x in version.split("."))


def check_text(value: str) -> str:
    if _CONTROL.search(value):
        raise UnitError("control characters (newline, tab, NUL…) are not allowed in a value")
    return value


def as_bool(value: Any, words: dict[str, bool], spelled: str) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).lower()
    if key in words:
        return words[key]
    raise UnitError(f"expected a boolean ({spelled}), got {value!r}")


def as_enum(param: Param, value: Any) -> str:
    if isinstance(value, bool):
        # YAML reads yes/no/on/off as booleans; give back the spelling this enum accepts
        # (Redis 7's enable-*-command enums are no/yes/local; supervised has "no" alone).
        words = ("on", "yes", "true") if value else ("off", "no", "false")
        accepted = {v.lower() for v in param.values or ()}
        value = next((w for w in words if w in accepted), words[0])
    text = str(value)
    for allowed in param.values or ():
        if allowed.lower() == text.lower():
            return allowed
    raise UnitError(f"expected one of {', '.join(param.values or ())}, got {value!r}")


def as_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", value.strip()):
        return int(value)
    raise UnitError(f"expected an integer, got {value!r}")


def as_real(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnitError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise UnitError(f"expected a number, got {value!r}") from None


def as_string(value: Any) -> str:
    if isinstance(value, bool):
        raise UnitError(f"expected a string, got {value!r}; quote it if you mean the word")
    if isinstance(value, (list, dict)) or value is None:
        raise UnitError(f"expected a string, got {value!r}")
    return check_text(str(value))


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")


def check_addresses(items: list[str], separator: str, *, everywhere: tuple[str, ...] = (),
                    optional_prefix: str = "") -> None:
    """Addresses a daemon will listen on, each an IP address, a host name or one of
    ``everywhere`` (``*``); a daemon that cannot read one stops at start (Redis: "Name or
    service not known"). ``separator`` is the daemon's: a comma for PostgreSQL and
    pgbouncer, a space for Redis; ``optional_prefix`` marks an address it may skip (Redis's
    ``-``).

    >>> check_addresses(["127.0.0.1", "-::1"], " ", everywhere=("*",), optional_prefix="-")
    >>> check_addresses(["127.0.0.256"], ",")
    Traceback (most recent call last):
    ...
    perfcfg.core.units.UnitError: '127.0.0.256' is not an IPv4 address
    """
    wrong, spelled = {",": (" ", "a comma"), " ": (",", "spaces")}[separator]
    for item in items:
        token = item[len(optional_prefix):] if optional_prefix and item.startswith(
            optional_prefix) else item
        if token in everywhere:
            continue
        try:
            ipaddress.ip_address(token)
            continue
        except ValueError:
            pass
        if wrong in token or "\t" in token:
            raise UnitError(f"{item!r} holds {'a comma' if wrong == ',' else 'a space'}: this "
                            f"daemon separates addresses with {spelled}")
        if re.fullmatch(r"[0-9.]+", token):
            raise UnitError(f"{item!r} is not an IPv4 address")
        if ":" in token:
            raise UnitError(f"{item!r} is not an IPv6 address")
        if len(token) > 253 or not _HOST_NAME.fullmatch(token):
            raise UnitError(f"{item!r} is neither an IP address nor a host name")


def as_path(value: Any, daemon: str) -> str:
    """A path the daemon must find wherever it is started from: absolute, or empty (none).

    >>> as_path("/var/lib/redis", "Redis")
    '/var/lib/redis'
    >>> as_path("data", "PostgreSQL")
    Traceback (most recent call last):
    ...
    perfcfg.core.units.UnitError: 'data' is a relative path: PostgreSQL would resolve it against the directory it is started from
    """
    text = as_string(value)
    if text and not text.startswith("/"):
        raise UnitError(f"{text!r} is a relative path: {daemon} would resolve it against the "
                        "directory it is started from")
    return text


def octal(value: Any) -> int:
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"0?[0-7]{3}", text):
        raise UnitError(f"expected a file mode in octal as a quoted string like \"0700\", got {value!r}")
    return int(text, 8)


def ranged(canonical: Callable[[Param, Any], Any]) -> Callable[[Param, Any], Any]:
    """A service's ``coerce``: its ``canonical`` reading, then the catalog's range check (for
    daemons whose numbers are in the parameter's own unit)."""
    def coerce(param: Param, value: Any) -> Any:
        result = canonical(param, value)
        check_range(param, result)
        return result
    return coerce


def check_range(param: Param, own: Any) -> None:
    """``own`` is the value in the parameter's own unit (what the catalog's range is in)."""
    if isinstance(own, bool) or not isinstance(own, (int, float)):
        return
    lo, hi = param.min, param.max
    if (lo is not None and own < lo) or (hi is not None and own > hi):
        unit = param.unit or ""
        low = "-inf" if lo is None else number(lo) + unit
        high = "inf" if hi is None else number(hi) + unit
        raise UnitError(f"{number(own)}{unit} is outside the range {param.release} accepts, "
                        f"{low} .. {high}")


def kept_in_range(param: Param, coerce: Callable[[Param, Any], Any], value: Any,
                  title: str) -> tuple[Any, str]:
    """A tuned number brought inside ``param``'s range (a rule fed by a huge host, 4096 CPUs
    or 99999999 TiB, must still give what the daemon accepts), and a note for its reason
    when it had to be; ``coerce`` reads a bound as the service reads a value.

    >>> cat = load("postgresql", "17", case_insensitive=True)
    >>> from perfcfg.services.postgres.values import coerce
    >>> kept_in_range(cat.get("max_parallel_workers"), coerce, 4096, "PostgreSQL")[0]
    1024
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value, ""
    try:
        coerce(param, value)
        return value, ""
    except (UnitError, ValueError, OverflowError):
        pass
    # The bounds in canonical form: a bare number is in the parameter's own unit.
    for bound, past in ((param.max, operator.gt), (param.min, operator.lt)):
        if bound is None:
            continue
        try:
            edge = coerce(param, int(bound) if float(bound).is_integer() else bound)
        except (UnitError, ValueError, OverflowError):
            continue
        if past(value, edge):
            unit = f" {param.unit}" if param.unit else ""
            return edge, (f" (kept within the {title} limit {number(bound)}{unit}; the rule "
                          f"gave {value})")
    return value, ""
