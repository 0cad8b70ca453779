"""
Baujat and radial plots
=======================

Which trials drive heterogeneity (Baujat et al. 2002) and a radial (Galbraith) plot of the same
fit.
"""

import warnings

import matplotlib.pyplot as plt

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.plotting import baujat, radial

hr = mo.load_dataset("hazard_ratios", endpoint="OS", with_trials=True)
hr = hr[hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = es[es["yi"].notna()].reset_index(drop=True)
res = mo.pool(es, measure="HR", labels=list(es["short_name"]))

fig, ax = plt.subplots(figsize=(4.5, 4))
baujat(res, ax=ax)

###############################################################################
# The radial plot: the slope of the line through the origin is the pooled estimate.

fig, ax = plt.subplots(figsize=(4.5, 4))
radial(res, ax=ax)
