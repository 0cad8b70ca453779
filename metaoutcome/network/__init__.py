"""Frequentist network meta-analysis: compare every treatment with every other.

The escalc -> model -> result -> views shape of the rest of metaoutcome:
:func:`network_from_arms` / :func:`network_from_contrasts` turn arm-level or contrast-level
trial results into correlated contrasts (:class:`NetworkData`); :func:`network_meta` fits the
consistency model (common effect, or random effects with tau^2 by REML as metafor's ``rma.mv``
or by the generalised DerSimonian-Laird estimator netmeta uses); the views are the league table,
P-scores and SUCRA, the Q decomposition and node-splitting, and three figures.

>>> import pandas as pd
>>> from metaoutcome.network import network_meta
>>> hr = pd.DataFrame({"study": ["a", "b", "c"], "treat1": ["X", "Y", "Y"], "treat2": ["C", "C", "C"],
...                    "yi": [-0.3, -0.1, -0.2], "vi": [0.01, 0.02, 0.02]})
>>> res = network_meta(hr, method="CE", reference="C", measure="HR")
>>> res.effects()[["treatment", "estimate_natural", "evidence"]].round(3)
  treatment  estimate_natural evidence
0         X             0.741   direct
1         Y             0.861   direct
"""

from __future__ import annotations

from .data import ARM_MEASURES, NetworkData, network_from_arms, network_from_contrasts
from .inconsistency import Decomposition, NodeSplit, decomposition, direct_estimates, node_split
from .model import METHODS, NetworkResult, network_meta
from .plot import league_plot, network_forest, network_graph
from .rank import RANKING_CAUTION, pscores, sucra

__all__ = [
    "ARM_MEASURES",
    "METHODS",
    "RANKING_CAUTION",
    "Decomposition",
    "NetworkData",
    "NetworkResult",
    "NodeSplit",
    "decomposition",
    "direct_estimates",
    "league_plot",
    "network_forest",
    "network_from_arms",
    "network_from_contrasts",
    "network_graph",
    "network_meta",
    "node_split",
    "pscores",
    "sucra",
]
