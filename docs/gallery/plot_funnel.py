"""
Contour-enhanced funnel plot
============================

A funnel plot with the 90/95/99% significance contours (Peters et al. 2008) and the studies
trim-and-fill would add, on the bundled NSCLC and HCC hazard ratios for overall survival.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.plotting import funnel

hr = mo.load_dataset("hazard_ratios", endpoint="OS", with_trials=True)
hr = hr[hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = es[es["yi"].notna()].reset_index(drop=True)

res = mo.pool(es, measure="HR", labels=list(es["short_name"]))
tf = mo.trim_and_fill(res)
print(tf)

ax = funnel(res, contours=[90, 95, 99])
