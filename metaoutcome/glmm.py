"""Binomial-normal GLMM for single proportions (metafor ``rma.glmm(measure="PLO")``).

The random-intercept logistic model

.. math:: x_i \\sim \\mathrm{Bin}(n_i, \\mathrm{expit}(\\beta + u_i)),\\qquad u_i \\sim N(0, \\tau^2)

is fitted by maximum likelihood, the integral over ``u_i`` computed by adaptive Gauss-Hermite
quadrature (``nagq`` nodes centred at each study's conditional mode and scaled by the curvature
there; ``nagq=1`` is the Laplace approximation), as ``lme4::glmer(..., nAGQ = 7)``, which
metafor calls.

How the maximum is found (everything batched over studies, quadrature nodes and parameter
points, so that one numpy pass evaluates a whole finite-difference stencil or profile scan):

* the conditional modes by Newton's method, kept inside a bracket that always holds the root;
* the log-likelihood together with its exact gradient in ``(beta, tau)`` (the modes and the
  node scale depend on the parameters; their derivatives come from implicit differentiation of
  the mode equation), see :class:`_Model`;
* a coarse scan of the profile likelihood over ``tau`` (Newton-type steps in ``beta`` at all
  grid points at once, usually one or two batched evaluations), then Newton's method in
  ``(beta, tau)`` from the vertex of the parabola through the best grid point and its
  neighbours, the Hessian by central differences of the exact gradient (typically 3-5
  iterations); the likelihood is even in ``tau``, so the boundary ``tau = 0`` needs no
  constraint and is checked explicitly.

Agreement with metafor/lme4 is to about 1e-4 relative, not 1e-6: lme4 maximises the same
approximate likelihood with a different optimiser (bobyqa, default tolerances) and takes the
standard error from a finite-difference Hessian, so its answer carries optimiser and
differencing error of that order. Our maximum is found far more precisely than that (the
exact gradient there is at rounding level, and the standard error does not move beyond 1e-8
with the differencing step).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._checks import check_counts, check_labels, check_level, check_number, check_same_length, level_percent
from ._warnings import user_stacklevel
from .options import GLMM_CI_METHODS, ci_method_option, pi_method_option
from .heterogeneity import typical_variance
from .results import PoolResult

__all__ = ["pool_glmm", "glmm_loglik"]

FloatArray = NDArray[np.float64]

_SQRT2 = math.sqrt(2.0)
# |Newton step| on a standardised mode after which it counts as found: the error left after a
# Newton step d is at most (tau / 2) d^2 (|g''| / 2|g'| <= tau / 2 for the mode equation)
_MODE_TOL = 1e-8
_MODE_MAXITER = 200
_TAU_GRID = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0])
_FD_H = 1e-5  # step for differencing the exact gradient into a Hessian
_SCAN_TOL = 1e-2  # |Newton step| in beta below which the quadratic model gives a scan point's profile
_MAXITER = 100  # Newton iterations (scan, and in (beta, tau))
_STEP_TOL = 1e-9  # |Newton step| in (beta, tau) at which the maximum counts as found
_TAU_ZERO = 1e-3  # below this, a tau heading to 0 and no better than tau = 0 beyond 1e-10 is 0


@functools.lru_cache(maxsize=None)
def _nodes(nagq: int) -> tuple[FloatArray, FloatArray]:
    t, w = np.polynomial.hermite.hermgauss(nagq)
    t, w = np.asarray(t, dtype=float), np.asarray(w, dtype=float)
    t.flags.writeable = w.flags.writeable = False  # shared between calls
    return t, w


class _Eval(NamedTuple):
    """:meth:`_Model.eval` at ``m`` points: log-likelihood ``(m,)``; gradient ``(m, 2)``
    (d/d beta, d/d tau); modes ``(m, k)`` and their derivatives ``(2, m, k)``; and
    ``info_beta`` ``(m,)``, the usual approximation ``sum n v / (1 + tau^2 n v)`` (``v`` at
    the mode) to minus the second derivative in beta. All but ``ll`` and ``z`` are None when
    the gradient is not asked for."""

    ll: FloatArray
    grad: Any
    z: FloatArray
    dz: Any
    info_beta: Any


class _Model:
    """Counts, quadrature rule and a batched evaluator of the AGQ log-likelihood and its gradient.

    :meth:`eval` takes ``m`` parameter points at once and works on ``(m, k)`` and
    ``(m, k, nagq)`` arrays, so a finite-difference stencil or a whole profile scan is one call.
    """

    def __init__(self, x: FloatArray, n: FloatArray, nagq: int) -> None:
        self.k = x.size
        self.x, self.n = x[None, :], n[None, :]
        self.x3, self.n3 = x[None, :, None], n[None, :, None]
        t, w = _nodes(nagq)
        self.t = t
        self.lw = np.log(w) + t * t  # log(w_j e^{t_j^2})
        self.tpow = np.stack([np.ones_like(t), t, t * t], axis=1)  # moments sum_j e_j t_j^r, r = 0, 1, 2
        self.lchoose = float(np.sum(special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)))
        self.const = self.lchoose - 0.5 * math.log(math.pi) * x.size
        # normal approximation to the logits (1/2 added to studies with 0 or n events), which
        # gives the cold-start guess tau (y - beta) / (v + tau^2) for the modes
        edge = (x == 0) | (x == n)
        xa, na = np.where(edge, x + 0.5, x), np.where(edge, n + 1.0, n)
        self.y = np.log(xa / (na - xa))[None, :]
        self.v = (1.0 / xa + 1.0 / (na - xa))[None, :]
        self.evals = 0  # batched evaluations

    def mode_guess(self, beta: FloatArray, tau: FloatArray) -> FloatArray:
        """Modes under the normal approximation, ``tau (y - beta) / (v + tau^2)``; ``(m, 1)`` in,
        ``(m, k)`` out."""
        return np.asarray(tau * (self.y - beta) / (self.v + tau * tau), dtype=float)

    def loglik_tau0(self, beta: float) -> float:
        """The log-likelihood at tau = 0, where it is the binomial one (the quadrature is exact)."""
        return self.lchoose + float(np.sum(self.x * beta - self.n * np.logaddexp(0.0, beta)))

    def modes(self, b: FloatArray, tau: FloatArray, z: FloatArray) -> FloatArray:
        """Conditional modes of the standardised random effects, one per (point, study).

        The mode solves ``g(z) = tau (x - n expit(beta + tau z)) - z = 0`` with ``g`` decreasing;
        it lies between 0 and ``g(0)``. Newton's method from ``z`` (clipped into that bracket),
        safeguarded as ``rtsafe`` (Press et al., Numerical Recipes, 9.4): the bracket is narrowed
        by the sign of ``g``, and a step that would leave it, or that is not at most half the
        previous one, is replaced by bisection, so it converges from any start (without the
        second rule Newton's method can cycle between the ends of the bracket when ``expit``
        saturates). It stops after a Newton step below ``_MODE_TOL``.
        """
        x, n = self.x, self.n
        g0 = tau * (x - n * special.expit(b))
        lo, hi = np.minimum(g0, 0.0), np.maximum(g0, 0.0)
        z = np.clip(z, lo, hi)
        last = np.full(z.shape, np.inf)  # the previous step
        for _ in range(_MODE_MAXITER):
            p = special.expit(b + tau * z)
            g = tau * (x - n * p) - z
            lo = np.where(g > 0, z, lo)
            hi = np.where(g < 0, z, hi)
            step = g / (1.0 + tau * tau * n * p * (1.0 - p))
            big = np.abs(step) >= _MODE_TOL  # (tiny steps are rounding-level: never bisected)
            znew = z + step
            bad = ((znew <= lo) | (znew >= hi) | (np.abs(step) > 0.5 * last)) & big
            if bad.any():
                znew = np.where(bad, 0.5 * (lo + hi), znew)
            elif not big.any():
                return znew
            last = np.abs(znew - z)
            z = znew
        return z  # pragma: no cover - bisection halves the bracket at least every other step

    def eval(self, beta: FloatArray, tau: FloatArray, z0: FloatArray | None = None, grad: bool = True) -> _Eval:
        """The log-likelihood (and its gradient) at the points ``(beta[i], tau[i])``.

        ``beta`` and ``tau`` are ``(m, 1)``; ``z0`` (``(m, k)`` or ``(k,)``) starts the mode
        search (default: :meth:`mode_guess`). The likelihood is even in ``tau``; negative
        ``tau`` is allowed.
        """
        self.evals += 1
        b, tau_ = beta, tau
        m = b.shape[0]
        z = self.modes(b, tau_, self.mode_guess(b, tau_) if z0 is None else z0 + np.zeros((m, 1)))
        x, n = self.x, self.n
        eta_hat = b + tau_ * z
        p = special.expit(eta_hat)
        nv = n * p * (1.0 - p)
        a = 1.0 + tau_ * tau_ * nv  # minus the curvature of h at the mode
        s = 1.0 / np.sqrt(a)
        c = _SQRT2 * s
        h_hat = x * eta_hat - n * np.logaddexp(0.0, eta_hat) - 0.5 * z * z
        # h at the nodes z_hat + sqrt(2) s t_j, relative to h at the mode
        zz = z[..., None] + c[..., None] * self.t
        eta = b[..., None] + tau_[..., None] * zz
        sig = special.expit(eta)
        softplus = np.maximum(eta, 0.0) - np.log(np.where(eta > 0, sig, 1.0 - sig))  # log(1 + e^eta)
        e = np.exp(self.x3 * eta - self.n3 * softplus - 0.5 * zz * zz + (self.lw - h_hat[..., None]))
        q = self.t.size
        mom = (e.reshape(-1, q) @ self.tpow).reshape(m, -1, 3)
        s0 = mom[..., 0]
        ll = (np.log(s) + h_hat + np.log(s0)).sum(axis=1) + self.const
        if not grad:
            return _Eval(ll, None, z, None, None)
        # d/d theta of log s + log sum_j w_j e^{t_j^2} e^{h(z_hat + sqrt(2) s t_j)}, with z_hat and s
        # depending on theta through the mode equation (implicit differentiation)
        s1, s2 = mom[..., 1], mom[..., 2]
        mp = ((e * sig).reshape(-1, q) @ self.tpow[:, :2]).reshape(m, -1, 2)
        r0 = x * s0 - n * mp[..., 0]  # sum_j e_j (x - n p_j)
        r1 = x * s1 - n * mp[..., 1]  # sum_j e_j t_j (x - n p_j)
        e_r = r0 / s0  # quadrature mean of dh/d beta
        e_zr = (z * r0 + c * r1) / s0  # ... of dh/d tau = z (x - n p)
        e_hz = (tau_ * r0 - z * s0 - c * s1) / s0  # ... of dh/dz
        e_thz = (tau_ * r1 - z * s1 - c * s2) / s0  # ... of t dh/dz
        dz = np.empty((2, *z.shape))
        dz_b = np.multiply(-tau_ / a, nv, out=dz[0])
        dz_t = np.divide((x - n * p) - tau_ * nv * z, a, out=dz[1])
        nvp = nv * (1.0 - 2.0 * p)
        dls_b = -0.5 * tau_ * tau_ * nvp * (1.0 + tau_ * dz_b) / a  # d log s / d beta
        dls_t = -0.5 * (2.0 * tau_ * nv + tau_ * tau_ * nvp * (z + tau_ * dz_t)) / a
        gr = np.empty((m, 2))
        gr[:, 0] = (dls_b + e_r + e_hz * dz_b + c * dls_b * e_thz).sum(axis=1)
        gr[:, 1] = (dls_t + e_zr + e_hz * dz_t + c * dls_t * e_thz).sum(axis=1)
        return _Eval(ll, gr, z, dz, (nv / a).sum(axis=1))


def glmm_loglik(beta: float, tau: float, xi: ArrayLike, ni: ArrayLike, nagq: int = 7) -> float:
    """Marginal log-likelihood of the binomial-normal model by adaptive Gauss-Hermite quadrature.

    Parameters
    ----------
    beta : float
        Pooled logit.
    tau : float
        Between-study standard deviation (>= 0).
    xi, ni : array-like
        Events and study sizes.
    nagq : int, default 7
        Quadrature points per study (1 = Laplace approximation).

    Returns
    -------
    float
        ``sum_i log integral Bin(x_i | n_i, expit(beta + tau z)) phi(z) dz`` including the
        binomial coefficients.

    Notes
    -----
    With ``h_i(z) = x_i eta - n_i log(1 + e^eta) - z^2/2``, ``eta = beta + tau z``, mode
    ``z_i`` and ``s_i = (1 + tau^2 n_i p_i (1 - p_i))^{-1/2}`` at the mode, Gauss-Hermite nodes
    ``t_j`` and weights ``w_j``:
    ``log L_i = log C(n_i, x_i) + log(s_i) + 1/2 log(1/pi) + log sum_j w_j exp(t_j^2 + h_i(z_i + sqrt(2) s_i t_j))``.

    Examples
    --------
    >>> round(glmm_loglik(0.0, 0.0, [5], [10]), 6)  # tau = 0: the binomial log-likelihood
    -1.402043
    """
    x = np.asarray(xi, dtype=float).ravel()
    n = np.asarray(ni, dtype=float).ravel()
    return float(_Model(x, n, nagq).eval(np.array([[float(beta)]]), np.array([[float(tau)]]), grad=False).ll[0])


def _col(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=float).reshape(-1, 1)


def _profile_scan(model: _Model, start: FloatArray) -> tuple[FloatArray, FloatArray, bool]:
    """Profile log-likelihood on ``_TAU_GRID``: Newton-type steps in beta at every grid tau at
    once, from ``start``, with the exact gradient and as curvature first ``-info_beta``, then
    the secant of the gradient between the last two iterates (the approximation where the
    secant is not negative).

    Iterates until the steps are below ``_SCAN_TOL`` at every grid point that could still be
    the best (usually one or two evaluations from the inverse-variance start) and returns the
    quadratic model's maximum ``ll + g^2 / (2 |curvature|)`` as the profile (ample to rank the
    grid points; Newton's method in (beta, tau) does the rest), the beta after the last step,
    and whether it converged."""
    tau = _col(_TAU_GRID)
    b = start.copy()
    z = model.mode_guess(_col(b), tau)
    b_prev = g_prev = None
    for _ in range(_MAXITER):
        ev = model.eval(_col(b), tau, z)
        g = ev.grad[:, 0]
        curv = -np.maximum(ev.info_beta, 1e-12)  # (0 only if every expit saturates)
        if b_prev is not None:
            db = b - b_prev
            with np.errstate(divide="ignore", invalid="ignore"):
                sec = (g - g_prev) / db
            curv = np.where((db != 0) & (sec < 0), sec, curv)
        step = np.clip(-g / curv, -5.0, 5.0)
        b_prev, g_prev = b, g
        b = b + step
        gain = 0.5 * g * step  # what the quadratic model adds; its error is smaller than that
        prof = ev.ll + gain
        # points that could still be the best need their steps below the tolerance
        contender = prof + gain >= np.max(prof - gain)
        if np.max(np.abs(step[contender])) < _SCAN_TOL:
            return prof, b, True
        z = ev.z + ev.dz[0] * step[:, None]  # predicted modes at the new beta
    return ev.ll, b, False


class _Stencil(NamedTuple):
    loglik: float
    grad: FloatArray
    hessian: FloatArray
    z: FloatArray  # modes at the point
    dz: FloatArray  # their derivatives (2, k)


_DB = _col([0.0, _FD_H, -_FD_H, 0.0, 0.0])
_DT = _col([0.0, 0.0, 0.0, _FD_H, -_FD_H])


def _hessian(model: _Model, beta: float, tau: float, z: FloatArray | None = None) -> _Stencil:
    """Log-likelihood, exact gradient and the Hessian (central differences of the gradient) at
    ``(beta, tau)``, from one batched evaluation."""
    h = _FD_H
    ev = model.eval(beta + _DB, tau + _DT, z)
    g = ev.grad
    hbb = (g[1, 0] - g[2, 0]) / (2 * h)
    htt = (g[3, 1] - g[4, 1]) / (2 * h)
    hbt = 0.5 * ((g[1, 1] - g[2, 1]) + (g[3, 0] - g[4, 0])) / (2 * h)
    return _Stencil(float(ev.ll[0]), g[0], np.array([[hbb, hbt], [hbt, htt]]), ev.z[0], ev.dz[:, 0])


@dataclass(frozen=True)
class _Fit:
    beta: float
    tau: float  # NaN: the search ended at the boundary tau = 0
    loglik: float
    hessian: FloatArray
    converged: bool
    at_limit: bool = False  # a step would have taken |tau| beyond the search limit


def _newton(model: _Model, beta: float, tau: float, f_zero: float, tau_max: float = math.inf) -> _Fit:
    """Maximise the log-likelihood in (beta, tau) by Newton's method, halving steps that go
    downhill.

    Where the Hessian is not negative definite its eigenvalues are replaced by minus their
    absolute values, so the step still goes uphill. The likelihood is even in tau, so tau is
    left unconstrained and its sign dropped at the end. ``f_zero`` is the maximum at tau = 0:
    an iterate within ``_TAU_ZERO`` of 0, heading to 0 and no better than it beyond 1e-10 ends
    the search at the boundary (where the likelihood is flat to fourth order in tau, as when
    all proportions are equal, Newton's method would only creep there). A step that would take
    |tau| beyond ``tau_max`` ends it too, with ``at_limit`` set and the current point."""
    prev: _Stencil | None = None
    prev_at = (beta, tau)
    step = np.zeros(2)
    z = None
    for _ in range(_MAXITER):
        st = _hessian(model, beta, tau, z)
        if prev is not None and st.loglik < prev.loglik - 1e-12 * abs(prev.loglik):  # downhill: halve
            step = 0.5 * step
            if np.max(np.abs(step)) < 1e-15:  # no step uphill: the previous point is the maximum
                ok = bool(np.max(np.abs(prev.grad)) < 1e-6 * max(1.0, abs(prev.loglik)))
                return _Fit(prev_at[0], abs(prev_at[1]), prev.loglik, prev.hessian, ok)
            beta, tau = prev_at[0] + step[0], prev_at[1] + step[1]
            z = prev.z + prev.dz[0] * step[0] + prev.dz[1] * step[1]
            continue
        lam, vec = np.linalg.eigh(st.hessian)
        lam = np.maximum(np.abs(lam), 1e-10 * max(1.0, float(np.max(np.abs(lam)))))
        step = vec @ ((vec.T @ st.grad) / lam)
        big = float(np.max(np.abs(step)))
        if big > 1.0:  # keep far steps where the quadratic model means something
            step *= 1.0 / big
        if abs(tau) < _TAU_ZERO and step[1] * tau <= 0 and st.loglik <= f_zero + 1e-10:
            return _Fit(beta, math.nan, st.loglik, st.hessian, True)
        if big < _STEP_TOL:
            return _Fit(beta + step[0], abs(tau + step[1]), st.loglik, st.hessian, True)
        if abs(tau + step[1]) > tau_max:
            return _Fit(beta, abs(tau), st.loglik, st.hessian, True, at_limit=True)
        prev, prev_at = st, (beta, tau)
        beta, tau = beta + step[0], tau + step[1]
        z = st.z + st.dz[0] * step[0] + st.dz[1] * step[1]  # predicted modes at the new point
    return _Fit(beta, abs(tau), st.loglik, st.hessian, False)


def _vertex(t: FloatArray, f: FloatArray) -> float:
    """Abscissa of the maximum of the parabola through three points, kept within them."""
    (t0, t1, t2), (f0, f1, f2) = t, f
    num = (t1 - t0) ** 2 * (f1 - f2) - (t1 - t2) ** 2 * (f1 - f0)
    den = (t1 - t0) * (f1 - f2) - (t1 - t2) * (f1 - f0)
    v = t1 - 0.5 * num / den if den != 0 else t1
    return float(min(max(v, t0), t2)) if math.isfinite(v) else float(t1)


def _beta_at(model: _Model, beta: float, tau: float) -> tuple[float, bool]:
    """Maximise in beta at fixed tau (Newton's method, curvature by central differences)."""
    h = _FD_H
    z = None
    for _ in range(_MAXITER):
        ev = model.eval(beta + _col([0.0, h, -h]), _col([tau, tau, tau]), z)
        curv = (ev.grad[1, 0] - ev.grad[2, 0]) / (2 * h)
        step = -ev.grad[0, 0] / curv if curv < 0 else math.copysign(1.0, ev.grad[0, 0])
        step = max(-5.0, min(5.0, step))
        beta += step
        z = ev.z[0] + ev.dz[0, 0] * step
        if abs(step) < _STEP_TOL:
            return beta, True
    return beta, False


def pool_glmm(
    xi: ArrayLike,
    ni: ArrayLike,
    *,
    labels: Sequence[Any] | None = None,
    level: float = 95,
    ci_method: str | None = None,
    pi_method: str = "default",
    nagq: int = 7,
    add: float = 0.5,
    test: str | None = None,
) -> PoolResult:
    """Pool single proportions with the binomial-normal GLMM (metafor ``rma.glmm(measure="PLO")``).

    Parameters
    ----------
    xi : array-like
        Events per study (e.g. responders for ORR).
    ni : array-like
        Study sizes (> 0, >= xi).
    labels : sequence, optional
        Study labels.
    level : float, default 95
        Confidence level in percent (95), or as a proportion in (0.5, 1) (0.95, metafor's habit).
    ci_method : {"z", "t"}, default "z"
        Normal or t (k - 1 df) inference for the pooled logit, as ``rma.glmm(test=)``.
    pi_method : {"default", "hts"}, default "default"
        Prediction interval as metafor's ``predict`` (z, or t with k - 1 df) or
        Higgins-Thompson-Spiegelhalter (t with max(k - 2, 1) df).
    nagq : int, default 7
        Adaptive Gauss-Hermite quadrature points (1 = Laplace), metafor's default 7.
    add : float, default 0.5
        Continuity correction for the study-level logits ``yi``/``vi`` of studies with 0 or n
        events (used for display, the weights shown and I^2's typical variance, as metafor;
        the model itself uses the counts).
    test : {"z", "t"}, optional
        metafor's name for ``ci_method``; give either (both only if they agree).

    Returns
    -------
    PoolResult
        ``model="GLMM"``, ``method="ML"``, ``measure="PLO"``; the pooled logit, its CI and PI
        (back-transform with :meth:`~metaoutcome.results.PoolResult.back_transform`, in
        percent); ``tau2``; ``i2``/``h2`` from metafor's typical within-study variance of the
        logits; ``q`` the Wald-type and ``extra["q_lrt"]`` the likelihood-ratio test for
        heterogeneity (each against the saturated logistic model). ``tau2_se`` and the
        Q-profile intervals are NaN (metafor does not provide them for this model either).
        ``weights`` are the approximate inverse-variance weights ``1/(v_i + tau^2)`` in percent.
        ``converged`` and ``iterations`` (batched likelihood evaluations: one evaluates a whole
        profile scan or finite-difference stencil) describe the optimiser.

    Warns
    -----
    UserWarning
        When every study has 0 events, or every study has n events: the model has no finite
        maximum-likelihood estimate (the pooled logit runs off to -/+ infinity); the estimates
        are then NaN and the pooled counts are given in ``extra``. Also for k = 1, for the
        Wald test when some studies have 0 or n events, when the profile likelihood is highest
        at the search limit ``tau = 8`` (e.g. one study with 0 events and one with n: the
        likelihood keeps rising with tau; tau is then reported as 8 and the SE is the one given
        tau = 8), and when the optimiser
        does not meet its tolerance (``converged=False``).

    Notes
    -----
    The marginal likelihood is computed by :func:`glmm_loglik`; it is maximised by Newton's
    method in ``(beta, tau)`` with its exact gradient (see the module docstring). The standard
    error of the pooled logit is the beta-element of the inverse observed information in
    ``(beta, tau)`` (central differences of the exact gradient), as lme4's Hessian-based
    ``vcov``; at ``tau = 0`` it is ``1 / sqrt(sum n_i p (1 - p))`` with the pooled ``p``. The Wald-type Q is
    ``sum w_i (logit p_i - mean_w)^2`` with ``w_i = n_i p_i (1 - p_i)`` over studies with
    0 < x_i < n_i (the saturated model's Wald test; studies at 0 or n have an infinite
    saturated logit and metafor's value for them depends on where ``glm`` stops iterating).
    The likelihood-ratio statistic is the deviance of the common-proportion logistic model.

    References
    ----------
    Hamza TH, van Houwelingen HC, Stijnen T (2008). The binomial distribution of meta-analysis
    was preferred to model within-study variability. *Journal of Clinical Epidemiology*
    61:41-51.

    Stijnen T, Hamza TH, Ozdemir P (2010). Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model with applications in sparse data.
    *Statistics in Medicine* 29:3046-3067.

    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. *Journal of Statistical Software* 67(1):1-48.

    Examples
    --------
    Five small single-arm studies (``rma.glmm(measure="PLO")`` gives logit 1.14534, tau^2 0.23653):

    >>> res = pool_glmm([16, 10, 4, 8, 15], [17, 12, 8, 13, 20])
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (1.1453, 0.2365)
    >>> round(res.back_transform().estimate, 1)  # pooled proportion, percent
    75.9
    """
    ci_method = ci_method_option(ci_method, test, allowed=GLMM_CI_METHODS)
    pi_method = pi_method_option(pi_method)
    alpha = 1.0 - check_level(level)
    if not isinstance(nagq, (int, np.integer)) or isinstance(nagq, bool) or not 1 <= int(nagq) <= 25:
        raise ValueError(f"nagq={nagq!r} must be a whole number from 1 to 25 (1 = Laplace; lme4's range)")
    nagq = int(nagq)
    add = float(check_number("add", add, minimum=0) or 0.0)
    labels = check_labels(labels)
    counts = check_counts({"xi": xi}, {"ni": ni}, [("xi", "ni")])
    x, n = counts["xi"], counts["ni"]
    k = check_same_length(xi=x, ni=n) if labels is None else check_same_length(xi=x, ni=n, labels=list(labels))
    if k == 0:
        raise ValueError("k=0: there are no studies to pool; xi and ni must hold at least one study")
    if (x > n).any():
        bad = np.flatnonzero(x > n)
        raise ValueError(f"xi must be <= ni (events cannot exceed the study size); positions {bad.tolist()} are not")
    lab = tuple(str(s) for s in labels) if labels is not None else tuple(f"Study {i + 1}" for i in range(k))
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())

    # study-level logits as metafor's escalc(measure="PLO", add=1/2, to="only0")
    zero = (x == 0) | (x == n)
    xa, na = np.where(zero, x + add, x), np.where(zero, n + 2 * add, n)
    yi = np.log(xa / (na - xa))
    vi = 1.0 / xa + 1.0 / (na - xa)
    nan = math.nan
    base: dict[str, Any] = dict(
        k=k, method="ML", ci_method=ci_method, level=level_percent(level), measure="PLO", yi=yi, vi=vi, labels=lab,
        ni=n, pi_method=pi_method, model="GLMM", tau2_se=nan, tau2_ci_low=nan, tau2_ci_high=nan,
        tau_ci_low=nan, tau_ci_high=nan, i2_ci_low=nan, i2_ci_high=nan, h2_ci_low=nan, h2_ci_high=nan,
    )  # fmt: skip
    extra: dict[str, float] = {"events_total": float(x.sum()), "n_total": float(n.sum()), "nagq": float(nagq)}
    # quantiles and tail areas through scipy.special (scipy.stats' distribution objects cost ~0.1 ms
    # a call, which is most of a fit): norm.isf(a) = -ndtri(a), t.isf(a, df) = -stdtrit(df, a),
    # norm.sf(x) = ndtr(-x), t.sf(x, df) = stdtr(df, -x), chi2.sf(x, df) = chdtrc(df, x)
    crit = float(-special.ndtri(alpha / 2)) if ci_method == "z" else (
        float(-special.stdtrit(k - 1, alpha / 2)) if k > 1 else nan)  # fmt: skip
    df = nan if ci_method == "z" else float(k - 1)

    if x.sum() == 0 or (x == n).all():
        which = "0 events" if x.sum() == 0 else "as many events as patients"
        warn(
            f"all {k} studies have {which}: the binomial-normal model has no finite maximum-likelihood "
            f"estimate (the pooled logit goes to {'-' if x.sum() == 0 else '+'}infinity, the pooled proportion "
            f"to {'0' if x.sum() == 0 else '100'}%); estimates are NaN. Pooled counts: {int(x.sum())}/{int(n.sum())} "
            "(extra['events_total'], extra['n_total']); consider an exact interval for the pooled count"
        )
        return PoolResult(
            estimate=nan, se=nan, statistic=nan, pvalue=nan, ci_low=nan, ci_high=nan, pi_low=nan, pi_high=nan,
            tau2=nan, tau=nan, i2=nan, h2=nan, q=nan, q_df=k - 1, q_pvalue=nan, weights=np.full(k, 100.0 / k),
            converged=False, iterations=0, df=df, vt=nan, notes=tuple(notes), extra=extra, **base,
        )  # fmt: skip

    model = _Model(x, n, nagq)
    p_pool = x.sum() / n.sum()
    beta0 = math.log(p_pool / (1 - p_pool))
    # heterogeneity tests against the saturated model
    ok = ~zero
    ll_sat = float(np.sum(special.xlogy(x, x / n) + special.xlogy(n - x, (n - x) / n)))
    ll_fe = float(np.sum(x * math.log(p_pool) + (n - x) * math.log1p(-p_pool)))
    q_lrt = max(0.0, 2 * (ll_sat - ll_fe)) if k > 1 else nan
    extra["q_lrt"] = q_lrt
    extra["q_lrt_pvalue"] = float(special.chdtrc(k - 1, q_lrt)) if k > 1 else nan
    if ok.sum() >= 2:
        pw = x[ok] / n[ok]
        lw = np.log(pw / (1 - pw))
        ww = n[ok] * pw * (1 - pw)
        q_wald = float(np.sum(ww * (lw - np.sum(ww * lw) / np.sum(ww)) ** 2))
    else:
        q_wald = 0.0
    if zero.any() and k > 1:
        warn(
            f"{int(zero.sum())} of {k} studies have 0 or n events: the Wald-type heterogeneity test q uses the "
            "other studies only (their saturated logits are infinite); the likelihood-ratio test "
            "extra['q_lrt'] uses all"
        )

    at_limit = False
    if k == 1:
        warn(
            "k = 1: the pooled estimate is the single study itself; heterogeneity (tau^2, I^2, H^2, Q) "
            "is undefined and reported as NaN"
        )
        beta, tau, converged = beta0, 0.0, True  # the binomial MLE, logit(x / n)
    else:
        # profile likelihood on a coarse grid of tau (all grid points in one batched evaluation,
        # from the inverse-variance mean of the logits), then Newton's method in (beta, tau) from
        # the vertex of the parabola through the best grid point and its neighbours (tau at most
        # the last grid point, the search limit)
        w_grid = 1.0 / (vi[None, :] + _TAU_GRID[:, None] ** 2)
        prof, betas, converged = _profile_scan(model, (w_grid * yi).sum(axis=1) / w_grid.sum(axis=1))
        i = int(np.argmax(prof))
        f_zero = model.loglik_tau0(beta0)  # the maximum at tau = 0 is at the pooled logit
        hess: FloatArray | None = None
        if i == 0 and _hessian(model, beta0, 0.0).hessian[1, 1] < 0:
            beta, tau = beta0, 0.0  # tau = 0 is the best grid point and a local maximum
        else:
            if i == 0:  # from tau = 0 itself Newton's method could not leave (the tau-gradient vanishes)
                tau_start, beta_start = 0.5 * float(_TAU_GRID[1]), float(betas[0])
            elif i == _TAU_GRID.size - 1:  # the maximum lies beyond the last grid point but one
                tau_start, beta_start = float(_TAU_GRID[i]), float(betas[i])
            else:
                tau_start = _vertex(_TAU_GRID[i - 1 : i + 2], prof[i - 1 : i + 2])
                beta_start = float(np.interp(tau_start, _TAU_GRID, betas))
            fit = _newton(model, beta_start, tau_start, f_zero, tau_max=float(_TAU_GRID[-1]))
            converged &= fit.converged
            beta, tau, hess = fit.beta, fit.tau, fit.hessian
            if fit.at_limit:
                warn(f"the between-study SD reached the search limit tau = {_TAU_GRID[-1]:g} on the logit scale "
                     "(the likelihood still rises there); tau is reported as that limit and the SE of the pooled "
                     "logit is conditional on it; check the data")  # fmt: skip
                at_limit = True
                tau = float(_TAU_GRID[-1])
                beta, c = _beta_at(model, beta, tau)
                converged &= c
                hess = None
            elif math.isnan(tau) or fit.loglik < f_zero or (tau < 1e-4 and f_zero >= fit.loglik - 1e-10):
                # the likelihood is even in tau: a maximum within 1e-4 of 0 that is not higher
                # than the value at 0 beyond rounding is the boundary
                beta, tau, hess = beta0, 0.0, None

    beta, tau = float(beta), float(tau)
    # standard error from the observed information in (beta, tau)
    if tau == 0.0:  # the cross term vanishes by symmetry in tau, and -d2/dbeta2 = sum n p (1 - p)
        var_b = float(1.0 / (n.sum() * p_pool * (1.0 - p_pool)))
    else:
        if hess is None:
            hess = _hessian(model, beta, tau).hessian
        # at the search limit tau is not a maximum: the SE is the one given tau (-1/H_bb)
        var_b = float(np.linalg.inv(-hess)[0, 0]) if tau > 1e-3 and not at_limit else -1.0 / float(hess[0, 0])
    if not var_b > 0.0:  # pragma: no cover - the information is positive definite at a maximum
        warn("the observed information is not positive definite at the estimate: the SE is NaN")
        var_b = nan
    se = math.sqrt(var_b)
    tau2 = tau * tau
    stat = beta / se
    pval = float(2 * special.ndtr(-abs(stat))) if ci_method == "z" else (
        float(2 * special.stdtr(k - 1, -abs(stat))) if k > 1 else nan)  # fmt: skip
    w = 1.0 / (vi + tau2)
    out: dict[str, Any] = dict(
        estimate=beta, se=se, statistic=stat, pvalue=pval, ci_low=beta - crit * se, ci_high=beta + crit * se,
        weights=100 * w / w.sum(), converged=converged, iterations=model.evals, df=df,
    )  # fmt: skip
    if k == 1:
        out.update(pi_low=nan, pi_high=nan, tau2=nan, tau=nan, i2=nan, h2=nan, q=nan, q_df=0, q_pvalue=nan, vt=nan)
    else:
        pcrit = float(-special.stdtrit(max(1, k - 2), alpha / 2)) if pi_method == "hts" else crit
        half = pcrit * math.sqrt(se * se + tau2)
        vt = typical_variance(vi)
        out.update(
            pi_low=beta - half, pi_high=beta + half, tau2=tau2, tau=tau, i2=100 * tau2 / (vt + tau2),
            h2=tau2 / vt + 1, q=q_wald, q_df=k - 1, q_pvalue=float(special.chdtrc(k - 1, q_wald)), vt=vt,
        )  # fmt: skip
    if not converged:
        warn("the GLMM optimiser did not meet its tolerance")
    return PoolResult(notes=tuple(notes), extra=extra, **base, **out)
