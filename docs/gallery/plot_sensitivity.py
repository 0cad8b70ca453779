"""
Leave-one-out and cumulative forest plots
=========================================

How the pooled OS hazard ratio moves when each trial is left out, and as trials accumulate in
order of publication year.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects

hr = mo.load_dataset("hazard_ratios", endpoint="OS", cancer="NSCLC", with_trials=True)
hr = hr[(hr["experimental_class"] == "PD-(L)1 monotherapy") & hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = es[es["yi"].notna()].reset_index(drop=True)
res = mo.pool(es, measure="HR", labels=list(es["short_name"]))

fig = mo.loo_forest(mo.leave_one_out(res))

###############################################################################
# Cumulative meta-analysis, in the order the rows are given:

fig = mo.cumulative_forest(mo.cumulative(res))
