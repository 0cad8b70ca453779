"""Small-study effects (funnel-plot asymmetry), equal to R metafor where metafor has the method.

Entry points
------------
:func:`egger_test`
    Egger's regression test: the model with the standard error (or variance) as a moderator.
    metafor: ``regtest(res)`` (``model="rma"``, default) or ``regtest(res, model="lm")``
    (the classical weighted regression of Egger et al. 1997).
:func:`rank_test`
    Begg and Mazumdar's rank correlation test. metafor: ``ranktest``.
:func:`trim_and_fill`
    Duval and Tweedie's trim-and-fill, estimators L0 and R0. metafor: ``trimfill``.
:func:`pet_peese`
    Stanley and Doucouliagos' PET-PEESE conditional estimator (weighted least squares on the
    standard error, then on the variance). metafor has no single function; the two regressions
    equal R's ``lm(yi ~ sei, weights = 1/vi)`` and ``lm(yi ~ vi, weights = 1/vi)``.

Example
-------
>>> import numpy as np
>>> from metaoutcome import pool
>>> yi = np.array([0.45, 0.30, 0.62, 0.10, 0.85, 0.20, 0.95, 0.05])
>>> vi = np.array([0.04, 0.02, 0.09, 0.005, 0.16, 0.01, 0.20, 0.004])
>>> res = pool(yi, vi)
>>> eg = egger_test(res)
>>> round(eg.statistic, 4), round(eg.pvalue, 4)
(3.861, 0.0001)
>>> tf = trim_and_fill(res)
>>> tf.k0, tf.side
(4, 'left')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import check_choice, level_percent
from ._display import ReportMixin
from .engine import dist
from .engine.mods import fit_rma

__all__ = [
    "egger_test",
    "rank_test",
    "trim_and_fill",
    "pet_peese",
    "EggerTestResult",
    "RankTestResult",
    "TrimFillResult",
    "FilledStudies",
    "PetPeeseResult",
]

FloatArray = NDArray[np.float64]


def _inputs(result: Any) -> tuple[FloatArray, FloatArray, FloatArray, str, str, float, tuple[str, ...], bool]:
    """y, v, X, method, test, level, labels, intercept of a PoolResult or MetaRegressionResult."""
    from .regression import MetaRegressionResult
    from .results import PoolResult

    if isinstance(result, MetaRegressionResult):
        return (np.array(result.yi), np.array(result.vi), np.array(result.X), result.method, result.test,
                result.level, result.labels, result.intercept)  # fmt: skip
    if isinstance(result, PoolResult):
        if result.model not in ("common", "random"):
            raise ValueError(
                f"result: method={result.method!r} is not an inverse-variance model; pool with pool(..., "
                "method='REML' or another tau^2 estimator, or 'FE')"
            )
        y = np.array(result.yi)
        return (y, np.array(result.vi), np.ones((y.size, 1)), result.method, result.ci_method, result.level,
                result.labels, True)  # fmt: skip
    raise ValueError(f"result must be a PoolResult or MetaRegressionResult; got {type(result).__name__}")


def _wls(y: FloatArray, v: FloatArray, X: FloatArray, level: float) -> pd.DataFrame:
    """R's ``summary(lm(y ~ X - 1, weights = 1/v))$coefficients`` plus t CIs."""
    k, p = X.shape
    w = 1.0 / v
    WX = X * w[:, None]
    inv = np.linalg.inv(X.T @ WX)
    b = inv @ (WX.T @ y)
    df = k - p
    s2 = float(np.sum(w * (y - X @ b) ** 2)) / df if df > 0 else math.nan
    se = np.sqrt(s2 * np.diag(inv))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = b / se
        pv = 2 * dist.t_sf(np.abs(t), df) if df > 0 else np.full(p, math.nan)
        crit = float(dist.t_isf((1 - level / 100) / 2, df)) if df > 0 else math.nan
    return pd.DataFrame({"estimate": b, "se": se, "statistic": t, "df": float(df), "pvalue": pv,
                         "ci_low": b - crit * se, "ci_high": b + crit * se})  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Egger
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class EggerTestResult(ReportMixin):
    """Result of :func:`egger_test` (metafor ``regtest``).

    Attributes
    ----------
    model : str
        ``"rma"`` (the model's estimator with the predictor as moderator) or ``"lm"`` (weighted
        least squares with a multiplicative dispersion, Egger et al. 1997).
    predictor : str
        One of :data:`EGGER_PREDICTORS`.
    statistic, pvalue : float
        Test of the predictor's coefficient (z, or t with ``df`` degrees of freedom).
    df : float
        Degrees of freedom (NaN for z).
    limit_estimate, limit_ci_low, limit_ci_high : float
        The intercept: the "limit estimate" as the standard error (variance) goes to 0, with its
        CI (NaN for a model with moderators).
    coefficients : DataFrame
        Coefficient table of the test regression (``term``, ``estimate``, ``se``, ``statistic``,
        ``df``, ``pvalue``, ``ci_low``, ``ci_high``).
    method, test : str
        Estimator and test of the regression (``model="rma"``).
    k : int
        Number of studies.
    """

    model: str
    predictor: str
    statistic: float
    pvalue: float
    df: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    coefficients: pd.DataFrame
    method: str
    test: str
    k: int

    def table(self) -> pd.DataFrame:
        """One-row tidy table: ``model``, ``predictor``, ``statistic``, ``df``, ``pvalue``,
        ``limit_estimate``, ``limit_ci_low``, ``limit_ci_high``."""
        return pd.DataFrame({"model": [self.model], "predictor": [self.predictor], "statistic": [self.statistic],
                             "df": [self.df], "pvalue": [self.pvalue], "limit_estimate": [self.limit_estimate],
                             "limit_ci_low": [self.limit_ci_low], "limit_ci_high": [self.limit_ci_high]})  # fmt: skip

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        what = "weighted regression (lm)" if self.model == "lm" else f"mixed-effects model ({self.method})"
        return {"title": f"Regression test for funnel plot asymmetry (k = {self.k}; {what}; predictor: {self.predictor})",
                "lines": [("test statistic", self.statistic), ("p-value", self.pvalue),
                          ("limit estimate", self.limit_estimate)],
                "table": self.coefficients, "notes": ()}  # fmt: skip


