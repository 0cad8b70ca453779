"""Subgroup analysis against metafor (tests/reference/make_subgroup_fixtures.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metaoutcome.subgroups import subgroup_analysis

FIXTURE = json.loads((Path(__file__).parent / "reference" / "subgroup_fixtures.json").read_text())
CASES = FIXTURE["cases"]
# the brief's tolerance for statistics shared with metafor
RTOL = 1e-6
EXPECTED_IDS = {
    "bcg_alloc_REML_z", "bcg_alloc_REML_knha", "bcg_alloc_DL_z", "bcg_alloc_DL_knha",
    "plo_two_groups_REML", "plo_two_groups_DL", "plo_two_groups_FE",
}


def _fit(case: dict) -> object:
    frame = pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "g": case["group"], "label": [f"s{i}" for i in range(len(case["yi"]))]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return subgroup_analysis(frame, by="g", labels="label", method=case["method"], ci_method=case["test"])


def test_case_grid_is_complete() -> None:
    assert {c["id"] for c in CASES} == EXPECTED_IDS


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_metafor(case: dict) -> None:
    res = _fit(case)
    assert_allclose(res.q_between, case["q_between"], rtol=RTOL)
    assert res.q_between_df == case["q_between_df"]
    assert_allclose(res.q_between_pvalue, case["q_between_pvalue"], rtol=RTOL)
    for sub in case["subgroups"]:
        r = res.results[sub["group"]]
        assert r.k == sub["k"]
        for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                             ("q", "q"), ("q_pvalue", "q_pvalue")]:
            assert_allclose(getattr(r, ours), sub[theirs], rtol=RTOL, err_msg=f"{sub['group']} {ours}")
        # tau^2 and I^2 are 0 at the boundary: compare absolutely there
        assert_allclose(r.tau2, sub["tau2"], rtol=RTOL, atol=1e-10)
        assert_allclose(r.i2, sub["i2"], rtol=RTOL, atol=1e-8)
    assert_allclose(res.overall.estimate, case["overall_estimate"], rtol=RTOL)


def test_excluded_rows_are_reported_and_table_is_tidy() -> None:
    frame = pd.DataFrame({
        "yi": [0.1, 0.2, np.nan, 0.4, 0.3], "vi": [0.01, 0.02, 0.03, 0.01, 0.02],
        "g": ["a", "a", "a", None, "b"], "label": ["s1", "s2", "s3", "s4", "s5"],
        "exclusion_reason": [None, None, "no CI", None, None],
    })
    with pytest.warns(UserWarning, match=r"subgroups \['b'\] have one study"):
        res = subgroup_analysis(frame, by="g", labels="label")
    assert res.excluded == (("s3", "no CI"), ("s4", "no value in 'g'"))
    t = res.table()
    assert list(t["subgroup"]) == ["a", "b", "Overall"] and list(t["k"]) == [2, 1, 3]
    assert "Test for subgroup differences" in str(res) and "<table" in res._repr_html_()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(by="nope"), r"by='nope' is not a column of data"),
        (dict(by="g", labels="nope"), r"labels='nope' is not a column of data"),
        (dict(by="g", tau2="pooled"), r"tau2='pooled' is not one of the allowed values: 'separate'"),
        (dict(by="g", order=["zz"]), r"order names subgroups \['zz'\] that are not in 'g'"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    frame = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03], "g": ["a", "a", "b"]})
    with pytest.raises(ValueError, match=message):
        subgroup_analysis(frame, **kwargs)
