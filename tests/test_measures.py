"""The measure registry: names, null values, scales, back-transforms.

Back-transforms are compared with metafor's transf.* in test_effects_fixtures.py; here we check
the registry's contract that pooling and plotting code rely on.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from metaoutcome.measures import MEASURES, Measure, get_measure, harmonic_mean, ipft, pft, register_measure

# Round trips are exact up to floating-point rounding.
RTOL = 1e-12

EXPECTED = {  # name: (null, axis, percent, needs_ni)
    "PR": (None, "percent", True, False), "PLN": (None, "percent", True, False),
    "PLO": (None, "percent", True, False), "PAS": (None, "percent", True, False),
    "PFT": (None, "percent", True, True), "OR": (1.0, "log", False, False),
    "RR": (1.0, "log", False, False), "RD": (0.0, "linear", False, False),
    "HR": (1.0, "log", False, False), "MED": (None, "log", False, False),
    "RMED": (1.0, "log", False, False), "DMED": (0.0, "linear", False, False),
    "GEN": (None, "linear", False, False),
}


def test_registry_is_complete() -> None:
    assert set(EXPECTED) <= set(MEASURES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_measure_attributes(name: str) -> None:
    m = get_measure(name)
    null, axis, percent, needs_ni = EXPECTED[name]
    assert (m.null, m.axis, m.percent, m.needs_ni) == (null, axis, percent, needs_ni)
    assert m.axis_label


@pytest.mark.parametrize("name", ["OR", "RR", "HR", "RMED"])
def test_log_measures_null_is_zero_on_analysis_scale(name: str) -> None:
    assert get_measure(name).null_on_analysis_scale() == 0.0


def test_lookup_is_case_insensitive_and_checked() -> None:
    assert get_measure("plo").name == "PLO"
    m = get_measure("HR")
    assert get_measure(m) is m
    with pytest.raises(ValueError, match="measure='XYZ' is not one of the allowed values: 'PR'"):
        get_measure("XYZ")


def test_register_measure_replaces() -> None:
    old = MEASURES["GEN"]
    try:
        new = Measure("GEN", "generic", "generic", "raw", old.back, None, "linear", "Value")
        assert register_measure(new) is new and get_measure("GEN").axis_label == "Value"
    finally:
        register_measure(old)


@pytest.mark.parametrize(("name", "p"), [("PLO", 0.3), ("PLN", 0.3), ("PAS", 0.3), ("PR", 0.3)])
def test_back_transform_round_trip(name: str, p: float) -> None:
    y = {"PLO": np.log(p / (1 - p)), "PLN": np.log(p), "PAS": np.arcsin(np.sqrt(p)), "PR": p}[name]
    assert_allclose(get_measure(name).back(y), p, rtol=RTOL)


def test_pft_needs_ni() -> None:
    with pytest.raises(ValueError, match="ni is required"):
        get_measure("PFT").back(0.5)
    with pytest.raises(ValueError, match="ni is required to back-transform a pooled 'PFT' value"):
        get_measure("PFT").back_pooled(0.5)


def test_pft_round_trip_and_ends() -> None:
    n = np.array([10.0, 25.0, 40.0])
    p = np.array([0.1, 0.5, 0.93])
    assert_allclose(ipft(pft(p, n), n), p, rtol=1e-10)  # Miller's inversion is exact for its own n
    assert ipft(np.array([-0.1]), 10)[0] == 0.0 and ipft(np.array([1.7]), 10)[0] == 1.0


def test_back_pooled_uses_harmonic_mean_only_for_pft() -> None:
    ni = [10, 40]
    assert harmonic_mean(ni) == 16.0
    assert_allclose(get_measure("PFT").back_pooled(pft(0.25, 16.0), ni), 0.25, rtol=1e-10)
    assert_allclose(get_measure("HR").back_pooled(0.0, ni), 1.0, rtol=RTOL)
