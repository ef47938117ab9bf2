"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) for the wire Structs.

Built on `msgspec.inspect` rather than `msgspec.json.schema_components` because the
latter fails on the wire Structs' `Raw()` defaults (it cannot turn a `Raw` default into
JSON) and cannot see field docstrings; here every field's docstring (read from the source,
as `govern.configdoc` does) becomes its `description`.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from govern.configdoc import field_docs

Schema = dict[str, Any]


@cache
def _field_descriptions(cls: type[msgspec.Struct]) -> dict[str, str]:
    descriptions: dict[str, str] = {}
    for base in reversed(cls.__mro__[1:]):
        if issubclass(base, msgspec.Struct) and base is not msgspec.Struct:
            descriptions.update(_field_descriptions(base))
    # A Struct built at run time has no source, so no field docs.
    with contextlib.suppress(OSError, TypeError, IndexError):
        descriptions.update({f.name: _unwrap(f.doc) for f in field_docs(cls) if f.doc})
    return descriptions


class SchemaBuilder:
    """Collects the component schemas of Struct types; `ref()` returns a `$ref` to one.

    `prefixes` maps a Struct's module to a prefix for its component names, so that two
    modules' Structs of the same name (`ErrorResponse`) stay apart.
    """

    def __init__(self, prefixes: dict[str, str] | None = None):
        self.prefixes = prefixes or {}
        self.components: dict[str, Schema] = {}
        self._names: dict[type, str] = {}

    def name(self, cls: type) -> str:
        """The component name of a Struct type."""
        known = self._names.get(cls)
        if known is not None:
            return known
        name = self.prefixes.get(cls.__module__, "") + cls.__name__
        if name in self.components or name in self._names.values():
            name = f"{cls.__module__.replace('.', '_')}_{cls.__name__}"
        self._names[cls] = name
        return name

    def ref(self, tp: Any) -> Schema:
        """The schema of `tp` (a Struct becomes a `$ref` to its component)."""
        return self._schema(mi.type_info(tp))

    def refs(self, types: Iterable[Any]) -> list[Schema]:
        """The schemas of several types."""
        return [self.ref(tp) for tp in types]

    def _schema(self, t: mi.Type) -> Schema:
        if isinstance(t, mi.StructType):
            return self._struct_ref(t)
        if isinstance(t, mi.UnionType):
            return self._union(t)
        if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            schema: Schema = {"type": "array", "items": self._schema(t.item_type)}
            return schema
        if isinstance(t, mi.DictType):
            return {"type": "object", "additionalProperties": self._schema(t.value_type)}
        if isinstance(t, mi.LiteralType):
            values = list(t.values)
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        return _scalar(t)

    def _union(self, t: mi.UnionType) -> Schema:
        options = [o for o in t.types if not isinstance(o, mi.NoneType)]
        nullable = len(options) < len(t.types)
        tagged = [o for o in options if isinstance(o, mi.StructType) and o.tag_field]
        if options and len(tagged) == len(options) and len({o.tag_field for o in tagged}) == 1:
            schema: Schema = {
                "oneOf": [self._struct_ref(o) for o in tagged],
                "discriminator": {
                    "propertyName": tagged[0].tag_field,
                    "mapping": {
                        str(o.tag): f"#/components/schemas/{self.name(o.cls)}" for o in tagged
                    },
                },
            }
        elif len(options) == 1:
            schema = self._schema(options[0])
        else:
            schema = {"anyOf": [self._schema(o) for o in options]}
        if nullable:
            return {"anyOf": [schema, {"type": "null"}]}
        return schema

    def _struct_ref(self, t: mi.StructType) -> Schema:
        name = self.name(t.cls)
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursive types refer to it
            self.components[name] = self._struct(t)
        return {"$ref": f"#/components/schemas/{name}"}

    def _struct(self, t: mi.StructType) -> Schema:
        docs = _field_descriptions(t.cls)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        if t.tag_field is not None:
            properties[t.tag_field] = {"const": t.tag}
            required.append(t.tag_field)
        for field in t.fields:
            schema = dict(self._schema(field.type))
            if field.name in docs:
                schema["description"] = docs[field.name]
            default = _default(field)
            if default is not _NO_DEFAULT:
                schema["default"] = default
            if field.required:
                required.append(field.encode_name)
            properties[field.encode_name] = schema
        schema = {"type": "object", "title": t.cls.__name__, "properties": properties}
        if t.cls.__doc__:
            schema["description"] = _unwrap(inspect.cleandoc(t.cls.__doc__))
        if required:
            schema["required"] = required
        if t.forbid_unknown_fields:
            schema["additionalProperties"] = False
        return schema


_NO_DEFAULT = object()
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")


def _unwrap(doc: str) -> str:
    """A docstring with its lines joined (paragraph breaks kept)."""
    return _LINE_BREAK.sub(" ", doc)


def _default(field: mi.Field) -> Any:
    if field.required:
        return _NO_DEFAULT
    if field.default is not msgspec.NODEFAULT:
        if isinstance(field.default, msgspec.Raw):
            return _NO_DEFAULT  # `Raw()` means "absent", not a JSON value
        return msgspec.to_builtins(field.default, str_keys=True)
    if field.default_factory in (list, dict):
        return msgspec.to_builtins(field.default_factory(), str_keys=True)
    return _NO_DEFAULT


def _scalar(t: mi.Type) -> Schema:
    if isinstance(t, mi.StrType):
        return {"type": "string"}
    if isinstance(t, mi.BoolType):
        return {"type": "boolean"}
    if isinstance(t, mi.IntType):
        return {"type": "integer"}
    if isinstance(t, mi.FloatType):
        return {"type": "number"}
    if isinstance(t, mi.NoneType):
        return {"type": "null"}
    if isinstance(t, mi.DecimalType):
        return {"type": "string", "format": "decimal"}
    if isinstance(t, mi.DateTimeType):
        return {"type": "string", "format": "date-time"}
    if isinstance(t, mi.RawType | mi.AnyType):
        return {"description": "Any JSON value, forwarded as is."}
    raise TypeError(f"no JSON Schema for {t!r}")
