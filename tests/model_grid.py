"""A fixed grid of inputs for perfcfg's own structures, and what validating each one gives.

Every edge value goes into every field of every model, one at a time, on top of a minimal
valid input; plus each required field left out and an unknown key. The validators are per
field, so this reaches each check with each kind of value (bounds, patterns with a trailing
newline — where Python's ``$`` and pydantic-core's differ —, sizes, reserved names, wrong
types, nested records) deterministically and in well under a second.

tests/test_model.py compares the generated run-time classes with the pydantic declarations on
this grid; tests/test_pydantic_range.py runs this file as a script inside a virtualenv with
another pydantic and compares its output with the pinned version's:

    python tests/model_grid.py [--declared]   # JSON: one outcome per case, with perfcfg.model
                                              # (or the pydantic declarations, perfcfg.model.spec)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

# A minimal valid input of each model: its required fields, nothing else.
BASE: dict[str, dict[str, Any]] = {
    "PostgresBuild": {},
    "Targets": {},
    "EnvironmentDeploy": {},
    "Environment": {"preset": "presets/staging.yaml", "host": "hosts/vm.yaml"},
    "Secrets": {},
    "PresetSources": {},
    "HostSources": {},
    "DeployFile": {},
    "Deploy": {},
    "ProjectFile": {"project": "demo",
                    "environments": {"staging": {"preset": "p.yaml", "host": "h.yaml"}}},
    "HostProfile": {"memory": "1GiB", "cpus": 2},
    "Program": {"name": "worker", "command": "python -m app.worker"},
    "Headroom": {},
    "Workload": {},
    "Database": {"name": "app"},
    "User": {"name": "app"},
    "Client": {"name": "monitoring", "user": "monitor"},
    "RedisUser": {"name": "app"},
    "Waiver": {"rule": "PCF403", "reason": "an isolated lab"},
    "Policy": {},
    "Budget": {},
}

# Values chosen to sit on every edge the models have.
SCALARS: list[Any] = [
    None, True, False, 0, 1, -1, 9, 10, 18, 19, 255, 256, 4096, 4097, 10000, 10001, 65536,
    1.0, 2.5, 1e300, "", " ", "a", "a\n", "A-b.c_9", "*", "pgbouncer", "1.18", "1.18\n", "7.0",
    "4.2", "8.1", "1", "42", "true", "auto", "40%", "0%", "100%", "101%", "x%", "256MiB",
    "255MiB", "16GiB", "3 parsecs", "512 MB", "1.5GiB", "10s", "500ms", "2min", "2 days",
    "python -m app.worker", "'unclosed", "local", "10.0.0.0/24", "10.0.0.1/24", "::1/128",
    "scram-sha-256", "md5", "transaction", "turbo", "hdd", "nvme", "web", "oltp", "staging",
    "Prod", "PCF401", "PCF310", "PCF999", "${env:X}", "${file:secrets/a}", "cache:*", "~x",
    "+@read", "-flushall", "allcommands", "a b", "a#b", "x" * 63, "x" * 64, "x" * 70,
]
COMPOSITES: list[Any] = [
    [], {}, ["a"], ["python", "-m", "x"], [""], [1], ["~x", "+@read"], ["cache:*", "a b"],
    {"A": 1}, {"MODE": "fast", "N": 3, "F": 1.5, "B": True}, {"a b": 1}, {"1x": "v"},
    {"A": None}, {"A": [1]},
]


def cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(model name, case id, input) for the whole grid."""
    from perfcfg import model

    for name, base in BASE.items():
        cls = getattr(model, name)
        yield name, "base", dict(base)
        yield name, "unknown key", {**base, "extra_key": 1}
        for key in base:
            yield name, f"without {key}", {k: v for k, v in base.items() if k != key}
        for key, inner in cls.FIELDS.items():
            values = SCALARS + COMPOSITES
            if inner is not None:
                good, bad = BASE[inner.__name__], {**BASE[inner.__name__], "extra_key": 1}
                values = values + [good, bad, [good], [good, bad], {"staging": good},
                                   {"Bad Name": good}, {"a": bad}]
            for i, value in enumerate(values):
                yield name, f"{key}={i}", {**base, key: value}


def outcome(cls: Any, data: Any) -> Any:
    """What validating ``data`` gives, as JSON: the dumped value, or the errors (type,
    location, message; without the documentation URL, which names pydantic's version)."""
    import pydantic_core

    try:
        value: Any = ("ok", cls.model_validate(data).model_dump())
    except (ValueError, pydantic_core.ValidationError) as exc:   # pydantic's is a ValueError
        value = ("error", [(e["type"], e["loc"], e["msg"]) for e in exc.errors()])  # type: ignore[attr-defined]
    return json.loads(json.dumps(value))


def outcomes(module: Any) -> dict[str, Any]:
    """Case → outcome, validating with the classes of ``module`` (perfcfg.model or modeldef)."""
    return {f"{name}: {case}": outcome(getattr(module, name), data)
            for name, case, data in cases()}


if __name__ == "__main__":
    from perfcfg import model
    from perfcfg.model import spec as modeldef

    json.dump(outcomes(modeldef if "--declared" in sys.argv else model), sys.stdout, indent=0,
              sort_keys=True)
