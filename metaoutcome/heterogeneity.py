"""Between-study heterogeneity: tau^2 estimators, their standard errors and Q-profile intervals.

This module is the public face of the one model engine, :mod:`metaoutcome.engine`, for the
intercept-only random-effects model

.. math:: y_i = \\mu + u_i + e_i,\\qquad u_i \\sim N(0, \\tau^2),\\qquad e_i \\sim N(0, v_i),

following R metafor's ``rma.uni`` and ``confint.rma.uni`` (version 3.8-1). The estimators are
the engine's one table (:mod:`metaoutcome.engine.estimators`, which also serves models with
moderators); the projection algebra, written with sums for p = 1, is in
:mod:`metaoutcome.engine.stack`; the solver (a bracketing Newton root finder run on all
meta-analyses of a :class:`Stack` at once, always converging to machine precision, the largest
(restricted) likelihood among the roots for ML/REML) in :mod:`metaoutcome.engine.solver`; the
Q-profile intervals in :mod:`metaoutcome.engine.qprofile`.

References
----------
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics* 30(3):261-293.

Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
*Statistics in Medicine* 26(1):37-52.

Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software* 36(3):1-48.

Examples
--------
BCG vaccine trials (metafor ``dat.bcg``), log risk ratios; metafor's DL estimate is 0.3087603:

>>> import numpy as np
>>> tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
>>> tneg = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
>>> cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
>>> cneg = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
>>> yi = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
>>> vi = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
>>> fit = estimate_tau2(yi, vi, "DL")
>>> round(fit.tau2, 7), fit.converged
(0.3087603, True)
"""

from __future__ import annotations

from .engine.estimators import (
    TAU2_METHODS,
    Tau2Fit,
    Tau2Many,
    cochran_q,
    estimate_tau2,
    estimate_tau2_many,
    generalized_q,
    typical_variance,
)
from .engine.qprofile import SIGNS, QProfileCI, QProfileMany, q_profile_ci, q_profile_ci_many
from .engine.solver import ZeroStats, newton_roots, score_grid, zero_stats
from .engine.stack import Stack, generalized_q_many, masked, row_sums, stack, stack_groups

__all__ = [
    "TAU2_METHODS",
    "Stack",
    "Tau2Fit",
    "Tau2Many",
    "QProfileCI",
    "QProfileMany",
    "SIGNS",
    "stack",
    "stack_groups",
    "masked",
    "estimate_tau2",
    "estimate_tau2_many",
    "generalized_q",
    "generalized_q_many",
    "ZeroStats",
    "zero_stats",
    "newton_roots",
    "row_sums",
    "score_grid",
    "q_profile_ci",
    "q_profile_ci_many",
    "cochran_q",
    "typical_variance",
]
