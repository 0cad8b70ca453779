"""The review report: summary of findings, included trials, results, what was not pooled, methods, sources.

``metaoutcome reproduce`` writes ``report.html`` (one self-contained page) and ``report.docx``
(the same tables as Word tables, and the figures) from what each analysis recorded through
:class:`metaoutcome.reproduce.AnalysisOutput`. The pieces are usable on their own, e.g. in a
notebook:

* :func:`sof_row` / :func:`sof_display`: summary-of-findings rows (GRADE layout), with the
  inconsistency and imprecision domains rated by documented rules (:mod:`metaoutcome.report.sof`);
* :func:`study_table`, :func:`pooled_table`: results on the natural scale with journal headers;
* :class:`FlowRow`, :func:`not_pooled_table`: PRISMA-style counts and the reasons in plain words;
* :data:`REFERENCES`, :func:`cite`: the methods' references.

Modules: ``sof`` (summary of findings), ``tables`` (reader's tables), ``references``,
``build`` (analysis outputs -> blocks), ``html``, ``docx``, ``markdown`` (one renderer each).

>>> import metaoutcome as mo
>>> from metaoutcome.report import pooled_table
>>> res = mo.pool([-0.53, -0.31, -0.39], [0.022, 0.010, 0.015], measure="HR")
>>> pooled_table({"OS": res}).columns.tolist()
['Analysis', 'Trials', 'HR (95% CI)', '95% PI', 'I², %', 'τ²', 'p', 'Model']
"""

from __future__ import annotations

from .references import REFERENCES, cite, reference_list
from .sof import SofRow, SofRules, rate_imprecision, rate_inconsistency, rules_text, sof_display, sof_frame, sof_row
from .tables import (FlowRow, effect_header, flow_frame, flow_row, heterogeneity_note, humanize, not_pooled_table,
                     plain_reason, pooled_table, study_table)

__all__ = [
    "REFERENCES", "cite", "reference_list",
    "SofRow", "SofRules", "sof_row", "sof_display", "sof_frame", "rate_inconsistency", "rate_imprecision",
    "rules_text",
    "FlowRow", "flow_row", "flow_frame", "not_pooled_table", "plain_reason", "study_table", "pooled_table",
    "heterogeneity_note", "effect_header", "humanize",
]
