"""Design benchmarks for the seeds' single-arm phase 2 questions.

The protocols this project was built from are single-arm phase 2 trials after standard therapy:
lenalidomide after first-line lenvatinib + PD-1 in advanced HCC; anti-PD-1 + anlotinib after
EGFR-TKI, and radiotherapy or a new agent with immunotherapy after immunotherapy, in NSCLC. Each
needs a null response rate p0 and a sample size. Here p0 is the mean of the meta-analytic-
predictive (MAP) prior of the objective response rate of the relevant later-line historical arms
in the bundled ``proportions`` table (one population per arm); the stated target is p1 = p0 + 0.15.
For each benchmark: Simon's optimal and minimax two-stage designs and A'Hern's single-stage design
(alpha 0.05 one-sided, power 0.80), and the Bayesian operating characteristics of those sample
sizes when the trial is judged against the MAP prior itself. A Bayesian re-analysis of the
placebo-controlled HCC trials (few trials: a weakly informative prior on tau) shows the posterior
probabilities a reviewer asks for.

Run with ``metaoutcome reproduce`` or ``python -m metaoutcome._analyses.design_benchmarks DIR``.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.bayes import bayesmeta, half_normal, map_prior
from metaoutcome.design import ahern, bayes_oc, historical_arms, p0_from, simon
from metaoutcome.plotting.shrinkage import shrinkage_forest
from metaoutcome.printer import fmt_ci, fmt_estimate_ci, fmt_x
from metaoutcome.report.tables import plain_reason
from metaoutcome.reproduce import AnalysisOutput

from ._common import one_population, placebo_controlled_hrs, run_standalone

#: place in ``metaoutcome reproduce`` and its report (see :func:`metaoutcome.reproduce.list_analyses`)
ORDER = 50

TITLE = "Design benchmarks for single-arm phase 2 trials: p0 from the historical arms, Simon, A'Hern, Bayesian OC"

LATER_LINE = ["second-line", "second-line or later", "third-line or later"]
DELTA = 0.15  # the stated target: p1 = p0 + 15 percentage points
ALPHA, POWER, THRESHOLD = 0.05, 0.80, 0.90

BENCHMARKS = [
    dict(id="hcc_later_line", cancer="HCC",
         question="HCC after first-line systemic therapy (seed: lenalidomide after lenvatinib + PD-1)",
         where={"cancer": "HCC", "setting": LATER_LINE,
                "regimen_class": ["PD-(L)1 monotherapy", "PD-(L)1 + CTLA-4", "PD-(L)1 + anti-angiogenic",
                                  "immunomodulator", "multikinase inhibitor", "anti-VEGFR2 antibody"]},
         arms="every non-placebo later-line arm with responders/n"),
    dict(id="nsclc_docetaxel", cancer="NSCLC",
         question="NSCLC after targeted or immunotherapy (seeds: anti-PD-1 + anlotinib after EGFR-TKI; "
                  "radiotherapy after immunotherapy): the docetaxel standard",
         where={"cancer": "NSCLC", "setting": LATER_LINE, "regimen_class": ["chemotherapy"]},
         arms="later-line docetaxel arms"),
    dict(id="nsclc_pd1_mono", cancer="NSCLC",
         question="NSCLC later line (seed: a new agent added to PD-(L)1 blockade): PD-(L)1 monotherapy",
         where={"cancer": "NSCLC", "setting": LATER_LINE, "regimen_class": ["PD-(L)1 monotherapy"]},
         arms="later-line PD-(L)1 monotherapy arms"),
]


#: what a reader calls each benchmark (the CSV keeps the ids)
SHORT = {"hcc_later_line": "HCC, later line", "nsclc_docetaxel": "NSCLC, docetaxel",
         "nsclc_pd1_mono": "NSCLC, PD-(L)1 monotherapy"}
DASH = "–"
Z975 = 1.959963984540054


def _pct(x: float, digits: int = 1) -> str:
    return fmt_x(100 * x, digits, missing=DASH)


def _prob(x: float) -> str:
    """A posterior probability or a power for display: 0.892 -> "0.89", above 0.995 -> ">0.99"."""
    return ">0.99" if x > 0.995 else ("<0.01" if x < 0.005 else fmt_x(x, 2))


def benchmarks_display(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1 for the reader: the question, its historical arms and p0 / p1 (the designs are in the next table)."""
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in summary["benchmark"]],
        "Question (seed protocol)": list(summary["question"]),
        "Historical arms": [str(k) for k in summary["k"]],
        "Responders / patients": [f"{r:,} / {n:,}" for r, n in zip(summary["responders"], summary["patients"])],
        "p0 (MAP prior mean), %": [_pct(x) for x in summary["p0_map_mean"]],
        "p0 (REML pooled), %": [_pct(x) for x in summary["p0_pooled_reml"]],
        "p1 (target), %": [_pct(x) for x in summary["p1"]],
        "ESS (ELIR), patients": [fmt_x(x, 0) for x in summary["ess_elir"]],
    })


