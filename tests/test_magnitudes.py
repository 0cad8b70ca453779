"""Huge and tiny magnitudes (issue 13, defect 7): pool([1e200, 2e200, 3e200], [.01, .02, .03]) gave NaN.

The estimators are translation and scale equivariant, so pool and pool_batch centre and scale data
outside |yi| <= 1e50, 1e-100 <= vi <= 1e100 before fitting and map the results back; data that no
rescaling brings into double precision are refused with a message; meta_regression refuses data
outside the box. Checked as properties against the unscaled fit. Scales are powers of two so the
shifted/scaled inputs are exact (up to the rounding of c + s*y, far below the tolerance).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome.options import METHODS

Y = np.array([0.1, 0.3, 0.35, 0.6, 0.2, -0.1])
V = np.array([0.01, 0.02, 0.015, 0.03, 0.02, 0.05])
#: relative to the scale of each quantity (s * se for locations): the mapped-back numbers carry a few
#: ulps from the centring and the back-transformation
RTOL = 1e-9
SCALES = [2.0**-400, 2.0**-200, 2.0**200, 2.0**400, 2.0**500]
SHIFTS = [0.0, 3.0, -1e3]  # in units of the scale


def _fit(y: Any, v: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mo.pool(y, v, **kw)


def _check(big: Any, ref: Any, c: float, s: float) -> None:
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        a, b = getattr(big, name), getattr(ref, name)
        if math.isnan(b):
            assert math.isnan(a), name
        else:
            assert abs((a - c) / s - b) <= RTOL * max(ref.se, abs(b)), name
    for name in ("se", "tau", "tau_ci_high"):
        assert_allclose(getattr(big, name) / s, getattr(ref, name), rtol=RTOL, atol=1e-300, err_msg=name)
    for name in ("tau2", "tau2_se", "tau2_ci_high", "vt"):
        assert_allclose(getattr(big, name) / s / s, getattr(ref, name), rtol=RTOL, atol=1e-300, err_msg=name)
    for name in ("i2", "h2", "q", "q_pvalue", "i2_ci_high"):
        assert_allclose(getattr(big, name), getattr(ref, name), rtol=RTOL, err_msg=name)
    assert_allclose(big.weights, ref.weights, rtol=RTOL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("s", SCALES, ids=lambda s: f"2^{int(math.log2(s))}")
@pytest.mark.parametrize("shift", SHIFTS, ids=lambda c: f"c={c:g}s")
def test_pool_is_shift_and_scale_equivariant_at_any_magnitude(method: str, s: float, shift: float) -> None:
    ci = "knha" if method not in ("FE", "EE", "CE") else "z"
    ref = _fit(Y, V, method=method, ci_method=ci)
    c = shift * s
    big = _fit(c + s * Y, (V * s) * s, method=method, ci_method=ci)
    _check(big, ref, c, s)
    # the test statistic and p-value are of the shifted data: recomputed, not copied
    assert_allclose(big.statistic, big.estimate / big.se, rtol=1e-15)
    if shift == 0:
        assert_allclose(big.pvalue, ref.pvalue, rtol=RTOL)


@pytest.mark.parametrize("s", SCALES, ids=lambda s: f"2^{int(math.log2(s))}")
def test_pool_batch_equals_pool_at_any_magnitude(s: float) -> None:
    y = np.concatenate([Y, 3 * s + s * Y, Y[:4]])
    v = np.concatenate([V, (V * s) * s, V[:4]])
    g = np.repeat([0, 1, 2], [6, 6, 4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = mo.pool_batch(y, v, by=g, ci_method="knha").table()
    for i in range(3):
        one = _fit(y[g == i], v[g == i], ci_method="knha")
        for name in ("estimate", "se", "tau2", "ci_low", "pvalue", "i2", "tau2_ci_high"):
            assert_allclose(t[name].iloc[i], getattr(one, name), rtol=1e-12, err_msg=f"group {i} {name}")


def test_unrepresentable_spread_is_refused_not_nan() -> None:
    for y in ([1e200, 2e200, 3e200], [1e300, 2e300, 3e300]):
        for method in ("REML", "DL"):
            with pytest.raises(ValueError, match=r"beyond what double precision can fit.*rescale yi and vi"):
                _fit(y, [0.01, 0.02, 0.03], method=method)
    with pytest.raises(ValueError, match=r"beyond what double precision can fit"):
        mo.pool_batch([1e200, 2e200, 3e200, 1, 2], [0.01, 0.02, 0.03, 1, 1], by=[0, 0, 0, 1, 1])


def test_ordinary_data_are_fitted_as_given() -> None:
    """Inside the safe box nothing is rescaled: the engine's numbers bit for bit."""
    from metaoutcome.heterogeneity import stack
    from metaoutcome.pooling import fit_many

    res = _fit(Y * 1e40, V * 1e80)
    raw = fit_many(stack(Y * 1e40, V * 1e80), "REML", "z", 0.05)
    assert res.estimate == raw["estimate"][0] and res.tau2 == raw["tau2"][0]


def test_meta_regression_refuses_extreme_data() -> None:
    with pytest.raises(ValueError, match=r"meta_regression: yi spans .* rescale yi and vi"):
        mo.meta_regression(yi=Y * 2.0**200, vi=V * 2.0**400, X=np.column_stack([np.ones(6), np.arange(6.0)]))
