"""Review-quality figures from a pooled result.

Every function takes what :func:`metaoutcome.pool` returns (or anything with the same attribute
names), draws on the natural scale the measure registry prescribes, never touches pyplot's
current figure, and returns the Figure (or the Axes it drew into). Save with :func:`savefig` for
byte-identical PDF and SVG files.

========================  =============================================================
Function                  Figure
========================  =============================================================
``forest``                forest plot: studies, pooled diamond(s), PI, subgroups,
                          heterogeneity; layouts "default", "revman", "jama"
``forest_notes``          the caption notes a forest leaves out ("Not pooled: ...")
``funnel``                funnel plot with pseudo-CI lines, contour-enhanced option,
                          filled (trim-and-fill) studies
``baujat``                Baujat plot: contribution to Q vs influence on the result
``radial``                radial (Galbraith) plot
``labbe``                 L'Abbe plot of two-arm event rates
``bubble``                bubble plot of a meta-regression: effect sizes against a
                          moderator, fitted line, confidence and prediction bands
``loo_forest``            forest plot of a leave-one-out analysis ("Omitting ...")
``cumulative_forest``     forest plot of a cumulative meta-analysis ("+ ...")
``gosh_plot``             GOSH plot: I^2 against the pooled estimate for every subset
``savefig``               save deterministically (no timestamps in PDF/SVG)
``plot_style``            the fixed rcParams the figures use
``get_layout``            a forest-plot layout by name, with overrides
========================  =============================================================
"""

from __future__ import annotations

from ._style import LAYOUTS, Layout, get_layout, plot_style, savefig
from .bubble import bubble
from .diagnostics import baujat, labbe, radial
from .forest import forest, forest_notes, forest_plot
from .funnel import funnel
from .gosh import gosh_plot
from .sensitivity import cumulative_forest, loo_forest

__all__ = [
    "forest",
    "forest_plot",
    "forest_notes",
    "funnel",
    "baujat",
    "radial",
    "labbe",
    "bubble",
    "loo_forest",
    "cumulative_forest",
    "gosh_plot",
    "savefig",
    "plot_style",
    "Layout",
    "LAYOUTS",
    "get_layout",
]
