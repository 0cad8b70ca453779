"""Natural-scale axes for effect sizes: which values go on the axis, readable ticks, limits.

The measure registry says how to back-transform and which axis a measure wants ("log" for
ratios, "percent" for proportions, "linear" otherwise); this module only turns natural-scale
values into plotted x values (x 100 for percent) and chooses ticks a reader can use
(0.25, 0.5, 1, 2, 4 on a ratio axis; 3, 6, 12, 24 months on a median axis).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_choice
from ..measures import Measure

SCALES = ("log", "linear", "percent")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Scale:
    name: str  # log | linear | percent
    factor: float  # natural -> plotted (100 for percent)

    @property
    def log(self) -> bool:
        return self.name == "log"

    def to_plot(self, natural: ArrayLike) -> FloatArray:
        return np.asarray(natural, dtype=float) * self.factor

    def drawable(self, x: ArrayLike) -> NDArray[np.bool_]:
        """Which plotted values can be drawn (finite, and > 0 on a log axis)."""
        a = np.asarray(x, dtype=float)
        ok = np.isfinite(a)
        if self.log:
            with np.errstate(invalid="ignore"):
                ok &= a > 0
        return ok

    def axis_value(self, x: ArrayLike) -> FloatArray:
        """Plotted values in the axis' linear coordinate (log10 on a log axis)."""
        a = np.asarray(x, dtype=float)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(np.log10(a), dtype=float)
        return a


def get_scale(scale: str | None, measure: Measure) -> Scale:
    name = measure.axis if scale is None else check_choice("scale", scale, SCALES)
    return Scale(name, 100.0 if name == "percent" else 1.0)


# Tick ladders for a log axis, in order of preference; each is a full ladder of candidate ticks.
def refline_value(refline: object, measure: Measure, sc: Scale, natural: bool = True) -> float | None:
    """Where a plot's reference line goes: ``None``/``False`` none, ``"null"`` the measure's null
    value (on the plotted scale: natural, or the analysis scale when ``natural`` is False), or a
    number as given (checked to be finite, and > 0 on a log axis)."""
    if refline is None or refline is False:
        return None
    if isinstance(refline, str):
        if refline != "null":
            raise ValueError(f"refline={refline!r} must be a number, None, or 'null' (the measure's null value)")
        if measure.null is None:
            return None
        if natural:
            return float(sc.to_plot(measure.null))
        null_an = measure.null_on_analysis_scale()
        return None if null_an is None else float(null_an)
    try:
        v = float(refline)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"refline={refline!r} must be a number, None, or 'null'") from None
    if not math.isfinite(v) or (sc.log and v <= 0):
        raise ValueError(f"refline={refline!r} must be finite{' and > 0 on a log axis' if sc.log else ''}")
    return v


def _ladder_narrow() -> list[float]:
    return [0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0]


def _ladder_months() -> list[float]:
    return [0.75 * 2.0**i for i in range(0, 9)] + [1.0 * 2.0**i for i in range(-2, 1)]


def _ladder_pow2() -> list[float]:
    return [2.0**i for i in range(-12, 13)]


def _ladder_125() -> list[float]:
    return [m * 10.0**e for e in range(-6, 7) for m in (1.0, 2.0, 5.0)]


def _ladder_decades() -> list[float]:
    return [10.0**e for e in range(-9, 10)]


def _cover(ladder: Sequence[float], lo: float, hi: float) -> list[float] | None:
    lad = sorted(set(ladder))
    below = [t for t in lad if t <= lo * (1 + 1e-9)]
    above = [t for t in lad if t >= hi * (1 - 1e-9)]
    if not below or not above:
        return None
    a, b = below[-1], above[0]
    return [t for t in lad if a <= t <= b]


