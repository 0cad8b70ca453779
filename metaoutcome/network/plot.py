"""Figures of a network meta-analysis: the network graph, a forest plot of every treatment against
the reference, and the league table.

Each takes ``ax=None`` (a new pyplot-free figure is made), draws only through ``ax`` methods
inside :func:`metaoutcome.plotting.plot_style`, and returns the Axes; save with
:func:`metaoutcome.plotting.savefig` for byte-identical files.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..plotting._style import fit_page_width, new_figure, plot_style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .model import NetworkResult

__all__ = ["network_graph", "network_forest", "league_plot"]

MM = 1 / 25.4
_NODE = "#2b6c9e"
_EDGE = "#7a7a7a"


def _axes(ax: Axes | None, width_mm: float, height_mm: float, rect: tuple[float, float, float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    fig = new_figure(width_mm * MM, height_mm * MM)
    return fig.add_axes(rect) if rect is not None else fig.add_subplot(1, 1, 1)


def _wrap(t: str, width: int = 14) -> str:
    """Break a long treatment name at '+' or spaces so it fits a cell."""
    t = treatment_label(t)
    if len(t) <= width:
        return t
    for sep in ("+", " "):
        if sep in t:
            head, tail = t.split(sep, 1)
            return head + (sep if sep == "+" else "") + "\n" + _wrap(tail, width)
    return t


def _log_ticks(ax: Axes, lo: float, hi: float) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    coarse = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0]
    fine = sorted(coarse + [0.4, 0.6, 0.8, 0.9, 1.2])
    ticks = [c for c in coarse if lo <= c <= hi]
    if len(ticks) < 3:
        ticks = [c for c in fine if lo <= c <= hi] or [1.0]
    ax.set_xlim(lo / 1.08, hi * 1.08)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in ticks])


def treatment_label(t: str) -> str:
    """A treatment name as a reader writes it: 'pembrolizumab_10mgkg' -> 'pembrolizumab 10 mg/kg'.

    >>> treatment_label("pembrolizumab_2mgkg")
    'pembrolizumab 2 mg/kg'
    """
    return re.sub(r"(\d+)\s*mgkg\b", r"\1 mg/kg", str(t).replace("_", " "))



def network_graph(result: NetworkResult, *, ax: Axes | None = None, order: list[str] | None = None,
                  fontsize: float = 8.0, **kwargs: Any) -> Axes:
    """The network: one node per treatment (area proportional to its patients), one edge per
    directly compared pair (width proportional to the number of trials, labelled with it).

    Parameters
    ----------
    result : NetworkResult
        A fitted network (or any object with a ``data`` :class:`NetworkData`).
    ax : matplotlib Axes, optional
        Where to draw; a new 120 mm square figure by default.
    order : list of str, optional
        Order of the treatments around the circle (default: network order).
    fontsize : float, default 8
        Label size in points (at least 7).
    **kwargs
        ``node_color``, ``edge_color``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": list("abc"), "treat1": ["X", "Y", "Y"], "treat2": ["C", "C", "X"],
    ...                   "yi": [-0.3, -0.1, 0.1], "vi": [0.01, 0.02, 0.03]})
    >>> ax = network_graph(network_meta(d, method="CE"))
    >>> len(ax.texts)  # three treatment labels, three edge counts, the legend line
    7
    """
    data = result.data
    names = list(order) if order is not None else list(data.treatments)
    if sorted(names) != sorted(data.treatments):
        raise ValueError(f"order must list every treatment once; treatments are {list(data.treatments)}")
    kwargs.setdefault("node_color", _NODE)
    kwargs.setdefault("edge_color", _EDGE)
    fontsize = max(float(fontsize), 7.0)
    with plot_style():
        ax = _axes(ax, 120, 110)
        k = len(names)
        ang = {t: math.pi / 2 - 2 * math.pi * i / k for i, t in enumerate(names)}
        pos = {t: (math.cos(a), math.sin(a)) for t, a in ang.items()}
        edges = data.edges()
        most = max(int(edges["n_studies"].max()), 1) if len(edges) else 1
        for r in edges.itertuples(index=False):
            (x1, y1), (x2, y2) = pos[r.treat1], pos[r.treat2]
            ax.plot([x1, x2], [y1, y2], color=kwargs["edge_color"], lw=1.0 + 5.0 * r.n_studies / most,
                    solid_capstyle="round", zorder=1)
            ax.text(0.5 * (x1 + x2), 0.5 * (y1 + y2), str(r.n_studies), ha="center", va="center", fontsize=fontsize,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"), zorder=3)
        npat = {t: data.n_patients[data.treatments.index(t)] for t in names}
        known = [v for v in npat.values() if np.isfinite(v)]
        big = max(known) if known else 1.0
        for t in names:
            v = npat[t]
            size = 80 + 900 * (v / big) if np.isfinite(v) else 200
            ax.scatter([pos[t][0]], [pos[t][1]], s=size, color=kwargs["node_color"], zorder=2, edgecolors="white")
            a = ang[t]
            lab = _wrap(t, 18) + (f"\n(n = {int(v):,})" if np.isfinite(v) else "\n(n not reported)")
            c, s_ = math.cos(a), math.sin(a)
            ha = "left" if c > 0.3 else "right" if c < -0.3 else "center"
            va = "bottom" if s_ > 0.3 else "top" if s_ < -0.3 else "center"
            ax.text(1.2 * c, 1.2 * s_, lab, ha=ha, va=va, fontsize=fontsize, zorder=4)
        ax.set_xlim(-2.0, 2.0)
        ax.set_ylim(-1.65, 1.5)
        ax.set_aspect("equal")
        ax.axis("off")
        note = "node area: patients randomised (fixed size where a trial did not report n); edge width and " \
            "number: trials" if known else "edge width and number: trials"
        ax.text(0.0, -1.62, note, ha="center", va="bottom", fontsize=7, color="#555555")
    return ax


def network_forest(result: NetworkResult, *, reference: str | None = None, ax: Axes | None = None,
                   order: list[str] | None = None, fontsize: float = 8.0, favours: tuple[str, str] | None = None,
                   **kwargs: Any) -> Axes:
    """Forest plot of every treatment against ``reference`` (natural scale, log axis for ratios).

    Parameters
    ----------
    result : NetworkResult
        A fitted network.
    reference : str, optional
        Comparator (default: the result's reference).
    ax : matplotlib Axes, optional
        Where to draw; a new 150 mm wide figure by default.
    order : list of str, optional
        Treatments top to bottom (default: by estimate, best first).
    fontsize : float, default 8
        Text size in points (at least 7).
    favours : (str, str), optional
        Labels under the axis, left and right of the null line.
    **kwargs
        ``color`` of the markers.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"],
    ...                   "yi": [-0.3, -0.1], "vi": [0.01, 0.02]})
    >>> ax = network_forest(network_meta(d, method="CE", measure="HR"), reference="C")
    >>> ax.get_xscale()
    'log'
    """
    eff = result.effects(reference)
    m = result.measure_info
    if order is None:
        eff = eff.sort_values("estimate", ascending=result.small_values == "desirable", kind="mergesort")
    else:
        eff = eff.set_index("treatment").loc[[t for t in order if t in set(eff["treatment"])]].reset_index()
    kwargs.setdefault("color", "black")
    fontsize = max(float(fontsize), 7.0)
    n = len(eff)
    created = ax is None
    with plot_style():
        ax = _axes(ax, 150, 22 + 7.5 * n)
        y = np.arange(n)[::-1].astype(float)
        est, lo, hi = (eff[c].to_numpy(float) for c in ("estimate_natural", "ci_low_natural", "ci_high_natural"))
        ax.hlines(y, lo, hi, color=kwargs["color"], lw=1.0)
        ax.scatter(est, y, marker="s", s=22, color=kwargs["color"], zorder=3)
        if m.null is not None:
            ax.axvline(m.null, color="#888888", lw=0.8, ls="--", zorder=0)
        if m.axis == "log":
            ax.set_xscale("log")
            lim = [float(np.nanmin(lo)) if n else 0.5, float(np.nanmax(hi)) if n else 2.0]
            if m.null is not None:
                lim = [min(lim[0], m.null), max(lim[1], m.null)]
            _log_ticks(ax, lim[0], lim[1])
        ax.set_yticks(y)
        ax.set_yticklabels([treatment_label(t) + (" *" if e == "indirect" else "") for t, e in zip(eff["treatment"], eff["evidence"])],
                           fontsize=fontsize)
        ax.set_ylim(-0.8, n - 0.4)
        ref = treatment_label(str(eff["reference"].iloc[0])) if n else ""
        ax.set_xlabel(f"{m.axis_label} vs {ref} ({result.level:g}% CI)", fontsize=fontsize)
        ax.tick_params(axis="x", labelsize=fontsize)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
        trans = ax.get_yaxis_transform()
        ax.text(1.02, n - 0.4, f"{m.axis_label} ({result.level:g}% CI)", transform=trans, ha="left", va="bottom",
                fontsize=fontsize, fontweight="bold")
        for yy, e, l_, h_ in zip(y, est, lo, hi):
            ax.text(1.02, yy, f"{e:.2f} ({l_:.2f} to {h_:.2f})", transform=trans, ha="left", va="center",
                    fontsize=fontsize)
        foot = []
        if (eff["evidence"] == "indirect").any():
            foot.append("* no trial compared it with " + ref + ": estimate purely indirect")
        model = {"CE": "common-effect", "REML": "random-effects, REML τ²", "DL": "random-effects, DL τ²"}
        foot.append(f"Network meta-analysis ({model[result.method]} = {result.tau2:.3g})"
                    if result.method != "CE" else "Network meta-analysis (common effect)")
        if favours is not None:
            ax.set_xlabel(f"{m.axis_label} vs {ref} ({result.level:g}% CI)\n"
                          f"<- {favours[0]}          {favours[1]} ->", fontsize=fontsize)
        ax.set_title("; ".join(foot), fontsize=7, loc="left", color="#444444")
        if created:
            fit_page_width(cast("Figure", ax.figure))  # long names and the estimate column: stay within 183 mm
    return ax


def league_plot(result: NetworkResult, *, order: list[str] | None = None, ax: Axes | None = None,
                fontsize: float = 7.0, digits: int = 2) -> Axes:
    """The league table as a figure: lower triangle the network estimate (column versus row),
    upper triangle the direct estimate (row versus column), CIs beneath; diagonal the treatments.

    Parameters
    ----------
    result : NetworkResult
        A fitted network.
    order : list of str, optional
        Treatment order (default: decreasing P-score).
    ax : matplotlib Axes, optional
        Where to draw; a new figure up to 183 mm wide by default.
    fontsize : float, default 7
        Text size in points (at least 7).
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"],
    ...                   "yi": [-0.3, -0.1], "vi": [0.01, 0.02]})
    >>> ax = league_plot(network_meta(d, method="CE", measure="HR"))
    >>> sorted(t.get_text() for t in ax.texts)[:3]
    ['.', '0.74\\n(0.61 to 0.90)', '0.74\\n(0.61 to 0.90)']
    """
    table = result.league_table(order, digits=digits, natural=True, ci=True)
    names = list(table.index)
    k = len(names)
    fontsize = max(float(fontsize), 7.0)
    with plot_style():
        cell = min(180.0 / k, 30.0)
        ax = _axes(ax, cell * k, cell * 0.5 * k + 8, rect=(0.0, 0.0, 1.0, (cell * 0.5 * k) / (cell * 0.5 * k + 8)))
        for r in range(k):
            for c in range(k):
                txt = str(table.iloc[r, c])
                x, yv = c, k - 1 - r
                if r == c:
                    fc, weight = "#dfe8f1", "bold"
                    txt = _wrap(txt)
                else:
                    fc, weight = ("white" if r > c else "#f4f4f4"), "normal"
                    if " (" in txt:
                        txt = txt.replace(" (", "\n(", 1)
                ax.add_patch(_rect(x - 0.5, yv - 0.5, fc))
                ax.text(x, yv, txt, ha="center", va="center", fontsize=fontsize, fontweight=weight, wrap=False)
        ax.set_xlim(-0.5, k - 0.5)
        ax.set_ylim(-0.5, k - 0.5)
        ax.axis("off")
        m = result.measure_info
        ax.set_title(f"{m.axis_label}s ({result.level:g}% CI). Lower left: network estimate, column vs row.\n"
                     "Upper right: direct evidence, row vs column ('.' = no trial)", fontsize=7, loc="left")
    return ax


def _rect(x: float, y: float, fc: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1.0, 1.0, facecolor=fc, edgecolor="white", lw=1.0)
