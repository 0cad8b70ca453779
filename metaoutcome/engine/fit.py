"""Fitting a model: the intercept-only model for a stack of meta-analyses (:func:`fit_many`) and
a model with moderators (:func:`fit_rma`), both metafor ``rma.uni``, on the one engine.

:func:`fit_many` is the code path behind :func:`metaoutcome.pool`,
:func:`metaoutcome.batch.pool_batch`, leave-one-out, cumulative, influence and GOSH;
:func:`fit_rma` behind meta-regression, permutation tests, Egger's test and the influence of a
meta-regression. Both take tau^2 from :func:`metaoutcome.engine.estimators.estimate_tau2_many`
(one table of estimators, one solver) and the Q-profile interval from
:mod:`metaoutcome.engine.qprofile`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import dist
from .estimators import COMMON, estimate_tau2_many, typical_variance
from .qprofile import SIGNS, q_profile_ci_many
from .solver import zero_stats
from .stack import FloatArray, Stack, row_sums, stack

_EPS = float(np.finfo(float).eps)
COMMON_METHODS = COMMON


def _by_df(fn: Any, p: float, df: FloatArray) -> FloatArray:
    """``fn(p, df)`` per row, computed once per distinct df (NaN where df <= 0)."""
    out = np.full(df.shape, np.nan)
    ok = df > 0
    if ok.any():
        u, inv = np.unique(df[ok], return_inverse=True)
        out[ok] = np.asarray(fn(p, u), dtype=float)[inv]
    return out


def q_based_i2_h2(q: FloatArray, df: NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    """The Q-based ``I^2 = max(0, 100 (Q - df)/Q)`` and ``H^2 = Q/df`` of a common-effect model
    (0 and 1 where ``df = 0``, as metafor)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - df) / q), 0.0)
        h2 = np.where(df > 0, q / df, 1.0)
    return i2, h2


