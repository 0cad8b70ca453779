"""Shared plotting machinery: fixed rcParams, layouts, text measurement, deterministic saving.

Nothing here touches pyplot: figures are created as :class:`matplotlib.figure.Figure` with an Agg
canvas, so drawing never changes pyplot's current figure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._checks import check_choice

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Layout", "LAYOUTS", "get_layout", "plot_style", "savefig", "new_figure"]

#: rcParams fixed while a figure is built and saved, so that the same inputs give the same
#: bytes on every machine: matplotlib's bundled DejaVu Sans, fixed hinting, fixed SVG ids.
BASE_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "mathtext.fontset": "dejavusans",
    "text.usetex": False,
    "text.hinting": "default",
    "text.antialiased": True,
    "axes.unicode_minus": False,
    "axes.formatter.use_mathtext": False,
    "svg.hashsalt": "metaoutcome",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": False,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "lines.solid_capstyle": "butt",
    "lines.dash_capstyle": "butt",
}


@contextlib.contextmanager
def plot_style(**overrides: Any) -> Iterator[None]:
    """Context manager fixing the rcParams metaoutcome figures are built and saved with.

    Every figure function in :mod:`metaoutcome.plotting` already uses it; use it yourself around
    extra drawing or around ``fig.savefig`` if you do not save with :func:`savefig`.

    >>> import matplotlib
    >>> with plot_style():
    ...     matplotlib.rcParams["svg.hashsalt"]
    'metaoutcome'
    """
    import matplotlib

    rc = dict(BASE_RC)
    rc.update(overrides)
    with matplotlib.rc_context(cast(Any, rc)):
        yield


def new_figure(width: float, height: float, dpi: float = 100.0) -> Figure:
    """A pyplot-free Figure of ``width`` x ``height`` inches with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def savefig(
    fig: Figure,
    fname: str | os.PathLike[str],
    *,
    dpi: float = 300.0,
    format: str | None = None,
    bbox_inches: str | None = "tight",
    pad_inches: float = 0.05,
    **kwargs: Any,
) -> None:
    """Save ``fig`` reproducibly: same figure, same bytes.

    PDF and SVG are written without a creation date and with fixed SVG ids (``svg.hashsalt``), so
    that saving twice gives identical files; PNG is written at ``dpi``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. the one :func:`forest` returns).
    fname : str or path-like
        Output file; the format is taken from its suffix unless ``format`` is given.
    dpi : float, default 300
        Resolution for raster formats.
    format : str, optional
        One of ``"png"``, ``"pdf"``, ``"svg"``, ``"eps"``, ``"ps"``, ``"jpg"``, ``"tif"``, ``"webp"``.
    bbox_inches : {"tight", None}, default "tight"
        Passed to :meth:`matplotlib.figure.Figure.savefig`.
    pad_inches : float, default 0.05
        Padding around a tight bounding box.
    **kwargs
        Passed on to :meth:`~matplotlib.figure.Figure.savefig`.
    """
    if format is None:
        suffix = os.path.splitext(os.fspath(fname))[1].lstrip(".").lower()
        if not suffix:
            raise ValueError(f"fname={os.fspath(fname)!r} has no suffix; pass format= one of {_FORMATS}")
        format = suffix
    fmt = check_choice("format", format, _FORMATS)
    try:
        dpi = float(dpi)
    except (TypeError, ValueError):
        raise ValueError(f"dpi={dpi!r} must be a positive number") from None
    if not np.isfinite(dpi) or dpi <= 0:
        raise ValueError(f"dpi={dpi!r} must be a positive number")
    metadata = dict(kwargs.pop("metadata", None) or {})
    if fmt == "pdf":
        metadata.setdefault("CreationDate", None)
        metadata.setdefault("ModDate", None)
    elif fmt == "svg":
        metadata.setdefault("Date", None)
    elif fmt in ("ps", "eps"):
        metadata.setdefault("CreationDate", None)
    kwargs.setdefault("facecolor", "white")
    if bbox_inches == "tight":
        pad_inches = _page_pad(fig, float(pad_inches))
    with plot_style():
        fig.savefig(
            fname,
            dpi=dpi,
            format=fmt,
            bbox_inches=bbox_inches,
            pad_inches=pad_inches,
            metadata=metadata or None,
            **kwargs,
        )


