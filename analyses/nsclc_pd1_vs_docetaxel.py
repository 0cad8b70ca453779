"""Previously treated advanced NSCLC: PD-1/PD-L1 monotherapy versus docetaxel, and PD-1 + anti-angiogenic
combinations.

1. OS and PFS hazard ratios of the phase 3 trials of PD-1/PD-L1 monotherapy versus docetaxel.
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
from metaoutcome.reproduce import AnalysisOutput
from metaoutcome.subgroups import subgroup_analysis

from ._common import describe_model, fmt_ci, one_population, pooled_row, run_standalone, study_labels

TITLE = "Previously treated advanced NSCLC: PD-1/PD-L1 monotherapy vs docetaxel, and anti-angiogenic combinations"

METHOD, CI_METHOD = "REML", "z"  # metafor's defaults; HKSJ is reported as a sensitivity analysis

COMBINATION_CLASSES = ["PD-(L)1 monotherapy", "PD-(L)1 + anti-angiogenic"]
LATER_LINE = ["second-line", "second-line or later", "third-line or later"]


def _hazard_ratios(endpoint: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effect sizes of PD-(L)1 monotherapy vs docetaxel for one endpoint, and the rows left out."""
    hr = mo.load_dataset("hazard_ratios", cancer="NSCLC", endpoint=endpoint, with_trials=True)
    hr = hr[(hr["experimental_class"] == "PD-(L)1 monotherapy") & (hr["control_class"] == "chemotherapy")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_hazard_ratios(hr)
    es = one_population(es, ["trial_id", "endpoint"])
    excluded = es[es["yi"].isna()][["row_id", "short_name", "population", "printed", "exclusion_reason"]]
    used = effects.combine_shared_control(es[es["yi"].notna()])
    used["label"] = used["short_name"] + used["combined_from"].map(
        lambda c: " (2 doses combined)" if isinstance(c, str) else ""
    )
    return used.reset_index(drop=True), excluded.reset_index(drop=True)


def _arm_outcomes(table: str, outcome: str, measure: str) -> pd.DataFrame:
    frame = mo.load_dataset(table, cancer="NSCLC", outcome=outcome, with_trials=True)
    frame = frame[frame["regimen_class"].isin(COMBINATION_CLASSES) & frame["setting"].isin(LATER_LINE)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        if table == "proportions":
            es = effects.from_proportions(frame, measure=measure)
        else:
            es = effects.from_medians(frame)
    es = one_population(es.reset_index(drop=True), ["trial_id", "arm", "outcome"])
    return es.assign(label=study_labels(es))


def run(out: AnalysisOutput) -> None:
    # -- 1. hazard ratios -------------------------------------------------------------------
    hr_rows, hr_excluded, results = [], [], {}
    for endpoint in ("OS", "PFS"):
        used, excluded = _hazard_ratios(endpoint)
        res = mo.pool(used, measure="HR", method=METHOD, ci_method=CI_METHOD, labels=list(used["label"]))
        hksj = mo.pool(used, measure="HR", method=METHOD, ci_method="knha", labels=list(used["label"]))
        results[endpoint] = (res, hksj, used)
        left = {"CI as printed": [f"{c:g}%" if pd.notna(c) else "from p" for c in used["ci_level"]]}
        fig = forest(res, left_columns=left, favours=("Favours PD-(L)1", "Favours docetaxel"))
        out.figure(f"forest_{endpoint.lower()}_hr", fig, f"{endpoint} hazard ratios, PD-1/PD-L1 monotherapy vs docetaxel")
        hr_rows += [pooled_row(f"{endpoint} HR", res), pooled_row(f"{endpoint} HR (HKSJ)", hksj)]
        hr_excluded.append(excluded.assign(endpoint=endpoint))
        out.table(f"studies_{endpoint.lower()}_hr", res.summary(), f"{endpoint}: per-study and pooled hazard ratios")
    out.table("pooled_hazard_ratios", pd.DataFrame(hr_rows), "Pooled hazard ratios (natural scale)")
    out.table("excluded_hazard_ratio_rows", pd.concat(hr_excluded, ignore_index=True),
              "Hazard-ratio rows not pooled, with the reason")

    # -- 2. ORR, DCR, mPFS by regimen class -----------------------------------------------------
    sub_rows, sub_results = [], {}
    for name, table, outcome, measure in (("ORR", "proportions", "ORR", "PLO"), ("DCR", "proportions", "DCR", "PLO"),
                                          ("mPFS", "medians", "PFS", "MED")):
        es = _arm_outcomes(table, outcome, measure)
        converted = es["yi"].notna()
        if es.loc[converted, "regimen_class"].nunique() < 2 or converted.sum() < 3:
            out.text(f"{name} by regimen class", f"Not pooled: {int(converted.sum())} arm(s) with an analysable {name} "
                     f"({', '.join(es.loc[converted, 'label'])}); both regimen classes are needed for a subgroup comparison.")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sg = subgroup_analysis(es, by="regimen_class", labels="label", order=COMBINATION_CLASSES, method=METHOD)
        sub_results[name] = sg
        fig = sg.forest()
        out.figure(f"forest_{name.lower()}_by_class", fig,
                   f"{name}: PD-(L)1 monotherapy vs PD-(L)1 + anti-angiogenic arms, previously treated NSCLC")
        t = sg.table().assign(outcome=name)
        sub_rows.append(t)
        if sg.excluded:
            out.table(f"excluded_{name.lower()}_rows", pd.DataFrame(sg.excluded, columns=["arm", "reason"]),
                      f"{name}: arms not pooled, with the reason")
    if sub_rows:
        out.table("pooled_by_regimen_class", pd.concat(sub_rows, ignore_index=True),
                  "ORR, DCR (%) and median PFS (months) by regimen class")

    # -- text -------------------------------------------------------------------------------------
    out.text("Methods", (
        "Hazard ratios were taken as printed, with the standard error of ln HR from the printed CI at its own level "
        "(CheckMate 057 printed a 96% CI, CheckMate 078 a 97.7% CI) or, when no CI was printed, from the two-sided "
        "p-value (one-sided p-values doubled). KEYNOTE-010's two pembrolizumab doses were combined into one comparison "
        "whose variance includes the correlation induced by the shared docetaxel arm. "
        f"{describe_model(METHOD, CI_METHOD)} Hartung-Knapp-Sidik-Jonkman intervals are given as a sensitivity analysis. "
        "Response rates were pooled on the logit scale and median PFS on the log scale (SE from the printed CI), "
        "within each regimen class with its own tau^2; the test for subgroup differences is Cochran's Q across the "
        f"subgroup estimates. Software: metaoutcome {mo.__version__}."
    ))
    os_res, os_hksj, os_used = results["OS"]
    pfs_res, _, pfs_used = results["PFS"]
    os_nat, pfs_nat = os_res.back_transform(), pfs_res.back_transform()
    text = (
        f"Across {os_res.k} trials, PD-1/PD-L1 monotherapy reduced the hazard of death versus docetaxel: pooled HR "
        f"{fmt_ci(os_nat.estimate, os_nat.ci_low, os_nat.ci_high)} (I^2 = {os_res.i2:.0f}%, tau^2 = {os_res.tau2:.3f}; "
        f"prediction interval {os_nat.pi_low:.2f} to {os_nat.pi_high:.2f}; HKSJ CI "
        f"{os_hksj.back_transform().ci_low:.2f} to {os_hksj.back_transform().ci_high:.2f}). "
        f"For progression-free survival ({pfs_res.k} trials) the pooled HR was "
        f"{fmt_ci(pfs_nat.estimate, pfs_nat.ci_low, pfs_nat.ci_high)} (I^2 = {pfs_res.i2:.0f}%)."
    )
    for name, sg in sub_results.items():
        parts = []
        for cls, r in sg.results.items():
            nat = r.back_transform()
            unit = "%" if r.measure_info.percent else " months"
            parts.append(f"{cls} {nat.estimate:.1f}{unit} (95% CI {nat.ci_low:.1f} to {nat.ci_high:.1f}; k = {r.k})")
        text += (f" {name}: " + "; ".join(parts) + f"; test for subgroup differences Q = {sg.q_between:.2f}, "
                 f"df = {sg.q_between_df}, p = {sg.q_between_pvalue:.3g}.")
    out.text("Results", text)


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
