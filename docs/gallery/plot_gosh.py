"""
GOSH plot
=========

The model fitted to every subset of the studies (Olkin et al. 2012): I² against the pooled
estimate for each of the 2^k - 1 subsets.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.gosh import gosh
from metaoutcome.plotting.gosh import gosh_plot

hr = mo.load_dataset("hazard_ratios", endpoint="OS", with_trials=True)
hr = hr[hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = es[es["yi"].notna()].reset_index(drop=True)
res = mo.pool(es, measure="HR", method="DL")

g = gosh(res)
ax = gosh_plot(g)
