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
Here the estimating equation is solved with a bracketing root finder (Anderson-Bjorck
regula falsi with bisection safeguards, run on all meta-analyses at once) after scanning the
whole half-line ``[0, inf)`` on a grid: it always converges, to machine precision, and for ML
and REML the largest (restricted) likelihood among the roots found is returned (metafor's
``ll0check`` compares its answer with ``tau^2 = 0`` only).

References
----------
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics* 30(3):261-293.

Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
*Statistics in Medicine* 26(1):37-52.

Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software* 36(3):1-48.

Anderson N, Bjorck A (1973). A new high order method of regula falsi type for computing a root
of an equation. *BIT* 13:253-264.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

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


def _rs(a: FloatArray) -> FloatArray:
    """Row sums, as a matrix-vector product: with a few dozen columns this is several times
    faster than ``a.sum(axis=1)``, whose reduction loop restarts for every short row."""
    return np.asarray(a @ np.ones(a.shape[1]), dtype=float)


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
    s2 = _rs(a * a)
    return s2 - 2.0 * _rs(a**3) / sa + (s2 / sa) ** 2


def _tr_pvpv(a: FloatArray, v: FloatArray) -> FloatArray:
    sa = _rs(a)
    return _rs(a**2 * v**2) - 2.0 * _rs(a**3 * v**2) / sa + (_rs(a**2 * v) / sa) ** 2


def _sum_pvp(a: FloatArray, v: FloatArray) -> FloatArray:
    sa = _rs(a)
    return _rs(a**2 * v) - 2.0 * _rs(a**3 * v) / sa + _rs(a**2) * _rs(a**2 * v) / sa**2


def typical_variance_many(s: Stack) -> FloatArray:
    """metafor's typical within-study variance ``(k - 1) / tr(P)`` (``w = 1/v``) for every row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s.k - 1) / _trace_p(1.0 / s.v)


# --------------------------------------------------------------------------------------------
# estimating equations of the iterative estimators
# --------------------------------------------------------------------------------------------


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise ``sum(a * b)``."""
    return _rs(a * b)


def _score(method: str, s: Stack, t: FloatArray) -> FloatArray:
    """Estimating function whose root in tau^2 is the estimate; positive = tau^2 too small."""
    w = s.v + t[:, None]
    np.reciprocal(w, out=w)
    sw = _rs(w)
    r = s.y - (_dot(w, s.y) / sw)[:, None]
    wr = w * r
    if method in ("EB", "PM"):  # Q(tau^2) = k - 1 (EB: Q * k/(k-1) - k, same root)
        return _dot(wr, r) - (s.k - 1)
    wwrr = _dot(wr, wr)
    if method == "ML":
        return wwrr - sw
    return wwrr - (sw - _dot(w, w) / sw)  # REML


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


