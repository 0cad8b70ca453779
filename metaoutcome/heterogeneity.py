"""Between-study heterogeneity: tau^2 estimators, their standard errors and Q-profile intervals.

Everything here is for the intercept-only (no moderators) random-effects model

.. math:: y_i = \\mu + u_i + e_i,\\qquad u_i \\sim N(0, \\tau^2),\\qquad e_i \\sim N(0, v_i),

and follows the definitions in R metafor's ``rma.uni`` and ``confint.rma.uni`` (version 3.8-1)
line by line, written with sums instead of ``k x k`` matrices. For a weight vector ``a`` the
projection ``P_a = diag(a) - a a' / sum(a)`` that metafor builds explicitly has the closed forms
used below (``r = y - sum(a y) / sum(a)``):

* ``y' P y = sum(a r^2)``, ``y' P P y = sum(a^2 r^2)``, ``tr(P) = sum(a) - sum(a^2)/sum(a)``;
* ``sum(P * P) = sum(a^2) - 2 sum(a^3)/sum(a) + (sum(a^2)/sum(a))^2``;
* ``tr(P V P V) = sum(a^2 v^2) - 2 sum(a^3 v^2)/sum(a) + (sum(a^2 v)/sum(a))^2``;
* ``sum(P V * P) = sum(a^2 v) - 2 sum(a^3 v)/sum(a) + sum(a^2) sum(a^2 v)/sum(a)^2``.

The one deliberate difference from metafor is *how* the iterative estimators (ML, REML, EB, PM)
are solved. metafor uses Fisher scoring (ML, REML, EB), which fails to converge on a few percent
of data sets with very unequal variances, and ``uniroot`` with a loose default tolerance (PM).
Here the estimating equation is solved with a bracketing root finder (Brent) after scanning the
whole half-line ``[0, inf)``: it always converges, to machine precision, and for ML and REML the
global maximum of the (restricted) likelihood on ``tau^2 >= 0`` is returned (metafor's
``ll0check`` compares its answer with ``tau^2 = 0`` only).

References
----------
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics* 30(3):261-293.

Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
*Statistics in Medicine* 26(1):37-52.

Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software* 36(3):1-48.

Examples
--------
BCG vaccine trials (metafor ``dat.bcg``), log risk ratios; metafor's DL estimate is 0.3087603:

>>> import numpy as np
>>> tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
>>> tneg = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
>>> cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
>>> cneg = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
>>> yi = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
>>> vi = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
>>> fit = estimate_tau2(yi, vi, "DL")
>>> round(fit.tau2, 7), fit.converged
(0.3087603, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from ._checks import check_choice

__all__ = [
    "TAU2_METHODS",
    "Tau2Fit",
    "QProfileCI",
    "estimate_tau2",
    "generalized_q",
    "q_profile_ci",
    "cochran_q",
    "typical_variance",
]

FloatArray = NDArray[np.float64]

#: tau^2 estimators, metafor's names.
TAU2_METHODS: tuple[str, ...] = ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

# Brent's method to (almost) machine precision; metafor's own defaults stop far earlier
# (Fisher scoring: |change| < 1e-5; uniroot: tol = .Machine$double.eps^0.25).
_XTOL = 1e-300
_RTOL = 8.9e-16
_MAXITER = 500
_GRID = 48


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


# --------------------------------------------------------------------------------------------
# closed-form pieces of metafor's matrix expressions
# --------------------------------------------------------------------------------------------


def _wmean(a: FloatArray, y: FloatArray) -> float:
    return float(np.sum(a * y) / np.sum(a))


def generalized_q(tau2: float, yi: FloatArray, vi: FloatArray) -> float:
    """Generalized Q statistic ``sum w_i (y_i - mu_w)^2`` with ``w_i = 1/(v_i + tau2)``.

    metafor's ``.QE.func``; at ``tau2 = 0`` it is Cochran's Q.
    """
    w = 1.0 / (vi + tau2)
    r = yi - _wmean(w, yi)
    return float(np.sum(w * r * r))


def cochran_q(yi: FloatArray, vi: FloatArray) -> float:
    """Cochran's Q, truncated at 0 against rounding (metafor ``max(0, Y'PY)``)."""
    return max(0.0, generalized_q(0.0, yi, vi))


def _trace_p(a: FloatArray) -> float:
    sa = float(np.sum(a))
    return sa - float(np.sum(a * a)) / sa


def _sum_pp(a: FloatArray) -> float:
    sa = float(np.sum(a))
    s2 = float(np.sum(a * a))
    return s2 - 2.0 * float(np.sum(a**3)) / sa + (s2 / sa) ** 2


def _tr_pvpv(a: FloatArray, v: FloatArray) -> float:
    sa = float(np.sum(a))
    return float(np.sum(a**2 * v**2)) - 2.0 * float(np.sum(a**3 * v**2)) / sa + (float(np.sum(a**2 * v)) / sa) ** 2


def _sum_pvp(a: FloatArray, v: FloatArray) -> float:
    sa = float(np.sum(a))
    return (
        float(np.sum(a**2 * v))
        - 2.0 * float(np.sum(a**3 * v)) / sa
        + float(np.sum(a**2)) * float(np.sum(a**2 * v)) / sa**2
    )


def typical_variance(vi: FloatArray) -> float:
    """metafor's "typical" within-study variance ``(k - 1) / tr(P)`` with ``P`` from ``w = 1/v``.

    It enters ``I^2 = 100 tau^2 / (vt + tau^2)`` and ``H^2 = tau^2 / vt + 1``
    (Higgins & Thompson 2002, eq. 9).
    """
    k = vi.size
    return (k - 1) / _trace_p(1.0 / vi)


# --------------------------------------------------------------------------------------------
# estimating equations of the iterative estimators, vectorised over a grid of tau^2 values
# --------------------------------------------------------------------------------------------


def _grid_terms(t: FloatArray, yi: FloatArray, vi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For each tau^2 in ``t``: sum(w), sum(w r^2) (= Q), sum(w^2 r^2) and sum(w^2) packed."""
    w = 1.0 / (vi[:, None] + t[None, :])
    sw = w.sum(axis=0)
    mu = (w * yi[:, None]).sum(axis=0) / sw
    r = yi[:, None] - mu[None, :]
    wr = w * r
    q = (wr * r).sum(axis=0)
    wwrr = (wr * wr).sum(axis=0)
    sww = (w * w).sum(axis=0)
    return np.vstack([sw, q, wwrr, sww]), w, mu


