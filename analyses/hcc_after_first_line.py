"""Advanced hepatocellular carcinoma after first-line systemic therapy.

1. OS and PFS hazard ratios of the placebo-controlled phase 3 trials, found from the data (at the
   time of writing RESORCE, CELESTIAL, REACH-2, KEYNOTE-240, KEYNOTE-394 and AHELP). REACH-2's OS HR
   has no printed CI: its SE comes from the printed two-sided p-value; KEYNOTE-240/394's one-sided
   p-values are not needed (they print CIs).
2. ORR and DCR of later-line regimens by regimen class: every non-placebo arm of a second-line
   trial with events/n, pooled per class with the binomial-normal GLMM (metafor ``rma.glmm``) and
   with inverse-variance logit proportions (``rma`` on ``escalc("PLO")``), side by side.
3. Pooled median OS and PFS of the later-line arms (log medians, SE from the printed CI).

Run with ``metaoutcome reproduce`` or ``python -m metaoutcome._analyses.hcc_after_first_line DIR``.
"""

from __future__ import annotations

import warnings

import pandas as pd

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.glmm import pool_glmm
from metaoutcome.plotting import forest
from metaoutcome.printer import fmt_estimate_ci
from metaoutcome.report import cite, flow_row, heterogeneity_note, pooled_table, sof_row, study_table
from metaoutcome.reproduce import AnalysisOutput
from metaoutcome.subgroups import subgroup_analysis

from ._common import (Included, control_median, describe_model, fmt_ci, fmt_p_journal, fmt_x,
                      model_references, one_population, patients, placebo_controlled_hrs, pooled_row, review_tables,
                      run_standalone, study_labels)

#: place in ``metaoutcome reproduce`` and its report (see :func:`metaoutcome.reproduce.list_analyses`)
ORDER = 10

TITLE = "Advanced HCC after first-line systemic therapy: placebo-controlled trials and later-line regimens"

METHOD, CI_METHOD = "REML", "z"
LATER_LINE = ["second-line", "second-line or later", "third-line or later"]
_ENDPOINT = {"OS": "Overall survival", "PFS": "Progression-free survival"}
_OUTCOME = {"ORR": "Objective response", "DCR": "Disease control"}


