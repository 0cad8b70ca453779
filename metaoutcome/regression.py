"""Meta-regression: mixed-effects models with moderators, equal to R metafor.

Entry points
------------
:func:`meta_regression`
    ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau^2)``, ``e_i ~ N(0, v_i)``: coefficient
    table, omnibus test of the moderators (QM), residual heterogeneity (QE, tau^2, I^2, H^2) and
    metafor's pseudo R^2. metafor: ``rma(yi, vi, mods = ~ ..., method, test)``.
:func:`permutation_test`
    Permutation p-values for the coefficients and the omnibus test, exact (all permutations)
    when they are few. metafor: ``permutest``.

Example
-------
BCG vaccine trials (metafor's ``dat.bcg``), log risk ratios regressed on absolute latitude and
treatment allocation:

>>> import numpy as np, pandas as pd
>>> tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
>>> tneg = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
>>> cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
>>> cneg = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
>>> bcg = pd.DataFrame({
...     "yi": np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg)),
...     "vi": 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg),
...     "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
...     "alloc": ["random", "random", "random", "random", "alternate", "alternate", "random",
...               "random", "random", "systematic", "systematic", "systematic", "systematic"]})
>>> res = meta_regression(bcg, mods=["ablat", "alloc"])
>>> res.table()[["term", "estimate"]].round(4)
              term  estimate
0          intrcpt    0.2932
1            ablat   -0.0273
2      allocrandom   -0.2675
3  allocsystematic    0.0585
>>> round(res.tau2, 4), round(res.qm, 4), round(res.r2, 2)
(0.1446, 11.0606, 53.84)
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import check_flag, check_names, check_positions, level_percent
from ._display import ReportMixin
from ._frontdoor import excluded_note, refuse_extreme, resolve
from .engine.mods import RmaFit, default_btt, fit_rma, pseudo_r2
from .engine.permute import permutation_refits
from .options import CI_METHODS, COMMON_METHODS, KNHA_METHODS, METHODS, ci_method_option, method_option
from .results import ExcludedRow

__all__ = [
    "meta_regression",
    "permutation_test",
    "MetaRegressionResult",
    "PermutationTestResult",
    "design_matrix",
    "REGRESSION_METHODS",
    "REGRESSION_TESTS",
]

FloatArray = NDArray[np.float64]
#: Allowed ``method`` values (metafor's names; FE/EE/CE = common effect).
REGRESSION_METHODS: tuple[str, ...] = METHODS
#: Allowed ``test`` values.
REGRESSION_TESTS: tuple[str, ...] = CI_METHODS
#: A progress callback receives (done, total).
ProgressCallback = Callable[[int, int], None]


def _readonly(a: Any) -> FloatArray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


# ------------------------------------------------------------------------------------------------
# design matrix
# ------------------------------------------------------------------------------------------------


def _is_categorical(s: pd.Series) -> bool:
    return bool(
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
        or pd.api.types.is_bool_dtype(s)
    )


def design_matrix(
    data: pd.DataFrame, mods: Sequence[str], *, intercept: bool = True, labels: Sequence[str] | None = None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Model matrix of ``mods`` as R's ``model.matrix(~ mods)`` with treatment contrasts.

    Parameters
    ----------
    data : DataFrame
        Holds the moderator columns.
    mods : sequence of str
        Column names. Numeric columns enter as they are; text, boolean and categorical columns
        become treatment-coded dummies with the first level as reference (categories in their
        declared order for a pandas Categorical, otherwise sorted, as R's ``factor``), named
        ``<column><level>`` as R names them.
    intercept : bool, default True
        Prepend the intercept column ``intrcpt``.
    labels : sequence of str, optional
        Study labels, used in error messages.

    Returns
    -------
    X : ndarray, shape (k, p)
    names : tuple of str

    Raises
    ------
    ValueError
        For an unknown column (listing the columns), a moderator with missing values (naming
        the column, rows and labels), a constant moderator, or a rank-deficient design (metafor
        drops redundant columns with a warning; here it is an error, so nothing is dropped
        silently).
    """
    k = len(data)
    lab = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(k)]
    intercept = check_flag("intercept", intercept)
    cols: list[FloatArray] = [np.ones(k)] if intercept else []
    names: list[str] = ["intrcpt"] if intercept else []
    for m in mods:
        if m not in data.columns:
            listed = ", ".join(repr(c) for c in data.columns)
            raise ValueError(f"mods: {m!r} is not a column of data; the columns are: {listed}")
        s = data[m]
        miss = s.isna().to_numpy()
        if miss.any():
            rows = np.flatnonzero(miss)
            shown = ", ".join(f"{i} ({lab[i]})" for i in rows[:10])
            raise ValueError(
                f"mods: column {m!r} has missing values in rows {shown}; meta-regression needs a value "
                "for every study (drop those rows or impute, and say so)"
            )
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [c for c in s.cat.categories if (s == c).any()]
            elif pd.api.types.is_bool_dtype(s):
                levels = [lv for lv in (False, True) if (s == lv).any()]
            else:
                levels = sorted(pd.unique(s.astype(str)))
                s = s.astype(str)
            if len(levels) < 2:
                raise ValueError(
                    f"mods: column {m!r} is constant (single level {levels[0]!r}); its effect cannot be "
                    "estimated (metafor drops it as a redundant predictor)"
                )
            for lv in levels[1:]:
                cols.append((s == lv).to_numpy(dtype=float))
                names.append(f"{m}{'TRUE' if lv is True else lv}")
        else:
            try:
                x = s.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"mods: column {m!r} is neither numeric nor categorical") from None
            if not np.all(np.isfinite(x)):
                raise ValueError(f"mods: column {m!r} has non-finite values in rows {np.flatnonzero(~np.isfinite(x)).tolist()}")
            if np.ptp(x) == 0:
                raise ValueError(
                    f"mods: column {m!r} is constant ({x[0]:g} for every study); its effect cannot be "
                    "estimated (metafor drops it as a redundant predictor)"
                )
            cols.append(x)
            names.append(str(m))
    if not cols:
        raise ValueError("the model has no columns: give mods= or keep intercept=True")
    X = np.column_stack(cols)
    _check_rank(X, tuple(names))
    return X, tuple(names)