def designs_display(designs: pd.DataFrame) -> pd.DataFrame:
    """Simon's and A'Hern's designs: stopping rules as 'r1/n1', operating characteristics rounded."""
    one_stage = designs["n1"].isna()
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in designs["benchmark"]],
        "Design": list(designs["design"]),
        "Stage 1: stop if responses ≤ r1/n1": [DASH if skip else f"{int(r1)}/{int(n1)}" for skip, r1, n1 in
                                               zip(one_stage, designs["r1"], designs["n1"])],
        "Promising if responses > r/N": [f"{int(r)}/{int(n)}" for r, n in zip(designs["r"], designs["n"])],
        "Expected N under p0": [fmt_x(x, 1) for x in designs["en0"]],
        "P(early stop) under p0, %": [DASH if skip else _pct(x, 0) for skip, x in zip(one_stage, designs["pet0"])],
        "α (attained)": [fmt_x(x, 3) for x in designs["alpha"]],
        "Power (attained)": [fmt_x(x, 2) for x in designs["power"]],
    })


def oc_display(ocs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in ocs["benchmark"]],
        "Sample size (from)": [f"{n} ({frm})" for n, frm in zip(ocs["n"], ocs["n_from"])],
        "Go if responses ≥": [str(x) for x in ocs["go_needs_responses"]],
        "P(go) at p0, %": [_pct(x) for x in ocs["p_go_at_p0"]],
        "P(go) at p1, %": [_pct(x) for x in ocs["p_go_at_p1"]],
        "P(go), true rate drawn from the MAP prior, %": [_pct(x) for x in ocs["p_go_rate_from_map"]],
    })


def map_display(maps: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in maps["benchmark"]],
        "Historical arms": [str(k) for k in maps["k"]],
        "τ, median (97.5th percentile)": [f"{fmt_x(m, 2)} ({fmt_x(h, 2)})" for m, h in
                                                        zip(maps["tau_median"], maps["tau_q975"])],
        "MAP prior of the response rate, mean (95% interval), %": [
            f"{_pct(m)} ({_pct(lo)} to {_pct(hi)})" for m, lo, hi in zip(maps["map_mean"], maps["map_q025"],
                                                                         maps["map_q975"])],
        "Beta-mixture approximation": [m.replace("beta mixture: ", "").replace("), ", ") + ")
                                       for m in maps["mixture"]],
        "ESS (ELIR)": [fmt_x(x, 0) for x in maps["ess_elir"]],
        "ESS (moment)": [fmt_x(x, 0) for x in maps["ess_moment"]],
        "ESS (Morita)": [fmt_x(x, 0) for x in maps["ess_morita"]],
    })


