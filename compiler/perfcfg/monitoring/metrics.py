"""Exporter metric catalogs: what an exporter really exposes, read off it running against each
supported version of its daemon, into ``schemas/catalogs/metrics/<exporter>-<version>.json``.

A catalog names every sample a query can select (a counter's ``…_total``, a summary's
``…_sum``/``…_count``), its type and its label names, and the daemon versions it was seen
with; the alert rules are checked against the pinned exporter's catalog, so a rule that names
a metric the exporter does not have fails a test instead of never firing. The Go runtime's
own series (``go_*``, ``process_*``, ``promhttp_*``) are left out: every Go program has them,
and they follow the Go release, not the exporter.

>>> text = '''# TYPE redis_up gauge
... redis_up 1
... # TYPE redis_evicted_keys_total counter
... redis_evicted_keys_total{db="0"} 3
... '''
>>> sorted(samples(text).items())
[('redis_evicted_keys_total', {'labels': ['db'], 'type': 'counter'}), ('redis_up', {'labels': [], 'type': 'gauge'})]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

RUNTIME_PREFIXES = ("go_", "process_", "promhttp_")


def samples(text: str) -> dict[str, dict[str, Any]]:
    """Sample name → its family's type and the label names it carries, from the text format."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(RUNTIME_PREFIXES):
                continue
            entry = out.setdefault(sample.name, {"labels": set(), "type": family.type})
            entry["labels"].update(sample.labels)
    return {name: {"labels": sorted(e["labels"]), "type": e["type"]}
            for name, e in sorted(out.items())}


def merge(seen: Mapping[str, Mapping[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One entry per sample across the daemon versions it was read against (``seen``:
    ``"postgresql-17"`` → ``samples()``), with the versions that had it."""
    out: dict[str, dict[str, Any]] = {}
    for daemon in sorted(seen):
        for name, entry in seen[daemon].items():
            into = out.setdefault(name, {"daemons": [], "labels": set(), "type": entry["type"]})
            into["daemons"].append(daemon)
            into["labels"].update(entry["labels"])
    return {name: {"daemons": e["daemons"], "labels": sorted(e["labels"]), "type": e["type"]}
            for name, e in sorted(out.items())}


def catalog(exporter: str, version: str, release: str, package: str, read_with: str,
            seen: Mapping[str, Mapping[str, dict[str, Any]]]) -> dict[str, Any]:
    return {"exporter": exporter, "version": version,
            "source": f"GET /metrics of {exporter} {release} against {read_with}",
            "build": {"package": package, "release": release},
            "daemons": sorted(seen), "metrics": merge(seen)}


@cache
def load(exporter: str, version: str) -> dict[str, Any] | None:
    """The catalog of ``exporter`` ``version``, or None when there is none: looked up where
    the daemons' catalogs are (the installed package's, and any extra folder)."""
    from perfcfg.services.catalog import _files as folders

    for folder in folders():
        try:
            text = (folder / "metrics" / f"{exporter}-{version}.json").read_text("utf-8")
        except (FileNotFoundError, OSError):
            continue
        return dict(json.loads(text))
    return None


def missing(cat: Mapping[str, Any], metric: str, daemon: str,
            labels: tuple[str, ...] = ()) -> str | None:
    """Why a query naming ``metric`` (with ``labels``) finds nothing for ``daemon``
    (``"postgresql-17"``) in catalog ``cat``, or None when it can find it."""
    entry = cat["metrics"].get(metric)
    if entry is None:
        return f"{cat['exporter']} {cat['version']} has no metric {metric}"
    # a daemon version the catalog was never read against (one added by its own catalog
    # file) is judged by the metric's existence alone
    if daemon in cat["daemons"] and daemon not in entry["daemons"]:
        return (f"{cat['exporter']} {cat['version']} reports {metric} only for "
                f"{', '.join(entry['daemons'])}, not {daemon}")
    lacking = [label for label in labels if label not in entry["labels"]]
    if lacking:
        return f"{metric} of {cat['exporter']} {cat['version']} has no label {', '.join(lacking)}"
    return None
