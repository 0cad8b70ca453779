"""Network meta-analyses of the two review questions: which drug is best?

1. Previously treated advanced NSCLC: PD-1/PD-L1 monotherapy (nivolumab, pembrolizumab 2 and
   10 mg/kg, atezolizumab, avelumab, sintilimab, ...) against docetaxel, OS and PFS hazard ratios.
   KEYNOTE-010 is one three-arm trial: its two doses against one docetaxel arm enter as two
   contrasts correlated through the shared control (the correlation the toolkit uses for combining
   them, :func:`metaoutcome.effects.shared_control_correlation`), not as two trials.
2. Advanced HCC after first-line therapy: regorafenib, cabozantinib, ramucirumab, pembrolizumab
   and apatinib against placebo (placebo-controlled phase 3 trials), OS and PFS hazard ratios.

Both networks are stars (every drug against one comparator): drug-versus-drug comparisons are
purely indirect (Bucher's adjusted indirect comparison) and inconsistency cannot be assessed.
Random effects with tau^2 by REML (metafor ``rma.mv``; the generalised DerSimonian-Laird value
netmeta uses is reported beside it). Figures for OS only (network graph, forest against the
comparator, league table); tables for OS and PFS.

Run with ``metaoutcome reproduce`` or ``python -m metaoutcome._analyses.networks DIR``.
"""

from __future__ import annotations

import warnings

import pandas as pd

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.network.plot import treatment_label
from metaoutcome.network import (
    RANKING_CAUTION,
    NetworkResult,
    decomposition,
    league_plot,
    network_forest,
    network_from_contrasts,
    network_graph,
    network_meta,
    pscores,
    sucra,
)
from metaoutcome.printer import fmt_estimate_ci, fmt_p_journal, fmt_x, is_missing
from metaoutcome.report.tables import plain_reason
from metaoutcome.reproduce import AnalysisOutput

from ._common import fmt_ci, one_population, run_standalone

#: place in ``metaoutcome reproduce`` and its report (see :func:`metaoutcome.reproduce.list_analyses`)
ORDER = 30

TITLE = "Network meta-analyses: PD-1/PD-L1 drugs vs docetaxel (NSCLC) and second-line drugs vs placebo (HCC)"

METHOD = "REML"

QUESTIONS = {
    "nsclc": dict(cancer="NSCLC", comparator="docetaxel", label="Previously treated NSCLC",
                  keep=lambda hr: (hr["experimental_class"] == "PD-(L)1 monotherapy") & (hr["control_class"] == "chemotherapy")),
    "hcc": dict(cancer="HCC", comparator="placebo", label="HCC after first-line therapy",
                keep=lambda hr: (hr["control_class"] == "placebo") & (hr["phase"] == "3")),
}


DASH = "–"


#: a treatment as a reader writes it ('pembrolizumab_10mgkg' -> 'pembrolizumab 10 mg/kg'), the figures' rule
drug = treatment_label


def league_display(table: pd.DataFrame) -> pd.DataFrame:
    """The league table with drugs named in words and '–' where no trial compared the two directly."""
    disp = table.copy()
    disp.columns = [drug(c) for c in disp.columns]
    return pd.DataFrame({c: [drug(v) if v in table.columns else (DASH if str(v).strip() in (".", "", "nan") else str(v))
                             for v in disp[c]] for c in disp.columns})


def effects_display(eff: pd.DataFrame, comparator: str) -> pd.DataFrame:
    return pd.DataFrame({
        "Drug": [drug(t) for t in eff["treatment"]],
        f"HR vs {comparator} (95% CI)": [fmt_estimate_ci(e, lo, hi, 2) for e, lo, hi in
                                         zip(eff["estimate_natural"], eff["ci_low_natural"], eff["ci_high_natural"])],
        "p": [fmt_p_journal(p) for p in eff["pvalue"]],
        "Evidence": [str(e) for e in eff["evidence"]],
        "Trials (direct)": [str(int(n)) for n in eff["n_studies"]],
    })


