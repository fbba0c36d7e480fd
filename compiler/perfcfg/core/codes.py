"""The diagnostics registry: every code perfcfg emits, its family and its title.

This one table feeds the reporters (SARIF rule descriptions), the security rules' titles,
which codes a waiver may name, and docs/diagnostics.md (a test checks that every code is
documented there under its title, with real output). Codes are stable: a code keeps its
meaning forever; a retired code is never reused. Families: ``PCF1xx`` loading (YAML, files,
extends, environments, secrets), ``PCF2xx`` schema (keys, types, units, ranges), ``PCF3xx``
cross-service checks, ``PCF4xx`` security policy, ``PCF5xx`` command line.

>>> TITLES["PCF204"]
'invalid value'
>>> family("PCF303")
'cross-service problem (memory, connections, fds, ports, versions)'
>>> "PCF310" in WAIVABLE, "PCF403" in WAIVABLE, "PCF420" in WAIVABLE
(True, True, False)
"""

from __future__ import annotations

TITLES: dict[str, str] = {
    "PCF101": "file cannot be read",
    "PCF102": "YAML syntax error",
    "PCF103": "duplicate key",
    "PCF104": "YAML tag not allowed",
    "PCF105": "aliases expand too far (alias bomb)",
    "PCF106": "file is not UTF-8",
    "PCF107": "file is too large",
    "PCF108": "tab used for indentation",
    "PCF109": "more than one YAML document",
    "PCF110": "ambiguous number",
    "PCF111": "unsupported mapping key",
    "PCF112": "unknown built-in preset",
    "PCF113": "preset file does not exist",
    "PCF114": "extends cycle",
    "PCF115": "file is not a mapping",
    "PCF116": "invalid extends entry",
    "PCF117": "no perfcfg.yaml",
    "PCF118": "host profile does not exist",
    "PCF119": "unknown environment",
    "PCF120": "secret cannot be resolved",
    "PCF121": "password is not ASCII",
    "PCF122": "!unset removes nothing",
    "PCF201": "unknown section, key or parameter",
    "PCF202": "section has the wrong shape",
    "PCF203": "missing or empty value",
    "PCF204": "invalid value",
    "PCF205": "value out of range",
    "PCF206": "parameter managed by perfcfg",
    "PCF207": "no parameter catalog for the target version",
    "PCF208": "no tuning rule for auto",
    "PCF209": "unknown Redis user",
    "PCF210": "value cannot be written safely",
    "PCF211": "secret would be written in clear",
    "PCF212": "not a parameter of the target version",
    "PCF213": "value the daemon silently changes",
    "PCF214": "no alert by that name",
    "PCF215": "alert rule that cannot work",
    "PCF216": "alert rules not checked: no promtool",
    "PCF217": "an exporter cannot log in",
    "PCF218": "parameters the daemon refuses together",
    "PCF219": "value the target host must have",
    "PCF301": "memory worst case exceeds the host",
    "PCF302": "memory shares exceed the host",
    "PCF303": "pools need more than max_connections",
    "PCF304": "reserved slots fill max_connections",
    "PCF305": "pgbouncer needs more file descriptors than its limit",
    "PCF306": "Redis maxclients beyond its file-descriptor limit",
    "PCF307": "workers open more Redis connections than maxclients",
    "PCF308": "workers open more connections than pgbouncer max_client_conn",
    "PCF309": "max_prepared_statements needs pgbouncer 1.21",
    "PCF310": "transaction pooling without prepared-statement support",
    "PCF311": "two services on one port",
    "PCF312": "worker needs more file descriptors than it inherits",
    "PCF313": "parallel workers exceed their pool",
    "PCF314": "Redis without a memory limit",
    "PCF315": "pgbouncer waits longer than the clients",
    "PCF316": "shared memory that needs the host's attention",
    "PCF317": "the host falls short of what the plan needs",
    "PCF318": "fd limit above the kernel's fs.nr_open",
    "PCF319": "beyond the declared headroom",
    "PCF322": "host limits asked for on a host that is not Linux",
    "PCF323": "a worker's memory limit from the default, not a declaration",
    "PCF320": "connections do not fit PostgreSQL's memory",
    "PCF321": "persisting Redis too large to fork quickly",
    "PCF401": "plaintext secret in a preset",
    "PCF402": "Redis reachable beyond loopback without a password",
    "PCF403": "Redis protected-mode off",
    "PCF404": "Redis user enabled without a password",
    "PCF405": "supervisord HTTP server without credentials",
    "PCF406": "supervisord HTTP server beyond loopback",
    "PCF407": "supervisord control socket too open",
    "PCF408": "PostgreSQL ssl off while listening beyond loopback",
    "PCF409": "PostgreSQL listens on every interface",
    "PCF410": "PostgreSQL crash safety off",
    "PCF411": "trust authentication",
    "PCF412": "md5 or password authentication",
    "PCF413": "pgbouncer auth_type weaker than SCRAM",
    "PCF414": "pgbouncer on every interface without TLS",
    "PCF415": "pgbouncer admin or stats user missing from the auth file",
    "PCF416": "remote client but PostgreSQL listens on loopback only",
    "PCF417": "pgbouncer beyond loopback without TLS",
    "PCF418": "Redis beyond loopback without TLS",
    "PCF419": "Redis debug, module or protected-config commands enabled",
    "PCF420": "invalid waiver",
    "PCF421": "waiver matches nothing",
    "PCF422": "worker program runs as root",
    "PCF501": "malformed --set flag",
    "PCF502": "--set value is not YAML",
    "PCF503": "--set path does not exist",
}

FAMILIES: dict[str, str] = {
    "1": "loading problem (YAML, files, extends)",
    "2": "schema problem (types, units, ranges, keys)",
    "3": "cross-service problem (memory, connections, fds, ports, versions)",
    "4": "security policy problem",
    "5": "build or CLI problem",
}

# Cross-service findings that are the daemon's own refusal: PostgreSQL will not start with
# its reserved slots filling max_connections, nor a unit with a LimitNOFILE above fs.nr_open,
# whatever a waiver says.
REFUSED_BY_THE_DAEMON = frozenset({"PCF304", "PCF318"})
# A waiver accepts a cross-service finding or a security rule's finding; the waiver codes
# themselves (PCF420, PCF421) cannot be waived, nor what the daemon refuses.
NOT_WAIVABLE = frozenset({"PCF420", "PCF421"}) | REFUSED_BY_THE_DAEMON
WAIVABLE: set[str] = {c for c in TITLES if c[3:4] in "34" and c not in NOT_WAIVABLE}


def register(titles: dict[str, str]) -> None:
    """Add the codes a service brings (``Service.codes``: code → title), e.g. a package's
    ``XYZ401``; a code that exists with another title is refused: codes are stable."""
    for code, title in titles.items():
        if TITLES.get(code, title) != title:
            raise ValueError(f"diagnostic code {code} is already {TITLES[code]!r}")
        TITLES[code] = title
        if code[3:4] in "34" and code not in NOT_WAIVABLE:
            WAIVABLE.add(code)


def family(code: str) -> str:
    return FAMILIES.get(code[3:4], "problem")
