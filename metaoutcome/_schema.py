"""Read the Frictionless Data Package descriptor (``datapackage.json``) that describes the curated
tables: field types, units, allowed values, primary and foreign keys.

The descriptor is the one source of truth for both the loader (dtypes) and the validator (rules).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

__all__ = ["Field", "Table", "data_dir", "package_tables"]


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = False
    unique: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    pattern: str | None = None
    true_values: tuple[str, ...] = ("true",)
    false_values: tuple[str, ...] = ("false",)

    @classmethod
    def from_descriptor(cls, d: dict[str, Any]) -> Field:
        c = d.get("constraints", {})
        return cls(
            name=d["name"],
            type=d.get("type", "string"),
            description=d.get("description", ""),
            unit=d.get("unit"),
            required=bool(c.get("required", False)),
            unique=bool(c.get("unique", False)),
            enum=tuple(c["enum"]) if "enum" in c else None,
            minimum=c.get("minimum"),
            maximum=c.get("maximum"),
            exclusive_minimum=c.get("exclusiveMinimum"),
            exclusive_maximum=c.get("exclusiveMaximum"),
            pattern=c.get("pattern"),
            true_values=tuple(d.get("trueValues", ("true",))),
            false_values=tuple(d.get("falseValues", ("false",))),
        )

    def allowed(self) -> str:
        """Human description of the allowed values, for error messages."""
        if self.enum is not None:
            return "one of " + ", ".join(repr(e) for e in self.enum)
        kind = {"integer": "a whole number", "number": "a number", "boolean": "true or false"}.get(self.type, "text")
        parts: list[str] = []
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.exclusive_minimum is not None:
            parts.append(f"> {self.exclusive_minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.exclusive_maximum is not None:
            parts.append(f"< {self.exclusive_maximum:g}")
        text = kind + (" " + " and ".join(parts) if parts else "")
        return text + (f" ({self.unit})" if self.unit else "")


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    reference_fields: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @classmethod
    def from_descriptor(cls, d: dict[str, Any]) -> Table:
        schema = d["schema"]
        pk = schema.get("primaryKey", [])
        return cls(
            name=d["name"],
            path=d["path"],
            description=d.get("description", ""),
            fields=tuple(Field.from_descriptor(f) for f in schema["fields"]),
            primary_key=tuple([pk] if isinstance(pk, str) else pk),
            foreign_keys=tuple(
                ForeignKey(tuple(fk["fields"]), fk["reference"]["resource"], tuple(fk["reference"]["fields"]))
                for fk in schema.get("foreignKeys", [])
            ),
        )


def data_dir() -> Traversable:
    """The folder of the installed curated data (``metaoutcome._data``, i.e. the repo's datasets/)."""
    return resources.files("metaoutcome._data")


@lru_cache(maxsize=1)
def package_tables() -> dict[str, Table]:
    """The tables described by the bundled ``datapackage.json``, by name, in descriptor order."""
    descriptor = json.loads((data_dir() / "datapackage.json").read_text(encoding="utf-8"))
    return {r["name"]: Table.from_descriptor(r) for r in descriptor["resources"]}
