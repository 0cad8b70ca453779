"""One report structure -> text, HTML and Markdown, for the analysis results.

Every result class of :mod:`metaoutcome.regression`, :mod:`metaoutcome.diagnostics`,
:mod:`metaoutcome.small_study` and :mod:`metaoutcome.gosh` implements ``report()`` returning
``{"title": str, "lines": [(label, value), ...], "table": DataFrame, "notes": tuple}``; this
mixin renders it, as :class:`~metaoutcome.results.PoolResult` does. Numbers are formatted here
only; the tables themselves are never rounded.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

__all__ = ["ReportMixin", "fmt"]

_MAX_ROWS = 60


def fmt(x: Any, digits: int = 4) -> str:
    """Format one cell for display (NaN -> ``NA``, p-values below 1e-4 -> ``<.0001``)."""
    if x is None:
        return ""
    if isinstance(x, (bool,)):
        return "yes" if x else ""
    if isinstance(x, str):
        return x
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "NA"
    if float(xf).is_integer() and abs(xf) < 1e15 and isinstance(x, (int,)):
        return str(int(xf))
    return f"{xf:.{digits}f}"


def _cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    cols = [str(c) for c in table.columns]
    rows = []
    for _, r in table.head(_MAX_ROWS).iterrows():
        out = []
        for c in table.columns:
            val = r[c]
            if isinstance(c, str) and (c.startswith("p") and "value" in c or c in ("pvalue", "qe_pvalue", "q_pvalue")):
                try:
                    fv = float(val)
                    out.append("<.0001" if fv < 1e-4 else f"{fv:.4f}")
                    continue
                except (TypeError, ValueError):
                    pass
            out.append(fmt(val))
        rows.append(out)
    return cols, rows


class ReportMixin:
    """``__repr__``/``__str__``, ``_repr_html_`` and ``to_markdown`` from ``self.report()``."""

    def report(self) -> dict[str, Any]:  # pragma: no cover - implemented by every result
        raise NotImplementedError

    def _text(self) -> str:
        r = self.report()
        out = [r["title"], ""]
        for label, value in r["lines"]:
            out.append(f"{label}: {fmt(value)}")
        t: pd.DataFrame = r["table"]
        if t is not None and len(t):
            cols, rows = _cells(t)
            widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(cols)]
            out += ["", "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
            out += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
            if len(t) > _MAX_ROWS:
                out.append(f"... ({len(t)} rows in all; see .table())")
        if r["notes"]:
            out += ["", "Notes:"] + [f"  - {n}" for n in r["notes"]]
        return "\n".join(out)

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return self._text()

    def to_markdown(self) -> str:
        """Markdown rendering of :meth:`report`."""
        r = self.report()
        out = [f"**{r['title']}**", ""]
        out += [f"- {label}: {fmt(value)}" for label, value in r["lines"]]
        t: pd.DataFrame = r["table"]
        if t is not None and len(t):
            cols, rows = _cells(t)
            out += ["", "| " + " | ".join(cols) + " |", "|" + "|".join("---:" for _ in cols) + "|"]
            out += ["| " + " | ".join(row) + " |" for row in rows]
        if r["notes"]:
            out += [""] + [f"> {n}" for n in r["notes"]]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        r = self.report()
        lines = "".join(f"<li>{html.escape(str(label))}: {html.escape(fmt(v))}</li>" for label, v in r["lines"])
        t: pd.DataFrame = r["table"]
        tab = ""
        if t is not None and len(t):
            cols, rows = _cells(t)
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
            tab = f"<table><tr>{head}</tr>{body}</table>"
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in r["notes"])
        return (
            f"<div><p><b>{html.escape(r['title'])}</b></p>"
            + (f"<ul>{lines}</ul>" if lines else "")
            + tab
            + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else "")
            + "</div>"
        )