def rankings_display(ranks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Treatment": [drug(t) for t in ranks["treatment"]],
        "P-score": [fmt_x(x, 2) for x in ranks["pscore"]],
        "SUCRA": [fmt_x(x, 2) for x in ranks["sucra"]],
        "Mean rank": [fmt_x(x, 1) for x in ranks["mean_rank"]],
        "P(best), %": [fmt_x(100 * x, 0) for x in ranks["p_rank_1"]],
    })


_PARTS = {"total": "Total", "within designs": "Within designs (heterogeneity)",
          "between designs": "Between designs (inconsistency)"}


def decomposition_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Source of variation": [_PARTS.get(str(p), str(p).capitalize()) for p in table["part"]],
        "Q": [DASH if is_missing(q) else fmt_x(q, 2) for q in table["q"]],
        "df": [str(int(d)) for d in table["df"]],
        "p": [DASH if is_missing(p) else fmt_p_journal(p) for p in table["pvalue"]],
    })


def excluded_display(excluded: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Trial": list(excluded["short_name"]),
        "Drug": [drug(d) for d in excluded["experimental_arm"]],
        "Population": ["" if is_missing(p) else str(p).replace(">=", "≥").replace("<=", "≤")
                       for p in excluded["population"]],
        "Reason not used": [plain_reason(str(r)) for r in excluded["exclusion_reason"]],
    })


