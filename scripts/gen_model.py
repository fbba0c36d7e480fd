"""Compile perfcfg's pydantic declarations (compiler/perfcfg/model/spec.py) into compiler/perfcfg/model/records.py.

For each model: a :class:`perfcfg.model.base.Record` class with the same fields, and the core
schema pydantic built for it, written out as Python so that perfcfg runs on pydantic-core alone.
Run it after changing modeldef.py or modelrules.py; ``--check`` (run by scripts/test.sh and the
test suite) fails when model.py is stale.

    python scripts/gen_model.py [--check]
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core

from perfcfg.model import rules as modelrules
from perfcfg.model import spec as modeldef
from perfcfg.model.base import runtime_schema

OUT = Path(__file__).resolve().parent.parent / "compiler" / "perfcfg" / "model" / "records.py"
WIDTH = 100

HEADER = '''\
"""perfcfg's own input structures as it runs with them — GENERATED, do not edit.

Written by ``scripts/gen_model.py`` from the pydantic declarations in
:mod:`perfcfg.model.spec` (pydantic {pydantic}, pydantic-core {core}): one immutable
:class:`~perfcfg.model.base.Record` class per model and the core schema pydantic built for it.
Validation runs in pydantic-core with the checks of :mod:`perfcfg.model.rules`; importing this
module does not import pydantic. Change modeldef.py or modelrules.py, then run
``python scripts/gen_model.py``.
"""
# ruff: noqa: E501

from __future__ import annotations

from typing import Any, Literal

from perfcfg.model import rules
from perfcfg.model.base import Record
from perfcfg.model.rules import SECRET_REF, ProgramMethods, parse_share

__all__ = [{names}, "SECRET_REF", "parse_share"]
'''


class Code(str):
    """Source text that is written as is (a class name, a constructor call)."""

    def __repr__(self) -> str:
        return str(self)


def type_text(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(type_text(a) for a in args)}]"
    if isinstance(tp, type):
        return tp.__name__
    raise SystemExit(f"gen_model: cannot write the type {tp!r}")


def keyed(tp: Any) -> bool:
    """Whether a field holds a mapping of models (``dict[str, Environment]``)."""
    if typing.get_origin(tp) is dict:
        return nested(typing.get_args(tp)[1]) is not None
    return any(keyed(arg) for arg in typing.get_args(tp))


def nested(tp: Any) -> str | None:
    """The name of the model a field holds, directly or inside list/dict/union/Annotated."""
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return tp.__name__
    return next((n for n in map(nested, typing.get_args(tp)) if n), None)


def literal(value: Any, indent: int) -> str:
    """Python source for a schema value, broken over lines to fit WIDTH."""
    flat = _flat(value)
    if indent + len(flat) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{k!r}: {literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{literal(v, indent + 4)}," for v in value]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, types.FunctionType):
        if value.__module__ != modelrules.__name__:
            raise SystemExit(f"gen_model: validator {value.__qualname__} must live in "
                             "perfcfg.model.rules (it runs without pydantic)")
        return f"rules.{value.__name__}"
    if isinstance(value, (Code, str, int, float, bool, type(None))):
        return repr(value)
    raise SystemExit(f"gen_model: cannot write the schema value {value!r}")


def generate() -> str:
    models = modeldef.MODELS
    names = ", ".join(f'"{m.__name__}"' for m in models)
    parts = [HEADER.format(pydantic=pydantic.VERSION, core=pydantic_core.__version__,
                           names=names)]
    for cls in models:
        bases = "ProgramMethods, Record" if issubclass(cls, modelrules.ProgramMethods) else "Record"
        body = [f"\n\nclass {cls.__name__}({bases}):"]
        if cls.__doc__:
            body.append(f'    """{_doc(cls.__doc__)}"""\n')
        for name, info in cls.model_fields.items():
            body.append(f"    {name}: {type_text(info.annotation)}")
        fields = {name: Code(nested(info.annotation) or "None")
                  for name, info in cls.model_fields.items()}
        body.append(f"\n    FIELDS = {literal(fields, 4)}")
        maps = sorted(name for name, info in cls.model_fields.items() if keyed(info.annotation))
        if maps:
            body.append(f"    KEYED = frozenset({maps!r})")
        parts.append("\n".join(body) + "\n")
    parts.append("\n")
    written: dict[str, Any] = {}
    for cls in models:
        schema = runtime_schema(cls.__pydantic_core_schema__, Code,
                                lambda name, fields: Code(f"{name}._make({_flat(fields)})"))
        parts.append(f"{cls.__name__}.__core_schema__ = "
                     f"{literal(_shared(schema, written, top=True), 0)}\n")
        written[cls.__name__] = schema
    return "".join(parts)


def _shared(schema: Any, written: dict[str, Any], top: bool = False) -> Any:
    """Nested model schemas identical to one already written become a reference to it."""
    if isinstance(schema, dict):
        name = schema.get("cls") if schema.get("type") == "model" else None
        if not top and name in written and written[name] == schema:
            return Code(f"{name}.__core_schema__")
        return {k: _shared(v, written) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_shared(v, written) for v in schema]
    return schema


def _doc(doc: str) -> str:
    """A docstring without its doctest (the declaration in modeldef.py keeps that)."""
    return doc.strip().split(">>>")[0].rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if model.py is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/gen_model.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