#: metafor ``regtest``'s predictors: the column added to the model, from ``vi`` or the study sizes ``ni``
EGGER_PREDICTORS: tuple[str, ...] = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
#: predictors that are 0 for an infinitely precise study: only for these is the intercept a limit estimate
_LIMIT_PREDICTORS: tuple[str, ...] = ("sei", "vi", "ninv", "sqrtninv")


def _egger_column(predictor: str, v: FloatArray, ni: ArrayLike | None) -> FloatArray:
    if predictor in ("sei", "vi"):
        return np.sqrt(v) if predictor == "sei" else v
    if ni is None:
        raise ValueError(f"predictor={predictor!r} needs the study sizes: pool with ni= or pass ni= to egger_test")
    n = np.asarray(ni, dtype=float)
    if n.shape != v.shape or not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise ValueError(f"ni must hold one size > 0 per study (k = {v.size}); got {n.tolist()}")
    return {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[predictor]


def egger_test(
    result: Any, *, model: str = "rma", predictor: str = "sei", ni: ArrayLike | None = None
) -> EggerTestResult:
    """Egger's regression test for funnel-plot asymmetry (metafor ``regtest``).

    Parameters
    ----------
    result : PoolResult or MetaRegressionResult
        The fitted model; its estimator, test and level are reused.
    model : {"rma", "lm"}, default "rma"
        ``"rma"``: the model refitted with the predictor as an extra moderator (metafor's
        default). ``"lm"``: the classical test, weighted least squares ``y_i = b0 + b1 sei_i``
        with weights ``1/v_i`` and a free dispersion, t with k - 2 df (Egger et al. 1997).
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}, default "sei"
        Standard error (Egger), sampling variance, or the study size ``n``, ``1/n``,
        ``sqrt(n)`` or ``1/sqrt(n)`` (metafor ``regtest``'s predictors).
    ni : array-like, optional
        Study sizes for the size-based predictors; default the result's ``ni``.

    Returns
    -------
    EggerTestResult

    Raises
    ------
    ValueError
        For unknown ``model``/``predictor`` or k < 3 (the test needs one df beyond the two
        coefficients, and a random-effects fit needs k >= 3).

    Notes
    -----
    ``model="rma"``: ``y_i = x_i'beta + b sei_i + u_i + e_i``; H0: ``b = 0`` by the model's z or
    Knapp-Hartung t test. The intercept (for an intercept-only model) estimates the effect of a
    study with ``sei = 0`` (the PET estimate when ``predictor="sei"``); it is reported as the
    limit estimate only for predictors that vanish for an infinitely precise study (``sei``,
    ``vi``, ``ninv``, ``sqrtninv``), as metafor.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
    simple, graphical test. *BMJ* 315:629-634.

    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
    meta-analysis. In Rothstein HR et al. (eds), *Publication Bias in Meta-Analysis*. Wiley.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.45, 0.3, 0.62, 0.1, 0.85], [0.04, 0.02, 0.09, 0.005, 0.16], method="FE")
    >>> round(egger_test(res, model="lm").statistic, 4)
    16.6224
    """
    model = check_choice("model", model, ["rma", "lm"])
    predictor = check_choice("predictor", predictor, EGGER_PREDICTORS)
    y, v, X, method, test, level, _, intercept = _inputs(result)
    k, p = X.shape
    if k < p + 2:
        raise ValueError(f"egger_test needs k >= {p + 2} studies for this model; got k={k}")
    xcol = _egger_column(predictor, v, getattr(result, "ni", None) if ni is None else ni)
    Xe = np.column_stack([X, xcol])
    int_only = p == 1 and intercept
    terms = (["intrcpt"] if int_only else [f"x{j}" for j in range(p)]) + [predictor]
    if model == "rma":
        f = fit_rma(y, v, Xe, method, test, level, intercept=intercept)
        coefs = pd.DataFrame({"term": terms, "estimate": f.beta, "se": f.se, "statistic": f.statistic, "df": f.ddf,
                              "pvalue": f.pvalue, "ci_low": f.ci_low, "ci_high": f.ci_high})  # fmt: skip
        df = f.ddf
    else:
        coefs = _wls(y, v, Xe, level)
        coefs.insert(0, "term", terms)
        df = float(k - p - 1)
    last = coefs.iloc[-1]
    first = coefs.iloc[0]
    limit = int_only and predictor in _LIMIT_PREDICTORS
    lim = (float(first["estimate"]), float(first["ci_low"]), float(first["ci_high"])) if limit else (math.nan,) * 3
    return EggerTestResult(
        model=model, predictor=predictor, statistic=float(last["statistic"]), pvalue=float(last["pvalue"]), df=df,
        limit_estimate=lim[0], limit_ci_low=lim[1], limit_ci_high=lim[2], coefficients=coefs,
        method=method if model == "rma" else "WLS", test=test if model == "rma" else "t", k=k,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Begg
# ------------------------------------------------------------------------------------------------


def _kendall_cdf(q: int, n: int) -> float:
    """P(T <= q) for T the number of concordant pairs of n untied pairs under independence
    (R's ``pkendall``): the Mahonian distribution of inversions."""
    dist = np.array([1.0])
    for i in range(2, n + 1):
        new = np.zeros(dist.size + i - 1)
        for j in range(i):
            new[j : j + dist.size] += dist
        dist = new / i
    if q < 0:
        return 0.0
    return float(min(1.0, dist[: q + 1].sum()))


@dataclass(frozen=True, eq=False, repr=False)
class RankTestResult(ReportMixin):
    """Result of :func:`rank_test` (metafor ``ranktest``).

    Attributes
    ----------
    tau : float
        Kendall's tau (tau-b) between the standardized effects and the variances.
    pvalue : float
        Two-sided p-value.
    exact : bool
        Exact permutation distribution (no ties) or the normal approximation (ties).
    statistic : float
        ``T`` (concordant pairs) when exact, else the z statistic.
    k : int
        Number of studies.
    """

    tau: float
    pvalue: float
    exact: bool
    statistic: float
    k: int

    def table(self) -> pd.DataFrame:
        """One-row table: ``tau``, ``statistic``, ``pvalue``, ``exact``, ``k``."""
        return pd.DataFrame({"tau": [self.tau], "statistic": [self.statistic], "pvalue": [self.pvalue],
                             "exact": [self.exact], "k": [self.k]})  # fmt: skip

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        return {"title": f"Rank correlation test for funnel plot asymmetry (k = {self.k})",
                "lines": [("Kendall's tau", self.tau), ("p-value", self.pvalue),
                          ("p-value from", "exact distribution" if self.exact else "normal approximation (ties)")],
                "table": None, "notes": ()}  # fmt: skip


def rank_test(result: Any) -> RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (its studies are used; the test itself always uses
        common-effect weights, as metafor).

    Returns
    -------
    RankTestResult

    Raises
    ------
    ValueError
        For k < 3.

    Notes
    -----
    With ``w_i = 1/v_i``, ``theta = sum w y / sum w`` and ``v*_i = v_i - 1/sum w``, Kendall's tau
    between ``(y_i - theta)/sqrt(v*_i)`` and ``v_i``. Without ties the p-value is exact (the
    permutation distribution of the number of concordant pairs, R's ``cor.test(...,
    method = "kendall", exact = TRUE)`` for any k); with ties, the normal approximation with the
    tie-corrected variance of S and no continuity correction, as R.

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. *Biometrics* 50:1088-1101.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.45, 0.3, 0.62, 0.1, 0.85], [0.04, 0.02, 0.09, 0.005, 0.16])
    >>> r = rank_test(res)
    >>> round(r.tau, 4), round(r.pvalue, 4), r.exact
    (1.0, 0.0167, True)
    """
    y, v, X, *_ = _inputs(result)
    if X.shape[1] != 1:
        raise ValueError("rank_test is defined for models without moderators")
    k = y.size
    if k < 3:
        raise ValueError(f"rank_test needs k >= 3 studies; got k={k}")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vstar = v - 1.0 / float(np.sum(w))
    ystar = (y - theta) / np.sqrt(vstar)
    from scipy import stats

    tau = float(stats.kendalltau(ystar, v, variant="b").statistic)
    n = k
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    if not ties:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        if q > n * (n - 1) / 4:
            pv = 1 - _kendall_cdf(q - 1, n)
        else:
            pv = _kendall_cdf(q, n)
        return RankTestResult(tau=tau, pvalue=min(2 * pv, 1.0), exact=True, statistic=float(q), k=k)
    _, xt = np.unique(ystar, return_counts=True)
    _, yt = np.unique(v, return_counts=True)
    xt, yt = xt[xt > 1].astype(float), yt[yt > 1].astype(float)
    t0 = n * (n - 1) / 2
    t1 = float(np.sum(xt * (xt - 1))) / 2
    t2 = float(np.sum(yt * (yt - 1))) / 2
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1))) * float(np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2))) * float(np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    pv = 2 * min(dist.norm_cdf(z), dist.norm_sf(z))
    return RankTestResult(tau=tau, pvalue=float(pv), exact=False, statistic=z, k=k)


# ------------------------------------------------------------------------------------------------
# trim and fill
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class FilledStudies:
    """The studies trim-and-fill imputes, ready for ``plotting.funnel(result, filled=...)``.

    Attributes
    ----------
    yi, vi : ndarray
        Imputed effect sizes (mirror images about the trimmed estimate) and their variances.
    labels : tuple of str
        ``"Filled 1"``, ``"Filled 2"``, ...
    """

    yi: FloatArray
    vi: FloatArray
    labels: tuple[str, ...]

    def __repr__(self) -> str:
        return f"FilledStudies(k0={self.yi.size})"


@dataclass(frozen=True, eq=False, repr=False)
class TrimFillResult(ReportMixin):
    """Result of :func:`trim_and_fill` (metafor ``trimfill``).

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Its standard error.
    side : str
        Side on which studies were imputed (``"left"`` or ``"right"``).
    estimator : str
        ``"L0"`` or ``"R0"``.
    p_k0 : float
        For R0, the p-value of H0: no missing studies (NaN for L0).
    filled : FilledStudies
        The imputed studies (empty arrays when k0 = 0).
    adjusted : PoolResult
        The model refitted to observed + filled studies (metafor refits with its default
        ``test="z"`` and ``level=95``); the input result itself when k0 = 0.
    original : PoolResult
        The input result.
    iterations : int
        Trim-and-fill iterations until k0 was stable.
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float
    filled: FilledStudies
    adjusted: Any
    original: Any
    iterations: int

    def table(self) -> pd.DataFrame:
        """Tidy table of observed and filled studies: ``label``, ``yi``, ``vi``, ``filled`` (bool)."""
        o = self.original
        return pd.DataFrame({
            "label": list(o.labels) + list(self.filled.labels),
            "yi": np.concatenate([o.yi, self.filled.yi]),
            "vi": np.concatenate([o.vi, self.filled.vi]),
            "filled": [False] * len(o.labels) + [True] * self.k0,
        })  # fmt: skip

    def summary(self) -> pd.DataFrame:
        """Observed and adjusted pooled estimates: rows ``observed``, ``adjusted``; columns
        ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pvalue``, ``tau2``."""
        rows = []
        for name, r in (("observed", self.original), ("adjusted", self.adjusted)):
            rows.append({"model": name, "k": r.k, "estimate": r.estimate, "se": r.se, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "pvalue": r.pvalue, "tau2": r.tau2})  # fmt: skip
        return pd.DataFrame(rows)

    def report(self) -> dict[str, Any]:
        lines: list[tuple[str, Any]] = [("estimated missing studies (k0)", self.k0), ("SE of k0", self.se_k0),
                                        ("side", self.side)]  # fmt: skip
        if self.estimator == "R0":
            lines.append(("p-value of H0: k0 = 0", self.p_k0))
        return {"title": f"Trim-and-fill ({self.estimator}), {self.k0} studies imputed on the {self.side}",
                "lines": lines, "table": self.summary(), "notes": ()}  # fmt: skip


