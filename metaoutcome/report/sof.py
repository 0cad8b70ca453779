"""Summary-of-findings rows (GRADE layout) and the documented rules for the domains the data decide.

A summary-of-findings table (Guyatt et al. 2008; Schünemann et al., Cochrane Handbook ch. 14) gives,
per outcome: the number of trials and patients, the relative effect with its 95% CI, the absolute
effect where it is meaningful, the heterogeneity (I² and the 95% prediction interval) and the
certainty of the evidence by domain. Two domains follow from the numbers and are computed here by
the rules below; the other three (risk of bias, indirectness, publication bias) need a reviewer's
judgement and default to ``"not assessed"``. The overall certainty is only rated when all five
domains are.

Rules (defaults of :class:`SofRules`; :func:`rules_text` writes them as a methods paragraph)
----------------------------------------------------------------------------------------------
**Inconsistency** (GRADE guidelines 7, Guyatt et al. 2011b):

* one trial: not applicable;
* comparative measures (a null value exists, e.g. HR = 1): *not serious* when I² < 50% or the 95%
  prediction interval lies entirely on one side of the null; otherwise *serious*, or *very serious*
  when I² ≥ 75%;
* single-group measures (a pooled rate or median has no null): *not serious* when I² < 50%,
  *serious* when 50% ≤ I² < 75%, *very serious* when I² ≥ 75%.

**Imprecision** (GRADE guidelines 6, Guyatt et al. 2011a):

* comparative measures: *very serious* when the 95% CI includes both an appreciable benefit and an
  appreciable harm (HR below 0.80 and above 1.25); *serious* when it includes the null, or when
  fewer than 400 patients were randomised (the optimal-information-size rule of thumb; applied
  only when every trial's patient count is known); otherwise *not serious*;
* pooled rates: *serious* when the 95% CI is wider than 20 percentage points, *very serious* when
  wider than 40;
* pooled medians: *serious* when the upper 95% limit exceeds 1.5 times the lower, *very serious*
  when it exceeds 2 times.

**Absolute effects** (Skoetz et al. 2020 for time-to-event outcomes): for a hazard ratio, the
implied experimental median is the control median divided by the HR (its interval from the HR's
95% CI, the control median held fixed), which is exact when both arms have constant hazards
(exponential survival) under proportional hazards and an approximation otherwise; for a pooled
rate, the events per 1,000 patients with the rate's 95% CI.

**Overall certainty**: randomised comparisons start at high, single-group (non-comparative) data at
low; each *serious* domain lowers it one level and each *very serious* two, to at most very low.

References
----------
Guyatt GH, Oxman AD, Vist GE, et al. (2008). GRADE: an emerging consensus on rating quality of
evidence and strength of recommendations. *BMJ* 336:924-926.

Guyatt GH, Oxman AD, Kunz R, et al. (2011a). GRADE guidelines 6. Rating the quality of
evidence--imprecision. *J Clin Epidemiol* 64:1283-1293.

Guyatt GH, Oxman AD, Kunz R, et al. (2011b). GRADE guidelines: 7. Rating the quality of
evidence--inconsistency. *J Clin Epidemiol* 64:1294-1302.

Skoetz N, Goldkuhle M, van Dalen EC, et al. (2020). GRADE guidelines 27: how to calculate absolute
effects for time-to-event outcomes in summary of findings tables and Evidence Profiles.
*J Clin Epidemiol* 118:124-131.

Examples
--------
>>> import metaoutcome as mo
>>> res = mo.pool([-0.53, -0.31, -0.39], [0.022, 0.010, 0.015], measure="HR")
>>> row = sof_row("Overall survival", res, patients=1200, control_median=9.0, control_label="docetaxel")
>>> row.inconsistency, row.imprecision, row.certainty
('not serious', 'not serious', 'not rated')
>>> row.absolute
'Docetaxel: 9.0 months; implied: 13.2 (11.5 to 15.1) months'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from ..printer import fmt_ci, fmt_estimate_ci, fmt_x, is_missing

__all__ = ["SofRules", "SofRow", "sof_row", "rate_inconsistency", "rate_imprecision", "rules_text", "sof_frame",
           "sof_display", "DOMAIN_VALUES"]

Kind = Literal["ratio", "proportion", "median"]

#: what a certainty domain can say (the reviewer's inputs accept the same words)
DOMAIN_VALUES = ("not serious", "serious", "very serious", "not assessed", "not applicable")
_LEVELS = ("very low", "low", "moderate", "high")


@dataclass(frozen=True)
class SofRules:
    """Thresholds of the documented rules (see the module notes); the defaults are GRADE's.

    Parameters
    ----------
    i2_serious, i2_very_serious : float, default 50, 75
        I² (%) from which inconsistency is serious / very serious.
    appreciable_benefit, appreciable_harm : float, default 0.8, 1.25
        Ratio thresholds of an appreciable effect (GRADE's 25% relative change).
    ois_patients : int, default 400
        Optimal-information-size rule of thumb (patients) for comparative outcomes.
    rate_width_serious, rate_width_very_serious : float, default 20, 40
        95% CI width (percentage points) of a pooled rate.
    median_ratio_serious, median_ratio_very_serious : float, default 1.5, 2
        Upper/lower 95% limit ratio of a pooled median.
    """

    i2_serious: float = 50.0
    i2_very_serious: float = 75.0
    appreciable_benefit: float = 0.8
    appreciable_harm: float = 1.25
    ois_patients: int = 400
    rate_width_serious: float = 20.0
    rate_width_very_serious: float = 40.0
    median_ratio_serious: float = 1.5
    median_ratio_very_serious: float = 2.0


DEFAULT_RULES = SofRules()


def rate_inconsistency(i2: float, k: int, null: float | None, pi: tuple[float, float] | None = None,
                       rules: SofRules = DEFAULT_RULES) -> str:
    """Inconsistency by the documented rule (module notes).

    Parameters
    ----------
    i2 : float
        I² in percent.
    k : int
        Number of trials (or arms) pooled.
    null : float or None
        The null value on the natural scale (None for single-group measures).
    pi : (float, float), optional
        95% prediction interval on the natural scale.
    rules : SofRules

    Returns
    -------
    str
        One of "not applicable", "not serious", "serious", "very serious".

    Examples
    --------
    >>> rate_inconsistency(60.0, 5, 1.0, (0.6, 0.95)), rate_inconsistency(60.0, 5, 1.0, (0.6, 1.2))
    ('not serious', 'serious')
    >>> rate_inconsistency(80.0, 5, None), rate_inconsistency(0.0, 1, None)
    ('very serious', 'not applicable')
    """
    if k < 2:
        return "not applicable"
    if is_missing(i2):
        return "not assessed"
    if i2 < rules.i2_serious:
        return "not serious"
    if null is not None and pi is not None and not (is_missing(pi[0]) or is_missing(pi[1])):
        if pi[1] < null or pi[0] > null:
            return "not serious"
    return "very serious" if i2 >= rules.i2_very_serious else "serious"


def rate_imprecision(kind: Kind, ci: tuple[float, float], null: float | None = None, patients: int | None = None,
                     rules: SofRules = DEFAULT_RULES) -> str:
    """Imprecision by the documented rule (module notes).

    Parameters
    ----------
    kind : {"ratio", "proportion", "median"}
        A ratio measure (HR, RR, OR), a pooled rate in percent, or a pooled median.
    ci : (float, float)
        95% CI on the natural scale (percent for rates).
    null : float, optional
        Null value of a ratio (1).
    patients : int, optional
        Patients in the comparison when every trial's count is known; None skips the
        optimal-information-size check.
    rules : SofRules

    Returns
    -------
    str

    Examples
    --------
    >>> rate_imprecision("ratio", (0.65, 0.81), 1.0, 3000), rate_imprecision("ratio", (0.7, 1.1), 1.0, 3000)
    ('not serious', 'serious')
    >>> rate_imprecision("ratio", (0.5, 1.6), 1.0), rate_imprecision("proportion", (13.2, 26.4))
    ('very serious', 'not serious')
    """
    lo, hi = ci
    if is_missing(lo) or is_missing(hi):
        return "not assessed"
    if kind == "ratio":
        if lo < rules.appreciable_benefit and hi > rules.appreciable_harm:
            return "very serious"
        ref = 1.0 if null is None else null
        if lo <= ref <= hi:
            return "serious"
        if patients is not None and patients < rules.ois_patients:
            return "serious"
        return "not serious"
    if kind == "proportion":
        width = hi - lo
        if width > rules.rate_width_very_serious:
            return "very serious"
        return "serious" if width > rules.rate_width_serious else "not serious"
    if kind == "median":
        ratio = hi / lo if lo > 0 else math.inf
        if ratio > rules.median_ratio_very_serious:
            return "very serious"
        return "serious" if ratio > rules.median_ratio_serious else "not serious"
    raise ValueError(f"kind={kind!r}; allowed: 'ratio', 'proportion', 'median'")


def _certainty(start: str, domains: dict[str, str]) -> str:
    if any(v == "not assessed" for v in domains.values()):
        return "not rated"
    level = _LEVELS.index(start)
    for v in domains.values():
        level -= {"serious": 1, "very serious": 2}.get(v, 0)
    return _LEVELS[max(level, 0)]


@dataclass(frozen=True)
class SofRow:
    """One outcome of a summary-of-findings table: numbers (natural scale) and the domain ratings.

    Build it with :func:`sof_row`; :func:`sof_frame` gives the tidy table (CSV) and
    :func:`sof_display` the reader's table.
    """

    outcome: str
    kind: Kind
    measure: str
    k: int
    patients: int | None
    patients_note: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    i2: float
    absolute: str
    inconsistency: str
    imprecision: str
    risk_of_bias: str
    indirectness: str
    publication_bias: str
    certainty: str
    comment: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def _check_domain(name: str, value: str) -> str:
    if value not in DOMAIN_VALUES:
        raise ValueError(f"{name}={value!r}; allowed: {list(DOMAIN_VALUES)}")
    return value


def sof_row(
    outcome: str,
    res: Any,
    *,
    patients: int | None = None,
    patients_note: str = "",
    control_median: float | None = None,
    control_label: str = "control",
    control_arms: int | None = None,
    risk_of_bias: str = "not assessed",
    indirectness: str = "not assessed",
    publication_bias: str = "not assessed",
    randomised: bool | None = None,
    comment: str = "",
    rules: SofRules = DEFAULT_RULES,
) -> SofRow:
    """One summary-of-findings row from a pooled result.

    Parameters
    ----------
    outcome : str
        What a reader calls the outcome ("Overall survival").
    res : PoolResult
        The pooled result (``pool``, ``pool_glmm``, one subgroup of ``subgroup_analysis``).
    patients : int, optional
        Patients in the pooled trials when every trial's count is known (else None, with the
        known part in ``patients_note``).
    patients_note : str, default ""
        Shown instead of the count when it is not known, e.g. "at least 4,042; n recorded for 6 of 7".
    control_median : float, optional
        Control-arm median (months) for the absolute effect of a hazard ratio.
    control_label : str, default "control"
        Name of the control arm in the absolute-effect text.
    control_arms : int, optional
        How many control arms ``control_median`` summarises (said in the text).
    risk_of_bias, indirectness, publication_bias : str, default "not assessed"
        The reviewer's judgements, one of :data:`DOMAIN_VALUES`.
    randomised : bool, optional
        Whether the evidence is randomised (the certainty's start); default: True for comparative
        measures, False for single-group rates and medians.
    comment : str, default ""
    rules : SofRules
        Thresholds of the documented rules.

    Returns
    -------
    SofRow
    """
    info = res.measure_info
    nat = res.back_transform()
    if info.null is not None:
        kind: Kind = "ratio"
    elif info.percent:
        kind = "proportion"
    elif info.kind == "median":
        kind = "median"
    else:
        raise ValueError(f"measure {info.name!r} has no summary-of-findings layout; allowed: ratio measures "
                         "(HR, RR, OR, RMED), proportions and medians")
    for name, value in (("risk_of_bias", risk_of_bias), ("indirectness", indirectness),
                        ("publication_bias", publication_bias)):
        _check_domain(name, value)
    pi = (nat.pi_low, nat.pi_high)
    inconsistency = rate_inconsistency(res.i2, res.k, info.null, pi, rules)
    imprecision = rate_imprecision(kind, (nat.ci_low, nat.ci_high), info.null, patients, rules)
    extra: dict[str, float] = {}
    if kind == "ratio" and control_median is not None and not is_missing(control_median):
        implied = (control_median / nat.estimate, control_median / nat.ci_high, control_median / nat.ci_low)
        extra = {"control_median": float(control_median), "implied_median": implied[0],
                 "implied_median_ci_low": implied[1], "implied_median_ci_high": implied[2]}
        arms = f" (median of {control_arms} arms)" if control_arms else ""
        absolute = (f"{control_label.capitalize()}: {fmt_x(control_median, 1)} months{arms}; implied: "
                    f"{fmt_estimate_ci(*implied, digits=1)} months")
    elif kind == "proportion":
        per = (nat.estimate * 10, nat.ci_low * 10, nat.ci_high * 10)
        extra = {"per_1000": per[0], "per_1000_ci_low": per[1], "per_1000_ci_high": per[2]}
        absolute = f"{fmt_x(per[0], 0)} per 1,000 ({fmt_ci(per[1], per[2], 0)})"
    else:
        absolute = "not applicable"
    start = "high" if (randomised if randomised is not None else kind == "ratio") else "low"
    domains = {"inconsistency": inconsistency, "imprecision": imprecision, "risk of bias": risk_of_bias,
               "indirectness": indirectness, "publication bias": publication_bias}
    rated = {name: ("not serious" if v == "not applicable" else v) for name, v in domains.items()}
    return SofRow(
        outcome=outcome, kind=kind, measure=info.name, k=int(res.k), patients=patients, patients_note=patients_note,
        estimate=nat.estimate, ci_low=nat.ci_low, ci_high=nat.ci_high, pi_low=nat.pi_low, pi_high=nat.pi_high,
        i2=float(res.i2), absolute=absolute, inconsistency=inconsistency, imprecision=imprecision,
        risk_of_bias=risk_of_bias, indirectness=indirectness, publication_bias=publication_bias,
        certainty=_certainty(start, rated), comment=comment, extra=extra,
    )


def sof_frame(rows: Sequence[SofRow]) -> pd.DataFrame:
    """The tidy summary-of-findings table: one row per outcome, numbers unrounded (for the CSV)."""
    recs = []
    for r in rows:
        d = asdict(r)
        d.update(d.pop("extra"))
        recs.append(d)
    return pd.DataFrame(recs)


_EFFECT_NAME = {"HR": "HR", "RR": "RR", "OR": "OR", "RMED": "Ratio of medians"}


def _relative(r: SofRow) -> str:
    if r.kind == "ratio":
        return f"{_EFFECT_NAME.get(r.measure, r.measure)} {fmt_estimate_ci(r.estimate, r.ci_low, r.ci_high)}"
    if r.kind == "proportion":
        return f"{fmt_x(r.estimate, 1)}% ({fmt_ci(r.ci_low, r.ci_high, 1)})"
    return f"{fmt_estimate_ci(r.estimate, r.ci_low, r.ci_high, 1)} months"


def _heterogeneity(r: SofRow) -> str:
    if r.k < 2:
        return "not applicable (1 trial)"
    digits = 2 if r.kind == "ratio" else 1
    i2 = f"I² {fmt_x(r.i2, 0)}%"
    if is_missing(r.pi_low) or is_missing(r.pi_high):
        return i2
    unit = "%" if r.kind == "proportion" else ""
    return f"{i2}; PI {fmt_ci(r.pi_low, r.pi_high, digits)}{unit}"


def _reviewer(r: SofRow) -> str:
    vals = (r.risk_of_bias, r.indirectness, r.publication_bias)
    return vals[0] if len(set(vals)) == 1 else "; ".join(vals)


def sof_display(rows: Sequence[SofRow]) -> pd.DataFrame:
    """The reader's summary-of-findings table (strings, journal headers)."""
    out = []
    for r in rows:
        n = f"{r.patients:,}" if r.patients is not None else "n not known"
        people = f"{r.k} ({r.patients_note or n})"
        out.append({
            "Outcome": r.outcome + (f" ({r.comment})" if r.comment else ""),
            "Trials (patients)": people,
            "Relative effect (95% CI)": _relative(r),
            "Absolute effect (95% CI)": r.absolute,
            "Heterogeneity: I² (95% PI)": _heterogeneity(r),
            "Inconsistency": r.inconsistency,
            "Imprecision": r.imprecision,
            "Risk of bias; indirectness; publication bias": _reviewer(r),
            "Certainty": r.certainty,
        })
    return pd.DataFrame(out)


def rules_text(rules: SofRules = DEFAULT_RULES) -> str:
    """The rules behind the computed certainty domains, as a methods paragraph."""
    r = rules
    return (
        "Summary-of-findings tables follow the GRADE layout (Guyatt et al. 2008). Two certainty domains were rated "
        "from the data by fixed rules. Inconsistency (Guyatt et al. 2011b): not applicable for one trial; for "
        f"comparative outcomes not serious when I² < {r.i2_serious:g}% or the 95% prediction interval lies on one "
        f"side of no effect, otherwise serious (very serious when I² ≥ {r.i2_very_serious:g}%); for pooled rates "
        f"and medians, which have no null value, serious when I² ≥ {r.i2_serious:g}% and very serious when "
        f"I² ≥ {r.i2_very_serious:g}%. Imprecision (Guyatt et al. 2011a): for comparative outcomes very serious "
        f"when the 95% CI includes both an appreciable benefit and an appreciable harm (below {r.appreciable_benefit:g}"
        f" and above {r.appreciable_harm:g}), serious when it includes no effect or when fewer than "
        f"{r.ois_patients} patients were randomised (applied only when every trial's count is known); for pooled "
        f"rates serious when the 95% CI is wider than {r.rate_width_serious:g} percentage points (very serious: "
        f"{r.rate_width_very_serious:g}); for pooled medians serious when the upper 95% limit exceeds "
        f"{r.median_ratio_serious:g} times the lower (very serious: {r.median_ratio_very_serious:g} times). Risk of "
        "bias, indirectness and publication bias need a reviewer's judgement and are shown as not assessed unless "
        "given; the overall certainty (high for randomised comparisons, low for single-group data, one level "
        "down per serious and two per very serious domain) is rated only when all five domains are. Absolute "
        "effects: for hazard ratios, the implied experimental median is the control median divided by the HR "
        "(Skoetz et al. 2020), exact for constant hazards under proportional hazards and an approximation "
        "otherwise, with the control median held fixed; for pooled rates, events per 1,000 patients."
    )
