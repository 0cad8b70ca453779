"""Previously treated advanced NSCLC: PD-1/PD-L1 monotherapy versus docetaxel, and PD-1 + anti-angiogenic
combinations.

1. OS and PFS hazard ratios of the randomized trials of PD-1/PD-L1 monotherapy versus docetaxel
   (phase 3, and the phase 2 POPLAR, whose final OS analysis is in the data).
   KEYNOTE-010's two pembrolizumab doses share one docetaxel arm: they are combined into one
   comparison with the correlation induced by the shared control
   (:func:`metaoutcome.effects.combine_shared_control`), so its control patients count once.
2. ORR, DCR and median PFS of PD-(L)1 monotherapy arms (one population per arm: the whole
   population where the trial reports one) versus PD-(L)1 + anti-angiogenic
   combination arms, as subgroups (logit proportions and log medians; random effects per
   subgroup, test for subgroup differences).

Run with ``metaoutcome reproduce`` or ``python -m metaoutcome._analyses.nsclc_pd1_vs_docetaxel DIR``.
"""

from __future__ import annotations

import warnings

import pandas as pd

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.plotting import forest
from metaoutcome.report import cite, flow_row, heterogeneity_note, pooled_table, sof_row, study_table
from metaoutcome.report.tables import FlowRow
from metaoutcome.reproduce import AnalysisOutput
from metaoutcome.subgroups import subgroup_analysis

from ._common import (Included, control_median, describe_model, fmt_ci, fmt_p_journal, fmt_x,
                      model_references, one_population, patients, pooled_row, review_tables, run_standalone,
                      study_labels,
                      subgroup_display)

#: place in ``metaoutcome reproduce`` and its report (see :func:`metaoutcome.reproduce.list_analyses`)
ORDER = 20

TITLE = "Previously treated advanced NSCLC: PD-1/PD-L1 monotherapy vs docetaxel, and anti-angiogenic combinations"

METHOD, CI_METHOD = "REML", "z"  # metafor's defaults; HKSJ is reported as a sensitivity analysis

COMBINATION_CLASSES = ["PD-(L)1 monotherapy", "PD-(L)1 + anti-angiogenic"]
LATER_LINE = ["second-line", "second-line or later", "third-line or later"]
_ENDPOINT = {"OS": "Overall survival", "PFS": "Progression-free survival"}