#: a journal page's full text width (two columns), the widest a figure may be at natural size
PAGE_WIDTH_MM = 183.0


def _tight_width_in(fig: Figure) -> float:
    """Width, in inches, of what ``fig`` draws (its tight bounding box)."""
    with plot_style():
        return float(fig.get_tightbbox(_renderer(float(fig.dpi))).width)


def _page_pad(fig: Figure, pad_inches: float) -> float:
    """The tight-box padding, reduced (to none at most) where the full padding would push a figure
    past the page width: a forest laid out to the full 183 mm stays 183 mm wide when saved."""
    page = PAGE_WIDTH_MM / 25.4
    width = _tight_width_in(fig)
    if page < width + 2 * pad_inches:
        return max((page - width) / 2 - 1e-4, 0.0)
    return pad_inches


def fit_page_width(fig: Figure, max_mm: float = PAGE_WIDTH_MM, pad_inches: float = 0.05) -> Figure:
    """Narrow ``fig`` until what it draws, saved with a tight box and ``pad_inches``, is at most
    ``max_mm`` wide. Text outside the axes (tick labels, side columns) keeps its size; the axes
    take the difference. For figures whose axes fill a fixed fraction of the figure."""
    target = max_mm / 25.4 - 2 * pad_inches
    for _ in range(6):
        over = _tight_width_in(fig) - target
        if over <= 1e-3:
            break
        fig.set_figwidth(max(fig.get_figwidth() - over, 1.0))
    return fig


# -- text measurement ----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _renderer(dpi: float) -> Any:
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(8, 8, dpi)


# Hinting makes rendered text a few percent wider at screen resolutions than its outline; measure
# at the widest of a screen and a print resolution and keep a small safety margin.
_MEASURE_DPIS = (100.0, 600.0)
_MEASURE_SAFETY = 1.03


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, weight: str = "normal", family: str = "DejaVu Sans",
               style: str = "normal") -> float:
    """Width in inches of ``text`` (the widest of its lines) at ``size`` points."""
    from matplotlib.font_manager import FontProperties

    if not text:
        return 0.0
    prop = FontProperties(family=family, size=size, weight=cast(Any, weight), style=cast(Any, style))
    widest = 0.0
    for dpi in _MEASURE_DPIS:
        r = _renderer(dpi)
        for line in text.split("\n"):
            if line:
                w, _, _ = r.get_text_width_height_descent(line, prop, ismath=False)
                widest = max(widest, float(w) / dpi)
    return widest * _MEASURE_SAFETY


