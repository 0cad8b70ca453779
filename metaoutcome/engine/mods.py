"""Models with moderators, metafor ``rma.uni(yi, vi, mods = X)``, for a stack of models at once.

:func:`fit_mods_many` fits every row of a :class:`~metaoutcome.engine.stack.Stack` (each with its
design ``X``): tau^2 from the engine's table of estimators (:mod:`metaoutcome.engine.estimators`),
then the coefficients, their (Knapp-Hartung) covariance, tests, QM, QE, I^2/H^2 and the
log-likelihoods with batched ``p x p`` algebra, following metafor 3.8-1's ``rma.uni`` (same
centring of ``yi`` for tau^2 and QE, same truncation, same Knapp-Hartung factor). :func:`fit_rma`
is its one-model face (meta-regression, Egger's test, trim-and-fill); leave-one-out influence of
a meta-regression and the permutation test fit all their refits as one stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..options import CI_METHODS, METHODS
from . import dist
from .estimators import COMMON, estimate_tau2_many
from .fit import _by_df
from .qprofile import SIGNS, q_profile_ci_many
from .solver import zero_stats
from .stack import FloatArray, Stack, row_sums, stack, xdx, xtv

_EPS = float(np.finfo(float).eps)

#: tau^2 estimators accepted with moderators and the common-effect model; inference for the
#: coefficients (metafor ``test=``): the vocabularies of :mod:`metaoutcome.options`.
RMA_METHODS: tuple[str, ...] = METHODS
RMA_TESTS: tuple[str, ...] = CI_METHODS


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


def _centred(s: Stack) -> Stack:
    """``yi`` minus its mean in every row (metafor centres yi for tau^2 and QE); padding stays 0."""
    k = s.k.astype(float)
    return Stack(np.where(s.mask, s.y - (row_sums(s.y) / k)[:, None], 0.0), s.v, s.k, s.X)


def _design(s: Stack) -> FloatArray:
    return s.mask[:, :, None].astype(float) if s.X is None else s.X


def _qm(beta: FloatArray, vb: FloatArray, btt: tuple[int, ...]) -> FloatArray:
    """Wald statistic ``b' V^{-1} b`` of the coefficients ``btt``; NaN where that block of V is not
    positive definite (metafor's ``chol`` check)."""
    bi = np.array(btt)
    b = beta[:, bi]
    sub = vb[:, bi][:, :, bi]
    try:
        np.linalg.cholesky(sub)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.einsum("gi,gi->g", b, np.linalg.solve(sub, b[:, :, None])[:, :, 0]), dtype=float)
    except np.linalg.LinAlgError:  # some row's block is singular: row by row
        out = np.full(beta.shape[0], np.nan)
        for g in range(beta.shape[0]):
            try:
                np.linalg.cholesky(sub[g])
                out[g] = float(b[g] @ np.linalg.solve(sub[g], b[g]))
            except np.linalg.LinAlgError:
                pass
        return out


