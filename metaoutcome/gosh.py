"""GOSH: the model fitted to every subset of the studies (Olkin, Dahabreh & Trikalinos 2012).

:func:`gosh` is metafor's ``gosh.rma`` for models without moderators: the pooled estimate, Q,
I^2, H^2 and tau^2 of all ``2^k - 1`` non-empty subsets (or of a random sample of subsets when
there are more than ``subsets``). Common-effect and DerSimonian-Laird models are computed for
all subsets at once with matrix products (metafor's fast path); the other estimators run
through :func:`metaoutcome.pooling.fit_many`, the code behind :func:`metaoutcome.pool`, on blocks
of subsets in worker threads.

Example
-------
>>> import numpy as np
>>> from metaoutcome import pool
>>> res = pool([0.1, 0.5, 0.3, 0.9, 0.2], [0.02, 0.03, 0.02, 0.05, 0.01], method="DL")
>>> g = gosh(res)
>>> g.exact, len(g.table())
(True, 31)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._display import ReportMixin
from ._parallel import ProgressCallback, block_rows, map_blocks, text_progress
from .engine.estimators import COMMON, dl_from_sums
from .engine.fit import fit_many, q_based_i2_h2
from .engine.stack import masked

__all__ = ["gosh", "GoshResult"]

FloatArray = NDArray[np.float64]
_CHUNK = 65536


@dataclass(frozen=True, eq=False, repr=False)
class GoshResult(ReportMixin):
    """Result of :func:`gosh` (metafor ``gosh.rma``).

    Attributes
    ----------
    incl : ndarray of bool, shape (n_subsets, k)
        Which studies each subset includes (rows ordered by subset size, as metafor).
    k : ndarray of int
        Subset sizes.
    q, i2, h2, tau2, estimate : ndarray
        Q, I^2 (percent), H^2, tau^2 and the pooled estimate per subset.
    exact : bool
        All subsets were fitted (False: a random sample).
    method : str
        The estimator.
    labels : tuple of str
        Study labels (the columns of ``incl``).
    seed : int or None
        Seed of the random sample (None when exact).
    """

    incl: NDArray[np.bool_]
    k: NDArray[np.int64]
    q: FloatArray
    i2: FloatArray
    h2: FloatArray
    tau2: FloatArray
    estimate: FloatArray
    exact: bool
    method: str
    labels: tuple[str, ...]
    seed: int | None

    def table(self, membership: bool = False) -> pd.DataFrame:
        """Tidy table, one row per subset: ``k``, ``q``, ``i2``, ``h2``, ``tau2``, ``estimate``;
        with ``membership=True`` also one boolean column per study (named by its label)."""
        out = pd.DataFrame({"k": self.k, "q": self.q, "i2": self.i2, "h2": self.h2, "tau2": self.tau2,
                            "estimate": self.estimate})  # fmt: skip
        if membership:
            for j, lab in enumerate(self.labels):
                out[lab] = self.incl[:, j]
        return out

    def summary(self) -> pd.DataFrame:
        """Distribution of each statistic over the subsets: ``statistic``, ``mean``, ``min``,
        ``q25``, ``median``, ``q75``, ``max``."""
        rows = []
        for name in ("estimate", "i2", "h2", "tau2", "q"):
            x = getattr(self, name)
            x = x[np.isfinite(x)]
            rows.append({"statistic": name, "mean": x.mean(), "min": x.min(), "q25": np.quantile(x, 0.25),
                         "median": np.median(x), "q75": np.quantile(x, 0.75), "max": x.max()})  # fmt: skip
        return pd.DataFrame(rows)

    def report(self) -> dict[str, Any]:
        kind = "all" if self.exact else f"a random sample (seed {self.seed}) of"
        return {"title": f"GOSH: {self.method} model fitted to {kind} {len(self.k)} subsets of k = {len(self.labels)} studies",
                "lines": [], "table": self.summary(), "notes": ()}  # fmt: skip


def _binom_half_pmf(k: int) -> FloatArray:
    """Binomial(k, 1/2) probabilities of the sizes 1..k (their ratios are all that is used)."""
    from scipy.special import comb

    return np.asarray(comb(k, np.arange(1, k + 1), exact=False), dtype=float) * 0.5**k


def _all_subsets(k: int) -> NDArray[np.bool_]:
    """expand.grid order (first study varies fastest), without the empty set, sorted by size (stable)."""
    idx = np.arange(1, 2**k, dtype=np.int64)
    incl = ((idx[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
    order = np.argsort(incl.sum(axis=1), kind="stable")
    return np.asarray(incl[order])


def _vectorised(y: FloatArray, v: FloatArray, incl: NDArray[np.bool_], dl: bool) -> tuple[FloatArray, ...]:
    """FE / DL for many subsets at once (metafor's fast path in ``.profile.rma.uni``): the sums
    the engine's common-effect fit and DL estimator need (``Q``, ``tr(P)`` with ``w = 1/v``),
    computed for all subsets by matrix products, then :func:`~metaoutcome.engine.estimators.
    dl_from_sums` and :func:`~metaoutcome.engine.fit.q_based_i2_h2`."""
    m = incl.astype(float)
    w = 1.0 / v
    sw = m @ w
    swy = m @ (w * y)
    kk = m.sum(axis=1)
    est = swy / sw
    q = np.where(kk > 1, np.maximum(m @ (w * y * y) - swy**2 / sw, 0.0), 0.0)
    i2, h2 = q_based_i2_h2(q, kk - 1)
    tau2 = np.zeros_like(est)
    if dl:
        with np.errstate(divide="ignore", invalid="ignore"):
            tau2 = np.where(kk > 1, dl_from_sums(q, sw - (m @ (w * w)) / sw, kk - 1), 0.0)
        ws = 1.0 / (v[None, :] + tau2[:, None]) * m
        est = (ws @ y) / ws.sum(axis=1)
    return est, q, i2, h2, tau2


def gosh(
    result: Any,
    *,
    subsets: int = 1_000_000,
    seed: int | None = None,
    progress: bool | ProgressCallback | None = None,
) -> GoshResult:
    """Fit the model to all subsets of the studies (metafor ``gosh.rma``).

    Parameters
    ----------
    result : PoolResult
        An inverse-variance pooled result; its estimator is used for every subset.
    subsets : int, default 1_000_000
        If there are more than this many non-empty subsets, fit this many random ones instead
        (sizes drawn from Binomial(k, 1/2) restricted to >= 1, then the studies uniformly), as
        metafor.
    seed : int, optional
        Seed of numpy's generator for the random subsets.
    progress : bool or callable, optional
        ``True`` prints a text progress line to stderr; a callable receives ``(done, total)``.

    Returns
    -------
    GoshResult
        ``table()`` columns: ``k``, ``q``, ``i2``, ``h2``, ``tau2``, ``estimate`` (and study
        membership with ``membership=True``); ``incl`` holds the subsets.

    Raises
    ------
    ValueError
        For k < 2, ``subsets < 2`` or a result that is not an inverse-variance pooled model.

    Notes
    -----
    Per subset, as metafor: for FE and DL (vectorised) ``Q = sum w (y - ybar_w)^2`` with
    ``w = 1/v``, ``I^2 = max(0, 100 (Q - (k-1))/Q)``, ``H^2 = Q/(k-1)`` (Q-based for DL too, as
    metafor's fast path) and for DL ``tau^2 = max(0, (Q - (k-1))/(sum w - sum w^2/sum w))`` and
    the estimate re-weighted by ``1/(v + tau^2)``. Other estimators: the full model per subset,
    whose I^2/H^2 are the tau^2-based ones. A single-study subset has Q = 0, I^2 = 0, H^2 = 1,
    tau^2 = 0. Rows are ordered by subset size, and within a size in metafor's
    ``expand.grid`` order, so the exact result equals metafor's row by row. Random subsets use
    numpy's generator and need not equal metafor's draws.

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study
    heterogeneity. *Research Synthesis Methods* 3:214-223.

    Examples
    --------
    >>> from metaoutcome import pool
    >>> g = gosh(pool([0.1, 0.5, 0.3], [0.02, 0.03, 0.02], method="FE"))
    >>> g.table()["k"].tolist()
    [1, 1, 1, 2, 2, 2, 3]
    """
    from .results import PoolResult

    if not isinstance(result, PoolResult) or result.model not in ("common", "random"):
        raise ValueError("result must be an inverse-variance PoolResult from pool() (not MH/Peto/GLMM)")
    if int(subsets) < 2:
        raise ValueError(f"subsets={subsets!r} must be >= 2")
    y, v = np.array(result.yi), np.array(result.vi)
    k = y.size
    if k < 2:
        raise ValueError(f"gosh needs k >= 2 studies; got k={k}")
    cb: ProgressCallback | None
    if progress is True:
        cb = text_progress("GOSH subsets")
    else:
        cb = progress or None  # type: ignore[assignment]
    n_tot = 2**k - 1 if k < 63 else math.inf
    exact = n_tot <= subsets
    if exact:
        incl = _all_subsets(k)
    else:
        rng = np.random.default_rng(seed)
        n = int(subsets)
        sizes = np.arange(1, k + 1)
        prob = _binom_half_pmf(k)
        draw = rng.choice(sizes, size=n, p=prob / prob.sum())
        keys = rng.random((n, k))
        ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
        incl = ranks < draw[:, None]
        incl = incl[np.argsort(incl.sum(axis=1), kind="stable")]
    total = incl.shape[0]
    method = result.method
    out = {n: np.empty(total) for n in ("est", "q", "i2", "h2", "tau2")}
    if method in COMMON or method == "DL":
        for start in range(0, total, _CHUNK):
            sl = slice(start, min(total, start + _CHUNK))
            est, q, i2, h2, tau2 = _vectorised(y, v, incl[sl], method == "DL")
            out["est"][sl], out["q"][sl], out["i2"][sl], out["h2"][sl], out["tau2"][sl] = est, q, i2, h2, tau2
            if cb is not None:
                cb(sl.stop, total)
    else:
        def run(start: int, stop: int) -> dict[str, Any]:
            return fit_many(masked(y, v, incl[start:stop]), method, "z", 0.05, profile=False, weights=False)

        parts = map_blocks(run, total, block_rows(total, k), None, cb)
        for name, key in (("est", "estimate"), ("q", "q"), ("i2", "i2"), ("h2", "h2"), ("tau2", "tau2")):
            out[name] = np.concatenate([p[key] for p in parts])
    return GoshResult(incl=incl, k=incl.sum(axis=1).astype(np.int64), q=out["q"], i2=out["i2"], h2=out["h2"],
                      tau2=out["tau2"], estimate=out["est"], exact=exact, method=method, labels=result.labels,
                      seed=None if exact else seed)  # fmt: skip
