"""Read the Frictionless Data Package descriptor (``datapackage.json``) that describes the curated
tables: field types, units, allowed values, primary and foreign keys.

The descriptor is the one source of truth for both the loader (dtypes) and the validator (rules).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from ._checks import FLAG_FALSE, FLAG_RULE, FLAG_TRUE

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
    true_values: tuple[str, ...] = FLAG_TRUE  # the one flag vocabulary (metaoutcome._checks)
    false_values: tuple[str, ...] = FLAG_FALSE
    #: a confidence level (percent); proportions in (0.5, 1) are read as percent (the level rule)
    confidence_level: bool = False

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
            true_values=tuple(v.lower() for v in d.get("trueValues", FLAG_TRUE)),
            false_values=tuple(v.lower() for v in d.get("falseValues", FLAG_FALSE)),
            confidence_level=bool(d.get("confidenceLevel", False)),
        )

    def parse(self, text: str) -> tuple[Any, str | None, str | None]:
        """Parse one non-empty cell: ``(value, error, note)``; value is ``None`` on an error.

        Whole numbers, numbers, booleans (the one flag vocabulary, ``metaoutcome._checks.FLAG_TRUE``
        and ``FLAG_FALSE``, which datapackage.json lists as trueValues/falseValues) and text, then the
        descriptor's constraints. A confidence level follows the one level rule
        (:func:`metaoutcome._checks.level_percent`): 95 is 95%, 0.95 is read as 95% with a note.
        """
        value, error = self._convert(text)
        if error is None:
            error = self._check(value, text)
        if error is not None:
            return None, error, None
        note = None
        if self.confidence_level and value < 1:
            note = f"{self.name} {text} read as {value * 100:g}% (a proportion; the level rule)"
            value = value * 100.0
        return value, None, note

    def _convert(self, text: str) -> tuple[Any, str | None]:
        if self.type == "integer":
            try:
                v = float(text)
            except ValueError:
                return None, f"{text!r} is not a whole number"
            if not v.is_integer():
                return None, f"{text!r} is not a whole number"
            return int(v), None
        if self.type == "number":
            try:
                v = float(text)
            except ValueError:
                return None, f"{text!r} is not a number" + (" (write percentages without '%')" if "%" in text else "")
            if not math.isfinite(v):
                return None, f"{text!r} is not a finite number"
            return v, None
        if self.type == "boolean":
            low = text.strip().lower()
            if low in self.true_values:
                return True, None
            if low in self.false_values:
                return False, None
            return None, f"{text!r} is not true or false: {FLAG_RULE}"
        return text, None

    def _check(self, v: Any, text: str) -> str | None:
        if self.confidence_level:
            from ._checks import LEVEL_RULE

            if not 0.5 < v < 100:
                return f"{text} is not a confidence level: {LEVEL_RULE}"
            return None
        if self.enum is not None and v not in self.enum:
            return f"{text!r} is not allowed; allowed: " + ", ".join(repr(e) for e in self.enum)
        if self.type in ("integer", "number"):
            if self.minimum is not None and v < self.minimum:
                return f"{text} is below the minimum; must be {self.allowed()}"
            if self.maximum is not None and v > self.maximum:
                return f"{text} is above the maximum; must be {self.allowed()}"
            if self.exclusive_minimum is not None and v <= self.exclusive_minimum:
                return f"{text} is out of range; must be {self.allowed()}"
            if self.exclusive_maximum is not None and v >= self.exclusive_maximum:
                return f"{text} is out of range; must be {self.allowed()}"
        if self.pattern is not None and self.type == "string" and not re.fullmatch(self.pattern, text):
            return f"{text!r} does not match the pattern {self.pattern!r}"
        return None

    def allowed(self) -> str:
        """Human description of the allowed values, for error messages."""
        if self.enum is not None:
            return "one of " + ", ".join(repr(e) for e in self.enum)
        if self.confidence_level:
            return "a confidence level: a percentage in [1, 100) such as 95, or a proportion in (0.5, 1) such as 0.95"
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
