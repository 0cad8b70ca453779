"""Median survival times: log median (MED), log ratio (RMED) and difference (DMED) of medians,
and the median of medians as a sensitivity analysis.

The SE of a Kaplan-Meier median is back-calculated from its CI as from a Wald interval
(metamedian's ``metamedian_survival``, McGrath et al. 2025), from the lower bound alone when the
upper bound was not reached, or, when no CI is printed, from the number of events under an
exponential model.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._checks import as_float_array, check_choice, check_flag, check_level, count_violations, flag_array
from ._common import (
    ON_INVALID_CHOICES,
    BoolArray,
    ConversionWarning,
    Exclusions,
    FloatArray,
    RuleViolation,
    bool_column,
    check_frame,
    check_lengths,
    column,
    finish_frame,
    float_arg,
    handle_problems,
    LEVEL_COLUMN_RULE,
    level_array,
    level_column_percent,
    raise_problems,
    resolve_columns,
    row_labels,
    result_frame,
    z_crit,
)

__all__ = [
    "median_es",
    "two_arm_median_es",
    "median_of_medians",
    "MedianOfMedians",
    "from_medians",
]

CI_SCALES = ("log", "natural")

# se_method labels
SE_CI = "ci"
SE_LOWER_NR = "lower bound (upper not reached)"
SE_LOWER_MISSING = "lower bound (upper missing)"
SE_EVENTS = "events (exponential model)"


@dataclass(frozen=True)
class _ArmSE:
    se_log: FloatArray  # SE of ln(median)
    se_nat: FloatArray  # SE of the median (months)
    method: np.ndarray  # se_method label per row (object; None where no SE)
    problems: list[RuleViolation]


def _arm_se(m: FloatArray, lo: FloatArray, up: FloatArray, lv: FloatArray, nr: BoolArray,
            d: FloatArray, ci_scale: str, use_events: bool, suffix: str = "",
            names: Mapping[str, str] | None = None) -> _ArmSE:
    """SE of one arm's median on the log and natural scales, and which figures gave it.

    ``names`` maps "median", "lower", "upper", "events" to the names used in messages (the
    argument names by default, the column names for a frame).
    """
    names = dict(names) if names else {k: f"{k}{suffix}" for k in ("median", "lower", "upper", "events")}
    up = np.where(nr, np.nan, up)
    have_m = ~np.isnan(m)
    both = have_m & ~np.isnan(lo) & ~np.isnan(up)
    lower_only = have_m & ~np.isnan(lo) & np.isnan(up)
    ev = have_m & ~both & ~lower_only & ~np.isnan(d) & use_events
    z = z_crit(lv)
    min_lo = 0.0 if ci_scale == "natural" else None
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_rule = lo < 0 if min_lo is not None else lo <= 0
        lo_txt = ">= 0" if min_lo is not None else "> 0 (ci_scale='log' takes its logarithm)"
        problems = [
            RuleViolation(names["median"], "> 0 (months)", m <= 0, {names["median"]: m}),
            RuleViolation(names["lower"], lo_txt, (both | lower_only) & lo_rule, {names["lower"]: lo}),
            RuleViolation(names["lower"], f"< {names['upper']} (bounds reversed?)", both & (lo >= up),
                    {names["lower"]: lo, names["upper"]: up}),
            RuleViolation(names["median"], f"within [{names['lower']}, {names['upper']}] (the CI must "
                    "contain the median)", both & ((m < lo) | (m > up)),
                    {names["median"]: m, names["lower"]: lo, names["upper"]: up}),
            RuleViolation(names["median"], f"> {names['lower']} when the upper bound is not reached or "
                    "missing (the SE comes from the distance to the lower bound)",
                    lower_only & (m <= lo), {names["median"]: m, names["lower"]: lo}),
            RuleViolation(names["events"], "> 0 to approximate the SE from the number of events",
                    ev & (d <= 0), {names["events"]: d}),
        ]
        # the one count rule for the number of events (whole, >= 0)
        problems += [RuleViolation(a, r, mk & ev, sh) for a, r, mk, sh in count_violations({names["events"]: d})]
        if ci_scale == "log":
            lm, ll, lu = np.log(m), np.log(lo), np.log(up)
            se_log = np.where(both, (lu - ll) / (2 * z), np.where(lower_only, (lm - ll) / z, np.nan))
            se_nat = se_log * m
        else:
            se_nat = np.where(both, (up - lo) / (2 * z), np.where(lower_only, (m - lo) / z, np.nan))
            se_log = se_nat / m
        se_ev = 1.0 / np.sqrt(d)
        se_log = np.where(ev, se_ev, se_log)
        se_nat = np.where(ev, se_ev * m, se_nat)
    method = np.full(m.size, None, dtype=object)
    method[both] = SE_CI
    method[lower_only & nr] = SE_LOWER_NR
    method[lower_only & ~nr] = SE_LOWER_MISSING
    method[ev] = SE_EVENTS
    return _ArmSE(np.asarray(se_log, dtype=float), np.asarray(se_nat, dtype=float), method, problems)


def _nr_array(upper_nr: ArrayLike | None, n: int, name: str) -> BoolArray:
    if upper_nr is None:
        return np.zeros(n, dtype=bool)
    return flag_array(name, upper_nr, n)


def median_es(
    median: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    level: ArrayLike = 95,
    *,
    upper_nr: ArrayLike | None = None,
    events: ArrayLike | None = None,
    ci_scale: str = "log",
    use_events: bool = True,
) -> pd.DataFrame:
    """Log median survival (measure MED) and its variance from the printed median and CI.

    Parameters
    ----------
    median : array_like
        Median survival (months, > 0). NaN (e.g. median not reached) gives a NaN row.
    lower, upper : array_like, optional
        CI bounds. A missing upper bound with a lower bound uses the lower bound alone.
    level : float or array_like, default 95
        CI level in percent, one value or one per row.
    upper_nr : array_like of bool, optional
        True where the upper bound was printed as "not reached" (NR/NE); that row's ``upper``
        is ignored and the lower bound alone gives the SE.
    events : array_like, optional
        Number of events, used only where no CI bound is available.
    ci_scale : {"log", "natural"}, default "log"
        Scale on which the CI is taken to be a symmetric Wald interval: "log" (the usual
        Kaplan-Meier median CI is asymmetric in months) or "natural" (metamedian's
        ``metamedian_survival``; then :math:`SE(\\ln M) = SE(M)/M` by the delta method).
    use_events : bool, default True
        Whether to fall back to the events approximation.

    Returns
    -------
    pandas.DataFrame
        ``yi`` (ln median), ``vi``, ``measure`` ("MED"), ``se_method`` ("ci", "lower bound
        (upper not reached)", "lower bound (upper missing)", "events (exponential model)" or
        None) and ``approximate`` (True where the events approximation was used).

    Notes
    -----
    With :math:`z = \\Phi^{-1}\\{(1+\\text{level}/100)/2\\}` and ``ci_scale="log"``:
    :math:`SE = (\\ln U - \\ln L)/(2z)`; upper bound not reached: :math:`SE = (\\ln M - \\ln L)/z`.
    With ``ci_scale="natural"``: :math:`SE(M) = (U - L)/(2z)` or :math:`(M - L)/z`, and
    :math:`SE(\\ln M) = SE(M)/M`. Without a CI, under an exponential model with :math:`d`
    events, :math:`\\operatorname{var}(\\ln M) = \\operatorname{var}(\\ln \\hat\\lambda) = 1/d`.

    References
    ----------
    McGrath, S., Kimmelman, J., Ozturk, O., Steele, R., & Benedetti, A. (2025). Meta-analysis of
    median survival times with inverse-variance weighting. arXiv e-prints.

    Examples
    --------
    >>> es = median_es([6.9, 12.2, 4.0], [5.5, 9.7, None], [8.3, None, None],
    ...                upper_nr=[False, True, False], events=[None, None, 64])
    >>> es[["yi", "vi", "se_method"]].round(5)
            yi       vi                        se_method
    0  1.93152  0.01102                               ci
    1  2.50144  0.01369  lower bound (upper not reached)
    2  1.38629  0.01562       events (exponential model)
    """
    scale = check_choice("ci_scale", ci_scale, CI_SCALES)
    m = float_arg("median", median)
    k = m.size
    lo = float_arg("lower", lower, k)
    up = float_arg("upper", upper, k)
    d = float_arg("events", events, k)
    check_lengths(median=m, lower=lo, upper=up, events=d)
    lv = level_array(level, k)
    nr = _nr_array(upper_nr, k, "upper_nr")
    arm = _arm_se(m, lo, up, lv, nr, d, scale, check_flag("use_events", use_events))
    raise_problems(arm.problems)
    with np.errstate(invalid="ignore", divide="ignore"):
        yi = np.log(m)
    return result_frame(yi, arm.se_log**2, "MED", se_method=arm.method,
                        approximate=arm.method == SE_EVENTS)


def two_arm_median_es(
    median1: ArrayLike,
    median2: ArrayLike,
    *,
    lower1: ArrayLike | None = None,
    upper1: ArrayLike | None = None,
    lower2: ArrayLike | None = None,
    upper2: ArrayLike | None = None,
    level1: ArrayLike = 95,
    level2: ArrayLike = 95,
    upper_nr1: ArrayLike | None = None,
    upper_nr2: ArrayLike | None = None,
    events1: ArrayLike | None = None,
    events2: ArrayLike | None = None,
    measure: str = "RMED",
    ci_scale: str = "natural",
    use_events: bool = True,
) -> pd.DataFrame:
    """Log ratio (RMED) or difference (DMED) of two arms' median survival, with its variance.

    Parameters
    ----------
    median1, median2 : array_like
        Medians (months) in arm 1 (experimental) and arm 2 (control).
    lower1, upper1, lower2, upper2 : array_like, optional
        CI bounds per arm (see :func:`median_es` for missing and not-reached bounds).
    level1, level2 : float or array_like, default 95
        CI levels in percent.
    upper_nr1, upper_nr2 : array_like of bool, optional
        Upper bound not reached, per arm.
    events1, events2 : array_like, optional
        Events per arm, for the exponential approximation where an arm has no CI.
    measure : {"RMED", "DMED"}, default "RMED"
        Log ratio of medians (arm 1 over arm 2) or difference (arm 1 minus arm 2).
    ci_scale : {"natural", "log"}, default "natural"
        Scale of the Wald interval each CI is taken to be; "natural" is metamedian's
        ``metamedian_survival``.
    use_events : bool, default True
        Whether to fall back to the events approximation.

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``, ``measure``, ``se_method1``, ``se_method2`` and ``approximate`` (either
        arm used the events approximation).

    Notes
    -----
    With per-arm :math:`SE(M_j)` as in :func:`median_es` (natural scale):

    - RMED: :math:`y = \\ln M_1 - \\ln M_2`,
      :math:`v = SE(M_1)^2/M_1^2 + SE(M_2)^2/M_2^2` (delta method)
    - DMED: :math:`y = M_1 - M_2`, :math:`v = SE(M_1)^2 + SE(M_2)^2`

    as in metamedian's ``metamedian_survival`` (estimands ``"ratio_median"`` and
    ``"difference_median"``).

    References
    ----------
    McGrath, S., Kimmelman, J., Ozturk, O., Steele, R., & Benedetti, A. (2025). Meta-analysis of
    median survival times with inverse-variance weighting. arXiv e-prints.

    Examples
    --------
    >>> es = two_arm_median_es([12.2], [9.4], lower1=[9.7], upper1=[15.0], lower2=[8.0],
    ...                        upper2=[10.7], measure="RMED")
    >>> es[["yi", "vi"]].round(5)
            yi       vi
    0  0.26073  0.01765
    """
    meas = check_choice("measure", measure, ("RMED", "DMED"))
    scale = check_choice("ci_scale", ci_scale, CI_SCALES)
    m1 = float_arg("median1", median1)
    k = m1.size
    m2 = float_arg("median2", median2)
    lo1, up1, lo2, up2, d1, d2 = (
        float_arg(name, x, k) for name, x in (("lower1", lower1), ("upper1", upper1),
                                              ("lower2", lower2), ("upper2", upper2),
                                              ("events1", events1), ("events2", events2))
    )
    check_lengths(median1=m1, median2=m2, lower1=lo1, upper1=up1, lower2=lo2, upper2=up2,
                  events1=d1, events2=d2)
    a1 = _arm_se(m1, lo1, up1, level_array(level1, k, "level1"), _nr_array(upper_nr1, k, "upper_nr1"),
                 d1, scale, check_flag("use_events", use_events), "1")
    a2 = _arm_se(m2, lo2, up2, level_array(level2, k, "level2"), _nr_array(upper_nr2, k, "upper_nr2"),
                 d2, scale, check_flag("use_events", use_events), "2")
    raise_problems(a1.problems + a2.problems)
    with np.errstate(invalid="ignore", divide="ignore"):
        if meas == "RMED":
            yi = np.log(m1) - np.log(m2)
            vi = a1.se_nat**2 / m1**2 + a2.se_nat**2 / m2**2
        else:
            yi = m1 - m2
            vi = a1.se_nat**2 + a2.se_nat**2
    approx = (a1.method == SE_EVENTS) | (a2.method == SE_EVENTS)
    return result_frame(yi, vi, meas, se_method1=a1.method, se_method2=a2.method, approximate=approx)


# --- median of medians -------------------------------------------------------------------------


@dataclass(frozen=True)
class MedianOfMedians:
    """Result of :func:`median_of_medians`.

    Attributes
    ----------
    estimate : float
        The (weighted) median of the study medians.
    ci_low, ci_high : float
        Confidence interval from inverting the sign test.
    coverage : float
        Nominal coverage of the CI (the requested level for ``method="normal"``; the smallest
        attainable coverage above the level for ``method="exact"``).
    k : int
        Number of studies.
    weighted : bool
        Whether weights (e.g. sample sizes) were used.
    method : str
        "normal" or "exact".
    """

    estimate: float
    ci_low: float
    ci_high: float
    coverage: float
    k: int
    weighted: bool
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table of the result."""
        return pd.DataFrame([{
            "estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "coverage": self.coverage, "k": self.k, "weighted": self.weighted, "method": self.method,
        }])