def _check_rank(X: FloatArray, names: tuple[str, ...]) -> None:
    k, p = X.shape
    if np.linalg.matrix_rank(X) < p:
        raise ValueError(
            f"the design matrix (columns {list(names)}) is not of full rank: some moderators are "
            "collinear (metafor drops redundant predictors with a warning; remove them explicitly)"
        )


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class MetaRegressionResult(ReportMixin):
    """Result of :func:`meta_regression` (metafor ``rma.uni`` with ``mods``).

    Attributes
    ----------
    k, p : int
        Number of studies and of coefficients.
    terms : tuple of str
        Coefficient names (``intrcpt``, numeric moderators, ``<column><level>`` dummies).
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Coefficient table (statistic is z or t; t with ``df = k - p`` for test "t"/"knha"/"adhoc").
    vcov : ndarray
        Variance-covariance matrix of the coefficients (Knapp-Hartung scaled where used).
    df : float
        Degrees of freedom of the t tests (NaN for z).
    qm, qm_df1, qm_df2, qm_pvalue : float
        Omnibus test of the coefficients in ``btt``: chi-square with ``qm_df1`` df (z), or F with
        (``qm_df1``, ``qm_df2``) df (knha/t/adhoc; ``qm`` is then the F statistic).
    btt : tuple of int
        0-based positions of the coefficients the omnibus test covers (default all but the
        intercept).
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    tau2, tau2_se, i2, h2 : float
        Residual tau^2, its SE, residual I^2 (percent) and H^2.
    r2 : float
        Pseudo R^2 in percent (metafor's ``R2``), NaN when the model has no moderators.
    method, test : str
        tau^2 estimator and inference method.
    level : float
        Confidence level in percent.
    ll_ml, ll_reml : float
        ML and REML log-likelihoods (metafor's ``fit.stats``).
    s2w : float
        Knapp-Hartung variance factor (1 for z).
    yi, vi : ndarray
        Data.
    X : ndarray
        Design matrix.
    labels : tuple of str
        Study labels.
    weights : ndarray
        Weights in percent.
    intercept : bool
        Whether the model has an intercept (fitted via ``mods=`` with ``intercept=True``).
    measure : str
        Measure name.
    converged : bool
        Solver convergence.
    notes : tuple of str
        Warnings issued.
    tau2_ci_low, tau2_ci_high, tau_ci_low, tau_ci_high, i2_ci_low, i2_ci_high, h2_ci_low, h2_ci_high : float
        Q-profile confidence interval of the residual tau^2 and the tau, I^2 and H^2 bounds it
        implies (metafor ``confint(res)``); NaN for a common-effect model.
    tau2_ci_signs : tuple of str
        ``">"`` for a bound at the search limit (metafor prints ``>100.0000``), else ``""``.
    excluded : tuple of ExcludedRow
        Rows of the input frame not used, with the reason (as :attr:`PoolResult.excluded`).
    """

    k: int
    p: int
    terms: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    vcov: FloatArray
    df: float
    qm: float
    qm_df1: int
    qm_df2: float
    qm_pvalue: float
    btt: tuple[int, ...]
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    tau2_se: float
    i2: float
    h2: float
    r2: float
    method: str
    test: str
    level: float
    ll_ml: float
    ll_reml: float
    s2w: float
    yi: FloatArray
    vi: FloatArray
    X: FloatArray
    labels: tuple[str, ...]
    weights: FloatArray
    intercept: bool = True
    measure: str = "GEN"
    converged: bool = True
    notes: tuple[str, ...] = field(default=())
    tau2_ci_low: float = math.nan
    tau2_ci_high: float = math.nan
    i2_ci_low: float = math.nan
    i2_ci_high: float = math.nan
    h2_ci_low: float = math.nan
    h2_ci_high: float = math.nan
    tau2_ci_signs: tuple[str, str] = ("", "")
    excluded: tuple[ExcludedRow, ...] = field(default=())

    @property
    def tau_ci_low(self) -> float:
        return math.sqrt(self.tau2_ci_low)

    @property
    def tau_ci_high(self) -> float:
        return math.sqrt(self.tau2_ci_high)

    def confint(self) -> pd.DataFrame:
        """Q-profile confidence intervals of the residual heterogeneity (metafor ``confint(res)$random``).

        Returns
        -------
        pandas.DataFrame
            Rows ``tau2``, ``tau``, ``i2``, ``h2``; columns ``statistic``, ``estimate``,
            ``ci_low``, ``ci_high``.

        Notes
        -----
        The tau^2 bounds solve ``Q(tau^2) = chi2_{k-p}`` quantiles for the generalized Q of the
        model with its moderators (Viechtbauer 2007); I^2 and H^2 bounds follow from them with
        the model's typical variance.

        Examples
        --------
        >>> import numpy as np
        >>> res = meta_regression(yi=[0.1, 0.5, 0.3, 0.9, 0.4], vi=[0.02, 0.03, 0.02, 0.05, 0.01],
        ...                       X=np.column_stack([np.ones(5), [1, 2, 3, 4, 5]]))
        >>> res.confint()["statistic"].tolist()
        ['tau2', 'tau', 'i2', 'h2']
        """
        return pd.DataFrame({
            "statistic": ["tau2", "tau", "i2", "h2"],
            "estimate": [self.tau2, math.sqrt(self.tau2), self.i2, self.h2],
            "ci_low": [self.tau2_ci_low, self.tau_ci_low, self.i2_ci_low, self.h2_ci_low],
            "ci_high": [self.tau2_ci_high, self.tau_ci_high, self.i2_ci_high, self.h2_ci_high],
        })  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "vcov", "yi", "vi", "X", "weights"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    @property
    def int_only(self) -> bool:
        """True for an intercept-only model."""
        return self.p == 1 and self.intercept

    def table(self) -> pd.DataFrame:
        """Tidy coefficient table.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient: ``term``, ``estimate``, ``se``, ``statistic`` (z or t),
            ``df`` (NaN for z), ``pvalue``, ``ci_low``, ``ci_high``.
        """
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "se": self.se,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def summary(self) -> pd.DataFrame:
        """The coefficient table (:meth:`table`)."""
        return self.table()

    def heterogeneity(self) -> pd.DataFrame:
        """Tidy model-level statistics.

        Returns
        -------
        pandas.DataFrame
            Rows ``tau2``, ``tau2_se``, ``i2``, ``h2``, ``r2``, ``qe``, ``qe_df``, ``qe_pvalue``,
            ``qm``, ``qm_df1``, ``qm_df2``, ``qm_pvalue``; columns ``statistic``, ``value``.
        """
        names = ["tau2", "tau2_se", "i2", "h2", "r2", "qe", "qe_df", "qe_pvalue", "qm", "qm_df1", "qm_df2", "qm_pvalue"]
        return pd.DataFrame({"statistic": names, "value": [float(getattr(self, n)) for n in names]})

    def bubble(self, mod: str | int | None = None, **kwargs: Any) -> Any:
        """Bubble plot of the fitted model against one moderator (:func:`metaoutcome.plotting.bubble`,
        metafor ``regplot``)."""
        from .plotting import bubble

        return bubble(self, mod, **kwargs)

    def fitted(self) -> FloatArray:
        """Fitted values ``X beta``."""
        return np.asarray(self.X @ self.estimate, dtype=float)

    def report(self) -> dict[str, Any]:
        """Display structure: title, model-level lines, coefficient table, notes."""
        kind = "Fixed-Effects" if self.method in COMMON_METHODS else "Mixed-Effects"
        title = f"{kind} Model (k = {self.k}; tau^2 estimator: {self.method}; test: {self.test})"
        lines: list[tuple[str, Any]] = []
        if self.method not in COMMON_METHODS:
            lines += [("tau^2 (residual)", self.tau2), ("I^2 (residual, %)", self.i2), ("H^2 (residual)", self.h2)]
            if not math.isnan(self.r2):
                lines.append(("R^2 (%)", self.r2))
        lines.append((f"QE (df = {self.qe_df})", self.qe))
        lines.append(("QE p-value", self.qe_pvalue))
        if self.test == "z":
            lines.append((f"QM (df = {self.qm_df1})", self.qm))
        else:
            lines.append((f"F (df1 = {self.qm_df1}, df2 = {self.qm_df2:g})", self.qm))
        lines.append(("QM p-value", self.qm_pvalue))
        return {"title": title, "lines": lines, "table": self.table(), "notes": self.notes}


