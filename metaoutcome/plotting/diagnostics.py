"""Heterogeneity diagnostics: Baujat, radial (Galbraith) and L'Abbe plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import as_float_array, check_same_length, level_percent
from ._result import check_result, fget, is_common, measure_of
from ._scale import linear_ticks
from ._style import axes_fig, new_figure, plot_style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["baujat", "radial", "labbe", "baujat_values"]

FloatArray = NDArray[np.float64]


def _new_axes(ax: Axes | None, size: tuple[float, float] = (5.0, 4.0)) -> Axes:
    if ax is not None:
        axes_fig(ax)
        return ax
    fig = new_figure(*size)
    return fig.add_axes((0.14, 0.13, 0.82, 0.8))


def baujat_values(yi: ArrayLike, vi: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Baujat coordinates under the common-effect model (metafor ``baujat.rma``).

    x: each study's contribution to Cochran's Q, ``(y_i - mu)^2 / v_i``;
    y: its influence on the pooled result, ``(mu - mu_(-i))^2 / Var(mu_(-i))``.

    >>> x, y = baujat_values([0.0, 0.0, 1.0], [1.0, 1.0, 1.0])
    >>> [round(float(v), 4) for v in x], [round(float(v), 4) for v in y]
    ([0.1111, 0.1111, 0.4444], [0.0556, 0.0556, 0.2222])
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    w = 1.0 / v
    mu = float(np.sum(w * y) / np.sum(w))
    x = (y - mu) ** 2 / v
    sw = np.sum(w)
    mu_i = (np.sum(w * y) - w * y) / (sw - w)
    var_i = 1.0 / (sw - w)
    return x, (mu - mu_i) ** 2 / var_i


def baujat(
    result: Any,
    *,
    show_labels: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Baujat plot: contribution to heterogeneity (x) against influence on the result (y).

    Parameters
    ----------
    result : PoolResult
        What :func:`metaoutcome.pool` returns (``yi``, ``vi``, ``labels``).
    show_labels : bool, default True
        Label each point with its study label.
    ax : matplotlib Axes, optional
        Axes to draw into; default a new pyplot-free Figure.
    **kwargs
        Passed to ``ax.scatter`` (defaults ``s=22``, ``color="black"``).

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    Baujat B, Mahe C, Pignon JP, Hill C (2002). A graphical method for exploring heterogeneity
    in meta-analyses: application to a meta-analysis of 65 trials. *Statistics in Medicine*
    21(18):2641-2652.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import baujat
    >>> res = mo.pool(np.log([0.73, 0.59, 0.70, 0.95]), [0.0101, 0.0166, 0.0089, 0.0112], measure="HR")
    >>> len(baujat(res).collections[0].get_offsets())
    4
    """
    st = check_result(result)
    if st.k < 2:
        raise ValueError(f"result has k = {st.k} studies; a Baujat plot needs at least 2")
    x, y = baujat_values(st.yi, st.vi)
    with plot_style():
        ax = _new_axes(ax)
        kwargs.setdefault("s", 22)
        kwargs.setdefault("color", "black")
        ax.scatter(x, y, gid="studies", **kwargs)
        if show_labels:
            for xi, yi_, lab in zip(x, y, st.labels):
                ax.annotate(lab, (xi, yi_), xytext=(3, 3), textcoords="offset points", fontsize=7)
        ax.set_xlabel("Contribution to overall heterogeneity (Q)")
        ax.set_ylabel("Influence on overall result")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return ax


