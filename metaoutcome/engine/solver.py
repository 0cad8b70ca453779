"""The one solver: the estimating equations of the iterative tau^2 estimators and their roots.

ML, REML, EB and PM solve ``S(tau^2) = T(tau^2)`` (:func:`_sides`) for every row of a
:class:`~metaoutcome.engine.stack.Stack` at once. metafor uses Fisher scoring (ML, REML, EB),
which fails to converge on a few percent of data sets with very unequal variances, and
``uniroot`` with a loose default tolerance (PM). Here the equation is solved with a bracketing
root finder (Newton's method on the nearly linear ``T/S - 1`` with analytic derivatives and
bisection safeguards, run on all rows at once) after scanning the whole half-line ``[0, inf)``
on a grid: it always converges, to machine precision, and for ML and REML the largest
(restricted) likelihood among the roots found is returned (metafor's ``ll0check`` compares its
answer with ``tau^2 = 0`` only). The Q-profile bounds are found by the same root finder.

Intercept-only rows (``X`` None) use the closed-form sums; rows with moderators the same
quantities through :mod:`metaoutcome.engine.stack`'s projection algebra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .stack import (
    BoolArray,
    FloatArray,
    IntArray,
    Stack,
    _EPS,
    fitted,
    proj,
    row_max_v,
    row_sums,
    scratch,
    sum_pp,
    trace_p,
    xtv,
)

_rs = row_sums
_scratch = scratch
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
    * EB, PM: ``S = Q(t) = sum(w r^2)``, ``T = k - p`` (EB: ``Q k/(k-1) - k = 0``, same root);

    with ``w = 1/(v + t)`` and ``r = y - sum(w y)/sum(w)``.
    """
    if s.X is not None:
        return _sides_general(method, s, t)
    w, r, wr = _scratch(s.v.shape, 3)
    sw = _residuals(s, t, w, r)
    np.multiply(w, r, out=wr)
    if method in ("EB", "PM"):
        return _rs(np.multiply(wr, r, out=r)), (s.k - s.p).astype(float)
    wwrr = _rs(np.multiply(wr, wr, out=wr))
    if method == "ML":
        return wwrr, sw
    return wwrr, sw - _rs(np.multiply(w, w, out=r)) / sw  # REML


def _loglik(method: str, s: Stack, t: FloatArray) -> FloatArray:
    """ML or REML log-likelihood (metafor's ``ll.ML`` / ``ll.REML`` up to a constant)."""
    vt = s.v + t[:, None]
    w = 1.0 / vt
    P = proj(s, w)
    r = s.y - fitted(P, s.y)
    logdet = _rs(np.log(np.where(np.isfinite(vt), vt, 1.0)))
    ll = -0.5 * (logdet + _rs(w * r * r))
    if method == "REML":  # - log det(X'WX) / 2
        ll = ll - 0.5 * (np.log(P.sa) if P.inv is None else -np.linalg.slogdet(P.inv)[1])
    return np.asarray(ll, dtype=float)


def _general(method: str, s: Stack, t: FloatArray, target: FloatArray | None, deriv: bool) -> tuple[FloatArray, ...]:
    """``(S, T[, dS, dT])`` of :func:`_sides` for rows with moderators, through the projection
    algebra (``P y = w r``; ``d y'Py/dt = -y'PPy``, ``d y'PPy/dt = -2 y'PPPy``,
    ``d tr(P)/dt = -tr(PP)``, ``d sum(w)/dt = -sum(w^2)``)."""
    w = 1.0 / (s.v + t[:, None])
    P = proj(s, w)
    r = s.y - fitted(P, s.y)
    wr = w * r
    if method in ("EB", "PM"):
        rhs = (s.k - s.p).astype(float) if target is None else target
        return _rs(wr * r), rhs, -_rs(wr * wr), np.zeros_like(rhs)
    lhs = _rs(wr * wr)
    rhs = P.sa if method == "ML" else trace_p(P)
    if not deriv:
        return lhs, rhs
    assert s.X is not None and P.inv is not None
    c = xtv(s.X, w * wr)  # X'(w^2 r): y'PPPy = sum(w^3 r^2) - c'(X'WX)^{-1}c
    ppp = _rs(wr * wr * w) - (c[:, None, :] @ P.inv @ c[:, :, None])[:, 0, 0]
    return lhs, rhs, -2.0 * ppp, (-_rs(w * w) if method == "ML" else -sum_pp(P))


def _sides_general(method: str, s: Stack, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    lhs, rhs = _general(method, s, t, None, False)[:2]
    return lhs, rhs


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
    if s.X is not None:
        lhs, rhs, dlhs, drhs = _general(method, s, t, target, True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return rhs / lhs - 1.0, (drhs * lhs - rhs * dlhs) / lhs**2
    w, r, wr, tmp = _scratch(s.v.shape, 4)
    sw = _residuals(s, t, w, r)
    np.multiply(w, r, out=wr)
    if method in ("EB", "PM"):
        lhs = _rs(np.multiply(wr, r, out=tmp))
        dlhs = -_rs(np.multiply(wr, wr, out=tmp))
        rhs = (s.k - s.p).astype(float) if target is None else target
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
    if s.X is not None:
        zero = np.zeros(s.k.size)
        q, _, s2, _ = _general("PM", s, zero, None, True)
        w = 1.0 / s.v
        P = proj(s, w)
        return ZeroStats(P.sa, q, -s2, trace_p(P))
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
        lhs0, dlhs0, rhs0 = z.q, -z.s2, (s.k - s.p).astype(float)
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


