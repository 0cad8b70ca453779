"""Heterogeneity and inconsistency of a network: Q decomposition and node-splitting.

* :func:`decomposition` splits Cochran's Q of the common-effect consistency model into the
  heterogeneity within designs (trials of one set of treatments) and the remainder between
  designs, the design-by-treatment interaction test (Krahn, Binder & König 2013; netmeta's
  ``decomp.design``).
* :func:`node_split` separates, for every comparison informed by both direct and indirect
  evidence, the trials comparing the two treatments from the rest of the network (Dias et al.
  2010): the model gains one parameter that moves the first treatment's arm in the trials that
  include both treatments; its estimate is the difference between direct and indirect evidence.

Where the network has no closed loop (a star), neither is estimable: the between-designs Q has no
degrees of freedom and there is no comparison to split; both say so rather than print a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .._display import ReportMixin
from .data import NetworkData

if TYPE_CHECKING:  # pragma: no cover
    from .model import NetworkResult

__all__ = ["Decomposition", "NodeSplit", "decomposition", "node_split", "direct_estimates"]

FloatArray = NDArray[np.float64]
NOT_ESTIMABLE = "not estimable"


def _split_columns(data: NetworkData, pairs: list[tuple[int, int]]) -> FloatArray:
    """One column per pair (a, b): +1 on contrasts of arm a (-1 where a is the baseline) in the
    trials that include both a and b, 0 elsewhere."""
    arms = [set(a) for a in data.study_arms]
    names = data.treatments
    W = np.zeros((len(data.y), len(pairs)))
    for c, (a, b) in enumerate(pairs):
        both = np.array([names[a] in s and names[b] in s for s in arms])
        rows = both[data.study]
        W[:, c] = rows * ((data.treat == a).astype(float) - (data.base == a).astype(float))
    return W


@dataclass(frozen=True, eq=False, repr=False)
class Decomposition(ReportMixin):
    """Q of the consistency model split into within-design and between-design parts.

    Attributes
    ----------
    q_total, total_df, q_within, within_df, q_between, between_df : float, int
        The three Q statistics and their degrees of freedom; ``q_between`` is NaN (and
        :attr:`between_estimable` False) when ``between_df`` is 0.
    designs : DataFrame
        ``design``, ``n_studies``, ``q``, ``df``, ``pvalue`` of every design with more than one trial.
    """

    q_total: float
    total_df: int
    q_within: float
    within_df: int
    q_between: float
    between_df: int
    designs: pd.DataFrame = field(repr=False)

    @property
    def between_estimable(self) -> bool:
        """Whether the design-by-treatment interaction can be tested (the network has a loop)."""
        return self.between_df > 0

    def table(self) -> pd.DataFrame:
        """``part`` (total, within designs, between designs), ``q``, ``df``, ``pvalue``, ``note``."""
        rows = []
        for part, q, df in (("total", self.q_total, self.total_df), ("within designs", self.q_within, self.within_df),
                            ("between designs", self.q_between, self.between_df)):
            ok = df > 0
            missing = not ok and part != "within designs"  # no replicated design: Q_within = 0 on 0 df
            rows.append(dict(part=part, q=math.nan if missing else (q if ok else 0.0), df=df,
                             pvalue=float(stats.chi2.sf(q, df)) if ok else math.nan,
                             note=NOT_ESTIMABLE if missing else ""))
        return pd.DataFrame(rows)

    def report(self) -> dict[str, Any]:
        notes = () if self.between_estimable else (
            "between designs: not estimable (no closed loop: every comparison is informed by one design only)",)
        return {"title": "Q decomposition (heterogeneity within designs, inconsistency between designs)",
                "lines": [], "table": self.table(), "notes": notes}


def decomposition(result: NetworkResult) -> Decomposition:
    """Decompose Q into within-design heterogeneity and between-design inconsistency.

    Parameters
    ----------
    result : NetworkResult
        A fitted network (the decomposition uses the common-effect model whatever its method).

    Returns
    -------
    Decomposition

    Notes
    -----
    :math:`Q_{total} = Q_{within} + Q_{between}`, where :math:`Q_{within} = \\sum_d \\sum_{s\\in d}
    (y_s - \\hat\\mu_d)^\\top V_s^{-1} (y_s - \\hat\\mu_d)` with :math:`\\hat\\mu_d` the
    common-effect estimate of design :math:`d`, on :math:`\\sum_d (n_d - 1)(a_d - 1)` df.

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": list("abc"), "treat1": ["B", "C", "C"], "treat2": ["A", "A", "B"],
    ...                   "yi": [0.2, 0.5, 0.1], "vi": [0.04, 0.04, 0.04]})
    >>> dec = decomposition(network_meta(d, method="CE"))
    >>> round(dec.q_between, 4), dec.between_df
    (0.3333, 1)
    """
    data = result.data
    designs: dict[tuple[str, ...], list[int]] = {}
    for s, design in enumerate(data.designs):
        designs.setdefault(design, []).append(s)
    q_w, df_w, rows = 0.0, 0, []
    for design, members in designs.items():
        if len(members) < 2:
            continue
        ws, wys, blocks = [], [], []
        for s in members:
            idx = np.flatnonzero(data.study == s)
            w = np.linalg.inv(data.V[np.ix_(idx, idx)])
            ys = data.y[idx]
            ws.append(w)
            wys.append(w @ ys)
            blocks.append((w, ys))
        mu = np.linalg.solve(sum(ws), sum(wys))
        q = float(sum((ys - mu) @ w @ (ys - mu) for w, ys in blocks))
        df = (len(members) - 1) * (len(design) - 1)
        q_w += q
        df_w += df
        rows.append(dict(design=":".join(design), n_studies=len(members), q=q, df=df,
                         pvalue=float(stats.chi2.sf(q, df))))
    df_b = result.q_df - df_w
    q_b = result.q - q_w if df_b > 0 else math.nan
    return Decomposition(result.q, result.q_df, q_w, df_w, q_b, df_b,
                         pd.DataFrame(rows, columns=["design", "n_studies", "q", "df", "pvalue"]))


def _split_fits(result: NetworkResult) -> list[tuple[Any, ...]]:
    """(a, b, n_studies, direct, var_direct, indirect, var_indirect, omega, var_omega) for every mixed pair."""
    from .model import _cho, _cho_inv, design_matrix, heterogeneity_structure

    ev = result.evidence()
    mixed = ev[ev["evidence"] == "mixed"]
    if mixed.empty:
        return []
    data = result.data
    pairs = [(result.treatments.index(a), result.treatments.index(b)) for a, b in zip(mixed["treat1"], mixed["treat2"])]
    X = design_matrix(data)
    sigma = np.asarray(data.V) + result.tau2 * heterogeneity_structure(data)
    Winv = _cho_inv(*_cho(sigma))
    Wsplit = _split_columns(data, pairs)
    y = np.asarray(data.y)
    XtW = X.T @ Winv
    A, Ay = XtW @ X, XtW @ y
    p = X.shape[1]
    out = []
    for c, ((a, b), k) in enumerate(zip(pairs, mixed["n_studies"])):
        w = Wsplit[:, c]
        wW = w @ Winv
        M = np.empty((p + 1, p + 1))
        M[:p, :p], M[:p, p], M[p, :p], M[p, p] = A, XtW @ w, XtW @ w, wW @ w
        cov = np.linalg.inv(M)
        beta = cov @ np.concatenate([Ay, [wW @ y]])
        e = np.zeros(p + 1)
        if a > 0:
            e[a - 1] += 1.0
        if b > 0:
            e[b - 1] -= 1.0
        f = e.copy()
        f[p] = 1.0
        out.append((a, b, int(k), float(f @ beta), float(f @ cov @ f), float(e @ beta), float(e @ cov @ e),
                    float(beta[p]), float(cov[p, p])))
    return out


@dataclass(frozen=True, eq=False, repr=False)
class NodeSplit(ReportMixin):
    """Direct versus indirect evidence for every comparison that has both.

    Attributes
    ----------
    table : DataFrame
        ``treat1``, ``treat2`` (``treat1`` versus ``treat2``), ``n_studies``, ``nma``, ``direct``,
        ``direct_se``, ``indirect``, ``indirect_se``, ``difference`` (direct minus indirect),
        ``difference_se``, ``z``, ``pvalue``, on the analysis scale.
    tau2 : float
        The heterogeneity variance used (the consistency model's, held fixed).
    estimable : bool
        False when no comparison has both kinds of evidence (e.g. a star network).
    """

    table: pd.DataFrame
    tau2: float
    estimable: bool

    def report(self) -> dict[str, Any]:
        notes = () if self.estimable else (
            f"node-splitting: {NOT_ESTIMABLE} (no comparison is informed by both direct and indirect evidence)",)
        return {"title": "Node-splitting (direct vs indirect evidence)", "lines": [("tau^2 (held fixed)", self.tau2)],
                "table": self.table, "notes": notes}


def node_split(result: NetworkResult) -> NodeSplit:
    """Split every comparison with direct and indirect evidence (Dias et al. 2010).

    Parameters
    ----------
    result : NetworkResult
        A fitted network; its tau^2 is held fixed in the split models (as netmeta's ``netsplit``).

    Returns
    -------
    NodeSplit

    Notes
    -----
    For the pair (a, b) the split model adds a parameter :math:`\\omega` to the contrasts of arm a
    in every trial that includes a and b. The indirect estimate is :math:`d_a - d_b` of that model,
    the direct estimate :math:`d_a - d_b + \\omega`, and their difference :math:`\\omega` is tested
    with :math:`z = \\hat\\omega / SE(\\hat\\omega)`. Where only two-arm trials compare a and b, the
    direct estimate is their pooled estimate.

    References
    ----------
    Dias, S., Welton, N. J., Caldwell, D. M., & Ades, A. E. (2010). Checking consistency in mixed
    treatment comparison meta-analysis. *Statistics in Medicine*, 29, 932-944.

    Examples
    --------
    >>> import pandas as pd
    >>> from metaoutcome.network import network_meta
    >>> d = pd.DataFrame({"study": list("abc"), "treat1": ["B", "C", "C"], "treat2": ["A", "A", "B"],
    ...                   "yi": [0.2, 0.5, 0.1], "vi": [0.04, 0.04, 0.04]})
    >>> ns = node_split(network_meta(d, method="CE"))
    >>> ns.table.loc[0, ["direct", "indirect", "difference"]].astype(float).round(4).tolist()
    [-0.2, -0.4, 0.2]
    """
    names = result.treatments
    rows = []
    for a, b, k, de, dv, ie, iv, w, wv in _split_fits(result):
        nma, _ = result.compare(names[a], names[b])
        se_w = math.sqrt(wv)
        rows.append(dict(treat1=names[a], treat2=names[b], n_studies=k, nma=nma, direct=de, direct_se=math.sqrt(dv),
                         indirect=ie, indirect_se=math.sqrt(iv), difference=w, difference_se=se_w, z=w / se_w,
                         pvalue=float(2 * stats.norm.sf(abs(w / se_w)))))
    cols = ["treat1", "treat2", "n_studies", "nma", "direct", "direct_se", "indirect", "indirect_se", "difference",
            "difference_se", "z", "pvalue"]
    return NodeSplit(pd.DataFrame(rows, columns=cols), result.tau2, bool(rows))


def direct_estimates(result: NetworkResult) -> dict[tuple[str, str], tuple[float, float]]:
    """(estimate, SE) of the direct evidence for every directly compared pair, in both orientations.

    The pairwise meta-analysis of the trials that compared the two treatments: each trial's
    contrast of the two arms (from a multi-arm trial, the contrast of those two arms), pooled
    with inverse-variance weights :math:`1/(v_s + \\hat\\tau^2)` using the network's
    :math:`\\hat\\tau^2`. These fill the upper triangle of the league table (as netmeta's
    ``netleague``); node-splitting's direct estimate differs from it only where multi-arm trials
    compare the pair (:func:`node_split` keeps the multi-arm trial's other contrasts in the model).
    """
    data = result.data
    acc: dict[tuple[str, str], list[float]] = {}
    for s, arms in enumerate(data.study_arms):
        idx = np.flatnonzero(data.study == s)
        k = len(arms)
        theta = np.zeros(k)
        theta[1:] = data.y[idx]
        cov = np.zeros((k, k))
        cov[1:, 1:] = data.V[np.ix_(idx, idx)]
        for i in range(k):
            for j in range(k):
                if i == j:
                    continue
                w = 1.0 / (cov[i, i] + cov[j, j] - 2 * cov[i, j] + result.tau2)
                rec = acc.setdefault((arms[i], arms[j]), [0.0, 0.0])
                rec[0] += w
                rec[1] += w * (theta[i] - theta[j])
    return {pair: (wy / w, math.sqrt(1.0 / w)) for pair, (w, wy) in acc.items()}