def fit_mods_many(
    s: Stack,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    btt: tuple[int, ...] | None = None,
    intercept: bool = True,
    tau2: FloatArray | None = None,
) -> dict[str, Any]:
    """``rma.uni(yi, vi, mods = X, intercept = FALSE, method, test, level)`` for every row of ``s``.

    Rows need k > p for tau^2 (a common-effect model or a fixed ``tau2`` needs k >= p). Returns a
    dict of arrays, one entry per row (``beta``, ``se``, ``statistic``, ``pvalue``, ``ci_low``,
    ``ci_high``: (G, p); ``vb``: (G, p, p); ``weights``: (G, K) percentages; the rest (G,)).
    """
    X = _design(s)
    g, _, p = X.shape
    k = s.k.astype(float)
    common = method in COMMON
    centred = _centred(s)
    tau2_se = np.full(g, np.nan)
    conv = np.ones(g, dtype=bool)
    if tau2 is not None:
        t2 = np.asarray(tau2, dtype=float) * np.ones(g)
    elif common:
        t2 = np.zeros(g)
    else:
        est = estimate_tau2_many(centred, method)
        t2, tau2_se, conv = est.tau2, est.se, est.converged
    w = 1.0 / (s.v + t2[:, None])
    A = xdx(X, w)
    vb = np.linalg.inv(A)
    vb = (vb + np.swapaxes(vb, 1, 2)) / 2
    beta = (vb @ xtv(X, w * s.y)[:, :, None])[:, :, 0]
    resid = s.y - (X @ beta[:, :, None])[:, :, 0]
    rss = row_sums(np.where(s.mask, w * resid * resid, 0.0))
    df = k - p
    s2w = np.ones(g)
    if test in ("knha", "adhoc"):
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, np.where(df > 0, rss / df, np.nan))
        if test == "adhoc":
            s2w = np.where(s2w < 1, 1.0, s2w)
    vb = s2w[:, None, None] * vb
    se = np.sqrt(np.einsum("gii->gi", vb))
    if btt is None:
        btt = default_btt(p, intercept)
    m = len(btt)
    qm = _qm(beta, vb, btt)
    alpha = 1 - level / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
        if test in ("knha", "adhoc", "t"):
            ddf = df.copy()
            qm = qm / m
            qm_df2 = df.copy()
            qm_p = np.where(df > 0, dist.f_sf(qm, m, np.maximum(df, 1)), np.nan)
            pval = np.where(df[:, None] > 0, 2 * dist.t_sf(np.abs(stat), np.maximum(df, 1)[:, None]), np.nan)
            crit = _by_df(dist.t_isf, alpha / 2, df)
        else:
            ddf = np.full(g, np.nan)
            qm_df2 = np.full(g, np.nan)
            qm_p = dist.chi2_sf(qm, m)
            pval = 2 * dist.norm_sf(np.abs(stat))
            crit = np.full(g, float(dist.norm_isf(alpha / 2)))
    # heterogeneity, from the common-effect weights
    z = zero_stats(centred)
    more = k > p
    with np.errstate(divide="ignore", invalid="ignore"):
        qe = np.where(more, np.maximum(0.0, z.q), 0.0)
        vt = np.where(more, df / z.trp, 0.0)
        if common:
            i2 = np.where(qe > 0, np.maximum(0.0, 100 * (qe - df) / qe), np.nan)
            h2 = qe / df
        else:
            i2 = 100 * t2 / (vt + t2)
            h2 = t2 / vt + 1
        qe_p = np.where(more, dist.chi2_sf(qe, np.maximum(df, 1)), 1.0)
    i2 = np.where(more, i2, 0.0)
    h2 = np.where(more, h2, 1.0)
    logv = row_sums(np.where(s.mask, np.log(s.v + t2[:, None]), 0.0))
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * logv - 0.5 * rss
    xtx = np.swapaxes(X, 1, 2) @ X
    ll_reml = (-0.5 * df * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(xtx)[1] - 0.5 * logv
               - 0.5 * np.linalg.slogdet(A)[1] - 0.5 * rss)  # fmt: skip
    return dict(
        k=s.k, p=p, beta=beta, vb=vb, se=se, statistic=stat, pvalue=np.asarray(pval, dtype=float),
        ci_low=beta - crit[:, None] * se, ci_high=beta + crit[:, None] * se, ddf=ddf, s2w=s2w, tau2=t2,
        tau2_se=tau2_se, qe=qe, qe_df=s.k - p, qe_pvalue=qe_p, i2=i2, h2=h2, vt=vt, qm=qm, qm_df1=m,
        qm_df2=qm_df2, qm_pvalue=np.asarray(qm_p, dtype=float), btt=tuple(btt), ll_ml=ll_ml, ll_reml=ll_reml,
        weights=100 * w / row_sums(w)[:, None], converged=conv,
    )  # fmt: skip


