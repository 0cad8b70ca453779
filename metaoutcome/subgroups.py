"""Subgroup analysis: pool within each subgroup and test whether the subgroups differ.

Each subgroup is pooled with :func:`metaoutcome.pooling.pool` (its own tau^2, as R's ``meta`` and
RevMan do by default). The test for subgroup differences is Cochran's Q of a common-effect model
fitted to the subgroup estimates with their standard errors,

.. math:: Q_b = \\sum_g (\\hat\\mu_g - \\bar\\mu)^2 / \\mathrm{se}_g^2,
          \\qquad \\bar\\mu = \\frac{\\sum_g \\hat\\mu_g / \\mathrm{se}_g^2}{\\sum_g 1/\\mathrm{se}_g^2},

referred to chi-squared with G - 1 degrees of freedom (metafor:
``rma(yi = b_g, sei = se_g, method = "FE")$QE``; Borenstein et al. 2009, ch. 19).

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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._checks import check_choice
from .pooling import pool
from .results import PoolResult

__all__ = ["SubgroupResult", "subgroup_analysis"]


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup pooled results, the overall result and the test for subgroup differences.

    Attributes
    ----------
    by : str
        The column the studies were grouped by.
    results : mapping of str to PoolResult
        One pooled result per subgroup, in order of first appearance.
    overall : PoolResult
        All studies pooled together (same model).
    q_between, q_between_df, q_between_pvalue : float, int, float
        Test for subgroup differences (see the module docstring).
    excluded : tuple of (label, reason)
        Rows not pooled (no effect size, or no subgroup value), with the reason.
    """

    by: str
    results: Mapping[str, PoolResult]
    overall: PoolResult
    q_between: float
    q_between_df: int
    q_between_pvalue: float
    excluded: tuple[tuple[str, str], ...] = field(default=())

    def table(self) -> pd.DataFrame:
        """One row per subgroup plus the overall row, on the analysis and natural scales.

        Columns: ``subgroup``, ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``,
        ``pi_high``, ``tau2``, ``i2``, ``q``, ``q_df``, ``q_pvalue``, ``estimate_natural``,
        ``ci_low_natural``, ``ci_high_natural``.
        """
        rows = []
        for name, r in [*self.results.items(), ("Overall", self.overall)]:
            nat = r.back_transform()
            rows.append(dict(
                subgroup=name, k=r.k, estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                pi_low=r.pi_low, pi_high=r.pi_high, tau2=r.tau2, i2=r.i2, q=r.q, q_df=r.q_df,
                q_pvalue=r.q_pvalue, estimate_natural=nat.estimate, ci_low_natural=nat.ci_low,
                ci_high_natural=nat.ci_high,
            ))
        return pd.DataFrame(rows)

    def forest(self, **kwargs: Any) -> Any:
        """Forest plot with a block per subgroup, the overall diamond and the test line."""
        from .plotting import forest

        return forest(
            dict(self.results), overall=self.overall,
            subgroup_test=(self.q_between, self.q_between_df, self.q_between_pvalue), **kwargs,
        )

    def _lines(self) -> list[str]:
        t = self.table()
        head = f"Subgroup analysis by '{self.by}' ({self.overall.method}, {self.overall.measure})"
        lines = [head, ""]
        width = max(len(str(s)) for s in t["subgroup"])
        lines.append(f"{'subgroup':<{width}}  {'k':>3}  {'estimate':>9}  {'ci.lb':>8}  {'ci.ub':>8}  {'I2':>6}  {'tau2':>7}")
        for row in t.itertuples():
            lines.append(
                f"{row.subgroup:<{width}}  {row.k:>3}  {row.estimate_natural:>9.4f}  {row.ci_low_natural:>8.4f}  "
                f"{row.ci_high_natural:>8.4f}  {row.i2:>6.1f}  {row.tau2:>7.4f}"
            )
        lines += ["", f"Test for subgroup differences: Q_b({self.q_between_df}) = {self.q_between:.4f}, "
                  f"p = {self.q_between_pvalue:.4g}"]
        if self.excluded:
            lines.append("Not pooled: " + "; ".join(f"{lab} ({why})" for lab, why in self.excluded))
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def __repr__(self) -> str:
        return self.__str__()

    def to_markdown(self, digits: int = 3) -> str:
        from .reproduce import markdown_table

        test = (f"Test for subgroup differences: Q = {self.q_between:.2f}, df = {self.q_between_df}, "
                f"p = {self.q_between_pvalue:.3g}")
        return markdown_table(self.table(), digits) + "\n" + test + "\n"

    def _repr_html_(self) -> str:
        t = self.table()
        table = t.to_html(index=False, float_format=lambda x: f"{x:.4f}", border=0, na_rep="")
        return (f"<p><b>Subgroup analysis by {self.by}</b> ({self.overall.method}, {self.overall.measure})</p>"
                f"{table}<p>Test for subgroup differences: Q = {self.q_between:.3f}, df = {self.q_between_df}, "
                f"p = {self.q_between_pvalue:.4g}</p>")


