"""Between-study heterogeneity: tau^2 estimators, their standard errors and Q-profile intervals.

Everything here is for the intercept-only (no moderators) random-effects model

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

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._checks import check_choice

__all__ = [
    "TAU2_METHODS",
    "Stack",
    "Tau2Fit",
    "Tau2Many",
    "QProfileCI",
    "QProfileMany",
    "stack",
    "stack_groups",
    "estimate_tau2",
    "estimate_tau2_many",
    "generalized_q",
    "generalized_q_many",
    "ZeroStats",
    "zero_stats",
    "newton_roots",
    "row_sums",
    "q_profile_ci",
    "q_profile_ci_many",
    "cochran_q",
    "typical_variance",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: tau^2 estimators, metafor's names.
TAU2_METHODS: tuple[str, ...] = ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

_EPS = float(np.finfo(float).eps)
_TINY = 1e-300
_MAXITER = 500
#: log-spaced points (times the bracket's upper end, from ``_GRID_LOW`` to 1) at which the ML/REML
#: score is scanned for sign changes (neighbouring points a factor 3.6 apart); see
#: :func:`_solve_iterative`. A root below the first point is still found, to machine precision,
#: from the bracket [0, first point]. The scan is a heuristic, as any finite one is: on 40,000
#: random sets of k = 8 with variances spanning four orders of magnitude it picked the same
#: maximum as a 48-point scan every time (a 6-point scan missed the global maximum 10 times).
_GRID = 10
_GRID_LOW = 1e-5
#: power of target/Q in the first Newton step of a Q-profile bound (see q_profile_ci_many)
_QP_FIRST_POWER = 1.5


def score_grid() -> FloatArray:
    """Multipliers of the bracket's upper end at which the ML/REML score is scanned."""
    return np.geomspace(_GRID_LOW, 1.0, _GRID)


# --------------------------------------------------------------------------------------------
# stacks of meta-analyses
# --------------------------------------------------------------------------------------------


class Stack(NamedTuple):
    """``G`` meta-analyses padded to width ``K``.

    Attributes
    ----------
    y : ndarray, shape (G, K)
        Effect sizes; 0 in the padding.
    v : ndarray, shape (G, K)
        Sampling variances; ``+inf`` in the padding (so weights there are exactly 0).
    k : ndarray of int, shape (G,)
        Number of studies in each row.
    """

    y: FloatArray
    v: FloatArray
    k: IntArray

    @property
    def mask(self) -> BoolArray:
        return np.isfinite(self.v)

    def vz(self) -> FloatArray:
        """Variances with 0 in the padding (for sums of ``v`` itself)."""
        return np.where(np.isfinite(self.v), self.v, 0.0)

    def take(self, rows: IntArray | BoolArray) -> Stack:
        return Stack(self.y[rows], self.v[rows], self.k[rows])


def stack(yi: ArrayLike, vi: ArrayLike) -> Stack:
    """A one-row :class:`Stack` from one meta-analysis's ``yi`` and ``vi``."""
    y = np.asarray(yi, dtype=float).reshape(1, -1)
    v = np.asarray(vi, dtype=float).reshape(1, -1)
    return Stack(y, v, np.array([y.shape[1]], dtype=np.int64))


def stack_groups(yi: FloatArray, vi: FloatArray, codes: IntArray, n_groups: int) -> Stack:
    """Pad studies with group codes ``0 .. n_groups - 1`` into a :class:`Stack` (input order kept)."""
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


def masked(y: FloatArray, v: FloatArray, incl: BoolArray) -> Stack:
    """The :class:`Stack` of the subsets ``incl`` (shape (G, K)) of one meta-analysis ``y``, ``v``.

    Each row holds its studies in their original order, packed to the left, and the stack is only
    as wide as the largest subset (GOSH subsets average k/2 studies, so this halves the work).
    """
    k = incl.sum(axis=1).astype(np.int64)
    width = int(k.max()) if k.size else 0
    cols = np.argsort(~incl, axis=1, kind="stable")[:, :width]
    pad = np.arange(width)[None, :] >= k[:, None]
    return Stack(np.where(pad, 0.0, y[cols]), np.where(pad, np.inf, v[cols]), k)


# --------------------------------------------------------------------------------------------
# closed-form pieces of metafor's matrix expressions, row-wise
# --------------------------------------------------------------------------------------------


_ONES: dict[int, FloatArray] = {}


def _rs(a: FloatArray) -> FloatArray:
    """Row sums, as a matrix-vector product: with a few dozen columns this is several times
    faster than ``a.sum(axis=1)``, whose reduction loop restarts for every short row."""
    n = a.shape[1]
    ones = _ONES.get(n)
    if ones is None:  # one read-only vector per width (a race only builds it twice)
        ones = np.ones(n)
        ones.flags.writeable = False
        _ONES[n] = ones
    return np.asarray(a @ ones, dtype=float)


row_sums = _rs


def _wmean(a: FloatArray, y: FloatArray) -> FloatArray:
    return _rs(a * y) / _rs(a)


