"""Drawing a forest plot from its rows: geometry (inches), fitting to a journal width, artists.

:mod:`metaoutcome.plotting.forest` turns a result's summary table into :class:`Row` objects
(text cells and plotted values) and :class:`Column` definitions; this module measures them, fits
the figure to the width a journal prints (at most 183 mm, no text below 7 pt) and draws. It reads
nothing from the result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._scale import Scale, tick_labels
from ._style import PAGE_WIDTH_MM, Layout, fmt_num, new_figure, text_width

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.transforms import Transform

__all__ = ["Row", "Column", "Frame", "MIN_FONT", "MAX_WIDTH_MM", "draw_forest"]

# spacing, in inches
MARGIN = 0.1
COL_GAP = 0.14
PANEL_GAP = 0.16
#: the smallest text a journal prints (pt) and the widest figure (double column, mm)
MIN_FONT = 7.0
MAX_WIDTH_MM = PAGE_WIDTH_MM
#: the graph panel is never narrowed below this (inches) to make a figure fit
MIN_PANEL = 1.6
MM = 25.4


@dataclass
class Row:
    """One row of the plot: its text cells and, for studies and pooled rows, plotted values."""

    kind: str  # heading | study | pooled | pi | text | note | spacer
    rid: str
    label: str = ""
    cells: dict[str, str] = field(default_factory=dict)
    bold: bool = False
    height: float = 1.0
    y: float = 0.0
    est: float = math.nan
    lo: float = math.nan
    hi: float = math.nan
    weight: float = math.nan
    common: bool = False
    small: bool = False


@dataclass
class Column:
    key: str
    header: str
    align: str  # left | right | center
    side: str  # left | right
    width: float = 0.0
    x: float = 0.0  # anchor, inches from the panel's left (side left) or right (side right) edge


@dataclass
class Frame:
    """Everything the drawing needs besides rows and columns."""

    layout: Layout
    scale: Scale
    lim: tuple[float, float]
    ticks: list[float]
    ref: float | None
    favours: tuple[str, str] | None
    xlabel: str | None
    plot_header: str
    max_width_mm: float | None = MAX_WIDTH_MM
    equal_squares: bool = False  # one square size for every study (no weights to show)
    nullline: float | None = None  # a thin solid line over the rows, e.g. the null beside a refline elsewhere


@dataclass
class _Geometry:
    fs: float
    small_fs: float
    panel_w: float
    left_w: float
    right_w: float
    extra_l: float
    extra_r: float
    top_in: float
    bottom_in: float
    row_in: float
    n_units: float

    @property
    def fig_w(self) -> float:
        return MARGIN + self.extra_l + self.left_w + self.panel_w + self.right_w + self.extra_r + MARGIN

    @property
    def fig_h(self) -> float:
        return MARGIN + self.top_in + self.n_units * self.row_in + self.bottom_in + MARGIN


def _small(fs: float) -> float:
    return max(MIN_FONT, fs - 1.0)


def _measure(rows: list[Row], left: list[Column], right: list[Column], fr: Frame, fs: float,
             panel_w: float) -> _Geometry:
    lay = fr.layout
    fam = lay.fontfamily
    small_fs = _small(fs)

    def cw(text: str, bold: bool, small: bool = False) -> float:
        return text_width(text, small_fs if small else fs, "bold" if bold else "normal", fam)

    for col in left + right:
        w = cw(col.header, True)
        for row in rows:
            if row.kind in ("text", "note"):
                continue
            s = row.label if col.key == "label" else row.cells.get(col.key, "")
            w = max(w, cw(s, row.bold or row.kind == "pooled"))
        col.width = w
    x = -PANEL_GAP
    for col in reversed(left):
        col.x = x - col.width if col.align == "left" else (x - col.width / 2 if col.align == "center" else x)
        x -= col.width + COL_GAP
    left_w = -(x + COL_GAP)
    x = PANEL_GAP
    for col in right:
        col.x = x if col.align == "left" else (x + col.width / 2 if col.align == "center" else x + col.width)
        x += col.width + COL_GAP
    right_w = x - COL_GAP if right else 0.0
    y = 0.0
    for row in rows:
        row.y = y + row.height / 2
        y += row.height
    row_in = fs * lay.row_spacing / 72.0
    line_in = fs * 1.25 / 72.0
    header_lines = max([c.header.count("\n") + 1 for c in left + right]
                       + [fr.plot_header.count("\n") + 1 if fr.plot_header else 0])
    top_in = header_lines * line_in + 0.12
    fav_lines = max(t.count("\n") + 1 for t in fr.favours) if fr.favours else 0
    bottom_in = (3.5 + 3.5 + fs * 1.25) / 72.0 + (fs * 1.3 * fav_lines + 3 * bool(fav_lines)) / 72.0 + (
        (fs * 1.3 + 4) / 72.0 if fr.xlabel else 0
    ) + 0.06
    text_w = max([cw(r.label, False, r.small) + (0.12 if r.kind == "note" else 0.0)
                  for r in rows if r.kind in ("text", "note")] + [0.0])
    extra_r = max(0.0, text_w - (left_w + panel_w + right_w))
    extra_l = 0.0
    if fr.favours and fr.ref is not None:  # favours labels start 4 pt either side of the reference line
        a, b = fr.scale.axis_value(np.asarray(fr.lim, dtype=float))
        at = float(np.clip((fr.scale.axis_value(np.asarray([fr.ref], dtype=float))[0] - a) / (b - a), 0.0, 1.0))
        extra_l = max(0.0, cw(fr.favours[0], False) + 4 / 72 - at * panel_w - left_w)
        extra_r = max(extra_r, cw(fr.favours[1], False) + 4 / 72 - (1 - at) * panel_w - right_w)
    return _Geometry(fs, small_fs, panel_w, left_w, right_w, extra_l, extra_r, top_in, bottom_in, row_in, y)


def _wrap(text: str, width: float, size: float, fam: str, weight: str = "normal") -> str:
    """Greedy word wrap of ``text`` to ``width`` inches at ``size`` pt."""
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        trial = f"{cur} {word}" if cur else word
        if cur and text_width(trial, size, weight, fam) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    lines.append(cur)
    return "\n".join(lines)


def _fit(rows: list[Row], left: list[Column], right: list[Column], fr: Frame) -> tuple[list[Row], _Geometry]:
    """Make the figure at most ``fr.max_width_mm`` wide, one step at a time until it fits: the
    font to 8 pt; the graph to 2.2 in; "Favours" labels on two lines; long study labels wrapped
    (to 1.8 in); the font to 7 pt; the graph to 1.6 in; labels wrapped to 1.4 in; long text rows
    wrapped. Warn if it still does not fit."""
    lay = fr.layout
    fs = max(MIN_FONT, float(lay.fontsize))
    panel_w = float(lay.plot_width)
    geo = _measure(rows, left, right, fr, fs, panel_w)
    if fr.max_width_mm is None:
        return rows, geo
    max_in = fr.max_width_mm / MM
    label_col = next((c for c in left if c.key == "label"), None)

    def over() -> float:
        return geo.fig_w - max_in

    for step in ("font:8", "panel:2.2", "favours", "labels:1.8", "font:7", "panel:1.6", "labels:1.4"):
        if over() <= 0:
            break
        kind, _, arg = step.partition(":")
        if kind == "font":
            while over() > 0 and fs > float(arg):
                fs = max(float(arg), fs - 0.5)
                geo = _measure(rows, left, right, fr, fs, panel_w)
        elif kind == "panel":
            for _ in range(4):  # favours labels overhang more as the graph narrows: a few rounds
                if over() <= 0 or panel_w <= float(arg):
                    break
                panel_w = max(float(arg), panel_w - 1.5 * over() - 1e-4)
                geo = _measure(rows, left, right, fr, fs, panel_w)
        elif kind == "favours":
            if fr.favours and (geo.extra_l > 0 or geo.extra_r > 0):
                fr.favours = (fr.favours[0].replace(" ", "\n", 1), fr.favours[1].replace(" ", "\n", 1))
                geo = _measure(rows, left, right, fr, fs, panel_w)
        elif label_col is not None:  # long study labels onto two or more lines
            cap = max(float(arg), label_col.width - over() - 0.02)
            new_rows = []
            for r in rows:
                weight = "bold" if r.bold else "normal"
                if r.kind in ("study", "heading") and text_width(r.label, fs, weight, lay.fontfamily) > cap:
                    lab = _wrap(r.label.replace("\n", " "), cap, fs, lay.fontfamily, weight)
                    r = replace(r, label=lab, height=1.0 + 0.7 * lab.count("\n"))
                new_rows.append(r)
            rows = new_rows
            geo = _measure(rows, left, right, fr, fs, panel_w)
    if geo.fig_w > max_in and geo.extra_r > 0:  # long text rows: wrap them at the content width
        content = max(geo.left_w + geo.panel_w + geo.right_w, max_in - 2 * MARGIN - geo.extra_l)
        new_rows = []
        for r in rows:
            if r.kind in ("text", "note") and text_width(r.label, geo.small_fs, "normal", lay.fontfamily) > content:
                lab = _wrap(r.label, content - 0.05, geo.small_fs, lay.fontfamily)
                r = replace(r, label=lab, height=r.height * (1 + 0.75 * lab.count("\n")))
            new_rows.append(r)
        rows = new_rows
        geo = _measure(rows, left, right, fr, fs, panel_w)
    if geo.fig_w > max_in + 1e-9:
        warnings.warn(
            f"the forest plot is {geo.fig_w * MM:.0f} mm wide, wider than {fr.max_width_mm:g} mm (a journal's "
            "double column) even with the graph narrowed and the font at 7 pt; drop or shorten text columns "
            "or labels, or pass max_width=None",
            UserWarning, stacklevel=3,
        )
    return rows, geo


def draw_forest(rows: list[Row], left: list[Column], right: list[Column], fr: Frame, ax: Axes | None) -> Figure:
    """Lay out and draw; a new figure sized to its content unless ``ax`` is given."""
    from ._style import axes_fig, plot_style

    fr = replace(fr, max_width_mm=None) if ax is not None else replace(fr)
    rows, geo = _fit(rows, left, right, fr)
    with plot_style():
        if ax is None:
            fig = new_figure(geo.fig_w, geo.fig_h)
            ax = fig.add_axes((
                (MARGIN + geo.extra_l + geo.left_w) / geo.fig_w,
                (MARGIN + geo.bottom_in) / geo.fig_h,
                geo.panel_w / geo.fig_w,
                geo.n_units * geo.row_in / geo.fig_h,
            ))
        else:
            fig = axes_fig(ax)
        _draw(ax, fig, rows, left, right, fr, geo)
    return fig


def thin_tick_labels(ticks: list[float], lim: tuple[float, float], sc: Scale, panel_w: float, fs: float,
                     fam: str, keep: float | None = None, gap: float = 0.06) -> list[str]:
    """Tick labels with those that would overlap a neighbour left empty (the tick mark stays).

    Priority: the reference value (``keep``), the two ends, then the others in order; a label is
    kept if its box, ``gap`` inches apart, does not overlap a kept one.
    """
    labels = tick_labels(ticks)
    a, b = sc.axis_value(np.asarray(lim, dtype=float))
    pos = (sc.axis_value(np.asarray(ticks, dtype=float)) - a) / (b - a) * panel_w
    widths = [text_width(s, fs, "normal", fam) for s in labels]
    order = list(range(len(ticks)))
    first = [i for i in order if keep is not None and abs(ticks[i] - keep) <= 1e-12 * max(1.0, abs(keep))]
    ends = [i for i in (0, len(ticks) - 1) if i not in first]
    order = first + ends + [i for i in order if i not in first and i not in ends]
    kept: list[tuple[float, float]] = []
    out = [""] * len(ticks)
    for i in order:
        lo, hi = pos[i] - widths[i] / 2, pos[i] + widths[i] / 2
        if all(hi + gap <= k0 or lo - gap >= k1 for k0, k1 in kept):
            kept.append((lo, hi))
            out[i] = labels[i]
    return out


def _draw(ax: Axes, fig: Figure, rows: list[Row], left: list[Column], right: list[Column], fr: Frame,
          geo: _Geometry) -> None:
    from matplotlib import transforms
    from matplotlib.patches import Polygon
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    lay, sc = fr.layout, fr.scale
    fs, small_fs, fam = geo.fs, geo.small_fs, lay.fontfamily
    a, b = fr.lim
    if sc.log:
        ax.set_xscale("log")
    ax.set_xlim(a, b)
    ax.set_ylim(geo.n_units, 0.0)
    ax.set_autoscale_on(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.8)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=fs, length=3.5, width=0.8, pad=3.5, direction="out")
    ax.xaxis.set_major_locator(FixedLocator(fr.ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    panel_in = ax.get_position().width * fig.get_figwidth()
    labels = thin_tick_labels(fr.ticks, fr.lim, sc, panel_in, fs, fam, keep=fr.ref)
    ax.set_xticks(fr.ticks, labels=labels, fontfamily=fam, fontsize=fs)
    ax.set_facecolor("none")

    blend = transforms.blended_transform_factory(ax.transAxes, ax.transData)

    def tx(dx: float) -> Transform:
        return blend + transforms.ScaledTranslation(dx, 0.0, fig.dpi_scale_trans)

    def text(base: float, dx: float, y: float, s: str, gid: str, **kw: Any) -> None:
        kw.setdefault("fontsize", fs)
        kw.setdefault("fontfamily", fam)
        kw.setdefault("va", "center")
        ax.text(base, y, s, transform=tx(dx), clip_on=False, parse_math=False, gid=gid, **kw)

    header_y = -0.15
    for col in left:
        text(0.0, col.x, header_y, col.header, f"header|{col.key}", ha=col.align, va="bottom", fontweight="bold")
    for col in right:
        text(1.0, col.x, header_y, col.header, f"header|{col.key}", ha=col.align, va="bottom", fontweight="bold")
    if fr.plot_header:
        ax.text(0.5, header_y, fr.plot_header, transform=blend, ha="center", va="bottom", fontsize=fs,
                fontweight="bold", fontfamily=fam, clip_on=False, parse_math=False, gid="header|plot")
    if lay.header_rule:
        _rule(ax, fig, blend, 0.0, geo.left_w, geo.right_w)

    ref = fr.ref
    if ref is not None and a <= ref <= b:  # reference line, broken at text-only rows
        runs: list[tuple[float, float]] = []
        cur: tuple[float, float] | None = None
        for row in rows:
            top, bot = row.y - row.height / 2, row.y + row.height / 2
            if row.kind in ("study", "pooled", "pi", "heading", "spacer"):
                cur = (cur[0], bot) if cur else (top, bot)
            elif cur:
                runs.append(cur)
                cur = None
        if cur:
            runs.append(cur)
        for t0, t1 in runs:
            ax.vlines(ref, t0, t1, colors=lay.null_color, linestyles=cast(Any, lay.null_style), linewidth=0.8,
                      zorder=1, gid="refline")

    nl = fr.nullline
    if nl is not None and a <= nl <= b and not (ref is not None and abs(ref - nl) <= 1e-12 * max(1.0, abs(nl))):
        ys = [r.y for r in rows if r.kind in ("study", "pooled")]
        if ys:
            ax.vlines(nl, min(ys) - 0.5, max(ys) + 0.5, colors="0.25", linestyles="-", linewidth=0.8, zorder=1,
                      gid="nullline")
    row_pt = geo.row_in * 72.0
    studies = [r for r in rows if r.kind == "study"]
    ws = np.array([r.weight for r in studies], dtype=float)
    wmax = float(np.nanmax(ws)) if ws.size and np.isfinite(ws).any() else math.nan
    sq_x, sq_y, sq_s = [], [], []
    ci_segments: list[tuple[float, float, float]] = []
    arrows: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}

    def whisker_arrows(lo: float, hi: float, y: float, store: dict[str, list[tuple[float, float]]]) -> None:
        if lo < a and hi > a or hi <= a:
            store["left"].append((a, y))
        if hi > b and lo < b or lo >= b:
            store["right"].append((b, y))

    max_side = 0.72 * row_pt
    min_side = max(2.5, 0.18 * row_pt)
    if fr.equal_squares:
        wmax = math.nan
        min_side = 0.42 * row_pt
    for row in studies:
        e_ok, l_ok, h_ok = (bool(sc.drawable(v)) for v in (row.est, row.lo, row.hi))
        if l_ok and h_ok:
            x0, x1 = max(row.lo, a), min(row.hi, b)
            if x0 < x1 or (x0 == x1 and a <= x0 <= b):
                ci_segments.append((row.y, x0, x1))
            whisker_arrows(row.lo, row.hi, row.y, arrows)
        if e_ok and a <= row.est <= b:
            wt = row.weight
            sq = max_side * math.sqrt(wt / wmax) if np.isfinite(wt) and np.isfinite(wmax) and wmax > 0 else min_side
            sq_x.append(row.est)
            sq_y.append(row.y)
            sq_s.append(max(sq, min_side) ** 2)
    if ci_segments:
        ax.hlines([s[0] for s in ci_segments], [s[1] for s in ci_segments], [s[2] for s in ci_segments],
                  colors=lay.ci_color, linewidth=0.9, zorder=2, gid="study-ci")
    if sq_x:
        ax.scatter(sq_x, sq_y, s=sq_s, marker="s", c=lay.square_color, edgecolors="none", zorder=3,
                   gid="study-squares", clip_on=True)
    arrow_size = max(3.0, 0.3 * row_pt) ** 2
    for side, marker in (("left", "<"), ("right", ">")):
        if arrows[side]:
            ax.scatter([p[0] for p in arrows[side]], [p[1] for p in arrows[side]], s=arrow_size, marker=marker,
                       c=lay.ci_color, edgecolors="none", zorder=3, clip_on=False, gid=f"arrows-{side}")
    # pooled diamonds and prediction intervals; both end in an arrow where they leave the axis
    half = 0.36
    pooled_arrows: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    pi_arrows: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    for row in rows:
        if row.kind == "pooled":
            if all(sc.drawable(v) for v in (row.est, row.lo, row.hi)):
                # the axes clip a diamond that leaves them; an arrow marks the cut end
                pts = [(row.lo, row.y), (row.est, row.y - half), (row.hi, row.y), (row.est, row.y + half)]
                ax.add_patch(Polygon(
                    pts, closed=True, facecolor="white" if row.common else lay.diamond_color,
                    edgecolor=lay.diamond_edgecolor, linewidth=0.8, zorder=4, gid=f"diamond|{row.rid}",
                ))
                whisker_arrows(row.lo, row.hi, row.y, pooled_arrows)
            else:
                ax.text(0.02, row.y, "pooled CI not drawn: " + why(row.lo if not sc.drawable(row.lo) else row.hi, sc),
                        transform=blend, ha="left", va="center", fontsize=small_fs, fontstyle="italic",
                        color="0.3", fontfamily=fam, parse_math=False, gid=f"note|{row.rid}")
        elif row.kind == "pi" and sc.drawable(row.lo) and sc.drawable(row.hi):
            x0, x1 = max(row.lo, a), min(row.hi, b)
            if x0 < x1:
                ax.plot([x0, x1], [row.y, row.y], color=lay.pi_color, linewidth=2.2, solid_capstyle="butt",
                        zorder=3, gid=f"pi|{row.rid}")
            ends = [v for v in (row.lo, row.hi) if a <= v <= b]
            if ends:
                ax.plot(ends, [row.y] * len(ends), linestyle="none", marker="|", markersize=0.45 * row_pt,
                        markeredgewidth=1.0, color=lay.pi_color, zorder=3, gid=f"pi-ends|{row.rid}")
            whisker_arrows(row.lo, row.hi, row.y, pi_arrows)
    for store, color, tag in ((pooled_arrows, lay.diamond_edgecolor, "pooled"), (pi_arrows, lay.pi_color, "pi")):
        for side, marker in (("left", "<"), ("right", ">")):
            if store[side]:
                ax.scatter([p[0] for p in store[side]], [p[1] for p in store[side]], s=arrow_size, marker=marker,
                           c=color, edgecolors="none", zorder=5, clip_on=False, gid=f"arrows-{tag}-{side}")

    for row in rows:  # text cells
        if row.kind == "spacer":
            continue
        if row.kind == "text":
            text(0.0, -geo.left_w, row.y, row.label, f"text|{row.rid}", ha="left", fontsize=small_fs)
            continue
        if row.kind == "note":
            text(0.0, -geo.left_w + 0.12, row.y, row.label, f"note|{row.rid[5:]}", ha="left", fontsize=small_fs,
                 fontstyle="italic", color="0.3")
            continue
        weight = "bold" if (row.bold or row.kind == "pooled") else "normal"
        style = "italic" if row.kind == "pi" else "normal"
        for col in left:
            s = row.label if col.key == "label" else row.cells.get(col.key, "")
            if s:
                text(0.0, col.x, row.y, s, f"{col.key}|{row.rid}", ha=col.align, fontweight=weight, fontstyle=style)
        for col in right:
            s = row.cells.get(col.key, "")
            if s:
                text(1.0, col.x, row.y, s, f"{col.key}|{row.rid}", ha=col.align, fontweight=weight, fontstyle=style)
    if lay.bottom_rule:
        _rule(ax, fig, blend, geo.n_units, geo.left_w, geo.right_w)

    off = 3.5 + 3.5 + fs * 1.25 + 2.0
    if fr.favours is not None and ref is not None:
        base = transforms.blended_transform_factory(ax.transData, ax.transAxes)
        for s, ha, sign, gid in ((fr.favours[0], "right", -1, "favours-left"),
                                 (fr.favours[1], "left", 1, "favours-right")):
            ax.annotate(s, xy=(ref, 0.0), xycoords=base, xytext=(sign * 4.0, -off), textcoords="offset points",
                        ha=ha, va="top", fontsize=fs, fontfamily=fam, annotation_clip=False, gid=gid)
    if fr.xlabel:
        lines = max(t.count("\n") + 1 for t in fr.favours) if fr.favours is not None else 0
        pad = 3.0 + ((fs * 1.3 * lines + 3.0) if lines else 0.0)
        ax.set_xlabel(fr.xlabel, fontsize=fs, fontfamily=fam, labelpad=pad)


def _rule(ax: Axes, fig: Figure, blend: Any, y: float, left_w: float, right_w: float) -> None:
    """A horizontal rule at data row ``y`` across the text columns and the panel."""
    from matplotlib import transforms
    from matplotlib.lines import Line2D

    ax_w_in = ax.get_position().width * fig.get_figwidth()
    to_axes = transforms.Affine2D().scale(1.0 / ax_w_in, 1.0)  # inches from the panel's left edge
    ax.add_artist(Line2D([-left_w, ax_w_in + right_w], [y, y], transform=to_axes + blend, color="black", lw=0.8,
                         clip_on=False, gid="rule"))


def why(v: float, sc: Scale) -> str:
    """Why a plotted value cannot be drawn."""
    if v is None or np.isnan(v):
        return "is NaN"
    if np.isinf(v):
        return "is infinite"
    if sc.log and v <= 0:
        return f"is {fmt_num(v, 3)} (not > 0 on a log axis)"
    return "cannot be drawn"
