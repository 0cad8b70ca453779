"""
Subgroup forest plot
====================

Objective response rates of later-line HCC regimens, pooled on the logit scale within each
regimen class, with the test for subgroup differences.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects

orr = mo.load_dataset("proportions", cancer="HCC", outcome="ORR", with_trials=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_proportions(orr, measure="PLO")
es = es[es["yi"].notna()].reset_index(drop=True)
es["label"] = es["short_name"] + ": " + es["arm"]

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sg = mo.subgroup_analysis(es, by="regimen_class", labels="label")
print(sg)

fig = sg.forest()
