"""
Bubble plot of a meta-regression
================================

Log hazard ratios against a continuous moderator with the fitted line and its confidence and
prediction bands; bubble area is proportional to the weight. The data are an illustrative set.
"""

import pandas as pd

import metaoutcome as mo

frame = pd.DataFrame({
    "yi": [-0.45, -0.38, -0.30, -0.28, -0.21, -0.15, -0.10, -0.05],
    "vi": [0.020, 0.015, 0.012, 0.018, 0.010, 0.014, 0.022, 0.016],
    "pdl1_high_pct": [60, 55, 48, 45, 35, 30, 22, 15],
})
reg = mo.meta_regression(frame, mods=["pdl1_high_pct"], measure="HR")
print(reg)

ax = mo.bubble(reg, "pdl1_high_pct", pi=True)