def _score(method: str, t: FloatArray, yi: FloatArray, vi: FloatArray) -> FloatArray:
    """Estimating function whose root in tau^2 is the estimate; positive = tau^2 too small."""
    terms, _, _ = _grid_terms(t, yi, vi)
    sw, q, wwrr, sww = terms
    k = yi.size
    if method == "ML":
        out = wwrr - sw
    elif method == "REML":
        out = wwrr - (sw - sww / sw)
    else:  # EB and PM: Q(tau^2) = k - 1 (EB: Q * k/(k-1) - k, same root)
        out = q - (k - 1)
    return np.asarray(out, dtype=float)


def _loglik(method: str, t: FloatArray, yi: FloatArray, vi: FloatArray) -> FloatArray:
    """ML or REML log-likelihood (metafor's ``ll.ML`` / ``ll.REML`` up to a constant)."""
    terms, _, _ = _grid_terms(t, yi, vi)
    sw, q = terms[0], terms[1]
    logdet = np.log(vi[:, None] + t[None, :]).sum(axis=0)
    ll = -0.5 * (logdet + q)
    if method == "REML":
        ll = ll - 0.5 * np.log(sw)
    return np.asarray(ll, dtype=float)


def _scalar(f: Callable[[FloatArray], FloatArray]) -> Callable[[float], float]:
    return lambda x: float(f(np.array([x]))[0])


def _upper_bracket(g: Callable[[float], float], start: float) -> tuple[float, int]:
    """Smallest doubling of ``start`` where ``g`` < 0 (g eventually negative for large tau^2)."""
    hi = start
    n = 0
    while g(hi) >= 0.0:
        hi *= 2.0
        n += 1
        if n > 2000 or not np.isfinite(hi):  # pragma: no cover - cannot happen for finite data
            raise RuntimeError("could not bracket the tau^2 estimating equation")
    return hi, n


