"""Treatment rankings: P-scores (netmeta's ``netrank``) and SUCRA from resampling (``rankogram``).

Rankings summarise the uncertainty of a network badly: two treatments with overlapping
confidence intervals get different ranks, and a treatment studied in one small trial can rank
first on a wide interval. :data:`RANKING_CAUTION` says so; print it beside every ranking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import ndtr

if TYPE_CHECKING:  # pragma: no cover
    from .model import NetworkResult

__all__ = ["pscores", "sucra", "RANKING_CAUTION"]

RANKING_CAUTION = (
    "Rankings summarise uncertainty badly: a higher rank is not evidence that a treatment is better. "
    "Read them with the league table's confidence intervals; a treatment with little evidence can rank "
    "high (or low) on a wide interval, and differences between P-scores or SUCRA values are not tested."
)


def pscores(result: NetworkResult, *, common: bool = False) -> pd.DataFrame:
    """P-scores: the mean one-sided certainty that a treatment is better than each other one.

    Parameters
    ----------
    result : NetworkResult
        A fitted network; its ``small_values`` says whether lower values are better.
    common : bool, default False
        Use the common-effect estimates instead of the fitted model's.

    Returns
    -------
    DataFrame
        ``treatment``, ``pscore`` in network order.

    Notes
    -----
    With small values desirable, :math:`P_i = \\frac{1}{n-1}\\sum_{j \\ne i}
    \\Phi\\bigl((\\hat d_j - \\hat d_i)/SE(\\hat d_j - \\hat d_i)\\bigr)` (Rücker & Schwarzer 2015).

    References
    ----------
    Rücker, G., & Schwarzer, G. (2015). Ranking treatments in frequentist network meta-analysis
    works without resampling methods. *BMC Medical Research Methodology*, 15, 58.

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"],
    ...                   "yi": [-0.3, -0.1], "vi": [0.01, 0.02]})
    >>> pscores(network_meta(d, method="CE")).round(4).to_dict("list")
    {'treatment': ['C', 'X', 'Y'], 'pscore': [0.1205, 0.9373, 0.4422]}
    """
    d, c = (result.d_common, result.cov_common) if common else (result.d, result.cov)
    n = len(d)
    diag = np.diag(c)
    var = diag[:, None] + diag[None, :] - 2 * c
    se = np.sqrt(np.maximum(var, 0.0))
    diff = d[None, :] - d[:, None]  # d_j - d_i
    if result.small_values == "undesirable":
        diff = -diff
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ndtr(diff / se)
    p = np.where(se > 0, p, 0.5 + 0.5 * np.sign(diff))
    np.fill_diagonal(p, 0.0)
    return pd.DataFrame({"treatment": list(result.treatments), "pscore": p.sum(axis=1) / (n - 1)})


def sucra(result: NetworkResult, *, nsim: int = 10000, seed: int = 20240401, common: bool = False) -> pd.DataFrame:
    """SUCRA and rank probabilities by sampling the estimates' multivariate normal distribution.

    Parameters
    ----------
    result : NetworkResult
        A fitted network.
    nsim : int, default 10000
        Draws (netmeta's ``rankogram`` uses 1000); the result is reproducible for a given ``seed``.
    seed : int, default 20240401
        Seed of :func:`numpy.random.default_rng`.
    common : bool, default False
        Use the common-effect estimates.

    Returns
    -------
    DataFrame
        ``treatment``, ``sucra``, ``mean_rank`` and ``p_rank_1`` ... ``p_rank_n`` (probability of
        each rank, 1 = best).

    Notes
    -----
    :math:`SUCRA_i = (n - \\bar r_i)/(n - 1)` with :math:`\\bar r_i` the mean rank (Salanti, Ades &
    Ioannidis 2011); it approximates the P-score as ``nsim`` grows.

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"],
    ...                   "yi": [-0.3, -0.1], "vi": [0.01, 0.02]})
    >>> sucra(network_meta(d, method="CE"))["sucra"].round(2).tolist()
    [0.12, 0.94, 0.44]
    """
    if not (isinstance(nsim, (int, np.integer)) and nsim >= 100):
        raise ValueError(f"nsim={nsim!r} must be an integer >= 100")
    d, c = (result.d_common, result.cov_common) if common else (result.d, result.cov)
    n = len(d)
    rng = np.random.default_rng(seed)
    # sample the basic parameters (the first treatment is 0 by construction)
    draws = np.zeros((nsim, n))
    if n > 1:
        draws[:, 1:] = rng.multivariate_normal(d[1:], c[1:, 1:], size=nsim, method="cholesky")
    if result.small_values == "undesirable":
        draws = -draws
    ranks = draws.argsort(axis=1).argsort(axis=1) + 1  # 1 = smallest = best
    probs = np.stack([(ranks == r).mean(axis=0) for r in range(1, n + 1)], axis=1)
    mean_rank = ranks.mean(axis=0)
    out = pd.DataFrame({"treatment": list(result.treatments), "sucra": (n - mean_rank) / (n - 1), "mean_rank": mean_rank})
    for r in range(n):
        out[f"p_rank_{r + 1}"] = probs[:, r]
    return out
