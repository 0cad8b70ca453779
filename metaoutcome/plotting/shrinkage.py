"""Forest plot of a Bayesian meta-analysis: observed estimates next to shrunken ones (bayesmeta's
``forestplot.bayesmeta``: "quoted estimate" and "shrinkage estimate" per study)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from ._style import new_figure, plot_style, text_width

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["shrinkage_forest"]

_MM = 1 / 25.4


def shrinkage_forest(res: Any, *, ax: Axes | None = None, width_mm: float = 150.0, fontsize: float = 8.0,
                     show_values: bool = True, **kwargs: Any) -> Axes:
    """Forest plot of a :class:`~metaoutcome.bayes.BayesMetaResult`: each study's observed estimate
    and CI (open square, grey) above its shrunken posterior median and credible interval (filled
    circle), then the overall effect mu (diamond) and the prediction for a new study (bar).

    Parameters
    ----------
    res : BayesMetaResult
        From :func:`metaoutcome.bayes.bayesmeta`.
    ax : matplotlib Axes, optional
        Axes to draw into; otherwise a new figure ``width_mm`` wide (<= 183 mm, journal width).
    width_mm : float, default 150
        Width of a new figure in millimetres.
    fontsize : float, default 8
        Text size in points (>= 7).
    show_values : bool, default True
        Print "median [CI]" of the shrunken estimates on the right.
    **kwargs
        Passed to the ``ax.plot`` of the shrunken estimates (defaults ``color="tab:blue"``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from metaoutcome.bayes import bayesmeta, half_normal
    >>> r = bayesmeta(yi=[-0.4, -0.1, -0.3], sei=[0.15, 0.2, 0.1], measure="HR", labels=["A", "B", "C"],
    ...               tau_prior=half_normal(0.5))
    >>> ax = shrinkage_forest(r)
    >>> ax.get_xlabel()
    'Hazard ratio'
    """
    from ..measures import get_measure

    if not 1 <= width_mm <= 183:
        raise ValueError(f"width_mm must be in [1, 183] (a journal page width); got {width_mm!r}")
    if fontsize < 7:
        raise ValueError(f"fontsize must be >= 7 pt; got {fontsize!r}")
    m = get_measure(res.measure)
    if m.needs_ni:
        m = get_measure("GEN")
    log_axis = m.axis == "log"
    scale = 100.0 if m.percent else 1.0

    def nat(x: Any) -> Any:
        return np.asarray(m.back(np.asarray(x, dtype=float)), dtype=float) * scale

    k = res.k
    z = float(ndtri(0.5 + res.level / 200.0))
    st = res.studies()
    rows = 2 * k + 3
    with plot_style():
        if ax is None:
            w_in, h_in = width_mm * _MM, (rows * 4.2 + 22) * _MM
            fig = new_figure(w_in, h_in, dpi=300)
            # left margin from the longest label, right margin for the value column
            lab_w = max(text_width(f"{lab}  observed", fontsize) for lab in list(res.labels) + ["Prediction (new study)"])
            left = min(lab_w / w_in + 0.02, 0.55)
            right = (text_width("00.00 [00.00, 00.00]", fontsize, weight="bold") / w_in + 0.04) if show_values else 0.03
            bottom = 14 * _MM / h_in
            ax = fig.add_axes((left, bottom, max(1 - left - right, 0.15), 1 - bottom - 9 * _MM / h_in))
        kwargs.setdefault("color", "tab:blue")
        ys, labels = [], []
        y = rows
        for i in range(k):
            yi, se = st["yi"].iloc[i], st["sei"].iloc[i]
            lo, hi = nat(yi - z * se), nat(yi + z * se)
            ax.plot([lo, hi], [y, y], color="0.55", lw=0.9, solid_capstyle="butt")
            ax.plot([nat(yi)], [y], marker="s", mfc="white", mec="0.35", ms=4.5, ls="none")
            ys.append(y)
            labels.append(f"{res.labels[i]}  observed")
            y -= 0.9
            ax.plot([nat(st["ci_low"].iloc[i]), nat(st["ci_high"].iloc[i])], [y, y], lw=1.1, **kwargs)
            ax.plot([nat(st["median"].iloc[i])], [y], marker="o", ms=4.0, ls="none", **kwargs)
            ys.append(y)
            labels.append("shrunken")
            if show_values:
                ax.annotate(_fmt(nat(st["median"].iloc[i]), nat(st["ci_low"].iloc[i]), nat(st["ci_high"].iloc[i])),
                            xy=(1.02, y), xycoords=("axes fraction", "data"), va="center", fontsize=fontsize)
            y -= 1.1
        y -= 0.4
        mu = res.mu
        lo, med, hi = nat(mu["ci_low"]), nat(mu["median"]), nat(mu["ci_high"])
        ax.fill([lo, med, hi, med], [y, y + 0.35, y, y - 0.35], color="0.15", lw=0)
        ys.append(y)
        labels.append("Overall effect (μ)")
        if show_values:
            ax.annotate(_fmt(med, lo, hi), xy=(1.02, y), xycoords=("axes fraction", "data"), va="center",
                        fontsize=fontsize, fontweight="bold")
        y -= 1.1
        pr = res.prediction
        lo, med, hi = nat(pr["ci_low"]), nat(pr["median"]), nat(pr["ci_high"])
        ax.fill([lo, hi, hi, lo], [y - 0.12, y - 0.12, y + 0.12, y + 0.12], color="0.55", lw=0)
        ys.append(y)
        labels.append("Prediction (new study)")
        if show_values:
            ax.annotate(_fmt(med, lo, hi), xy=(1.02, y), xycoords=("axes fraction", "data"), va="center",
                        fontsize=fontsize)
            ax.annotate(f"median [{res.level:g}% CrI]", xy=(1.02, rows + 0.9), xycoords=("axes fraction", "data"),
                        va="center", fontsize=fontsize, fontweight="bold")
        ref = m.null
        if ref is not None:
            ax.axvline(ref, color="0.3", lw=0.6, ls=(0, (3, 2)))
        if log_axis:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")
            lo_x, hi_x = ax.get_xlim()
            span = np.log10(hi_x / lo_x)
            subs = (1.0,) if span > 2.2 else (1.0, 2.0, 5.0) if span > 0.8 else tuple(range(1, 10))
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=fontsize)
        ax.set_ylim(y - 0.8, rows + 1.4)
        ax.tick_params(axis="x", labelsize=fontsize)
        ax.tick_params(axis="y", length=0)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(m.axis_label, fontsize=fontsize)
        ax.set_title(f"τ prior: {res.tau_prior}; τ median {res.tau['median']:.2f} "
                     f"[{res.tau['ci_low']:.2f}, {res.tau['ci_high']:.2f}]", fontsize=fontsize, loc="right")
    return ax


def _fmt(med: Any, lo: Any, hi: Any) -> str:
    d = 2 if max(abs(float(med)), abs(float(hi))) < 10 else 1
    return f"{float(med):.{d}f} [{float(lo):.{d}f}, {float(hi):.{d}f}]"
