"""The diagnostic codes perfcfg emits, with a short title each (documented in docs/diagnostics.md).

Codes are stable: a code keeps its meaning forever; a retired code is never reused.
Families: ``PCF1xx`` loading (YAML, files, extends, environments, secrets), ``PCF2xx`` schema
(keys, types, units, ranges), ``PCF3xx`` cross-service checks, ``PCF4xx`` security policy,
``PCF5xx`` command line.

>>> TITLES["PCF204"]
'invalid value'
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
    "PCF201": "unknown section, key or parameter",
    "PCF202": "section has the wrong shape",
    "PCF203": "missing or empty value",
    "PCF204": "invalid value",
    "PCF205": "value out of range",
    "PCF206": "parameter managed by perfcfg",
    "PCF207": "no parameter catalog for the target version",
    "PCF208": "no tuning rule for auto",
    "PCF210": "value cannot be written safely",
    "PCF501": "malformed --set flag",
    "PCF502": "--set value is not YAML",
    "PCF503": "--set path does not exist",
}
