"""Combining comparisons that share a control arm (KEYNOTE-010's two doses)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome import effects

RTOL_FORMULA = 1e-12  # closed-form arithmetic


def test_keynote_010_is_combined_with_the_correlation_of_its_arm_sizes() -> None:
    hr = mo.load_dataset("hazard_ratios", trial="keynote_010")
    hr = hr[hr["shared_control"].notna()]  # the two doses; the PD-L1 subgroup rows are never pooled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_hazard_ratios(hr)
    out = effects.combine_shared_control(es)
    assert len(out) == 1
    # by hand: HRs 0.71 (0.58-0.88) and 0.61 (0.49-0.75), arms 345 / 346 vs 343 docetaxel
    z = 1.959963984540054
    v1 = ((np.log(0.88) - np.log(0.58)) / (2 * z)) ** 2
    v2 = ((np.log(0.75) - np.log(0.49)) / (2 * z)) ** 2
    rho = (1 / 343) / np.sqrt((1 / 345 + 1 / 343) * (1 / 346 + 1 / 343))
    assert_allclose(out["yi"].iloc[0], (np.log(0.71) + np.log(0.61)) / 2, rtol=RTOL_FORMULA)
    assert_allclose(out["vi"].iloc[0], (v1 + v2 + 2 * rho * np.sqrt(v1 * v2)) / 4, rtol=RTOL_FORMULA)


def test_rows_without_a_group_or_effect_pass_through() -> None:
    frame = pd.DataFrame({
        "row_id": ["a", "b", "c", "d"], "yi": [0.1, 0.2, np.nan, 0.4], "vi": [0.01, 0.02, 0.03, 0.04],
        "shared_control": [None, "t1", "t1", "t1"], "exclusion_reason": [None, None, "no CI", None],
    })
    out = effects.combine_shared_control(frame)
    assert list(out["row_id"]) == ["a", "b+d", "c"]
    assert out.loc[1, "combined_from"] == "b; d"
    assert_allclose(out.loc[1, "vi"], (0.02 + 0.04 + 2 * 0.5 * np.sqrt(0.02 * 0.04)) / 4, rtol=RTOL_FORMULA)
    assert out.loc[2, "exclusion_reason"] == "no CI"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="frame has no 'shared_control' column"):
        effects.combine_shared_control(pd.DataFrame({"yi": [0.1], "vi": [0.1]}))
    with pytest.raises(ValueError, match=r"default_correlation=1.0 must be in \[0, 1\)"):
        effects.combine_shared_control(pd.DataFrame({"yi": [0.1], "vi": [0.1], "shared_control": ["x"]}), default_correlation=1.0)
