"""Vectorised normal mixtures: CDF, density, quantiles and shortest intervals.

The posterior of mu (and of a new or a study's effect) in the normal-normal model is, after
integrating tau out by quadrature, a finite mixture of normals with shared weights. This module
evaluates such mixtures for several distributions at once: ``means`` and ``sds`` have shape
``(D, J)`` (D distributions, J quadrature nodes) and ``weights`` shape ``(J,)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

FloatArray = NDArray[np.float64]

_SQ2PI = np.sqrt(2.0 * np.pi)


def cdf(x: FloatArray, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Mixture CDF at ``x`` of shape (D, P) -> (D, P)."""
    z = (x[:, :, None] - m[:, None, :]) / s[:, None, :]
    return np.asarray(np.einsum("dpj,j->dp", ndtr(z), w), dtype=float)


def pdf(x: FloatArray, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Mixture density at ``x`` of shape (D, P) -> (D, P)."""
    z = (x[:, :, None] - m[:, None, :]) / s[:, None, :]
    return np.asarray(np.einsum("dpj,j->dp", np.exp(-0.5 * z * z) / (_SQ2PI * s[:, None, :]), w), dtype=float)


def dpdf(x: FloatArray, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Derivative of the mixture density at ``x`` of shape (D, P)."""
    z = (x[:, :, None] - m[:, None, :]) / s[:, None, :]
    comp = -z * np.exp(-0.5 * z * z) / (_SQ2PI * s[:, None, :] ** 2)
    return np.asarray(np.einsum("dpj,j->dp", comp, w), dtype=float)


def moments(w: FloatArray, m: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of each mixture (shape (D,))."""
    mean = m @ w
    var = (s * s + m * m) @ w - mean * mean
    return mean, np.sqrt(np.maximum(var, 0.0))


def quantile(p: FloatArray, w: FloatArray, m: FloatArray, s: FloatArray,
             start: FloatArray | None = None) -> FloatArray:
    """Quantiles ``p`` (shape (D, P)) by safeguarded Newton steps on the exact mixture CDF."""
    lo = np.broadcast_to((m - 40.0 * s).min(axis=1)[:, None], p.shape).copy()
    hi = np.broadcast_to((m + 40.0 * s).max(axis=1)[:, None], p.shape).copy()
    if start is None:
        from scipy.special import ndtri

        mean, sd = moments(w, m, s)
        x = mean[:, None] + sd[:, None] * ndtri(np.clip(p, 1e-300, 1 - 1e-16))
    else:
        x = start.copy()
    x = np.clip(x, lo, hi)
    for _ in range(100):
        f = cdf(x, w, m, s) - p
        lo = np.where(f < 0, x, lo)
        hi = np.where(f > 0, x, hi)
        d = pdf(x, w, m, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(d > 0, f / d, np.inf)
        xn = x - step
        bad = ~np.isfinite(xn) | (xn <= lo) | (xn >= hi)
        xn = np.where(bad, 0.5 * (lo + hi), xn)
        xn = np.where(np.abs(f) < 1e-15, x, xn)
        done = (np.abs(xn - x) <= 1e-13 * (1.0 + np.abs(x))) | (np.abs(f) < 1e-15)
        x = xn
        if done.all():
            break
    return np.asarray(x, dtype=float)


def central(level: float, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Central intervals, shape (D, 2)."""
    a = (1.0 - level) / 2.0
    p = np.tile([a, 1.0 - a], (m.shape[0], 1))
    return quantile(p, w, m, s)


def shortest(level: float, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Shortest (highest-density, for unimodal mixtures) intervals, shape (D, 2).

    Solves f(a) = f(b) with F(b) - F(a) = level by Newton steps in the lower tail probability
    (the interval length L(p) = Q(p + level) - Q(p) has L'(p) = 1/f(b) - 1/f(a)).
    """
    D = m.shape[0]
    alpha = 1.0 - level
    p = np.full(D, alpha / 2.0)
    ab = central(level, w, m, s)
    for _ in range(60):
        x = ab
        f = pdf(x, w, m, s)
        g = dpdf(x, w, m, s)
        fa, fb, ga, gb = f[:, 0], f[:, 1], g[:, 0], g[:, 1]
        d1 = 1.0 / fb - 1.0 / fa
        d2 = -gb / fb**3 + ga / fa**3
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(d2 > 0, d1 / d2, np.nan)
        pn = p - step
        pn = np.where(np.isfinite(pn), pn, p)
        pn = np.clip(pn, alpha * 1e-6, alpha * (1 - 1e-6))
        moved = np.abs(pn - p)
        p = pn
        ab = quantile(np.column_stack([p, p + level]), w, m, s, start=ab)
        if (moved < 1e-14).all():
            break
    return np.asarray(ab, dtype=float)