def _solve_iterative(method: str, yi: FloatArray, vi: FloatArray) -> tuple[float, bool, int]:
    """Root of the estimating equation on [0, inf); for ML/REML the global likelihood maximum."""
    f = lambda t: _score(method, t, yi, vi)  # noqa: E731
    g = _scalar(f)
    evals = 1
    g0 = g(0.0)
    # start the bracket search at a scale set by the data
    scale = max(float(np.var(yi)), float(np.max(vi)), 1e-12)
    hi, n = _upper_bracket(g, scale)
    evals += n + 1
    if method in ("PM", "EB"):
        # Q(tau^2) is strictly decreasing: one root, or the boundary
        if g0 <= 0.0:
            return 0.0, True, evals
        root, res = optimize.brentq(g, 0.0, hi, xtol=_XTOL, rtol=_RTOL, maxiter=_MAXITER, full_output=True)
        return float(root), bool(res.converged), evals + res.function_calls
    # ML/REML: locate every local maximum on [0, hi] with a grid scan, then polish each
    grid = np.concatenate([[0.0], hi * np.geomspace(1e-10, 1.0, _GRID)])
    s = f(grid)
    evals += grid.size
    candidates: list[float] = []
    converged = True
    if g0 <= 0.0:
        candidates.append(0.0)
    for i in range(grid.size - 1):
        if s[i] > 0.0 and s[i + 1] <= 0.0:
            if s[i + 1] == 0.0:
                candidates.append(float(grid[i + 1]))
                continue
            root, res = optimize.brentq(
                g, grid[i], grid[i + 1], xtol=_XTOL, rtol=_RTOL, maxiter=_MAXITER, full_output=True
            )
            evals += res.function_calls
            converged = converged and bool(res.converged)
            candidates.append(float(root))
    if not candidates:  # pragma: no cover - the scan always ends with s < 0
        return float("nan"), False, evals
    cand = np.array(candidates)
    ll = _loglik(method, cand, yi, vi)
    return float(cand[int(np.argmax(ll))]), converged, evals


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------