def _effects(table: str, outcome: str, measure: str | None = None) -> tuple[pd.DataFrame, int]:
    frame = mo.load_dataset(table, cancer="HCC", outcome=outcome, with_trials=True)
    frame = frame[frame["setting"].isin(LATER_LINE) & (frame["regimen_class"] != "placebo")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_proportions(frame, measure=measure or "PLO") if table == "proportions" else effects.from_medians(frame)
    converted = int(es["yi"].notna().sum())
    es = one_population(es.reset_index(drop=True), ["trial_id", "arm", "outcome"])
    return es.assign(label=study_labels(es)), converted


def _excluded(es: pd.DataFrame) -> pd.DataFrame:
    return es.loc[es["yi"].isna(), ["row_id", "label", "population", "printed", "exclusion_reason"]].reset_index(drop=True)


def run(out: AnalysisOutput) -> None:
    rows, sof, flows = [], [], []
    text_hr, text_resp, text_med = [], [], []
    included = Included()
    pooled_display = {}

    # -- 1. placebo-controlled phase 3 hazard ratios ---------------------------------------------
    for endpoint in ("OS", "PFS"):
        es = placebo_controlled_hrs(endpoint)
        converted = int(es["yi"].notna().sum())
        es = one_population(es, ["trial_id", "endpoint"]).assign(label=lambda f: f["short_name"])
        res = mo.pool(es, measure="HR", method=METHOD, ci_method=CI_METHOD, labels=list(es["short_name"]))
        src = {"ci": "CI", "p-value": "p", "p-value bound": "p bound"}
        used = es[es["yi"].notna()]
        se_from = [src.get(s, s) for s in used["se_source"]]
        fig = forest(res, left_columns={"Drug": list(used["experimental_arm"]), "SE from": se_from},
                     favours=("Favours drug", "Favours placebo"), show_excluded=False)
        out.figure(f"forest_{endpoint.lower()}_hr", fig,
                   f"{_ENDPOINT[endpoint]}: hazard ratios of the placebo-controlled phase 3 trials (random effects, REML)")
        out.table(f"studies_{endpoint.lower()}_hr", res.summary(),
                  f"{_ENDPOINT[endpoint]}: hazard ratios per trial and pooled, drug vs placebo",
                  display=study_table(res, columns={"Drug": list(used["experimental_arm"]), "SE from": se_from}),
                  notes=(heterogeneity_note(res),), study_rows=True)
        if (es["yi"].isna()).any():
            out.table(f"excluded_{endpoint.lower()}_hr_rows", _excluded(es),
                      f"{endpoint} hazard-ratio rows not pooled, with the reason", report=False)
        rows.append(pooled_row(f"{endpoint} HR vs placebo", res))
        pooled_display[f"{_ENDPOINT[endpoint]}, HR vs placebo"] = res
        total, note, per = patients(used)
        included.add(used, per, comparison=True)
        cm, n_cm = control_median(used["trial_id"], list(used["population"]), endpoint, "placebo", "HCC")
        sof.append(sof_row(f"{_ENDPOINT[endpoint]} (drug vs placebo)", res, patients=total, patients_note=note,
                           control_median=cm, control_label="placebo", control_arms=n_cm))
        flows.append(flow_row(f"{_ENDPOINT[endpoint]}, HR", es, converted, res.k))
        nat = res.back_transform()
        text_hr.append(f"Against placebo, the pooled {endpoint} HR over {res.k} phase 3 trials was "
                    f"{fmt_ci(nat.estimate, nat.ci_low, nat.ci_high)}, {fmt_p_journal(res.pvalue, prefix='p')} "
                    f"(I² = {fmt_x(res.i2, 0)}%, 95% prediction interval {fmt_x(nat.pi_low, 2)} to "
                    f"{fmt_x(nat.pi_high, 2)}).")

    # -- 2. ORR and DCR by regimen class: GLMM and inverse-variance logit ---------------------------
    side, side_display = [], []
    for outcome in ("ORR", "DCR"):
        es, converted = _effects("proportions", outcome)
        usable = es[es["yi"].notna()]
        flows.append(flow_row(_OUTCOME[outcome], es, converted, len(usable)))
        if usable.empty:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sg = subgroup_analysis(es, by="regimen_class", labels="label", method=METHOD)
        out.figure(f"forest_{outcome.lower()}_by_class", sg.forest(left_columns=None, show_excluded=False),
                   f"{_OUTCOME[outcome]} of later-line regimens by regimen class (inverse-variance logit, random "
                   "effects per class)")
        out.table(f"excluded_{outcome.lower()}_rows", _excluded(es), f"{outcome}: arms not pooled, with the reason",
                  report=False)
        for cls, iv in sg.results.items():
            arms_cls = usable[usable["regimen_class"] == cls]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gl = pool_glmm(arms_cls["events"].astype(float), arms_cls["n"].astype(float),
                               labels=list(arms_cls["label"]))
            iv_nat, gl_nat = iv.back_transform(), gl.back_transform()
            events, n = int(arms_cls["events"].sum()), int(arms_cls["n"].sum())
            side.append(dict(
                outcome=outcome, regimen_class=cls, k=iv.k, events=events, n=n,
                glmm_percent=gl_nat.estimate, glmm_ci_low=gl_nat.ci_low, glmm_ci_high=gl_nat.ci_high, glmm_tau2=gl.tau2,
                iv_logit_percent=iv_nat.estimate, iv_logit_ci_low=iv_nat.ci_low, iv_logit_ci_high=iv_nat.ci_high,
                iv_logit_tau2=iv.tau2, iv_logit_i2=iv.i2,
            ))
            side_display.append({
                "Outcome": _OUTCOME[outcome], "Regimen class": cls, "Arms": str(iv.k), "Responders/patients":
                f"{events}/{n}", "GLMM, % (95% CI)": fmt_estimate_ci(gl_nat.estimate, gl_nat.ci_low, gl_nat.ci_high, 1),
                "Inverse variance, % (95% CI)": fmt_estimate_ci(iv_nat.estimate, iv_nat.ci_low, iv_nat.ci_high, 1),
                "I², %": fmt_x(iv.i2, 0) if iv.k > 1 else "",
            })
            _, _, per = patients(arms_cls)
            included.add(arms_cls, per, comparison=False)
            sof.append(sof_row(f"{_OUTCOME[outcome]}: {cls}", gl, patients=n,
                               comment="GLMM" if gl.k > 1 else ""))
        text_resp.append(f"{_OUTCOME[outcome]} differed across regimen classes: Q = {fmt_x(sg.q_between, 2)}, "
                    f"df = {sg.q_between_df}, {fmt_p_journal(sg.q_between_pvalue, prefix='p')} (inverse-variance logit).")
    if side:
        t = pd.DataFrame(side)
        out.table("orr_dcr_glmm_vs_iv", t, "Objective response and disease control (%) by regimen class: "
                  "binomial-normal GLMM vs inverse-variance logit", display=pd.DataFrame(side_display))
        for r in t.itertuples():
            text_resp.append(f"{_OUTCOME[str(r.outcome)]}, {r.regimen_class} (k = {r.k}, {r.events}/{r.n}): GLMM "
                        f"{fmt_x(r.glmm_percent, 1)}% (95% CI {fmt_x(r.glmm_ci_low, 1)} to {fmt_x(r.glmm_ci_high, 1)}), "
                        f"inverse-variance logit {fmt_x(r.iv_logit_percent, 1)}% ({fmt_x(r.iv_logit_ci_low, 1)} to "
                        f"{fmt_x(r.iv_logit_ci_high, 1)}).")

    # -- 3. pooled medians ----------------------------------------------------------------------
    for outcome in ("OS", "PFS"):
        es, converted = _effects("medians", outcome)
        used = es[es["yi"].notna()]
        flows.append(flow_row(f"Median {outcome}", es, converted, len(used)))
        if used.empty:
            continue
        res = mo.pool(es, measure="MED", method=METHOD, ci_method=CI_METHOD, labels=list(es["label"]))
        classes = list(used["regimen_class"])
        out.figure(f"forest_median_{outcome.lower()}", forest(res, left_columns={"Regimen class": classes}, show_excluded=False),
                   f"Median {outcome} of later-line regimens (months; log scale, random effects)")
        out.table(f"excluded_median_{outcome.lower()}_rows", _excluded(es),
                  f"Median {outcome}: arms not pooled, with the reason", report=False)
        out.table(f"studies_median_{outcome.lower()}", res.summary(), f"Median {outcome} (months) per arm and pooled",
                  display=study_table(res, label_header="Arm", columns={"Regimen class": classes}),
                  notes=(heterogeneity_note(res),), study_rows=True)
        rows.append(pooled_row(f"median {outcome} (months)", res))
        pooled_display[f"Median {outcome}, later-line arms"] = res
        total, note, per = patients(used)
        included.add(used, per, comparison=False)
        sof.append(sof_row(f"Median {outcome}, later-line arms", res, patients=total, patients_note=note))
        nat = res.back_transform()
        text_med.append(f"Pooled median {outcome} of later-line arms ({res.k} arms with a printed CI): "
                    f"{fmt_ci(nat.estimate, nat.ci_low, nat.ci_high, digits=1, unit=' months')} "
                    f"(I² = {fmt_x(res.i2, 0)}%).")
    out.table("pooled_results", pd.DataFrame(rows), "Pooled hazard ratios and medians",
              display=pooled_table(pooled_display))

    # -- the report's tables ----------------------------------------------------------------------
    review_tables(out, sof, "Summary of findings: advanced HCC after first-line systemic therapy", included, flows)

    out.text("Methods", (
        "Hazard ratios of the placebo-controlled phase 3 trials were converted to ln HR with the SE from the printed "
        "95% CI, or from the printed two-sided p-value when no CI was printed (REACH-2) "
        f"{cite('hr_extraction', 'hr_practical')}. For later-line regimens, every non-placebo arm of a second-line "
        "trial reporting events/n was used, one population per arm (the whole population where reported), "
        "overlapping analyses excluded. Response rates were pooled within regimen class by the binomial-normal "
        "generalized linear mixed model (random-intercept logistic regression, maximum likelihood with 7-point "
        f"adaptive Gauss-Hermite quadrature, as metafor rma.glmm) {cite('glmm', 'glmm_binomial')} and, for "
        f"comparison, by inverse-variance random-effects pooling of logit proportions. "
        f"{describe_model(METHOD, CI_METHOD)} Differences between regimen classes were tested with Cochran's Q "
        f"across the subgroup estimates {cite('cochran_q', 'subgroups')}. Medians were pooled on the log scale with "
        f"the SE from the printed CI {cite('medians')}. Software: metaoutcome {mo.__version__}."
    ))
    out.references("hr_extraction", "hr_practical", "glmm", "glmm_binomial", "cochran_q", "subgroups", "medians",
                   *model_references(METHOD, CI_METHOD))
    out.text("Results", "\n\n".join(" ".join(part) for part in (text_hr, text_resp, text_med) if part))


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
