"""Subgroup analysis against metafor (tests/reference/make_subgroup_fixtures.R).

Cases without a ``tau2`` field use a separate tau^2 per subgroup; cases with ``"tau2": "common"``
are the mixed-effects model with the subgroup factor (``tau2="common"``).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metaoutcome.subgroups import SubgroupResult, subgroup_analysis

FIXTURE = json.loads((Path(__file__).parent / "reference" / "subgroup_fixtures.json").read_text())
CASES = FIXTURE["cases"]
SEPARATE = [c for c in CASES if c.get("tau2", "separate") == "separate"]
COMMON = [c for c in CASES if c.get("tau2") == "common"]
# the brief's tolerance for statistics shared with metafor
RTOL = 1e-6
# tau^2 (and quantities that vanish with it) at the boundary 0: compare absolutely
ATOL_ZERO = 1e-10
EXPECTED_IDS = {
    "bcg_alloc_REML_z", "bcg_alloc_REML_knha", "bcg_alloc_DL_z", "bcg_alloc_DL_knha",
    "plo_two_groups_REML", "plo_two_groups_DL", "plo_two_groups_FE",
    *(f"common_bcg_alloc_{m}_{t}" for m in ("REML", "DL") for t in ("z", "knha")),
    "common_hcc_orr_regimen_REML_z", "common_hcc_orr_regimen_REML_knha",
    "common_homog_single_REML_z", "common_homog_single_REML_knha",
}


def num(x: Any) -> float:
    """A fixture number; jsonlite writes R's NA as the string "NA"."""
    return math.nan if x is None or x == "NA" else float(x)


def _frame(case: dict) -> pd.DataFrame:
    return pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "g": case["group"],
                         "label": [f"s{i}" for i in range(len(case["yi"]))]})


def _fit(case: dict, **kw: Any) -> SubgroupResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return subgroup_analysis(_frame(case), by="g", labels="label", method=case["method"], ci_method=case["test"],
                                 tau2=case.get("tau2", "separate"), **kw)


def test_case_grid_is_complete() -> None:
    assert {c["id"] for c in CASES} == EXPECTED_IDS
    assert FIXTURE["metafor_version"] and FIXTURE["r_version"].startswith("R version")
    assert all(c["call"] for c in CASES)


@pytest.mark.parametrize("case", SEPARATE, ids=[c["id"] for c in SEPARATE])
def test_matches_metafor(case: dict) -> None:
    res = _fit(case)
    assert res.tau2_mode == "separate" and math.isnan(res.tau2_common)
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


def _check_common(res: SubgroupResult, case: dict) -> None:
    assert res.tau2_mode == "common"
    assert list(res.results) == [s["group"] for s in case["subgroups"]]
    assert_allclose(res.tau2_common, case["tau2_common"], rtol=RTOL, atol=ATOL_ZERO)
    # between: QM (chi^2, z) or F (knha) of rma(yi, vi, mods = ~ factor(g))
    assert_allclose(res.q_between, case["q_between"], rtol=RTOL)
    assert res.q_between_df == case["q_between_df"]
    assert_allclose(res.q_between_df2, num(case["q_between_df2"]), rtol=RTOL)
    assert res.between_test == ("Q" if case["test"] == "z" else "F")
    assert_allclose(res.q_between_pvalue, case["q_between_pvalue"], rtol=RTOL)
    # within: QE of the model
    assert_allclose(res.q_within, case["q_within"], rtol=RTOL)
    assert res.q_within_df == case["q_within_df"]
    assert_allclose(res.q_within_pvalue, case["q_within_pvalue"], rtol=RTOL)
    for sub in case["subgroups"]:
        r = res.results[sub["group"]]
        assert r.k == sub["k"]
        for name in ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high"):
            assert_allclose(getattr(r, name), sub[name], rtol=RTOL, err_msg=f"{sub['group']} {name}")
        assert_allclose(r.tau2, case["tau2_common"], rtol=RTOL, atol=ATOL_ZERO)
        if sub["k"] > 1:
            assert r.q_df == sub["q_df"]
            assert_allclose(r.q, sub["q"], rtol=RTOL)
            assert_allclose(r.q_pvalue, num(sub["q_pvalue"]), rtol=RTOL)
            assert_allclose(r.i2, num(sub["i2"]), rtol=RTOL, atol=1e-8)
        else:  # heterogeneity of one study is undefined (metafor prints Q = 0)
            assert math.isnan(r.q) and math.isnan(r.i2) and sub["q"] == 0
        assert_allclose(np.sum(r.weights), 100.0, rtol=1e-12)
    assert_allclose(res.overall.estimate, case["overall_estimate"], rtol=RTOL)
    assert_allclose(res.overall.tau2, case["overall_tau2"], rtol=RTOL, atol=ATOL_ZERO)


@pytest.mark.parametrize("case", COMMON, ids=[c["id"] for c in COMMON])
def test_common_tau2_matches_metafor(case: dict) -> None:
    _check_common(_fit(case), case)


