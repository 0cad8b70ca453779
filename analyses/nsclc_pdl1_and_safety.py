"""Previously treated NSCLC, PD-(L)1 inhibitor vs docetaxel: PD-L1 effect modification and safety.

1. Within-trial PD-L1 interaction (Fisher et al., BMJ 2017;356:j573): for each trial that reports
   the OS hazard ratio in two complementary PD-L1 subgroups (``hazard_ratios.subgroup_pair``), the
   ratio of the subgroup HRs (PD-L1 positive / negative) on the log scale, then pooled across
   trials. Its SE comes from the two subgroup CIs or, where the source prints no CIs but an
   interaction p-value, from that p-value. One pair per trial (the 1% cut-off).
2. Beside it, the naive comparison the within-trial approach replaces: PD-L1-positive and
   PD-L1-negative subgroup HRs pooled separately across trials and then compared. It mixes
   between-trial differences (drug, assay, control arm, populations) into the PD-L1 contrast.
3. Grade >= 3 treatment-related adverse events (``TRAE_G3PLUS``; ``TRAE_G34`` where only grades
   3-4 are printed) as risk ratios, Mantel-Haenszel (metafor ``rma.mh``), over the randomized
   trials with events/n in both arms; the other randomized trials are listed with the reason.
   Pooled separately by review question, i.e. by control arm and by experimental regimen class:
   NSCLC PD-(L)1 monotherapy vs docetaxel, NSCLC PD-(L)1 + anti-angiogenic vs docetaxel, HCC
   PD-(L)1 monotherapy vs placebo. A risk ratio against a cytotoxic control and one against placebo
   answer different questions (how much toxicity is avoided by replacing docetaxel, how much is
   added to best supportive care) and sit on opposite sides of 1; a combination with a
   VEGF(R)/multikinase inhibitor adds that drug's own toxicity, so its ratio against docetaxel is
   not the monotherapy ratio either. One pooled ratio would describe none of them.
   A trial with several experimental arms of one class against one shared control (KEYNOTE-010:
   pembrolizumab 2 and 10 mg/kg vs docetaxel) enters once, its experimental arms combined into
   one (events and n summed; Cochrane Handbook, section 23.3.4), so the control arm is never
   counted twice. Trials that randomized doses or schedules of one regimen (no control arm) are
   listed with their arms, never pooled.
4. How many of the pooled values, and of all poolable rows of the bundled data, come from each
   source type (``sources.source_type``).

Run with ``metaoutcome reproduce`` or ``python -m metaoutcome._analyses.nsclc_pdl1_and_safety DIR``.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats

import metaoutcome as mo
from metaoutcome.plotting import forest
from metaoutcome.pooling import PoolResult
from metaoutcome.printer import fmt_estimate_ci, fmt_p_journal, fmt_x, is_missing
from metaoutcome.report.tables import study_table
from metaoutcome.reproduce import AnalysisOutput

from ._common import run_standalone

#: place in ``metaoutcome reproduce`` and its report (see :func:`metaoutcome.reproduce.list_analyses`)
ORDER = 40

TITLE = ("NSCLC PD-(L)1 vs docetaxel: within-trial PD-L1 interaction; grade ≥ 3 TRAEs (Mantel-Haenszel, NSCLC and HCC "
         "pooled separately); source types")

CUTOFF = "1%"  # one complementary pair per trial: PD-L1 >= 1% vs < 1%

GRADES = {"TRAE_G3PLUS": "grade >= 3 (3-5)", "TRAE_G34": "grade 3-4"}

# control arm of each review question: the safety risk ratios are pooled within a question, never across
SAFETY_STRATA = (("NSCLC", "docetaxel control"), ("HCC", "placebo control"))

#: regimen classes of a control arm (every other class is an experimental arm); a randomized trial with none of them
#: in any outcome table and no hazard ratio (one experimental-vs-control comparison) randomized doses or schedules
CONTROL_CLASSES = ("chemotherapy", "placebo")
DOSE_COMPARISON = ("doses or schedules randomized, no control arm: a ratio between doses is not a drug-versus-control "
                   "effect")
NOT_READ = "grade ≥ 3 TRAE counts not found in the sources read (curation report, section 6)"

#: the main question of each cancer keeps the plain table name (trae_rr_nsclc, trae_rr_hcc)
MAIN_CLASS = "PD-(L)1 monotherapy"


DASH = "–"
Z975 = 1.959963984540054


def _ge(text: object) -> str:
    return str(text).replace(">=", "≥").replace("<=", "≤")


def _source_type(t: object) -> str:
    return {"peer_reviewed_article": "peer-reviewed article"}.get(str(t), str(t).replace("_", " "))


def _names(names: dict[str, str], ids: object) -> str:
    return ", ".join(_name(names, t) for t in str(ids).split(", "))


def _name(names: dict[str, str], tid: object) -> str:
    return names.get(str(tid), str(tid))


def interactions_display(inter: pd.DataFrame, fe: PoolResult, names: dict[str, str]) -> pd.DataFrame:
    """Per trial and pooled: the two subgroup HRs and their ratio (95% CI), on the HR scale."""
    recs = []
    for r in inter.itertuples():
        se = math.sqrt(r.vi)
        recs.append({"Trial": _name(names, r.trial_id), "PD-L1 subgroups": f"{_ge(r.positive)} vs {_ge(r.negative)}",
                     "HR, PD-L1 ≥ 1%": fmt_x(r.hr_positive, 2), "HR, PD-L1 < 1%": fmt_x(r.hr_negative, 2),
                     "Ratio of HRs (95% CI)": fmt_estimate_ci(r.ratio, math.exp(r.yi - Z975 * se),
                                                              math.exp(r.yi + Z975 * se), 2),
                     "SE from": str(r.se_from)})
    if fe.k:
        recs.append({"Trial": "Common effect (inverse variance)", "PD-L1 subgroups": "", "HR, PD-L1 ≥ 1%": "",
                     "HR, PD-L1 < 1%": "", "Ratio of HRs (95% CI)": fmt_estimate_ci(
                         math.exp(fe.estimate), math.exp(fe.ci_low), math.exp(fe.ci_high), 2),
                     "SE from": f"{fe.k} trials"})
    return pd.DataFrame(recs)


def naive_display(naive: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    recs = [{"Subgroup": _ge(r.side), "Trials": _names(names, r.trials),
             "Pooled HR (95% CI)": fmt_estimate_ci(math.exp(r.estimate), math.exp(r.estimate - Z975 * r.se),
                                                    math.exp(r.estimate + Z975 * r.se), 2)}
            for r in naive.itertuples()]
    sides = naive.set_index("side") if not naive.empty else pd.DataFrame()
    if {"PD-L1 >= 1%", "PD-L1 < 1%"} <= set(sides.index):
        d = sides.loc["PD-L1 >= 1%", "estimate"] - sides.loc["PD-L1 < 1%", "estimate"]
        se = math.hypot(sides.loc["PD-L1 >= 1%", "se"], sides.loc["PD-L1 < 1%", "se"])
        recs.append({"Subgroup": "Ratio of the pooled HRs (≥ 1% / < 1%)", "Trials": "",
                     "Pooled HR (95% CI)": fmt_estimate_ci(math.exp(d), math.exp(d - Z975 * se),
                                                           math.exp(d + Z975 * se), 2)})
    return pd.DataFrame(recs)


def _arm_cell(events: object, n: object, pct: object, derived: bool) -> str:
    if is_missing(events) or is_missing(n):
        return DASH if is_missing(pct) else f"{fmt_x(float(pct), 1)}% (n not printed)"
    return f"{int(float(events))}{'*' if derived else ''} / {int(float(n))} ({fmt_x(100 * float(events) / float(n), 1)}%)"


def _arm_names(arm: object) -> str:
    """Arm label(s) for a reader: 'atezolizumab_cabozantinib' -> 'atezolizumab + cabozantinib'; combined arms joined."""
    return " and ".join(a.replace("_", " + ") for a in str(arm).split(", "))


def _secondary(source_type: object) -> str:
    """A dagger on an arm read in a secondary report (news summary)."""
    return " †" if "secondary_report" in str(source_type) else ""


def safety_display(saf: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    recs = []
    for r in saf.to_dict("records"):
        usable = bool(r.get("usable"))
        derived = bool(r.get("derived")) if not is_missing(r.get("derived")) else False
        combined = int(r["arms_combined"]) if not is_missing(r.get("arms_combined")) else 1
        control = r.get("control_label")
        recs.append({
            "Trial": _name(names, r["trial_id"]),
            "Question": str(r["question"]) if not is_missing(r.get("question")) else
            DASH if is_missing(control) else str(control) if str(control).startswith("none") else f"vs {control}",
            "Grades": DASH if is_missing(r.get("grades")) else str(r["grades"]).replace(">=", "≥"),
            "Experimental arm, events / n (%)": str(r["arms_text"]) if not is_missing(r.get("arms_text")) else
            DASH if is_missing(r.get("arm")) else
            (f"{combined} arms combined, " if combined > 1 else "") + f"{_arm_names(r['arm'])}: "
            + _arm_cell(r.get("ai"), r.get("n1i"), r.get("pct_experimental"), derived)
            + _secondary(r.get("source_type_experimental")),
            "Control arm, events / n (%)": DASH if is_missing(r.get("control")) else
            _arm_cell(r.get("ci"), r.get("n2i"), r.get("pct_control"), derived) + _secondary(r.get("source_type_control")),
            "Pooled": "yes" if usable else f"no: {r['reason']}",
        })
    return pd.DataFrame(recs)


def _not_pooled_txt(why: pd.DataFrame, names: dict[str, str]) -> str:
    """'randomized between doses ..., not pooled: A, B' for the dose-comparison trials of one cancer ('' if none)."""
    if why.empty:
        return ""
    doses = why.loc[why["reason"] == DOSE_COMPARISON, "trial_id"]
    return ("randomized between doses or schedules (no control arm), shown but not pooled: "
            + ", ".join(_name(names, t) for t in doses)) if len(doses) else ""


def mh_note(res: PoolResult) -> str:
    """Heterogeneity under a Mantel-Haenszel (common-effect) pool: no τ² is estimated."""
    if res.k < 2:
        return "One trial: heterogeneity not applicable."
    return (f"Heterogeneity: I² = {fmt_x(res.i2, 0)}%; Q = {fmt_x(res.q, 2)}, df = {int(res.q_df)}, "
            f"{fmt_p_journal(res.q_pvalue, prefix='p')}; test for overall effect {fmt_p_journal(res.pvalue, prefix='p')}. "
            "Weights: Mantel-Haenszel.")


def pool_safety(saf: pd.DataFrame) -> tuple[PoolResult | None, pd.DataFrame]:
    """Mantel-Haenszel risk ratio over the rows of ``saf`` with events/n in both arms (labelled by ``trial_id``)."""
    usable = saf[saf["usable"]] if not saf.empty else saf
    if not len(usable):
        return None, usable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mo.pool_mh(usable["ai"].to_numpy(float), ci=usable["ci"].to_numpy(float), n1i=usable["n1i"].to_numpy(float),
                         n2i=usable["n2i"].to_numpy(float), measure="RR", labels=list(usable["trial_id"]))
    return res, usable


def _log_se(row: pd.Series) -> float:
    """SE of log HR from a printed CI (NaN without a CI)."""
    if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return math.nan
    z = stats.norm.ppf(1 - (1 - float(row["ci_level"]) / 100) / 2)
    return (math.log(row["ci_high"]) - math.log(row["ci_low"])) / (2 * z)


def _is_negative(subgroup: str) -> bool:
    return "<" in subgroup and ">=" not in subgroup


def _interaction_p(note: object) -> float:
    m = re.search(r"interaction p-value ([0-9.]+)", str(note)) if pd.notna(note) else None
    return float(m.group(1)) if m else math.nan


def pdl1_interactions(hr: pd.DataFrame) -> pd.DataFrame:
    """One row per trial: log ratio of the PD-L1-positive to PD-L1-negative OS HR, and its SE."""
    pairs = hr[hr["subgroup_pair"].notna() & (hr["endpoint"] == "OS") & hr["superseded_by"].isna()]
    rows = []
    for pair, grp in pairs.groupby("subgroup_pair", sort=True):
        neg = grp[grp["subgroup"].map(_is_negative)]
        pos = grp[~grp["subgroup"].map(_is_negative)]
        if len(neg) != 1 or len(pos) != 1 or CUTOFF not in str(neg["subgroup"].iloc[0]):
            continue
        p, n = pos.iloc[0], neg.iloc[0]
        y = math.log(p["hr"]) - math.log(n["hr"])
        se_p, se_n = _log_se(p), _log_se(n)
        if not (math.isnan(se_p) or math.isnan(se_n)):
            se, how = math.sqrt(se_p**2 + se_n**2), "subgroup CIs (independent subgroups)"
        else:
            pint = _interaction_p(p["note"])
            se = abs(y) / stats.norm.ppf(1 - pint / 2) if pint == pint else math.nan
            how = f"printed interaction p = {pint:g} (two-sided z)" if pint == pint else "no CI and no interaction p"
        rows.append(dict(trial_id=p["trial_id"], pair=pair, positive=p["subgroup"], negative=n["subgroup"],
                         hr_positive=p["hr"], hr_negative=n["hr"], ratio=math.exp(y), yi=y, vi=se**2, se_from=how,
                         source_positive=p["source_id"], source_negative=n["source_id"]))
    return pd.DataFrame(rows)


def naive_subgroup_pools(hr: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PD-L1 >= 1% and < 1% OS HRs (with CIs) pooled separately across trials, and their ratio."""
    os_ = hr[(hr["endpoint"] == "OS") & hr["subgroup"].notna() & hr["superseded_by"].isna()].copy()
    os_["se"] = os_.apply(_log_se, axis=1)
    os_ = os_[os_["se"].notna()]
    os_["side"] = np.where(os_["subgroup"].map(_is_negative), "PD-L1 < 1%", "PD-L1 >= 1%")
    # a single cut-off per side: >= 1% (or the trial's whole PD-L1-positive population) vs < 1%
    os_ = os_[os_["subgroup"].str.contains(r"1%", regex=True)]
    used, res_rows = [], []
    for side, grp in os_.groupby("side", sort=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = mo.pool(np.log(grp["hr"].to_numpy(float)), grp["se"].to_numpy(float) ** 2, method="REML",
                          labels=list(grp["row_id"]))
        res_rows.append(dict(side=side, k=res.k, trials=", ".join(grp["trial_id"]), estimate=res.estimate, se=res.se,
                             hr=math.exp(res.estimate)))
        used.append(grp)
    return pd.DataFrame(res_rows), pd.concat(used) if used else os_


def _question(regimen_class: str, control_arm: str) -> str:
    return f"{regimen_class} vs {control_arm}"


def outcome_tables() -> dict[str, pd.DataFrame]:
    """The bundled outcome tables, by name (what a trial's arms are read from)."""
    return {name: mo.load_dataset(name) for name in ("proportions", "medians", "hazard_ratios")}


def dose_comparison_trials(trials: pd.DataFrame, cancer: str, tables: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Randomized trials of ``cancer`` that compare doses or schedules of one regimen, with no control arm.

    Read from the data, not listed by hand: a randomized trial is drug-vs-control when some arm of it, in any outcome
    table, is of a control class (``CONTROL_CLASSES``) or when it has a hazard ratio (one experimental-vs-control
    comparison). One with neither randomized doses or schedules (CheckMate 040's nivolumab + ipilimumab arms A/B/C,
    the camrelizumab q2w/q3w phase 2).
    """
    if tables is None:
        tables = outcome_tables()
    randomized = trials[(trials["cancer"] == cancer) & (trials["design"] == "randomized")]["trial_id"].astype(str)
    controlled = set(tables["hazard_ratios"]["trial_id"].astype(str))
    for name in ("proportions", "medians"):
        f = tables[name]
        controlled |= set(f.loc[f["regimen_class"].isin(CONTROL_CLASSES), "trial_id"].astype(str))
    return sorted(set(randomized) - controlled)


def _control_label(tid: str, tables: dict[str, pd.DataFrame]) -> str | None:
    """The control arm of a trial as the data names it (its regimen where the arm name is generic)."""
    for name in ("proportions", "medians"):
        f = tables[name]
        ctrl = f[(f["trial_id"] == tid) & f["regimen_class"].isin(CONTROL_CLASSES + ("other",))]
        if len(ctrl):
            arm, regimen = str(ctrl["arm"].iloc[0]), str(ctrl["regimen"].iloc[0])
            return regimen if arm in ("control", "soc") else arm.replace("_", " ")
    return None


def _arms_text(grp: pd.DataFrame) -> str:
    """Every arm of a dose-comparison trial, 'arm: events / n (%)'."""
    return "; ".join(f"{str(r['arm']).replace('_', ' ')}: " + _arm_cell(r["events"], r["n"], r["percent"], r["status"] == "derived")
                     for _, r in grp.sort_values("arm").iterrows())


def safety_tables(props: pd.DataFrame, trials: pd.DataFrame, cancer: str = "NSCLC",
                  tables: dict[str, pd.DataFrame] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Randomized trials' grade >= 3 TRAE rows (one cancer), the experimental and control arms side by side.

    One row per trial and experimental regimen class (the review question, with the control arm).
    Several experimental arms of one class against the trial's one control arm (KEYNOTE-010's two
    pembrolizumab doses) are combined into one arm, events and n summed (Cochrane Handbook 23.3.4),
    so that the shared control enters a pool once; ``arms_combined`` counts them. Arms that print
    different grade ranges are not compared.

    The second frame lists the randomized trials of ``cancer`` that are not pooled, with the reason: trials that
    randomized doses or schedules (:func:`dose_comparison_trials`; their arms are shown, never pooled), trials with
    no grade >= 3 TRAE row in the data, and trials whose rows are not one control and some experimental arm.
    """
    randomized = trials[(trials["cancer"] == cancer) & (trials["design"] == "randomized")]["trial_id"]
    # rows the curated data excludes from pooling are shown, with its reason, and never pooled
    saf = props[props["outcome"].isin(["TRAE_G3PLUS", "TRAE_G34"]) & props["trial_id"].isin(randomized)
                & props["superseded_by"].isna()]
    if tables is None:
        tables = outcome_tables()
    # a control-class arm among the rows given makes a trial drug-vs-control too (rows not in the bundled tables)
    controlled_here = set(props.loc[props["regimen_class"].isin(CONTROL_CLASSES), "trial_id"].astype(str))
    doses = [t for t in dose_comparison_trials(trials, cancer, tables) if t not in controlled_here]
    rows, why = [], []
    for tid in sorted(set(randomized.astype(str)) - set(saf["trial_id"].astype(str))):
        why.append(dict(cancer=cancer, trial_id=tid, reason=DOSE_COMPARISON if tid in doses else NOT_READ,
                        control_label="none (doses compared)" if tid in doses else _control_label(tid, tables)))
    for tid, grp in saf.groupby("trial_id", sort=True):
        if tid in doses:
            why.append(dict(cancer=cancer, trial_id=tid, reason=DOSE_COMPARISON, control_label="none (doses compared)",
                            grades=GRADES[str(grp["outcome"].iloc[0])], arms_text=_arms_text(grp)))
            continue
        ctrl = grp[grp["regimen_class"].isin(CONTROL_CLASSES)]
        expe = grp[~grp["regimen_class"].isin(CONTROL_CLASSES)]
        if len(ctrl) != 1 or expe.empty:
            why.append(dict(cancer=cancer, trial_id=tid, reason="not one control arm row and at least one experimental arm row"))
            continue
        c = ctrl.iloc[0]
        for cls, arms in expe.groupby("regimen_class", sort=True):
            outcomes = set(arms["outcome"]) | {c["outcome"]}
            if len(outcomes) > 1:
                why.append(dict(cancer=cancer, trial_id=tid, question=_question(str(cls), str(c["arm"])),
                                reason="arms print different grade ranges (" + ", ".join(sorted(GRADES[o] for o in outcomes)) + ")"))
                continue
            counted = arms["events"].notna().all() and arms["n"].notna().all()
            both = pd.concat([arms, ctrl])
            excl = "; ".join(f"{str(r.arm).replace('_', ' + ')} arm excluded: {r.exclude_reason}"
                             for r in both[both["exclude_reason"].notna()].itertuples())
            ok = bool(counted and pd.notna(c["events"]) and pd.notna(c["n"]) and not excl)
            ai = float(arms["events"].sum()) if counted else math.nan
            n1i = float(arms["n"].sum()) if counted else math.nan
            pct_e = (100 * ai / n1i if counted else math.nan) if len(arms) > 1 else arms["percent"].iloc[0]
            types = arms["source_type"].astype(str).unique()
            rows.append(dict(cancer=cancer, trial_id=tid, question=_question(str(cls), str(c["arm"])), regimen_class=cls,
                             outcome=c["outcome"], grades=GRADES[str(c["outcome"])],
                             arm=", ".join(arms["arm"].astype(str)), arms_combined=len(arms), ai=ai, n1i=n1i,
                             control=c["arm"], ci=c["events"], n2i=c["n"], pct_experimental=pct_e,
                             pct_control=c["percent"], usable=ok,
                             derived=bool((arms["status"] == "derived").any() or (c["status"] == "derived")),
                             reason="" if ok else excl or "events/n not printed in both arms (percentages only)",
                             source_type_experimental=", ".join(types), source_type_control=c["source_type"]))
    why_frame = pd.DataFrame(why)
    if len(why_frame):
        why_frame = why_frame.sort_values("trial_id", kind="stable", ignore_index=True)
    return pd.DataFrame(rows), why_frame


def _table_name(cancer: str, regimen_class: str) -> str:
    suffix = "" if regimen_class == MAIN_CLASS else "_" + re.sub(r"[^a-z0-9]+", "_", re.sub(r"[()-]", "", regimen_class.lower())).strip("_")
    return f"trae_rr_{cancer.lower()}{suffix}"


def _question_order(saf: pd.DataFrame) -> list[str]:
    """The questions of one cancer, the PD-(L)1 monotherapy question first."""
    if saf.empty:
        return []
    qs = saf[["question", "regimen_class"]].drop_duplicates()
    return [q for _, q in sorted(((r.regimen_class != MAIN_CLASS, r.question) for r in qs.itertuples()))]


def run(out: AnalysisOutput) -> None:
    trials = mo.load_dataset("trials")
    names = dict(zip(trials["trial_id"].astype(str), trials["short_name"].astype(str)))
    types = mo.load_dataset("sources").set_index("source_id")["source_type"]
    hr = mo.load_dataset("hazard_ratios", cancer="NSCLC")
    hr["source_type"] = hr["source_id"].map(types)

    # 1-2. PD-L1
    inter = pdl1_interactions(hr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = mo.pool(inter["yi"].to_numpy(float), inter["vi"].to_numpy(float), method="FE", labels=list(inter["trial_id"]))
    naive, naive_rows = naive_subgroup_pools(hr)
    out.text("Methods", (
        "PD-L1 effect modification was estimated within trials (Fisher et al., BMJ 2017): for each trial with OS "
        "hazard ratios in complementary PD-L1 subgroups at the 1% cut-off, the ratio of the PD-L1-positive to the "
        "PD-L1-negative HR was taken on the log scale, with its SE from the two subgroup CIs (independent patients) "
        "or, where a source prints no CIs, from its printed interaction p-value; the trial ratios were pooled with a "
        "common-effect inverse-variance model. For contrast, the positive and negative subgroup HRs were also pooled "
        "separately across trials (REML) and compared; that comparison is confounded by everything else that differs "
        "between trials (drug, PD-L1 assay and scoring, control-arm outcomes, populations), which is why the "
        "within-trial estimate is the one to interpret. Grade ≥ 3 treatment-related AEs were pooled as risk ratios "
        "by Mantel-Haenszel over randomized trials with events/n in both arms (printed, or derived where the "
        "derivation is unique; see the derivation column of the data), separately for each review question: the "
        "control arm (docetaxel in NSCLC, placebo in HCC) and the experimental regimen class (PD-(L)1 monotherapy; "
        "PD-(L)1 plus an anti-angiogenic drug). A ratio against a cytotoxic control and one against placebo answer "
        "different questions, and a combination adds its partner drug's toxicity, so no ratio is pooled across "
        "questions. Grade 3-4 and grade ≥ 3 (3-5) counts are pooled together within a question, each trial's grade "
        "range shown. A trial with several experimental arms of one class against one shared control enters once, its "
        "arms combined (events and n summed; Cochrane Handbook, section 23.3.4). Trials that randomized doses or "
        "schedules of one regimen (no control arm in the data, e.g. CheckMate 040's nivolumab + ipilimumab arms, the "
        "camrelizumab q2w/q3w phase 2) are listed with their arms but never pooled: a ratio between doses is not a "
        "drug-versus-control effect. Rows the curated data excludes from "
        "whole-population pooling (PD-L1 subgroups) are used only here."))
    out.table("pdl1_within_trial_interactions", inter, "Within-trial PD-L1 interaction: ratio of the OS hazard "
              "ratios, PD-L1 ≥ 1% / < 1%", display=interactions_display(inter, fe, names), study_rows=fe.k > 0,
              notes=("A ratio below 1 means more benefit in PD-L1-positive patients. SE from: how the SE of the log "
                     "ratio was obtained (the two subgroup CIs, or the printed interaction p-value).",))
    ratio_txt = (f"{math.exp(fe.estimate):.2f} (95% CI {math.exp(fe.ci_low):.2f} to {math.exp(fe.ci_high):.2f}), "
                 f"k = {fe.k} trials") if fe.k else "not estimable"
    pooled_pos = naive.set_index("side") if not naive.empty else pd.DataFrame()
    if {"PD-L1 >= 1%", "PD-L1 < 1%"} <= set(pooled_pos.index):
        d = pooled_pos.loc["PD-L1 >= 1%", "estimate"] - pooled_pos.loc["PD-L1 < 1%", "estimate"]
        s = math.hypot(pooled_pos.loc["PD-L1 >= 1%", "se"], pooled_pos.loc["PD-L1 < 1%", "se"])
        naive_txt = (f"{math.exp(d):.2f} (95% CI {math.exp(d - 1.959964 * s):.2f} to {math.exp(d + 1.959964 * s):.2f}); "
                     f"positive side from {_names(names, pooled_pos.loc['PD-L1 >= 1%', 'trials'])}, negative side "
                     f"from {_names(names, pooled_pos.loc['PD-L1 < 1%', 'trials'])}")
    else:
        naive_txt = "not estimable (a side has no subgroup HR with a CI)"
    out.table("pdl1_naive_subgroup_pools", naive, "Naive comparison: PD-L1 subgroup OS HRs pooled separately across "
              "trials (REML), then compared", display=naive_display(naive, names), notes=(
                  "Shown only to be set aside: the comparison across trials mixes between-trial differences (drug, "
                  "assay, control arm, populations) into the PD-L1 contrast.",))

    # 3. safety, one pool per review question (cancer, control arm, experimental regimen class)
    saf_parts, mh_txts, used_parts = [], [], []
    tables = outcome_tables()
    for cancer, control in SAFETY_STRATA:
        props = mo.load_dataset("proportions", cancer=cancer)
        props["source_type"] = props["source_id"].map(types)
        saf_c, why_c = safety_tables(props, trials, cancer, tables)
        saf_parts += [saf_c, why_c.assign(usable=False)]
        pooled: dict[str, PoolResult] = {}
        drawn: dict[str, list[str]] = {"Grade": [], "Experimental": [], "Control": []}  # RevMan's events/total
        drawn_trials: list[str] = []
        for question in _question_order(saf_c):
            saf_q = saf_c[saf_c["question"] == question]
            res, used_c = pool_safety(saf_q)
            used_parts.append(used_c)
            if res is None:
                mh_txts.append(f"{cancer}, {question}: not estimable (no trial with events/n in both arms)")
                continue
            pooled[question] = res
            drawn_trials += [_name(names, t) for t in used_c["trial_id"]]
            drawn["Grade"] += ["3-4" if str(g) == GRADES["TRAE_G34"] else "≥ 3" for g in used_c["grades"]]
            drawn["Experimental"] += [f"{int(a)}/{int(n)}" for a, n in zip(used_c["ai"], used_c["n1i"])]
            drawn["Control"] += [f"{int(c)}/{int(n)}" for c, n in zip(used_c["ci"], used_c["n2i"])]
            trials_txt = ", ".join(
                f"{_name(names, r.trial_id)} [{_ge(r.grades)}{', derived counts' if r.derived else ''}"
                f"{', ' + str(r.arms_combined) + ' arms combined' if r.arms_combined > 1 else ''}"
                f"{', secondary report' if 'secondary_report' in (str(r.source_type_experimental) + str(r.source_type_control)) else ''}]"
                for r in used_c.itertuples())
            mh_txts.append(f"{cancer}, {question}: {math.exp(res.estimate):.2f} (95% CI {math.exp(res.ci_low):.2f} to "
                           f"{math.exp(res.ci_high):.2f}), k = {res.k} ({trials_txt})")
            disp = study_table(res, columns={"Grades": [str(g).replace(">=", "≥") for g in used_c["grades"]]})
            disp["Trial"] = [_name(names, t) for t in used_c["trial_id"]] + [disp["Trial"].iloc[-1]]
            out.table(_table_name(cancer, str(saf_q["regimen_class"].iloc[0])), res.summary(),
                      f"Grade ≥ 3 treatment-related AEs, {cancer}, {question}: risk ratio, experimental vs control "
                      f"(Mantel-Haenszel)", display=disp, notes=(mh_note(res),), study_rows=True)
        if pooled:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig = forest(pooled if len(pooled) > 1 else next(iter(pooled.values())),
                             labels=drawn_trials, left_columns=drawn, favours=("experimental", "control"),
                             show_excluded=False, show_pi=False)
            out.figure(f"forest_trae_rr_{cancer.lower()}", fig,
                       f"Grade ≥ 3 treatment-related AEs, {cancer} ({control}): risk ratios by Mantel-Haenszel, one pool per "
                       f"review question (experimental regimen class), never pooled across questions. Grade: 3-4, "
                       f"grade 3-4 events (grade 5 not counted); ≥ 3, grades 3-5. Experimental, Control: patients "
                       f"with an event / patients treated")
        if _not_pooled_txt(why_c, names):
            mh_txts.append(f"{cancer}: {_not_pooled_txt(why_c, names)}")
    saf = pd.concat(saf_parts, ignore_index=True)
    usable = pd.concat(used_parts, ignore_index=True) if used_parts else pd.DataFrame()
    mh_txt = "; ".join(mh_txts)
    out.table("trae_grade3plus_by_trial", saf, "Grade ≥ 3 treatment-related AEs in the randomized trials, both arms "
              "(NSCLC and HCC)", display=safety_display(saf, names), notes=(
                  "* events derived from the printed percentage and n (the derivation is unique). Grade 3-4: grade 5 "
                  f"events not counted. {DASH}: not reported. † percentage read in a secondary report (news summary of the "
                  "publication; see the row's note). Question: experimental regimen class vs control arm; risk ratios "
                  "are pooled within a question only.",))

    # 4. source types of the pooled values and of every poolable bundled row
    pooled_types = pd.concat([
        pd.DataFrame({"value": "PD-L1 interaction (subgroup HRs)", "source_type": pd.concat([
            inter["source_positive"], inter["source_negative"]]).map(types)}),
        pd.DataFrame({"value": "naive subgroup pools", "source_type": naive_rows["source_type"]}),
        pd.DataFrame({"value": "TRAE risk ratio (arm rows)", "source_type": pd.concat([
            usable["source_type_experimental"], usable["source_type_control"]]) if len(usable) else pd.Series(dtype=str)}),
    ])
    counts = pooled_types.groupby(["value", "source_type"]).size().rename("rows").reset_index()
    out.table("pooled_values_by_source_type", counts, "Values pooled in this analysis, by source type",
              display=pd.DataFrame({"Pooled value": [str(v)[:1].upper() + str(v)[1:] for v in counts["value"]],
                                    "Source type": [_source_type(t) for t in counts["source_type"]],
                                    "Rows": [str(n) for n in counts["rows"]]}))
    bundled = []
    for name in ("proportions", "medians", "hazard_ratios"):
        f = mo.load_dataset(name)
        f = f[f["superseded_by"].isna() & f["exclude_reason"].isna()]
        bundled.append(f["source_id"].map(types).value_counts().rename_axis("source_type").rename(name))
    by_type = pd.concat(bundled, axis=1).fillna(0).astype(int).reset_index()
    out.table("poolable_rows_by_source_type", by_type, "Rows of the bundled data that may be pooled (not "
              "superseded, not excluded), by source type", display=pd.DataFrame({
                  "Source type": [_source_type(t) for t in by_type["source_type"]],
                  "Proportions": [str(n) for n in by_type["proportions"]],
                  "Medians": [str(n) for n in by_type["medians"]],
                  "Hazard ratios": [str(n) for n in by_type["hazard_ratios"]]}))
    line = "; ".join(f"{_source_type(r.source_type)}: {r.rows}" for r in counts.groupby("source_type")["rows"].sum().reset_index().itertuples())
    out.text("Results", (
        f"Within-trial PD-L1 interaction (ratio of OS HRs, PD-L1 ≥ 1% vs < 1%): {ratio_txt}. Trials: "
        + "; ".join(f"{_name(names, r.trial_id)} {r.ratio:.2f} (SE of log ratio from {r.se_from})"
                    for r in inter.itertuples())
        + f". A ratio below 1 means more benefit in PD-L1-positive patients. Naive across-trial comparison of pooled "
        f"subgroups: {naive_txt}; it is shown only to be set aside (between-trial confounding).\n\n"
        f"Grade ≥ 3 treatment-related AEs, risk ratio experimental vs control (Mantel-Haenszel), pooled separately by "
        f"review question (control arm and experimental regimen class): {mh_txt}. Grade 3-4 rows (grade 5 not counted) "
        f"are pooled with grade ≥ 3 rows and each trial's grade range is listed; several experimental arms of one class "
        f"against one shared control are combined into one arm (Cochrane Handbook 23.3.4), never compared twice with "
        f"the same control; the other randomized trials (percentages without per-arm denominators, no counts in any "
        f"source read, or doses compared without a control arm) are listed with the reason.\n\n"
        f"Pooled values by source type: {line}."))


if __name__ == "__main__":
    run_standalone(__name__, run, TITLE)
