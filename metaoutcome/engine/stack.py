"""Stacks of models: ``G`` meta-analyses padded to a common width, and the projection algebra on them.

A model is metafor's ``rma.uni(yi, vi, mods = X)``: ``y = X b + u + e`` with ``u ~ N(0, tau^2)``
and ``e ~ N(0, v)``. For a weight vector ``a`` metafor builds the ``k x k`` projection
``P_a = A - A X (X'AX)^{-1} X'A`` (``A = diag(a)``). Everything the estimators need is a sum over
the studies plus a trace of ``p x p`` matrices ``G(d) = (X'AX)^{-1} X' diag(d) X``:

* ``P_a y = a r`` with ``r = y - X b_a`` (``b_a`` the weighted least-squares fit), so
  ``y'P y = sum(a r^2)`` and ``y'PPy = sum(a^2 r^2)``;
* ``tr(P) = sum(a) - tr G(a^2)``;
* ``sum(P * P) = tr(PP) = sum(a^2) - 2 tr G(a^3) + tr(G(a^2)^2)``;
* ``tr(PVPV) = sum(a^2 v^2) - 2 tr G(a^3 v^2) + tr(G(a^2 v)^2)``;
* ``sum(PV * P) = tr(PVP) = sum(a^2 v) - 2 tr G(a^3 v) + tr(G(a^2 v) G(a^2))``.

The intercept-only model (``X`` a column of ones, ``p = 1``) is the stack without ``X``: there
``G(d) = sum(d) / sum(a)`` is a number and every formula above becomes a sum (the fast path, the
same algebra; ``tests/test_engine.py`` checks it against the general path with ``X = 1``).

Padding: ``y`` is 0, ``v`` is ``+inf`` and ``X`` is 0 in the padding, so the weight
``1/(v + tau^2)`` of a padded cell is exactly 0 and every sum over a row is the sum over that
model's studies.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_EPS = float(np.finfo(float).eps)


class Stack(NamedTuple):
    """``G`` models padded to width ``K``.

    Attributes
    ----------
    y : ndarray, shape (G, K)
        Effect sizes; 0 in the padding.
    v : ndarray, shape (G, K)
        Sampling variances; ``+inf`` in the padding (so weights there are exactly 0).
    k : ndarray of int, shape (G,)
        Number of studies in each row.
    X : ndarray, shape (G, K, p), optional
        Design matrices (0 in the padding); ``None`` for the intercept-only model.
    """

    y: FloatArray
    v: FloatArray
    k: IntArray
    X: FloatArray | None = None

    @property
    def mask(self) -> BoolArray:
        return np.isfinite(self.v)

    @property
    def p(self) -> int:
        """Number of coefficients of each row's model."""
        return 1 if self.X is None else int(self.X.shape[2])

    def vz(self) -> FloatArray:
        """Variances with 0 in the padding (for sums of ``v`` itself)."""
        return np.where(np.isfinite(self.v), self.v, 0.0)

    def take(self, rows: IntArray | BoolArray) -> Stack:
        return Stack(self.y[rows], self.v[rows], self.k[rows], None if self.X is None else self.X[rows])


def stack(yi: ArrayLike, vi: ArrayLike, X: ArrayLike | None = None) -> Stack:
    """A one-row :class:`Stack` from one model's ``yi``, ``vi`` and design ``X`` (k x p; None: intercept only)."""
    y = np.asarray(yi, dtype=float).reshape(1, -1)
    v = np.asarray(vi, dtype=float).reshape(1, -1)
    Xs = None if X is None else np.asarray(X, dtype=float).reshape(1, y.shape[1], -1)
    return Stack(y, v, np.array([y.shape[1]], dtype=np.int64), Xs)


def stack_groups(yi: FloatArray, vi: FloatArray, codes: IntArray, n_groups: int) -> Stack:
    """Pad studies with group codes 0 to ``n_groups - 1`` into a :class:`Stack` (input order kept)."""
    counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
    width = int(counts.max()) if counts.size else 0
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(codes.size) - np.repeat(starts, counts)
    rows = codes[order]
    y = np.zeros((n_groups, width))
    v = np.full((n_groups, width), np.inf)
    y[rows, pos] = yi[order]
    v[rows, pos] = vi[order]
    return Stack(y, v, counts)


def masked(y: FloatArray, v: FloatArray, incl: BoolArray, X: FloatArray | None = None) -> Stack:
    """The :class:`Stack` of the subsets ``incl`` (shape (G, K)) of one model ``y``, ``v``, ``X``.

    Each row holds its studies in their original order, packed to the left, and the stack is only
    as wide as the largest subset (GOSH subsets average k/2 studies, so this halves the work).
    """
    k = incl.sum(axis=1).astype(np.int64)
    width = int(k.max()) if k.size else 0
    cols = np.argsort(~incl, axis=1, kind="stable")[:, :width]
    pad = np.arange(width)[None, :] >= k[:, None]
    Xs = None if X is None else np.where(pad[:, :, None], 0.0, X[cols])
    return Stack(np.where(pad, 0.0, y[cols]), np.where(pad, np.inf, v[cols]), k, Xs)


# --------------------------------------------------------------------------------------------
# row sums and scratch space
# --------------------------------------------------------------------------------------------


_ONES: dict[int, FloatArray] = {}


def row_sums(a: FloatArray) -> FloatArray:
    """Row sums, as a matrix-vector product: with a few dozen columns this is several times
    faster than ``a.sum(axis=1)``, whose reduction loop restarts for every short row."""
    n = a.shape[1]
    ones = _ONES.get(n)
    if ones is None:  # one read-only vector per width (a race only builds it twice)
        ones = np.ones(n)
        ones.flags.writeable = False
        _ONES[n] = ones
    return np.asarray(a @ ones, dtype=float)