def _between(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    from scipy.stats import chi2

    b = np.asarray(estimates, dtype=float)
    w = 1.0 / np.asarray(ses, dtype=float) ** 2
    mean = np.sum(w * b) / np.sum(w)
    q = float(np.sum(w * (b - mean) ** 2))
    df = len(b) - 1
    return q, df, float(chi2.sf(q, df)) if df > 0 else float("nan")


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
    tau2 : {"separate"}, default "separate"
        tau^2 estimated within each subgroup (R meta's and RevMan's default). A common tau^2
        is the mixed-effects meta-regression on the subgroup factor.
    **pool_kwargs
        Passed to :func:`~metaoutcome.pooling.pool` (``method``, ``ci_method``, ``level`` ...).

    Returns
    -------
    SubgroupResult
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a DataFrame from the effect-size step; got {type(data).__name__}")
    check_choice("tau2", tau2, ["separate"])
    if by not in data.columns:
        raise ValueError(f"by={by!r} is not a column of data; columns: {list(data.columns)}")
    if labels is not None and labels not in data.columns:
        raise ValueError(f"labels={labels!r} is not a column of data; columns: {list(data.columns)}")
    lab = data[labels].astype(str) if labels is not None else pd.Series([f"row {i}" for i in range(len(data))], index=data.index)
    excluded: list[tuple[str, str]] = []
    usable = data["yi"].notna() & data["vi"].notna() if {"yi", "vi"} <= set(data.columns) else None
    if usable is None:
        raise ValueError("data must have 'yi' and 'vi' columns (run an effects.from_* function first)")
    reason = data["exclusion_reason"] if "exclusion_reason" in data.columns else pd.Series(None, index=data.index)
    for i in data.index[~usable]:
        excluded.append((lab[i], str(reason[i]) if pd.notna(reason[i]) else "no effect size"))
    missing_group = usable & data[by].isna()
    for i in data.index[missing_group]:
        excluded.append((lab[i], f"no value in '{by}'"))
    keep = data[usable & ~missing_group]
    if keep.empty:
        raise ValueError("no study has an effect size and a subgroup; nothing to pool")
    groups = list(dict.fromkeys(keep[by].astype(str)))
    if order is not None:
        unknown = [g for g in order if g not in groups]
        if unknown:
            raise ValueError(f"order names subgroups {unknown} that are not in '{by}'; present: {groups}")
        groups = [g for g in order if g in groups] + [g for g in groups if g not in order]

    kwargs = dict(pool_kwargs)
    measure = kwargs.pop("measure", keep.attrs.get("measure"))

    def fit(frame: pd.DataFrame) -> PoolResult:
        ni = frame["ni"].to_numpy(dtype=float) if "ni" in frame.columns and frame["ni"].notna().all() else None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*k = 1.*")
            return pool(frame["yi"].to_numpy(dtype=float), frame["vi"].to_numpy(dtype=float), measure=measure,
                        labels=list(lab[frame.index]), ni=ni, **kwargs)

    results = {g: fit(keep[keep[by].astype(str) == g]) for g in groups}
    single = [g for g, r in results.items() if r.k == 1]
    if single:
        warnings.warn(f"subgroups {single} have one study: their 'pooled' value is that study and their "
                      "heterogeneity is undefined", UserWarning, stacklevel=2)
    overall = fit(keep)
    if len(results) < 2:
        warnings.warn(f"only one subgroup in '{by}': no test for subgroup differences", UserWarning, stacklevel=2)
        qb, df, p = float("nan"), 0, float("nan")
    else:
        qb, df, p = _between([r.estimate for r in results.values()], [r.se for r in results.values()])
    return SubgroupResult(by, results, overall, qb, df, p, tuple(excluded))