def _weighted_quantile(x: FloatArray, w: FloatArray, probs: FloatArray) -> FloatArray:
    """Weighted quantile as Hmisc ``wtd.quantile(type="quantile")`` (weights as frequencies)."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    ux, inv = np.unique(xs, return_inverse=True)
    uw = np.bincount(inv, weights=ws)
    n = float(uw.sum())
    pos = 1 + (n - 1) * probs
    low = np.maximum(np.floor(pos), 1)
    high = np.minimum(low + 1, n)
    frac = pos % 1
    cum = np.cumsum(uw)

    def at(v: FloatArray) -> FloatArray:
        idx = np.clip(np.searchsorted(cum, v, side="left"), 0, ux.size - 1)
        return np.asarray(ux[idx], dtype=float)

    return np.asarray((1 - frac) * at(low) + frac * at(high), dtype=float)


def median_of_medians(
    medians: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    level: float = 95,
    method: str = "normal",
) -> MedianOfMedians:
    """Median of the study medians with a sign-test CI (a sensitivity analysis).

    Parameters
    ----------
    medians : array_like
        One median per study (no missing values).
    weights : array_like, optional
        Positive weights, e.g. sample sizes, for the weighted median of medians.
    level : float, default 95
        Confidence level in percent.
    method : {"normal", "exact"}, default "normal"
        "normal": the CI bounds are the :math:`0.5 \\mp \\min(0.5, z/(2\\sqrt{k}))` quantiles,
        using the normal approximation to the binomial (metamedian ``pool.med`` with
        ``norm.approx=TRUE``; weighted quantiles as Hmisc ``wtd.quantile``, weights acting as
        frequencies). "exact": the order statistics :math:`[y_{(T+1)}, y_{(k-T)}]` of the exact
        sign-test interval with the smallest coverage above the level (unweighted only).

    Returns
    -------
    MedianOfMedians
        Estimate, CI, coverage, k, weighted, method.

    Notes
    -----
    The unweighted estimate is the sample median (R ``quantile`` type 7). The CI inverts the sign
    test: under the null, the number of study medians below the pooled median is
    Binomial(k, 1/2). For ``"exact"``, :math:`T` is the largest integer with
    :math:`1 - 2 P(\\text{Bin}(k, 1/2) \\le T) > \\text{level}`.

    References
    ----------
    McGrath, S., Zhao, X., Qin, Z. Z., Steele, R., & Benedetti, A. (2019). One-sample aggregate
    data meta-analysis of medians. *Statistics in Medicine*, 38(6), 969-984.

    McGrath, S., Sohn, H., Steele, R., & Benedetti, A. (2020). Meta-analysis of the difference of
    medians. *Biometrical Journal*, 62(1), 69-98.

    Examples
    --------
    >>> r = median_of_medians([5.2, 3.1, 0.5, 0.8, 3.5, 0.6, 2.2, 5.1, 4.0])
    >>> round(r.estimate, 4), round(r.ci_low, 4), round(r.ci_high, 4)
    (3.1, 0.6773, 4.6746)
    """
    meth = check_choice("method", method, ("normal", "exact"))
    lv = check_level(level)
    y = as_float_array("medians", medians)
    k = y.size
    if k < 1:
        raise ValueError("medians must contain at least one value")
    w = None
    if weights is not None:
        w = as_float_array("weights", weights, positive=True)
        check_lengths(medians=y, weights=w)
    if meth == "normal":
        z = float(z_crit(np.array([lv]))[0])
        prob = min(0.5, z / (2 * np.sqrt(k)))
        probs = np.array([0.5 - prob, 0.5, 0.5 + prob])
        if w is None:
            q = np.quantile(y, probs)  # numpy's default 'linear' is R's type 7
        else:
            q = _weighted_quantile(y, w, probs)
        return MedianOfMedians(float(q[1]), float(q[0]), float(q[2]), lv, k, w is not None, meth)
    if w is not None:
        raise ValueError("method='exact' is available for the unweighted median of medians only; "
                         "use method='normal' with weights")
    from scipy.stats import binom

    t = np.arange(0, k // 2 + 1)
    cover = 1 - 2 * binom.cdf(t, k, 0.5)
    ok = cover > lv
    if not ok.any():
        raise ValueError(
            f"medians has k={k} values; the exact sign-test CI needs enough studies for a coverage "
            f"above {lv * 100:g}% (k >= 6 at 95%)"
        )
    tt = int(t[ok][-1])
    ys = np.sort(y)
    return MedianOfMedians(float(np.quantile(y, 0.5)), float(ys[tt]), float(ys[k - tt - 1]),
                           float(cover[ok][-1]), k, False, meth)


# --- DataFrame entry point ---------------------------------------------------------------------

MEDIAN_COLUMNS: dict[str, str | None] = {
    "median": "median",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "ci_high_nr": "ci_high_nr",
    "ci_level": "ci_level",
    "n": "n",
    "events": "events",
}


def from_medians(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str | None] | None = None,
    level: float = 95,
    ci_scale: str = "log",
    use_events: bool = True,
    on_invalid: str = "raise",
) -> pd.DataFrame:
    """Add log-median effect sizes (MED) to a frame (a curated ``medians`` table or your own).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per arm and outcome.
    columns : mapping, optional
        Column names, overriding the defaults ``median``, ``ci_low``, ``ci_high``,
        ``ci_high_nr``, ``ci_level``, ``n``, ``events`` (keys and default names are equal).
        All but ``median`` may be absent.
    level : float, default 95
        CI level (percent) for rows with a CI but no ``ci_level``; flagged in
        ``ci_level_assumed``.
    ci_scale, use_events
        As in :func:`median_es`.
    on_invalid : {"raise", "exclude"}, default "raise"
        Impossible values (median <= 0, reversed CI, CI not containing the median) raise
        ``ValueError`` naming the column and rows, or are kept as excluded rows.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with ``yi`` (ln median), ``vi``, ``measure`` ("MED"),
        ``se_method``, ``approximate``, ``ci_level_used``, ``ci_level_assumed``, ``ni`` (from
        ``n``) and ``exclusion_reason``. Rows without a median or without any SE source stay,
        with ``yi``/``vi`` NaN and the reason; an :class:`ExclusionWarning` lists them.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"median": [6.9, 12.2], "ci_low": [5.5, 9.7], "ci_high": [8.3, None],
    ...                    "ci_high_nr": [False, True], "ci_level": [95, 95]})
    >>> from_medians(df)[["yi", "vi", "se_method"]].round(5)
            yi       vi                        se_method
    0  1.93152  0.01102                               ci
    1  2.50144  0.01369  lower bound (upper not reached)
    """
    frame = check_frame(frame)
    scale = check_choice("ci_scale", ci_scale, CI_SCALES)
    on_invalid = check_choice("on_invalid", on_invalid, ON_INVALID_CHOICES)
    cols = resolve_columns(MEDIAN_COLUMNS, columns)
    default_level = level_array(level, 1)[0] * 100
    k = len(frame)
    m = column(frame, cols, "median", required=True)
    lo = column(frame, cols, "ci_low", required=False)
    up = column(frame, cols, "ci_high", required=False)
    nr = bool_column(frame, cols, "ci_high_nr")
    lvl = column(frame, cols, "ci_level", required=False)
    n = column(frame, cols, "n", required=False)
    d = column(frame, cols, "events", required=False)
    has_ci = ~np.isnan(lo)
    assumed = has_ci & np.isnan(lvl)
    lvl_pct, lvl_bad = level_column_percent(lvl)
    lvl_used = np.where(has_ci, np.where(np.isnan(lvl), default_level, np.where(lvl_bad, lvl, lvl_pct)), np.nan)
    excl = Exclusions(k)
    labels = row_labels(frame)
    colnames = {"median": str(cols["median"]), "lower": str(cols["ci_low"]),
                "upper": str(cols["ci_high"]), "events": str(cols["events"]),
                "ci_level": str(cols["ci_level"])}
    colnames = {**colnames, **{v: v for v in colnames.values()}}
    with np.errstate(invalid="ignore"):
        bad_level = has_ci & (lvl_bad | ~((lvl_used > 0) & (lvl_used < 100)))
    handle_problems([RuleViolation("ci_level", LEVEL_COLUMN_RULE, bad_level,
                             {"ci_level": lvl_used})], excl, on_invalid, labels, colnames)
    excl.add(np.isnan(m), f"{cols['median']} missing (not reached?)")
    lv = np.where(bad_level | ~has_ci, 0.95, lvl_used / 100)
    arm = _arm_se(m, lo, up, lv, nr, d, scale, check_flag("use_events", use_events), names=colnames)
    handle_problems(arm.problems, excl, on_invalid, labels, colnames)
    no_se = ~np.isnan(m) & (arm.method == None)  # noqa: E711 (object array comparison)
    excl.add(no_se, "no CI bound" + (f" and no {cols['events']}" if use_events else "")
             + " to give the SE")
    with np.errstate(invalid="ignore", divide="ignore"):
        yi = np.log(np.where(m > 0, m, np.nan))
    res = result_frame(yi, arm.se_log**2, "MED", se_method=arm.method,
                       approximate=arm.method == SE_EVENTS, ci_level_used=lvl_used,
                       ci_level_assumed=assumed, ni=n)
    if (arm.method == SE_EVENTS).any():
        rows = [labels[i] for i in np.flatnonzero(arm.method == SE_EVENTS)][:10]
        warnings.warn(
            f"from_medians: no CI for rows {rows}; var(ln median) = 1/events assumes an "
            "exponential model (flagged in 'approximate')",
            ConversionWarning,
            stacklevel=2,
        )
    return finish_frame(frame, res, excl, "MED", "from_medians")
