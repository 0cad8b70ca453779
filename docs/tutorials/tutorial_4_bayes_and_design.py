"""
Few trials and the next trial: Bayesian pooling and a phase 2 design
====================================================================

With only a few placebo-controlled HCC trials, REML's τ² is barely estimable; a Bayesian random-effects
analysis with a weakly informative prior on τ (bayesmeta's approach, by numerical integration)
gives a posterior for the pooled HR and for a new trial's HR, and probabilities such as
P(HR < 0.8). An investigator planning a single-arm phase 2 trial then needs a benchmark response
rate p0 from the historical arms (a meta-analytic-predictive prior, as RBesT builds it) and a
design (Simon's two-stage, A'Hern's single-stage).
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.design import historical_arms

###############################################################################
# Bayesian pooling of the placebo-controlled HCC trials' OS hazard ratios
# -----------------------------------------------------------------------

hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS", with_trials=True)
hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = mo.one_population(effects.from_hazard_ratios(hr), ["trial_id", "endpoint"])
es = es[es["yi"].notna()].reset_index(drop=True)

bm = mo.bayesmeta(es, labels="short_name", measure="HR", tau_prior="half-normal", tau_prior_scale=0.5)
print(bm)
print("P(HR < 0.8) =", round(bm.prob(0.8), 3))

ax = mo.shrinkage_forest(bm)

###############################################################################
# A benchmark response rate from the historical arms
# ---------------------------------------------------
# Later-line PD-(L)1 monotherapy arms in HCC: the MAP prior of the response rate.

arms, excluded = historical_arms(where={"cancer": "HCC", "regimen_class": "PD-(L)1 monotherapy"})
print(arms)
prior = mo.map_prior(arms, events="events", n="n", labels="label")
print(prior)

###############################################################################
# Single-arm designs for p0 = the MAP prior mean and p1 = p0 + 0.15
# -----------------------------------------------------------------

p0 = round(prior.mean, 2)
print(mo.simon(p0, p0 + 0.15))
print(mo.ahern(p0, p0 + 0.15))
