"""Between-study heterogeneity: tau^2 estimators, their standard errors and Q-profile intervals.

This module is the public face of :mod:`metaoutcome.engine` for the intercept-only (no moderators) random-effects model

.. math:: y_i = \\mu + u_i + e_i,\\qquad u_i \\sim N(0, \\tau^2),\\qquad e_i \\sim N(0, v_i),

and follows the definitions in R metafor's ``rma.uni`` and ``confint.rma.uni`` (version 3.8-1)
line by line, written with sums instead of ``k x k`` matrices. For a weight vector ``a`` the
projection ``P_a = diag(a) - a a' / sum(a)`` that metafor builds explicitly has the closed forms
used below (``r = y - sum(a y) / sum(a)``):

* ``y' P y = sum(a r^2)``, ``y' P P y = sum(a^2 r^2)``, ``tr(P) = sum(a) - sum(a^2)/sum(a)``;
* ``sum(P * P) = sum(a^2) - 2 sum(a^3)/sum(a) + (sum(a^2)/sum(a))^2``;
* ``tr(P V P V) = sum(a^2 v^2) - 2 sum(a^3 v^2)/sum(a) + (sum(a^2 v)/sum(a))^2``;
* ``sum(P V * P) = sum(a^2 v) - 2 sum(a^3 v)/sum(a) + sum(a^2) sum(a^2 v)/sum(a)^2``.

One code path for one and for many meta-analyses
------------------------------------------------
Every function works on a :class:`Stack`: ``G`` meta-analyses padded to a common width ``K``
(``y`` is 0 and ``v`` is ``+inf`` in the padding, so the weight ``1/(v + tau^2)`` of a padded
cell is exactly 0 and every sum over a row is the sum over that meta-analysis's studies).
A single meta-analysis is the stack with one row: :func:`metaoutcome.pool`, the batched
:func:`metaoutcome.batch.pool_batch`, leave-one-out, influence and GOSH all run this code.

The one deliberate difference from metafor is *how* the iterative estimators (ML, REML, EB, PM)
are solved. metafor uses Fisher scoring (ML, REML, EB), which fails to converge on a few percent
of data sets with very unequal variances, and ``uniroot`` with a loose default tolerance (PM).
Here the estimating equation ``S(tau^2) = T(tau^2)`` is solved with a bracketing root finder
(Newton's method on the nearly linear ``T/S - 1`` with analytic derivatives and bisection
safeguards, run on all meta-analyses at once) after scanning the whole half-line ``[0, inf)``
on a grid: it always converges, to machine precision, and for ML and REML the largest
(restricted) likelihood among the roots found is returned (metafor's ``ll0check`` compares its
answer with ``tau^2 = 0`` only). The Q-profile bounds are found the same way.

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