def trim_and_fill(result: Any, *, estimator: str = "L0", side: str | None = None, maxiter: int = 100) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill (metafor ``trimfill``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (its estimator is used for every refit).
    estimator : {"L0", "R0"}, default "L0"
        Estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Side of the funnel where studies are missing. Default as metafor: from the sign of the
        slope in Egger's model (``rma(yi, vi, mods = sei)`` with the same estimator): a negative
        slope puts missing studies on the right, otherwise on the left.
    maxiter : int, default 100
        Maximum number of iterations.

    Returns
    -------
    TrimFillResult
        ``filled`` holds the imputed ``yi``/``vi`` (pass it to
        ``metaoutcome.plotting.funnel(result, filled=tf.filled)``); ``adjusted`` the pooled
        result with them.

    Raises
    ------
    ValueError
        For an unknown estimator/side, k < 3, or a result that is not an inverse-variance model.

    Notes
    -----
    Iterate: pool the ``k - k0`` studies with the smallest effects (after flipping signs for
    ``side="right"``), centre all effects at that estimate, rank their absolute values; with
    ``S_r`` the sum of the ranks of positive centred effects, L0 = ``(4 S_r - k(k+1)) /
    (2k - 1)`` and R0 = ``k - r* - 1`` (``r*`` the rank of the most extreme negative centred
    effect), rounded and truncated at 0, until k0 no longer changes. The k0 most extreme
    studies are mirrored about the trimmed estimate. SE of L0:
    ``4 sqrt(Var(S_r)) / (2k - 1)``; of R0: ``sqrt(2 max(0, k0) + 2)``.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. *Biometrics* 56:455-463.

    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. *JASA* 95:89-98.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.1, 0.12, 0.08, 0.11, 0.09], [0.04, 0.05, 0.03, 0.06, 0.04])
    >>> trim_and_fill(res).k0
    2
    """
    from .pooling import pool
    from .results import PoolResult

    estimator = check_choice("estimator", estimator, ["L0", "R0"])
    if side is not None:
        side = check_choice("side", side, ["left", "right"])
    if not isinstance(result, PoolResult):
        raise ValueError(f"result must be a PoolResult from pool(); got {type(result).__name__}")
    y0, v0, X, method, _, _, labels, _ = _inputs(result)
    k = y0.size
    if k < 3:
        raise ValueError(f"trim_and_fill needs k >= 3 studies; got k={k}")
    if side is None:
        f = fit_rma(y0, v0, np.column_stack([np.ones(k), np.sqrt(v0)]), method, "z")
        side = "right" if f.beta[1] < 0 else "left"
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k0_sav, k0, it = -1, 0, 0
    se_k0 = math.nan
    beta = math.nan
    yc = y
    while abs(k0 - k0_sav) > 0:
        k0_sav = k0
        it += 1
        if it > maxiter:
            raise ValueError(f"trim_and_fill did not converge within maxiter={maxiter} iterations")
        n = k - k0
        beta = float(fit_rma(y[:n], v[:n], np.ones((n, 1)), method, "z").beta[0])
        yc = y - beta
        r = np.empty(k)  # ordinal ranks (ties in order of appearance), scipy's rankdata(method="ordinal")
        r[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        rs = np.sign(yc) * r
        if estimator == "R0":
            neg = -rs[rs < 0]
            k0f = float(k - (float(neg.max()) if neg.size else 0.0) - 1)
            se_k0 = math.sqrt(2 * max(0, k0f) + 2)
        else:
            sr = float(np.sum(rs[rs > 0]))
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f - 18 * k * k0f**2
                      - 18 * k * k0f + 6 * k**2 * k0f) / 24  # fmt: skip
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan
        k0 = max(0, int(_round_half_even(k0f)))
        se_k0 = max(0.0, se_k0)
    if estimator == "R0":
        mm = np.arange(-1, k0)
        p_k0 = float(1 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (int(j) + 2) for j in mm]))
    else:
        p_k0 = math.nan
    if k0 > 0:
        yc2 = -(yc - beta) if side == "right" else yc - beta
        fy = -yc2[k - k0 :]
        fv = v[k - k0 :]
        flab = tuple(f"Filled {i + 1}" for i in range(k0))
        filled = FilledStudies(yi=fy, vi=fv, labels=flab)
        adjusted = pool(np.concatenate([y0, fy]), np.concatenate([v0, fv]), method=method, ci_method="z",
                        level=95, measure=result.measure, labels=list(labels) + list(flab))  # fmt: skip
    else:
        filled = FilledStudies(yi=np.zeros(0), vi=np.zeros(0), labels=())
        adjusted = result
    return TrimFillResult(k0=k0, se_k0=se_k0, side=side, estimator=estimator, p_k0=p_k0, filled=filled,
                          adjusted=adjusted, original=result, iterations=it)  # fmt: skip


def _round_half_even(x: float) -> float:
    """R's ``round`` (IEC 60559: halves to even), as Python's ``round``."""
    return float(round(x))


# ------------------------------------------------------------------------------------------------
# PET-PEESE
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class PetPeeseResult(ReportMixin):
    """Result of :func:`pet_peese`.

    Attributes
    ----------
    pet, peese : DataFrame
        Coefficient tables of the two regressions (``term``, ``estimate``, ``se``, ``statistic``,
        ``df``, ``pvalue``, ``ci_low``, ``ci_high``); the intercept is the bias-corrected effect.
    chosen : str
        ``"PET"`` or ``"PEESE"`` by the conditional rule.
    estimate, se, ci_low, ci_high, pvalue : float
        The chosen model's intercept.
    alpha : float
        Significance level of the rule.
    k : int
        Number of studies.
    """

    pet: pd.DataFrame
    peese: pd.DataFrame
    chosen: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    alpha: float
    k: int

    def table(self) -> pd.DataFrame:
        """Both regressions stacked: ``model`` (PET/PEESE), ``term``, ``estimate``, ``se``,
        ``statistic``, ``df``, ``pvalue``, ``ci_low``, ``ci_high``, ``chosen`` (bool)."""
        a = self.pet.assign(model="PET", chosen=self.chosen == "PET")
        b = self.peese.assign(model="PEESE", chosen=self.chosen == "PEESE")
        out = pd.concat([a, b], ignore_index=True)
        return out[["model", *[c for c in out.columns if c not in ("model", "chosen")], "chosen"]]

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        return {"title": f"PET-PEESE (k = {self.k}); conditional estimate from {self.chosen}",
                "lines": [("estimate", self.estimate), ("ci_low", self.ci_low), ("ci_high", self.ci_high)],
                "table": self.table(), "notes": ()}  # fmt: skip


def pet_peese(result: Any, *, alpha: float = 0.10, level: float | None = None) -> PetPeeseResult:
    """PET-PEESE conditional estimator of the effect corrected for small-study effects.

    Parameters
    ----------
    result : PoolResult
        Its studies (``yi``, ``vi``) are used.
    alpha : float, default 0.10
        Two-sided level of PET's test of the intercept. 0.10 two-sided equals the one-sided 5%
        test of Stanley & Doucouliagos (2014) when the effect lies in the tested direction.
    level : float, optional
        Confidence level in percent for the CIs (default: the result's).

    Returns
    -------
    PetPeeseResult

    Raises
    ------
    ValueError
        For k < 3 or ``alpha`` outside (0, 1).

    Notes
    -----
    PET: weighted least squares ``y_i = b0 + b1 sei_i`` with weights ``1/v_i`` and a free
    (multiplicative) residual variance, t with k - 2 df (= R ``lm(yi ~ sei, weights = 1/vi)``).
    PEESE: the same with ``v_i`` in place of ``sei_i``. Conditional rule: if PET's intercept
    differs from 0 (two-sided p < ``alpha``) there is a genuine effect and the PEESE intercept
    is reported (less biased then); otherwise PET's intercept.

    References
    ----------
    Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
    selection bias. *Research Synthesis Methods* 5:60-78.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.45, 0.3, 0.62, 0.1, 0.85], [0.04, 0.02, 0.09, 0.005, 0.16])
    >>> pet_peese(res).chosen
    'PEESE'
    """
    if not (0 < float(alpha) < 1):
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    y, v, X, _, _, lv, _, _ = _inputs(result)
    if X.shape[1] != 1:
        raise ValueError("pet_peese is defined for models without moderators")
    k = y.size
    if k < 3:
        raise ValueError(f"pet_peese needs k >= 3 studies (two coefficients and a residual df); got k={k}")
    level = lv if level is None else level_percent(level)
    pet = _wls(y, v, np.column_stack([np.ones(k), np.sqrt(v)]), level)
    pet.insert(0, "term", ["intrcpt", "sei"])
    peese = _wls(y, v, np.column_stack([np.ones(k), v]), level)
    peese.insert(0, "term", ["intrcpt", "vi"])
    chosen = "PEESE" if float(pet["pvalue"].iloc[0]) < alpha else "PET"
    row = (peese if chosen == "PEESE" else pet).iloc[0]
    return PetPeeseResult(pet=pet, peese=peese, chosen=chosen, estimate=float(row["estimate"]), se=float(row["se"]),
                          ci_low=float(row["ci_low"]), ci_high=float(row["ci_high"]), pvalue=float(row["pvalue"]),
                          alpha=float(alpha), k=k)  # fmt: skip