def fit_mods_rows(s: Stack, **kwargs: Any) -> tuple[dict[str, Any], NDArray[np.bool_]]:
    """:func:`fit_mods_many` for all rows at once; where that fails (a singular ``X'WX`` in some
    row), row by row, the rows that cannot be fitted left NaN. Returns the fit and the mask of
    rows fitted."""
    g = s.k.size
    try:
        return fit_mods_many(s, **kwargs), np.ones(g, dtype=bool)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        pass
    ok = np.zeros(g, dtype=bool)
    out: dict[str, Any] = {}
    for i in range(g):
        try:
            f = fit_mods_many(s.take(np.array([i])), **kwargs)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue
        ok[i] = True
        for name, val in f.items():
            if isinstance(val, np.ndarray) and val.shape[:1] == (1,):
                if name not in out:
                    out[name] = np.full((g, *val.shape[1:]), np.nan, dtype=float)
                out[name][i] = val[0]
            else:
                out.setdefault(name, val)
    return out, ok


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
    """Fit ``rma.uni(yi, vi, mods = X, intercept = FALSE, method, test, level)``: row 0 of
    :func:`fit_mods_many` on the one-row stack of this model.

    ``X`` is the full design matrix (with its intercept column when there is one). ``tau2``
    fixes tau^2 (metafor ``tau2=``). ``profile=True`` adds the Q-profile CI of tau^2 (metafor
    ``confint(res)``, search limit ``tau2_ci_max``, default ``max(100, 10 tau^2)``) and the I^2
    and H^2 bounds it implies.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.asarray(X, dtype=float)
    k, p = X.shape
    if k == 1:
        test = "z"  # metafor: "Setting argument test = 'z' since k = 1"
    fixed = np.array([float(tau2)]) if tau2 is not None else (np.zeros(1) if k == 1 else None)
    f = fit_mods_many(stack(y, v, X), method, test, level, btt, intercept, fixed)
    one = {name: (val[0] if isinstance(val, np.ndarray) else val) for name, val in f.items()}
    t2 = float(one["tau2"])
    cis: dict[str, Any] = {}
    if profile and method not in COMMON and k > p:
        # metafor's confint profiles the generalized Q of the uncentred yi
        vt = float(one["vt"])
        ci = q_profile_ci_many(model_stack(y, v, X, intercept), np.array([t2]), level / 100.0, tau2_ci_max)
        lo, hi = float(ci.low[0]), float(ci.high[0])
        cis = dict(tau2_ci=(lo, hi), i2_ci=(100 * lo / (vt + lo), 100 * hi / (vt + hi)),
                   h2_ci=(lo / vt + 1, hi / vt + 1),
                   tau2_ci_signs=(SIGNS[int(ci.low_sign[0])], SIGNS[int(ci.high_sign[0])]))  # fmt: skip
    fl = float
    return RmaFit(
        k=k, p=p, beta=one["beta"], vb=one["vb"], se=one["se"], statistic=one["statistic"], pvalue=one["pvalue"],
        ci_low=one["ci_low"], ci_high=one["ci_high"], ddf=fl(one["ddf"]), s2w=fl(one["s2w"]), tau2=t2,
        tau2_se=fl(one["tau2_se"]), qe=fl(one["qe"]), qe_df=k - p, qe_pvalue=fl(one["qe_pvalue"]), i2=fl(one["i2"]),
        h2=fl(one["h2"]), vt=fl(one["vt"]), qm=fl(one["qm"]), qm_df=(int(one["qm_df1"]), fl(one["qm_df2"])),
        qm_pvalue=fl(one["qm_pvalue"]), btt=tuple(one["btt"]), ll_ml=fl(one["ll_ml"]), ll_reml=fl(one["ll_reml"]),
        weights=one["weights"], converged=bool(one["converged"]), **cis,
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