def arms_display(arms: pd.DataFrame) -> pd.DataFrame:
    derived = arms["events_derived"].astype(bool)
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in arms["benchmark"]],
        "Trial (arm)": list(arms["label"]),
        "Regimen class": list(arms["regimen_class"]),
        "Responders / patients": [f"{int(e)}{'*' if d else ''} / {int(n)}" for e, n, d in
                                  zip(arms["events"], arms["n"], derived)],
        "ORR, %": [_pct(e / n) for e, n in zip(arms["events"], arms["n"])],
    })


def not_used_display(excl: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Benchmark": [SHORT[b] for b in excl["benchmark"]],
        "Trial (arm)": list(excl["label"]),
        "Reason not used": [plain_reason(str(r)) for r in excl["reason"]],
    })


def bayes_hr_display(s: pd.DataFrame) -> pd.DataFrame:
    """The posterior of one Bayesian HR analysis on the HR scale (tau stays on its log-HR scale)."""
    rows = []
    for r in s.itertuples():
        par = str(r.parameter)
        if par == "tau":
            rows.append(("τ (between-trial SD of the log HR)", DASH,
                         f"{fmt_x(r.median, 2)} ({fmt_ci(r.ci_low, r.ci_high, 2)})"))
            continue
        post = fmt_estimate_ci(r.median_natural, r.ci_low_natural, r.ci_high_natural, 2)
        if par == "mu":
            rows.append(("Pooled HR (μ)", DASH, post))
        elif par == "theta_new":
            rows.append(("A new trial's HR", DASH, post))
        else:
            trial = par[par.index("[") + 1:-1] if "[" in par else par
            obs = fmt_estimate_ci(math.exp(r.yi), math.exp(r.yi - Z975 * r.sei), math.exp(r.yi + Z975 * r.sei), 2)
            rows.append((f"{trial} (shrunken)", obs, post))
    return pd.DataFrame(rows, columns=["Parameter", "Observed HR (95% CI)", "Posterior median (95% CrI)"])


def bayes_summary_display(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Endpoint": list(rows["endpoint"]),
        "Trials": [str(k) for k in rows["k"]],
        "HR (95% CrI)": [fmt_estimate_ci(m, lo, hi, 2) for m, lo, hi in
                         zip(rows["hr_median"], rows["hr_ci_low"], rows["hr_ci_high"])],
        "τ, median (97.5th percentile)": [f"{fmt_x(m, 2)} ({fmt_x(h, 2)})" for m, h in
                                          zip(rows["tau_median"], rows["tau_ci_high"])],
        "P(HR < 1)": [_prob(x) for x in rows["p_hr_below_1"]],
        "P(HR < 0.8)": [_prob(x) for x in rows["p_hr_below_0_8"]],
        "New trial's HR (95% interval)": [fmt_ci(lo, hi, 2) for lo, hi in
                                          zip(rows["new_trial_hr_ci_low"], rows["new_trial_hr_ci_high"])],
        "P(new trial's HR < 1)": [_prob(x) for x in rows["p_new_trial_hr_below_1"]],
    })


