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
    Cumulative meta-analysis, adding studies in a given order (ties together with
    ``collapse=True``). metafor: ``cumul``.
:func:`rstudent`, :func:`hat_matrix`, :func:`weight_matrix`
    Deleted residuals with their SEs, and the hat and weight matrices of a fit. metafor:
    ``rstudent``, ``hatvalues(type = "matrix")``, ``weights(type = "matrix")``.

Each takes a :class:`~metaoutcome.results.PoolResult` from :func:`metaoutcome.pool` (inverse
variance, any tau^2 estimator, any ``ci_method``) or, for :func:`influence` and the matrices,
also a :class:`~metaoutcome.regression.MetaRegressionResult`, and refits with the same estimator,
test and level, as metafor does; :func:`leave_one_out` and :func:`cumulative` also take a
Mantel-Haenszel or Peto fit (:func:`metaoutcome.pool_mh`, :func:`metaoutcome.pool_peto`) and
refit its tables. The inverse-variance refits are views of the one engine
(:mod:`metaoutcome.engine`).

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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._display import ReportMixin
from .engine import dist
from .engine.mods import fit_mods_rows, fit_rma
from .heterogeneity import Stack, masked, stack

__all__ = [
    "leave_one_out",
    "rstudent",
    "hat_matrix",
    "weight_matrix",
    "hatvalues",
    "weights",
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
    measure: str
    result: Any

    @property
    def int_only(self) -> bool:
        return self.X.shape[1] == 1 and self.intercept


def _model(result: Any, *, allow_mods: bool) -> _Model:
    """The data and settings of a PoolResult or MetaRegressionResult, checked."""
    from .regression import MetaRegressionResult
    from .results import PoolResult

    if isinstance(result, MetaRegressionResult):
        if not allow_mods and not result.int_only:
            raise ValueError("result: this diagnostic is defined for models without moderators (as metafor's)")
        return _Model(np.array(result.yi), np.array(result.vi), np.array(result.X), result.method, result.test,
                      result.level, result.labels, result.intercept, result.terms,
                      getattr(result, "measure", "GEN"), result)  # fmt: skip
    if isinstance(result, PoolResult):
        if result.method in ("MH", "PETO", "GLMM") or result.model not in ("common", "random"):
            raise ValueError(
                f"result: method={result.method!r} is not an inverse-variance model; pool with pool(..., "
                "method='REML' or another tau^2 estimator, or 'FE') for this diagnostic"
            )
        y = np.array(result.yi)
        return _Model(y, np.array(result.vi), np.ones((y.size, 1)), result.method, result.ci_method, result.level,
                      result.labels, True, ("intrcpt",), result.measure, result)  # fmt: skip
    raise ValueError(f"result must be a PoolResult or MetaRegressionResult; got {type(result).__name__}")


_PER_STUDY = ["estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "tau2", "i2", "h2"]


def _fit_subsets(m: _Model, s: Stack) -> dict[str, Any]:
    """The intercept-only model fitted to every row of ``s`` with the model's estimator, test and
    level (:func:`metaoutcome.engine.fit.fit_many`, the code behind :func:`metaoutcome.pool`)."""
    from .pooling import fit_many

    return fit_many(s, m.method, m.test, 1.0 - m.level / 100.0, profile=False, weights=False)


def _is_2x2(result: Any) -> bool:
    """A Mantel-Haenszel or Peto fit that carries its tables (so it can be refitted)."""
    return getattr(result, "model", None) in ("MH", "Peto") and getattr(result, "tables", None) is not None


def _fit_2x2_subsets(result: Any, incl: NDArray[np.bool_]) -> dict[str, Any]:
    """The Mantel-Haenszel or Peto fit refitted to each row's subset of the tables (metafor
    ``leave1out``/``cumul`` of ``rma.mh``/``rma.peto``): :func:`metaoutcome.pool_mh` or
    :func:`metaoutcome.pool_peto` with the fit's measure, level, ``correct`` and ``add``. A
    single-table subset has Q = 0, p = 1, I^2 = 0, H^2 = 1, as metafor reports it."""
    import warnings

    from .pooling import pool_mh, pool_peto

    t = np.asarray(result.tables, dtype=float)
    add = float(result.extra.get("add", 0.5))
    cols: dict[str, list[float]] = {name: [] for name in _PER_STUDY}
    for row in incl:
        a, b, c, d = t[row].T
        with warnings.catch_warnings():  # (a refit's notes repeat the full fit's)
            warnings.simplefilter("ignore")
            if result.model == "MH":
                f = pool_mh(a, b, c, d, measure=result.measure, level=result.level, add=add,
                            correct=bool(result.extra.get("correct", 1.0)))  # fmt: skip
            else:
                f = pool_peto(a, b, c, d, level=result.level, add=add)
        one = int(row.sum()) == 1
        for name in _PER_STUDY:
            val = float(getattr(f, name))
            if one and name in ("q", "q_pvalue", "i2", "h2"):
                val = {"q": 0.0, "q_pvalue": 1.0, "i2": 0.0, "h2": 1.0}[name]
            cols[name].append(val)
    return {name: np.array(vals) for name, vals in cols.items()}


def _refits(result: Any, m: _Model | None, incl: NDArray[np.bool_], y: FloatArray, v: FloatArray) -> dict[str, Any]:
    """The per-row columns of a refit series: the 2x2 refits, or the engine's intercept-only fits."""
    if m is None:
        return _fit_2x2_subsets(result, incl)
    fit = _fit_subsets(m, masked(y, v, incl))
    return {name: np.asarray(fit[name], dtype=float) for name in _PER_STUDY}


def _settings(result: Any) -> tuple[_Model | None, tuple[str, ...], str, str, float, str]:
    """(engine model or None for a 2x2 fit, labels, method, test, level, measure) of a refit series."""
    if _is_2x2(result):
        return None, tuple(result.labels), result.method, "z", float(result.level), result.measure
    m = _model(result, allow_mods=False)
    return m, m.labels, m.method, m.test, m.level, m.measure


@dataclass(frozen=True, eq=False, repr=False)
class _Refits(ReportMixin):
    """The intercept-only model refitted to a series of subsets of the studies, one per row."""

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
    measure: str | None = None
    overall: Any = field(default=None, repr=False)

    def _table(self, first: str, k: Any) -> pd.DataFrame:
        d: dict[str, Any] = {first: list(self.labels), "k": k}
        d.update({c: getattr(self, c) for c in _PER_STUDY})
        return pd.DataFrame(d)

    #: (title of the report, name of the forest-plot function in metaoutcome.plotting)
    _what: ClassVar[tuple[str, str]] = ("", "")

    def report(self) -> dict[str, Any]:
        return {"title": f"{self._what[0]} (k = {len(self.labels)}; {self.method}, test {self.test})",
                "lines": [], "table": self.table(), "notes": ()}  # fmt: skip

    def forest(self, **kwargs: Any) -> Any:
        """Forest plot of the refits (:func:`metaoutcome.plotting.loo_forest` or
        :func:`metaoutcome.plotting.cumulative_forest`)."""
        from . import plotting

        if isinstance(self, CumulativeResult) and self.k is not None and len(self.labels) != len(self.order):
            raise ValueError("forest(): a collapsed cumulative analysis (collapse=True) has rows per ordering value, "
                             "not per study, which cumulative_forest does not draw; use table(), or cumulative() "
                             "without collapse")  # fmt: skip
        model = getattr(self.overall, "model", None)
        if model in ("MH", "Peto"):  # the diamond is the Mantel-Haenszel or Peto fit, not a random-effects one
            name = "Mantel-Haenszel" if model == "MH" else "Peto"
            kwargs.setdefault("random_label", f"All studies ({name})")
            kwargs.setdefault("common_label", f"All studies ({name})")
        return getattr(plotting, self._what[1])(self, self.overall, **kwargs)

    def table(self) -> pd.DataFrame:  # pragma: no cover - each subclass has its own
        raise NotImplementedError

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()


@dataclass(frozen=True, eq=False, repr=False)
class LeaveOneOutResult(_Refits):
    """Result of :func:`leave_one_out` (metafor ``leave1out``); ``forest()`` draws
    :func:`metaoutcome.plotting.loo_forest`.

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
    measure : str or None
        The model's measure (for the natural scale of the forest plot).
    overall : PoolResult or MetaRegressionResult
        The model with all studies.
    """

    _what: ClassVar[tuple[str, str]] = ("Leave-one-out analysis", "loo_forest")

    def table(self) -> pd.DataFrame:
        """Tidy table, one row per omitted study: ``omitted`` then the attributes above."""
        return self._table("omitted", len(self.labels) - 1)


@dataclass(frozen=True, eq=False, repr=False)
class CumulativeResult(_Refits):
    """Result of :func:`cumulative` (metafor ``cumul``); ``forest()`` draws
    :func:`metaoutcome.plotting.cumulative_forest`.

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
    measure : str or None
        The model's measure (for the natural scale of the forest plot).
    overall : PoolResult or MetaRegressionResult
        The model with all studies.
    """

    _what: ClassVar[tuple[str, str]] = ("Cumulative meta-analysis", "cumulative_forest")
    order: NDArray[np.int64] = field(kw_only=True)
    #: studies in each row's fit (1, 2, ..., k; fewer rows with ``collapse=True``)
    k: NDArray[np.int64] | None = field(default=None, kw_only=True)

    def table(self) -> pd.DataFrame:
        """Tidy table: ``added`` (with ``collapse``: the ordering value), ``k`` (studies so far),
        then the pooled columns."""
        return self._table("added", np.arange(1, len(self.labels) + 1) if self.k is None else self.k)


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
    resid, resid_se : ndarray
        The deleted residual ``y_i - x_i'b_(-i)`` and its standard error, of which ``rstudent``
        is the ratio (metafor ``rstudent(res)$resid``, ``$se``, ``$z``).
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
    resid: FloatArray | None = None
    resid_se: FloatArray | None = None

    def rstudent_table(self) -> pd.DataFrame:
        """metafor's ``rstudent(res)``: ``label``, ``resid``, ``se``, ``z`` (the externally
        studentized residual; a t-like ratio for Knapp-Hartung models, as metafor)."""
        return pd.DataFrame({"label": list(self.labels), "resid": self.resid, "se": self.resid_se, "z": self.rstudent})

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


def leave_one_out(result: Any) -> LeaveOneOutResult:
    """Refit the model leaving out each study in turn (metafor ``leave1out``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (common effect or any tau^2 estimator, any
        ``ci_method``); an intercept-only :class:`~metaoutcome.regression.MetaRegressionResult`;
        or a Mantel-Haenszel or Peto fit, whose tables are refitted (metafor ``leave1out`` of
        ``rma.mh``/``rma.peto``).

    Returns
    -------
    LeaveOneOutResult
        ``table()`` columns: ``omitted``, ``k``, ``estimate``, ``se``, ``statistic``, ``pvalue``,
        ``ci_low``, ``ci_high``, ``q``, ``q_pvalue``, ``tau2``, ``i2``, ``h2``.

    Raises
    ------
    ValueError
        For k < 2, a model with moderators, or a GLMM result.

    Notes
    -----
    Row ``i`` is the model fitted to the k - 1 studies other than ``i`` with the same estimator,
    test and level. With k - 1 = 1 the "pooled" value is the remaining study (tau^2 = 0,
    Q = 0, I^2 = 0, H^2 = 1 and a z test, as metafor). The k inverse-variance refits run at once
    in :func:`metaoutcome.engine.fit.fit_many`, the code behind :func:`metaoutcome.pool`.

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
    m, labels, method, test, level, measure = _settings(result)
    k = len(labels)
    if k < 2:
        raise ValueError(f"leave_one_out needs k >= 2 studies; got k={k}")
    y, v = (m.y, m.v) if m is not None else (None, None)
    cols = _refits(result, m, ~np.eye(k, dtype=bool), y, v)  # type: ignore[arg-type]
    return LeaveOneOutResult(labels=labels, method=method, test=test, level=level,  # type: ignore[arg-type]
                             measure=measure, overall=result, **cols)  # fmt: skip


def cumulative(
    result: Any, order: ArrayLike | None = None, *, decreasing: bool = False, collapse: bool = False
) -> CumulativeResult:
    """Cumulative meta-analysis (metafor ``cumul``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result (or an intercept-only meta-regression), or a
        Mantel-Haenszel or Peto fit (:func:`metaoutcome.pool_mh`, :func:`metaoutcome.pool_peto`).
    order : array-like, optional
        A value per study to order by (e.g. publication year), as metafor's ``order``: studies
        are added in increasing order of it (ties keep the input order). Default: input order.
    decreasing : bool, default False
        Add studies in decreasing order of ``order``.
    collapse : bool, default False
        Add studies that share an ``order`` value together, one row per distinct value (metafor
        4's ``cumul(..., collapse = TRUE)``); the rows are then labelled by the value. Needs
        ``order``.

    Returns
    -------
    CumulativeResult
        ``table()`` columns: ``added``, ``k``, ``estimate``, ``se``, ``statistic``, ``pvalue``,
        ``ci_low``, ``ci_high``, ``q``, ``q_pvalue``, ``tau2``, ``i2``, ``h2``.

    Notes
    -----
    Row ``j`` is the model fitted to the first ``j`` studies in that order (with ``collapse``,
    to the studies whose value is at or before the ``j``-th distinct value), with the result's
    estimator, test and level. A row with one study is that study alone: tau^2 = 0, Q = 0,
    I^2 = 0, H^2 = 1 and a z test whatever the model's test, as metafor's ``rma`` with k = 1.
    Inverse-variance rows are fitted at once by :func:`metaoutcome.engine.fit.fit_many`, the
    code behind :func:`metaoutcome.pool`; Mantel-Haenszel and Peto rows by refitting the tables.

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
    >>> cumulative(res, order=[2001, 2001, 2005], collapse=True).table()["k"].tolist()
    [2, 3]
    """
    m, labels, method, test, level, measure = _settings(result)
    k = len(labels)
    if order is None:
        if collapse:
            raise ValueError("collapse=True needs order= (the values whose ties are added together)")
        idx = np.arange(k)
        key = None
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(f"order must hold one value per study (k = {k}); got shape {key.shape}")
        if pd.isna(pd.Series(key)).any():
            raise ValueError(f"order has missing values at positions {np.flatnonzero(pd.isna(pd.Series(key))).tolist()}")
        s = pd.Series(key)
        idx = np.asarray(s.sort_values(kind="stable", ascending=not decreasing).index, dtype=np.int64)
    incl = np.tri(k, dtype=bool)  # row j: the first j + 1 studies in this order
    row_labels = tuple(labels[i] for i in idx)
    if collapse:
        ordered = key[idx]  # type: ignore[index]
        last = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))  # last study of each value
        incl = incl[last]
        row_labels = tuple(str(val) for val in ordered[last])
    y, v = (m.y[idx], m.v[idx]) if m is not None else (None, None)
    if m is None:  # the 2x2 tables in this order
        incl_orig = np.zeros_like(incl)
        incl_orig[:, idx] = incl
        cols = _refits(result, None, incl_orig, None, None)  # type: ignore[arg-type]
    else:
        cols = _refits(result, m, incl, y, v)  # type: ignore[arg-type]
    return CumulativeResult(labels=row_labels, order=idx, method=method, test=test,  # type: ignore[arg-type]
                            level=level, measure=measure, overall=result, k=incl.sum(axis=1), **cols)  # fmt: skip


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
    if m.int_only:
        return _influence_int_only(m)
    full = fit_rma(m.y, m.v, m.X, m.method, m.test, m.level, intercept=m.intercept)
    w = 1.0 / (m.v + full.tau2)
    WX = m.X * w[:, None]
    H = m.X @ np.linalg.solve(m.X.T @ WX, WX.T)
    hat = np.diag(H).copy()
    hat[hat > 1 - 10 * _EPS] = 1.0
    weight = 100 * w / w.sum()
    pred = m.X @ full.beta
    nan = np.full(k, np.nan)
    tau2_del, qe_del, delpred, vdelpred, s2w, dffits, cook, covr = (nan.copy() for _ in range(8))
    dfbs = np.full((k, p), np.nan)
    # the k deletions as one stack for the engine (a deletion that leaves X rank deficient: NaN)
    keep = ~np.eye(k, dtype=bool)
    full_rank = np.linalg.matrix_rank(np.where(keep[:, :, None], m.X[None], 0.0)) == p
    f, fitted = fit_mods_rows(masked(m.y, m.v, keep[full_rank], m.X), method=m.method, test=m.test,
                              level=m.level, intercept=m.intercept)  # fmt: skip
    rows = np.flatnonzero(full_rank)[fitted]
    f = {name: (val[fitted] if isinstance(val, np.ndarray) and val.shape[:1] == fitted.shape else val)
         for name, val in f.items()}  # fmt: skip
    if rows.size:
        xi = m.X[rows]
        tau2_del[rows], qe_del[rows], s2w[rows] = f["tau2"], f["qe"], f["s2w"]
        delpred[rows] = np.einsum("gi,gi->g", xi, f["beta"])
        vdelpred[rows] = np.einsum("gi,gij,gj->g", xi, f["vb"], xi)
        with np.errstate(divide="ignore", invalid="ignore"):
            dffits[rows] = (pred[rows] - delpred[rows]) / np.sqrt(s2w[rows] * hat[rows] * (tau2_del[rows] + m.v[rows]))
            # DFBETAS weights all k studies by 1/(v + tau^2_(-i))
            wd = 1.0 / (m.v[None, :] + tau2_del[rows][:, None])
            vb_del = np.linalg.inv(np.einsum("ki,gk,kj->gij", m.X, wd, m.X))
            dfb = full.beta[None, :] - f["beta"]
            dfbs[rows] = dfb / np.sqrt(s2w[rows][:, None] * np.einsum("gii->gi", vb_del))
        cook[rows] = np.einsum("gi,ij,gj->g", dfb, np.linalg.inv(full.vb), dfb)
        covr[rows] = np.linalg.det(f["vb"]) / float(np.linalg.det(full.vb))
    return _influence_result(m, p, hat, weight, pred, delpred, vdelpred, s2w, tau2_del, qe_del, dffits, cook, covr, dfbs)


def _influence_int_only(m: _Model) -> InfluenceResult:
    """:func:`influence` for an intercept-only model: the k deletions fitted at once by the engine.

    With ``p = 1`` every matrix of the general case is a number: ``h_i = w_i / sum w``,
    ``Var(b) = s^2 / sum w`` and ``Var(b_(-i)) = s^2_(-i) / sum_(-i) w``.
    """
    k = m.y.size
    full = _fit_subsets(m, stack(m.y, m.v))
    tau2 = float(full["tau2"][0])
    w = 1.0 / (m.v + tau2)
    sw = float(np.sum(w))
    hat = w / sw
    hat[hat > 1 - 10 * _EPS] = 1.0
    weight = 100 * w / sw
    beta = float(full["estimate"][0])
    vb = float(full["s2w"][0]) / sw
    dele = _fit_subsets(m, masked(m.y, m.v, ~np.eye(k, dtype=bool)))
    tau2_del, qe_del, s2w = dele["tau2"], dele["q"], dele["s2w"]
    delpred = np.asarray(dele["estimate"], dtype=float)
    vdelpred = s2w / dele["sw"]
    pred = np.full(k, beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        dffits = (pred - delpred) / np.sqrt(s2w * hat * (tau2_del + m.v))
        # DFBETAS weights all k studies by 1/(v + tau^2_(-i))
        sw_all = (1.0 / (m.v[None, :] + tau2_del[:, None])).sum(axis=1)
        dfb = beta - delpred
        dfbs = (dfb / np.sqrt(s2w / sw_all))[:, None]
    cook = dfb * dfb / vb
    covr = vdelpred / vb
    return _influence_result(m, 1, hat, weight, pred, delpred, vdelpred, s2w, tau2_del, qe_del, dffits, cook, covr, dfbs)


def _influence_result(m: _Model, p: int, hat: FloatArray, weight: FloatArray, pred: FloatArray, delpred: FloatArray,
                      vdelpred: FloatArray, s2w: FloatArray, tau2_del: FloatArray, qe_del: FloatArray,
                      dffits: FloatArray, cook: FloatArray, covr: FloatArray, dfbs: FloatArray) -> InfluenceResult:  # fmt: skip
    """Residuals, metafor's influential flag and the result, from the case-deletion pieces."""
    k = m.y.size
    resid = m.y - delpred
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        resid_se = np.sqrt(m.v * s2w + vdelpred + tau2_del * s2w)
        rstudent = resid / resid_se
        infl = (
            (np.abs(dffits) > 3 * math.sqrt(p / (k - p)) if k > p else np.zeros(k, dtype=bool))
            | (dist.chi2_cdf(cook, p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(dfbs) > 1).any(axis=1)
        )
    return InfluenceResult(
        labels=m.labels, rstudent=rstudent, dffits=dffits, cook_d=cook, cov_r=covr, tau2_del=tau2_del,
        qe_del=qe_del, hat=hat, weight=weight, dfbetas=dfbs, terms=m.terms, influential=np.asarray(infl, dtype=bool), p=p,
        resid=resid, resid_se=resid_se,
    )  # fmt: skip


def rstudent(result: Any) -> pd.DataFrame:
    """Externally studentized residuals with the residual and its SE (metafor ``rstudent``).

    Parameters
    ----------
    result : PoolResult or MetaRegressionResult
        An inverse-variance model, with or without moderators.

    Returns
    -------
    pandas.DataFrame
        ``label``, ``resid`` (``y_i - x_i'b_(-i)``, the model refitted without study ``i``),
        ``se`` (``sqrt(s^2 v_i + x_i' V_(-i) x_i + s^2 tau^2_(-i))``) and ``z = resid / se``.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> t = rstudent(pool([0.1, 0.5, 0.3, 0.9, 0.2], [0.02, 0.03, 0.02, 0.05, 0.01]))
    >>> list(t.columns)
    ['label', 'resid', 'se', 'z']
    """
    return influence(result).rstudent_table()


def _matrices(result: Any) -> tuple[FloatArray, FloatArray]:
    m = _model(result, allow_mods=True)
    tau2 = float(result.tau2) if not math.isnan(float(result.tau2)) else 0.0
    w = 1.0 / (m.v + tau2)
    WX = m.X * w[:, None]
    return np.asarray(m.X @ np.linalg.solve(m.X.T @ WX, WX.T), dtype=float), np.diag(w)


def hat_matrix(result: Any) -> FloatArray:
    """The hat matrix ``H = X (X'WX)^{-1} X'W`` of a fit, ``W = diag(1/(v + tau^2))`` (metafor
    ``hatvalues(res, type = "matrix")``); its diagonal is :attr:`InfluenceResult.hat`.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> H = hat_matrix(pool([0.1, 0.5, 0.3], [0.02, 0.03, 0.02], method="FE"))
    >>> round(float(H.trace()), 6)
    1.0
    """
    return _matrices(result)[0]


def weight_matrix(result: Any) -> FloatArray:
    """The weight matrix ``W = diag(1/(v + tau^2))`` of a fit (metafor ``weights(res, type =
    "matrix")``; the percentages ``100 w / sum(w)`` are ``result.weights``).

    Examples
    --------
    >>> from metaoutcome import pool
    >>> weight_matrix(pool([0.1, 0.5], [0.02, 0.04], method="FE")).diagonal().tolist()
    [50.0, 25.0]
    """
    return _matrices(result)[1]


def _by_type(matrix: FloatArray, type: str, percent: bool) -> FloatArray:  # noqa: A002
    from ._checks import check_choice

    if check_choice("type", type, ["diagonal", "matrix"]) == "matrix":
        return matrix
    d = np.diag(matrix).copy()
    return np.asarray(100.0 * d / d.sum() if percent else d, dtype=float)


def hatvalues(result: Any, type: str = "diagonal") -> FloatArray:  # noqa: A002 - metafor's argument name
    """metafor's ``hatvalues(res, type)``: the hat values (``"diagonal"``) or :func:`hat_matrix`.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> hatvalues(pool([0.1, 0.5], [0.02, 0.02], method="FE")).tolist()
    [0.5, 0.5]
    """
    return _by_type(hat_matrix(result), type, percent=False)


def weights(result: Any, type: str = "diagonal") -> FloatArray:  # noqa: A002 - metafor's argument name
    """metafor's ``weights(res, type)``: the weights in percent (``"diagonal"``) or :func:`weight_matrix`.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> weights(pool([0.1, 0.5], [0.02, 0.06], method="FE")).tolist()
    [75.0, 25.0]
    """
    return _by_type(weight_matrix(result), type, percent=True)
