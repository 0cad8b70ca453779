"""
RevMan and JAMA layouts
=======================

The same pooled result drawn in the layout of a Cochrane review (RevMan) and of a JAMA-network
journal. The layout changes the columns and the styling, never the numbers.
"""

import metaoutcome as mo

# Five trials' log hazard ratios and their variances (an illustrative set of numbers).
yi = [-0.33, -0.29, -0.24, -0.40, -0.17]
vi = [0.010, 0.012, 0.008, 0.020, 0.015]
res = mo.pool(yi, vi, measure="HR", labels=["Trial A", "Trial B", "Trial C", "Trial D", "Trial E"])

fig = mo.forest(res, layout="revman", favours=("Favours experimental", "Favours control"))

###############################################################################
# The JAMA layout:

fig = mo.forest(res, layout="jama")
