"""
From a reported hazard ratio to a pooled estimate
=================================================

Trials report a hazard ratio as "HR 0.73 (96% CI 0.59-0.89)" or "reduced the risk of death by
29% (p = 0.0199)". This tutorial follows such figures from the bundled evidence base to the
pooled estimate, its forest plot and a table for the manuscript: the path a systematic review
of second-line HCC trials takes.
"""

###############################################################################
# 1. The reported figures
# -----------------------
# Every curated row keeps the text as printed and where it was read.

import warnings

import metaoutcome as mo
from metaoutcome import effects

hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS", with_trials=True)
print(hr[["short_name", "population", "hr", "ci_low", "ci_high", "ci_level", "printed"]].to_string())

###############################################################################
# 2. Effect sizes
# ---------------
# ``from_hazard_ratios`` takes ln HR and derives its variance from the CI at the level the trial
# printed, or from the p-value when no CI was printed (metafor's ``conv.wald``). A row that
# cannot be converted keeps NaN and says why.

with warnings.catch_warnings():
    warnings.simplefilter("ignore", effects.ExclusionWarning)
    es = effects.from_hazard_ratios(hr)
print(es[["short_name", "population", "yi", "vi", "exclusion_reason"]].to_string())

###############################################################################
# A single figure converts the same way; ``level`` is a percentage as in metafor (0.95 is read as
# 95% too):

print(effects.hr_from_ci([0.73], [0.59], [0.89], level=96))

###############################################################################
# 3. The pooled estimate
# ----------------------
# One population per trial (the intention-to-treat analysis), REML random effects as metafor's
# default, and the Hartung-Knapp-Sidik-Jonkman interval as a sensitivity analysis.

whole = es["population"].str.contains(r"^(?:ITT|all randomi|full analysis)", case=False)
itt = es[whole & es["yi"].notna()].reset_index(drop=True)
res = mo.pool(itt, measure="HR", labels=list(itt["short_name"]))
print(res)
print(mo.pool(itt, measure="HR", ci_method="knha").summary())

###############################################################################
# 4. The figure
# -------------

fig = mo.forest(res, favours=("Favours experimental", "Favours placebo"))

###############################################################################
# 5. The table for the manuscript
# -------------------------------
# ``summary()`` is a tidy table (unrounded; round only for display).

print(res.summary().round(3).to_string())
