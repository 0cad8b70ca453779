"""Subgroup analysis: pool within each subgroup and test whether the subgroups differ.

Two ways to treat the between-study variance, chosen with ``tau2=``:

``"separate"`` (default; R ``meta``'s and RevMan's default)
    Each subgroup is pooled with :func:`metaoutcome.pooling.pool`, with its own tau^2. The test
    for subgroup differences is Cochran's Q of a common-effect model fitted to the subgroup
    estimates with their standard errors,

    .. math:: Q_b = \\sum_g (\\hat\\mu_g - \\bar\\mu)^2 / \\mathrm{se}_g^2,
              \\qquad \\bar\\mu = \\frac{\\sum_g \\hat\\mu_g / \\mathrm{se}_g^2}{\\sum_g 1/\\mathrm{se}_g^2},

    referred to chi-squared with G - 1 degrees of freedom (metafor:
    ``rma(yi = b_g, sei = se_g, method = "FE")$QE``; Borenstein et al. 2009, ch. 19).

``"common"``
    One tau^2 for all subgroups: the mixed-effects meta-regression on the subgroup factor
    (metafor ``rma(yi, vi, mods = ~ factor(g) - 1)`` for the subgroup estimates and
    ``rma(yi, vi, mods = ~ factor(g))``'s omnibus test for the differences); see
    :func:`subgroup_analysis` for every number it reports.

>>> import warnings
>>> import metaoutcome as mo
>>> from metaoutcome import effects
>>> from metaoutcome.subgroups import subgroup_analysis
>>> orr = mo.load_dataset("proportions", cancer="HCC", outcome="ORR", with_trials=True)
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     es = effects.from_proportions(orr, measure="PLO")
...     res = subgroup_analysis(es, by="regimen_class", labels="short_name")
>>> res.q_between_df == len(res.results) - 1
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._checks import check_choice, check_level, check_names, level_percent
from ._frontdoor import excluded_note, resolve
from .options import TAU2_MODES, ci_method_option, method_option
from .pooling import pool
from .printer import Lines, Printable, Report, Table, fmt_p, fmt_x
from .results import PoolResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["SubgroupResult", "subgroup_analysis", "TAU2_MODES"]

#: Allowed values of ``subgroup_analysis(..., tau2=)``.

_NAN = float("nan")
_TAU2_WORDS = {"separate": "separate tau^2 per subgroup", "common": "tau^2 common to all subgroups"}


@dataclass(frozen=True, repr=False)
class SubgroupResult(Printable):
    """Per-subgroup pooled results, the overall result and the test for subgroup differences.

    Attributes
    ----------
    by : str
        The column the studies were grouped by.
    results : mapping of str to PoolResult
        One pooled result per subgroup, in the reported order (see :func:`subgroup_analysis`
        for what each of their numbers is under ``tau2="common"``).
    overall : PoolResult
        All studies pooled together (same estimator and test, its own tau^2, in both modes).
    q_between, q_between_df, q_between_pvalue : float, int, float
        Test for subgroup differences: Q_b and its chi-squared df and p-value; with
        ``tau2="common"`` and a t-based test (``ci_method`` "knha", "t", "adhoc") the F statistic,
        its numerator df and p-value.
    excluded : tuple of (label, reason)
        Rows not pooled (no effect size, or no subgroup value), with the reason.
    tau2_mode : {"separate", "common"}
        How tau^2 was estimated.
    tau2_common : float
        The common tau^2 (``tau2="common"``; NaN with separate tau^2).
    q_between_df2 : float
        Denominator df of the F test (``k - G``); NaN for the chi-squared test.
    q_within, q_within_df, q_within_pvalue : float, int, float
        Residual heterogeneity within subgroups: ``QE`` of the model with the subgroup factor,
        the sum of the within-subgroup Q statistics, chi-squared with ``k - G`` df. It does not
        depend on tau^2, so it is the same in both modes.
    """

    by: str
    results: Mapping[str, PoolResult]
    overall: PoolResult
    q_between: float
    q_between_df: int
    q_between_pvalue: float
    excluded: tuple[tuple[str, str], ...] = field(default=())
    tau2_mode: str = "separate"
    tau2_common: float = _NAN
    q_between_df2: float = _NAN
    q_within: float = _NAN
    q_within_df: int = 0
    q_within_pvalue: float = _NAN

    @property
    def between_test(self) -> str:
        """``"Q"`` (chi-squared test) or ``"F"`` (F test, common tau^2 with a t-based test)."""
        return "F" if math.isfinite(self.q_between_df2) else "Q"

    def table(self) -> pd.DataFrame:
        """One row per subgroup plus the overall row, on the analysis and natural scales.

        Columns: ``subgroup``, ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``,
        ``pi_high``, ``tau2``, ``i2``, ``q``, ``q_df``, ``q_pvalue``, ``estimate_natural``,
        ``ci_low_natural``, ``ci_high_natural``, ``tau2_mode`` (``"separate"`` or ``"common"``,
        the same on every row; the ``Overall`` row is always the model of all studies with its
        own tau^2).
        """
        rows = []
        for name, r in [*self.results.items(), ("Overall", self.overall)]:
            nat = r.back_transform()
            rows.append(dict(
                subgroup=name, k=r.k, estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                pi_low=r.pi_low, pi_high=r.pi_high, tau2=r.tau2, i2=r.i2, q=r.q, q_df=r.q_df,
                q_pvalue=r.q_pvalue, estimate_natural=nat.estimate, ci_low_natural=nat.ci_low,
                ci_high_natural=nat.ci_high, tau2_mode=self.tau2_mode,
            ))
        return pd.DataFrame(rows)

    def _test_text(self, digits: int = 4) -> str:
        p = fmt_p(self.q_between_pvalue, showeq=True)
        if self.between_test == "F":
            return (f"Test for subgroup differences: F({self.q_between_df}, {self.q_between_df2:g}) = "
                    f"{fmt_x(self.q_between, digits)}, p-val {p}")
        return f"Test for subgroup differences: Q_b({self.q_between_df}) = {fmt_x(self.q_between, digits)}, p-val {p}"

    def _mode_text(self) -> str:
        if self.tau2_mode == "common":
            return f"tau^2 common to all subgroups = {self.tau2_common:.4f}"
        return _TAU2_WORDS["separate"]

    def forest(self, **kwargs: Any) -> Figure:
        """Forest plot with a block per subgroup, the overall diamond and the test line.

        Study weights are those of the overall model (see :func:`metaoutcome.plotting.forest`,
        Notes). With ``tau2="common"`` the subtotal rows and the test line say so ("common
        tau^2") and an F test is printed as such. Keywords go to
        :func:`metaoutcome.plotting.forest`.
        """
        from .plotting import forest, get_layout

        common = self.tau2_mode == "common" and self.overall.model != "common"
        if common:
            base = get_layout(kwargs.get("layout", "default"))
            kwargs.setdefault("subtotal_random_label", base.subtotal_random_label + ", common \u03c4\u00b2")
        return forest(dict(self.results), overall=self.overall,
                      subgroup_test=self._forest_test_text(kwargs.get("layout", "default")), **kwargs)

    def _forest_test_text(self, layout: Any) -> str:
        from .plotting import get_layout
        from .plotting.forest import subgroup_test_text

        head = "Test for subgroup differences (common \u03c4\u00b2)" if self.tau2_mode == "common" else \
            "Test for subgroup differences"
        df2 = self.q_between_df2 if self.between_test == "F" else None
        return subgroup_test_text(get_layout(layout), self.q_between, self.q_between_df, self.q_between_pvalue,
                                  head, df2)

    def report(self) -> Report:
        """The display structure every view renders (:class:`metaoutcome.printer.Report`): the
        subgroup table on the natural scale, the test for subgroup differences, residual
        heterogeneity and the rows not pooled."""
        t = self.table()
        head = (f"Subgroup analysis by '{self.by}' ({self.overall.method}, {self.overall.measure}; "
                f"{self._mode_text()})")
        frame = pd.DataFrame({
            "subgroup": t["subgroup"].astype(str), "k": t["k"].astype(int), "estimate": t["estimate_natural"],
            "ci.lb": t["ci_low_natural"], "ci.ub": t["ci_high_natural"], "I2": t["i2"], "tau2": t["tau2"],
        })
        tests = [("", self._test_text())]
        if math.isfinite(self.q_within):
            tests.append(("", f"Residual heterogeneity within subgroups: QE({self.q_within_df}) = "
                              f"{fmt_x(self.q_within)}, p-val {fmt_p(self.q_within_pvalue, showeq=True)}"))
        blocks: list[Lines | Table] = [Table(frame, digits={"I2": 1}, left=("subgroup",)), Lines(tuple(tests))]
        if self.excluded:
            blocks.append(Lines((("", "Not pooled: " + "; ".join(f"{lab} ({why})" for lab, why in self.excluded)),)))
        return Report(head, tuple(blocks))


def _between(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Q, df and p of the common-effect model fitted by the engine to the subgroup estimates."""
    from .engine.fit import fit_many
    from .engine.stack import stack

    b = np.asarray(estimates, dtype=float)
    fit = fit_many(stack(b, np.asarray(ses, dtype=float) ** 2), "FE", "z", 0.05, profile=False, weights=False)
    df = len(b) - 1
    return float(fit["q"][0]), df, float(fit["q_pvalue"][0]) if df > 0 else float("nan")


def subgroup_analysis(
    data: pd.DataFrame,
    by: str,
    *,
    labels: str | None = None,
    order: Sequence[str] | None = None,
    tau2: str = "separate",
    **pool_kwargs: Any,
) -> SubgroupResult:
    """Pool within each subgroup of ``data[by]`` and test for subgroup differences.

    Parameters
    ----------
    data : DataFrame
        The frame the effect-size step returns (``yi``, ``vi``, ``measure`` ...) with the
        grouping column.
    by : str
        Column holding the subgroup of each study (e.g. ``"regimen_class"``).
    labels : str, optional
        Column with study labels (default: as :func:`~metaoutcome.pooling.pool` chooses).
    order : sequence of str, optional
        Subgroups in the order to report them (default: order of first appearance).
    tau2 : {"separate", "common"}, default "separate"
        ``"separate"``: tau^2 estimated within each subgroup (R meta's and RevMan's default).
        ``"common"``: one tau^2 for all subgroups, the mixed-effects meta-regression on the
        subgroup factor (see Notes).
    **pool_kwargs
        Passed to :func:`~metaoutcome.pooling.pool` (``method``, ``ci_method``, ``level`` ...).
        With ``tau2="common"``, ``method``, ``ci_method`` and ``level`` are also the
        meta-regression's ``method``, ``test`` and ``level``; ``pi_method="hts"`` is not
        available there and ``tau2_ci_max`` only affects the overall row.

    Returns
    -------
    SubgroupResult
        ``results`` (one :class:`~metaoutcome.results.PoolResult` per subgroup), ``overall``,
        the test for subgroup differences (``q_between``, ``q_between_df``,
        ``q_between_df2``, ``q_between_pvalue``), residual heterogeneity (``q_within``, ...),
        ``tau2_mode`` and ``tau2_common``. ``table()`` columns: ``subgroup``, ``k``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``tau2``,
        ``i2``, ``q``, ``q_df``, ``q_pvalue``, ``estimate_natural``, ``ci_low_natural``,
        ``ci_high_natural``, ``tau2_mode``.

    Raises
    ------
    ValueError
        ``data`` not a DataFrame or without ``yi``/``vi``; ``by`` or ``labels`` not a column;
        ``order`` naming absent subgroups; ``tau2`` not one of "separate", "common"; no study
        left to pool; with ``tau2="common"`` and a random-effects ``method``, fewer than
        G + 1 studies for G subgroups (the model has G means plus tau^2), or
        ``pi_method="hts"``.

    Notes
    -----
    **Separate tau^2** (``tau2="separate"``). Each subgroup g is the random-effects model of
    its own k_g studies (:func:`~metaoutcome.pooling.pool`, metafor ``rma(yi, vi, subset = g)``);
    its ``tau2``, ``i2`` (metafor's ``I^2 = 100 tau^2_g / (tau^2_g + s^2_g)``) and prediction
    interval use that subgroup's tau^2_g. The test for subgroup differences is the Q statistic
    of the subgroup estimates (module docstring), chi-squared with G - 1 df.

    **Common tau^2** (``tau2="common"``). With ``x_i`` the indicator vector of study i's
    subgroup, the model is ``y_i = x_i' mu + u_i + e_i``, ``u_i ~ N(0, tau^2)``,
    ``e_i ~ N(0, v_i)``: metafor ``cell <- rma(yi, vi, mods = ~ factor(g) - 1, method, test)``
    fitted with :func:`~metaoutcome.regression.meta_regression`. Per subgroup:

    * ``estimate``, ``se``, ``statistic``, ``pvalue``, ``ci_low``, ``ci_high``: the
      coefficient of subgroup g, ``mu_g = sum_{i in g} w_i y_i / sum_{i in g} w_i`` with
      ``w_i = 1 / (v_i + tau^2)``, ``se_g = sqrt(1 / sum w_i)`` (times the Knapp-Hartung
      factor ``s^2 = sum_i w_i (y_i - mu_{g(i)})^2 / (k - G)`` over *all* studies for
      ``ci_method="knha"``), CI ``mu_g +/- c se_g`` with ``c`` the normal quantile, or the t
      quantile with k - G df for "knha"/"t"/"adhoc";
    * ``pi_low``, ``pi_high``: ``mu_g +/- c sqrt(se_g^2 + tau^2)``, metafor
      ``predict(cell, newmods = diag(G))`` (NaN for a common-effect ``method``);
    * ``tau2``: the common tau^2 (also ``SubgroupResult.tau2_common``), the residual tau^2 of
      the model; ``tau2_se`` its SE; the Q-profile CIs of tau^2, tau, I^2 and H^2 are NaN;
    * ``q``, ``q_df``, ``q_pvalue``: Cochran's Q within the subgroup,
      ``Q_g = sum_{i in g} (y_i - ybar_g)^2 / v_i`` with inverse-variance weights, k_g - 1 df
      (it does not depend on tau^2, so it equals the separate-tau^2 value; NaN for k_g = 1);
    * ``i2 = max(0, 100 (Q_g - (k_g - 1)) / Q_g)`` and ``h2 = Q_g / (k_g - 1)`` (Higgins &
      Thompson 2002), which do not depend on tau^2 either (NaN for k_g = 1). For DL this equals
      the separate mode's I^2; for iterative estimators the separate mode's I^2 is metafor's
      tau^2-based one;
    * ``weights``: ``100 w_i / sum_{j in g} w_j`` within the subgroup.

    The test for subgroup differences is the omnibus test of
    ``rma(yi, vi, mods = ~ factor(g), method, test)``: ``QM = b' V^{-1} b`` over the G - 1
    differences from the first subgroup, chi-squared with G - 1 df (test "z"), or
    ``F = QM / (G - 1)`` against F(G - 1, k - G) for "knha"/"t"/"adhoc" (``q_between`` then
    holds F and ``q_between_df2 = k - G``). For "z" it equals Q_b of the module docstring
    computed from the common-tau^2 estimates and SEs. ``q_within`` is the model's ``QE``. The
    overall row is the model of all studies with its own tau^2 in both modes.

    Compared with R meta's ``update(m, subgroup = g, tau.common = TRUE)`` (from meta's source,
    not run here): meta takes the same common tau^2 (``rma.uni(mods = ~ subgroup)$tau2``),
    pools each subgroup with it preset and prints per-subgroup I^2 from Q_g, the "Between
    groups" Q from the subgroup estimates and an unchanged overall model. With test "z" the
    subgroup estimates, SEs, CIs, Q_b and I^2 are therefore the same. With Hartung-Knapp meta
    adjusts each subgroup separately (its own factor, k_g - 1 df) and keeps a chi-squared Q_b;
    here metafor's model is followed: one factor and k - G df for all subgroups and an F test.
    meta's prediction intervals may also use other df (its ``method.predict``).

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). *Introduction to
    Meta-Analysis*, ch. 19. Wiley.

    Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis.
    *Statistics in Medicine* 21:1539-1558.

    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software* 36(3):1-48.

    Examples
    --------
    >>> import warnings
    >>> import metaoutcome as mo
    >>> from metaoutcome import effects
    >>> orr = mo.load_dataset("proportions", cancer="HCC", outcome="ORR", with_trials=True)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     es = effects.from_proportions(orr, measure="PLO")
    ...     res = subgroup_analysis(es, by="regimen_class", labels="short_name", tau2="common")
    >>> res.tau2_mode, round(res.tau2_common, 4), res.q_between_df
    ('common', 0.2441, 5)
    >>> len({round(r.tau2, 12) for r in res.results.values()})
    1
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a DataFrame from the effect-size step; got {type(data).__name__}")
    tau2 = check_choice("tau2", tau2, TAU2_MODES)
    if not isinstance(by, str) or by not in data.columns:
        raise ValueError(f"by={by!r} is not a column of data; columns: {list(data.columns)}")
    kwargs = dict(pool_kwargs)
    for arg in ("yi", "vi", "sei", "ni", "data"):
        if arg in kwargs:
            raise ValueError(f"{arg}= is not an option of subgroup_analysis: the effect sizes come from data's columns")
    # the front door pool and meta_regression use: same rows, exclusions and measure
    inp = resolve(data, labels=labels, measure=kwargs.pop("measure", None), required=[by],
                  what="the subgroup analysis")
    if order is not None:
        order = check_names("order", order)
    excluded = [(e.label, e.reason) for e in inp.excluded]
    if inp.excluded:
        warnings.warn(excluded_note(inp.excluded, inp.n_input, "the subgroup analysis"), UserWarning, stacklevel=2)
    gcol = np.asarray(inp.frame[by].astype(str)) if inp.frame is not None else np.array([], dtype=str)
    groups = list(dict.fromkeys(gcol.tolist()))
    if order is not None:
        unknown = [g for g in order if g not in groups]
        if unknown:
            raise ValueError(f"order names subgroups {unknown} that are not in '{by}'; present: {groups}")
        groups = [g for g in order if g in groups] + [g for g in groups if g not in order]

    # metafor's test= is pool's ci_method=: one name from here on
    if "test" in kwargs or "ci_method" in kwargs:
        kwargs["ci_method"] = ci_method_option(kwargs.get("ci_method"), kwargs.pop("test", None))
    measure = inp.measure

    def fit(rows: NDArray[np.bool_], **over: Any) -> PoolResult:
        ni = inp.ni[rows] if inp.ni is not None else None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*k = 1.*")
            return pool(inp.y[rows], inp.v[rows], measure=measure, labels=[inp.labels[i] for i in np.flatnonzero(rows)],
                        ni=ni, **{**kwargs, **over})

    frames = {g: gcol == g for g in groups}
    keep = np.ones(gcol.size, dtype=bool)
    if tau2 == "common":
        if kwargs.get("pi_method", "default") != "default":
            raise ValueError(f"pi_method={kwargs['pi_method']!r} is not available with tau2='common'; the "
                             "prediction intervals are metafor's predict() of the subgroup model (pi_method='default')")
        within = {g: fit(f, method="FE", ci_method="z", pi_method="default") for g, f in frames.items()}
    else:
        within = {g: fit(f) for g, f in frames.items()}
    single = [g for g, r in within.items() if r.k == 1]
    if single:
        warnings.warn(f"subgroups {single} have one study: their 'pooled' value is that study and their "
                      "heterogeneity is undefined", UserWarning, stacklevel=2)
    overall = fit(keep)
    from .engine.dist import chi2_sf

    qw_parts = [r.q for r in within.values() if r.k > 1]
    qw_df = len(keep) - len(groups)
    qw = float(np.sum(qw_parts)) if qw_df > 0 else _NAN
    qw_p = float(chi2_sf(qw, qw_df)) if qw_df > 0 else _NAN
    if len(groups) < 2:
        warnings.warn(f"only one subgroup in '{by}': no test for subgroup differences", UserWarning, stacklevel=2)
    if tau2 == "separate":
        results = within
        if len(results) < 2:
            qb, df, p = float("nan"), 0, float("nan")
        else:
            qb, df, p = _between([r.estimate for r in results.values()], [r.se for r in results.values()])
        return SubgroupResult(by, results, overall, qb, df, p, tuple(excluded), q_within=qw, q_within_df=qw_df,
                              q_within_pvalue=qw_p)
    return _common_tau2(by, groups, frames, within, overall, tuple(excluded), kwargs, (qw, qw_df, qw_p))


def _common_tau2(
    by: str,
    groups: list[str],
    frames: Mapping[str, NDArray[np.bool_]],
    within: Mapping[str, PoolResult],
    overall: PoolResult,
    excluded: tuple[tuple[str, str], ...],
    kwargs: Mapping[str, Any],
    qwithin: tuple[float, int, float],
) -> SubgroupResult:
    """The subgroup model with one tau^2 (see :func:`subgroup_analysis`, Notes)."""
    from .engine import dist
    from .options import COMMON_METHODS as COMMON
    from .regression import meta_regression

    method = method_option(kwargs.get("method", "REML"))
    test = ci_method_option(kwargs.get("ci_method"))
    level = level_percent(kwargs.get("level", 95))
    alpha = 1.0 - check_level(level)
    y = np.concatenate([within[g].yi for g in groups])
    v = np.concatenate([within[g].vi for g in groups])
    labs = [lab for g in groups for lab in within[g].labels]
    gid = np.concatenate([np.full(within[g].k, j) for j, g in enumerate(groups)])
    k, n_groups = y.size, len(groups)
    if method not in COMMON and k < n_groups + 1:
        raise ValueError(
            f"tau2='common' with {n_groups} subgroups needs at least {n_groups + 1} studies (a mean per subgroup "
            f"plus tau^2); there are k = {k}. Use tau2='separate' or method='FE'"
        )
    X = (gid[:, None] == np.arange(n_groups)[None, :]).astype(float)
    measure = overall.measure
    cell = meta_regression(yi=y, vi=v, X=pd.DataFrame(X, columns=groups), intercept=False, labels=labs,
                           method=method, test=test, level=level, measure=measure)
    if n_groups > 1:
        # intercept column first; btt = the G - 1 differences (intercept=False: no pseudo R^2 is needed)
        diff = meta_regression(yi=y, vi=v, X=np.column_stack([np.ones(k), X[:, 1:]]), intercept=False,
                               btt=range(1, n_groups), labels=labs, method=method, test=test, level=level,
                               measure=measure)
        qb, df1, pb = float(diff.qm), int(diff.qm_df1), float(diff.qm_pvalue)
        df2 = float(diff.qm_df2) if test != "z" else _NAN
    else:
        qb, df1, pb, df2 = _NAN, 0, _NAN, _NAN
    t2 = float(cell.tau2)
    common_model = method in COMMON
    crit = float(dist.norm_isf(alpha / 2)) if test == "z" else float(dist.t_isf(alpha / 2, cell.df))
    note = ("tau^2 common to all subgroups: the residual tau^2 of the mixed-effects model with the subgroup factor "
            "(metafor rma(yi, vi, mods = ~ factor(g) - 1))")
    results: dict[str, PoolResult] = {}
    for j, g in enumerate(groups):
        w0 = within[g]
        b, se = float(cell.estimate[j]), float(cell.se[j])
        w = 1.0 / (np.asarray(w0.vi) + t2)
        half = _NAN if common_model else crit * math.sqrt(se**2 + t2)
        results[g] = PoolResult(
            k=w0.k, estimate=b, se=se, statistic=float(cell.statistic[j]), pvalue=float(cell.pvalue[j]),
            ci_low=float(cell.ci_low[j]), ci_high=float(cell.ci_high[j]), pi_low=b - half, pi_high=b + half,
            tau2=t2, tau2_se=float(cell.tau2_se), tau2_ci_low=_NAN, tau2_ci_high=_NAN, tau=math.sqrt(t2),
            tau_ci_low=_NAN, tau_ci_high=_NAN, i2=w0.i2, i2_ci_low=_NAN, i2_ci_high=_NAN, h2=w0.h2,
            h2_ci_low=_NAN, h2_ci_high=_NAN, q=w0.q, q_df=w0.q_df, q_pvalue=w0.q_pvalue,
            weights=100.0 * w / w.sum(), method=method, ci_method=test, level=level, measure=w0.measure,
            converged=bool(cell.converged), iterations=0, yi=w0.yi, vi=w0.vi, labels=w0.labels, ni=w0.ni,
            pi_method="default", df=float(cell.df), model="common" if common_model else "random", vt=w0.vt,
            notes=(note,),
        )  # fmt: skip
    qw, qw_df, qw_p = qwithin
    return SubgroupResult(by, results, overall, qb, df1, pb, excluded, tau2_mode="common", tau2_common=t2,
                          q_between_df2=df2, q_within=qw, q_within_df=qw_df, q_within_pvalue=qw_p)
