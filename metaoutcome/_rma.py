"""The mixed-effects model with moderators, metafor ``rma.uni(yi, vi, mods = X)``, as one function.

:func:`fit_rma` is the engine behind meta-regression, permutation tests, leave-one-out,
influence, cumulative meta-analysis, Egger's test and GOSH. It follows metafor 3.8-1's
``rma.uni`` line by line (same centring of ``yi`` in the tau^2 estimators, same truncation,
same Knapp-Hartung factor, same ``QE``/``I^2``/``H^2`` definitions with ``p`` coefficients), with
one deliberate difference shared with :mod:`metaoutcome.heterogeneity`: the iterative
estimators (ML, REML, EB, PM) are solved by bracketing root finding to machine precision instead
of Fisher scoring / ``uniroot`` with metafor's loose default tolerances; for ML and REML the
global maximum of the (restricted) likelihood on ``tau^2 >= 0`` is returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from .heterogeneity import score_grid

FloatArray = NDArray[np.float64]

#: tau^2 estimators accepted with moderators (metafor's names), and the common-effect model.
RMA_METHODS: tuple[str, ...] = ("FE", "EE", "CE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
#: Inference for the coefficients (metafor ``test=``).
RMA_TESTS: tuple[str, ...] = ("z", "t", "knha", "adhoc")
COMMON: tuple[str, ...] = ("FE", "EE", "CE")

_EPS = float(np.finfo(float).eps)
_XTOL = 1e-300
_RTOL = 8.9e-16


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


def _proj(w: FloatArray, X: FloatArray) -> FloatArray:
    """``P = W - W X (X'WX)^{-1} X'W``."""
    WX = X * w[:, None]
    A = np.linalg.solve(X.T @ WX, WX.T)
    return np.diag(w) - WX @ A


def _score(method: str, t: float, y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    w = 1.0 / (v + t)
    P = _proj(w, X)
    Py = P @ y
    if method == "ML":
        return float(Py @ Py - np.sum(w))
    if method == "REML":
        return float(Py @ Py - np.trace(P))
    return float(y @ Py - (k - p))  # EB, PM: generalized Q = k - p


def _ll(method: str, t: float, y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    w = 1.0 / (v + t)
    WX = X * w[:, None]
    xwx = X.T @ WX
    b = np.linalg.solve(xwx, WX.T @ y)
    rss = float(np.sum(w * (y - X @ b) ** 2))
    ll = -0.5 * float(np.sum(np.log(v + t))) - 0.5 * rss
    if method == "REML":
        ll -= 0.5 * float(np.linalg.slogdet(xwx)[1])
    return ll


def _solve(method: str, y: FloatArray, v: FloatArray, X: FloatArray) -> tuple[float, bool]:
    g = lambda t: _score(method, t, y, v, X)  # noqa: E731
    g0 = g(0.0)
    hi = max(float(np.var(y)), float(np.max(v)), 1e-12)
    n = 0
    while g(hi) >= 0.0:
        hi *= 2.0
        n += 1
        if n > 2000:  # pragma: no cover
            return float("nan"), False
    if method in ("EB", "PM"):
        if g0 <= 0.0:
            return 0.0, True
        root, res = optimize.brentq(g, 0.0, hi, xtol=_XTOL, rtol=_RTOL, maxiter=500, full_output=True)
        return float(root), bool(res.converged)
    grid = np.concatenate([[0.0], hi * score_grid()])
    s = np.array([g0] + [g(float(t)) for t in grid[1:]])
    cands: list[float] = [0.0] if g0 <= 0.0 else []
    ok = True
    for i in range(grid.size - 1):
        if s[i] > 0.0 and s[i + 1] <= 0.0:
            if s[i + 1] == 0.0:
                cands.append(float(grid[i + 1]))
                continue
            root, res = optimize.brentq(g, grid[i], grid[i + 1], xtol=_XTOL, rtol=_RTOL, maxiter=500, full_output=True)
            ok = ok and bool(res.converged)
            cands.append(float(root))
    if not cands:  # pragma: no cover
        return float("nan"), False
    lls = [_ll(method, c, y, v, X) for c in cands]
    return cands[int(np.argmax(lls))], ok


def estimate_tau2_mods(y: FloatArray, v: FloatArray, X: FloatArray, method: str) -> tuple[float, float, bool]:
    """tau^2 (truncated at 0), its SE (metafor's ``se.tau2``) and convergence, with moderators."""
    k, p = X.shape
    ymc = y - y.mean()  # metafor centres yi for the tau^2 estimators
    conv = True
    if method in ("HE", "ML", "REML", "EB"):
        Pu = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
        PV = Pu * v[None, :]
        trpv = float(np.trace(PV))
        tau2 = float(ymc @ Pu @ ymc - trpv) / (k - p)
        if method == "HE":
            t = max(tau2, 0.0)
            se = math.sqrt((2 * float(np.sum(PV * PV.T)) + 4 * t * trpv + 2 * t * t * (k - p)) / (k - p) ** 2)
            return max(0.0, tau2), se, True
    if method in ("DL", "HS"):
        w = 1.0 / v
        P = _proj(w, X)
        rss = float(ymc @ P @ ymc)
        trp = float(np.trace(P))
        spp = float(np.sum(P * P))
        if method == "DL":
            tau2 = (rss - (k - p)) / trp
            t = max(tau2, 0.0)
            se = math.sqrt((2 * (k - p) + 4 * t * trp + 2 * t * t * spp) / trp**2)
        else:
            tau2 = (rss - k) / float(np.sum(w))
            t = max(tau2, 0.0)
            se = math.sqrt((2 * (k - p) + 4 * t * trp + 2 * t * t * spp) / float(np.sum(w)) ** 2)
        return max(0.0, tau2), se, True
    if method == "SJ":
        t0 = float(np.mean(ymc**2))
        w = 1.0 / (v + t0)
        P = _proj(w, X)
        PV = P * v[None, :]
        tau2 = t0 * float(ymc @ P @ ymc) / (k - p)
        t = max(tau2, 0.0)
        se = math.sqrt(
            t0**2 / (k - p) ** 2
            * (2 * float(np.sum(PV * PV.T)) + 4 * t * float(np.sum(PV * P)) + 2 * t * t * float(np.sum(P * P)))
        )
        return max(0.0, tau2), se, True
    # ML, REML, EB, PM
    tau2, conv = _solve(method, ymc, v, X)
    tau2 = max(0.0, tau2)
    w = 1.0 / (v + tau2)
    if method == "ML":
        se = math.sqrt(2.0 / float(np.sum(w * w)))
    elif method == "REML":
        P = _proj(w, X)
        se = math.sqrt(2.0 / float(np.sum(P * P)))
    else:
        se = math.sqrt(2.0 * k * k / (k - p) / float(np.sum(w)) ** 2)
    return tau2, se, conv


def default_btt(p: int, intercept: bool) -> tuple[int, ...]:
    """metafor's ``.set.btt``: every coefficient but the intercept (0-based positions)."""
    if p > 1:
        return tuple(range(1, p)) if intercept else tuple(range(p))
    return (0,)


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
) -> RmaFit:
    """Fit ``rma.uni(yi, vi, mods = X, intercept = FALSE, method, test, level)``.

    ``X`` is the full design matrix (with its intercept column when there is one). ``tau2``
    fixes tau^2 (metafor ``tau2=``).
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
    if tau2 is not None:
        t2 = float(tau2)
    elif common or k == 1:
        t2 = 0.0
    else:
        t2, tau2_se, conv = estimate_tau2_mods(y, v, X, method)
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
        qm_p = float(stats.f.sf(qm, m, k - p)) if k - p > 0 else nan
        if ddf > 0:
            pval = 2 * stats.t.sf(np.abs(stat), ddf)
            crit = float(stats.t.isf(alpha / 2, ddf))
        else:
            pval = np.full(p, nan)
            crit = nan
    else:
        ddf = nan
        qm_df = (m, nan)
        qm_p = float(stats.chi2.sf(qm, m))
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf(alpha / 2))
    # heterogeneity, from the common-effect weights
    if k > p:
        w0 = 1.0 / v
        P = _proj(w0, X)
        ymc = y - y.mean()
        qe = max(0.0, float(ymc @ P @ ymc))
        qe_p = float(stats.chi2.sf(qe, k - p))
        vt = (k - p) / float(np.trace(P))
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
    return RmaFit(
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
    t_re = fit_rma(y, v, np.ones((k, 1)), method).tau2
    if t_re == 0:
        return 0.0
    return max(0.0, 100 * (t_re - fit.tau2) / t_re)
