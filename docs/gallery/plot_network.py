"""
Network meta-analysis: graph, forest and league table
=====================================================

Second-line HCC drugs were each compared with placebo (a star network), so every drug-versus-drug
comparison is indirect. The network graph sizes nodes by patients and edges by trials; the forest
plot shows every drug against placebo; the league table gives every pairwise hazard ratio.
"""

import warnings

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.network import league_plot, network_forest, network_from_contrasts, network_graph, network_meta

hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS", with_trials=True)
hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")
        & hr["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
es = es[es["yi"].notna()].drop_duplicates(["trial_id", "experimental_arm"]).reset_index(drop=True)

net = network_from_contrasts(es, study="short_name", treat1="experimental_arm", treat2="control_arm",
                             n1="n_experimental", n2="n_control", measure="HR")
res = network_meta(net, method="REML", reference="placebo", small_values="desirable")
print(res)

ax = network_graph(res)

###############################################################################
# Every drug against placebo:

ax = network_forest(res, favours=("Favours drug", "Favours placebo"))

###############################################################################
# The league table (lower left: network estimates, column versus row):

ax = league_plot(res)
