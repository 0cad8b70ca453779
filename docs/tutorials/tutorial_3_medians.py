"""
Median survival with an unreached upper bound
=============================================

A trial reports "median PFS 6.9 months (95% CI 5.5-8.3)", another "median OS 13.2 months (95% CI
10.1-NR)". Medians are pooled on the log scale with the standard error from the printed CI
(one-sided when the upper bound was not reached), and the median of medians gives a
distribution-free sensitivity analysis.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects

med = mo.load_dataset("medians", cancer="HCC", outcome="OS", with_trials=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_medians(med)
print(es[["short_name", "arm", "median", "ci_low", "ci_high", "yi", "vi", "exclusion_reason"]].to_string())

###############################################################################
# A single median with an upper bound that was not reached:

print(effects.median_es([13.2], [10.1], [float("nan")], upper_nr=[True]))

###############################################################################
# Pool the convertible arms of active treatment (log medians; the back-transform gives months):

use = es[es["yi"].notna() & (es["arm"] != "placebo")].reset_index(drop=True)
res = mo.pool(use, measure="MED", labels=list(use["short_name"] + ": " + use["arm"]))
print(res.back_transform())
fig = mo.forest(res)

###############################################################################
# The median of the study medians, with the exact sign-test interval where enough studies exist:

print(effects.median_of_medians(es["median"].dropna().to_numpy(), method="normal"))
