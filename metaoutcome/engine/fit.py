"""Fitting the intercept-only model (metafor ``rma.uni`` without ``mods``) for a stack of
meta-analyses at once: :func:`fit_many`, the code path behind :func:`metaoutcome.pool`,
:func:`metaoutcome.batch.pool_batch`, leave-one-out, cumulative, influence and GOSH. tau^2 comes
from :func:`metaoutcome.engine.estimators.estimate_tau2_many` (one table of estimators, one
solver), the Q-profile interval from :mod:`metaoutcome.engine.qprofile`. Models with moderators:
:mod:`metaoutcome.engine.mods`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import dist
from .estimators import COMMON, estimate_tau2_many, typical_variance
from .qprofile import q_profile_ci_many
from .solver import zero_stats
from .stack import FloatArray, Stack, row_sums

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