@dataclass(frozen=True, eq=False, repr=False)
class PermutationTestResult(ReportMixin):
    """Result of :func:`permutation_test` (metafor ``permutest``).

    Attributes
    ----------
    terms : tuple of str
        Coefficient names.
    estimate, statistic : ndarray
        Observed coefficients and z/t statistics.
    pvalue : ndarray
        Permutation p-value per coefficient (two-sided: share of permutations with
        ``|stat| >= |observed| - tol``).
    qm, qm_pvalue : float
        Observed omnibus statistic and its permutation p-value.
    exact : bool
        All distinct permutations were used.
    iterations : int
        Number of permutations (including the observed arrangement).
    seed : int or None
        Seed of the random permutations (None when exact).
    statistic_perm : ndarray, shape (iterations, p)
        Statistics under each permutation.
    qm_perm : ndarray
        Omnibus statistic under each permutation.
    """

    terms: tuple[str, ...]
    estimate: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    qm: float
    qm_pvalue: float
    exact: bool
    iterations: int
    seed: int | None
    statistic_perm: FloatArray
    qm_perm: FloatArray

    def table(self) -> pd.DataFrame:
        """Tidy table: ``term``, ``estimate``, ``statistic``, ``pvalue`` (permutation)."""
        return pd.DataFrame(
            {"term": list(self.terms), "estimate": self.estimate, "statistic": self.statistic, "pvalue": self.pvalue}
        )

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        kind = "exact" if self.exact else f"approximate (seed {self.seed})"
        return {
            "title": f"Permutation test, {kind}, {self.iterations} permutations",
            "lines": [("QM", self.qm), ("QM permutation p-value", self.qm_pvalue)],
            "table": self.table(),
            "notes": (),
        }