def _hcc_pipeline() -> pd.DataFrame:
    import metaoutcome as mo
    from metaoutcome import effects

    orr = mo.load_dataset("proportions", cancer="HCC", outcome="ORR", with_trials=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return effects.from_proportions(orr, measure="PLO")


@pytest.mark.parametrize("case", [c for c in COMMON if c["id"].startswith("common_hcc")], ids=lambda c: c["id"])
def test_bundled_hcc_data_through_the_pipeline(case: dict) -> None:
    """The bundled table, through the effect-size step, gives metafor's rows and numbers."""
    es = _hcc_pipeline()
    used = es[es["yi"].notna()].set_index("row_id").loc[case["row_id"]]
    assert_allclose(used["yi"].to_numpy(float), case["yi"], rtol=1e-12)
    assert_allclose(used["vi"].to_numpy(float), case["vi"], rtol=1e-12)
    assert list(used["regimen_class"]) == case["group"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroup_analysis(es, by="regimen_class", labels="row_id", method=case["method"],
                                ci_method=case["test"], tau2="common")
    _check_common(res, case)
    assert {lab for lab, _ in res.excluded} == set(es.loc[es["yi"].isna(), "row_id"])


@pytest.mark.parametrize("case", [c for c in COMMON if c["test"] == "z"], ids=lambda c: c["id"])
def test_common_z_test_is_q_of_the_subgroup_estimates(case: dict) -> None:
    """For z tests QM equals Q_b computed from the common-tau^2 estimates and SEs (R meta's Q)."""
    from metaoutcome.subgroups import _between

    res = _fit(case)
    q, df, p = _between([r.estimate for r in res.results.values()], [r.se for r in res.results.values()])
    assert_allclose([q, p], [res.q_between, res.q_between_pvalue], rtol=1e-9)
    assert df == res.q_between_df


def test_common_effect_model_is_the_same_in_both_modes() -> None:
    case = next(c for c in SEPARATE if c["id"] == "plo_two_groups_FE")
    sep, com = _fit(case), _fit({**case, "tau2": "common"})
    for g in sep.results:
        assert_allclose([com.results[g].estimate, com.results[g].se], [sep.results[g].estimate, sep.results[g].se],
                        rtol=1e-12)
        assert com.results[g].tau2 == 0.0 and math.isnan(com.results[g].pi_low)
    assert_allclose(com.q_between, sep.q_between, rtol=1e-12)
    assert_allclose(com.q_within, sep.q_within, rtol=1e-12)


def test_mode_is_shown_in_table_text_html_markdown_and_forest() -> None:
    case = next(c for c in COMMON if c["id"] == "common_bcg_alloc_REML_knha")
    res = _fit(case)
    t = res.table()
    assert set(t["tau2_mode"]) == {"common"}
    assert_allclose(t["tau2"].iloc[:-1], res.tau2_common, rtol=1e-12)
    text = str(res)
    assert f"tau^2 common to all subgroups = {res.tau2_common:.4f}" in text
    assert f"F(2, 10) = {res.q_between:.4f}" in text
    assert "Residual heterogeneity within subgroups: QE(10)" in text
    assert "tau^2 common to all subgroups" in res._repr_html_() and "F(2, 10)" in res.to_markdown()
    fig = res.forest()
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    assert texts["text|subgroup-test"] == (
        f"Test for subgroup differences (common \u03c4\u00b2): F = {res.q_between:.2f}, df = (2, 10), p = 0.41")
    assert texts["label|pooled-0-0"] == "Random-effects model, common \u03c4\u00b2"
    # the figure is wide enough for the replaced line
    fig.canvas.draw()
    ext = next(t for t in fig.axes[0].texts if t.get_gid() == "text|subgroup-test").get_window_extent()
    assert ext.x1 <= fig.get_figwidth() * fig.dpi
    revman = res.forest(layout="revman")
    assert any("Subtotal (95% CI), common \u03c4\u00b2" in t.get_text() for t in revman.axes[0].texts)
    sep = _fit(next(c for c in SEPARATE if c["id"] == "bcg_alloc_REML_z"))
    assert "separate tau^2 per subgroup" in str(sep) and set(sep.table()["tau2_mode"]) == {"separate"}
    stexts = {t.get_gid(): t.get_text() for t in sep.forest().axes[0].texts if t.get_gid()}
    assert stexts["text|subgroup-test"].startswith("Test for subgroup differences: Q = ")


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
        (dict(by="g", tau2="pooled"), r"tau2='pooled' is not one of the allowed values: 'separate', 'common'"),
        (dict(by="g", tau2="foo"), r"tau2='foo' is not one of the allowed values: 'separate', 'common'"),
        (dict(by="g", order=["zz"]), r"order names subgroups \['zz'\] that are not in 'g'"),
        (dict(by="g", tau2="common", pi_method="hts"), r"pi_method='hts' is not available with tau2='common'"),
        (dict(by="g", tau2="common", ci_method="nope"), r"ci_method='nope' is not one of the allowed values"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    frame = pd.DataFrame({"yi": [0.1, 0.2, 0.3, 0.25], "vi": [0.01, 0.02, 0.03, 0.02], "g": ["a", "a", "b", "b"]})
    with pytest.raises(ValueError, match=message):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            subgroup_analysis(frame, **kwargs)


def test_common_tau2_needs_one_study_more_than_subgroups() -> None:
    frame = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03], "g": ["a", "b", "c"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"tau2='common' with 3 subgroups needs at least 4 studies"):
            subgroup_analysis(frame, by="g", tau2="common")
        res = subgroup_analysis(frame, by="g", tau2="common", method="FE")  # no tau^2 to estimate
    assert res.tau2_common == 0.0 and res.q_between_df == 2


def test_common_tau2_with_one_subgroup_is_the_overall_model() -> None:
    frame = pd.DataFrame({"yi": [0.1, 0.5, 0.3, 0.9], "vi": [0.02, 0.03, 0.02, 0.05], "g": ["a"] * 4})
    with pytest.warns(UserWarning, match="only one subgroup"):
        res = subgroup_analysis(frame, by="g", tau2="common")
    assert math.isnan(res.q_between) and res.q_between_df == 0
    assert_allclose([res.results["a"].estimate, res.tau2_common], [res.overall.estimate, res.overall.tau2], rtol=1e-9)