def _bayes_hr(out: AnalysisOutput, rows: list[dict], text: list[str]) -> None:
    """Bayesian random-effects re-analysis of the placebo-controlled phase 3 HCC hazard ratios."""
    for endpoint in ("OS", "PFS"):
        es = one_population(placebo_controlled_hrs(endpoint), ["trial_id", "endpoint"])
        es = es[es["yi"].notna()]
        res = bayesmeta(yi=es["yi"].to_numpy(), vi=es["vi"].to_numpy(), labels=list(es["short_name"]), measure="HR",
                        tau_prior=half_normal(0.5))
        out.figure(f"shrinkage_{endpoint.lower()}_hr", shrinkage_forest(res).figure,
                   f"{endpoint} hazard ratios of the placebo-controlled phase 3 HCC trials: observed and shrunken "
                   "(Bayesian normal-normal model, half-normal(0.5) prior on τ, flat prior on the log HR)")
        s = res.summary()
        s.insert(0, "endpoint", endpoint)
        out.table(f"bayes_{endpoint.lower()}_hr", s, f"{endpoint} HR vs placebo, Bayesian analysis: the pooled HR, "
                  "the between-trial SD τ, a new trial's HR and each trial's shrunken HR (posterior medians)",
                  display=bayes_hr_display(s), notes=(
                      "CrI: shortest 95% credible interval. τ is on the log-HR scale. Observed: the trial's own HR "
                      "(95% CI from its SE); shrunken: its posterior under the random-effects model. "
                      f"{DASH}: not applicable.",))
        mu, pr = res.mu, res.prediction
        rows.append(dict(endpoint=endpoint, k=res.k, hr_median=math.exp(mu["median"]), hr_ci_low=math.exp(mu["ci_low"]),
                         hr_ci_high=math.exp(mu["ci_high"]), tau_median=res.tau["median"],
                         tau_ci_high=res.tau["ci_high"], p_hr_below_1=res.prob(1.0), p_hr_below_0_8=res.prob(0.8),
                         p_new_trial_hr_below_1=res.prob(1.0, "theta_new"),
                         new_trial_hr_ci_low=math.exp(pr["ci_low"]), new_trial_hr_ci_high=math.exp(pr["ci_high"])))
        r = rows[-1]
        text.append(f"Bayesian {endpoint} (k = {r['k']}): HR {r['hr_median']:.2f} (95% CrI {r['hr_ci_low']:.2f} to "
                    f"{r['hr_ci_high']:.2f}); P(HR < 1) = {r['p_hr_below_1']:.3f}, P(HR < 0.8) = "
                    f"{r['p_hr_below_0_8']:.3f}; a new trial's HR 95% interval {r['new_trial_hr_ci_low']:.2f} to "
                    f"{r['new_trial_hr_ci_high']:.2f}.")