def log_ticks(lo: float, hi: float, kind: str = "") -> list[float]:
    """Readable ticks covering ``[lo, hi]`` on a log axis (the first and last are the limits).

    >>> log_ticks(0.6, 1.3)
    [0.6, 0.7, 0.8, 1.0, 1.2, 1.5]
    >>> log_ticks(0.3, 3)
    [0.25, 0.5, 1.0, 2.0, 4.0]
    >>> log_ticks(0.02, 30)
    [0.01, 0.1, 1.0, 10.0, 100.0]
    >>> log_ticks(4, 20, kind="median")
    [3.0, 6.0, 12.0, 24.0]
    """
    if not (lo > 0 and hi > 0 and np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"log-axis limits must be positive and finite; got ({lo}, {hi})")
    if hi < lo:
        lo, hi = hi, lo
    if hi / lo < 1.05:  # degenerate: widen around the value
        lo, hi = lo / 1.25, hi * 1.25
    ladders = [_ladder_pow2, _ladder_125, _ladder_decades]
    if kind == "median":
        ladders = [_ladder_months, *ladders]
    elif lo >= 0.2 and hi <= 5.0 and hi / lo <= 4.0:
        ladders = [_ladder_narrow, *ladders]
    for make in ladders:
        ticks = _cover(make(), lo, hi)
        if ticks is not None and 3 <= len(ticks) <= 8:
            return ticks
    # very wide: every other decade
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    step = max(1, math.ceil((e1 - e0) / 6))
    return [10.0**e for e in range(e0, e1 + step, step)]


def linear_ticks(lo: float, hi: float, percent: bool = False) -> list[float]:
    """Readable ticks covering ``[lo, hi]`` on a linear axis (percent axes stay within 0-100).

    >>> linear_ticks(12, 47, percent=True)
    [10.0, 20.0, 30.0, 40.0, 50.0]
    """
    from matplotlib.ticker import MaxNLocator

    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    loc = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10])
    vals = [float(v) for v in loc.tick_values(lo, hi)]
    below = [v for v in vals if v <= lo + 1e-12]
    above = [v for v in vals if v >= hi - 1e-12]
    a = below[-1] if below else vals[0]
    b = above[0] if above else vals[-1]
    ticks = [v for v in vals if a - 1e-12 <= v <= b + 1e-12]
    if percent:
        ticks = [v for v in ticks if -1e-9 <= v <= 100 + 1e-9] or [0.0, 50.0, 100.0]
    return [0.0 if abs(v) < 1e-12 else v for v in ticks]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Shortest faithful labels: 0.25, 0.5, 1, 2, 10, 0.125.

    >>> tick_labels([0.125, 0.5, 1.0, 2.0, 100.0])
    ['0.125', '0.5', '1', '2', '100']
    """
    out = []
    for t in ticks:
        s = f"{t:.6f}".rstrip("0").rstrip(".")
        out.append("0" if s in ("-0", "") else s)
    return out


def choose_limits(
    scale: Scale,
    core: ArrayLike,
    extent: ArrayLike,
    kind: str = "",
    include: float | None = None,
) -> tuple[tuple[float, float], list[float]]:
    """Axis limits and ticks.

    ``core`` (point estimates, pooled CIs and PIs) is always shown; ``extent`` (per-study CI
    bounds) widens the axis only up to twice the span of ``core`` on each side, so that one very
    wide interval does not squash the rest (it then gets an arrow). ``include`` (the null) is
    always inside the limits.
    """
    core_a = scale.axis_value(np.asarray(core, dtype=float))
    ext_a = scale.axis_value(np.asarray(extent, dtype=float))
    core_a = core_a[np.isfinite(core_a)]
    ext_a = ext_a[np.isfinite(ext_a)]
    if include is not None:
        inc = scale.axis_value(np.asarray([include], dtype=float))
        core_a = np.concatenate([core_a, inc[np.isfinite(inc)]])
    if core_a.size == 0:
        core_a = ext_a if ext_a.size else (np.array([0.0]) if scale.log else np.array([0.0, 1.0]))
    lo, hi = float(core_a.min()), float(core_a.max())
    span = max(hi - lo, 0.15 if scale.log else (abs(hi) * 0.1 or 0.1))
    if ext_a.size:
        lo = min(lo, max(float(ext_a.min()), lo - 2 * span))
        hi = max(hi, min(float(ext_a.max()), hi + 2 * span))
    if scale.log:
        ticks = log_ticks(10.0**lo, 10.0**hi, kind)
    else:
        if scale.name == "percent":
            lo, hi = max(lo, 0.0), min(hi, 100.0)
        ticks = linear_ticks(lo, hi, percent=scale.name == "percent")
    return (ticks[0], ticks[-1]), ticks