def generalized_q_many(s: Stack, tau2: FloatArray) -> FloatArray:
    """Generalized Q ``sum w (y - mu_w)^2`` with ``w = 1/(v + tau2)`` for every row."""
    w = 1.0 / (s.v + np.asarray(tau2, dtype=float)[:, None])
    r = s.y - _wmean(w, s.y)[:, None]
    return _rs(w * r * r)


def _trace_p(a: FloatArray) -> FloatArray:
    sa = _rs(a)
    return sa - _rs(a * a) / sa


def _sum_pp(a: FloatArray) -> FloatArray:
    sa = _rs(a)
    aa = a * a
    s2 = _rs(aa)
    return s2 - 2.0 * _rs(aa * a) / sa + (s2 / sa) ** 2  # (a * a * a: a**3 calls pow, 10x slower)


def _tr_pvpv(a: FloatArray, v: FloatArray) -> FloatArray:
    sa = _rs(a)
    return _rs(a**2 * v**2) - 2.0 * _rs(a**3 * v**2) / sa + (_rs(a**2 * v) / sa) ** 2


def _sum_pvp(a: FloatArray, v: FloatArray) -> FloatArray:
    sa = _rs(a)
    return _rs(a**2 * v) - 2.0 * _rs(a**3 * v) / sa + _rs(a**2) * _rs(a**2 * v) / sa**2


def row_max_v(s: Stack) -> FloatArray:
    """The largest sampling variance of each row (the padding left out)."""
    v = s.v if bool((s.k == s.v.shape[1]).all()) else np.where(s.mask, s.v, -np.inf)
    if v.shape[1] > 64:
        return np.asarray(v.max(axis=1), dtype=float)
    out = v[:, 0].copy()
    for j in range(1, v.shape[1]):  # (column by column: 2x faster than max(axis=1) on short rows)
        np.maximum(out, v[:, j], out=out)
    return out


# --------------------------------------------------------------------------------------------
# estimating equations of the iterative estimators
# --------------------------------------------------------------------------------------------


_SCRATCH = threading.local()


def _scratch(shape: tuple[int, ...], n: int) -> list[FloatArray]:
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


def _residuals(s: Stack, t: FloatArray, w: FloatArray, r: FloatArray) -> FloatArray:
    """Fill ``w = 1/(v + t)`` and ``r = y - sum(w y)/sum(w)``; return ``sum(w)``."""
    np.add(s.v, t[:, None], out=w)
    np.divide(1.0, w, out=w)  # (np.reciprocal has no SIMD loop: twice as slow)
    sw = _rs(w)
    np.multiply(w, s.y, out=r)
    np.subtract(s.y, (_rs(r) / sw)[:, None], out=r)
    return sw


