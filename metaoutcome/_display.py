"""The display mixin of the analysis results (one renderer: :mod:`metaoutcome.printer`).

Every result class of :mod:`metaoutcome.regression`, :mod:`metaoutcome.diagnostics`,
:mod:`metaoutcome.small_study`, :mod:`metaoutcome.gosh` and :mod:`metaoutcome.batch` implements
``report()`` returning a :class:`metaoutcome.printer.Report` or the mapping
``{"title": str, "lines": [(label, value), ...], "table": DataFrame, "notes": tuple}``; the mixin
renders it as text, HTML, Markdown and LaTeX through :mod:`metaoutcome.printer`, as
:class:`~metaoutcome.results.PoolResult` and :class:`~metaoutcome.subgroups.SubgroupResult` do.
Numbers are formatted there only; the tables themselves are never rounded.
"""

from __future__ import annotations

from typing import Any

from .printer import Printable, format_cell

__all__ = ["ReportMixin", "fmt"]


def fmt(x: Any, digits: int = 4) -> str:
    """Format one value for display (:func:`metaoutcome.printer.format_cell`)."""
    return format_cell(x, None, digits)


class ReportMixin(Printable):
    """``__repr__``/``__str__``, ``_repr_html_``, ``to_markdown`` and ``to_latex`` from ``self.report()``."""