def fit_many(
    s: Stack,
    method: str,
    ci_method: str,
    alpha: float,
    pi_method: str = "default",
    tau2_ci_max: float | None = None,
    *,
    profile: bool = True,
    weights: bool = True,
) -> dict[str, Any]:
    """The inverse-variance model (metafor ``rma.uni`` without moderators) for every row of a
    :class:`~metaoutcome.engine.stack.Stack`: the one code path behind :func:`pool`,
    :func:`metaoutcome.batch.pool_batch`, leave-one-out, cumulative, influence and GOSH.

    Returns a dict of arrays, one value per row (``weights``: one row of percentages per
    meta-analysis), with metafor's values for one-study rows (tau^2 = 0, Q = 0, p = 1,
    I^2 = 0, H^2 = 1, z test) and flags that callers turn into warnings: ``knha_zero`` (the
    Knapp-Hartung factor is 0), ``converged``.
    ``profile=False`` skips the Q-profile interval (NaN), ``weights=False`` the weights.
    """
    g = s.y.shape[0]
    k = s.k
    multi = k > 1
    common = method in COMMON_METHODS
    nan = np.full(g, np.nan)
    out: dict[str, Any] = {}
    # --- tau^2
    tau2 = np.zeros(g)
    tau2_se = nan.copy()
    converged = np.ones(g, dtype=bool)
    iterations = np.zeros(g, dtype=np.int64)
    rows = np.flatnonzero(multi)
    sub = s if rows.size == g else s.take(rows)
    zero = zero_stats(sub) if rows.size else None  # sums at tau^2 = 0, shared below
    if not common and rows.size:
        fit = estimate_tau2_many(sub, method, zero=zero)
        tau2[rows], tau2_se[rows], converged[rows], iterations[rows] = fit.tau2, fit.se, fit.converged, fit.iterations
    out.update(tau2_se=tau2_se, converged=converged, iterations=iterations)
    # --- pooled estimate
    w = 1.0 / (s.v + tau2[:, None])
    sw = row_sums(w)
    est = row_sums(w * s.y) / sw
    vb = 1.0 / sw
    s2w = np.ones(g)
    knha = ci_method in ("knha", "adhoc")
    tdist = ci_method != "z"
    if knha:
        rss = row_sums(w * (s.y - est[:, None]) ** 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, rss / (k - 1))
        if ci_method == "adhoc":
            s2w = np.where(s2w < 1.0, 1.0, s2w)
        s2w = np.where(multi, s2w, 1.0)
    out["knha_zero"] = (s2w == 0.0) & multi
    se = np.sqrt(s2w * vb)
    df = np.where(multi, k - 1.0, np.nan) if tdist else nan.copy()
    z_crit = float(dist.norm_isf(alpha / 2))
    crit = np.where(multi, _by_df(dist.t_isf, alpha / 2, df), z_crit) if tdist else np.full(g, z_crit)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if tdist:  # (one-study rows use z)
        pval = np.empty(g)
        pval[multi] = 2 * dist.t_sf(np.abs(stat[multi]), df[multi])
        pval[~multi] = 2 * dist.norm_sf(np.abs(stat[~multi]))
    else:
        pval = 2 * dist.norm_sf(np.abs(stat))
    out.update(estimate=est, se=se, statistic=stat, pvalue=pval, df=df, s2w=s2w, sw=sw)
    out["ci_low"], out["ci_high"] = est - crit * se, est + crit * se
    # --- prediction interval
    if common:
        out["pi_low"], out["pi_high"] = nan.copy(), nan.copy()
    else:
        pcrit = _by_df(dist.t_isf, alpha / 2, np.maximum(1.0, k - 2.0)) if pi_method == "hts" else crit
        half = np.where(multi, pcrit * np.sqrt(se**2 + tau2), np.nan)
        out["pi_low"], out["pi_high"] = est - half, est + half
    if weights:
        out["weights"] = 100.0 * w / sw[:, None]
    # --- heterogeneity (one-study rows: metafor's Q = 0, p = 1, I^2 = 0, H^2 = 1)
    q = np.zeros(g)
    dq = np.zeros(g)
    vt = np.zeros(g)
    if zero is not None:
        q[rows], dq[rows] = np.maximum(0.0, zero.q), -zero.s2
        with np.errstate(divide="ignore", invalid="ignore"):
            vt[rows] = (sub.k - 1) / zero.trp
    q_df = k - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        q_p = np.where(multi, dist.chi2_sf(q, np.maximum(q_df, 1)), 1.0)
        if common:
            i2, h2 = q_based_i2_h2(q, q_df)
        else:
            i2 = np.where(multi, 100.0 * tau2 / (vt + tau2), 0.0)
            h2 = np.where(multi, tau2 / vt + 1.0, 1.0)
    out.update(tau2=tau2, tau=np.sqrt(tau2), q=q, q_df=q_df, q_pvalue=q_p, vt=vt, i2=i2, h2=h2)
    low, high = nan.copy(), nan.copy()
    signs_low, signs_high = np.zeros(g, dtype=np.int64), np.zeros(g, dtype=np.int64)
    empty = np.zeros(g, dtype=bool)
    tmax = nan.copy()
    if profile and not common and rows.size:
        ci = q_profile_ci_many(sub, tau2[rows], 1.0 - alpha, tau2_ci_max, q0=(q[rows], dq[rows]))
        low[rows], high[rows], signs_low[rows], signs_high[rows] = ci.low, ci.high, ci.low_sign, ci.high_sign
        empty[rows], tmax[rows] = ci.empty, ci.tau2_max
    with np.errstate(invalid="ignore"):
        out.update(
            tau2_ci_low=low, tau2_ci_high=high, tau_ci_low=np.sqrt(low), tau_ci_high=np.sqrt(high),
            i2_ci_low=100.0 * low / (vt + low), i2_ci_high=100.0 * high / (vt + high),
            h2_ci_low=low / vt + 1.0, h2_ci_high=high / vt + 1.0,
            tau2_ci_low_sign=signs_low, tau2_ci_high_sign=signs_high, tau2_ci_empty=empty, tau2_ci_max=tmax,
        )  # fmt: skip
    return out


#: statistics that are undefined for a single study (metafor reports Q = 0, I^2 = 0, ...)
UNDEFINED_AT_K1: tuple[str, ...] = ("tau2", "tau", "q", "q_pvalue", "i2", "h2", "vt")


def undefined_for_one_study(fit: dict[str, Any], one: NDArray[np.bool_]) -> None:
    """Set the heterogeneity statistics of the one-study rows of a :func:`fit_many` result to NaN."""
    if one.any():
        for name in UNDEFINED_AT_K1:
            fit[name] = np.where(one, np.nan, fit[name])


# ------------------------------------------------------------------------------------------------
# common-effect models fitted outside the engine (Mantel-Haenszel, Peto)
# ------------------------------------------------------------------------------------------------


def fixed_heterogeneity(yi: FloatArray, vi: FloatArray, beta: float, q: float | None = None) -> dict[str, Any]:
    """Q (about the given pooled value, as rma.mh) and the Q-based I^2/H^2 of a fixed model."""
    k = yi.size
    nan = float("nan")
    if q is None:
        q = max(0.0, float(np.sum((yi - beta) ** 2 / vi))) if k > 1 else 0.0
    if k > 1:
        out = dict(q=q, q_df=k - 1, q_pvalue=float(dist.chi2_sf(q, k - 1)),
                   i2=max(0.0, 100.0 * (q - (k - 1)) / q) if q > 0 else 0.0, h2=q / (k - 1))  # fmt: skip
    else:
        out = dict(q=nan, q_df=0, q_pvalue=nan, i2=nan, h2=nan)
    out.update(
        tau2=0.0, tau2_se=nan, tau=0.0, tau2_ci_low=nan, tau2_ci_high=nan, tau_ci_low=nan, tau_ci_high=nan,
        i2_ci_low=nan, i2_ci_high=nan, h2_ci_low=nan, h2_ci_high=nan, pi_low=nan, pi_high=nan,
        vt=typical_variance(vi) if k > 1 else nan,
    )  # fmt: skip
    return out