# ------------------------------------------------------------------------------------------------
# public functions
# ------------------------------------------------------------------------------------------------


def _result_from_fit(
    fit: RmaFit, y: FloatArray, v: FloatArray, X: FloatArray, terms: tuple[str, ...], labels: tuple[str, ...],
    method: str, test: str, level: float, intercept: bool, measure: str, notes: tuple[str, ...],
    excluded: tuple[ExcludedRow, ...] = (),
) -> MetaRegressionResult:  # fmt: skip
    int_only = X.shape[1] == 1 and intercept
    r2 = float("nan") if (int_only or not intercept) else pseudo_r2(y, v, X, fit, method)
    return MetaRegressionResult(
        k=fit.k, p=fit.p, terms=terms, estimate=fit.beta, se=fit.se, statistic=fit.statistic, pvalue=fit.pvalue,
        ci_low=fit.ci_low, ci_high=fit.ci_high, vcov=fit.vb, df=fit.ddf, qm=fit.qm, qm_df1=fit.qm_df[0],
        qm_df2=fit.qm_df[1], qm_pvalue=fit.qm_pvalue, btt=fit.btt, qe=fit.qe, qe_df=fit.qe_df,
        qe_pvalue=fit.qe_pvalue, tau2=fit.tau2, tau2_se=fit.tau2_se, i2=fit.i2, h2=fit.h2, r2=r2,
        method=method, test=test, level=float(level), ll_ml=fit.ll_ml, ll_reml=fit.ll_reml, s2w=fit.s2w,
        yi=y, vi=v, X=X, labels=labels, weights=fit.weights, intercept=intercept, measure=measure,
        converged=fit.converged, notes=notes, tau2_ci_low=fit.tau2_ci[0], tau2_ci_high=fit.tau2_ci[1],
        i2_ci_low=fit.i2_ci[0], i2_ci_high=fit.i2_ci[1], h2_ci_low=fit.h2_ci[0], h2_ci_high=fit.h2_ci[1],
        tau2_ci_signs=fit.tau2_ci_signs, excluded=excluded,
    )  # fmt: skip


