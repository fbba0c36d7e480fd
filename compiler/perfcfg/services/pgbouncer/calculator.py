"""``perfcfg tune pgbouncer``: one pool of ``--connections`` clients (pgbouncer's default 100)
and the ini fragment, each per-database value on its database's ``[databases]`` line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from perfcfg.services.calculator import CalcInput, Calculator
from perfcfg.services.pgbouncer.context import release
from perfcfg.tune.context import Pool, Recommendation, TuneContext, Versions

DEFAULT_CLIENTS = 100         # pgbouncer's default max_client_conn


def context(inp: CalcInput, base: TuneContext) -> TuneContext:
    versions = base.versions if not inp.version else \
        Versions(**{**base.versions, "pgbouncer": release(inp.version)})
    return replace(base, versions=versions,
                   pools=(Pool("app", "app", inp.connections or DEFAULT_CLIENTS),),
                   services=frozenset({"pgbouncer"}))


def text(name: str, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fragment(inp: CalcInput, recs: list[Recommendation]) -> list[str]:
    """A per-database value (``databases.app.pool_size``) is a key of that database's line in
    ``[databases]``, not of ``[pgbouncer]``: pgbouncer refuses to start on an unknown key
    there ("unknown parameter: pgbouncer/databases.app.pool_size"), so the fragment would not
    load as pasted."""
    per_db: dict[str, list[Recommendation]] = {}
    for r in recs:
        parts = r.path.split(".")
        if parts[1] == "databases":
            per_db.setdefault(parts[2], []).append(r)
    lines = ["", "[databases]",
             "# add host=, port= and dbname= for your server (pgbouncer's defaults: the local",
             "# socket and a database named like the entry)"] if per_db else []
    for db, values in per_db.items():
        lines += [f"# {r.path.rsplit('.', 1)[1]}: {r.reason}" for r in values]
        lines.append(f"{db} = " + " ".join(f"{r.path.rsplit('.', 1)[1]}={text('', r.value)}"
                                            for r in values))
    lines += ["", "[pgbouncer]"]
    lines += [f"# {r.reason}\n{r.path.split('.', 1)[1]} = {text('', r.value)}"
              for r in recs if r.path.split(".")[1] != "databases"]
    return lines


CALCULATOR = Calculator({}, context, fragment, text)
