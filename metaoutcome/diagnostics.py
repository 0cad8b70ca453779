"""Sensitivity and influence diagnostics of a fitted model, equal to R metafor.

Entry points
------------
:func:`leave_one_out`
    The pooled result with each study left out in turn. metafor: ``leave1out``.
:func:`influence`
    Case-deletion diagnostics: externally studentized residuals, DFFITS, Cook's distance,
    covariance ratio, tau^2 and QE without the study, hat values, weights, DFBETAS and
    metafor's flag for influential studies. metafor: ``influence.rma.uni``.
:func:`cumulative`
    Cumulative meta-analysis, adding studies in a given order. metafor: ``cumul``.

Each takes a :class:`~metaoutcome.results.PoolResult` from :func:`metaoutcome.pool` (inverse
variance, any tau^2 estimator, any ``ci_method``) or, for :func:`influence`, also a
:class:`~metaoutcome.regression.MetaRegressionResult`, and refits with the same estimator, test
and level, as metafor does.

Example
-------
>>> import numpy as np
>>> from metaoutcome import pool
>>> yi = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34,
...                0.45, -0.02])
>>> vi = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.01, 0.06, 0.03, 0.01, 0.53, 0.07])
>>> res = pool(yi, vi)
>>> l1o = leave_one_out(res)
>>> l1o.table().shape
(13, 13)
>>> int(influence(res).table()["influential"].sum())
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._display import ReportMixin
from ._rma import COMMON, RmaFit, fit_rma

__all__ = [
    "leave_one_out",
    "influence",
    "cumulative",
    "LeaveOneOutResult",
    "InfluenceResult",
    "CumulativeResult",
]

FloatArray = NDArray[np.float64]
_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class _Model:
    y: FloatArray
    v: FloatArray
    X: FloatArray
    method: str
    test: str
    level: float
    labels: tuple[str, ...]
    intercept: bool
    terms: tuple[str, ...]


def _model(result: Any, *, allow_mods: bool) -> _Model:
    """The data and settings of a PoolResult or MetaRegressionResult, checked."""
    from .regression import MetaRegressionResult
    from .results import PoolResult

    if isinstance(result, MetaRegressionResult):
        if not allow_mods and not result.int_only:
            raise ValueError("result: this diagnostic is defined for models without moderators (as metafor's)")
        return _Model(np.array(result.yi), np.array(result.vi), np.array(result.X), result.method, result.test,
                      result.level, result.labels, result.intercept, result.terms)  # fmt: skip
    if isinstance(result, PoolResult):
        if result.method in ("MH", "PETO", "GLMM") or result.model not in ("common", "random"):
            raise ValueError(
                f"result: method={result.method!r} is not an inverse-variance model; pool with pool(..., "
                "method='REML' or another tau^2 estimator, or 'FE') for this diagnostic"
            )
        y = np.array(result.yi)
        return _Model(y, np.array(result.vi), np.ones((y.size, 1)), result.method, result.ci_method, result.level,
                      result.labels, True, ("intrcpt",))  # fmt: skip
    raise ValueError(f"result must be a PoolResult or MetaRegressionResult; got {type(result).__name__}")


_PER_STUDY = ["estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "tau2", "i2", "h2"]


def _row(f: RmaFit) -> list[float]:
    return [float(f.beta[0]), float(f.se[0]), float(f.statistic[0]), float(f.pvalue[0]), float(f.ci_low[0]),
            float(f.ci_high[0]), f.qe, f.qe_pvalue, f.tau2, f.i2, f.h2]  # fmt: skip


@dataclass(frozen=True, eq=False, repr=False)
class LeaveOneOutResult(ReportMixin):
    """Result of :func:`leave_one_out` (metafor ``leave1out``).

    Attributes
    ----------
    labels : tuple of str
        The study left out in each row.
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Pooled estimate without that study, its SE, z (or t) statistic, p-value and CI.
    q, q_pvalue : ndarray
        Cochran's Q and its p-value without the study.
    tau2, i2, h2 : ndarray
        tau^2 (0 for common-effect models), I^2 (percent) and H^2 without the study.
    method, test : str
        The model's estimator and test.
    level : float
        Confidence level in percent.
    """

    labels: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    q: FloatArray
    q_pvalue: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray
    method: str
    test: str
    level: float

    def table(self) -> pd.DataFrame:
        """Tidy table, one row per omitted study: ``omitted`` then the attributes above."""
        d: dict[str, Any] = {"omitted": list(self.labels), "k": len(self.labels) - 1}
        d.update({c: getattr(self, c) for c in _PER_STUDY})
        return pd.DataFrame(d)

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        return {"title": f"Leave-one-out analysis (k = {len(self.labels)}; {self.method}, test {self.test})",
                "lines": [], "table": self.table(), "notes": ()}  # fmt: skip


@dataclass(frozen=True, eq=False, repr=False)
class CumulativeResult(ReportMixin):
    """Result of :func:`cumulative` (metafor ``cumul``).

    Attributes
    ----------
    labels : tuple of str
        The study added in each row, in the cumulative order.
    order : ndarray of int
        0-based positions of the studies of the input, in the cumulative order.
    estimate, se, statistic, pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2 : ndarray
        The pooled result of the first 1, 2, ..., k studies (as :class:`LeaveOneOutResult`).
    method, test : str
        The model's estimator and test.
    level : float
        Confidence level in percent.
    """

    labels: tuple[str, ...]
    order: NDArray[np.int64]
    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    q: FloatArray
    q_pvalue: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray
    method: str
    test: str
    level: float

    def table(self) -> pd.DataFrame:
        """Tidy table: ``added``, ``k`` (studies so far), then the pooled columns."""
        d: dict[str, Any] = {"added": list(self.labels), "k": np.arange(1, len(self.labels) + 1)}
        d.update({c: getattr(self, c) for c in _PER_STUDY})
        return pd.DataFrame(d)

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        return {"title": f"Cumulative meta-analysis (k = {len(self.labels)}; {self.method}, test {self.test})",
                "lines": [], "table": self.table(), "notes": ()}  # fmt: skip


@dataclass(frozen=True, eq=False, repr=False)
class InfluenceResult(ReportMixin):
    """Result of :func:`influence` (metafor ``influence.rma.uni``).

    Attributes
    ----------
    labels : tuple of str
        Study labels.
    rstudent : ndarray
        Externally studentized residuals.
    dffits : ndarray
        DFFITS.
    cook_d : ndarray
        Cook's distances.
    cov_r : ndarray
        Covariance ratios ``det Var(beta_(-i)) / det Var(beta)``.
    tau2_del, qe_del : ndarray
        tau^2 and the (residual) QE statistic without the study.
    hat : ndarray
        Hat values (diagonal of ``X (X'WX)^{-1} X'W``).
    weight : ndarray
        Weights in percent.
    dfbetas : ndarray, shape (k, p)
        DFBETAS, one column per coefficient (``terms``).
    terms : tuple of str
        Coefficient names.
    influential : ndarray of bool
        metafor's flag (see :func:`influence`).
    p : int
        Number of coefficients.
    """

    labels: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    qe_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbetas: FloatArray
    terms: tuple[str, ...]
    influential: NDArray[np.bool_]
    p: int

    def table(self) -> pd.DataFrame:
        """Tidy table, one row per study: ``label``, ``rstudent``, ``dffits``, ``cook_d``, ``cov_r``,
        ``tau2_del``, ``qe_del``, ``hat``, ``weight``, ``dfbetas_<term>`` per coefficient and
        ``influential`` (bool)."""
        d: dict[str, Any] = {"label": list(self.labels)}
        for c in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"):
            d[c] = getattr(self, c)
        for j, t in enumerate(self.terms):
            d[f"dfbetas_{t}"] = self.dfbetas[:, j]
        d["influential"] = self.influential
        return pd.DataFrame(d)

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        n = int(self.influential.sum())
        return {"title": f"Influence diagnostics (k = {len(self.labels)})",
                "lines": [("influential studies", ", ".join(lab for lab, f in zip(self.labels, self.influential) if f) or "none")],
                "table": self.table(), "notes": () if n == 0 else (f"{n} stud{'y' if n == 1 else 'ies'} flagged as influential",)}  # fmt: skip


def _refit(m: _Model, keep: NDArray[np.bool_] | NDArray[np.int64]) -> RmaFit:
    return fit_rma(m.y[keep], m.v[keep], m.X[keep], m.method, m.test, m.level, intercept=m.intercept)


def _nan_row() -> list[float]:
    return [math.nan] * len(_PER_STUDY)


def leave_one_out(result: Any) -> LeaveOneOutResult:
    """Refit the model leaving out each study in turn (metafor ``leave1out``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (common effect or any tau^2 estimator, any
        ``ci_method``); or an intercept-only :class:`~metaoutcome.regression.MetaRegressionResult`.

    Returns
    -------
    LeaveOneOutResult
        ``table()`` columns: ``omitted``, ``k``, ``estimate``, ``se``, ``statistic``, ``pvalue``,
        ``ci_low``, ``ci_high``, ``q``, ``q_pvalue``, ``tau2``, ``i2``, ``h2``.

    Raises
    ------
    ValueError
        For k < 2, a model with moderators, or a Mantel-Haenszel/Peto/GLMM result.

    Notes
    -----
    Row ``i`` is the model fitted to the k - 1 studies other than ``i`` with the same estimator,
    test and level. With k - 1 = 1 the "pooled" value is the remaining study (tau^2 = 0,
    Q = 0, I^2 = 0, H^2 = 1 as metafor).

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    *Research Synthesis Methods* 1:112-125.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.02, 0.05], method="DL")
    >>> leave_one_out(res).table()["estimate"].round(4).tolist()
    [0.5307, 0.3989, 0.4746, 0.2837]
    """
    m = _model(result, allow_mods=False)
    k = m.y.size
    if k < 2:
        raise ValueError(f"leave_one_out needs k >= 2 studies; got k={k}")
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        try:
            rows.append(_row(_refit(m, keep)))
        except (np.linalg.LinAlgError, ValueError):
            rows.append(_nan_row())
    a = np.array(rows, dtype=float)
    cols = {name: a[:, j] for j, name in enumerate(_PER_STUDY)}
    return LeaveOneOutResult(labels=m.labels, method=m.method, test=m.test, level=m.level, **cols)  # type: ignore[arg-type]


def cumulative(result: Any, order: ArrayLike | None = None, *, decreasing: bool = False) -> CumulativeResult:
    """Cumulative meta-analysis (metafor ``cumul``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (or an intercept-only meta-regression).
    order : array-like, optional
        A value per study to order by (e.g. publication year), as metafor's ``order``: studies
        are added in increasing order of it (ties keep the input order). Default: input order.
    decreasing : bool, default False
        Add studies in decreasing order of ``order``.

    Returns
    -------
    CumulativeResult
        ``table()`` columns: ``added``, ``k``, ``estimate``, ``se``, ``statistic``, ``pvalue``,
        ``ci_low``, ``ci_high``, ``q``, ``q_pvalue``, ``tau2``, ``i2``, ``h2``.

    Notes
    -----
    Row ``j`` is the model fitted to the first ``j`` studies in that order, with the result's
    estimator, test and level. The first row is the first study alone (with test "knha"
    its variance factor is 0 and its t test has 0 df, so p-value and CI are NaN, as metafor).

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. *New England Journal of Medicine* 327:248-254.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.1, 0.5, 0.3], [0.02, 0.03, 0.02], method="FE")
    >>> cumulative(res, order=[2001, 1999, 2005]).table()["added"].tolist()
    ['Study 2', 'Study 1', 'Study 3']
    """
    m = _model(result, allow_mods=False)
    k = m.y.size
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(f"order must hold one value per study (k = {k}); got shape {key.shape}")
        if pd.isna(pd.Series(key)).any():
            raise ValueError(f"order has missing values at positions {np.flatnonzero(pd.isna(pd.Series(key))).tolist()}")
        s = pd.Series(key)
        idx = np.asarray(s.sort_values(kind="stable", ascending=not decreasing).index, dtype=np.int64)
    rows = []
    for j in range(1, k + 1):
        try:
            rows.append(_row(_refit(m, idx[:j])))
        except (np.linalg.LinAlgError, ValueError):
            rows.append(_nan_row())
    a = np.array(rows, dtype=float)
    cols = {name: a[:, j] for j, name in enumerate(_PER_STUDY)}
    return CumulativeResult(labels=tuple(m.labels[i] for i in idx), order=idx, method=m.method, test=m.test,  # type: ignore[arg-type]
                            level=m.level, **cols)  # fmt: skip


def influence(result: Any) -> InfluenceResult:
    """Case-deletion influence diagnostics (metafor ``influence.rma.uni``).

    Parameters
    ----------
    result : PoolResult or MetaRegressionResult
        An inverse-variance model, with or without moderators.

    Returns
    -------
    InfluenceResult
        ``table()`` columns: ``label``, ``rstudent``, ``dffits``, ``cook_d``, ``cov_r``,
        ``tau2_del``, ``qe_del``, ``hat``, ``weight``, ``dfbetas_<term>``, ``influential``.

    Raises
    ------
    ValueError
        For k < 2 or a Mantel-Haenszel/Peto/GLMM result.

    Notes
    -----
    With the model refitted without study ``i`` (subscript ``(-i)``; ``s^2`` the Knapp-Hartung
    factor of that fit, 1 for z tests), ``W = diag(1/(v + tau^2))`` and ``h_i`` the hat value
    of the full model:

    * ``rstudent_i = (y_i - x_i'b_(-i)) / sqrt(s^2 v_i + x_i' V_(-i) x_i + s^2 tau^2_(-i))``;
    * ``DFFITS_i = (x_i'b - x_i'b_(-i)) / sqrt(s^2 h_i (tau^2_(-i) + v_i))``;
    * ``D_i = (b - b_(-i))' V^{-1} (b - b_(-i))`` (Cook's distance);
    * ``COVRATIO_i = det V_(-i) / det V``;
    * ``DFBETAS_ij = (b_j - b_(-i)j) / sqrt(s^2 [(X'W_(-i)X)^{-1}]_jj)`` with all k studies
      weighted by ``1/(v + tau^2_(-i))``.

    A study is flagged influential (metafor's rule) when ``|DFFITS| > 3 sqrt(p/(k - p))``, or
    the chi-square(p) CDF at ``D_i`` exceeds 0.5, or ``h_i > 3p/k``, or any ``|DFBETAS| > 1``.
    Refits that fail (a moderator constant without the study) give NaN for that study.

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    *Research Synthesis Methods* 1:112-125.

    Belsley DA, Kuh E, Welsch RE (1980). *Regression Diagnostics*. Wiley.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> res = pool([0.1, 0.5, 0.3, 0.9, 0.2], [0.02, 0.03, 0.02, 0.05, 0.01])
    >>> round(float(influence(res).table()["hat"].sum()), 6)
    1.0
    """
    m = _model(result, allow_mods=True)
    k, p = m.X.shape
    if k < 2:
        raise ValueError(f"influence needs k >= 2 studies; got k={k}")
    full = fit_rma(m.y, m.v, m.X, m.method, m.test, m.level, intercept=m.intercept)
    w = 1.0 / (m.v + full.tau2)
    WX = m.X * w[:, None]
    H = m.X @ np.linalg.solve(m.X.T @ WX, WX.T)
    hat = np.diag(H).copy()
    hat[hat > 1 - 10 * _EPS] = 1.0
    weight = 100 * w / w.sum()
    pred = m.X @ full.beta
    svb = np.linalg.inv(full.vb)
    det_full = float(np.linalg.det(full.vb))
    nan = np.full(k, np.nan)
    tau2_del, qe_del, delpred, vdelpred, s2w, dffits, cook, covr = (nan.copy() for _ in range(8))
    dfbs = np.full((k, p), np.nan)
    for i in range(k):
        keep = np.arange(k) != i
        if np.linalg.matrix_rank(m.X[keep]) < p:
            continue
        try:
            f = _refit(m, keep)
        except (np.linalg.LinAlgError, ValueError):
            continue
        xi = m.X[i]
        tau2_del[i], qe_del[i], s2w[i] = f.tau2, f.qe, f.s2w
        delpred[i] = float(xi @ f.beta)
        vdelpred[i] = float(xi @ f.vb @ xi)
        with np.errstate(divide="ignore", invalid="ignore"):
            dffits[i] = (pred[i] - delpred[i]) / math.sqrt(f.s2w * hat[i] * (f.tau2 + m.v[i]))
            wd = 1.0 / (m.v + f.tau2)
            vb_del = np.linalg.inv(m.X.T @ (m.X * wd[:, None]))
            dfb = full.beta - f.beta
            dfbs[i] = dfb / np.sqrt(f.s2w * np.diag(vb_del))
        cook[i] = float(dfb @ svb @ dfb)
        covr[i] = float(np.linalg.det(f.vb)) / det_full
    resid = m.y - delpred
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(m.v * s2w + vdelpred + tau2_del * s2w)
        infl = (
            (np.abs(dffits) > 3 * math.sqrt(p / (k - p)) if k > p else np.zeros(k, dtype=bool))
            | (stats.chi2.cdf(cook, p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(dfbs) > 1).any(axis=1)
        )
    return InfluenceResult(
        labels=m.labels, rstudent=rstudent, dffits=dffits, cook_d=cook, cov_r=covr, tau2_del=tau2_del,
        qe_del=qe_del, hat=hat, weight=weight, dfbetas=dfbs, terms=m.terms, influential=np.asarray(infl, dtype=bool), p=p,
    )  # fmt: skip

