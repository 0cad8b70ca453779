"""Reading a pooled result by its attribute names, for the funnel and diagnostic plots.

(The forest plots read the result's summary table instead: :mod:`metaoutcome.plotting.forest`.)
Values are on the analysis scale; :func:`back_pooled` back-transforms through the measure registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..options import COMMON_METHODS as _COMMON_NAMES
from ..measures import Measure, get_measure

FloatArray = NDArray[np.float64]

COMMON_METHODS = {*_COMMON_NAMES, "COMMON", "FIXED", "MH", "PETO"}


def fget(res: Any, name: str, default: float = math.nan) -> float:
    """A float attribute of ``res``, NaN if missing or None."""
    v = getattr(res, name, None)
    if v is None:
        return default
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def is_common(res: Any) -> bool:
    model = str(getattr(res, "model", "") or "").lower()
    if model in ("common", "mh", "peto"):
        return True
    if model == "random":
        return False
    return str(getattr(res, "method", "")).upper() in COMMON_METHODS


@dataclass
class Studies:
    """Per-study values of one result."""

    yi: FloatArray
    vi: FloatArray
    ni: FloatArray | None
    labels: list[str]
    k: int


def check_result(res: Any, name: str = "result") -> Studies:
    """Check that ``res`` looks like a PoolResult with at least one study."""
    missing = [a for a in ("yi", "vi", "estimate", "ci_low", "ci_high", "measure") if not hasattr(res, a)]
    if missing:
        raise ValueError(
            f"{name} must be a pooled result (metaoutcome.pool(...)) with attributes yi, vi, estimate, "
            f"ci_low, ci_high, measure; got {type(res).__name__} without {', '.join(missing)}"
        )
    yi = np.asarray(res.yi, dtype=float).ravel()
    vi = np.asarray(res.vi, dtype=float).ravel()
    k_attr = getattr(res, "k", yi.size)
    if yi.size == 0 or (k_attr is not None and int(k_attr) == 0):
        raise ValueError(f"{name} has no studies (k = 0); there is nothing to plot")
    if vi.size != yi.size:
        raise ValueError(f"{name}.vi has {vi.size} values but {name}.yi has {yi.size}")
    ni_raw = getattr(res, "ni", None)
    ni = None if ni_raw is None else np.asarray(ni_raw, dtype=float).ravel()
    if ni is not None and ni.size != yi.size:
        raise ValueError(f"{name}.ni has {ni.size} values but {name}.yi has {yi.size}")
    labels_raw = getattr(res, "labels", None)
    if labels_raw is None or len(labels_raw) == 0:
        labels = [f"Study {i + 1}" for i in range(yi.size)]
    else:
        labels = [str(s) for s in labels_raw]
        if len(labels) != yi.size:
            raise ValueError(f"{name}.labels has {len(labels)} entries but {name}.yi has {yi.size}")
    return Studies(yi, vi, ni, labels, int(yi.size))


def measure_of(res: Any) -> Measure:
    return get_measure(getattr(res, "measure", None) or "GEN")


def back_pooled(measure: Measure, y: FloatArray, ni: FloatArray | None) -> FloatArray:
    y = np.asarray(y, dtype=float)
    with np.errstate(all="ignore"):
        if measure.needs_ni:
            out = np.asarray(measure.back_pooled(y, ni=ni), dtype=float)
        else:
            out = np.asarray(measure.back(y), dtype=float)
    return np.where(np.isnan(y), np.nan, out)
