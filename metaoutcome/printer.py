"""One number and p-value formatter for every printout, table, figure and report.

Two styles, each with one documented rule:

**Printout** (metafor's ``.pval``/``fmtx``, what R users compare a printout against):

* numbers: fixed ``digits`` decimals (default 4), ``NA`` for a missing value, ``-0.0000`` printed
  as ``0.0000``;
* p-values: ``digits`` decimals, and below ``10**-digits`` the bound ``<.0001``. In a table cell
  the p-value reads ``<.0001`` / ``0.0123``; after a label, as metafor writes
  ``p-val < .0001`` / ``p-val = 0.0123`` (``showeq=True``). No p-value is ever printed in
  scientific notation or as ``0.0000``.

**Journal** (JAMA/BMJ/Lancet conventions as a results section prints them):

* p-values: below 0.001 -> ``< 0.001``; from 0.001 to below 0.01 -> three decimals
  (``0.004``); otherwise two decimals (``0.03``, ``0.41``), except that a value that two decimals
  would round to 0.05 keeps three (``0.049``, ``0.051``) so that rounding never moves a p-value
  across 0.05; above 0.99 -> ``> 0.99``. With ``prefix="p"`` the cell becomes a phrase:
  ``p < 0.001``, ``p = 0.03``.
* estimates and intervals: two decimals by default, ``0.73 (0.62 to 0.87)``; "to" rather than a
  dash, so that negative bounds read unambiguously.

Every function returns ``str`` and accepts ``None``/NaN (printed as ``NA`` in printouts and as an
empty string or the ``missing`` argument in journal style).

Examples
--------
>>> fmt_p(3e-6), fmt_p(0.01234), fmt_p(3e-6, showeq=True), fmt_p(0.01234, showeq=True)
('<.0001', '0.0123', '< .0001', '= 0.0123')
>>> fmt_p_journal(3e-6, prefix="p"), fmt_p_journal(0.0312, prefix="p"), fmt_p_journal(0.0494)
('p < 0.001', 'p = 0.03', '0.049')
>>> fmt_x(-0.00001), fmt_x(float("nan")), fmt_x(1.23456, 2)
('0.0000', 'NA', '1.23')
>>> fmt_estimate_ci(0.7312, 0.6201, 0.8705)
'0.73 (0.62 to 0.87)'
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import pandas as pd

__all__ = [
    "fmt_x",
    "fmt_p",
    "fmt_p_journal",
    "fmt_ci",
    "fmt_estimate_ci",
    "fmt_percent",
    "is_missing",
    "format_cell",
    "is_p_column",
    "Lines",
    "Table",
    "Report",
    "Printable",
    "as_report",
]


def is_missing(x: Any) -> bool:
    """True for ``None`` and for a float NaN (pandas' ``NA``/``NaT`` included)."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _fixed(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    # -0.0000 -> 0.0000: a sign on a printed zero is noise
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def fmt_x(x: Any, digits: int = 4, *, missing: str = "NA") -> str:
    """Format a number with ``digits`` fixed decimals (metafor's ``fmtx``).

    Parameters
    ----------
    x : float or None
        The value. Strings are returned unchanged; infinities print as ``Inf``/``-Inf`` as in R.
    digits : int, default 4
        Decimals.
    missing : str, default "NA"
        What ``None``/NaN print as.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_x(0.123456), fmt_x(2, 1), fmt_x(None), fmt_x(float("inf"))
    ('0.1235', '2.0', 'NA', 'Inf')
    """
    if isinstance(x, str):
        return x
    if is_missing(x):
        return missing
    xf = float(x)
    if math.isinf(xf):
        return "Inf" if xf > 0 else "-Inf"
    return _fixed(xf, max(int(digits), 0))


def fmt_p(p: Any, digits: int = 4, *, showeq: bool = False) -> str:
    """Format a p-value as a printout does (metafor's ``.pval``).

    Parameters
    ----------
    p : float or None
        The p-value.
    digits : int, default 4
        Decimals; values below ``10**-digits`` print as the bound ``<.0001`` (for 4 digits).
    showeq : bool, default False
        Write the value as the right-hand side of a phrase: ``= 0.0123`` / ``< .0001``, as in
        metafor's ``p-val < .0001``.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_p(1.708e-16), fmt_p(0.5), fmt_p(None), fmt_p(0.5, showeq=True)
    ('<.0001', '0.5000', 'NA', '= 0.5000')
    """
    digits = max(int(digits), 1)
    if is_missing(p):
        return "= NA" if showeq else "NA"
    pf = float(p)
    cutoff = 10.0 ** (-digits)
    bound = "." + "0" * (digits - 1) + "1"
    if pf < cutoff:
        return ("< " if showeq else "<") + bound
    return ("= " if showeq else "") + _fixed(pf, digits)


def fmt_p_journal(p: Any, *, prefix: str = "", missing: str = "") -> str:
    """Format a p-value as a journal prints it (JAMA/BMJ/Lancet rules; see the module notes).

    Parameters
    ----------
    p : float or None
        The p-value.
    prefix : str, default ""
        ``"p"`` (or ``"P"``) writes a phrase, ``p < 0.001`` / ``p = 0.03``; empty writes a table
        cell, ``<0.001`` / ``0.03``.
    missing : str, default ""
        What ``None``/NaN print as.

    Returns
    -------
    str

    Examples
    --------
    >>> [fmt_p_journal(p) for p in (0.0004, 0.0042, 0.0312, 0.0496, 0.41, 0.996)]
    ['<0.001', '0.004', '0.03', '0.050', '0.41', '>0.99']
    >>> fmt_p_journal(0.0004, prefix="P")
    'P < 0.001'
    """
    if is_missing(p):
        return missing
    pf = float(p)
    if pf < 0.001:
        rel, val = "<", "0.001"
    elif pf > 0.99:
        rel, val = ">", "0.99"
    elif pf < 0.01:
        rel, val = "=", f"{pf:.3f}"
    else:
        val = f"{pf:.2f}"
        if val == "0.05" and pf != 0.05:
            val = f"{pf:.3f}"
        rel = "="
    if prefix:
        return f"{prefix} {rel} {val}"
    return val if rel == "=" else rel + val


def fmt_ci(low: Any, high: Any, digits: int = 2, *, sep: str = " to ", missing: str = "NA") -> str:
    """Format an interval, ``0.62 to 0.87`` (journal style; ``sep=", "`` gives ``[0.62, 0.87]``-style bodies).

    Examples
    --------
    >>> fmt_ci(0.62, 0.8705), fmt_ci(-1.5, -0.25, 1)
    ('0.62 to 0.87', '-1.5 to -0.2')
    """
    return f"{fmt_x(low, digits, missing=missing)}{sep}{fmt_x(high, digits, missing=missing)}"


def fmt_estimate_ci(
    estimate: Any, low: Any, high: Any, digits: int = 2, *, sep: str = " to ", missing: str = "NA"
) -> str:
    """Format ``estimate (low to high)``, the journal form of an effect with its interval.

    Examples
    --------
    >>> fmt_estimate_ci(0.7312, 0.6201, 0.8705), fmt_estimate_ci(1.2, 0.9, 1.6, 1, sep="-")
    ('0.73 (0.62 to 0.87)', '1.2 (0.9-1.6)')
    """
    est = fmt_x(estimate, digits, missing=missing)
    if is_missing(low) and is_missing(high):
        return est
    return f"{est} ({fmt_ci(low, high, digits, sep=sep, missing=missing)})"


def fmt_percent(x: Any, digits: int = 1, *, sign: bool = True, missing: str = "") -> str:
    """Format a percentage (already on the 0-100 scale), ``12.3%``.

    Examples
    --------
    >>> fmt_percent(12.345), fmt_percent(100, 0), fmt_percent(5, sign=False), fmt_percent(None)
    ('12.3%', '100%', '5.0', '')
    """
    if is_missing(x):
        return missing
    return fmt_x(x, digits) + ("%" if sign else "")


# ------------------------------------------------------------------------------------------------
# the one renderer: a Report (title, blocks of labelled lines and tables, notes) -> text, HTML,
# Markdown and LaTeX (lifelines' Printer). Results build a Report from their unrounded summary
# tables; every number in it is formatted here, by the functions above.
# ------------------------------------------------------------------------------------------------

#: tables print at most this many rows (the full table stays in the result)
MAX_ROWS = 60


def is_p_column(name: Any) -> bool:
    """True for a column holding p-values: ``pvalue``, ``pval``, ``p_value``, ``q_pvalue``, ``qe_pvalue`` ..."""
    if not isinstance(name, str):
        return False
    n = name.lower()
    return n in ("p", "pval", "pvalue", "p_value", "p-value") or n.endswith(("_pvalue", "_pval", " p-value")) or \
        n.startswith(("pval", "p_value"))


def format_cell(value: Any, column: Any = None, digits: int = 4) -> str:
    """Format one table cell by the printout rules: p-value columns with :func:`fmt_p`, integers
    as integers, other numbers with :func:`fmt_x`, ``True`` as ``yes`` (``False`` empty),
    strings unchanged, missing as ``NA``.

    >>> format_cell(2e-7, "pvalue"), format_cell(3, "k"), format_cell(0.123456, "estimate", 2)
    ('<.0001', '3', '0.12')
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "yes" if bool(value) else ""
    if is_p_column(column):
        try:
            return fmt_p(float(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    try:
        return fmt_x(float(value), digits)
    except (TypeError, ValueError):
        return str(value)


def format_value(label: str, value: Any, digits: int = 4) -> str:
    """Format the value of a labelled line: a p-value when the label names one, else as a cell."""
    if isinstance(value, str):
        return value
    if "p-value" in label.lower() or "pvalue" in label.lower() or label.lower().startswith("p-val"):
        return fmt_p(value)
    return format_cell(value, None, digits)


@dataclass(frozen=True)
class Lines:
    """Labelled lines, already formatted: ``(label, text)``; an empty label prints the text alone."""

    items: tuple[tuple[str, str], ...]
    heading: str = ""
    align: bool = False  # pad the labels to one width, as metafor's printout does
    indent: int = 0


@dataclass(frozen=True)
class Table:
    """A table of unrounded values, formatted cell by cell with :func:`format_cell`.

    ``digits`` maps a column to its decimals (default ``default_digits``); ``left`` names the
    columns aligned left in text (labels).
    """

    frame: pd.DataFrame
    heading: str = ""
    digits: Mapping[str, int] = field(default_factory=dict)
    default_digits: int = 4
    left: tuple[str, ...] = ()
    max_rows: int = MAX_ROWS

    def cells(self) -> tuple[list[str], list[list[str]]]:
        cols = [str(c) for c in self.frame.columns]
        body = []
        for row in self.frame.head(self.max_rows).itertuples(index=False, name=None):
            body.append([format_cell(v, c, self.digits.get(str(c), self.default_digits))
                         for v, c in zip(row, self.frame.columns)])
        return cols, body


Block = Union[Lines, Table]


@dataclass(frozen=True)
class Report:
    """What a result displays: a title, blocks of lines and tables, and notes.

    Every result's ``__repr__``/``__str__``, ``_repr_html_``, ``to_markdown`` and ``to_latex``
    are this object's renderings, so a number prints the same way in all of them.

    Examples
    --------
    >>> import pandas as pd
    >>> r = Report("Example", (Lines((("p-value", fmt_p(1e-9)),)), Table(pd.DataFrame({"k": [3], "pvalue": [0.02]}))))
    >>> print(r.to_text())
    Example
    <BLANKLINE>
    p-value: <.0001
    <BLANKLINE>
    k  pvalue
    3  0.0200
    """

    title: str
    blocks: tuple[Block, ...] = ()
    notes: tuple[str, ...] = ()

    # -- text ------------------------------------------------------------------------------------
    def to_text(self) -> str:
        out = [self.title]
        for b in self.blocks:
            if isinstance(b, Lines) and not b.items:
                continue
            if isinstance(b, Table) and not len(b.frame):
                continue
            out.append("")
            if b.heading:
                out.append(b.heading)
            if isinstance(b, Lines):
                width = max(len(lab) + 2 for lab, _ in b.items) if b.align else 0
                pad = " " * b.indent
                for lab, val in b.items:
                    if not lab:
                        out.append(pad + val)
                    elif b.align:
                        out.append(pad + f"{lab + ':':<{width}}{val}")
                    else:
                        out.append(pad + f"{lab}: {val}")
            else:
                cols, body = b.cells()
                widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(cols)]

                def just(v: str, i: int) -> str:
                    return v.ljust(widths[i]) if cols[i] in b.left else v.rjust(widths[i])

                out.append("  ".join(just(c, i) for i, c in enumerate(cols)).rstrip())
                out += ["  ".join(just(v, i) for i, v in enumerate(r)).rstrip() for r in body]
                if len(b.frame) > b.max_rows:
                    out.append(f"... ({len(b.frame)} rows in all)")
        if self.notes:
            out += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(out)

    # -- HTML ------------------------------------------------------------------------------------
    def to_html(self) -> str:
        e = html.escape
        out = [f"<div><p><b>{e(self.title)}</b></p>"]
        for b in self.blocks:
            if isinstance(b, Lines):
                if not b.items:
                    continue
                if b.heading:
                    out.append(f"<p>{e(b.heading)}</p>")
                out.append("<ul>" + "".join(f"<li>{e(lab + ': ' if lab else '')}{e(val)}</li>" for lab, val in b.items)
                           + "</ul>")
            elif len(b.frame):
                if b.heading:
                    out.append(f"<p>{e(b.heading)}</p>")
                cols, body = b.cells()
                head = "".join(f"<th>{e(c)}</th>" for c in cols)
                rows = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>" for r in body)
                more = f"<p>... ({len(b.frame)} rows in all)</p>" if len(b.frame) > b.max_rows else ""
                out.append(f"<table><tr>{head}</tr>{rows}</table>{more}")
        if self.notes:
            out.append("<p>Notes:</p><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "".join(out)

    # -- Markdown --------------------------------------------------------------------------------
    def to_markdown(self) -> str:
        out = [f"**{self.title}**"]
        for b in self.blocks:
            if isinstance(b, Lines):
                if not b.items:
                    continue
                out.append("")
                if b.heading:
                    out += [f"*{b.heading.rstrip(':')}*", ""]
                out += [f"- {lab}: {val}" if lab else f"- {val}" for lab, val in b.items]
            elif len(b.frame):
                out.append("")
                if b.heading:
                    out += [f"*{b.heading.rstrip(':')}*", ""]
                cols, body = b.cells()
                esc = [c.replace("|", "\\|") for c in cols]
                out.append("| " + " | ".join(esc) + " |")
                out.append("|" + "|".join(":---" if c in b.left else "---:" for c in cols) + "|")
                out += ["| " + " | ".join(v.replace("|", "\\|") for v in r) + " |" for r in body]
                if len(b.frame) > b.max_rows:
                    out.append(f"\n... ({len(b.frame)} rows in all)")
        if self.notes:
            out += [""] + [f"> {n}" for n in self.notes]
        return "\n".join(out)

    # -- LaTeX -----------------------------------------------------------------------------------
    def to_latex(self) -> str:
        x = _latex_escape
        out = [f"\\textbf{{{x(self.title)}}}", ""]
        for b in self.blocks:
            if isinstance(b, Lines):
                if not b.items:
                    continue
                if b.heading:
                    out.append(f"\\emph{{{x(b.heading)}}}")
                out.append("\\begin{itemize}")
                out += [f"  \\item {x(lab + ': ' if lab else '')}{x(val)}" for lab, val in b.items]
                out += ["\\end{itemize}", ""]
            elif len(b.frame):
                if b.heading:
                    out.append(f"\\emph{{{x(b.heading)}}}")
                cols, body = b.cells()
                spec = "".join("l" if c in b.left else "r" for c in cols)
                out += [f"\\begin{{tabular}}{{{spec}}}", "\\hline", " & ".join(x(c) for c in cols) + " \\\\", "\\hline"]
                out += [" & ".join(x(v) for v in r) + " \\\\" for r in body]
                out += ["\\hline", "\\end{tabular}", ""]
        if self.notes:
            out += ["\\begin{itemize}"] + [f"  \\item {x(n)}" for n in self.notes] + ["\\end{itemize}"]
        return "\n".join(out).rstrip() + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def _latex_escape(s: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in s)


def as_report(r: Report | Mapping[str, Any]) -> Report:
    """A :class:`Report` from the ``{"title", "lines", "table", "notes"}`` mapping results return."""
    if isinstance(r, Report):
        return r
    lines = tuple((str(lab), format_value(str(lab), v)) for lab, v in r.get("lines", ()))
    blocks: list[Block] = [Lines(lines)]
    t = r.get("table")
    if t is not None:
        blocks.append(Table(t))
    return Report(str(r["title"]), tuple(blocks), tuple(r.get("notes") or ()))


class Printable:
    """``__repr__``/``__str__``, ``_repr_html_``, ``to_markdown`` and ``to_latex`` from ``self.report()``."""

    def report(self) -> Report | Mapping[str, Any]:  # pragma: no cover - implemented by every result
        raise NotImplementedError

    def _printer_report(self) -> Report:
        return as_report(self.report())

    def __str__(self) -> str:
        return self._printer_report().to_text()

    def __repr__(self) -> str:
        return self._printer_report().to_text()

    def _repr_html_(self) -> str:
        return self._printer_report().to_html()

    def to_markdown(self) -> str:
        """Markdown rendering of :meth:`report`."""
        return self._printer_report().to_markdown()

    def to_latex(self) -> str:
        """LaTeX rendering of :meth:`report` (``tabular`` tables; needs no LaTeX package)."""
        return self._printer_report().to_latex()