def run(out: AnalysisOutput) -> None:
    summary, designs, ocs, maps, arms_all, excl_all, text = [], [], [], [], [], [], []
    for b in BENCHMARKS:
        arms, excluded = historical_arms(where=b["where"], outcome="ORR")
        arms_all.append(arms.assign(benchmark=b["id"]))
        excl_all.append(excluded.assign(benchmark=b["id"]))
        mp = map_prior(arms, events="events", n="n", labels="label", tau_prior=half_normal(1.0))
        p0 = p0_from(mp)
        p1 = p0 + DELTA
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pooled = p0_from(mo.pool(effects.from_proportions(arms.assign(outcome="ORR"), measure="PLO"),
                                     measure="PLO", method="REML"))
        sd = simon(p0, p1, alpha=ALPHA, power=POWER)
        ah = ahern(p0, p1, alpha=ALPHA, power=POWER)
        for nm, d in (("Simon optimal", sd.optimal), ("Simon minimax", sd.minimax)):
            designs.append(dict(benchmark=b["id"], design=nm, p0=p0, p1=p1, r1=d.r1, n1=d.n1, r=d.r, n=d.n,
                                en0=d.en0, pet0=d.pet0, alpha=d.alpha, power=d.power))
        designs.append(dict(benchmark=b["id"], design="A'Hern", p0=p0, p1=p1, r1=None, n1=None, r=ah.r - 1, n=ah.n,
                            en0=float(ah.n), pet0=0.0, alpha=ah.attained_alpha, power=ah.attained_power))
        t = mp.table.set_index("parameter")
        maps.append(dict(benchmark=b["id"], k=mp.k, tau_median=t.loc["tau", "median"], tau_q975=t.loc["tau", "q975"],
                         map_mean=t.loc["map", "mean"], map_sd=t.loc["map", "sd"], map_q025=t.loc["map", "q025"],
                         map_median=t.loc["map", "median"], map_q975=t.loc["map", "q975"], mixture=str(mp.mixture),
                         ess_elir=mp.ess("elir"), ess_moment=mp.ess("moment"), ess_morita=mp.ess("morita")))
        for nm, n in (("Simon optimal", sd.optimal.n), ("A'Hern", ah.n)):
            oc = bayes_oc(n, mp, p0, p1, threshold=THRESHOLD)
            g = oc.table.set_index("scenario")["p_go"]
            ocs.append(dict(benchmark=b["id"], n_from=nm, n=n, go_needs_responses=oc.x_min, p_go_at_p0=g["p0"],
                            p_go_at_p1=g["p1"], p_go_rate_from_map=g["MAP"]))
        summary.append(dict(benchmark=b["id"], question=b["question"], arms=b["arms"], k=mp.k,
                            responders=int(arms["events"].sum()), patients=int(arms["n"].sum()), p0_map_mean=p0,
                            p0_pooled_reml=pooled, p1=p1, simon_optimal=f"{sd.optimal.r1}/{sd.optimal.n1}, "
                            f"{sd.optimal.r}/{sd.optimal.n}", simon_minimax=f"{sd.minimax.r1}/{sd.minimax.n1}, "
                            f"{sd.minimax.r}/{sd.minimax.n}", ahern=f">= {ah.r}/{ah.n}", ess_elir=mp.ess("elir")))
        o = ocs[-2]
        text.append(
            f"{b['question']}: {mp.k} arms ({int(arms['events'].sum())}/{int(arms['n'].sum())} responders); MAP prior "
            f"mean {p0:.1%} (95% interval {t.loc['map', 'q025']:.1%} to {t.loc['map', 'q975']:.1%}; REML pooled "
            f"{pooled:.1%}; ESS {mp.ess('elir'):.0f}). With p1 = {p1:.1%}: Simon optimal {sd.optimal.r1}/{sd.optimal.n1}, "
            f"{sd.optimal.r}/{sd.optimal.n} (EN0 {sd.optimal.en0:.1f}), minimax {sd.minimax.r1}/{sd.minimax.n1}, "
            f"{sd.minimax.r}/{sd.minimax.n}; A'Hern n = {ah.n} (≥ {ah.r} responses). Judged against the MAP prior "
            f"(go if P(rate > benchmark) ≥ {THRESHOLD:g}), {o['n']} patients need {o['go_needs_responses']} "
            f"responses: P(go) {o['p_go_at_p0']:.3f} at p0, {o['p_go_at_p1']:.3f} at p1, "
            f"{o['p_go_rate_from_map']:.3f} when the true rate is a new draw from the MAP prior.")
    summary_f, designs_f = pd.DataFrame(summary), pd.DataFrame(designs).astype({"r1": "Int64", "n1": "Int64"})
    ocs_f, maps_f = pd.DataFrame(ocs), pd.DataFrame(maps)
    arms_f, excl_f = pd.concat(arms_all, ignore_index=True), pd.concat(excl_all, ignore_index=True)
    out.table("benchmarks", summary_f, "Design benchmarks: p0 from the historical arms (MAP prior mean), "
              f"p1 = p0 + {DELTA * 100:g} percentage points", display=benchmarks_display(summary_f), notes=(
                  "MAP: meta-analytic-predictive prior. ESS (ELIR): its effective sample size by the expected "
                  "local-information-ratio method. REML pooled: the random-effects mean of the logit proportions, "
                  "for comparison. The designs for these p0 and p1 are in the next table.",))
    out.table("designs", designs_f,
              f"Simon two-stage and A'Hern single-stage designs (one-sided α {ALPHA:g}, power {POWER:g})",
              display=designs_display(designs_f), notes=(
                  "Simon: stop after stage 1 if at most r1 of n1 patients respond; the treatment is promising if more "
                  f"than r of N respond. A'Hern's design has one stage ({DASH}: not applicable). α and power are the "
                  "attained values of the integer design.",))
    out.table("bayes_oc", ocs_f, f"Bayesian operating characteristics: go if P(rate > benchmark | data) ≥ "
              f"{THRESHOLD:g}, benchmark distributed as the MAP prior, Beta(1, 1) prior for the trial arm",
              display=oc_display(ocs_f))
    out.table("map_priors", maps_f, "MAP priors of the historical response rate (binomial-normal model, "
              "half-normal(1) on τ, N(0, 2) on the logit mean), their beta-mixture approximation and ESS",
              display=map_display(maps_f), notes=(
                  "ESS: effective sample size, in patients, by three methods (ELIR: expected local-information "
                  "ratio; moment matching; Morita et al.). τ: between-arm SD of the logit response rate.",))
    out.table("arms_used", arms_f, "Historical arms used (one population per arm)", display=arms_display(arms_f),
              notes=("* responders derived from the printed percentage and n: percent × n / 100 rounded half up "
                     "(a whole-number percentage may also fit a neighbouring count).",) if arms_f["events_derived"].any()
              else ())
    out.table("arms_not_used", excl_f, "Selected rows not used, with the reason", display=not_used_display(excl_f))
    hcc = arms_all[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_proportions(hcc.assign(outcome="ORR"), measure="PLO")
    res = bayesmeta(yi=es["yi"].to_numpy(), vi=es["vi"].to_numpy(), labels=list(hcc["label"]), measure="PLO",
                    tau_prior=half_normal(1.0), mu_prior_mean=0.0, mu_prior_sd=2.0)
    out.figure("shrinkage_hcc_benchmark_arms", shrinkage_forest(res, width_mm=183).figure,
               "ORR of the later-line HCC arms: observed and shrunken (normal-normal model on logit proportions, "
               "half-normal(1) on τ, N(0, 2) on μ)")
    hr_rows: list[dict] = []
    hr_text: list[str] = []
    _bayes_hr(out, hr_rows, hr_text)
    hr_f = pd.DataFrame(hr_rows)
    out.table("bayes_hr_summary", hr_f, "Placebo-controlled phase 3 HCC trials, Bayesian random-effects analysis: "
              "pooled HR, posterior probabilities and the predicted HR of a new trial",
              display=bayes_summary_display(hr_f), notes=(
                  "CrI: shortest 95% credible interval. τ: between-trial SD of the log HR. The new trial's interval "
                  "is the 95% posterior predictive interval of its HR.",))
    out.text("Methods", (
        "For each question, the later-line historical arms of the bundled proportions table with responders and "
        "patients were used, one population per arm (the whole population where reported; subsets and superseded "
        "overlapping analyses excluded and listed). The meta-analytic-predictive (MAP) prior of the response rate was "
        "derived from a binomial-normal hierarchical model (logit rates normal with mean μ ~ N(0, 2) and SD τ ~ "
        "half-normal(1), as RBesT's gMAP), computed by deterministic numerical integration (adaptive Gauss-Hermite "
        "quadrature per arm, Gauss-Legendre over μ and log τ), approximated by a two-component beta mixture, with "
        "its effective sample size by the expected local-information-ratio method (Neuenschwander et al. 2020). p0 is "
        f"the MAP prior mean (the REML pooled logit proportion is shown for comparison); p1 = p0 + {DELTA:g}. Simon's "
        f"optimal and minimax two-stage designs (Simon 1989) and A'Hern's exact single-stage design (A'Hern 2001) use "
        f"one-sided α {ALPHA:g} and power {POWER:g}. Bayesian operating characteristics: a trial arm with a "
        f"Beta(1, 1) prior is declared a go when P(rate > benchmark | data) ≥ {THRESHOLD:g}, the benchmark "
        "distributed as the MAP prior; P(go) is reported at p0, at p1 and averaged over rates drawn from the MAP prior. "
        "The placebo-controlled HCC hazard ratios were re-analysed with a Bayesian normal-normal random-effects model "
        "(half-normal(0.5) prior on τ, flat prior on the log HR; Röver 2020), by numerical integration, with "
        f"shortest 95% credible intervals. Software: metaoutcome {mo.__version__}."
    ))
    out.text("Results", "\n\n".join(text + [" ".join(hr_text)]))


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
