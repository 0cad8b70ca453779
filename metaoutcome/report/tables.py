"""The reader's tables: natural scale, journal headers ("HR (95% CI)", "Weight, %"), one string per cell.

The tidy result tables (``PoolResult.summary()``, analysis scale, unrounded) stay what the CSV
files hold; these functions turn results into what a results section prints, with the numbers
formatted once, by :mod:`metaoutcome.printer`.

Examples
--------
>>> import metaoutcome as mo
>>> res = mo.pool([-0.53, -0.31, -0.39], [0.022, 0.010, 0.015], measure="HR", labels=["A", "B", "C"])
>>> study_table(res).columns.tolist()
['Trial', 'HR (95% CI)', 'Weight, %']
>>> pooled_table({"OS": res}).iloc[0, 2]
'0.68 (0.60 to 0.78)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..options import COMMON_METHODS
from ..printer import fmt_ci, fmt_estimate_ci, fmt_p_journal, fmt_x, is_missing

__all__ = ["effect_header", "study_table", "pooled_table", "heterogeneity_note", "humanize", "FlowRow",
           "not_pooled_table", "plain_reason", "model_label", "flow_row", "flow_frame"]

_METHOD_NAMES = {
    "REML": "REML", "ML": "ML", "DL": "DerSimonian-Laird", "PM": "Paule-Mandel", "EB": "empirical Bayes",
    "HS": "Hunter-Schmidt", "HE": "Hedges", "SJ": "Sidik-Jonkman", "FE": "common effect", "EE": "common effect",
    "CE": "common effect",
}


def _digits(res: Any) -> int:
    return 2 if res.measure_info.null is not None else 1


def effect_header(res: Any) -> str:
    """The column header of an effect with its CI: "HR (95% CI)", "Proportion, % (95% CI)", ..."""
    info = res.measure_info
    level = f"{float(getattr(res, 'level', 95.0)):g}"
    name = {"HR": "HR", "RR": "RR", "OR": "OR", "RMED": "Ratio of medians", "MED": "Median, months",
            "DMED": "Difference of medians, months", "RD": "Risk difference"}.get(info.name)
    if name is None:
        name = "Proportion, %" if info.percent else "Estimate"
    return f"{name} ({level}% CI)"


def model_label(res: Any) -> str:
    """'Random effects (REML)', 'Common effect', 'Random effects (GLMM)' ..."""
    if res.method in COMMON_METHODS:
        return "Common effect"
    if res.method in ("MH", "PETO"):  # common-effect methods: no τ² is estimated
        return f"Common effect ({'Mantel-Haenszel' if res.method == 'MH' else 'Peto'})"
    if getattr(res, "model", "") and "glmm" in str(res.model).lower():
        return "Random effects (GLMM)"
    return f"Random effects ({_METHOD_NAMES.get(res.method, res.method)})"


def study_table(res: Any, *, label_header: str = "Trial", columns: Mapping[str, Sequence[str]] | None = None,
                digits: int | None = None) -> pd.DataFrame:
    """Per-study rows and the pooled row on the natural scale: Trial | HR (95% CI) | Weight, %.

    Parameters
    ----------
    res : PoolResult
    label_header : str, default "Trial"
    columns : mapping of str to sequence of str, optional
        Extra columns after the label (one value per pooled study, in the result's order).
    digits : int, optional
        Decimals of the effect (default 2 for ratios, 1 for rates and medians).

    Returns
    -------
    DataFrame
        One string per cell; the last row is the pooled estimate.
    """
    d = _digits(res) if digits is None else digits
    s = res.summary()
    studies = s[s["row_type"] == "study"]
    pooled = s[s["row_type"] == "pooled"].iloc[0]
    rows: dict[str, list[str]] = {label_header: [str(x) for x in studies["label"]] + [model_label(res)]}
    for name, vals in (columns or {}).items():
        vals = list(vals)
        if len(vals) != len(studies):
            raise ValueError(f"columns[{name!r}] has {len(vals)} values; the result has {len(studies)} studies")
        rows[name] = [str(v) for v in vals] + [""]
    effect = [fmt_estimate_ci(e, lo, hi, d) for e, lo, hi in
              zip(studies["estimate_natural"], studies["ci_low_natural"], studies["ci_high_natural"])]
    rows[effect_header(res)] = effect + [
        fmt_estimate_ci(pooled["estimate_natural"], pooled["ci_low_natural"], pooled["ci_high_natural"], d)]
    w = studies["weight"].to_numpy(dtype=float)
    rows["Weight, %"] = [fmt_x(x, 1, missing="") for x in w] + ["100"]
    return pd.DataFrame(rows)


def heterogeneity_note(res: Any) -> str:
    """One line under a results table: τ², I², Q test and the prediction interval, journal style."""
    if res.k < 2:
        return "One trial: heterogeneity not applicable."
    d = _digits(res)
    nat = res.back_transform()
    parts = [f"τ² = {fmt_x(res.tau2, 3)}", f"I² = {fmt_x(res.i2, 0)}%",
             f"Q = {fmt_x(res.q, 2)}, df = {int(res.q_df)}, {fmt_p_journal(res.q_pvalue, prefix='p')}"]
    if not (is_missing(nat.pi_low) or is_missing(nat.pi_high)):
        parts.append(f"95% prediction interval {fmt_ci(nat.pi_low, nat.pi_high, d)}")
    parts.append(f"test for overall effect {fmt_p_journal(res.pvalue, prefix='p')}")
    return "Heterogeneity: " + "; ".join(parts) + "."


def pooled_table(results: Mapping[str, Any], *, label_header: str = "Analysis") -> pd.DataFrame:
    """One row per pooled result: Analysis | Trials | effect (95% CI) | 95% PI | I², % | τ² | p.

    When the results are on different scales, the effect column is "Estimate (95% CI)" and each
    cell names its unit.

    Parameters
    ----------
    results : mapping of str to PoolResult
        Row label -> result.
    label_header : str, default "Analysis"

    Returns
    -------
    DataFrame
        One string per cell (the object displays as an HTML table in Jupyter).
    """
    if not results:
        raise ValueError("results is empty; pass at least one pooled result")
    headers = {effect_header(r) for r in results.values()}
    one = len(headers) == 1
    effect_col = headers.pop() if one else "Estimate (95% CI)"
    recs = []
    for name, r in results.items():
        nat = r.back_transform()
        d = _digits(r)
        unit = "" if one else {"HR": "HR ", "RR": "RR ", "OR": "OR "}.get(r.measure, "")
        suffix = "" if one else ("%" if r.measure_info.percent else (" months" if r.measure == "MED" else ""))
        recs.append({
            label_header: name,
            "Trials": str(r.k),
            effect_col: unit + fmt_estimate_ci(nat.estimate, nat.ci_low, nat.ci_high, d) + suffix,
            "95% PI": "" if is_missing(nat.pi_low) or r.k < 2 else fmt_ci(nat.pi_low, nat.pi_high, d),
            "I², %": "" if r.k < 2 else fmt_x(r.i2, 0),
            "τ²": "" if r.k < 2 else fmt_x(r.tau2, 3),
            "p": fmt_p_journal(r.pvalue) if r.measure_info.null is not None else "",
            "Model": model_label(r) + (", HKSJ CI" if r.ci_method == "knha" else ""),
        })
    out = pd.DataFrame(recs)
    return out.loc[:, [c for c in out.columns if (out[c] != "").any()]]


# -- generic tables of analyses that give no display version ---------------------------------------

_HEADERS = {
    "k": "k", "n": "n", "events": "Events", "label": "Study", "study": "Study", "trial": "Trial",
    "estimate": "Estimate", "se": "SE", "ci_low": "95% CI, lower", "ci_high": "95% CI, upper",
    "pi_low": "95% PI, lower", "pi_high": "95% PI, upper", "pvalue": "p", "p_value": "p", "q_pvalue": "p (Q)",
    "tau2": "τ²", "tau": "τ", "i2": "I², %", "h2": "H²", "q": "Q", "q_df": "df", "weight": "Weight, %",
    "yi": "Effect (analysis scale)", "vi": "Variance", "row_id": "Row", "short_name": "Trial",
    "exclusion_reason": "Reason", "regimen_class": "Regimen class", "subgroup": "Subgroup",
    "estimate_natural": "Estimate", "ci_low_natural": "95% CI, lower", "ci_high_natural": "95% CI, upper",
    "pi_low_natural": "95% PI, lower", "pi_high_natural": "95% PI, upper", "nct_id": "NCT",
}


def _header(col: str) -> str:
    if col in _HEADERS:
        return _HEADERS[col]
    words = str(col).replace("_", " ").strip()
    words = re.sub(r"\bpct\b|\bpercent\b", "%", words)
    words = re.sub(r"\btau2\b", "τ²", words)
    words = re.sub(r"\bi2\b", "I²", words)
    return words[:1].upper() + words[1:]


#: curation notes that stay in the CSV, not in a reader's table
_DEBRIS = re.compile(r"\s*\(stored copy: '.*?'\)")


def humanize(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A generic table made readable: headers in words, numbers rounded, empty rows and columns dropped.

    For tables an analysis writes without a display version (``AnalysisOutput.table(...,
    display=None)``). p-value columns print as journals print them.

    Examples
    --------
    >>> humanize(pd.DataFrame({"study": ["a"], "ci_low": [0.1234], "pvalue": [0.0001], "x": [None]}))
      Study 95% CI, lower       p
    0     a         0.123  <0.001
    """
    f = frame.copy()
    f = f.loc[:, [c for c in f.columns if not f[c].isna().all()]]
    out = {}
    for c in f.columns:
        col = f[c]
        name = _header(str(c))
        if name in ("p", "p (Q)") or str(c).endswith("pvalue"):
            out[name] = [fmt_p_journal(v) for v in col]
        elif str(c) in ("exclusion_reason", "reason"):
            out[name] = ["" if is_missing(v) else plain_reason(str(v)) for v in col]
        elif pd.api.types.is_float_dtype(col):
            out[name] = [fmt_x(v, digits, missing="") for v in col]
        else:
            out[name] = ["" if is_missing(v) else _DEBRIS.sub("", str(v)) for v in col]
    disp = pd.DataFrame(out)
    if len(disp.columns):
        disp = disp[(disp != "").any(axis=1)].reset_index(drop=True)
    return disp


# -- the "not pooled, and why" table ------------------------------------------------------------------

_PLAIN = [
    (r"^n missing; events missing", "number of patients (the denominator) not reported"),
    (r"^(events|n) missing", "number of patients or responders not reported"),
    (r"^no CI bound and no events to give the SE", "no confidence interval printed, so its precision is unknown"),
    (r"^no CI \(both bounds\) and no usable p-value", "neither a confidence interval nor an exact p-value printed, so "
     "its precision is unknown"),
    (r"^no CI", "no confidence interval printed, so its precision is unknown"),
    (r"^subset of the patients in row", "a subgroup of a trial whose whole population is analysed"),
    (r"^superseded by row", "superseded by another analysis of the same patients"),
    (r"^only (?:the )?printed text", "only a bound was printed (e.g. '<1%'), not a number"),
]


def plain_reason(reason: str) -> str:
    """An exclusion reason in plain words, without internal row ids.

    Examples
    --------
    >>> plain_reason("superseded by row keynote_240_pfs_hr (an overlapping analysis of the same patients)")
    'superseded by another analysis of the same patients'
    >>> plain_reason("subset of the patients in row oak_os_hr_itt")
    'a subgroup of a trial whose whole population is analysed'
    >>> plain_reason("5-year re-analysis with doses pooled of the patients in k_2_os and k_10_os")
    '5-year re-analysis with doses pooled of the same patients as other rows'
    """
    text = str(reason).strip()
    parts = [p.strip() for p in text.split("; superseded by row")]  # two reasons joined by the converter
    if len(parts) > 1:
        return "; ".join(dict.fromkeys([plain_reason(parts[0]), plain_reason("superseded by row" + parts[1])]))
    for pattern, words in _PLAIN:
        if re.search(pattern, text):
            return words
    # unknown wording: keep it, minus internal row ids (snake_case tokens)
    ident = r"[a-z0-9]+(?:_[a-z0-9]+)+"
    text = re.sub(rf"\bof the patients in (?:rows? )?{ident}(?:,? and {ident})*", "of the same patients as other rows",
                  text)
    text = re.sub(rf"\s*\b(?:in |by )?rows? {ident}(?:,? and {ident})*\b", "", text)
    return re.sub(rf"\s*\b{ident}\b", "", text).strip() or text


@dataclass(frozen=True)
class FlowRow:
    """PRISMA-style counts for one outcome: rows available -> converted -> pooled, and why not.

    Parameters
    ----------
    outcome : str
        What a reader calls the outcome.
    available : int
        Rows of the curated data that match the question (population, setting, comparison).
    converted : int
        Rows that gave an effect size (estimate and variance).
    pooled : int
        Studies in the pooled model (after one population per trial and combining doses).
    reasons : sequence of (label, reason)
        Each row that is not pooled: the trial (and arm) and the converter's or the review's reason.
    note : str, default ""
        Anything else a reader needs (e.g. "KEYNOTE-010's two doses combined into one comparison").
    """

    outcome: str
    available: int
    converted: int
    pooled: int
    reasons: tuple[tuple[str, str], ...] = ()
    note: str = ""


def flow_row(outcome: str, available: pd.DataFrame, converted: int, pooled: int, *, label: str = "label",
             note: str = "") -> FlowRow:
    """A :class:`FlowRow` from the effect-size frame: every row with no ``yi`` gives its reason."""
    lab = available[label] if label in available else available["short_name"]
    miss = available["yi"].isna()
    reasons = tuple((str(a), str(r)) for a, r in zip(lab[miss], available.loc[miss, "exclusion_reason"]))
    return FlowRow(outcome, int(len(available)), int(converted), int(pooled), reasons, note)


def not_pooled_table(flows: Sequence[FlowRow]) -> pd.DataFrame:
    """The one "not pooled, and why" table: counts per outcome and the reasons in plain words.

    Trials sharing a reason are listed together, so each reason is written once per outcome.
    """
    recs = []
    for f in flows:
        grouped: dict[str, list[str]] = {}
        for who, why in f.reasons:
            grouped.setdefault(plain_reason(why), [])
            if who not in grouped[plain_reason(why)]:
                grouped[plain_reason(why)].append(who)
        why_text = "; ".join(f"{', '.join(who)}: {why}" for why, who in grouped.items())
        if f.note:
            why_text = (why_text + ". " if why_text else "") + f.note
        recs.append({"Outcome": f.outcome, "Rows available": str(f.available), "Converted": str(f.converted),
                     "Pooled": str(f.pooled), "Not pooled, and why": why_text or "all rows pooled"})
    return pd.DataFrame(recs)


def flow_frame(flows: Sequence[FlowRow]) -> pd.DataFrame:
    """The tidy version (CSV): one row per excluded row, with the counts repeated per outcome."""
    recs = []
    for f in flows:
        base = {"outcome": f.outcome, "available": f.available, "converted": f.converted, "pooled": f.pooled}
        if not f.reasons:
            recs.append({**base, "study": None, "reason": None, "reason_plain": None})
        for who, why in f.reasons:
            recs.append({**base, "study": who, "reason": why, "reason_plain": plain_reason(why)})
    return pd.DataFrame(recs, columns=["outcome", "available", "converted", "pooled", "study", "reason",
                                       "reason_plain"])