def z_inference(beta: float, se: float, alpha: float) -> dict[str, Any]:
    """z statistic, p-value and CI of a pooled value with a known SE (Mantel-Haenszel, Peto)."""
    crit = float(dist.norm_isf(alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.float64(beta) / np.float64(se))
    return dict(estimate=beta, se=se, statistic=stat, pvalue=float(2 * dist.norm_sf(abs(stat))),
                ci_low=beta - crit * se, ci_high=beta + crit * se, df=float("nan"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# models with moderators
# ------------------------------------------------------------------------------------------------

#: tau^2 estimators accepted with moderators (metafor's names), and the common-effect model.
RMA_METHODS: tuple[str, ...] = COMMON + ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
#: Inference for the coefficients (metafor ``test=``).
RMA_TESTS: tuple[str, ...] = ("z", "t", "knha", "adhoc")


@dataclass(frozen=True)
class RmaFit:
    """Everything ``rma.uni`` computes for one model (internal; public results wrap it)."""

    k: int
    p: int
    beta: FloatArray
    vb: FloatArray
    se: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    ddf: float
    s2w: float
    tau2: float
    tau2_se: float
    qe: float
    qe_df: int
    qe_pvalue: float
    i2: float
    h2: float
    vt: float
    qm: float
    qm_df: tuple[int, float]
    qm_pvalue: float
    btt: tuple[int, ...]
    ll_ml: float
    ll_reml: float
    weights: FloatArray
    converged: bool
    #: Q-profile CI of tau^2 and the I^2, H^2 bounds it implies (``profile=True``; else NaN)
    tau2_ci: tuple[float, float] = (math.nan, math.nan)
    i2_ci: tuple[float, float] = (math.nan, math.nan)
    h2_ci: tuple[float, float] = (math.nan, math.nan)
    #: ``("", ">")``-style signs of the tau^2 bounds (``">"``: beyond the search limit)
    tau2_ci_signs: tuple[str, str] = ("", "")


def default_btt(p: int, intercept: bool) -> tuple[int, ...]:
    """metafor's ``.set.btt``: every coefficient but the intercept (0-based positions)."""
    if p > 1:
        return tuple(range(1, p)) if intercept else tuple(range(p))
    return (0,)


def model_stack(y: FloatArray, v: FloatArray, X: FloatArray, intercept: bool = True) -> Stack:
    """The one-row stack of a model; the intercept-only model takes the engine's fast path."""
    if X.shape[1] == 1 and intercept and bool(np.all(X == 1.0)):
        return stack(y, v)
    return stack(y, v, X)


def fit_rma(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    btt: tuple[int, ...] | None = None,
    intercept: bool = True,
    tau2: float | None = None,
    profile: bool = False,
    tau2_ci_max: float | None = None,
) -> RmaFit:
    """Fit ``rma.uni(yi, vi, mods = X, intercept = FALSE, method, test, level)``.

    ``X`` is the full design matrix (with its intercept column when there is one). ``tau2``
    fixes tau^2 (metafor ``tau2=``). tau^2 and the heterogeneity statistics are computed from
    the centred ``yi``, as metafor does. ``profile=True`` adds the Q-profile CI of tau^2
    (metafor ``confint(res)``, search limit ``tau2_ci_max``, default ``max(100, 10 tau^2)``) and
    the I^2 and H^2 bounds it implies.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.asarray(X, dtype=float)
    k, p = X.shape
    nan = float("nan")
    if k == 1:
        test = "z"  # metafor: "Setting argument test = 'z' since k = 1"
    common = method in COMMON
    tau2_se = nan
    conv = True
    centred = model_stack(y - y.mean(), v, X, intercept)  # metafor centres yi for tau^2 and QE
    if tau2 is not None:
        t2 = float(tau2)
    elif common or k == 1:
        t2 = 0.0
    else:
        est = estimate_tau2_many(centred, method)
        t2, tau2_se, conv = float(est.tau2[0]), float(est.se[0]), bool(est.converged[0])
    w = 1.0 / (v + t2)
    WX = X * w[:, None]
    vb = np.linalg.inv(X.T @ WX)
    vb = (vb + vb.T) / 2
    beta = vb @ (WX.T @ y)
    resid = y - X @ beta
    rss_f = float(np.sum(w * resid**2))
    s2w = 1.0
    if test in ("knha", "adhoc"):
        s2w = 0.0 if rss_f <= _EPS else (rss_f / (k - p) if k > p else nan)
        if test == "adhoc" and s2w < 1:
            s2w = 1.0
    vb = s2w * vb
    if btt is None:
        btt = default_btt(p, intercept)
    m = len(btt)
    bi = np.array(btt)
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
        try:
            sub = vb[np.ix_(bi, bi)]
            qm = float(beta[bi] @ np.linalg.solve(sub, beta[bi]))
            np.linalg.cholesky(sub)
        except np.linalg.LinAlgError:
            qm = nan
    alpha = 1 - level / 100.0
    if test in ("knha", "adhoc", "t"):
        ddf = float(k - p)
        qm = qm / m
        qm_df: tuple[int, float] = (m, float(k - p))
        qm_p = float(dist.f_sf(qm, m, k - p)) if k - p > 0 else nan
        if ddf > 0:
            pval = 2 * dist.t_sf(np.abs(stat), ddf)
            crit = float(dist.t_isf(alpha / 2, ddf))
        else:
            pval = np.full(p, nan)
            crit = nan
    else:
        ddf = nan
        qm_df = (m, nan)
        qm_p = float(dist.chi2_sf(qm, m))
        pval = 2 * dist.norm_sf(np.abs(stat))
        crit = float(dist.norm_isf(alpha / 2))
    # heterogeneity, from the common-effect weights
    if k > p:
        z = zero_stats(centred)
        qe = max(0.0, float(z.q[0]))
        qe_p = float(dist.chi2_sf(qe, k - p))
        vt = (k - p) / float(z.trp[0])
        if common:
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else nan
            h2 = qe / (k - p)
        else:
            i2 = 100 * t2 / (vt + t2)
            h2 = t2 / vt + 1
    else:
        qe, qe_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + t2))) - 0.5 * rss_f
    ll_reml = (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
        - 0.5 * float(np.sum(np.log(v + t2)))
        - 0.5 * float(np.linalg.slogdet(X.T @ WX)[1])
        - 0.5 * rss_f
    )
    cis: dict[str, Any] = {}
    if profile and not common and k > p:
        # metafor's confint profiles the generalized Q of the uncentred yi
        ci = q_profile_ci_many(model_stack(y, v, X, intercept), np.array([t2]), level / 100.0, tau2_ci_max)
        lo, hi = float(ci.low[0]), float(ci.high[0])
        cis = dict(tau2_ci=(lo, hi), i2_ci=(100 * lo / (vt + lo), 100 * hi / (vt + hi)),
                   h2_ci=(lo / vt + 1, hi / vt + 1),
                   tau2_ci_signs=(SIGNS[int(ci.low_sign[0])], SIGNS[int(ci.high_sign[0])]))  # fmt: skip
    return RmaFit(
        **cis,
        k=k, p=p, beta=beta, vb=vb, se=se, statistic=stat, pvalue=np.asarray(pval, dtype=float),
        ci_low=beta - crit * se, ci_high=beta + crit * se, ddf=ddf, s2w=s2w, tau2=t2, tau2_se=tau2_se,
        qe=qe, qe_df=k - p, qe_pvalue=qe_p, i2=i2, h2=h2, vt=vt, qm=qm, qm_df=qm_df, qm_pvalue=qm_p,
        btt=tuple(btt), ll_ml=ll_ml, ll_reml=ll_reml, weights=100 * w / float(np.sum(w)), converged=conv,
    )  # fmt: skip


def pseudo_r2(y: FloatArray, v: FloatArray, X: FloatArray, fit: RmaFit, method: str) -> float:
    """metafor's R^2 (``r2def = "1"``): proportional reduction of tau^2 against the intercept-only
    model with the same estimator, in percent, truncated at 0; common-effect models: the
    adjusted R^2 of the weighted least-squares regression (``lm(yi ~ X, weights = 1/vi)``)."""
    k = y.size
    if method in COMMON:
        if np.var(y) == 0:
            return 0.0
        w = 1.0 / v
        ybar = float(np.sum(w * y) / np.sum(w))
        sst = float(np.sum(w * (y - ybar) ** 2))
        WX = X * w[:, None]
        b = np.linalg.solve(X.T @ WX, WX.T @ y)
        sse = float(np.sum(w * (y - X @ b) ** 2))
        r2 = 1 - sse / sst
        if k <= X.shape[1]:  # a saturated model: the adjusted R^2 is undefined (metafor gives NaN)
            return float("nan")
        adj = 1 - (1 - r2) * (k - 1) / (k - X.shape[1])
        return max(0.0, 100 * adj)
    t_re = float(estimate_tau2_many(stack(y, v), method, with_se=False).tau2[0])
    if t_re == 0:
        return 0.0
    return max(0.0, 100 * (t_re - fit.tau2) / t_re)
