"""The base of perfcfg's run-time model classes: pydantic-core validation without pydantic.

:mod:`perfcfg.model.spec` declares perfcfg's own structures with pydantic. Importing pydantic and
building those models costs about as much as the rest of ``perfcfg validate`` together, and a
pre-commit hook pays it on every commit. So ``scripts/gen_model.py`` compiles the declarations
into :mod:`perfcfg.model`: one :class:`Record` subclass per model and the core schema pydantic
built for it, written out as Python. At run time only ``pydantic_core`` (the validator pydantic
itself runs) is imported; the values, the errors and their messages are pydantic's own.

The generated schemas are used with whichever pydantic-core is installed (pydantic is a
range, not a pin): the schema format is stable within pydantic 2, and
tests/test_pydantic_range.py runs the model grid and the example under other releases. A
pydantic-core that refuses a generated schema (``SchemaError``) gets the schema the installed
pydantic builds from the declaration instead: a slower start, the same checks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

import pydantic_core

R = TypeVar("R", bound="Record")

# Keys of a core schema that only pydantic's JSON Schema and serializer read.
_DROPPED = frozenset({"metadata", "ref", "serialization"})


class Record:
    """An immutable value of one of perfcfg's input structures, validated on construction."""

    # pydantic-core sets these four on every instance it builds (its ``model`` schema).
    __slots__ = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__",
                 "__pydantic_private__")
    # Field name → the Record class it holds (directly or in a list/dict), else None.
    FIELDS: ClassVar[dict[str, type[Record] | None]] = {}
    # Fields holding a mapping of records: in an error location, a free key follows them.
    KEYED: ClassVar[frozenset[str]] = frozenset()
    __core_schema__: ClassVar[dict[str, Any]]
    __validator: ClassVar[pydantic_core.SchemaValidator | None] = None

    def __init__(self, **data: Any) -> None:
        type(self)._validator().validate_python(data, self_instance=self)

    @classmethod
    def model_validate(cls: type[R], obj: object) -> R:
        # pydantic-core types what it builds as Any; the class's own model schema builds cls
        return cast(R, cls._validator().validate_python(obj))

    @classmethod
    def _validator(cls) -> pydantic_core.SchemaValidator:
        validator = cls.__dict__.get("_Record__validator")
        if validator is None:
            try:
                validator = pydantic_core.SchemaValidator(cls.__core_schema__)
            except pydantic_core.SchemaError:
                validator = pydantic_core.SchemaValidator(cls._declared_schema())
            type.__setattr__(cls, "_Record__validator", validator)
        return validator

    @classmethod
    def _declared_schema(cls) -> dict[str, Any]:
        """The core schema the installed pydantic builds from the declaration in modeldef."""
        # The generated module that defines this class (perfcfg.model), found without
        # importing it: it imports this module.
        model = sys.modules[cls.__module__]
        from perfcfg.model import spec as modeldef

        declared = getattr(modeldef, cls.__name__).__pydantic_core_schema__
        schema: dict[str, Any] = runtime_schema(declared, lambda name: getattr(model, name),
                              lambda name, fields: getattr(model, name)._make(fields))
        return schema

    @classmethod
    def _make(cls: type[R], fields: dict[str, Any]) -> R:
        """An instance from already valid field values (defaults inside generated schemas)."""
        obj = cls.__new__(cls)
        obj.__setstate__({"fields": dict(fields), "fields_set": set()})
        return obj

    @property
    def given(self) -> frozenset[str]:
        """The fields the input stated (the others hold their defaults)."""
        return frozenset(getattr(self, "__pydantic_fields_set__", ()))

    def __getstate__(self) -> dict[str, Any]:
        return {"fields": self.__dict__,
                "fields_set": getattr(self, "__pydantic_fields_set__", set())}

    def __setstate__(self, state: dict[str, Any]) -> None:   # copy and pickle
        object.__setattr__(self, "__dict__", state["fields"])
        object.__setattr__(self, "__pydantic_fields_set__", state["fields_set"])
        object.__setattr__(self, "__pydantic_extra__", None)
        object.__setattr__(self, "__pydantic_private__", None)

    def model_dump(self) -> dict[str, Any]:
        return {name: _dump(value) for name, value in self.__dict__.items()}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.__dict__.values())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def runtime_schema(schema: Any, record: Callable[[str], Any],
                   instance: Callable[[str, dict[str, Any]], Any], refs: bool = False) -> Any:
    """pydantic's core schema of a model, made for the run-time classes: each pydantic model
    class becomes ``record(name)``, each model instance used as a default becomes
    ``instance(name, fields)``, and the keys only pydantic's JSON Schema and serializer read
    are dropped. :mod:`perfcfg.model` is this, written out by ``scripts/gen_model.py``.

    Inside a ``definitions`` schema (what some pydantic releases build for a model used in two
    places, such as ``Targets``) the ``ref`` names are what ``definition-ref`` points at: kept."""
    if isinstance(schema, dict):
        refs = refs or schema.get("type") == "definitions"
        dropped = _DROPPED - {"ref"} if refs else _DROPPED
        return {key: record(value.__name__) if key == "cls" else
                runtime_schema(value, record, instance, refs)
                for key, value in schema.items() if key not in dropped}
    if isinstance(schema, list):
        return [runtime_schema(v, record, instance, refs) for v in schema]
    if hasattr(type(schema), "__pydantic_core_schema__"):   # a model instance as a default
        return instance(type(schema).__name__,
                        {name: runtime_schema(getattr(schema, name), record, instance, refs)
                         for name in type(schema).model_fields})
    return schema
