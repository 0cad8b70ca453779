"""Single-arm proportions (ORR, DCR, ...): effect sizes PR, PLN, PLO, PAS, PFT and per-study CIs.

The effect sizes and sampling variances are those of metafor's ``escalc`` for the same measure,
including its continuity-correction rule (``add``, ``to``) and its ``vtype`` options.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._checks import check_choice, check_flag, count_violations
from ._common import (
    ON_INVALID_CHOICES,
    BoolArray,
    Exclusions,
    FloatArray,
    RuleViolation,
    check_frame,
    check_lengths,
    check_to,
    column,
    correction_mask,
    finish_frame,
    float_arg,
    handle_problems,
    inf_to_nan,
    level_array,
    raise_problems,
    resolve_columns,
    row_labels,
    result_frame,
    z_crit,
)

__all__ = ["proportion_es", "proportion_ci", "from_proportions", "PROPORTION_MEASURES"]

PROPORTION_MEASURES = ("PR", "PLN", "PLO", "PAS", "PFT")
_VTYPES = {"PR": ("LS", "UB", "AV"), "PLN": ("LS", "AV"), "PLO": ("LS", "AV"), "PAS": ("LS",), "PFT": ("LS",)}
CI_METHODS = ("clopper-pearson", "wilson", "wald")


def _proportion_problems(events: FloatArray, n: FloatArray, events_name: str = "events",
                         n_name: str = "n") -> list[RuleViolation]:
    # the one count rule (metaoutcome._checks.count_violations), as Problems
    rules = count_violations({events_name: events}, {n_name: n}, [(events_name, n_name)])
    return [RuleViolation(arg, rule, mask, shown) for arg, rule, mask, shown in rules]


def _wmean(x: FloatArray, w: FloatArray) -> float:
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else float("nan")


def _default_add(measure: str, add: float | None) -> float:
    if add is None:
        # metafor: add = 1/2 by default, but 0 for PAS and PFT unless 'add' is given explicitly
        return 0.0 if measure in ("PAS", "PFT") else 0.5
    a = float(add)
    if not np.isfinite(a) or a < 0:
        raise ValueError(f"add={add!r} must be a finite number >= 0 (metafor's default is 1/2)")
    return a


def proportion_es(
    events: ArrayLike,
    n: ArrayLike,
    measure: str = "PLO",
    *,
    add: float | None = None,
    to: str = "only0",
    vtype: str = "LS",
) -> pd.DataFrame:
    """Effect sizes for single-arm proportions (metafor ``escalc`` PR, PLN, PLO, PAS, PFT).

    Parameters
    ----------
    events : array_like
        Number of patients with the outcome (metafor ``xi``). NaN gives a NaN row.
    n : array_like
        Number of patients (metafor ``ni``), same length as ``events``.
    measure : {"PR", "PLN", "PLO", "PAS", "PFT"}, default "PLO"
        Raw proportion, log proportion, logit, arcsine square root, or Freeman-Tukey double
        arcsine (metafor's scaling with factor 1/2).
    add : float, optional
        Continuity correction added to the events and non-events of the rows chosen by ``to``.
        Default 1/2 for PR, PLN, PLO and 0 for PAS, PFT, as in metafor.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which rows get ``add``: rows with 0 events or 0 non-events, all rows, all rows if any row
        has a zero cell, or none.
    vtype : str, default "LS"
        Variance estimator: "LS" (large sample), "UB" (unbiased, PR only) or "AV" (from the
        sample-size weighted average proportion; PR, PLN, PLO), as in metafor.

    Returns
    -------
    pandas.DataFrame
        One row per study: ``yi`` (effect size on the analysis scale), ``vi`` (sampling
        variance), ``measure``, ``ni`` (the sample size before any correction, for ``PFT``
        back-transforms and funnel plots) and ``corrected`` (whether ``add`` was applied).
        ``attrs["measure"]`` is the measure.

    Notes
    -----
    With :math:`x` events and :math:`m = n - x` non-events (after correction) and
    :math:`p = x / n`:

    - PR: :math:`y = p`, :math:`v = p(1-p)/n`
    - PLN: :math:`y = \\ln p`, :math:`v = 1/x - 1/n`
    - PLO: :math:`y = \\ln\\{p/(1-p)\\}`, :math:`v = 1/x + 1/m`
    - PAS: :math:`y = \\arcsin\\sqrt{p}`, :math:`v = 1/(4n)`
    - PFT: :math:`y = \\tfrac12\\{\\arcsin\\sqrt{x/(n+1)} + \\arcsin\\sqrt{(x+1)/(n+1)}\\}`,
      :math:`v = 1/(4n + 2)`

    Values of :math:`\\pm\\infty` (e.g. PLN with 0 events and ``to="none"``) become NaN with a
    :class:`ConversionWarning`, as metafor recodes them to NA.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software*, 36(3), 1-48.

    Freeman, M. F., & Tukey, J. W. (1950). Transformations related to the angular and the square
    root. *The Annals of Mathematical Statistics*, 21(4), 607-611.

    Examples
    --------
    >>> es = proportion_es([16, 0], [17, 20], measure="PLO")
    >>> es[["yi", "vi", "corrected"]].round(4)
           yi      vi  corrected
    0  2.7726  1.0625      False
    1 -3.7136  2.0488       True
    """
    m = check_choice("measure", measure, PROPORTION_MEASURES)
    vt = check_choice("vtype", vtype, _VTYPES[m], case_sensitive=True)
    to = check_to(to)
    add_v = _default_add(m, add)
    ev = float_arg("events", events)
    nn = float_arg("n", n)
    check_lengths(events=ev, n=nn)
    raise_problems(_proportion_problems(ev, nn))
    return _proportion_core(ev, nn, m, add_v, to, vt)


def _proportion_core(ev: FloatArray, nn: FloatArray, m: str, add: float, to: str, vt: str,
                     index: pd.Index | None = None) -> pd.DataFrame:
    mi = nn - ev
    zero = (ev == 0) | (mi == 0)
    corr: BoolArray = correction_mask(zero, to, add) & ~np.isnan(ev) & ~np.isnan(nn)
    xi = ev + add * corr
    mi = mi + add * corr
    ni = xi + mi
    with np.errstate(divide="ignore", invalid="ignore"):
        pri = xi / ni
        if m == "PR":
            yi = pri
            if vt == "LS":
                vi = pri * (1 - pri) / ni
            elif vt == "UB":
                vi = pri * (1 - pri) / (ni - 1)
            else:
                mw = _wmean(pri, ni)
                vi = mw * (1 - mw) / ni
        elif m == "PLN":
            yi = np.log(pri)
            if vt == "LS":
                vi = 1 / xi - 1 / ni
            else:
                mw = _wmean(pri, ni)
                vi = 1 / (mw * ni) - 1 / ni
        elif m == "PLO":
            yi = np.log(pri / (1 - pri))
            if vt == "LS":
                vi = 1 / xi + 1 / mi
            else:
                mw = _wmean(pri, ni)
                vi = 1 / (mw * ni) + 1 / ((1 - mw) * ni)
        elif m == "PAS":
            yi = np.arcsin(np.sqrt(pri))
            vi = 1 / (4 * ni)
        else:  # PFT
            yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
            vi = 1 / (4 * ni + 2)
    yi, vi = inf_to_nan(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), f"measure {m!r}")
    return result_frame(yi, vi, m, index=index, ni=nn, corrected=corr)


def proportion_ci(
    events: ArrayLike,
    n: ArrayLike,
    level: ArrayLike = 95,
    method: str = "clopper-pearson",
) -> pd.DataFrame:
    """Per-study confidence interval for a proportion.

    Parameters
    ----------
    events, n : array_like
        Events and sample sizes (same length).
    level : float or array_like, default 95
        Confidence level in percent; one value or one per study.
    method : {"clopper-pearson", "wilson", "wald"}, default "clopper-pearson"
        Exact (Clopper-Pearson) interval as R's ``binom.test``; Wilson score interval as R's
        ``prop.test(correct=FALSE)``; or the Wald interval, truncated to [0, 1].

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate`` (events / n), ``ci_low``, ``ci_high`` (fractions, not percent) and
        ``method``.

    Notes
    -----
    Clopper-Pearson: :math:`[B(\\alpha/2; x, n-x+1),\\ B(1-\\alpha/2; x+1, n-x)]` with :math:`B`
    the beta quantile (0 when :math:`x=0`, 1 when :math:`x=n`). Wilson:
    :math:`\\{p + z^2/2n \\pm z\\sqrt{p(1-p)/n + z^2/4n^2}\\}/(1 + z^2/n)`. Wald:
    :math:`p \\pm z\\sqrt{p(1-p)/n}`.

    References
    ----------
    Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated
    in the case of the binomial. *Biometrika*, 26(4), 404-413.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *Journal of the American Statistical Association*, 22(158), 209-212.

    Examples
    --------
    >>> proportion_ci([3], [10])[["estimate", "ci_low", "ci_high"]].round(4)
       estimate  ci_low  ci_high
    0       0.3  0.0667   0.6525
    """
    from scipy.stats import beta

    meth = check_choice("method", method, CI_METHODS)
    ev = float_arg("events", events)
    nn = float_arg("n", n)
    k = check_lengths(events=ev, n=nn)
    raise_problems(_proportion_problems(ev, nn))
    lv = level_array(level, k)
    alpha = 1 - lv
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ev / nn
        if meth == "clopper-pearson":
            lo = np.where(ev == 0, 0.0, beta.ppf(alpha / 2, ev, nn - ev + 1))
            hi = np.where(ev == nn, 1.0, beta.ppf(1 - alpha / 2, ev + 1, nn - ev))
        else:
            z = z_crit(lv)
            if meth == "wilson":
                centre = p + z**2 / (2 * nn)
                half = z * np.sqrt(p * (1 - p) / nn + z**2 / (4 * nn**2))
                den = 1 + z**2 / nn
                lo = np.where(p <= 0, 0.0, (centre - half) / den)
                hi = np.where(p >= 1, 1.0, (centre + half) / den)
            else:
                half = z * np.sqrt(p * (1 - p) / nn)
                lo = np.clip(p - half, 0.0, 1.0)
                hi = np.clip(p + half, 0.0, 1.0)
    nan = np.isnan(p)
    lo = np.where(nan, np.nan, lo)
    hi = np.where(nan, np.nan, hi)
    return pd.DataFrame({"estimate": p, "ci_low": lo, "ci_high": hi, "method": meth})


PROPORTION_COLUMNS: dict[str, str | None] = {"events": "events", "n": "n", "percent": "percent"}


def events_from_percent(percent: ArrayLike, n: ArrayLike) -> FloatArray:
    """Events derived from a printed percentage and n, rounding half up: ``floor(percent/100 * n + 1/2)``.

    The rule :func:`from_proportions` uses for rows with ``derive_events`` (flagged ``events_derived``).

    >>> events_from_percent([28.4, 9.0], [67, 137]).tolist()
    [19.0, 12.0]
    """
    return np.floor(np.asarray(percent, dtype=float) / 100.0 * np.asarray(n, dtype=float) + 0.5)


def from_proportions(
    frame: pd.DataFrame,
    measure: str = "PLO",
    *,
    columns: Mapping[str, str | None] | None = None,
    add: float | None = None,
    to: str = "only0",
    vtype: str = "LS",
    derive_events: bool = True,
    on_invalid: str = "raise",
) -> pd.DataFrame:
    """Add proportion effect sizes to a frame (a curated ``proportions`` table or your own).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per arm and outcome.
    measure : {"PR", "PLN", "PLO", "PAS", "PFT"}, default "PLO"
        See :func:`proportion_es`.
    columns : mapping, optional
        Column names, overriding the defaults ``{"events": "events", "n": "n",
        "percent": "percent"}``. ``percent`` may be absent.
    add, to, vtype
        Continuity correction and variance type, as in :func:`proportion_es`.
    derive_events : bool, default True
        Where ``events`` is missing but ``percent`` and ``n`` are given, use
        ``events = floor(percent / 100 * n + 1/2)`` (rounding half up) and flag the row in
        ``events_derived``.
    on_invalid : {"raise", "exclude"}, default "raise"
        Impossible values (negative counts, events > n, n <= 0) raise ``ValueError`` naming the
        column and rows, or are kept as excluded rows.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with the columns of :func:`proportion_es` (``yi``, ``vi``,
        ``measure``, ``ni``, ``corrected``) plus ``events_derived`` and ``exclusion_reason``
        (None for converted rows). Rows that cannot be converted (e.g. ``n`` missing) are kept
        with ``yi``/``vi`` NaN and a reason, and an :class:`ExclusionWarning` lists them.
        ``attrs["measure"]`` is the measure.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"trial_id": ["a", "b"], "events": [19, None], "n": [67, 40],
    ...                    "percent": [28.4, 25.0]})
    >>> out = from_proportions(df, measure="PR")
    >>> out[["trial_id", "yi", "events_derived"]].round(4)
      trial_id      yi  events_derived
    0        a  0.2836           False
    1        b  0.2500            True
    """
    frame = check_frame(frame)
    m = check_choice("measure", measure, PROPORTION_MEASURES)
    vt = check_choice("vtype", vtype, _VTYPES[m], case_sensitive=True)
    to = check_to(to)
    add_v = _default_add(m, add)
    on_invalid = check_choice("on_invalid", on_invalid, ON_INVALID_CHOICES)
    cols = resolve_columns(PROPORTION_COLUMNS, columns)
    ev = column(frame, cols, "events", required=True)
    nn = column(frame, cols, "n", required=True)
    pc = column(frame, cols, "percent", required=False)
    k = len(frame)
    derived = np.zeros(k, dtype=bool)
    derive_events = check_flag("derive_events", derive_events)
    if derive_events:
        derived = np.isnan(ev) & ~np.isnan(pc) & ~np.isnan(nn)
        ev = np.where(derived, events_from_percent(pc, nn), ev)
    excl = Exclusions(k)
    excl.add(np.isnan(nn), f"{cols['n']} missing")
    if derive_events:  # a percent gives events only with n
        excl.add(np.isnan(ev) & np.isnan(pc), f"{cols['events']} missing (and no percent to derive it from)")
        excl.add(np.isnan(ev) & ~np.isnan(pc), f"{cols['events']} missing (the percent gives events only with n)")
    else:
        excl.add(np.isnan(ev), f"{cols['events']} missing")
    colnames = {"events": str(cols["events"]), "n": str(cols["n"])}
    handle_problems(_proportion_problems(ev, nn), excl, on_invalid, row_labels(frame), colnames)
    bad = excl.mask
    res = _proportion_core(np.where(bad, np.nan, ev), np.where(bad, np.nan, nn), m, add_v, to, vt)
    res["events_derived"] = derived
    return finish_frame(frame, res, excl, m, "from_proportions")