def _score_d(method: str, s: Stack, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`_score` and its derivative in tau^2.

    With ``w = 1/(v + t)``, ``dw/dt = -w^2`` and ``dr/dt = sum(w^2 r)/sum(w)``:
    ``d/dt sum(w^2 r^2) = -2 sum(w^3 r^2) + 2 sum(w^2 r)^2 / sum(w)``,
    ``d/dt sum(w) = -sum(w^2)``, ``d/dt [sum(w^2)/sum(w)] = -2 sum(w^3)/sum(w) + (sum(w^2)/sum(w))^2``
    and ``d/dt Q = -sum(w^2 r^2)``.
    """
    w = s.v + t[:, None]
    np.reciprocal(w, out=w)
    sw = _rs(w)
    r = s.y - (_dot(w, s.y) / sw)[:, None]
    wr = w * r
    wwrr = _dot(wr, wr)
    if method in ("EB", "PM"):
        return _dot(wr, r) - (s.k - 1), -wwrr
    ww = w * w
    sww = _rs(ww)
    d = -2.0 * _dot(ww, wr * r) + 2.0 * _dot(w, wr) ** 2 / sw + sww
    if method == "ML":
        return wwrr - sw, d
    return wwrr - (sw - sww / sw), d - 2.0 * _dot(ww, w) / sw + (sww / sw) ** 2


def _recip_q(s: Stack, t: FloatArray, target: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``target / Q(t) - 1`` and its derivative: same root as ``Q(t) = target``, nearly linear in t."""
    q, dq = _score_d("PM", s, t)
    q = q + (s.k - 1)
    return target / q - 1.0, -target * dq / q**2


def newton_roots(
    fd: Callable[[IntArray, FloatArray], tuple[FloatArray, FloatArray]],
    lo: FloatArray,
    hi: FloatArray,
    flo: FloatArray,
    fhi: FloatArray,
) -> tuple[FloatArray, BoolArray, IntArray]:
    """Roots of ``f`` bracketed by ``[lo, hi]`` (``flo``, ``fhi`` of opposite signs) for all rows at
    once, to machine precision; ``fd(rows, x)`` returns ``f`` and its derivative at ``x``.

    Safeguarded Newton: start at the secant point of the bracket; a Newton step that leaves the
    current bracket is replaced by bisection; every evaluation shrinks the bracket. A row stops when the step is
    below 4 machine epsilons of the iterate (Newton converges quadratically, so the error is
    then far smaller), when ``f = 0``, or when the bracket has shrunk to 2 epsilons. Returns
    ``(root, converged, evaluations)``; rows leave the computation as they converge.
    """
    a, b = lo.astype(float).copy(), hi.astype(float).copy()
    fa, fb = flo.astype(float).copy(), fhi.astype(float).copy()
    n = a.size
    evals = np.zeros(n, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = b - fb * ((b - a) / (fb - fa))
    x = np.where((x > a) & (x < b), x, a + 0.5 * (b - a))
    x = np.where(fb == 0.0, b, np.where(fa == 0.0, a, x))
    act = np.flatnonzero((fa != 0.0) & (fb != 0.0))
    fx = np.zeros(n)
    dx = np.zeros(n)
    if act.size:
        fx[act], dx[act] = fd(act, x[act])
        evals[act] += 1
        left = (fx[act] > 0.0) == (fa[act] > 0.0)
        a[act] = np.where(left, x[act], a[act])
        fa[act] = np.where(left, fx[act], fa[act])
        b[act] = np.where(left, b[act], x[act])
        act = act[fx[act] != 0.0]
    for _ in range(_MAXITER):
        if act.size == 0:
            break
        aa, bb, xx = a[act], b[act], x[act]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = xx - fx[act] / dx[act]
        c = np.where((c > aa) & (c < bb), c, aa + 0.5 * (bb - aa))
        fc, dc = fd(act, c)
        evals[act] += 1
        left = (fc > 0.0) == (fa[act] > 0.0)  # root in [c, b]
        a[act] = np.where(left, c, aa)
        fa[act] = np.where(left, fc, fa[act])
        b[act] = np.where(left, bb, c)
        fx[act], dx[act], x[act] = fc, dc, c
        tol = 4.0 * _EPS * np.abs(c) + _TINY
        stop = (fc == 0.0) | (np.abs(c - xx) <= tol) | (b[act] - a[act] <= tol)
        act = act[~stop]
    conv = np.ones(n, dtype=bool)
    conv[act] = False
    return x, conv, evals


def _solve_iterative(method: str, s: Stack) -> tuple[FloatArray, BoolArray, IntArray]:
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
    g0 = _score(method, s, zero)
    m = s.mask
    kk = s.k.astype(float)
    ybar = _rs(s.y) / kk
    var_y = _rs(np.where(m, (s.y - ybar[:, None]) ** 2, 0.0)) / kk
    vmax = np.max(np.where(m, s.v, -np.inf), axis=1)
    hi = np.maximum(np.maximum(var_y, vmax), 1e-12)
    ghi = _score(method, s, hi)
    evals += 1
    todo = np.flatnonzero(ghi >= 0.0)
    n = 0
    while todo.size:
        hi[todo] *= 2.0
        ghi[todo] = _score(method, s.take(todo), hi[todo])
        evals[todo] += 1
        todo = todo[ghi[todo] >= 0.0]
        n += 1
        if n > 2000:  # pragma: no cover - cannot happen for finite data
            raise RuntimeError("could not bracket the tau^2 estimating equation")

    if method in ("PM", "EB"):
        tau2 = zero.copy()
        conv = np.ones(g, dtype=bool)
        pos = np.flatnonzero(g0 > 0.0)
        if pos.size:
            sub = s.take(pos)
            kq = (sub.k - 1).astype(float)
            root, ok, ev = newton_roots(lambda r, t: _recip_q(sub.take(r), t, kq[r]), zero[pos], hi[pos],
                                        kq / (g0[pos] + kq) - 1.0, kq / (ghi[pos] + kq) - 1.0)  # fmt: skip
            tau2[pos], conv[pos] = root, ok
            evals[pos] += ev
        return tau2, conv, evals
    # ML/REML: scan for every local maximum, polish, keep the best
    grid_c = score_grid()
    sc = np.empty((g, _GRID + 1))
    sc[:, 0] = g0
    for j, c in enumerate(grid_c[:-1], start=1):
        sc[:, j] = _score(method, s, hi * c)
    sc[:, _GRID] = ghi
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
        sub = s.take(br)
        root, ok, ev = newton_roots(lambda r, t: _score_d(method, sub.take(r), t), tgrid[br, bj], tgrid[br, bj + 1],
                                  sc[br, bj], sc[br, bj + 1])  # fmt: skip
        np.logical_and.at(conv, br, ok)
        np.add.at(evals, br, ev)
        cand_r.append(br)
        cand_t.append(root)
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


def estimate_tau2_many(s: Stack, method: str = "REML", *, with_se: bool = True) -> Tau2Many:
    """:func:`estimate_tau2` for every row of a :class:`Stack` (rows need k >= 2)."""
    g = s.y.shape[0]
    k = s.k.astype(float)
    w = 1.0 / s.v
    converged = np.ones(g, dtype=bool)
    iterations = np.zeros(g, dtype=np.int64)
    nan = np.full(g, np.nan)
    se = nan
    if method in ("DL", "HS"):
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
        tau2, converged, iterations = _solve_iterative(method, s)
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
    return float(typical_variance_many(stack(np.zeros_like(v), v))[0])


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
    s: Stack, tau2_hat: FloatArray, level: float = 0.95, tau2_max: float | None = None, q0: FloatArray | None = None
) -> QProfileMany:
    """:func:`q_profile_ci` for every row of a :class:`Stack` (rows need k >= 2).

    ``q0`` is Cochran's Q of each row if already known.
    """
    g = s.y.shape[0]
    alpha = 1.0 - level
    tmax = np.maximum(np.maximum(100.0, 10.0 * tau2_hat), 0.0) if tau2_max is None else np.full(g, float(tau2_max))
    df = s.k - 1
    crit_u = _chi2_by_df(stats.chi2.isf, alpha / 2, df)
    crit_l = _chi2_by_df(stats.chi2.ppf, alpha / 2, df)
    q_min = generalized_q_many(s, np.zeros(g)) if q0 is None else q0
    q_max = generalized_q_many(s, tmax)
    low = np.full(g, np.nan)
    high = np.full(g, np.nan)
    low_sign = np.zeros(g, dtype=np.int64)
    high_sign = np.zeros(g, dtype=np.int64)
    conv = np.ones(g, dtype=bool)

    def roots(rows: IntArray, target: FloatArray, start: FloatArray, q_start: FloatArray) -> FloatArray:
        # Q(t) falls roughly like 1/t, so Newton runs on the nearly linear target/Q(t) - 1
        sub = s.take(rows)
        root, ok, _ = newton_roots(lambda i, t: _recip_q(sub.take(i), t, target[i]), start, tmax[rows],
                                   target / q_start - 1.0, target / q_max[rows] - 1.0)  # fmt: skip
        conv[rows] &= ok
        return root

    top = q_max > crit_u
    low[top] = tmax[top]
    low_sign[top] = 2
    zero_low = ~top & (q_min < crit_u)
    low[zero_low] = 0.0
    rest = np.flatnonzero(~top & ~zero_low)
    if rest.size:
        low[rest] = roots(rest, crit_u[rest], np.zeros(rest.size), q_min[rest])
    empty = q_min < crit_l
    high[empty] = 0.0
    high_sign[empty] = 1
    beyond = ~empty & (q_max > crit_l)
    high[beyond] = tmax[beyond]
    high_sign[beyond] = 2
    inner = np.flatnonzero(~empty & ~beyond)
    if inner.size:  # Q(low) = crit_u > crit_l: the upper bound lies in [low, tmax]
        start = low[inner]
        q_start = np.where(start > 0.0, crit_u[inner], q_min[inner])
        high[inner] = roots(inner, crit_l[inner], start, q_start)
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
