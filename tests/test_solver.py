"""The vectorised root finder and the equations it solves (independent of metafor: each answer is
checked against the equation it must satisfy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from metaoutcome.heterogeneity import (
    Stack,
    estimate_tau2_many,
    generalized_q_many,
    newton_roots,
    q_profile_ci_many,
)


def _square_minus(target: np.ndarray):  # type: ignore[no-untyped-def]
    def fd(rows, x):  # type: ignore[no-untyped-def]
        return x * x - target[rows], 2.0 * x

    return fd


@pytest.mark.parametrize("with_slope", [False, True])
def test_newton_roots_finds_square_roots_to_the_last_bits(with_slope: bool) -> None:
    target = np.array([2.0, 3.0, 0.25, 1e-6, 1e6, 7.0])
    lo = np.zeros(6)
    hi = np.full(6, 2000.0)
    flo, fhi = -target, hi * hi - target
    out = newton_roots(_square_minus(target), lo, hi, flo, fhi, np.zeros(6) if with_slope else None)
    # a zero slope at 0 sends the first Newton step out of the bracket: bisection takes over
    np.testing.assert_allclose(out.root, np.sqrt(target), rtol=4 * np.finfo(float).eps)
    assert out.converged.all()
    assert (out.evaluations >= 1).all()
    np.testing.assert_allclose(out.slope, 2 * np.sqrt(target), rtol=1e-6)


def test_newton_roots_returns_an_end_where_f_is_zero_without_evaluating() -> None:
    calls: list[int] = []

    def fd(rows, x):  # type: ignore[no-untyped-def]
        calls.append(len(x))
        return x - 1.0, np.ones_like(x)

    out = newton_roots(fd, np.array([1.0, 0.0]), np.array([3.0, 1.0]), np.array([0.0, -1.0]), np.array([2.0, 0.0]))
    assert out.root.tolist() == [1.0, 1.0]
    assert out.evaluations.tolist() == [0, 0] and calls == []


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_tau2_solves_its_estimating_equation(method: str) -> None:
    rng = np.random.default_rng(3)
    g, k = 400, 12
    v = 10 ** rng.uniform(-3, 1, (g, k))
    y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.1, 1.0], (g, 1))))
    s = Stack(y, v, np.full(g, k))
    fit = estimate_tau2_many(s, method)
    assert fit.converged.all()
    pos = fit.tau2 > 0
    t = fit.tau2[pos]
    w = 1.0 / (v[pos] + t[:, None])
    r = y[pos] - ((w * y[pos]).sum(1) / w.sum(1))[:, None]
    sw = w.sum(1)
    if method in ("PM", "EB"):
        lhs, rhs = (w * r * r).sum(1), np.full(t.size, k - 1.0)
    elif method == "ML":
        lhs, rhs = (w * w * r * r).sum(1), sw
    else:
        lhs, rhs = (w * w * r * r).sum(1), sw - (w * w).sum(1) / sw
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9)


def test_q_profile_bounds_solve_q_equal_to_the_chi2_quantiles() -> None:
    rng = np.random.default_rng(4)
    g, k = 400, 15
    v = 10 ** rng.uniform(-2, 0, (g, k))
    y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5], (g, 1))))
    s = Stack(y, v, np.full(g, k))
    ci = q_profile_ci_many(s, estimate_tau2_many(s, "REML").tau2)
    inner = (ci.low > 0) & (ci.low_sign == 0)
    assert inner.sum() > 100
    np.testing.assert_allclose(generalized_q_many(s.take(inner), ci.low[inner]), stats.chi2.isf(0.025, k - 1), rtol=1e-10)
    upper = ~ci.empty & (ci.high_sign == 0) & (ci.high > 0)
    assert upper.sum() > 300
    np.testing.assert_allclose(generalized_q_many(s.take(upper), ci.high[upper]), stats.chi2.ppf(0.025, k - 1), rtol=1e-10)
