"""Advanced hepatocellular carcinoma after first-line systemic therapy.

1. OS and PFS hazard ratios of the placebo-controlled phase 3 trials (RESORCE, CELESTIAL, REACH-2,
   KEYNOTE-240, KEYNOTE-394). REACH-2's OS HR has no printed CI: its SE comes from the printed
   two-sided p-value; KEYNOTE-240/394's one-sided p-values are not needed (they print CIs).
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
from metaoutcome.reproduce import AnalysisOutput
from metaoutcome.subgroups import subgroup_analysis

from ._common import describe_model, fmt_ci, one_population, pooled_row, run_standalone, study_labels

TITLE = "Advanced HCC after first-line systemic therapy: placebo-controlled trials and later-line regimens"

METHOD, CI_METHOD = "REML", "z"
LATER_LINE = ["second-line", "second-line or later", "third-line or later"]


def _effects(table: str, outcome: str, measure: str | None = None) -> pd.DataFrame:
    frame = mo.load_dataset(table, cancer="HCC", outcome=outcome, with_trials=True)
    frame = frame[frame["setting"].isin(LATER_LINE) & (frame["regimen_class"] != "placebo")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_proportions(frame, measure=measure or "PLO") if table == "proportions" else effects.from_medians(frame)
    es = one_population(es.reset_index(drop=True), ["trial_id", "arm", "outcome"])
    return es.assign(label=study_labels(es))


def _excluded(es: pd.DataFrame) -> pd.DataFrame:
    return es.loc[es["yi"].isna(), ["row_id", "label", "population", "printed", "exclusion_reason"]].reset_index(drop=True)


def run(out: AnalysisOutput) -> None:
    rows, text = [], []
    # -- 1. placebo-controlled phase 3 hazard ratios ---------------------------------------------
    for endpoint in ("OS", "PFS"):
        hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint=endpoint, with_trials=True)
        hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", effects.ExclusionWarning)
            es = effects.from_hazard_ratios(hr).reset_index(drop=True)
        es = one_population(es, ["trial_id", "endpoint"])
        res = mo.pool(es, measure="HR", method=METHOD, ci_method=CI_METHOD, labels=list(es["short_name"]))
        src = {"ci": "CI", "p-value": "p", "p-value bound": "p bound"}
        used = es[es["yi"].notna()]
        fig = forest(res, left_columns={"Drug": list(used["experimental_arm"]),
                                        "SE from": [src.get(s, s) for s in used["se_source"]]},
                     favours=("Favours drug", "Favours placebo"))
        out.figure(f"forest_{endpoint.lower()}_hr", fig, f"{endpoint} hazard ratios of placebo-controlled phase 3 trials")
        out.table(f"studies_{endpoint.lower()}_hr", res.summary(), f"{endpoint}: per-study and pooled hazard ratios")
        if (es["yi"].isna()).any():
            out.table(f"excluded_{endpoint.lower()}_hr_rows", _excluded(es.assign(label=es["short_name"])),
                      f"{endpoint} hazard-ratio rows not pooled, with the reason")
        rows.append(pooled_row(f"{endpoint} HR vs placebo", res))
        nat = res.back_transform()
        text.append(f"Against placebo, the pooled {endpoint} HR over {res.k} phase 3 trials was "
                    f"{fmt_ci(nat.estimate, nat.ci_low, nat.ci_high)} (I^2 = {res.i2:.0f}%, prediction interval "
                    f"{nat.pi_low:.2f} to {nat.pi_high:.2f}).")

    # -- 2. ORR and DCR by regimen class: GLMM and inverse-variance logit ---------------------------
    side = []
    for outcome in ("ORR", "DCR"):
        es = _effects("proportions", outcome)
        usable = es[es["yi"].notna()]
        if usable.empty:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sg = subgroup_analysis(es, by="regimen_class", labels="label", method=METHOD)
        out.figure(f"forest_{outcome.lower()}_by_class", sg.forest(left_columns=None),
                   f"{outcome} of later-line regimens by regimen class (inverse-variance logit, random effects)")
        out.table(f"excluded_{outcome.lower()}_rows", _excluded(es), f"{outcome}: arms not pooled, with the reason")
        for cls, iv in sg.results.items():
            arms = usable[usable["regimen_class"] == cls]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gl = pool_glmm(arms["events"].astype(float), arms["n"].astype(float), labels=list(arms["label"]))
            iv_nat, gl_nat = iv.back_transform(), gl.back_transform()
            side.append(dict(
                outcome=outcome, regimen_class=cls, k=iv.k, events=int(arms["events"].sum()), n=int(arms["n"].sum()),
                glmm_percent=gl_nat.estimate, glmm_ci_low=gl_nat.ci_low, glmm_ci_high=gl_nat.ci_high, glmm_tau2=gl.tau2,
                iv_logit_percent=iv_nat.estimate, iv_logit_ci_low=iv_nat.ci_low, iv_logit_ci_high=iv_nat.ci_high,
                iv_logit_tau2=iv.tau2, iv_logit_i2=iv.i2,
            ))
        text.append(f"{outcome} differed across regimen classes: Q = {sg.q_between:.2f}, df = {sg.q_between_df}, "
                    f"p = {sg.q_between_pvalue:.3g} (inverse-variance logit).")
    if side:
        t = pd.DataFrame(side)
        out.table("orr_dcr_glmm_vs_iv", t, "ORR and DCR (%) by regimen class: binomial-normal GLMM vs inverse-variance logit")
        for r in t.itertuples():
            text.append(f"{r.outcome}, {r.regimen_class} (k = {r.k}, {r.events}/{r.n}): GLMM {r.glmm_percent:.1f}% "
                        f"(95% CI {r.glmm_ci_low:.1f} to {r.glmm_ci_high:.1f}), inverse-variance logit "
                        f"{r.iv_logit_percent:.1f}% ({r.iv_logit_ci_low:.1f} to {r.iv_logit_ci_high:.1f}).")

    # -- 3. pooled medians ----------------------------------------------------------------------
    for outcome in ("OS", "PFS"):
        es = _effects("medians", outcome)
        if es["yi"].notna().sum() == 0:
            continue
        res = mo.pool(es, measure="MED", method=METHOD, ci_method=CI_METHOD, labels=list(es["label"]))
        out.figure(f"forest_median_{outcome.lower()}", forest(res, left_columns={"Regimen class": list(es.loc[es["yi"].notna(), "regimen_class"])}),
                   f"Median {outcome} of later-line regimens (months; log scale)")
        out.table(f"excluded_median_{outcome.lower()}_rows", _excluded(es), f"Median {outcome}: arms not pooled, with the reason")
        rows.append(pooled_row(f"median {outcome} (months)", res))
        nat = res.back_transform()
        text.append(f"Pooled median {outcome} of later-line arms ({res.k} arms with a printed CI): "
                    f"{fmt_ci(nat.estimate, nat.ci_low, nat.ci_high, digits=1, unit=' months')} (I^2 = {res.i2:.0f}%).")
    out.table("pooled_results", pd.DataFrame(rows), "Pooled hazard ratios and medians (natural scale)")

    out.text("Methods", (
        "Hazard ratios of the placebo-controlled phase 3 trials were converted to ln HR with the SE from the printed "
        "95% CI, or from the printed two-sided p-value when no CI was printed (REACH-2). For later-line regimens, "
        "every non-placebo arm of a second-line trial reporting events/n was used, one population per arm (the whole "
        "population where reported), overlapping analyses excluded. Response rates were pooled within regimen class "
        "by the binomial-normal generalized linear mixed model (random-intercept logistic regression, maximum "
        "likelihood with 7-point adaptive Gauss-Hermite quadrature, as metafor rma.glmm) and, for comparison, by "
        f"inverse-variance random-effects pooling of logit proportions. {describe_model(METHOD, CI_METHOD)} Medians "
        f"were pooled on the log scale with the SE from the printed CI. Software: metaoutcome {mo.__version__}."
    ))
    out.text("Results", " ".join(text))


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
