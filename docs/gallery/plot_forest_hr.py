"""
Forest plot of hazard ratios
============================

Overall survival hazard ratios of PD-1/PD-L1 monotherapy versus docetaxel in previously treated
NSCLC, from the bundled evidence base: every HR is converted from the CI at the level the trial
printed (CheckMate 057 printed a 96% CI), pooled by REML and drawn on the natural scale with the
prediction interval.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects

hr = mo.load_dataset("hazard_ratios", cancer="NSCLC", endpoint="OS", with_trials=True)
hr = hr[(hr["experimental_class"] == "PD-(L)1 monotherapy") & (hr["control_class"] == "chemotherapy")
        & hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = effects.combine_shared_control(es[es["yi"].notna()])

res = mo.pool(es, measure="HR", labels=list(es["short_name"]))
print(res)

fig = mo.forest(res, favours=("Favours PD-(L)1", "Favours docetaxel"))
