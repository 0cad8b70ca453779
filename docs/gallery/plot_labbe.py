"""
L'Abbé plot
===========

Event rates in the experimental arm against the control arm, with the pooled odds ratio as a
curve. The counts are an illustrative set of six two-arm trials.
"""

import matplotlib.pyplot as plt

from metaoutcome import effects
from metaoutcome.plotting import labbe
import metaoutcome as mo

ai = [30, 22, 41, 18, 25, 33]   # responders, experimental arm
n1i = [150, 120, 200, 90, 110, 160]
ci = [15, 14, 25, 9, 16, 20]    # responders, control arm
n2i = [148, 118, 195, 92, 105, 158]

es = effects.two_arm_es("OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i)
res = mo.pool(es, measure="OR")

fig, ax = plt.subplots(figsize=(4.5, 4.5))
labbe(ai, n1i, ci, n2i, result=res, ax=ax)