# -- layouts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How a forest plot looks: fonts, colours, column order and wording.

    Pick one by name with ``layout="default" | "revman" | "jama"``; any field can be overridden
    by passing it as a keyword to :func:`~metaoutcome.plotting.forest`.
    """

    name: str
    fontsize: float = 9.0
    fontfamily: str = "DejaVu Sans"
    row_spacing: float = 1.75  # row height in multiples of the font size
    plot_width: float = 3.0  # inches
    square_color: str = "black"
    ci_color: str = "black"
    diamond_color: str = "black"
    diamond_edgecolor: str = "black"
    pi_color: str = "0.35"
    null_color: str = "0.25"
    null_style: str = "-"
    header_rule: bool = False
    bottom_rule: bool = False
    # which side the estimate [CI] and weight text columns go
    estimate_side: str = "right"
    weight_side: str = "right"
    weight_first: bool = False  # weight before estimate (reading left to right)
    ci_format: str = "{est} [{lo}, {hi}]"
    ci_sep_negative: str = ", "
    study_header: str = "Study"
    weight_header: str = "Weight"
    estimate_header: str = "{label} [{level}% CI]"
    plot_header: str = ""
    xlabel: bool = True
    favours_word: str = "Favours"
    random_label: str = "Random-effects model"
    common_label: str = "Common-effect model"
    subtotal_random_label: str = "Random-effects model"
    subtotal_common_label: str = "Common-effect model"
    pi_label: str = "Prediction interval"
    het_style: str = "default"  # default | revman | jama
    p_style: str = "default"  # default | revman | jama
    show_overall_test: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


LAYOUTS: dict[str, Layout] = {
    # metafor / meta-like: text left, graph, weight and estimate [CI] right
    "default": Layout(name="default"),
    # Cochrane RevMan 5: everything as text on the left, the graph on the far right
    "revman": Layout(
        name="revman",
        fontsize=8.0,
        plot_width=2.6,
        square_color="#1d3fbb",
        ci_color="black",
        diamond_color="black",
        pi_color="#1d3fbb",
        null_color="black",
        estimate_side="left",
        weight_side="left",
        weight_first=True,
        study_header="Study or Subgroup",
        estimate_header="{label}\n{method}, {model}, {level}% CI",
        plot_header="{label}\n{method}, {model}, {level}% CI",
        xlabel=False,
        header_rule=True,
        favours_word="Favours",
        random_label="Total ({level}% CI)",
        common_label="Total ({level}% CI)",
        subtotal_random_label="Subtotal ({level}% CI)",
        subtotal_common_label="Subtotal ({level}% CI)",
        het_style="revman",
        p_style="revman",
        show_overall_test=True,
    ),
    # JAMA: source and estimate text left, graph, weight right; "Favors", P = .03
    "jama": Layout(
        name="jama",
        fontsize=8.5,
        row_spacing=1.9,
        plot_width=2.8,
        square_color="#1f4e79",
        ci_color="#1f4e79",
        diamond_color="#c0504d",
        diamond_edgecolor="#8b2a27",
        pi_color="#c0504d",
        null_color="0.4",
        null_style="--",
        estimate_side="left",
        weight_side="right",
        weight_first=False,
        ci_format="{est} ({lo}-{hi})",
        ci_sep_negative=" to ",
        study_header="Source",
        weight_header="Weight, %",
        estimate_header="{label}\n({level}% CI)",
        header_rule=True,
        favours_word="Favors",
        random_label="Overall (random effects)",
        common_label="Overall (common effect)",
        subtotal_random_label="Subtotal (random effects)",
        subtotal_common_label="Subtotal (common effect)",
        het_style="jama",
        p_style="jama",
    ),
}


def get_layout(layout: str | Layout, **overrides: Any) -> Layout:
    """Look up a layout by name and apply keyword overrides (only known fields)."""
    if isinstance(layout, Layout):
        base = layout
    else:
        base = LAYOUTS[check_choice("layout", layout, LAYOUTS)]
    return replace(base, **overrides) if overrides else base


# -- small formatting helpers --------------------------------------------------------------------


def fmt_num(x: float, digits: int) -> str:
    """Fixed-point number (:func:`metaoutcome.printer.fmt_x`); NaN as ``NA``, infinities spelled out."""
    from ..printer import fmt_x

    return fmt_x(x, digits)


def fmt_p(p: float, style: str = "default") -> str:
    """A p-value as the figure's journal prints it (:func:`metaoutcome.printer.fmt_p_journal`);
    RevMan and JAMA write ``P``, JAMA drops the leading zero.

    >>> fmt_p(0.0312), fmt_p(0.004, "jama"), fmt_p(1e-5, "revman")
    ('p = 0.03', 'P = .004', 'P < 0.001')
    """
    from ..printer import fmt_p_journal

    name = "P" if style in ("revman", "jama") else "p"
    s = fmt_p_journal(p, prefix=name, missing=f"{name} = NA")
    return s.replace(" 0.", " .") if style == "jama" else s


def fmt_tau2(t: float) -> str:
    """tau^2 to 3 decimals, 0 as ``0`` and tiny values as ``< 0.001``."""
    if t is None or not np.isfinite(t):
        return "NA"
    if t == 0:
        return "0"
    if t < 0.0005:
        return "< 0.001"
    return f"{t:.3f}"


def fmt_level(level: float) -> str:
    """95.0 -> '95', 97.5 -> '97.5'."""
    return f"{float(level):g}"


def axes_fig(ax: Axes) -> Figure:
    fig = ax.get_figure(root=True) if _has_root_kw() else ax.get_figure()
    assert fig is not None  # an Axes always belongs to a figure
    return fig  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _has_root_kw() -> bool:
    import inspect

    from matplotlib.axes import Axes

    try:
        return "root" in inspect.signature(Axes.get_figure).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False
