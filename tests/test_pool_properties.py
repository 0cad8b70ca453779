"""Property tests for metaoutcome.pooling (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaoutcome.heterogeneity import TAU2_METHODS
from metaoutcome.pooling import pool

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Invariances hold up to rounding in sums of k terms; the root finders work to ~1e-15 relative.
RTOL_INVARIANCE = 1e-7
ATOL_INVARIANCE = 1e-9


@st.composite
def datasets(draw: st.DrawFn, min_k: int = 2, max_k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    logv = draw(st.lists(st.floats(-3, 1, allow_nan=False), min_size=k, max_size=k))
    return np.array(yi), 10.0 ** np.array(logv)


methods = st.sampled_from(TAU2_METHODS)
ci_methods = st.sampled_from(["z", "t", "knha", "adhoc"])


def _pool(*args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(*args, **kwargs)


@SETTINGS
@given(datasets(), methods, ci_methods, st.randoms(use_true_random=False))
def test_study_order_does_not_matter(data, method, ci_method, rnd) -> None:  # type: ignore[no-untyped-def]
    yi, vi = data
    perm = np.arange(yi.size)
    rnd.shuffle(perm)
    a = _pool(yi, vi, method=method, ci_method=ci_method)
    b = _pool(yi[perm], vi[perm], method=method, ci_method=ci_method)
    for name in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "tau2_ci_high"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=RTOL_INVARIANCE, atol=ATOL_INVARIANCE, err_msg=name)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=RTOL_INVARIANCE, atol=ATOL_INVARIANCE)


@SETTINGS
@given(datasets(), methods, st.floats(-5, 5, allow_nan=False))
def test_shifting_all_estimates_shifts_the_pooled_estimate(data, method, shift) -> None:  # type: ignore[no-untyped-def]
    yi, vi = data
    a = _pool(yi, vi, method=method)
    b = _pool(yi + shift, vi, method=method)
    np.testing.assert_allclose(b.estimate, a.estimate + shift, rtol=RTOL_INVARIANCE, atol=1e-8)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-6, atol=1e-9)


@SETTINGS
@given(datasets(), methods, ci_methods, st.sampled_from(["default", "hts"]))
def test_ranges_and_ci_contains_estimate(data, method, ci_method, pi_method) -> None:  # type: ignore[no-untyped-def]
    yi, vi = data
    r = _pool(yi, vi, method=method, ci_method=ci_method, pi_method=pi_method)
    assert r.tau2 >= 0 and r.tau >= 0
    assert 0 <= r.i2 <= 100
    assert r.h2 >= 1
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12
    assert 0 <= r.tau2_ci_low <= r.tau2_ci_high
    assert 0 <= r.i2_ci_low <= r.i2_ci_high <= 100
    assert r.converged
    np.testing.assert_allclose(r.weights.sum(), 100.0)


@SETTINGS
@given(datasets(), methods, ci_methods)
def test_random_effects_equals_common_effect_when_tau2_is_zero(data, method, ci_method) -> None:  # type: ignore[no-untyped-def]
    yi, vi = data
    r = _pool(yi, vi, method=method, ci_method=ci_method)
    if r.tau2 != 0.0:
        # force a homogeneous set with the same variances: all estimates equal
        yi = np.full_like(yi, yi[0])
        r = _pool(yi, vi, method=method, ci_method=ci_method)
        # 0 up to rounding: SJ starts from mean((y - ybar)^2), ~1e-32 when the y are equal
        assert r.tau2 < 1e-20
    fe = _pool(yi, vi, method="FE", ci_method=ci_method)
    for name in ("estimate", "se", "ci_low", "ci_high", "q", "q_pvalue"):
        np.testing.assert_allclose(getattr(r, name), getattr(fe, name), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(r.weights, fe.weights, rtol=1e-10)


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_homogeneous_draws_can_hit_the_boundary(method: str) -> None:
    rng = np.random.default_rng(1)
    vi = 10 ** rng.uniform(-2, 0, 15)
    yi = rng.normal(0, np.sqrt(vi))
    r = _pool(yi, vi, method=method)
    assert r.tau2 >= 0