def meta_regression(
    data: pd.DataFrame | None = None,
    mods: Sequence[str] | str | None = None,
    *,
    yi: ArrayLike | str | None = None,
    vi: ArrayLike | str | None = None,
    sei: ArrayLike | str | None = None,
    X: ArrayLike | pd.DataFrame | None = None,
    labels: Sequence[Any] | str | None = None,
    method: str = "REML",
    test: str | None = None,
    level: float = 95,
    btt: Sequence[int] | None = None,
    intercept: bool = True,
    measure: str | None = None,
    ci_method: str | None = None,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression (metafor ``rma(yi, vi, mods = ~ ..., method, test)``).

    Parameters
    ----------
    data : DataFrame, optional
        Holds ``yi``, ``vi`` (or ``sei``) and the moderator columns: the effect-size frame from
        ``effects.from_*`` is read as :func:`metaoutcome.pool` reads it (same rows, exclusions
        and measure; see :mod:`metaoutcome._frontdoor`). Rows with a missing ``yi``/``vi`` or
        moderator are excluded and reported (``excluded``, and a warning).
    mods : str or sequence of str, optional
        Moderator columns of ``data``. Numeric columns enter linearly; text/boolean/categorical
        columns become treatment-coded dummies, first level the reference (R's ``factor``).
    yi, vi, sei : array-like or str
        Effect sizes and sampling variances (or standard errors): arrays, or column names of
        ``data``. Defaults: the frame's ``yi`` and ``vi`` (else ``sei``) columns.
    X : array-like or DataFrame, optional
        A design matrix used as it is, instead of ``mods`` (include a column of ones for an
        intercept and set ``intercept=True`` so that the omnibus test skips it; column names of
        a DataFrame become the terms).
    labels : sequence or str, optional
        Study labels (or a column of ``data``).
    method : {"REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "FE", "EE", "CE"}, default "REML"
        Residual tau^2 estimator, or a fixed-effects model.
    test : {"z", "knha", "t", "adhoc"}, default "z"
        Normal tests; Knapp-Hartung (t with k - p df and the variance factor; the omnibus test
        becomes an F test); t without the factor; Knapp-Hartung with the factor floored at 1.
        ``"hksj"`` and ``"hakn"`` are accepted as ``"knha"``; ``"hk"`` is refused as ambiguous.
    level : float, default 95
        Confidence level in percent (95), or as a proportion in (0.5, 1) (0.95, metafor's habit).
    btt : sequence of int, optional
        0-based positions of the coefficients in the omnibus test (default all but the intercept).
    intercept : bool, default True
        Include an intercept (with ``mods``), or declare that ``X`` has one in its first column.
    measure : str, optional
        Measure name (for display); default the frame's (``attrs["measure"]`` or its
        ``measure`` column), else ``"GEN"``.
    ci_method : {"z", "knha", "t", "adhoc"}, optional
        :func:`metaoutcome.pool`'s name for ``test``; give either (both only if they agree).

    Returns
    -------
    MetaRegressionResult
        ``table()`` columns: ``term``, ``estimate``, ``se``, ``statistic``, ``df``, ``pvalue``,
        ``ci_low``, ``ci_high``; model statistics as attributes (``qm``, ``qe``, ``tau2``,
        ``i2``, ``h2``, ``r2``, ...) and in ``heterogeneity()``.

    Raises
    ------
    ValueError
        Unknown ``method``/``test``, an unknown column, a moderator with missing values (naming
        the column and rows), a constant moderator, a rank-deficient design, NaN/inf or
        non-positive ``vi``, or too few studies (``k <= p`` for the random-effects estimators).

    Notes
    -----
    With ``W = diag(1/(v_i + tau^2))``: ``beta = (X'WX)^{-1} X'Wy``, ``Var(beta) = (X'WX)^{-1}``
    (times ``s^2 = sum w_i (y_i - x_i'beta)^2 / (k - p)`` for Knapp-Hartung).
    ``QM = beta_B' Var(beta_B)^{-1} beta_B`` over the tested coefficients (chi-square with m df;
    with Knapp-Hartung ``QM / m`` against F(m, k - p)). Residual heterogeneity:
    ``QE = y' P y`` with ``P = W0 - W0 X (X'W0X)^{-1} X'W0``, ``W0 = diag(1/v_i)``, chi-square with
    ``k - p`` df; ``I^2 = 100 tau^2 / (vt + tau^2)``, ``H^2 = tau^2/vt + 1`` with
    ``vt = (k - p) / tr(P)``. Pseudo R^2 ``= max(0, 100 (tau^2_0 - tau^2) / tau^2_0)`` with
    ``tau^2_0`` from the intercept-only model with the same estimator (0 when ``tau^2_0 = 0``);
    for fixed-effects models the adjusted R^2 of the weighted regression, as metafor. tau^2
    estimators with moderators as in metafor's ``rma.uni`` (DL/HS/HE/SJ closed forms with
    ``p`` parameters; ML/REML/EB/PM solved to machine precision).

    References
    ----------
    Berkey CS, Hoaglin DC, Mosteller F, Colditz GA (1995). A random-effects regression model
    for meta-analysis. *Statistics in Medicine* 14:395-411.

    Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. *Statistics in Medicine* 22:2693-2710.

    Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In Cooper H, Hedges
    LV, Valentine JC (eds), *The Handbook of Research Synthesis and Meta-Analysis*, 2nd ed.

    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software* 36(3):1-48.

    Examples
    --------
    >>> import numpy as np
    >>> res = meta_regression(yi=[0.1, 0.3, 0.35, 0.6], vi=[0.01, 0.02, 0.015, 0.03],
    ...                       X=np.column_stack([np.ones(4), [1, 2, 3, 4]]), method="FE")
    >>> res.terms, round(float(res.estimate[1]), 4)
    (('intrcpt', 'x1'), 0.1496)
    """
    method = method_option(method, REGRESSION_METHODS)
    test = ci_method_option(ci_method, test)
    level = level_percent(level)
    notes: list[str] = []
    if X is not None and mods is not None:
        raise ValueError("give either mods= (column names) or X= (a design matrix), not both")
    if isinstance(data, pd.DataFrame) or data is None:
        frame_in = data
    else:
        raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    mlist = check_names("mods", mods)
    intercept = check_flag("intercept", intercept)
    if mlist and frame_in is None:
        raise ValueError("mods= names columns and needs data= (a DataFrame); or pass a design matrix X=")
    inp = resolve(yi, vi, sei, frame_in, labels, None, measure, required=mlist, what="the meta-regression")
    y, v, lab, measure = inp.y, inp.v, inp.labels, inp.measure
    refuse_extreme(y, v, "meta_regression")
    k = y.size
    if inp.excluded:
        msg = excluded_note(inp.excluded, inp.n_input, "the meta-regression")
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)

    if X is not None:
        if isinstance(X, pd.DataFrame):
            terms = tuple(str(c) for c in X.columns)
            Xm = X.to_numpy(dtype=float)
        else:
            Xm = np.asarray(X, dtype=float)
            if Xm.ndim == 1:
                Xm = Xm[:, None]
        if Xm.ndim == 2 and Xm.shape[0] == inp.n_input and inp.n_input != k:
            Xm = Xm[inp.keep]  # X's rows are the input rows; the excluded ones go with them
        if not isinstance(X, pd.DataFrame):
            terms = tuple(
                "intrcpt" if (j == 0 and intercept and np.all(Xm[:, 0] == 1)) else f"x{j}" for j in range(Xm.shape[1])
            )
        if Xm.ndim != 2 or Xm.shape[0] != k:
            raise ValueError(f"X must be a (k, p) matrix with k = {k} rows; got shape {Xm.shape}")
        if not np.all(np.isfinite(Xm)):
            bad = np.flatnonzero(~np.isfinite(Xm).all(axis=1))
            raise ValueError(f"X has missing or non-finite values in rows {bad.tolist()}")
        _check_rank(Xm, terms)
        has_int = intercept and bool(np.all(Xm[:, 0] == 1))
    else:
        frame = inp.frame if inp.frame is not None else pd.DataFrame(index=range(k))
        Xm, terms = design_matrix(frame, mlist, intercept=intercept, labels=lab)
        has_int = intercept
    p = Xm.shape[1]
    if method in COMMON_METHODS:
        if p > k:
            raise ValueError(f"k = {k} studies cannot estimate p = {p} coefficients")
    elif p + 1 > k:
        raise ValueError(
            f"k = {k} studies are too few for p = {p} coefficients plus tau^2 (method={method!r}); "
            f"need k >= {p + 1}, or use method='FE'"
        )
    bt = check_positions("btt", btt, p) if btt is not None else default_btt(p, has_int)
    if method in COMMON_METHODS and test in KNHA_METHODS:
        notes.append(f"test={test!r} (Knapp-Hartung) is not meant for a fixed-effects model; metafor warns the same")
    fit = fit_rma(y, v, Xm, method, test, float(level), bt, has_int, profile=True)
    return _result_from_fit(fit, y, v, Xm, terms, lab, method, test, float(level), has_int, measure, tuple(notes),
                            inp.excluded)


# ------------------------------------------------------------------------------------------------
# permutation test
# ------------------------------------------------------------------------------------------------


def _text_progress(done: int, total: int) -> None:
    step = max(1, total // 10)
    if done == total or done % step == 0:
        sys.stderr.write(f"\rpermutations: {done}/{total} ({100 * done // total}%)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def permutation_test(
    result: MetaRegressionResult,
    *,
    iter: int = 1000,
    exact: bool | None = None,
    seed: int | None = None,
    progress: bool | ProgressCallback | None = None,
    tol: float = math.sqrt(float(np.finfo(float).eps)),
) -> PermutationTestResult:
    """Permutation test of a meta-regression (metafor ``permutest``).

    Parameters
    ----------
    result : MetaRegressionResult
        The fitted model (from :func:`meta_regression`).
    iter : int, default 1000
        Number of random permutations when the test is not exact.
    exact : bool, optional
        Force (True) or forbid (False) the exact test. Default: exact when the number of
        distinct permutations is at most ``iter``, as metafor.
    seed : int, optional
        Seed of numpy's generator for random permutations.
    progress : bool or callable, optional
        ``True`` writes a text progress line to stderr; a callable receives ``(done, total)``.
    tol : float, default sqrt(machine eps)
        Comparison tolerance (metafor's ``comptol``).

    Returns
    -------
    PermutationTestResult

    Notes
    -----
    Intercept-only model: the signs of ``y_i`` are flipped (``2^k`` arrangements). With
    moderators: the rows of the design matrix are permuted against ``(y_i, v_i)``; identical
    rows are interchangeable, so there are ``k! / prod(n_j!)`` distinct arrangements. Every
    arrangement is refitted with the model's estimator and test. p-values: share of
    arrangements with ``|z_perm| >= |z_obs| - tol`` (per coefficient) and ``QM_perm >=
    QM_obs - tol``.

    The exact test (all arrangements) gives metafor's p-values exactly. Random permutations use
    numpy's generator, not R's, so their p-values need not equal metafor's for any seed; only
    their distribution agrees. As in metafor the first random arrangement is the observed one.

    References
    ----------
    Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from
    meta-regression. *Statistics in Medicine* 23:1663-1682.

    Viechtbauer W, Lopez-Lopez JA, Sanchez-Meca J, Marin-Martinez F (2015). A comparison of
    procedures to test for moderators in mixed-effects meta-regression models. *Psychological
    Methods* 20:360-374.

    Examples
    --------
    >>> import numpy as np
    >>> res = meta_regression(yi=[0.1, 0.3, 0.35, 0.6, 0.2], vi=[0.01, 0.02, 0.015, 0.03, 0.02],
    ...                       X=np.column_stack([np.ones(5), [1, 2, 3, 4, 1]]), method="DL")
    >>> pt = permutation_test(res)
    >>> pt.exact, pt.iterations
    (True, 60)
    """
    if not isinstance(result, MetaRegressionResult):
        raise ValueError(f"result must be a MetaRegressionResult from meta_regression(); got {type(result).__name__}")
    if int(iter) < 2:
        raise ValueError(f"iter={iter!r} must be >= 2")
    cb: ProgressCallback | None = _text_progress if progress is True else (progress or None)  # type: ignore[assignment]
    y, v, X = np.array(result.yi), np.array(result.vi), np.array(result.X)
    k, p = X.shape
    fitargs = dict(method=result.method, test=result.test, level=result.level, btt=result.btt, intercept=result.intercept)
    if result.int_only:
        n_exact = 2**k if k < 1000 else math.inf
    else:
        _, inv, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
        inv = np.asarray(inv).reshape(-1)
        n_exact = math.factorial(k)
        for c in counts:
            n_exact //= math.factorial(int(c))
    use_exact = check_flag("exact", exact) if exact is not None else n_exact <= iter
    if use_exact and n_exact > 5_000_000:
        raise ValueError(f"exact=True needs {n_exact} refits; too many (use random permutations, exact=False)")
    stat_perm, qm_perm, total = permutation_refits(
        y, v, X, fitargs, int_only=result.int_only, groups=None if result.int_only else inv, exact=use_exact,
        iterations=int(iter), rng=np.random.default_rng(seed), progress=cb,
    )  # fmt: skip
    obs = np.asarray(result.statistic)
    ok = ~np.isnan(qm_perm)  # failed refits are left out, as metafor's na.rm = TRUE
    pval = np.array([np.mean(np.abs(stat_perm[ok, j]) >= abs(obs[j]) - tol) for j in range(p)])
    qmp = float(np.mean(qm_perm[ok] >= result.qm - tol))
    pval = np.minimum(pval, 1.0)
    return PermutationTestResult(
        terms=result.terms, estimate=np.array(result.estimate), statistic=obs, pvalue=pval, qm=result.qm,
        qm_pvalue=qmp, exact=use_exact, iterations=total, seed=None if use_exact else seed,
        statistic_perm=stat_perm, qm_perm=qm_perm,
    )  # fmt: skip