def estimate_tau2(yi: FloatArray, vi: FloatArray, method: str = "REML") -> Tau2Fit:
    """Estimate tau^2 with one of metafor's estimators and its standard error.

    Parameters
    ----------
    yi : ndarray
        Effect sizes (k >= 2), on the analysis scale.
    vi : ndarray
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
    With ``w_i = 1/v_i``, ``W = sum w_i``, ``Q`` Cochran's Q and ``P`` as in the module notes
    (``p = 1``):

    * DL: ``tau2 = max(0, (Q - (k-1)) / tr(P))``;
      ``se = sqrt(2(k-1) + 4 tau2 tr(P) + 2 tau2^2 sum(P*P)) / tr(P)``.
    * HS: ``tau2 = max(0, (Q - k) / W)``; se as DL with ``W`` in place of ``tr(P)``.
    * HE: ``tau2 = max(0, (RSS_ols - sum(v)(1 - 1/k)) / (k-1))``; with ``P`` the unweighted
      projection, ``se = sqrt(2 tr(PVPV) + 4 tau2 tr(PV) + 2 tau2^2 (k-1)) / (k-1)``.
    * SJ: ``tau2_0 = mean((y - ybar)^2)``, ``tau2 = tau2_0 Q_a / (k-1)`` with weights
      ``a = 1/(v + tau2_0)``; ``se = tau2_0 sqrt(2 tr(PVPV) + 4 tau2 sum(PV*P) + 2 tau2^2
      sum(P*P)) / (k-1)`` with ``P`` built from ``a``.
    * ML: root of ``sum w^2 (y-mu)^2 = sum w`` (``w = 1/(v + tau2)``); ``se = sqrt(2/sum w^2)``.
    * REML: root of ``y'PPy = tr(P)``; ``se = sqrt(2 / sum(P*P))``.
    * PM and EB: root of the generalized ``Q(tau2) = k - 1``;
      ``se = sqrt(2 k^2 / (k-1)) / sum w``.

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
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = yi.size
    if k < 2:
        raise ValueError(f"estimate_tau2 needs k >= 2 studies; got k={k}")
    w = 1.0 / vi
    converged, iterations = True, 0

    if method == "DL":
        trp = _trace_p(w)
        tau2 = max(0.0, (generalized_q(0.0, yi, vi) - (k - 1)) / trp)
        se = np.sqrt(2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * _sum_pp(w)) / trp
    elif method == "HS":
        sw = float(np.sum(w))
        tau2 = max(0.0, (generalized_q(0.0, yi, vi) - k) / sw)
        se = np.sqrt(2 * (k - 1) + 4 * tau2 * _trace_p(w) + 2 * tau2**2 * _sum_pp(w)) / sw
    elif method == "HE":
        one = np.ones(k)
        rss = float(np.sum((yi - yi.mean()) ** 2))
        trpv = float(np.sum(vi)) * (1 - 1 / k)
        tau2 = max(0.0, (rss - trpv) / (k - 1))
        se = np.sqrt(2 * _tr_pvpv(one, vi) + 4 * tau2 * trpv + 2 * tau2**2 * (k - 1)) / (k - 1)
    elif method == "SJ":
        tau2_0 = float(np.mean((yi - yi.mean()) ** 2))
        a = 1.0 / (vi + tau2_0)
        r = yi - _wmean(a, yi)
        tau2 = max(0.0, tau2_0 * float(np.sum(a * r * r)) / (k - 1))
        se = np.sqrt(
            tau2_0**2 / (k - 1) ** 2 * (2 * _tr_pvpv(a, vi) + 4 * tau2 * _sum_pvp(a, vi) + 2 * tau2**2 * _sum_pp(a))
        )
    else:
        tau2, converged, iterations = _solve_iterative(method, yi, vi)
        tau2 = max(0.0, tau2)
        ww = 1.0 / (vi + tau2)
        if method == "ML":
            se = np.sqrt(2.0 / np.sum(ww**2))
        elif method == "REML":
            se = np.sqrt(2.0 / _sum_pp(ww))
        else:  # EB, PM
            se = np.sqrt(2.0 * k**2 / (k - 1)) / np.sum(ww)
    return Tau2Fit(method=method, tau2=float(tau2), se=float(se), converged=converged, iterations=iterations)


def q_profile_ci(
    yi: FloatArray,
    vi: FloatArray,
    tau2_hat: float,
    level: float = 0.95,
    tau2_max: float | None = None,
) -> QProfileCI:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's ``confint``.

    Parameters
    ----------
    yi, vi : ndarray
        Effect sizes and sampling variances (k >= 2).
    tau2_hat : float
        The model's tau^2 estimate; it sets metafor's default search limit.
    level : float, default 0.95
        Confidence level as a fraction.
    tau2_max : float, optional
        Upper end of the search interval; default ``max(100, 10 * tau2_hat)`` as metafor.

    Returns
    -------
    QProfileCI

    Notes
    -----
    The bounds solve ``Q(tau2) = chi2_{k-1, 1-alpha/2}`` (lower bound) and
    ``Q(tau2) = chi2_{k-1, alpha/2}`` (upper bound), where ``Q(tau2)`` is the generalized Q
    statistic, decreasing in tau2. Where ``Q(0)`` is already below a quantile the bound is 0;
    if ``Q(0)`` is below the lower quantile the interval is empty and both bounds are reported
    as 0 (metafor's ``ci.null``). A bound that lies beyond ``tau2_max`` is reported as
    ``tau2_max`` with sign ``">"``, exactly as metafor does.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = yi.size
    alpha = 1.0 - level
    tmax = max(100.0, 10.0 * tau2_hat, 0.0) if tau2_max is None else float(tau2_max)
    crit_u = float(stats.chi2.isf(alpha / 2, k - 1))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - 1))
    q_min = generalized_q(0.0, yi, vi)
    q_max = generalized_q(tmax, yi, vi)

    def root(obj: float) -> float:
        return float(
            optimize.brentq(
                lambda t: generalized_q(t, yi, vi) - obj, 0.0, tmax, xtol=_XTOL, rtol=_RTOL, maxiter=_MAXITER
            )
        )

    low = high = float("nan")
    low_sign = high_sign = ""
    empty = False
    if q_min < crit_l:
        low = high = 0.0
        low_sign = high_sign = "<"
        empty = True
    elif q_max > crit_l:
        high, high_sign = tmax, ">"
    else:
        high = root(crit_l)
    if q_max > crit_u:
        low = high = tmax
        low_sign = high_sign = ">"
    elif q_min < crit_u:
        low = 0.0
    else:
        low = root(crit_u)
    return QProfileCI(low=low, high=high, low_sign=low_sign, high_sign=high_sign, empty=empty, tau2_max=tmax)
