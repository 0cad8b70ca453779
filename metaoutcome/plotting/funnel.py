"""Funnel plots: plain, with pseudo-confidence lines, and contour-enhanced (Peters et al. 2008).

The effect is drawn on the analysis scale (where the funnel is symmetric and its pseudo-CI lines
are straight) and the axis is *relabelled* with natural-scale values (0.5, 1, 2 for a hazard
ratio; 10%, 20% for a logit proportion), metafor's ``atransf`` rather than ``transf``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._checks import level_percent
from ..measures import Measure
from ._result import check_result, fget, measure_of
from ._scale import linear_ticks, log_ticks, tick_labels
from ._style import axes_fig, fmt_level, new_figure, plot_style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["funnel"]

FloatArray = NDArray[np.float64]

#: shades of the contour regions, innermost (p > 0.10) first, as metafor's contour-enhanced funnel
_SHADES = ("white", "0.55", "0.75")
_BACK = "0.9"


def natural_ticks(measure: Measure, lo: float, hi: float, ni: Any = None) -> tuple[list[float], list[str]] | None:
    """Positions (analysis scale) and labels (natural scale) of readable ticks on ``[lo, hi]``.

    None when the measure cannot be relabelled (PFT needs the study size).
    """
    if measure.needs_ni or not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return None
    grid = np.linspace(lo, hi, 4001)
    with np.errstate(all="ignore"):
        nat = np.asarray(measure.back(grid), dtype=float)
    if not np.all(np.isfinite(nat)) or not np.all(np.diff(nat) > 0):
        return None
    if measure.axis == "log":
        cand = log_ticks(float(nat[0]), float(nat[-1]), measure.kind)
        labels_nat = cand
    else:
        f = 100.0 if measure.percent else 1.0
        cand = [t / f for t in linear_ticks(float(nat[0]) * f, float(nat[-1]) * f, percent=measure.percent)]
        labels_nat = [t * f for t in cand]
    pos, labs = [], []
    for t, shown in zip(cand, tick_labels(labels_nat)):
        if nat[0] - 1e-12 <= t <= nat[-1] + 1e-12:
            pos.append(float(np.interp(t, nat, grid)))
            labs.append(shown)
    if len(pos) < 2:
        return None
    return pos, labs


def funnel(
    result: Any,
    *,
    contours: Sequence[float] | bool | None = None,
    center: float | None = None,
    pseudo_ci: bool = True,
    level: float | None = None,
    filled: Any | None = None,
    relabel: bool = True,
    show_labels: bool = False,
    xlabel: str | None = None,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Funnel plot: effect (x) against its standard error (y, 0 at the top).

    Parameters
    ----------
    result : PoolResult
        What :func:`metaoutcome.pool` returns (``yi``, ``vi``, ``estimate``, ``measure``).
    contours : sequence of float or True, optional
        Contour-enhanced funnel: shade the regions where a study's two-sided p-value against
        ``center`` is above 0.10, 0.10-0.05, 0.05-0.01 and below 0.01 (``True`` means
        ``(90, 95, 99)``). Default: a plain funnel.
    center : float, optional
        Centre of the contours on the natural scale; default the measure's null (1 for ratios).
        Required for measures without a null (single-arm proportions, medians).
    pseudo_ci : bool, default True
        Draw the pseudo-confidence region ``estimate +/- z se`` around the pooled estimate.
    level : float, optional
        Level of the pseudo-CI in percent (default the result's level).
    filled : object with ``yi`` and ``vi``, optional
        Imputed studies (e.g. from trim-and-fill), drawn as open circles.
    relabel : bool, default True
        Label the x axis with natural-scale values (HR 0.5, 1, 2; proportions in percent).
    show_labels : bool, default False
        Write each study's label beside its point.
    xlabel : str, optional
        Axis label (default the measure's axis label).
    ax : matplotlib Axes, optional
        Axes to draw into; default a new pyplot-free Figure of 5 x 4 inches.
    **kwargs
        Passed to ``ax.scatter`` for the study points (defaults ``s=22``, ``color="black"``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On an empty result, contour levels outside (0, 100), or contours for a measure without a
        null and no ``center``.

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced meta-analysis
    funnel plots help distinguish publication bias from other causes of asymmetry. *Journal of
    Clinical Epidemiology* 61(10):991-996.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import funnel
    >>> res = mo.pool(np.log([0.73, 0.59, 0.70, 0.69]), [0.0101, 0.0166, 0.0089, 0.0112], measure="HR")
    >>> ax = funnel(res, contours=True)
    >>> bool(ax.get_ylim()[0] > ax.get_ylim()[1])  # standard error 0 at the top
    True
    """
    from scipy import stats  # imported here: scipy.stats costs ~0.3 s to import
    st = check_result(result)
    measure = measure_of(result)
    lv = level_percent(fget(result, "level", 95.0) if level is None else level)
    levels: list[float] = []
    if contours is True:
        levels = [90.0, 95.0, 99.0]
    elif contours not in (None, False):
        if isinstance(contours, (str, bytes)) or not isinstance(contours, Iterable):
            raise ValueError(f"contours={contours!r} must be True or a sequence of levels such as (90, 95, 99)")
        # the one level rule: contours=[0.9, 0.95, 0.99] is 90/95/99%
        levels = sorted(level_percent(c, f"contours[{i}]") for i, c in enumerate(contours))
        if not levels:
            raise ValueError(f"contours={contours!r} must hold at least one level, e.g. (90, 95, 99)")
    c_an: float | None = None
    if levels:
        if center is None:
            c_an = measure.null_on_analysis_scale()
            if c_an is None:
                raise ValueError(
                    f"contours need a centre: measure {measure.name!r} has no null value; pass center= "
                    "(natural scale, e.g. center=0.2 for a 20% response rate)"
                )
        else:
            c_an = _to_analysis(measure, float(center), "center")
    ok = np.isfinite(st.yi) & np.isfinite(st.vi) & (st.vi > 0)
    yi, se = st.yi[ok], np.sqrt(st.vi[ok])
    f_yi = f_se = np.array([])
    if filled is not None:
        f_yi = np.asarray(getattr(filled, "yi"), dtype=float)
        f_se = np.sqrt(np.asarray(getattr(filled, "vi"), dtype=float))
    est = fget(result, "estimate")
    se_max = float(np.nanmax(np.concatenate([se, f_se]))) * 1.08 if se.size else 1.0
    z = float(stats.norm.ppf(0.5 + lv / 200))
    xs = np.concatenate([yi, f_yi, [est - z * se_max, est + z * se_max]])
    if levels and c_an is not None:
        zmax = float(stats.norm.ppf(0.5 + max(levels) / 200))
        xs = np.concatenate([xs, [c_an - zmax * se_max, c_an + zmax * se_max]])
    xs = xs[np.isfinite(xs)]
    span = float(xs.max() - xs.min()) or 1.0
    x0, x1 = float(xs.min() - 0.04 * span), float(xs.max() + 0.04 * span)

    with plot_style():
        if ax is None and levels:  # room on the right for the contour legend
            fig = new_figure(6.4, 4.0)
            ax = fig.add_axes((0.11, 0.13, 0.62, 0.8))
        elif ax is None:
            fig = new_figure(5.0, 4.0)
            ax = fig.add_axes((0.14, 0.13, 0.82, 0.8))
        else:
            fig = axes_fig(ax)
        del fig
        ax.set_xlim(x0, x1)
        ax.set_ylim(se_max, 0.0)
        if levels and c_an is not None:
            ax.set_facecolor(_BACK)
            ses = np.array([0.0, se_max])
            for lvl, shade in reversed(list(zip(levels, _SHADES[: len(levels)] if len(levels) <= 3 else
                                                   [str(g) for g in np.linspace(1.0, 0.55, len(levels))]))):
                zl = float(stats.norm.ppf(0.5 + lvl / 200))
                ax.fill_betweenx(ses, c_an - zl * ses, c_an + zl * ses, color=shade, linewidth=0, zorder=0,
                                 gid=f"contour-{fmt_level(lvl)}")
            ax.axvline(c_an, color="0.3", linewidth=0.8, zorder=1, gid="null")
            _contour_legend(ax, levels)
        if pseudo_ci and np.isfinite(est):
            ses = np.array([0.0, se_max])
            ax.plot(est - z * ses, ses, color="0.2", linestyle="--", linewidth=0.8, zorder=2, gid="pseudo-ci-low")
            ax.plot(est + z * ses, ses, color="0.2", linestyle="--", linewidth=0.8, zorder=2, gid="pseudo-ci-high")
            ax.axvline(est, color="0.2", linewidth=0.8, zorder=2, gid="estimate")
        kwargs.setdefault("s", 22)
        kwargs.setdefault("color", "black")
        kwargs.setdefault("zorder", 3)
        ax.scatter(yi, se, gid="studies", **kwargs)
        if f_yi.size:
            ax.scatter(f_yi, f_se, s=kwargs["s"], facecolors="white", edgecolors="black", zorder=3, gid="filled")
        if show_labels:
            labs = [lab for lab, k in zip(st.labels, ok) if k]
            for x, y, lab in zip(yi, se, labs):
                ax.annotate(lab, (x, y), xytext=(3, 2), textcoords="offset points", fontsize=7)
        ax.set_ylabel("Standard error")
        ticks = natural_ticks(measure, x0, x1) if relabel else None
        if ticks is not None:
            ax.set_xticks(ticks[0], labels=ticks[1])
            ax.set_xlabel(measure.axis_label if xlabel is None else xlabel)
        else:
            ax.set_xlabel(f"{measure.description} ({measure.scale} scale)" if xlabel is None else xlabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return ax


def _to_analysis(measure: Measure, value: float, name: str) -> float:
    """Invert the measure's back-transform numerically (monotone on a wide grid)."""
    if measure.needs_ni:
        raise ValueError(f"{name} cannot be placed on the {measure.name} scale (it needs the study size)")
    f = 1.0
    grid = np.linspace(-30, 30, 600001) if measure.scale != "raw" else None
    if grid is None:
        return value
    with np.errstate(all="ignore"):
        nat = np.asarray(measure.back(grid), dtype=float) * f
    okm = np.isfinite(nat)
    if not (nat[okm].min() < value < nat[okm].max()):
        raise ValueError(f"{name}={value!r} is outside the range of measure {measure.name!r}")
    return float(np.interp(value, nat[okm], grid[okm]))


def _contour_legend(ax: Axes, levels: list[float]) -> None:
    from matplotlib.patches import Patch

    shades = list(_SHADES[: len(levels)]) if len(levels) <= 3 else [str(g) for g in np.linspace(1.0, 0.55, len(levels))]
    edges = [1 - lv / 100 for lv in levels]  # p-value cut points, descending
    handles = []
    prev = "1"
    for e, shade in zip(edges, shades):
        handles.append(Patch(facecolor=shade, edgecolor="0.5", linewidth=0.5, label=f"{_p(e)} < p \u2264 {prev}"))
        prev = _p(e)
    handles.append(Patch(facecolor=_BACK, edgecolor="0.5", linewidth=0.5, label=f"p \u2264 {prev}"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False,
              title="Two-sided p", title_fontsize=7)


def _p(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")
