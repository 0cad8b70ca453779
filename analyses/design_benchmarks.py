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
from metaoutcome.reproduce import AnalysisOutput

from ._common import one_population, run_standalone

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


def _bayes_hr(out: AnalysisOutput, rows: list[dict], text: list[str]) -> None:
    """Bayesian random-effects re-analysis of the placebo-controlled phase 3 HCC hazard ratios."""
    for endpoint in ("OS", "PFS"):
        hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint=endpoint, with_trials=True)
        hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", effects.ExclusionWarning)
            es = effects.from_hazard_ratios(hr).reset_index(drop=True)
        es = one_population(es, ["trial_id", "endpoint"])
        es = es[es["yi"].notna()]
        res = bayesmeta(yi=es["yi"].to_numpy(), vi=es["vi"].to_numpy(), labels=list(es["short_name"]), measure="HR",
                        tau_prior=half_normal(0.5))
        out.figure(f"shrinkage_{endpoint.lower()}_hr", shrinkage_forest(res).figure,
                   f"{endpoint} hazard ratios of the placebo-controlled phase 3 HCC trials: observed and shrunken "
                   "(Bayesian normal-normal model, half-normal(0.5) prior on tau, flat prior on the log HR)")
        s = res.summary()
        s.insert(0, "endpoint", endpoint)
        out.table(f"bayes_{endpoint.lower()}_hr", s, f"{endpoint} HR vs placebo, Bayesian analysis: posterior "
                  "summaries of mu (log HR), tau, a new trial's log HR and each trial's shrunken log HR")
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
            f"{sd.minimax.r}/{sd.minimax.n}; A'Hern n = {ah.n} (>= {ah.r} responses). Judged against the MAP prior "
            f"(go if P(rate > benchmark) >= {THRESHOLD:g}), {o['n']} patients need {o['go_needs_responses']} "
            f"responses: P(go) {o['p_go_at_p0']:.3f} at p0, {o['p_go_at_p1']:.3f} at p1, "
            f"{o['p_go_rate_from_map']:.3f} when the true rate is a new draw from the MAP prior.")
    out.table("benchmarks", pd.DataFrame(summary), "Design benchmarks: p0 from the historical arms (MAP prior mean), "
              f"p1 = p0 + {DELTA:g}, alpha {ALPHA:g}, power {POWER:g}")
    out.table("designs", pd.DataFrame(designs).astype({"r1": "Int64", "n1": "Int64"}),
              "Simon two-stage (stop if <= r1 of n1; promising if > r of n) and A'Hern single-stage designs")
    out.table("bayes_oc", pd.DataFrame(ocs), f"Bayesian operating characteristics: go if P(rate > benchmark | data) >= "
              f"{THRESHOLD:g}, benchmark ~ MAP prior, Beta(1, 1) prior for the trial arm")
    out.table("map_priors", pd.DataFrame(maps), "MAP priors of the historical response rate (binomial-normal model, "
              "half-normal(1) on tau, N(0, 2) on the logit mean), their beta-mixture approximation and ESS")
    out.table("arms_used", pd.concat(arms_all, ignore_index=True), "Historical arms used (one population per arm)")
    out.table("arms_not_used", pd.concat(excl_all, ignore_index=True), "Selected rows not used, with the reason")
    hcc = arms_all[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_proportions(hcc.assign(outcome="ORR"), measure="PLO")
    res = bayesmeta(yi=es["yi"].to_numpy(), vi=es["vi"].to_numpy(), labels=list(hcc["label"]), measure="PLO",
                    tau_prior=half_normal(1.0), mu_prior_mean=0.0, mu_prior_sd=2.0)
    out.figure("shrinkage_hcc_benchmark_arms", shrinkage_forest(res, width_mm=183).figure,
               "ORR of the later-line HCC arms: observed and shrunken (normal-normal model on logit proportions, "
               "half-normal(1) on tau, N(0, 2) on mu)")
    hr_rows: list[dict] = []
    hr_text: list[str] = []
    _bayes_hr(out, hr_rows, hr_text)
    out.table("bayes_hr_summary", pd.DataFrame(hr_rows), "Placebo-controlled phase 3 HCC trials, Bayesian "
              "random-effects analysis: pooled HR, posterior probabilities and the predicted HR of a new trial")
    out.text("Methods", (
        "For each question, the later-line historical arms of the bundled proportions table with responders and "
        "patients were used, one population per arm (the whole population where reported; subsets and superseded "
        "overlapping analyses excluded and listed). The meta-analytic-predictive (MAP) prior of the response rate was "
        "derived from a binomial-normal hierarchical model (logit rates normal with mean mu ~ N(0, 2) and SD tau ~ "
        "half-normal(1), as RBesT's gMAP), computed by deterministic numerical integration (adaptive Gauss-Hermite "
        "quadrature per arm, Gauss-Legendre over mu and log tau), approximated by a two-component beta mixture, with "
        "its effective sample size by the expected local-information-ratio method (Neuenschwander et al. 2020). p0 is "
        f"the MAP prior mean (the REML pooled logit proportion is shown for comparison); p1 = p0 + {DELTA:g}. Simon's "
        f"optimal and minimax two-stage designs (Simon 1989) and A'Hern's exact single-stage design (A'Hern 2001) use "
        f"one-sided alpha {ALPHA:g} and power {POWER:g}. Bayesian operating characteristics: a trial arm with a "
        f"Beta(1, 1) prior is declared a go when P(rate > benchmark | data) >= {THRESHOLD:g}, the benchmark "
        "distributed as the MAP prior; P(go) is reported at p0, at p1 and averaged over rates drawn from the MAP prior. "
        "The placebo-controlled HCC hazard ratios were re-analysed with a Bayesian normal-normal random-effects model "
        "(half-normal(0.5) prior on tau, flat prior on the log HR; Röver 2020), by numerical integration, with "
        f"shortest 95% credible intervals. Software: metaoutcome {mo.__version__}."
    ))
    out.text("Results", " ".join(text + hr_text))


if __name__ == "__main__":  # pragma: no cover
    run_standalone(__name__, run, TITLE)
