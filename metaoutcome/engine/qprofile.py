"""Q-profile confidence intervals for tau^2 (Viechtbauer 2007), with and without moderators.

metafor ``confint(res, type="QP")``: the bounds solve ``Q(tau^2) = chi2_{k-p, 1-alpha/2}`` and
``Q(tau^2) = chi2_{k-p, alpha/2}`` for the generalized Q of the model (``p`` coefficients),
which falls as tau^2 grows; they are found for every row of a stack at once by the engine's root
finder (:func:`metaoutcome.engine.solver.newton_roots`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import dist
from .solver import Roots, _cached_take, _ratio_d, newton_roots, zero_stats
from .stack import BoolArray, FloatArray, IntArray, Stack, generalized_q_many, row_max_v, stack

#: power of target/Q in the first Newton step of a Q-profile bound (see q_profile_ci_many)
_QP_FIRST_POWER = 1.5



@dataclass(frozen=True)
class QProfileCI:
    """Q-profile confidence interval for tau^2 (metafor ``confint(res, type="QP")``).

    Attributes
    ----------
    low, high : float
        Bounds for tau^2.
    low_sign, high_sign : str
        ``""`` for an exact bound; ``"<"`` or ``">"`` when the bound is the edge of the search
        interval ``[0, tau2_max]`` (metafor prints e.g. ``>100.0000``).
    empty : bool
        True when the interval is the empty set: even ``tau^2 = 0`` gives a generalized Q below
        the lower chi-square quantile. Both bounds are then 0, as in metafor (``ci.null``).
    tau2_max : float
        Upper end of the search interval.
    """

    low: float
    high: float
    low_sign: str
    high_sign: str
    empty: bool
    tau2_max: float


class QProfileMany(NamedTuple):
    """Q-profile intervals of every row; signs are coded 0 ``""``, 1 ``"<"``, 2 ``">"``."""

    low: FloatArray
    high: FloatArray
    low_sign: IntArray
    high_sign: IntArray
    empty: BoolArray
    tau2_max: FloatArray
    converged: BoolArray


SIGNS: tuple[str, str, str] = ("", "<", ">")


def _chi2_by_df(fn: Callable[..., FloatArray], p: float, df: IntArray) -> FloatArray:
    """A chi-square quantile per row, computed once per distinct df."""
    u, inv = np.unique(df, return_inverse=True)
    return np.asarray(fn(p, u), dtype=float)[inv]


def q_profile_ci_many(
    s: Stack,
    tau2_hat: FloatArray,
    level: float = 0.95,
    tau2_max: float | None = None,
    q0: tuple[FloatArray, FloatArray] | None = None,
) -> QProfileMany:
    """:func:`q_profile_ci` for every row of a :class:`Stack` (rows need k > p).

    ``q0`` is ``(Q(0), dQ/dtau^2 at 0)`` of each row (``q`` and ``-s2`` of :func:`zero_stats`)
    if already known.
    """
    g = s.y.shape[0]
    alpha = 1.0 - level
    tmax = np.maximum(np.maximum(100.0, 10.0 * tau2_hat), 0.0) if tau2_max is None else np.full(g, float(tau2_max))
    df = s.k - s.p
    crit_u = _chi2_by_df(dist.chi2_isf, alpha / 2, df)
    crit_l = _chi2_by_df(dist.chi2_ppf, alpha / 2, df)
    if q0 is None:
        z = zero_stats(s)
        q0 = (z.q, -z.s2)
    q_min, dq_min = q0
    # Q(tmax) decides whether a bound lies beyond the search limit. Each weight falls by at most
    # the factor vmax/(vmax + t), so Q(t) <= Q(0) vmax/(vmax + t) (Q is a minimum over mu of a
    # weighted sum of squares): where that is below the lower quantile, neither bound is beyond
    # the limit and Q(tmax) is not needed (with a Newton start, only its sign is used).
    vmax = row_max_v(s)
    q_max = q_min * vmax / (vmax + tmax)
    need = np.flatnonzero(~(q_max < crit_l * (1.0 - 1e-9)))
    if need.size:
        q_max[need] = generalized_q_many(s.take(need), tmax[need])
    low = np.full(g, np.nan)
    high = np.full(g, np.nan)
    low_sign = np.zeros(g, dtype=np.int64)
    high_sign = np.zeros(g, dtype=np.int64)
    conv = np.ones(g, dtype=bool)

    def roots(rows: IntArray, target: FloatArray, start: FloatArray, q_start: FloatArray, dq_start: FloatArray) -> Roots:
        # Q(t) falls roughly like 1/t, so Newton runs on the nearly linear target/Q(t) - 1, from
        # `start`, where Q and its slope are known. 1/Q is concave (the weights of the small
        # variances fall fastest), so a Newton step from the left falls short; the first step is
        # taken on (target/Q)^1.5 - 1 instead, which bends the other way (on the benchmark data
        # this halves the first step's error and saves about one evaluation per bound).
        sub = _cached_take(s, rows)
        ratio = target / q_start
        f0 = ratio - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (ratio**_QP_FIRST_POWER - 1.0) / (_QP_FIRST_POWER * ratio**_QP_FIRST_POWER * dq_start / q_start)
            first_slope = np.where(np.isfinite(step) & (step != 0.0), -f0 / step, -target * dq_start / q_start**2)
        out = newton_roots(lambda i, t: _ratio_d("PM", sub(i), t, target[i]), start, tmax[rows],
                           f0, target / q_max[rows] - 1.0, first_slope)  # fmt: skip
        conv[rows] &= out.converged
        return out

    top = q_max > crit_u
    low[top] = tmax[top]
    low_sign[top] = 2
    zero_low = ~top & (q_min < crit_u)
    low[zero_low] = 0.0
    # Q and its slope at the lower bound (a Newton start for the upper bound)
    q_low, dq_low = q_min.copy(), dq_min.copy()
    rest = np.flatnonzero(~top & ~zero_low)
    if rest.size:
        out = roots(rest, crit_u[rest], np.zeros(rest.size), q_min[rest], dq_min[rest])
        low[rest] = out.root
        # at the root Q = crit_u, and the slope of crit_u/Q - 1 is -dQ/crit_u
        q_low[rest] = crit_u[rest]
        dq_low[rest] = np.where(out.evaluations > 0, -out.slope * crit_u[rest], dq_min[rest])
    empty = q_min < crit_l
    high[empty] = 0.0
    high_sign[empty] = 1
    beyond = ~empty & (q_max > crit_l)
    high[beyond] = tmax[beyond]
    high_sign[beyond] = 2
    inner = np.flatnonzero(~empty & ~beyond)
    if inner.size:  # Q(low) = crit_u > crit_l: the upper bound lies in [low, tmax]
        high[inner] = roots(inner, crit_l[inner], low[inner], q_low[inner], dq_low[inner]).root
    low[empty] = 0.0
    low_sign[empty] = 1
    high[top] = tmax[top]
    high_sign[top] = 2
    return QProfileMany(low, high, low_sign, high_sign, empty, tmax, conv)


def q_profile_ci(
    yi: ArrayLike,
    vi: ArrayLike,
    tau2_hat: float,
    level: float = 0.95,
    tau2_max: float | None = None,
    X: ArrayLike | None = None,
) -> QProfileCI:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's ``confint``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (k >= 2).
    tau2_hat : float
        The model's tau^2 estimate; it sets metafor's default search limit.
    level : float, default 0.95
        Confidence level as a fraction.
    tau2_max : float, optional
        Upper end of the search interval; default ``max(100, 10 * tau2_hat)`` as metafor.
    X : array-like, optional
        Design matrix (k x p) of a model with moderators; default the intercept-only model.

    Returns
    -------
    QProfileCI

    Notes
    -----
    The bounds solve ``Q(tau2) = chi2_{k-p, 1-alpha/2}`` (lower bound) and
    ``Q(tau2) = chi2_{k-p, alpha/2}`` (upper bound), where ``Q(tau2)`` is the generalized Q
    statistic, decreasing in tau2. Where ``Q(0)`` is already below a quantile the bound is 0;
    if ``Q(0)`` is below the lower quantile the interval is empty and both bounds are reported
    as 0 (metafor's ``ci.null``). A bound that lies beyond ``tau2_max`` is reported as
    ``tau2_max`` with sign ``">"``, exactly as metafor does.
    """
    ci = q_profile_ci_many(stack(yi, vi, X), np.array([float(tau2_hat)]), level, tau2_max)
    return QProfileCI(low=float(ci.low[0]), high=float(ci.high[0]), low_sign=SIGNS[ci.low_sign[0]],
                      high_sign=SIGNS[ci.high_sign[0]], empty=bool(ci.empty[0]), tau2_max=float(ci.tau2_max[0]))  # fmt: skip