def _hazard_ratios(endpoint: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """PD-(L)1 monotherapy vs docetaxel for one endpoint.

    Returns the comparisons to pool (KEYNOTE-010's doses combined), every matching row after the
    one-population rule (``yi`` NaN with the reason for the rows left out), and how many rows
    the effect-size step converted.
    """
    hr = mo.load_dataset("hazard_ratios", cancer="NSCLC", endpoint=endpoint, with_trials=True)
    hr = hr[(hr["experimental_class"] == "PD-(L)1 monotherapy") & (hr["control_class"] == "chemotherapy")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_hazard_ratios(hr)
    converted = int(es["yi"].notna().sum())
    es = one_population(es, ["trial_id", "endpoint"]).reset_index(drop=True)
    used = effects.combine_shared_control(es[es["yi"].notna()])
    used["label"] = used["short_name"] + used["combined_from"].map(
        lambda c: " (2 doses combined)" if isinstance(c, str) else ""
    )
    return used.reset_index(drop=True), es.assign(label=es["short_name"]), converted


def _arm_outcomes(table: str, outcome: str, measure: str) -> tuple[pd.DataFrame, int]:
    frame = mo.load_dataset(table, cancer="NSCLC", outcome=outcome, with_trials=True)
    frame = frame[frame["regimen_class"].isin(COMBINATION_CLASSES) & frame["setting"].isin(LATER_LINE)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        if table == "proportions":
            es = effects.from_proportions(frame, measure=measure)
        else:
            es = effects.from_medians(frame)
    converted = int(es["yi"].notna().sum())
    es = one_population(es.reset_index(drop=True), ["trial_id", "arm", "outcome"])
    return es.assign(label=study_labels(es)), converted


def run(out: AnalysisOutput) -> None:
    sof, flows, included = [], [], Included()

    # -- 1. hazard ratios -------------------------------------------------------------------
    hr_rows, hr_excluded, results = [], [], {}
    for endpoint in ("OS", "PFS"):
        used, es, converted = _hazard_ratios(endpoint)
        res = mo.pool(used, measure="HR", method=METHOD, ci_method=CI_METHOD, labels=list(used["label"]))
        hksj = mo.pool(used, measure="HR", method=METHOD, ci_method="knha", labels=list(used["label"]))
        results[endpoint] = (res, hksj, used)
        ci_printed = [f"{c:g}%" if pd.notna(c) else "from p" for c in used["ci_level"]]
        fig = forest(res, left_columns={"CI as printed": ci_printed}, favours=("Favours PD-(L)1", "Favours docetaxel"),
                     show_excluded=False)
        out.figure(f"forest_{endpoint.lower()}_hr", fig,
                   f"{_ENDPOINT[endpoint]}: hazard ratios of PD-1/PD-L1 monotherapy vs docetaxel (random effects, REML)")
        hr_rows += [pooled_row(f"{endpoint} HR", res), pooled_row(f"{endpoint} HR (HKSJ)", hksj)]
        pooled_es = es[es["yi"].notna()]
        hr_excluded.append(es.loc[es["yi"].isna(), ["row_id", "short_name", "population", "printed",
                                                     "exclusion_reason"]].assign(endpoint=endpoint))
        total, note, per = patients(pooled_es)
        included.add(pooled_es, per, comparison=True)
        cm, n_cm = control_median(used["trial_id"], list(used["population"]), endpoint, "chemotherapy", "NSCLC")
        sof.append(sof_row(_ENDPOINT[endpoint], res, patients=total, patients_note=note, control_median=cm,
                           control_label="docetaxel", control_arms=n_cm))
        combined = used["combined_from"].notna().sum()
        flows.append(flow_row(f"{_ENDPOINT[endpoint]}, HR", es, converted, res.k,
                              note="KEYNOTE-010's two pembrolizumab doses (2 rows) are one comparison against "
                                   "their shared docetaxel arm" if combined else ""))
        hk = hksj.back_transform()
        out.table(f"studies_{endpoint.lower()}_hr", res.summary(),
                  f"{_ENDPOINT[endpoint]}: hazard ratios per trial and pooled",
                  display=study_table(res, columns={"CI as printed": ci_printed}), study_rows=True,
                  notes=(heterogeneity_note(res), f"Hartung-Knapp-Sidik-Jonkman 95% CI {fmt_x(hk.ci_low, 2)} to "
                         f"{fmt_x(hk.ci_high, 2)}."))
    out.table("pooled_hazard_ratios", pd.DataFrame(hr_rows), "Pooled hazard ratios, PD-1/PD-L1 monotherapy vs docetaxel",
              display=pooled_table({f"{_ENDPOINT[e]}": results[e][0] for e in results}
                                   | {f"{_ENDPOINT[e]}, HKSJ CI": results[e][1] for e in results}))
    out.table("excluded_hazard_ratio_rows", pd.concat(hr_excluded, ignore_index=True),
              "Hazard-ratio rows not pooled, with the reason", report=False)

    # -- 2. ORR, DCR, mPFS by regimen class -----------------------------------------------------
    sub_rows, sub_display, sub_results = [], [], {}
    names = {"ORR": "Objective response", "DCR": "Disease control", "mPFS": "Median PFS"}
    for name, table, outcome, measure in (("ORR", "proportions", "ORR", "PLO"), ("DCR", "proportions", "DCR", "PLO"),
                                          ("mPFS", "medians", "PFS", "MED")):
        es, converted = _arm_outcomes(table, outcome, measure)
        usable = es["yi"].notna()
        if es.loc[usable, "regimen_class"].nunique() < 2 or usable.sum() < 3:
            flow = flow_row(names[name], es, converted, 0)
            flows.append(FlowRow(flow.outcome, flow.available, flow.converted, 0, flow.reasons,
                                 f"Not pooled: {int(usable.sum())} arm(s) with an analysable {name} "
                                 f"({', '.join(es.loc[usable, 'label'])}); both regimen classes and at least 3 arms "
                                 "are needed for a subgroup comparison"))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sg = subgroup_analysis(es, by="regimen_class", labels="label", order=COMBINATION_CLASSES, method=METHOD)
        sub_results[name] = sg
        out.figure(f"forest_{name.lower()}_by_class", sg.forest(show_excluded=False),
                   f"{names[name]}: PD-(L)1 monotherapy vs PD-(L)1 + anti-angiogenic arms, previously treated NSCLC "
                   f"({'logit' if measure == 'PLO' else 'log'} scale, random effects per class)")
        sub_rows.append(sg.table().assign(outcome=name))
        sub_display.append(subgroup_display(names[name] + (" (%)" if measure == "PLO" else " (months)"), sg))
        flows.append(flow_row(names[name], es, converted, int(usable.sum())))
        for cls, r in sg.results.items():
            arm_rows = es[usable & (es["regimen_class"] == cls)]
            total, note, per = patients(arm_rows)
            included.add(arm_rows, per, comparison=False)
            sof.append(sof_row(f"{names[name]}: {cls}", r, patients=total, patients_note=note))
    if sub_rows:
        out.table("pooled_by_regimen_class", pd.concat(sub_rows, ignore_index=True),
                  "ORR, DCR (%) and median PFS (months) by regimen class",
                  display=pd.concat(sub_display, ignore_index=True))

    # -- the report's tables ----------------------------------------------------------------------
    review_tables(out, sof, "Summary of findings: PD-1/PD-L1 inhibitors in previously treated advanced NSCLC", included, flows)

    # -- text -------------------------------------------------------------------------------------
    out.text("Methods", (
        "Hazard ratios were taken as printed, with the standard error of ln HR from the printed CI at its own level "
        "(CheckMate 057 printed a 96% CI, CheckMate 078 a 97.7% CI) or, when no CI was printed, from the two-sided "
        f"p-value (one-sided p-values doubled) {cite('hr_extraction', 'hr_practical')}. KEYNOTE-010's two "
        "pembrolizumab doses were combined into one comparison whose variance includes the correlation induced by "
        f"the shared docetaxel arm {cite('shared_control')}. One population per trial was used: the whole randomised "
        "population where one was reported, otherwise the reported one. "
        f"{describe_model(METHOD, CI_METHOD)} Hartung-Knapp-Sidik-Jonkman intervals "
        f"{cite('knha', 'sidik_jonkman')} are given as a sensitivity analysis. Response rates were pooled on the logit scale and median PFS on the log scale with the SE from "
        f"the printed CI {cite('medians')}, within each regimen class with its own τ²; the test for subgroup "
        f"differences is Cochran's Q across the subgroup estimates {cite('cochran_q', 'subgroups')}. Software: "
        f"metaoutcome {mo.__version__}."
    ))
    out.references("hr_extraction", "hr_practical", "shared_control", "medians", "cochran_q", "subgroups",
                   *model_references(METHOD, CI_METHOD), *model_references(METHOD, "knha"))
    os_res, os_hksj, _ = results["OS"]
    pfs_res, _, _ = results["PFS"]
    os_nat, pfs_nat, hk = os_res.back_transform(), pfs_res.back_transform(), os_hksj.back_transform()
    text = (
        f"Across {os_res.k} trials, PD-1/PD-L1 monotherapy reduced the hazard of death versus docetaxel: pooled HR "
        f"{fmt_ci(os_nat.estimate, os_nat.ci_low, os_nat.ci_high)}, {fmt_p_journal(os_res.pvalue, prefix='p')} "
        f"(I² = {fmt_x(os_res.i2, 0)}%, τ² = {fmt_x(os_res.tau2, 3)}; 95% prediction interval "
        f"{fmt_x(os_nat.pi_low, 2)} to {fmt_x(os_nat.pi_high, 2)}; HKSJ CI {fmt_x(hk.ci_low, 2)} to "
        f"{fmt_x(hk.ci_high, 2)}). For progression-free survival ({pfs_res.k} trials) the pooled HR was "
        f"{fmt_ci(pfs_nat.estimate, pfs_nat.ci_low, pfs_nat.ci_high)} (I² = {fmt_x(pfs_res.i2, 0)}%)."
    )
    for name, sg in sub_results.items():
        parts = []
        for cls, r in sg.results.items():
            nat = r.back_transform()
            unit = "%" if r.measure_info.percent else " months"
            parts.append(f"{cls} {fmt_x(nat.estimate, 1)}{unit} (95% CI {fmt_x(nat.ci_low, 1)} to "
                         f"{fmt_x(nat.ci_high, 1)}; k = {r.k})")
        text += (f" {names[name]}: " + "; ".join(parts) + f"; test for subgroup differences Q = "
                 f"{fmt_x(sg.q_between, 2)}, df = {sg.q_between_df}, {fmt_p_journal(sg.q_between_pvalue, prefix='p')}.")
    out.text("Results", text)


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
