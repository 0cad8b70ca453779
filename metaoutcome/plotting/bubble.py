"""Bubble plot of a meta-regression (metafor ``regplot``).

The fitted line, its confidence band and (optionally) its prediction band are computed on the
analysis scale, exactly as metafor's ``predict(fit, newmods = ...)``, and back-transformed point by
point to the measure's natural scale (hazard ratios on a log axis, proportions in percent), so a
logit-linear model for a proportion is drawn as the curve it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._checks import level_percent
from ..measures import Measure, get_measure
from ..options import COMMON_METHODS
from ._scale import Scale, get_scale, linear_ticks, log_ticks, refline_value, tick_labels
from ._style import axes_fig, fmt_level, new_figure, plot_style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["bubble", "bubble_values", "BubbleValues"]

FloatArray = NDArray[np.float64]

_COMMON = COMMON_METHODS
_REQUIRED = ("X", "terms", "estimate", "vcov", "yi", "vi", "weights", "tau2", "test", "df", "level", "method")


@dataclass(frozen=True)
class BubbleValues:
    """What :func:`bubble` draws, on the analysis scale (metafor ``regplot``'s numbers).

    Attributes
    ----------
    term : str
        The moderator on the x axis (a column of the design matrix).
    column : int
        Its 0-based position in the design matrix.
    at : ndarray
        The design-matrix row the line is drawn at: column means (metafor holds the other
        moderators, dummies included, at their means), with ``column`` varying.
    xi, yi : ndarray
        The studies' moderator values and effect sizes.
    psize : ndarray
        Relative point sizes, metafor's ``psize`` (see :func:`bubble`).
    xs : ndarray
        Moderator values along the line.
    pred, se, ci_low, ci_high, pi_low, pi_high : ndarray
        ``predict()`` along ``xs``: fitted value, its SE, confidence and prediction limits
        (the prediction limits equal the confidence limits for a common-effect model).
    crit : float
        The critical value used (normal, or t with ``df`` degrees of freedom).
    """

    term: str
    column: int
    at: FloatArray
    xi: FloatArray
    yi: FloatArray
    psize: FloatArray
    xs: FloatArray
    pred: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    pi_low: FloatArray
    pi_high: FloatArray
    crit: float


def _check(result: Any) -> None:
    missing = [a for a in _REQUIRED if not hasattr(result, a)]
    if missing:
        raise ValueError(
            "result must be a meta-regression (metaoutcome.meta_regression(...)); got "
            f"{type(result).__name__} without {', '.join(missing)}"
        )


def _is_dummy(x: FloatArray) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def _choose_mod(result: Any, mod: str | int | None) -> int:
    terms = [str(t) for t in result.terms]
    X = np.asarray(result.X, dtype=float)
    has_int = bool(getattr(result, "intercept", True)) and bool(np.all(X[:, 0] == 1.0))
    first = 1 if has_int else 0
    if X.shape[1] <= first:
        raise ValueError("result is an intercept-only model; a bubble plot needs a moderator (as metafor's regplot)")
    candidates = list(range(first, X.shape[1]))
    continuous = [j for j in candidates if not _is_dummy(X[:, j])]
    listed = ", ".join(repr(terms[j]) for j in candidates)
    if mod is None:
        if len(candidates) == 1 or len(continuous) == 1:
            j = candidates[0] if len(candidates) == 1 else continuous[0]
        elif not continuous:
            raise ValueError(
                f"the model has no continuous moderator (terms {listed} are 0/1 dummies of categorical "
                "moderators); a bubble plot needs a continuous one. Compare the levels with "
                "subgroup_analysis(..., tau2='common') or a forest plot"
            )
        else:
            raise ValueError(f"the model has several continuous moderators; name one with mod= (one of {listed})")
    elif isinstance(mod, (int, np.integer)) and not isinstance(mod, bool):
        j = int(mod)
        if j not in candidates:
            raise ValueError(f"mod={mod!r} must be the position of a moderator column, one of {candidates} ({listed})")
    elif isinstance(mod, str):
        if mod in terms:
            j = terms.index(mod)
            if j not in candidates:
                raise ValueError(f"mod={mod!r} is the intercept; choose a moderator: {listed}")
        else:
            levels = [t for t in terms[first:] if t.startswith(mod)]
            if levels:
                raise ValueError(
                    f"mod={mod!r} is a categorical moderator (terms {', '.join(map(repr, levels))}); a bubble "
                    "plot needs a continuous moderator. Compare its levels with subgroup_analysis(..., "
                    "tau2='common') or a forest plot"
                )
            raise ValueError(f"mod={mod!r} is not a term of the model; the moderators are {listed}")
    else:
        raise ValueError(f"mod={mod!r} must be a term name (str) or a column position (int)")
    if _is_dummy(X[:, j]):
        raise ValueError(
            f"mod={terms[j]!r} takes only the values 0 and 1 (a dummy of a categorical moderator); a bubble "
            "plot needs a continuous moderator. Compare the levels with subgroup_analysis(..., tau2='common') "
            "or a forest plot"
        )
    return j


def bubble_values(
    result: Any,
    mod: str | int | None = None,
    *,
    level: float | None = None,
    n_points: int = 1000,
    plim: tuple[float, float] = (0.5, 3.0),
) -> BubbleValues:
    """The numbers :func:`bubble` draws, on the analysis scale.

    Parameters are those of :func:`bubble`. Returns a :class:`BubbleValues`.

    Examples
    --------
    >>> import numpy as np
    >>> from metaoutcome import meta_regression
    >>> res = meta_regression(yi=[0.1, 0.3, 0.35, 0.6, 0.2], vi=[0.01, 0.02, 0.015, 0.03, 0.02],
    ...                       X=np.column_stack([np.ones(5), [1, 2, 3, 4, 1]]))
    >>> v = bubble_values(res, n_points=5)
    >>> bool(np.allclose(v.pred, res.estimate[0] + res.estimate[1] * v.xs))
    True
    """
    from scipy import stats  # imported here: scipy.stats costs ~0.3 s to import
    _check(result)
    j = _choose_mod(result, mod)
    X = np.asarray(result.X, dtype=float)
    b = np.asarray(result.estimate, dtype=float)
    V = np.asarray(result.vcov, dtype=float)
    lv = level_percent(result.level if level is None else level)
    n = int(n_points)
    if n < 2:
        raise ValueError(f"n_points={n_points!r} must be at least 2")
    lo_p, hi_p = (float(v) for v in plim)
    if not (0 < lo_p <= hi_p):
        raise ValueError(f"plim={plim!r} must be (smallest, largest) relative point sizes with 0 < smallest <= largest")
    xi = X[:, j]
    rng = float(xi.max() - xi.min())
    xs = np.linspace(float(xi.min()) - 0.04 * rng, float(xi.max()) + 0.04 * rng, n)
    at = X.mean(axis=0)
    Xn = np.repeat(at[None, :], n, axis=0)
    Xn[:, j] = xs
    pred = Xn @ b
    vpred = np.einsum("ij,jk,ik->i", Xn, V, Xn)
    se = np.sqrt(vpred)
    alpha = 1.0 - lv / 100.0
    t_based = str(result.test) != "z"
    df = float(result.df)
    crit = float(stats.t.isf(alpha / 2, df)) if t_based and math.isfinite(df) and df > 0 else float(stats.norm.isf(alpha / 2))
    tau2 = 0.0 if str(result.method).upper() in _COMMON else float(result.tau2)
    half_pi = crit * np.sqrt(vpred + tau2)
    # metafor: cex 0.5 to 3 linear in sqrt(weight); all equal when the weights are
    w = np.sqrt(np.asarray(result.weights, dtype=float))
    span = float(np.nanmax(w) - np.nanmin(w))
    if span <= math.sqrt(np.finfo(float).eps):
        psize = np.ones_like(w)
    else:
        psize = (w - np.nanmin(w)) / span * (hi_p - lo_p) + lo_p
    return BubbleValues(
        term=str(result.terms[j]), column=j, at=at, xi=xi, yi=np.asarray(result.yi, dtype=float), psize=psize,
        xs=xs, pred=pred, se=se, ci_low=pred - crit * se, ci_high=pred + crit * se, pi_low=pred - half_pi,
        pi_high=pred + half_pi, crit=crit,
    )  # fmt: skip


def _natural(measure: Measure, y: FloatArray, sc: Scale) -> FloatArray:
    with np.errstate(all="ignore"):
        return sc.to_plot(np.asarray(measure.back(np.asarray(y, dtype=float)), dtype=float))


def bubble(
    result: Any,
    mod: str | int | None = None,
    *,
    ax: Axes | None = None,
    pi: bool = False,
    ci: bool = True,
    level: float | None = None,
    natural: bool = True,
    scale: str | None = None,
    refline: float | str | None = "null",
    plim: tuple[float, float] = (0.5, 3.0),
    point_size: float = 7.0,
    n_points: int = 1000,
    show_labels: bool | Sequence[str] = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = False,
    **kwargs: Any,
) -> Axes:
    """Bubble plot of a meta-regression: effect sizes against one moderator, with the fitted line.

    The counterpart of metafor's ``regplot()`` for a
    :class:`~metaoutcome.regression.MetaRegressionResult`.

    Parameters
    ----------
    result : MetaRegressionResult
        What :func:`metaoutcome.meta_regression` returns (with at least one moderator).
    mod : str or int, optional
        The moderator on the x axis: a term name (``result.terms``) or its column position.
        Default: the only moderator, or the only continuous one (metafor asks for ``mod`` when
        the model has more than one moderator). Other moderators are held at their means
        (dummies at the share of studies in that level), as metafor's ``regplot`` does.
    ax : matplotlib Axes, optional
        Axes to draw into; default a new pyplot-free Figure of 5 x 4 inches.
    pi : bool, default False
        Draw the prediction band (``pred +/- c sqrt(SE^2 + tau^2)``). Not drawn, with a
        warning, for a common-effect model, whose prediction band is its confidence band (as
        metafor).
    ci : bool, default True
        Draw the confidence band of the fitted line.
    level : float, optional
        Level of the bands in percent (default the model's).
    natural : bool, default True
        Draw on the measure's natural scale (hazard ratios on a log axis, proportions in
        percent); False draws the analysis scale (log HR, logit), metafor's default.
    scale : {"log", "linear", "percent"}, optional
        Axis of the natural scale (default from the measure registry).
    refline : float, None or "null", default "null"
        Horizontal reference line: "null" at the measure's null value (1 for ratios, none for
        single-arm proportions), a number (on the plotted scale), or None.
    plim : (float, float), default (0.5, 3.0)
        Smallest and largest relative point size; sizes are linear in the square root of the
        weights between them (metafor's ``plim``).
    point_size : float, default 7.0
        Marker diameter in points at relative size 1.
    n_points : int, default 1000
        Points along the fitted line (metafor uses 1000).
    show_labels : bool or sequence of str, default False
        Label the points with the study labels (or with the given labels).
    xlabel, ylabel : str, optional
        Axis labels (default the moderator's term name and the measure's axis label).
    legend : bool, default False
        Add a legend for the line and bands.
    **kwargs
        Passed to ``ax.scatter`` for the study points (defaults ``facecolor="0.66"``,
        ``edgecolor="black"``, ``linewidths=0.6``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        For a result that is not a meta-regression, an intercept-only model, a moderator that is
        unknown, the intercept or categorical (0/1 dummies: compare the levels with
        :func:`~metaoutcome.subgroups.subgroup_analysis` instead), several continuous moderators
        and no ``mod``, a measure that needs the study sizes to back-transform (PFT; use
        ``natural=False``), bad ``level``, ``plim``, ``n_points`` or ``refline``.

    Notes
    -----
    With ``x(s)`` the design-matrix row at moderator value ``s`` (the other columns at their
    means), the line is ``pred(s) = x(s)' b``, its SE ``sqrt(x(s)' V x(s))`` with ``V`` the
    model's covariance matrix (Knapp-Hartung scaled where used), and the bands are
    ``pred +/- c SE`` and ``pred +/- c sqrt(SE^2 + tau^2)`` with ``c`` the normal quantile, or the
    t quantile with ``k - p`` df for the t-based tests: metafor's ``predict.rma``. The line
    spans the moderator's range widened by 4 % on each side (metafor's ``predlim``). Point
    sizes: ``psize_i = plim_1 + (plim_2 - plim_1) (sqrt(w_i) - min sqrt(w)) /
    (max sqrt(w) - min sqrt(w))`` with ``w`` the model weights (metafor's default), drawn as
    diameters ``point_size * psize_i``, largest first so that small studies stay visible. The
    values themselves are in :func:`bubble_values`.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software* 36(3):1-48.

    Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
    interpreted? *Statistics in Medicine* 21:1559-1573.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from metaoutcome import meta_regression
    >>> from metaoutcome.plotting import bubble
    >>> d = pd.DataFrame({"yi": np.log([0.62, 0.73, 0.69, 0.85, 0.77, 0.93, 0.59]),
    ...                   "vi": [0.017, 0.011, 0.017, 0.010, 0.017, 0.014, 0.030],
    ...                   "pdl1": [62, 45, 50, 20, 35, 10, 80]})
    >>> ax = bubble(meta_regression(d, mods="pdl1", measure="HR"), pi=True)
    >>> ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel()
    ('log', 'pdl1', 'Hazard ratio')
    """
    values = bubble_values(result, mod, level=level, n_points=n_points, plim=plim)
    measure = get_measure(getattr(result, "measure", None) or "GEN")
    if natural and measure.needs_ni:
        raise ValueError(
            f"measure {measure.name!r} needs the study sizes to back-transform, which a meta-regression does not "
            "keep; use natural=False (analysis scale) or a measure such as 'PLO'"
        )
    common = str(result.method).upper() in _COMMON
    if pi and common:
        warnings.warn("a common-effect model has no prediction band beyond its confidence band; not drawn "
                      "(metafor's regplot does the same)", UserWarning, stacklevel=2)
        pi = False
    sc = get_scale(scale, measure) if natural else Scale("linear", 1.0)
    if natural:
        conv = lambda y: _natural(measure, y, sc)  # noqa: E731
    else:
        conv = lambda y: np.asarray(y, dtype=float)  # noqa: E731
    yi, pred = conv(values.yi), conv(values.pred)
    ci_lo, ci_hi = conv(values.ci_low), conv(values.ci_high)
    pi_lo, pi_hi = conv(values.pi_low), conv(values.pi_high)
    ref = refline_value(refline, measure, sc, natural)

    # y limits: points and the drawn bands, 4% padding on the axis' own scale
    parts = [yi, pred] + ([ci_lo, ci_hi] if ci else []) + ([pi_lo, pi_hi] if pi else [])
    yall = np.concatenate(parts)
    ax_vals = sc.axis_value(yall[sc.drawable(yall)])
    if ax_vals.size == 0:
        raise ValueError("nothing to draw: the back-transformed values are not finite")
    ylim, ticks = _y_limits(sc, float(ax_vals.min()), float(ax_vals.max()), measure.kind)

    with plot_style():
        if ax is None:
            fig = new_figure(5.0, 4.0)
            ax = fig.add_axes((0.15, 0.13, 0.8, 0.8))
        else:
            axes_fig(ax)
        if sc.log:
            ax.set_yscale("log")
        lv = fmt_level(level_percent(level if level is not None else result.level))
        if pi:
            ax.fill_between(values.xs, pi_lo, pi_hi, color="0.95", linewidth=0, zorder=1, gid="pi-band",
                            label=f"{lv}% prediction interval")
        if ci:
            ax.fill_between(values.xs, ci_lo, ci_hi, color="0.85", linewidth=0, zorder=1, gid="ci-band",
                            label=f"{lv}% confidence interval")
            ax.plot(values.xs, ci_lo, color="black", linestyle="--", linewidth=0.8, zorder=2, gid="ci-low")
            ax.plot(values.xs, ci_hi, color="black", linestyle="--", linewidth=0.8, zorder=2, gid="ci-high")
        if pi:
            ax.plot(values.xs, pi_lo, color="black", linestyle=":", linewidth=0.8, zorder=2, gid="pi-low")
            ax.plot(values.xs, pi_hi, color="black", linestyle=":", linewidth=0.8, zorder=2, gid="pi-high")
        if ref is not None:
            ax.axhline(ref, color="0.4", linewidth=0.8, zorder=1.5, gid="refline")
        ax.plot(values.xs, pred, color="black", linewidth=2.0, zorder=3, gid="fit", label="Fitted line")
        order = np.argsort(-values.psize, kind="stable")  # largest first
        kwargs.setdefault("facecolor", "0.66")
        kwargs.setdefault("edgecolor", "black")
        kwargs.setdefault("linewidths", 0.6)
        kwargs.setdefault("zorder", 4)
        ax.scatter(values.xi[order], yi[order], s=(point_size * values.psize[order]) ** 2, gid="studies",
                   clip_on=False, **kwargs)
        if show_labels is not False:
            labs = list(getattr(result, "labels", ())) if show_labels is True else [str(s) for s in show_labels]
            if len(labs) != values.xi.size:
                raise ValueError(f"show_labels has {len(labs)} labels but the model has {values.xi.size} studies")
            for x, y, lab, ps in zip(values.xi, yi, labs, values.psize):
                ax.annotate(lab, (x, y), xytext=(0, point_size * ps / 2 + 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7)
        radius_pt = point_size * values.psize / 2 + 0.5
        xlim2, ylim2 = _fit_points(ax, (float(values.xs[0]), float(values.xs[-1])), ylim, sc, values.xi, yi, radius_pt)
        ax.set_xlim(*xlim2)
        ax.set_ylim(*ylim2)
        if sc.log:
            from matplotlib.ticker import NullFormatter, NullLocator

            ax.yaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_minor_formatter(NullFormatter())
        if len(ticks) >= 2:
            ax.set_yticks(ticks, labels=tick_labels(ticks))
        ax.set_xlabel(values.term if xlabel is None else xlabel)
        if ylabel is None:
            ylabel = measure.axis_label if natural else f"{measure.description} ({measure.scale} scale)"
        ax.set_ylabel(ylabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if legend:
            _legend(ax, ci, pi, lv)
    return ax


def _legend(ax: Axes, ci: bool, pi: bool, lv: str) -> None:
    """One row above the panel: fitted line, CI band (dashed edge), PI band (dotted edge)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Line2D([], [], color="black", linewidth=2.0, label="Fitted line")]
    if ci:
        handles.append(Patch(facecolor="0.85", edgecolor="black", linestyle="--", linewidth=0.8,
                             label=f"{lv}% confidence interval"))
    if pi:
        handles.append(Patch(facecolor="0.95", edgecolor="black", linestyle=":", linewidth=0.8,
                             label=f"{lv}% prediction interval"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=len(handles), frameon=False,
              fontsize=7, handlelength=2.2, columnspacing=1.2, borderaxespad=0.0)


def _fit_points(
    ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], sc: Scale, x: FloatArray, y: FloatArray,
    radius_pt: FloatArray,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Widen the limits just enough that no bubble crosses an axis (metafor's R device clips them)."""
    fig = axes_fig(ax)
    pos = ax.get_position()
    w_pt, h_pt = pos.width * fig.get_figwidth() * 72.0, pos.height * fig.get_figheight() * 72.0
    ya = sc.axis_value(y)
    ok = np.isfinite(x) & np.isfinite(ya)
    x0, x1 = xlim
    y0, y1 = (float(v) for v in sc.axis_value(np.asarray(ylim, dtype=float)))
    for _ in range(4):  # the scale changes as the limits grow; a few rounds settle it
        ux, uy = (x1 - x0) / w_pt, (y1 - y0) / h_pt
        x0 = min(xlim[0], float(np.min((x - radius_pt * ux)[ok]))) if ok.any() else x0
        x1 = max(xlim[1], float(np.max((x + radius_pt * ux)[ok]))) if ok.any() else x1
        y0 = min(y0, float(np.min((ya - radius_pt * uy)[ok]))) if ok.any() else y0
        y1 = max(y1, float(np.max((ya + radius_pt * uy)[ok]))) if ok.any() else y1
    ylim2 = (10.0**y0, 10.0**y1) if sc.log else (y0, y1)
    return (x0, x1), ylim2


def _y_limits(sc: Scale, lo: float, hi: float, kind: str) -> tuple[tuple[float, float], list[float]]:
    """Limits (plotted scale) padded by 4 %, reaching out to the next readable tick when that
    costs at most 15 % of the span, and the ticks inside them. ``lo``/``hi`` are axis values."""
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.04 * span, hi + 0.04 * span
    if sc.name == "percent":
        lo, hi = max(lo, 0.0), min(hi, 100.0)
    if sc.log:
        cand = log_ticks(10.0**lo, 10.0**hi, kind)
    else:
        cand = linear_ticks(lo, hi, percent=sc.name == "percent")
    t_ax = [float(v) for v in sc.axis_value(np.asarray(cand, dtype=float))]
    below = [t for t in t_ax if t <= lo + 1e-12]
    above = [t for t in t_ax if t >= hi - 1e-12]
    if below and lo - below[-1] <= 0.15 * span:
        lo = below[-1]
    if above and above[0] - hi <= 0.15 * span:
        hi = above[0]
    lim = (10.0**lo, 10.0**hi) if sc.log else (lo, hi)
    tol = 1e-9 * max(1.0, abs(lim[0]), abs(lim[1]))
    ticks = [v for v in cand if lim[0] - tol <= v <= lim[1] + tol]
    return lim, ticks
