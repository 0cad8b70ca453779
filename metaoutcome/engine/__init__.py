"""The one model engine: metafor's ``rma.uni`` for p = 1 (intercept only) and p > 1 (moderators).

=================  ==================================================================================
module             what it holds
=================  ==================================================================================
``stack``          :class:`Stack` (many models padded to one width) and the projection algebra
``solver``         the estimating equations of ML/REML/EB/PM and the one bracketing root finder
``estimators``     the one table of tau^2 estimators (DL, HE, HS, SJ, ML, REML, EB, PM; FE/EE/CE)
``qprofile``       Q-profile confidence intervals for tau^2 (with and without moderators)
``fit``            :func:`fit_many`: the intercept-only model for a stack of meta-analyses
``mods``           :func:`fit_mods_many`: models with moderators for a stack; :func:`fit_rma`, one of them
``permute``        the refits of a permutation test, stacked
``dist``           normal, t, chi-square and F tails from :mod:`scipy.special`
=================  ==================================================================================

``pool``, ``pool_batch``, ``meta_regression``, leave-one-out, cumulative, influence, GOSH, the
permutation test and Egger's test are views of these fits. The intercept-only rows take a fast
path (sums instead of ``p x p`` algebra): the same formulas, tested against the general path
with ``X = 1`` in ``tests/test_engine.py``.
"""

from __future__ import annotations

from .estimators import COMMON, METHODS, TAU2_METHODS, Tau2Fit, Tau2Many, estimate_tau2, estimate_tau2_many
from .fit import fit_many
from .mods import RMA_METHODS, RMA_TESTS, RmaFit, fit_mods_many, fit_rma
from .qprofile import SIGNS, QProfileCI, QProfileMany, q_profile_ci, q_profile_ci_many
from .stack import Stack, masked, stack, stack_groups

__all__ = [
    "COMMON", "METHODS", "TAU2_METHODS", "RMA_METHODS", "RMA_TESTS", "SIGNS",
    "Stack", "stack", "stack_groups", "masked",
    "Tau2Fit", "Tau2Many", "estimate_tau2", "estimate_tau2_many",
    "QProfileCI", "QProfileMany", "q_profile_ci", "q_profile_ci_many",
    "RmaFit", "fit_many", "fit_mods_many", "fit_rma",
]  # fmt: skip
