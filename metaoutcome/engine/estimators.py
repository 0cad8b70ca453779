"""The one table of tau^2 estimators (metafor's names), for every row of a stack, with and without moderators.

Each estimator follows metafor 3.8-1's ``rma.uni`` (same truncation at 0, same ``se.tau2``),
written with the projection algebra of :mod:`metaoutcome.engine.stack` (``p`` coefficients,
``P`` the projection for the weights named):

========  ==================================================  =================================================
method    tau^2                                               se(tau^2)
========  ==================================================  =================================================
DL        ``(Q - (k-p)) / tr(P)``, ``w = 1/v``                 ``sqrt(2(k-p) + 4 t tr(P) + 2 t^2 tr(PP)) / tr(P)``
HS        ``(Q - k) / sum(w)``, ``w = 1/v``                    as DL with ``sum(w)`` for ``tr(P)``
HE        ``(y'P_1 y - tr(P_1 V)) / (k-p)``, unweighted       ``sqrt(2 tr(PVPV) + 4 t tr(PV) + 2 t^2 (k-p)) / (k-p)``
SJ        ``t0 y'P_a y / (k-p)``, ``a = 1/(v + t0)``,          ``t0 sqrt(2 tr(PVPV) + 4 t tr(PVP) + 2 t^2 tr(PP)) / (k-p)``
          ``t0 = mean((y - ybar)^2)``
ML        root of ``y'PPy = sum(w)``                           ``sqrt(2 / sum(w^2))``
REML      root of ``y'PPy = tr(P)``                            ``sqrt(2 / tr(PP))``
EB, PM    root of ``y'Py = k - p``                             ``sqrt(2 k^2 / (k-p)) / sum(w)``
========  ==================================================  =================================================

(``t`` the truncated estimate; iterative estimators with ``w = 1/(v + tau^2)``). The common-effect
model (FE, EE, CE) fixes ``tau^2 = 0``. metafor centres ``yi`` before estimating tau^2; that
changes nothing for a model with an intercept and is done by :func:`metaoutcome.engine.fit.fit_rma`
for models without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._checks import check_choice
from ..options import COMMON_METHODS, METHODS, TAU2_METHODS
from .solver import ZeroStats, _solve_iterative
from .stack import (
    BoolArray,
    FloatArray,
    IntArray,
    Proj,
    Stack,
    fitted,
    generalized_q_many,
    gmat,
    proj,
    row_sums,
    stack,
    sum_pp,
    sum_pvp,
    tr_pvpv,
    trace_p,
)

#: The common-effect model's names (tau^2 = 0), tau^2 estimators and every model ``method``:
#: the vocabularies of :mod:`metaoutcome.options`, re-exported under the engine's names.
COMMON: tuple[str, ...] = COMMON_METHODS


@dataclass(frozen=True)
class Tau2Fit:
    """A tau^2 estimate.

    Attributes
    ----------
    method : str
        Estimator name (metafor's).
    tau2 : float
        The estimate (>= 0).
    se : float
        Its standard error, metafor's ``se.tau2`` for the estimator.
    converged : bool
        Whether the iterative solver met its tolerance (always True for closed forms).
    iterations : int
        Evaluations of the estimating equation used by the solver (0 for closed forms).
    """

    method: str
    tau2: float
    se: float
    converged: bool
    iterations: int


class Tau2Many(NamedTuple):
    """tau^2 estimates of every row of a :class:`Stack` (fields as :class:`Tau2Fit`)."""

    tau2: FloatArray
    se: FloatArray
    converged: BoolArray
    iterations: IntArray


_Closed = Callable[[Stack, FloatArray, FloatArray, bool], tuple[FloatArray, FloatArray]]


def _resid(s: Stack, P: Proj) -> FloatArray:
    return s.y - fitted(P, s.y)


def dl_from_sums(q: FloatArray, trp: FloatArray, df: FloatArray) -> FloatArray:
    """DerSimonian-Laird from Cochran's Q, ``tr(P)`` (``w = 1/v``) and ``k - p`` (GOSH's fast
    path computes these sums for a million subsets by matrix products)."""
    return np.asarray(np.maximum(0.0, (q - df) / trp), dtype=float)


def _dl_hs(hs: bool) -> _Closed:
    def est(s: Stack, k: FloatArray, df: FloatArray, with_se: bool) -> tuple[FloatArray, FloatArray]:
        P = proj(s, 1.0 / s.v)
        r = _resid(s, P)
        q = row_sums(P.a * r * r)
        trp = trace_p(P)
        den = P.sa if hs else trp
        tau2 = np.maximum(0.0, (q - k) / den) if hs else dl_from_sums(q, trp, df)
        se = np.sqrt(2 * df + 4 * tau2 * trp + 2 * tau2**2 * sum_pp(P)) / den if with_se else np.full(k.size, np.nan)
        return tau2, se

    return est


def _he(s: Stack, k: FloatArray, df: FloatArray, with_se: bool) -> tuple[FloatArray, FloatArray]:
    P = proj(s, s.mask.astype(float))  # ordinary least squares
    r = _resid(s, P)
    vz = s.vz()
    trpv = row_sums(vz) - np.trace(gmat(P, vz), axis1=1, axis2=2)  # tr(P V), a = 1
    tau2 = np.maximum(0.0, (row_sums(np.where(s.mask, r * r, 0.0)) - trpv) / df)
    se = np.sqrt(2 * tr_pvpv(P, vz) + 4 * tau2 * trpv + 2 * tau2**2 * df) / df if with_se else np.full(k.size, np.nan)
    return tau2, se


def _sj(s: Stack, k: FloatArray, df: FloatArray, with_se: bool) -> tuple[FloatArray, FloatArray]:
    ybar = row_sums(s.y) / k
    tau2_0 = row_sums(np.where(s.mask, (s.y - ybar[:, None]) ** 2, 0.0)) / k
    P = proj(s, 1.0 / (s.v + tau2_0[:, None]))
    r = _resid(s, P)
    tau2 = np.maximum(0.0, tau2_0 * row_sums(P.a * r * r) / df)
    if not with_se:
        return tau2, np.full(k.size, np.nan)
    vz = s.vz()
    se = tau2_0 / df * np.sqrt(2 * tr_pvpv(P, vz) + 4 * tau2 * sum_pvp(P, vz) + 2 * tau2**2 * sum_pp(P))
    return tau2, se


#: closed-form estimators: ``(stack, k, k - p, with_se) -> (tau2, se)``
CLOSED_FORM: dict[str, _Closed] = {"DL": _dl_hs(False), "HS": _dl_hs(True), "HE": _he, "SJ": _sj}
#: iterative estimators, solved by :func:`metaoutcome.engine.solver._solve_iterative`
ITERATIVE: tuple[str, ...] = ("ML", "REML", "EB", "PM")


def _iterative_se(method: str, s: Stack, tau2: FloatArray, k: FloatArray, df: FloatArray) -> FloatArray:
    w = 1.0 / (s.v + tau2[:, None])
    if method == "ML":
        return np.asarray(np.sqrt(2.0 / row_sums(w * w)), dtype=float)
    if method == "REML":
        return np.asarray(np.sqrt(2.0 / sum_pp(proj(s, w))), dtype=float)
    return np.asarray(np.sqrt(2.0 * k**2 / df) / row_sums(w), dtype=float)  # EB, PM


def estimate_tau2_many(
    s: Stack, method: str = "REML", *, with_se: bool = True, zero: ZeroStats | None = None
) -> Tau2Many:
    """:func:`estimate_tau2` for every row of a :class:`Stack` (rows need k > p); ``zero`` is
    :func:`~metaoutcome.engine.solver.zero_stats` of ``s`` if already known."""
    g = s.y.shape[0]
    k = s.k.astype(float)
    df = k - s.p
    converged = np.ones(g, dtype=bool)
    iterations = np.zeros(g, dtype=np.int64)
    if method in CLOSED_FORM:
        tau2, se = CLOSED_FORM[method](s, k, df, with_se)
    else:
        tau2, converged, iterations = _solve_iterative(method, s, zero)
        tau2 = np.maximum(0.0, tau2)
        se = _iterative_se(method, s, tau2, k, df) if with_se else np.full(g, np.nan)
    return Tau2Many(np.asarray(tau2, dtype=float), np.asarray(se, dtype=float), converged, iterations)


def estimate_tau2(yi: ArrayLike, vi: ArrayLike, method: str = "REML") -> Tau2Fit:
    """Estimate tau^2 with one of metafor's estimators and its standard error.

    Parameters
    ----------
    yi : array-like
        Effect sizes (k >= 2), on the analysis scale.
    vi : array-like
        Their sampling variances (> 0).
    method : {"DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}, default "REML"
        Estimator.

    Returns
    -------
    Tau2Fit
        ``tau2`` (truncated at 0 where the estimator can go negative), ``se`` (metafor's
        ``se.tau2``), ``converged`` and ``iterations``.

    Notes
    -----
    The formulas are in the table of :mod:`metaoutcome.engine.estimators` (``p = 1``).

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. *Controlled Clinical
    Trials* 7:177-188.

    Hunter JE, Schmidt FL (2004). *Methods of Meta-Analysis*, 2nd ed. Sage.

    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis.
    *Journal of the Royal Statistical Society C* 54:367-384.

    Paule RC, Mandel J (1982). Consensus values and weighting factors. *Journal of Research of
    the National Bureau of Standards* 87:377-385.

    Morris CN (1983). Parametric empirical Bayes inference. *JASA* 78:47-55.

    Examples
    --------
    >>> import numpy as np
    >>> estimate_tau2(np.array([0.1, 0.1, 0.1]), np.array([0.1, 0.2, 0.3]), "REML").tau2
    0.0
    """
    method = check_choice("method", method, TAU2_METHODS)
    s = stack(yi, vi)
    if s.k[0] < 2:
        raise ValueError(f"estimate_tau2 needs k >= 2 studies; got k={s.k[0]}")
    fit = estimate_tau2_many(s, method)
    return Tau2Fit(method=method, tau2=float(fit.tau2[0]), se=float(fit.se[0]), converged=bool(fit.converged[0]),
                   iterations=int(fit.iterations[0]))  # fmt: skip


def generalized_q(tau2: float, yi: ArrayLike, vi: ArrayLike) -> float:
    """Generalized Q statistic ``sum w_i (y_i - mu_w)^2`` with ``w_i = 1/(v_i + tau2)``.

    metafor's ``.QE.func``; at ``tau2 = 0`` it is Cochran's Q.
    """
    return float(generalized_q_many(stack(yi, vi), np.array([float(tau2)]))[0])


def cochran_q(yi: ArrayLike, vi: ArrayLike) -> float:
    """Cochran's Q, truncated at 0 against rounding (metafor ``max(0, Y'PY)``)."""
    return max(0.0, generalized_q(0.0, yi, vi))


def typical_variance(vi: ArrayLike) -> float:
    """metafor's "typical" within-study variance ``(k - 1) / tr(P)`` with ``P`` from ``w = 1/v``.

    It enters ``I^2 = 100 tau^2 / (vt + tau^2)`` and ``H^2 = tau^2 / vt + 1``
    (Higgins & Thompson 2002, eq. 9).
    """
    v = np.asarray(vi, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((v.size - 1) / trace_p(proj(stack(np.zeros_like(v), v), 1.0 / v.reshape(1, -1)))[0])