def _sides(method: str, s: Stack, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The two sides ``S(t) = T(t)`` of the estimating equation, ``S, T > 0``:

    * ML: ``S = sum(w^2 r^2)``, ``T = sum(w)``;
    * REML: ``S = y'PPy = sum(w^2 r^2)``, ``T = tr(P) = sum(w) - sum(w^2)/sum(w)``;
    * EB, PM: ``S = Q(t) = sum(w r^2)``, ``T = k - 1`` (EB: ``Q k/(k-1) - k = 0``, same root);

    with ``w = 1/(v + t)`` and ``r = y - sum(w y)/sum(w)``.
    """
    w, r, wr = _scratch(s.v.shape, 3)
    sw = _residuals(s, t, w, r)
    np.multiply(w, r, out=wr)
    if method in ("EB", "PM"):
        return _rs(np.multiply(wr, r, out=r)), (s.k - 1).astype(float)
    wwrr = _rs(np.multiply(wr, wr, out=wr))
    if method == "ML":
        return wwrr, sw
    return wwrr, sw - _rs(np.multiply(w, w, out=r)) / sw  # REML


def _loglik(method: str, s: Stack, t: FloatArray) -> FloatArray:
    """ML or REML log-likelihood (metafor's ``ll.ML`` / ``ll.REML`` up to a constant)."""
    vt = s.v + t[:, None]
    w = 1.0 / vt
    sw = _rs(w)
    r = s.y - (_rs(w * s.y) / sw)[:, None]
    logdet = _rs(np.log(np.where(np.isfinite(vt), vt, 1.0)))
    ll = -0.5 * (logdet + _rs(w * r * r))
    if method == "REML":
        ll = ll - 0.5 * np.log(sw)
    return np.asarray(ll, dtype=float)


def _ratio_d(method: str, s: Stack, t: FloatArray, target: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """``h(t) = T(t)/S(t) - 1`` (:func:`_sides`) and its derivative in tau^2.

    ``h`` has the roots of the score ``S - T`` but is nearly linear in tau^2 (exactly linear when
    all ``v`` are equal, where ``S`` falls like ``1/(v + t)`` or ``1/(v + t)^2`` and ``T`` with
    it), so Newton's method on ``h`` converges in a few steps. For EB/PM, ``target`` replaces
    ``T = k - 1`` (the Q-profile bounds solve ``Q(t) = target``).

    With ``dw/dt = -w^2`` and ``dr/dt = sum(w^2 r)/sum(w)``: ``dQ/dt = -sum(w^2 r^2)``,
    ``d/dt sum(w^2 r^2) = -2 sum(w^3 r^2) + 2 sum(w^2 r)^2 / sum(w)``, ``d/dt sum(w) = -sum(w^2)``
    and ``d/dt [sum(w^2)/sum(w)] = -2 sum(w^3)/sum(w) + (sum(w^2)/sum(w))^2``.
    """
    w, r, wr, tmp = _scratch(s.v.shape, 4)
    sw = _residuals(s, t, w, r)
    np.multiply(w, r, out=wr)
    if method in ("EB", "PM"):
        lhs = _rs(np.multiply(wr, r, out=tmp))
        dlhs = -_rs(np.multiply(wr, wr, out=tmp))
        rhs = (s.k - 1).astype(float) if target is None else target
        with np.errstate(divide="ignore", invalid="ignore"):
            return rhs / lhs - 1.0, -rhs * dlhs / lhs**2
    sw2r = _rs(np.multiply(w, wr, out=tmp))  # sum(w^2 r)
    np.multiply(wr, wr, out=r)  # r := w^2 r^2
    lhs = _rs(r)
    sw3r2 = _rs(np.multiply(r, w, out=r))  # sum(w^3 r^2)
    ww = np.multiply(w, w, out=wr)
    sww = _rs(ww)
    dlhs = -2.0 * sw3r2 + 2.0 * sw2r**2 / sw
    if method == "ML":
        rhs, drhs = sw, -sww
    else:  # REML
        rhs, drhs = sw - sww / sw, -sww + 2.0 * _rs(np.multiply(ww, w, out=tmp)) / sw - (sww / sw) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return rhs / lhs - 1.0, (drhs * lhs - rhs * dlhs) / lhs**2


class ZeroStats(NamedTuple):
    """Sums at tau^2 = 0 (``w = 1/v``) that the estimators, Q, its slope and I^2 share."""

    #: ``sum(w)``
    sw: FloatArray
    #: Cochran's Q, ``sum(w r^2)``
    q: FloatArray
    #: ``sum(w^2 r^2)``: minus the slope of the generalized Q at 0, and ML/REML's ``S(0)``
    s2: FloatArray
    #: ``tr(P) = sum(w) - sum(w^2)/sum(w)``: REML's ``T(0)``; ``(k - 1)/tr(P)`` is metafor's typical variance
    trp: FloatArray


def zero_stats(s: Stack) -> ZeroStats:
    """:class:`ZeroStats` of every row, in one pass."""
    w, r, wr = _scratch(s.v.shape, 3)
    sw = _residuals(s, np.zeros(s.k.size), w, r)
    np.multiply(w, r, out=wr)
    q = _rs(np.multiply(wr, r, out=r))
    s2 = _rs(np.multiply(wr, wr, out=wr))
    return ZeroStats(sw, q, s2, sw - _rs(np.multiply(w, w, out=r)) / sw)


class Roots(NamedTuple):
    """What :func:`newton_roots` returns, one value per row."""

    root: FloatArray
    converged: BoolArray
    evaluations: IntArray
    #: the derivative of ``f`` at the last point where it was evaluated (within a few machine
    #: epsilons of the root, or the start), a free Newton start for a nearby equation
    slope: FloatArray


def newton_roots(
    fd: Callable[[IntArray | slice, FloatArray], tuple[FloatArray, FloatArray]],
    lo: FloatArray,
    hi: FloatArray,
    flo: FloatArray,
    fhi: FloatArray,
    dlo: FloatArray | None = None,
) -> Roots:
    """Roots of ``f`` bracketed by ``[lo, hi]`` (``flo``, ``fhi`` of opposite signs) for all rows at
    once, to machine precision; ``fd(rows, x)`` returns ``f`` and its derivative at ``x`` for the
    given rows: ``slice(None)`` while every row is active, then an index array that stays the same
    object until another row finishes (so ``fd`` can cache its subset of the data).

    Safeguarded Newton: start at ``lo`` when its derivative ``dlo`` is given, otherwise at the
    secant point of the bracket; a Newton step that leaves the current bracket is replaced by
    bisection; every evaluation shrinks the bracket. A row stops, without evaluating ``f`` again,
    when the next step is below 4 machine epsilons of the iterate (Newton converges
    quadratically, so the error is then far smaller), when ``f = 0``, or when the bracket has
    shrunk to 4 epsilons. Finished rows leave the computation (the state of the rows still
    running is kept packed, so the cost follows the number of active rows).
    """
    n = lo.size
    root = np.where(fhi == 0.0, hi, lo).astype(float)
    slope = np.full(n, np.nan) if dlo is None else np.asarray(dlo, dtype=float).copy()
    evals = np.zeros(n, dtype=np.int64)
    conv = np.ones(n, dtype=bool)
    idx = np.flatnonzero((flo != 0.0) & (fhi != 0.0))
    if idx.size == 0:
        return Roots(root, conv, evals, slope)
    a, b = lo[idx].astype(float), hi[idx].astype(float)
    pos_a = flo[idx] > 0.0  # the sign of f at the left end of the bracket never changes
    count = 0

    def rows() -> IntArray | slice:
        return slice(None) if idx.size == n else idx

    def record(done: BoolArray, x: FloatArray, dx: FloatArray) -> None:
        gone = idx[done]
        root[gone], slope[gone], evals[gone] = x[done], dx[done], count

    def shrink(new: FloatArray, fnew: FloatArray) -> tuple[FloatArray, FloatArray]:
        left = (fnew > 0.0) == pos_a  # the root is in [new, b]
        return np.where(left, new, a), np.where(left, b, new)

    if dlo is None:
        fa, fb = flo[idx], fhi[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = b - fb * ((b - a) / (fb - fa))
        x = np.where((x > a) & (x < b), x, a + 0.5 * (b - a))
        fx, dx = fd(rows(), x)
        count = 1
        a, b = shrink(x, fx)
        done = fx == 0.0
    else:
        x, fx, dx = a.copy(), flo[idx].astype(float), slope[idx]
        done = np.zeros(idx.size, dtype=bool)
    # Rows that finish stay in the (packed) state arrays, their results ignored, until more than
    # a quarter are finished: then the live rows are packed again (and `fd` sees a new `rows`).
    live = np.ones(idx.size, dtype=bool)
    for _ in range(_MAXITER):
        if done.any():
            record(done, x, dx)
            live &= ~done
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = x - fx / dx
        outside = ~((c > a) & (c < b))
        if outside.any():
            c = np.where(outside, a + 0.5 * (b - a), c)
        tol = 4.0 * _EPS * np.abs(c) + _TINY
        small = (np.abs(c - x) <= tol) & live
        if small.any():
            record(small, c, dx)
            live &= ~small
        n_live = int(np.count_nonzero(live))
        if n_live == 0:
            break
        if 4 * n_live < 3 * live.size:
            idx, a, b, pos_a, c, tol = _packed(live, idx, a, b, pos_a, c, tol)
            live = np.ones(n_live, dtype=bool)
        fc, dc = fd(rows(), c)
        count += 1
        a, b = shrink(c, fc)
        x, fx, dx = c, fc, dc
        done = ((fc == 0.0) | (b - a <= tol)) & live
    if live.any():  # pragma: no cover - a bracketed Newton-bisection always gets there
        stuck = idx[live]
        root[stuck], slope[stuck], evals[stuck], conv[stuck] = x[live], dx[live], count, False
    return Roots(root, conv, evals, slope)


def _packed(keep: BoolArray, *arrays: NDArray[Any]) -> list[Any]:
    """The rows ``keep`` of each array."""
    return [z[keep] for z in arrays]


def _cached_take(s: Stack, rows: IntArray | None = None) -> Callable[[IntArray | slice], Stack]:
    """The ``fd`` side of :func:`newton_roots`: ``i -> s.take(rows[i])`` (``rows`` default: all),
    re-using its last subset while it is given the same index array (as :func:`newton_roots`
    does until it packs its rows); ``slice(None)`` gives ``s.take(rows)``, taken once."""
    if rows is not None and rows.size == s.k.size and np.array_equal(rows, np.arange(rows.size)):
        rows = None
    last: list[Any] = [None, None, None]  # index array, its stack, the stack of all rows

    def take(i: IntArray | slice) -> Stack:
        if isinstance(i, slice):
            if last[2] is None:
                last[2] = s if rows is None else s.take(rows)
            return last[2]  # type: ignore[no-any-return]
        if i is not last[0]:
            last[0], last[1] = i, s.take(i if rows is None else rows[i])
        return last[1]  # type: ignore[no-any-return]

    return take


def _solve_iterative(method: str, s: Stack, z: ZeroStats | None = None) -> tuple[FloatArray, BoolArray, IntArray]:
    """Root of the estimating equation on [0, inf); for ML/REML the best of all roots found.

    The upper end of the bracket starts at ``max(var(y), max(v), 1e-12)`` and doubles until the
    score is negative. EB/PM: ``Q(tau^2)`` decreases, so there is one root (or the boundary 0).
    ML/REML: the score is scanned at 0 and at ``_GRID`` log-spaced points from ``_GRID_LOW`` to 1
    times the upper end; every sign change from + to - is a local maximum and is polished by
    :func:`newton_roots` (all of them, for all rows, at once); ``tau^2 = 0`` is a candidate when
    the score there is <= 0; the candidate with the largest (restricted) likelihood wins.
    """
    g = s.y.shape[0]
    zero = np.zeros(g)
    evals = np.ones(g, dtype=np.int64)
    pm = method in ("PM", "EB")
    z = zero_stats(s) if z is None else z
    if pm:  # Q(0) and its slope: Newton starts at 0
        lhs0, dlhs0, rhs0 = z.q, -z.s2, (s.k - 1).astype(float)
    else:
        lhs0, rhs0 = z.s2, (z.sw if method == "ML" else z.trp)
    g0 = lhs0 - rhs0
    kk = s.k.astype(float)
    ybar = _rs(s.y) / kk
    dev = s.y - ybar[:, None]
    # (the padding's y = 0 adds (K - k) ybar^2 to the sum of squares)
    var_y = (_rs(np.multiply(dev, dev, out=dev)) - (s.y.shape[1] - kk) * ybar**2) / kk
    hi = np.maximum(np.maximum(var_y, row_max_v(s)), 1e-12)
    lhs_hi, rhs_hi = _sides(method, s, hi)
    evals += 1
    todo = np.flatnonzero(lhs_hi >= rhs_hi)
    n = 0
    while todo.size:
        hi[todo] *= 2.0
        lhs_hi[todo], rhs_hi[todo] = _sides(method, s.take(todo), hi[todo])
        evals[todo] += 1
        todo = todo[lhs_hi[todo] >= rhs_hi[todo]]
        n += 1
        if n > 2000:  # pragma: no cover - cannot happen for finite data
            raise RuntimeError("could not bracket the tau^2 estimating equation")

    def solve(rows: IntArray, lo: FloatArray, hi: FloatArray, flo: FloatArray, fhi: FloatArray,
              dlo: FloatArray | None = None) -> Roots:  # fmt: skip
        sub = _cached_take(s, rows)
        out = newton_roots(lambda r, t: _ratio_d(method, sub(r), t), lo, hi, flo, fhi, dlo)
        np.add.at(evals, rows, out.evaluations)
        return out

    with np.errstate(divide="ignore", invalid="ignore"):  # h = T/S - 1 (S = 0 only where no root)
        if pm:
            tau2 = zero.copy()
            conv = np.ones(g, dtype=bool)
            pos = np.flatnonzero(g0 > 0.0)
            if pos.size:
                rq = rhs0[pos]
                out = solve(pos, zero[pos], hi[pos], rq / lhs0[pos] - 1.0, rhs_hi[pos] / lhs_hi[pos] - 1.0,
                            -rq * dlhs0[pos] / lhs0[pos] ** 2)  # fmt: skip
                tau2[pos], conv[pos] = out.root, out.converged
            return tau2, conv, evals
        # ML/REML: scan for every local maximum, polish, keep the best
        grid_c = score_grid()
        lhs = np.empty((g, _GRID + 1))
        rhs = np.empty((g, _GRID + 1))
        lhs[:, 0], rhs[:, 0] = lhs0, rhs0
        for j, c in enumerate(grid_c[:-1], start=1):
            lhs[:, j], rhs[:, j] = _sides(method, s, hi * c)
        lhs[:, _GRID], rhs[:, _GRID] = lhs_hi, rhs_hi
        sc = lhs - rhs
        evals += _GRID - 1
        tgrid = np.concatenate([zero[:, None], hi[:, None] * grid_c[None, :]], axis=1)
        tgrid[:, _GRID] = hi
        cross_r, cross_j = np.nonzero((sc[:, :-1] > 0.0) & (sc[:, 1:] <= 0.0))
        # candidates: (row, tau2) pairs, in increasing tau2 within a row
        cand_r = [np.flatnonzero(g0 <= 0.0)]
        cand_t = [np.zeros(cand_r[0].size)]
        exact = sc[cross_r, cross_j + 1] == 0.0
        cand_r.append(cross_r[exact])
        cand_t.append(tgrid[cross_r[exact], cross_j[exact] + 1])
        br, bj = cross_r[~exact], cross_j[~exact]
        conv = np.ones(g, dtype=bool)
        if br.size:
            out = solve(br, tgrid[br, bj], tgrid[br, bj + 1], rhs[br, bj] / lhs[br, bj] - 1.0,
                        rhs[br, bj + 1] / lhs[br, bj + 1] - 1.0)  # fmt: skip
            np.logical_and.at(conv, br, out.converged)
            cand_r.append(br)
            cand_t.append(out.root)
    rows = np.concatenate(cand_r)
    ts = np.concatenate(cand_t)
    counts = np.bincount(rows, minlength=g)
    tau2 = np.full(g, np.nan)
    one = counts == 1
    if one.any():
        sel = one[rows]
        tau2[rows[sel]] = ts[sel]
    many = np.flatnonzero(counts > 1)
    if many.size:  # several local maxima: compare likelihoods (rare)
        sel = np.flatnonzero(counts[rows] > 1)
        ll = _loglik(method, s.take(rows[sel]), ts[sel])
        order = np.lexsort((ts[sel], rows[sel]))  # by row, then tau2 (first max wins ties)
        r_sorted, t_sorted, ll_sorted = rows[sel][order], ts[sel][order], ll[order]
        for row in many:
            idx = np.flatnonzero(r_sorted == row)
            tau2[row] = t_sorted[idx[int(np.argmax(ll_sorted[idx]))]]
    conv &= np.isfinite(tau2)
    return tau2, conv, evals


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tau2Fit:
    """A tau^2 estimate.

    Attributes
    ----------
    method : str
        Estimator name (metafor's).
    tau2 : float
        The estimate (>= 0).
    se : float
        Its standard error, metafor's ``se.tau2`` for the estimator.
    converged : bool
        Whether the iterative solver met its tolerance (always True for closed forms).
    iterations : int
        Evaluations of the estimating equation used by the solver (0 for closed forms).
    """

    method: str
    tau2: float
    se: float
    converged: bool
    iterations: int


class Tau2Many(NamedTuple):
    """tau^2 estimates of every row of a :class:`Stack` (fields as :class:`Tau2Fit`)."""

    tau2: FloatArray
    se: FloatArray
    converged: BoolArray
    iterations: IntArray


def estimate_tau2_many(
    s: Stack, method: str = "REML", *, with_se: bool = True, zero: ZeroStats | None = None
) -> Tau2Many:
    """:func:`estimate_tau2` for every row of a :class:`Stack` (rows need k >= 2); ``zero`` is
    :func:`zero_stats` of ``s`` if already known."""
    g = s.y.shape[0]
    k = s.k.astype(float)
    converged = np.ones(g, dtype=bool)
    iterations = np.zeros(g, dtype=np.int64)
    nan = np.full(g, np.nan)
    se = nan
    if method in ("DL", "HS"):
        w = 1.0 / s.v
        q = generalized_q_many(s, np.zeros(g))
        trp = _trace_p(w)
        sw = _rs(w)
        tau2 = np.maximum(0.0, (q - (k - 1)) / trp) if method == "DL" else np.maximum(0.0, (q - k) / sw)
        if with_se:
            se = np.sqrt(2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * _sum_pp(w)) / (trp if method == "DL" else sw)
    elif method == "HE":
        m = s.mask
        vz = s.vz()
        rss = _rs(np.where(m, (s.y - (_rs(s.y) / k)[:, None]) ** 2, 0.0))
        trpv = _rs(vz) * (1 - 1 / k)
        tau2 = np.maximum(0.0, (rss - trpv) / (k - 1))
        if with_se:
            se = np.sqrt(2 * _tr_pvpv(m.astype(float), vz) + 4 * tau2 * trpv + 2 * tau2**2 * (k - 1)) / (k - 1)
    elif method == "SJ":
        m = s.mask
        tau2_0 = _rs(np.where(m, (s.y - (_rs(s.y) / k)[:, None]) ** 2, 0.0)) / k
        a = 1.0 / (s.v + tau2_0[:, None])
        r = s.y - _wmean(a, s.y)[:, None]
        tau2 = np.maximum(0.0, tau2_0 * _rs(a * r * r) / (k - 1))
        if with_se:
            vz = s.vz()
            se = np.sqrt(tau2_0**2 / (k - 1) ** 2
                         * (2 * _tr_pvpv(a, vz) + 4 * tau2 * _sum_pvp(a, vz) + 2 * tau2**2 * _sum_pp(a)))  # fmt: skip
    else:
        tau2, converged, iterations = _solve_iterative(method, s, zero)
        tau2 = np.maximum(0.0, tau2)
        if with_se:
            ww = 1.0 / (s.v + tau2[:, None])
            if method == "ML":
                se = np.sqrt(2.0 / _rs(ww**2))
            elif method == "REML":
                se = np.sqrt(2.0 / _sum_pp(ww))
            else:  # EB, PM
                se = np.sqrt(2.0 * k**2 / (k - 1)) / _rs(ww)
    return Tau2Many(np.asarray(tau2, dtype=float), np.asarray(se, dtype=float), converged, iterations)


def estimate_tau2(yi: ArrayLike, vi: ArrayLike, method: str = "REML") -> Tau2Fit:
    """Estimate tau^2 with one of metafor's estimators and its standard error.

    Parameters
    ----------
    yi : array-like
        Effect sizes (k >= 2), on the analysis scale.
    vi : array-like
        Their sampling variances (> 0).
    method : {"DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}, default "REML"
        Estimator.

    Returns
    -------
    Tau2Fit
        ``tau2`` (truncated at 0 where the estimator can go negative), ``se`` (metafor's
        ``se.tau2``), ``converged`` and ``iterations``.

    Notes
    -----
    With ``w_i = 1/v_i``, ``W = sum w_i``, ``Q`` Cochran's Q and ``P`` as in the module notes
    (``p = 1``):

    * DL: ``tau2 = max(0, (Q - (k-1)) / tr(P))``;
      ``se = sqrt(2(k-1) + 4 tau2 tr(P) + 2 tau2^2 sum(P*P)) / tr(P)``.
    * HS: ``tau2 = max(0, (Q - k) / W)``; se as DL with ``W`` in place of ``tr(P)``.
    * HE: ``tau2 = max(0, (RSS_ols - sum(v)(1 - 1/k)) / (k-1))``; with ``P`` the unweighted
      projection, ``se = sqrt(2 tr(PVPV) + 4 tau2 tr(PV) + 2 tau2^2 (k-1)) / (k-1)``.
    * SJ: ``tau2_0 = mean((y - ybar)^2)``, ``tau2 = tau2_0 Q_a / (k-1)`` with weights
      ``a = 1/(v + tau2_0)``; ``se = tau2_0 sqrt(2 tr(PVPV) + 4 tau2 sum(PV*P) + 2 tau2^2
      sum(P*P)) / (k-1)`` with ``P`` built from ``a``.
    * ML: root of ``sum w^2 (y-mu)^2 = sum w`` (``w = 1/(v + tau2)``); ``se = sqrt(2/sum w^2)``.
    * REML: root of ``y'PPy = tr(P)``; ``se = sqrt(2 / sum(P*P))``.
    * PM and EB: root of the generalized ``Q(tau2) = k - 1``;
      ``se = sqrt(2 k^2 / (k-1)) / sum w``.

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. *Controlled Clinical
    Trials* 7:177-188.

    Hunter JE, Schmidt FL (2004). *Methods of Meta-Analysis*, 2nd ed. Sage.

    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis.
    *Journal of the Royal Statistical Society C* 54:367-384.

    Paule RC, Mandel J (1982). Consensus values and weighting factors. *Journal of Research of
    the National Bureau of Standards* 87:377-385.

    Morris CN (1983). Parametric empirical Bayes inference. *JASA* 78:47-55.

    Examples
    --------
    >>> import numpy as np
    >>> estimate_tau2(np.array([0.1, 0.1, 0.1]), np.array([0.1, 0.2, 0.3]), "REML").tau2
    0.0
    """
    method = check_choice("method", method, TAU2_METHODS)
    s = stack(yi, vi)
    if s.k[0] < 2:
        raise ValueError(f"estimate_tau2 needs k >= 2 studies; got k={s.k[0]}")
    fit = estimate_tau2_many(s, method)
    return Tau2Fit(method=method, tau2=float(fit.tau2[0]), se=float(fit.se[0]), converged=bool(fit.converged[0]),
                   iterations=int(fit.iterations[0]))  # fmt: skip


def generalized_q(tau2: float, yi: ArrayLike, vi: ArrayLike) -> float:
    """Generalized Q statistic ``sum w_i (y_i - mu_w)^2`` with ``w_i = 1/(v_i + tau2)``.

    metafor's ``.QE.func``; at ``tau2 = 0`` it is Cochran's Q.
    """
    return float(generalized_q_many(stack(yi, vi), np.array([float(tau2)]))[0])


def cochran_q(yi: ArrayLike, vi: ArrayLike) -> float:
    """Cochran's Q, truncated at 0 against rounding (metafor ``max(0, Y'PY)``)."""
    return max(0.0, generalized_q(0.0, yi, vi))


def typical_variance(vi: ArrayLike) -> float:
    """metafor's "typical" within-study variance ``(k - 1) / tr(P)`` with ``P`` from ``w = 1/v``.

    It enters ``I^2 = 100 tau^2 / (vt + tau^2)`` and ``H^2 = tau^2 / vt + 1``
    (Higgins & Thompson 2002, eq. 9).
    """
    v = np.asarray(vi, dtype=float)
    z = zero_stats(stack(np.zeros_like(v), v))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((v.size - 1) / z.trp[0])


@dataclass(frozen=True)
class QProfileCI:
    """Q-profile confidence interval for tau^2 (metafor ``confint(res, type="QP")``).

    Attributes
    ----------
    low, high : float
        Bounds for tau^2.
    low_sign, high_sign : str
        ``""`` for an exact bound; ``"<"`` or ``">"`` when the bound is the edge of the search
        interval ``[0, tau2_max]`` (metafor prints e.g. ``>100.0000``).
    empty : bool
        True when the interval is the empty set: even ``tau^2 = 0`` gives a generalized Q below
        the lower chi-square quantile. Both bounds are then 0, as in metafor (``ci.null``).
    tau2_max : float
        Upper end of the search interval.
    """

    low: float
    high: float
    low_sign: str
    high_sign: str
    empty: bool
    tau2_max: float


class QProfileMany(NamedTuple):
    """Q-profile intervals of every row; signs are coded 0 ``""``, 1 ``"<"``, 2 ``">"``."""

    low: FloatArray
    high: FloatArray
    low_sign: IntArray
    high_sign: IntArray
    empty: BoolArray
    tau2_max: FloatArray
    converged: BoolArray


SIGNS: tuple[str, str, str] = ("", "<", ">")


def _chi2_by_df(fn: Callable[..., FloatArray], p: float, df: IntArray) -> FloatArray:
    """A chi-square quantile per row, computed once per distinct df."""
    u, inv = np.unique(df, return_inverse=True)
    return np.asarray(fn(p, u), dtype=float)[inv]


def q_profile_ci_many(
    s: Stack,
    tau2_hat: FloatArray,
    level: float = 0.95,
    tau2_max: float | None = None,
    q0: tuple[FloatArray, FloatArray] | None = None,
) -> QProfileMany:
    """:func:`q_profile_ci` for every row of a :class:`Stack` (rows need k >= 2).

    ``q0`` is ``(Q(0), dQ/dtau^2 at 0)`` of each row (``q`` and ``-s2`` of :func:`zero_stats`)
    if already known.
    """
    g = s.y.shape[0]
    alpha = 1.0 - level
    tmax = np.maximum(np.maximum(100.0, 10.0 * tau2_hat), 0.0) if tau2_max is None else np.full(g, float(tau2_max))
    df = s.k - 1
    crit_u = _chi2_by_df(stats.chi2.isf, alpha / 2, df)
    crit_l = _chi2_by_df(stats.chi2.ppf, alpha / 2, df)
    if q0 is None:
        z = zero_stats(s)
        q0 = (z.q, -z.s2)
    q_min, dq_min = q0
    # Q(tmax) decides whether a bound lies beyond the search limit. Each weight falls by at most
    # the factor vmax/(vmax + t), so Q(t) <= Q(0) vmax/(vmax + t) (Q is a minimum over mu of a
    # weighted sum of squares): where that is below the lower quantile, neither bound is beyond
    # the limit and Q(tmax) is not needed (with a Newton start, only its sign is used).
    vmax = row_max_v(s)
    q_max = q_min * vmax / (vmax + tmax)
    need = np.flatnonzero(~(q_max < crit_l * (1.0 - 1e-9)))
    if need.size:
        q_max[need] = generalized_q_many(s.take(need), tmax[need])
    low = np.full(g, np.nan)
    high = np.full(g, np.nan)
    low_sign = np.zeros(g, dtype=np.int64)
    high_sign = np.zeros(g, dtype=np.int64)
    conv = np.ones(g, dtype=bool)

    def roots(rows: IntArray, target: FloatArray, start: FloatArray, q_start: FloatArray, dq_start: FloatArray) -> Roots:
        # Q(t) falls roughly like 1/t, so Newton runs on the nearly linear target/Q(t) - 1, from
        # `start`, where Q and its slope are known. 1/Q is concave (the weights of the small
        # variances fall fastest), so a Newton step from the left falls short; the first step is
        # taken on (target/Q)^1.5 - 1 instead, which bends the other way (on the benchmark data
        # this halves the first step's error and saves about one evaluation per bound).
        sub = _cached_take(s, rows)
        ratio = target / q_start
        f0 = ratio - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (ratio**_QP_FIRST_POWER - 1.0) / (_QP_FIRST_POWER * ratio**_QP_FIRST_POWER * dq_start / q_start)
            first_slope = np.where(np.isfinite(step) & (step != 0.0), -f0 / step, -target * dq_start / q_start**2)
        out = newton_roots(lambda i, t: _ratio_d("PM", sub(i), t, target[i]), start, tmax[rows],
                           f0, target / q_max[rows] - 1.0, first_slope)  # fmt: skip
        conv[rows] &= out.converged
        return out

    top = q_max > crit_u
    low[top] = tmax[top]
    low_sign[top] = 2
    zero_low = ~top & (q_min < crit_u)
    low[zero_low] = 0.0
    # Q and its slope at the lower bound (a Newton start for the upper bound)
    q_low, dq_low = q_min.copy(), dq_min.copy()
    rest = np.flatnonzero(~top & ~zero_low)
    if rest.size:
        out = roots(rest, crit_u[rest], np.zeros(rest.size), q_min[rest], dq_min[rest])
        low[rest] = out.root
        # at the root Q = crit_u, and the slope of crit_u/Q - 1 is -dQ/crit_u
        q_low[rest] = crit_u[rest]
        dq_low[rest] = np.where(out.evaluations > 0, -out.slope * crit_u[rest], dq_min[rest])
    empty = q_min < crit_l
    high[empty] = 0.0
    high_sign[empty] = 1
    beyond = ~empty & (q_max > crit_l)
    high[beyond] = tmax[beyond]
    high_sign[beyond] = 2
    inner = np.flatnonzero(~empty & ~beyond)
    if inner.size:  # Q(low) = crit_u > crit_l: the upper bound lies in [low, tmax]
        high[inner] = roots(inner, crit_l[inner], low[inner], q_low[inner], dq_low[inner]).root
    low[empty] = 0.0
    low_sign[empty] = 1
    high[top] = tmax[top]
    high_sign[top] = 2
    return QProfileMany(low, high, low_sign, high_sign, empty, tmax, conv)


def q_profile_ci(
    yi: ArrayLike,
    vi: ArrayLike,
    tau2_hat: float,
    level: float = 0.95,
    tau2_max: float | None = None,
) -> QProfileCI:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's ``confint``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (k >= 2).
    tau2_hat : float
        The model's tau^2 estimate; it sets metafor's default search limit.
    level : float, default 0.95
        Confidence level as a fraction.
    tau2_max : float, optional
        Upper end of the search interval; default ``max(100, 10 * tau2_hat)`` as metafor.

    Returns
    -------
    QProfileCI

    Notes
    -----
    The bounds solve ``Q(tau2) = chi2_{k-1, 1-alpha/2}`` (lower bound) and
    ``Q(tau2) = chi2_{k-1, alpha/2}`` (upper bound), where ``Q(tau2)`` is the generalized Q
    statistic, decreasing in tau2. Where ``Q(0)`` is already below a quantile the bound is 0;
    if ``Q(0)`` is below the lower quantile the interval is empty and both bounds are reported
    as 0 (metafor's ``ci.null``). A bound that lies beyond ``tau2_max`` is reported as
    ``tau2_max`` with sign ``">"``, exactly as metafor does.
    """
    ci = q_profile_ci_many(stack(yi, vi), np.array([float(tau2_hat)]), level, tau2_max)
    return QProfileCI(low=float(ci.low[0]), high=float(ci.high[0]), low_sign=SIGNS[ci.low_sign[0]],
                      high_sign=SIGNS[ci.high_sign[0]], empty=bool(ci.empty[0]), tau2_max=float(ci.tau2_max[0]))  # fmt: skip