def _contrasts(cancer: str, endpoint: str, keep) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    hr = mo.load_dataset("hazard_ratios", cancer=cancer, endpoint=endpoint, with_trials=True)
    hr = hr[keep(hr)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_hazard_ratios(hr).reset_index(drop=True)
    es = one_population(es, ["trial_id", "experimental_arm", "endpoint"])
    used = es[es["yi"].notna()].reset_index(drop=True)
    excluded = es.loc[es["yi"].isna(), ["row_id", "short_name", "experimental_arm", "population", "printed",
                                         "exclusion_reason"]].reset_index(drop=True)
    return used, excluded


def _fit(used: pd.DataFrame, comparator: str) -> NetworkResult:
    net = network_from_contrasts(used, study="short_name", treat1="experimental_arm", treat2="control_arm",
                                 n1="n_experimental", n2="n_control", measure="HR")
    return network_meta(net, method=METHOD, reference=comparator, small_values="desirable")


def _rankings(res: NetworkResult) -> pd.DataFrame:
    ps = pscores(res)
    sc = sucra(res, nsim=10000)
    out = ps.merge(sc[["treatment", "sucra", "mean_rank", "p_rank_1"]], on="treatment")
    return out.sort_values("pscore", ascending=False, kind="mergesort").reset_index(drop=True)


def run(out: AnalysisOutput) -> None:
    text, methods_trials = [], []
    for key, q in QUESTIONS.items():
        for endpoint in ("OS", "PFS"):
            used, excluded = _contrasts(q["cancer"], endpoint, q["keep"])
            tag = f"{key}_{endpoint.lower()}"
            drugs = sorted(set(used["experimental_arm"]))
            if len(drugs) < 2:
                text.append(f"{q['label']}, {endpoint}: fewer than two drugs with a usable hazard ratio; no network.")
                continue
            res = _fit(used, q["comparator"])
            res_dl = network_meta(res.data, method="DL", reference=q["comparator"])
            caption = f"{q['label']}, {endpoint}"
            if endpoint == "OS":
                out.figure(f"network_graph_{tag}", network_graph(res).figure,
                           f"{caption}: network of trials (edge: trials comparing the two; node: patients)")
                out.figure(f"network_forest_{tag}", network_forest(
                    res, favours=("Favours drug", f"Favours {q['comparator']}")).figure,
                    f"{caption}: every drug vs {q['comparator']} (network meta-analysis, random effects)")
                out.figure(f"league_{tag}", league_plot(res).figure,
                           f"{caption}: league table of hazard ratios (lower left: network; upper right: direct)")
            out.table(f"league_{tag}", res.league(), f"{caption}: all pairwise hazard ratios (full precision)",
                      report=False)
            out.table(f"league_table_{tag}", res.league_table().reset_index(names="row"),
                      f"{caption}: league table of hazard ratios (95% CI)",
                      display=league_display(res.league_table()), notes=(
                          "Below the diagonal: network estimate, the column's drug vs the row's drug; above the "
                          "diagonal: direct estimate (trials comparing the two), the row's drug vs the column's. "
                          f"HR < 1 favours the first-named drug. {DASH}: no trial compared the two directly.",))
            eff_t = res.effects()
            out.table(f"effects_{tag}", eff_t, f"{caption}: every drug vs {q['comparator']} (network estimates)",
                      display=effects_display(eff_t, q["comparator"]), notes=(
                          "Evidence: direct (trials compared the drug with the comparator) or indirect only.",))
            ranks = _rankings(res)
            out.table(f"rankings_{tag}", ranks, f"{caption}: P-scores and SUCRA (lower HR better)",
                      display=rankings_display(ranks), notes=(
                          RANKING_CAUTION, "P(best): share of 10,000 draws in which the treatment ranks first."))
            dec = decomposition(res)
            dec_t = dec.table()
            out.table(f"heterogeneity_{tag}", dec_t,
                      f"{caption}: decomposition of Cochran's Q (design-by-treatment interaction)",
                      display=decomposition_display(dec_t), notes=(
                          "Q total = Q within designs + Q between designs (common-effect model). "
                          f"{DASH}: not estimable (no closed loop or no replicated design).",))
            if len(excluded):
                out.table(f"excluded_{tag}", excluded, f"{caption}: hazard-ratio rows not used, with the reason",
                          display=excluded_display(excluded))
            eff = res.effects()
            best = ranks.iloc[0]
            n_ind = int((res.evidence()["evidence"] == "indirect").sum())
            parts = [f"{caption}: {res.data.n_studies} trials, {len(res.treatments)} treatments "
                     f"(τ² REML {res.tau2:.3g}, generalised DL {res_dl.tau2:.3g})."]
            parts += [f"{drug(r.treatment)} vs {q['comparator']}: HR "
                      f"{fmt_ci(r.estimate_natural, r.ci_low_natural, r.ci_high_natural)}." for r in eff.itertuples()]
            parts.append(f"{n_ind} drug-versus-drug comparison{'s are' if n_ind > 1 else ' is'} purely indirect "
                         "(no trial compared them)." if n_ind else "")
            parts.append("Inconsistency between designs: " + (
                f"Q = {dec.q_between:.2f} on {dec.between_df} df." if dec.between_estimable else
                "not estimable (a star network: no closed loop)."))
            parts.append(f"Highest P-score: {drug(best.treatment)} ({best.pscore:.2f}); "
                         "rankings summarise uncertainty badly, read them with the league table's CIs.")
            text.append(" ".join(p for p in parts if p))
            methods_trials.append(f"{caption}: " + ", ".join(sorted(set(used["short_name"]))))
    out.text("Methods", (
        "Hazard ratios were converted to ln HR with the SE from the printed CI (at its printed level) or from the "
        "printed p-value, one population per comparison (the whole population where reported), superseded analyses "
        "left out. Each question was analysed as a network with the contrast-based consistency model, random effects "
        "with a common heterogeneity variance estimated by REML (equal to metafor's rma.mv with correlation 1/2 "
        "between contrasts of a multi-arm trial); the generalised DerSimonian-Laird estimate (netmeta's default) is "
        "reported beside it. KEYNOTE-010's two pembrolizumab doses share one docetaxel arm: they enter as one trial "
        "with two contrasts correlated through the shared control (rho from the arm sizes). Treatments were ranked "
        "by P-score (netmeta) and SUCRA (10,000 draws, fixed seed). " + RANKING_CAUTION + " Trials: "
        + "; ".join(methods_trials) + f". Software: metaoutcome {mo.__version__}."))
    out.text("Results", "\n\n".join(text))


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
