"""
Response rates: GLMM and inverse-variance pooling
=================================================

Single-arm phase 2 trials report "ORR 28.4% (19/67)". Response rates are pooled on the logit
scale; the binomial-normal generalised linear mixed model (metafor's ``rma.glmm``, R meta's
``metaprop(method="GLMM")``) uses the counts directly and needs no continuity correction.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects

orr = mo.load_dataset("proportions", cancer="HCC", outcome="ORR", with_trials=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_proportions(orr, measure="PLO")
use = es[es["yi"].notna()].reset_index(drop=True)
print(use[["short_name", "arm", "events", "n", "yi", "vi"]].to_string())

###############################################################################
# Per-study exact (Clopper-Pearson) confidence intervals:

print(effects.proportion_ci(use["events"], use["n"], method="clopper-pearson").round(3).head())

###############################################################################
# Inverse-variance pooling of logit proportions, then the GLMM on the counts:

labels = list(use["short_name"] + ": " + use["arm"])
iv = mo.pool(use, measure="PLO", labels=labels)
glmm = mo.pool_glmm(use["events"], use["n"], labels=labels)
print(iv.back_transform())
print(glmm)

###############################################################################
# The forest plot of the GLMM fit, on the percentage scale:

fig = mo.forest(glmm)
