"""One registry of effect-size measures.

A measure knows its analysis scale, how to back-transform a value on that scale to the natural
scale a reader expects (percent, hazard ratio, months), its null value on the natural scale
(``None`` where there is none, e.g. a single-arm proportion), and the axis label and axis type a
plot should use. Pooling, tables and plots look measures up here instead of branching on names.

Names follow metafor's ``escalc`` where metafor has the measure (PR, PLN, PLO, PAS, PFT, OR, RR,
RD); the others are ours (HR, MED, RMED, DMED, GEN).

>>> m = get_measure("PLO")
>>> round(float(m.back(0.0)), 6)
0.5
>>> get_measure("HR").null, get_measure("PLO").null
(1.0, None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import check_choice

__all__ = [
    "Measure",
    "MEASURES",
    "get_measure",
    "register_measure",
    "pft",
    "ipft",
    "ipft_hm",
    "harmonic_mean",
]

Kind = Literal["proportion", "two-arm binary", "hazard ratio", "median", "two-arm median", "generic"]
Axis = Literal["linear", "log", "percent"]

FloatArray = NDArray[np.float64]


def _identity(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    return np.asarray(x, dtype=float)


def _exp(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    return np.exp(np.asarray(x, dtype=float))


def _ilogit(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    # metafor transf.ilogit = plogis
    from scipy.special import expit

    return np.asarray(expit(np.asarray(x, dtype=float)), dtype=float)


def _iarcsin(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    # metafor transf.iarcsin: sin(x)^2 with x clipped to [0, pi/2]
    z = np.clip(np.asarray(x, dtype=float), 0.0, np.pi / 2)
    return np.asarray(np.sin(z) ** 2, dtype=float)


def pft(p: ArrayLike, ni: ArrayLike) -> FloatArray:
    """Freeman-Tukey double arcsine of a proportion ``p`` in a study of size ``ni`` (metafor
    ``transf.pft``; factor 1/2 scaling as in ``escalc(measure="PFT")``).

    >>> round(float(pft(0.5, 10)), 6)
    0.785398
    """
    n = np.asarray(ni, dtype=float)
    x = np.asarray(p, dtype=float) * n
    return np.asarray(
        0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))), dtype=float
    )


def ipft(x: ArrayLike, ni: ArrayLike) -> FloatArray:
    """Miller (1978) inversion of the Freeman-Tukey double arcsine (metafor ``transf.ipft``).

    Parameters
    ----------
    x : array_like
        Values on the double-arcsine scale (``escalc(measure="PFT")`` scaling).
    ni : array_like
        The sample size(s) to invert with, broadcast against ``x``.

    Returns
    -------
    numpy.ndarray
        Proportions; values below ``pft(0, ni)`` map to 0 and above ``pft(1, ni)`` to 1, and
        values where the inversion is undefined are NaN, exactly as in metafor.

    Notes
    -----
    .. math:: p = \\tfrac12\\Bigl[1 - \\operatorname{sgn}(\\cos 2x)\\sqrt{1 - \\bigl(\\sin 2x +
              (\\sin 2x - 1/\\sin 2x)/n\\bigr)^2}\\Bigr]

    References
    ----------
    Miller, J. J. (1978). The inverse of the Freeman-Tukey double arcsine transformation.
    *The American Statistician*, 32(4), 138.

    Examples
    --------
    >>> round(float(ipft(pft(0.3, 20), 20)), 6)
    0.3
    """
    xi = np.asarray(x, dtype=float)
    n = np.asarray(ni, dtype=float)
    xi, n = np.broadcast_arrays(xi, n)
    s = np.sin(2 * xi)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1 - (s + (s - 1 / s) / n) ** 2
        zi = 0.5 * (1 - np.sign(np.cos(2 * xi)) * np.sqrt(inner))
    zi = np.where(np.isnan(zi), np.nan, zi)
    with np.errstate(invalid="ignore"):
        zi = np.where(xi > pft(1.0, n), 1.0, zi)
        zi = np.where(xi < pft(0.0, n), 0.0, zi)
    return np.asarray(zi, dtype=float)


def harmonic_mean(ni: ArrayLike) -> float:
    """Harmonic mean of the sample sizes, ignoring NaN (metafor ``transf.ipft.hm``).

    >>> harmonic_mean([10, 40])
    16.0
    """
    n = np.asarray(ni, dtype=float).ravel()
    n = n[~np.isnan(n)]
    if n.size == 0:
        raise ValueError("ni must contain at least one non-missing sample size")
    return float(1.0 / np.mean(1.0 / n))


def ipft_hm(x: ArrayLike, ni: ArrayLike) -> FloatArray:
    """Invert the Freeman-Tukey double arcsine with the harmonic mean of ``ni`` (metafor
    ``transf.ipft.hm``), the usual choice for a pooled value and its CI bounds.

    >>> round(float(ipft_hm(pft(0.3, 16.0), [10, 40])), 6)
    0.3
    """
    return ipft(x, harmonic_mean(ni))


def _ipft(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    if ni is None:
        raise ValueError(
            "ni is required to back-transform a Freeman-Tukey value (measure 'PFT'); pass the "
            "study sizes, or their harmonic mean for a pooled value"
        )
    return ipft(x, ni)


@dataclass(frozen=True)
class Measure:
    """An effect-size measure and how to present it.

    Attributes
    ----------
    name : str
        Registry key (metafor's name where metafor has the measure).
    description : str
        One line for tables and docs.
    kind : str
        What data it describes: ``"proportion"``, ``"two-arm binary"``, ``"hazard ratio"``,
        ``"median"``, ``"two-arm median"`` or ``"generic"``.
    scale : str
        The analysis scale, e.g. ``"logit"``, ``"log"``, ``"raw"``.
    back : callable
        ``back(y, ni=None)`` maps analysis-scale values to the natural scale (proportion as a
        fraction, ratio, months).
    null : float or None
        The no-effect value on the natural scale (1 for ratios, 0 for differences); ``None`` for
        single-arm measures, which have no null and get no reference line.
    axis : {"linear", "log", "percent"}
        How a plot draws the natural scale.
    axis_label : str
        Default axis label.
    percent : bool
        Whether the natural scale is a proportion shown as a percentage.
    needs_ni : bool
        Whether ``back`` needs the sample size (PFT).
    """

    name: str
    description: str
    kind: Kind
    scale: str
    back: Callable[..., FloatArray] = field(repr=False)
    null: float | None
    axis: Axis
    axis_label: str
    percent: bool = False
    needs_ni: bool = False

    def back_pooled(self, y: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
        """Back-transform a pooled value (or its CI bounds) to the natural scale.

        Same as :attr:`back`, except that for a measure that needs the sample size (PFT) the
        study sizes ``ni`` are summarised by their harmonic mean first, as metafor's
        ``transf.ipft.hm`` does.

        >>> from metaoutcome.measures import pft
        >>> round(float(get_measure("PFT").back_pooled(pft(0.25, 16.0), ni=[10, 40])), 6)
        0.25
        """
        if self.needs_ni:
            if ni is None:
                raise ValueError(
                    f"ni is required to back-transform a pooled {self.name!r} value; pass the "
                    "study sizes (their harmonic mean is used)"
                )
            return self.back(y, harmonic_mean(ni))
        return self.back(y)

    def null_on_analysis_scale(self) -> float | None:
        """The null value on the analysis scale (0 for log ratios and differences), or None."""
        if self.null is None:
            return None
        return 0.0 if self.scale == "log" else float(self.null)


MEASURES: dict[str, Measure] = {}


def register_measure(measure: Measure) -> Measure:
    """Add ``measure`` to the registry (replacing one of the same name) and return it."""
    MEASURES[measure.name] = measure
    return measure


for _m in [
    Measure("PR", "raw proportion", "proportion", "raw", _identity, None, "percent", "Proportion (%)", percent=True),
    Measure("PLN", "log proportion", "proportion", "log", _exp, None, "percent", "Proportion (%)", percent=True),
    Measure("PLO", "logit proportion", "proportion", "logit", _ilogit, None, "percent", "Proportion (%)", percent=True),
    Measure("PAS", "arcsine square-root proportion", "proportion", "arcsine", _iarcsin, None, "percent",
            "Proportion (%)", percent=True),
    Measure("PFT", "Freeman-Tukey double-arcsine proportion", "proportion", "double arcsine", _ipft, None,
            "percent", "Proportion (%)", percent=True, needs_ni=True),
    Measure("OR", "log odds ratio", "two-arm binary", "log", _exp, 1.0, "log", "Odds ratio"),
    Measure("RR", "log risk ratio", "two-arm binary", "log", _exp, 1.0, "log", "Risk ratio"),
    Measure("RD", "risk difference", "two-arm binary", "raw", _identity, 0.0, "linear", "Risk difference"),
    Measure("HR", "log hazard ratio", "hazard ratio", "log", _exp, 1.0, "log", "Hazard ratio"),
    Measure("MED", "log median survival (months)", "median", "log", _exp, None, "log", "Median (months)"),
    Measure("RMED", "log ratio of medians", "two-arm median", "log", _exp, 1.0, "log", "Ratio of medians"),
    Measure("DMED", "difference of medians (months)", "two-arm median", "raw", _identity, 0.0, "linear",
            "Difference of medians (months)"),
    Measure("GEN", "generic effect size", "generic", "raw", _identity, None, "linear", "Estimate"),
]:
    register_measure(_m)


def get_measure(name: str | Measure) -> Measure:
    """Look a measure up by name (case-insensitive); a :class:`Measure` is returned as is."""
    if isinstance(name, Measure):
        return name
    key = check_choice("measure", name, MEASURES)
    return MEASURES[key]