def row_max_v(s: Stack) -> FloatArray:
    """The largest sampling variance of each row (the padding left out)."""
    v = s.v if bool((s.k == s.v.shape[1]).all()) else np.where(s.mask, s.v, -np.inf)
    if v.shape[1] > 64:
        return np.asarray(v.max(axis=1), dtype=float)
    out = v[:, 0].copy()
    for j in range(1, v.shape[1]):  # (column by column: 2x faster than max(axis=1) on short rows)
        np.maximum(out, v[:, j], out=out)
    return out


_SCRATCH = threading.local()


def scratch(shape: tuple[int, ...], n: int) -> list[FloatArray]:
    """``n`` work arrays of ``shape``, views into storage this thread keeps and re-uses.

    The solvers evaluate the same expressions on arrays of the same size many times; writing
    into re-used arrays instead of fresh temporaries saves the allocation, the page faults and
    the cache misses that come with them. Callers must not return these views.
    """
    size = int(np.prod(shape))
    store: FloatArray | None = getattr(_SCRATCH, "store", None)
    if store is None or store.shape[0] < n or store.shape[1] < size:
        old = (0, 0) if store is None else store.shape
        store = np.empty((max(n, old[0]), max(size, old[1])))
        _SCRATCH.store = store
    return [store[i, :size].reshape(shape) for i in range(n)]


# --------------------------------------------------------------------------------------------
# the projection P_a, for p = 1 (sums) and p > 1 (batched p x p solves)
# --------------------------------------------------------------------------------------------


class Proj(NamedTuple):
    """The weighted least-squares fit of every row of a stack with weights ``a``."""

    X: FloatArray | None
    a: FloatArray
    #: ``sum(a)`` of each row
    sa: FloatArray
    #: ``(X'AX)^{-1}`` of each row (G, p, p); None for the intercept-only model
    inv: FloatArray | None


def xdx(X: FloatArray, d: FloatArray) -> FloatArray:
    """``X' diag(d) X`` of every row, shape (G, p, p) (a batched matrix product: several times
    faster than the equivalent three-operand einsum on large stacks)."""
    return np.asarray((np.swapaxes(X, 1, 2) * d[:, None, :]) @ X, dtype=float)


def xtv(X: FloatArray, d: FloatArray) -> FloatArray:
    """``X' d`` of every row, shape (G, p)."""
    return np.asarray((np.swapaxes(X, 1, 2) @ d[:, :, None])[:, :, 0], dtype=float)


def proj(s: Stack, a: FloatArray) -> Proj:
    """:class:`Proj` of ``s`` with weights ``a`` (0 in the padding)."""
    sa = row_sums(a)
    if s.X is None:
        return Proj(None, a, sa, None)
    return Proj(s.X, a, sa, np.asarray(np.linalg.inv(xdx(s.X, a)), dtype=float))


def gmat(P: Proj, d: FloatArray) -> FloatArray:
    """``G(d) = (X'AX)^{-1} X' diag(d) X`` of each row, shape (G, p, p)."""
    if P.X is None:
        return (row_sums(d) / P.sa)[:, None, None]
    assert P.inv is not None
    return np.asarray(P.inv @ xdx(P.X, d), dtype=float)


def _tr(m: FloatArray) -> FloatArray:
    return np.asarray(np.trace(m, axis1=1, axis2=2), dtype=float)


def _tr2(m1: FloatArray, m2: FloatArray) -> FloatArray:
    """``tr(m1 m2)`` of each row."""
    return np.asarray(np.einsum("gij,gji->g", m1, m2), dtype=float)


def fitted(P: Proj, y: FloatArray) -> FloatArray:
    """``X b_a``: the weighted least-squares fitted values of each row (shape (G, 1) when p = 1)."""
    if P.X is None:
        return (row_sums(P.a * y) / P.sa)[:, None]
    assert P.inv is not None
    b = P.inv @ xtv(P.X, P.a * y)[:, :, None]
    return np.asarray((P.X @ b)[:, :, 0], dtype=float)


def trace_p(P: Proj) -> FloatArray:
    """``tr(P)``."""
    return P.sa - _tr(gmat(P, P.a * P.a))


def sum_pp(P: Proj) -> FloatArray:
    """``sum(P * P) = tr(PP)``."""
    aa = P.a * P.a
    g2 = gmat(P, aa)
    return row_sums(aa) - 2.0 * _tr(gmat(P, aa * P.a)) + _tr2(g2, g2)


def tr_pvpv(P: Proj, v: FloatArray) -> FloatArray:
    """``tr(P V P V)`` (``v`` with 0 in the padding)."""
    aav = P.a * P.a * v
    g = gmat(P, aav)
    return row_sums(aav * v) - 2.0 * _tr(gmat(P, aav * v * P.a)) + _tr2(g, g)


def sum_pvp(P: Proj, v: FloatArray) -> FloatArray:
    """``sum(PV * P) = tr(P V P)`` (``v`` with 0 in the padding)."""
    aa = P.a * P.a
    return row_sums(aa * v) - 2.0 * _tr(gmat(P, aa * P.a * v)) + _tr2(gmat(P, aa * v), gmat(P, aa))


def generalized_q_many(s: Stack, tau2: FloatArray) -> FloatArray:
    """Generalized Q ``sum w (y - X b_w)^2`` with ``w = 1/(v + tau2)`` for every row."""
    w = 1.0 / (s.v + np.asarray(tau2, dtype=float)[:, None])
    r = s.y - fitted(proj(s, w), s.y)
    return row_sums(w * r * r)