def radial(
    result: Any,
    *,
    level: float | None = None,
    show_labels: bool = False,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Radial (Galbraith) plot: standardised effect against precision.

    Each study is drawn at ``x = 1 / sqrt(v_i + tau^2)`` and ``y = y_i x``; the pooled estimate is
    the slope of the line through the origin, and about ``level`` % of the studies should fall
    within ``+/- z`` of it when there is no excess heterogeneity. For a random-effects result
    ``tau^2`` is added to each variance, as in metafor's ``radial.rma``.

    Parameters
    ----------
    result : PoolResult
        What :func:`metaoutcome.pool` returns.
    level : float, optional
        Width of the band in percent (default the result's level).
    show_labels : bool, default False
        Label each point.
    ax : matplotlib Axes, optional
        Axes to draw into; default a new pyplot-free Figure.
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    Galbraith RF (1988). A note on graphical presentation of estimated odds ratios from several
    clinical trials. *Statistics in Medicine* 7(8):889-894.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import radial
    >>> res = mo.pool(np.log([0.73, 0.59, 0.70]), [0.0101, 0.0166, 0.0089], measure="HR", method="FE")
    >>> ax = radial(res)
    >>> float(ax.get_xlim()[0])
    0.0
    """
    from scipy import stats  # imported here: scipy.stats costs ~0.3 s to import
    st = check_result(result)
    lv = level_percent(fget(result, "level", 95.0) if level is None else level)
    tau2 = 0.0 if is_common(result) else fget(result, "tau2", 0.0)
    if not np.isfinite(tau2):
        tau2 = 0.0
    est = fget(result, "estimate")
    prec = 1.0 / np.sqrt(st.vi + tau2)
    zi = st.yi * prec
    z = float(stats.norm.ppf(0.5 + lv / 200))
    xmax = float(np.nanmax(prec)) * 1.1
    measure = measure_of(result)
    with plot_style():
        ax = _new_axes(ax)
        xs = np.array([0.0, xmax])
        ax.plot(xs, est * xs, color="black", linewidth=0.9, gid="estimate")
        ax.plot(xs, est * xs + z, color="0.3", linestyle="--", linewidth=0.8, gid="band-high")
        ax.plot(xs, est * xs - z, color="0.3", linestyle="--", linewidth=0.8, gid="band-low")
        null = measure.null_on_analysis_scale()
        if null is not None:
            ax.plot(xs, null * xs, color="0.6", linestyle=":", linewidth=0.8, gid="null")
        kwargs.setdefault("s", 22)
        kwargs.setdefault("color", "black")
        kwargs.setdefault("zorder", 3)
        ax.scatter(prec, zi, gid="studies", **kwargs)
        if show_labels:
            for xi, yi_, lab in zip(prec, zi, st.labels):
                ax.annotate(lab, (xi, yi_), xytext=(3, 3), textcoords="offset points", fontsize=7)
        ax.set_xlim(0.0, xmax)
        ax.set_xlabel("Precision, 1/SE" if tau2 == 0 else "Precision, 1/sqrt(SE\u00b2 + \u03c4\u00b2)")
        ax.set_ylabel(f"Standardised effect (z), {measure.scale} scale")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return ax


def labbe(
    ai: ArrayLike,
    n1i: ArrayLike,
    ci: ArrayLike,
    n2i: ArrayLike,
    *,
    result: Any | None = None,
    labels: Sequence[Any] | None = None,
    show_labels: bool = False,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """L'Abbe plot: event rate in the experimental arm (y) against the control arm (x).

    Parameters
    ----------
    ai, n1i : array_like
        Events and patients in the experimental arm.
    ci, n2i : array_like
        Events and patients in the control arm.
    result : PoolResult, optional
        A pooled OR, RR or RD (analysis scale); its estimate is drawn as the curve of event
        rates it implies (``p1 = expit(logit(p0) + log OR)``, ``p1 = p0 RR``, ``p1 = p0 + RD``).
    labels : sequence, optional
        Study labels for ``show_labels``.
    show_labels : bool, default False
        Label each circle.
    ax : matplotlib Axes, optional
        Axes to draw into; default a new pyplot-free square Figure.
    **kwargs
        Passed to ``ax.scatter`` (circle areas are proportional to the total sample size).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the arrays differ in length, are negative or not whole numbers, events exceed the
        patients, or ``result`` is not OR, RR or RD.

    References
    ----------
    L'Abbe KA, Detsky AS, O'Rourke K (1987). Meta-analysis in clinical research. *Annals of
    Internal Medicine* 107(2):224-233.

    Examples
    --------
    >>> from metaoutcome.plotting import labbe
    >>> ax = labbe([10, 20], [50, 80], [5, 12], [50, 79])
    >>> tuple(float(v) for v in ax.get_xlim())
    (0.0, 100.0)
    """
    a = as_float_array("ai", ai, nonnegative=True, integer=True)
    n1 = as_float_array("n1i", n1i, positive=True, integer=True)
    c = as_float_array("ci", ci, nonnegative=True, integer=True)
    n2 = as_float_array("n2i", n2i, positive=True, integer=True)
    k = check_same_length(ai=a, n1i=n1, ci=c, n2i=n2, **({"labels": list(labels)} if labels is not None else {}))
    if k == 0:
        raise ValueError("ai, n1i, ci, n2i are empty; there is nothing to plot")
    for ev, n, en, nn in ((a, n1, "ai", "n1i"), (c, n2, "ci", "n2i")):
        bad = ev > n
        if bad.any():
            raise ValueError(f"{en} must not exceed {nn}; positions {np.flatnonzero(bad).tolist()} do")
    p1, p0 = a / n1, c / n2
    measure = None
    if result is not None:
        measure = measure_of(result)
        if measure.name not in ("OR", "RR", "RD"):
            raise ValueError(f"result.measure={measure.name!r}; a L'Abbe plot draws OR, RR or RD results")
    with plot_style():
        ax = _new_axes(ax, (4.5, 4.5))
        tot = n1 + n2
        kwargs.setdefault("s", 20 + 280 * tot / tot.max())
        kwargs.setdefault("facecolors", "none")
        kwargs.setdefault("edgecolors", "black")
        kwargs.setdefault("linewidths", 0.8)
        ax.plot([0, 100], [0, 100], color="0.5", linewidth=0.8, linestyle="--", gid="equality")
        if result is not None and measure is not None:
            est = fget(result, "estimate")
            x = np.linspace(0.0005, 0.9995, 400)
            if measure.name == "OR":
                y = 1.0 / (1.0 + np.exp(-(np.log(x / (1 - x)) + est)))
            elif measure.name == "RR":
                y = x * np.exp(est)
            else:
                y = x + est
            keep = (y >= 0) & (y <= 1)
            ax.plot(100 * x[keep], 100 * y[keep], color="black", linewidth=1.0, gid="pooled")
        ax.scatter(100 * p0, 100 * p1, gid="studies", **kwargs)
        if show_labels:
            labs = [str(s) for s in labels] if labels is not None else [f"Study {i + 1}" for i in range(k)]
            for x0, y0, lab in zip(100 * p0, 100 * p1, labs):
                ax.annotate(lab, (x0, y0), xytext=(4, 4), textcoords="offset points", fontsize=7)
        ticks = linear_ticks(0, 100, percent=True)
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xlim(0.0, 100.0)
        ax.set_ylim(0.0, 100.0)
        ax.set_aspect("equal")
        ax.set_xlabel("Event rate, control arm (%)")
        ax.set_ylabel("Event rate, experimental arm (%)")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return ax
