"""Bayesian evidence synthesis: normal-normal random-effects meta-analysis (bayesmeta-like), tau
priors, and the meta-analytic-predictive (MAP) prior for a control response rate (RBesT-like).

>>> from metaoutcome.bayes import bayesmeta, half_normal
>>> r = bayesmeta(yi=[0.1, 0.3], sei=[0.2, 0.25], tau_prior=half_normal(0.5))
>>> r.k
2
"""

from __future__ import annotations

from .map_prior import BetaMixture, MAPPrior, map_prior
from .model import BayesMetaResult, bayesmeta
from .priors import TauPrior, get_tau_prior, half_cauchy, half_normal, half_t, log_normal, turner_prior, uniform

__all__ = [
    "BayesMetaResult", "bayesmeta", "BetaMixture", "MAPPrior", "map_prior", "TauPrior", "get_tau_prior", "half_cauchy", "half_normal", "half_t",
    "log_normal", "turner_prior", "uniform",
]
