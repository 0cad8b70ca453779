"""Pages generated at build time so they cannot fall out of step with the code and data.

* ``api.rst``: every name in ``metaoutcome.__all__`` and the public names of ``metaoutcome.effects``
  and ``metaoutcome.plotting`` (and of any other public subpackage listed in ``SUBPACKAGES``),
  each with an autosummary stub built from its numpydoc docstring.
* ``data_dictionary.rst``: every table and column of ``datasets/datapackage.json``.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

SUBPACKAGES = ("effects", "plotting", "network", "bayes")


def _kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def api_names() -> dict[str, list[tuple[str, str]]]:
    """Section title -> [(qualified name, kind)] for everything the API reference must list."""
    import metaoutcome

    sections: dict[str, list[tuple[str, str]]] = {"Top level (``metaoutcome``)": []}
    for name in metaoutcome.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(metaoutcome, name)
        kind = _kind(obj)
        sections["Top level (``metaoutcome``)"].append((f"metaoutcome.{name}", kind))
    for sub in SUBPACKAGES:
        mod = importlib.import_module(f"metaoutcome.{sub}")
        rows = []
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            kind = _kind(obj)
            rows.append((f"metaoutcome.{sub}.{name}", kind))
        sections[f"``metaoutcome.{sub}``"] = rows
    return sections


def _api_rst() -> str:
    out = [
        "API reference",
        "=============",
        "",
        "Every public name, generated from ``metaoutcome.__all__`` and the ``__all__`` of the public",
        "subpackages at build time, so nothing exported can be missing here. Modules are listed with",
        "their own page; functions and classes link to their numpydoc documentation.",
        "",
    ]
    for title, rows in api_names().items():
        out += [title, "-" * len(title), ""]
        for kind in ("function", "class", "data", "module"):
            names = [q for q, k in rows if k == kind]
            if not names:
                continue
            out += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
            out += [f"   {q}" for q in names]
            out += [""]
    return "\n".join(out) + "\n"


def _data_rst(root: Path) -> str:
    pkg = json.loads((root / "datasets" / "datapackage.json").read_text(encoding="utf-8"))
    out = [
        "Data dictionary",
        "===============",
        "",
        "Generated from ``datasets/datapackage.json`` (a Frictionless Data Package) at build time.",
        "Load a table with ``metaoutcome.load_dataset(name)``; ``metaoutcome validate`` checks your",
        "own CSVs against these descriptions.",
        "",
    ]
    for res in pkg.get("resources", []):
        name = res.get("name", "")
        out += [name, "-" * len(name), ""]
        if res.get("description"):
            out += [" ".join(str(res["description"]).split()), ""]
        schema = res.get("schema", {})
        pk = schema.get("primaryKey")
        if pk:
            out += [f"Primary key: ``{', '.join(pk) if isinstance(pk, list) else pk}``", ""]
        out += [".. list-table::", "   :header-rows: 1", "   :widths: 18 10 52 20", "",
                "   * - Column", "     - Type", "     - Description", "     - Allowed values / unit"]
        for f in schema.get("fields", []):
            cons = f.get("constraints", {})
            allowed = []
            if "enum" in cons:
                allowed.append(", ".join(f"``{v}``" for v in cons["enum"]))
            for key, word in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"),
                              ("exclusiveMaximum", "<")):
                if key in cons:
                    allowed.append(f"{word} {cons[key]}")
            if cons.get("required"):
                allowed.append("required")
            if f.get("unit"):
                allowed.append(f"unit: {f['unit']}")
            desc = " ".join(str(f.get("description", "")).split()) or "--"
            out += [f"   * - ``{f['name']}``", f"     - {f.get('type', '')}", f"     - {desc}",
                    f"     - {'; '.join(allowed) or '--'}"]
        out += [""]
    return "\n".join(out) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(src: Path) -> None:
    """Write ``api.rst`` and ``data_dictionary.rst`` into the docs source folder ``src``."""
    _write_if_changed(src / "api.rst", _api_rst())
    _write_if_changed(src / "data_dictionary.rst", _data_rst(src.parent))
