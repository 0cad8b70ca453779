"""GOSH plot: pooled estimate against I^2 over subsets of the studies (Olkin et al. 2012)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["gosh_plot"]


def gosh_plot(res: Any, *, highlight: int | None = None, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Scatter of the pooled estimate (x) against I^2 (y) for every subset of a GOSH analysis.

    Parameters
    ----------
    res : GoshResult
        From :func:`metaoutcome.gosh.gosh`.
    highlight : int, optional
        0-based position of a study: subsets that include it are drawn in a second colour.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure is made otherwise.
    **kwargs
        Passed to ``ax.scatter`` (defaults ``s=4``, ``alpha=0.5``, ``linewidths=0``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from metaoutcome import pool
    >>> from metaoutcome.gosh import gosh
    >>> ax = gosh_plot(gosh(pool([0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.02, 0.05], method="DL")), highlight=3)
    >>> ax.get_ylabel()
    'I^2 (%)'
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(5, 4))
        ax = fig.add_subplot(1, 1, 1)
    kwargs.setdefault("s", 4)
    kwargs.setdefault("alpha", 0.5)
    kwargs.setdefault("linewidths", 0)
    x = np.asarray(res.estimate, dtype=float)
    y = np.asarray(res.i2, dtype=float)
    if highlight is None:
        ax.scatter(x, y, color="0.2", **kwargs)
    else:
        if not 0 <= int(highlight) < res.incl.shape[1]:
            raise ValueError(f"highlight={highlight!r} must be a study position in 0..{res.incl.shape[1] - 1}")
        m = np.asarray(res.incl[:, int(highlight)], dtype=bool)
        ax.scatter(x[~m], y[~m], color="0.6", label="without " + str(res.labels[int(highlight)]), **kwargs)
        ax.scatter(x[m], y[m], color="tab:red", label="with " + str(res.labels[int(highlight)]), **kwargs)
        ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel("Pooled estimate")
    ax.set_ylabel("I^2 (%)")
    return ax
