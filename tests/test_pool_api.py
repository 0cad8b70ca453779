"""metaoutcome.pooling: call forms, bad input, edge cases and the result's views."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from metaoutcome.pooling import pool, pool_mh, pool_peto
from metaoutcome.results import PoolResult

YI = np.array([-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713, -0.3394,
               0.4459, -0.0173])  # fmt: skip
VI = np.array([0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124, 0.5325,
               0.0714])  # fmt: skip
REQUIRED_FIELDS = (
    "k estimate se statistic pvalue ci_low ci_high pi_low pi_high tau2 tau2_se tau2_ci_low tau2_ci_high tau "
    "tau_ci_low tau_ci_high i2 i2_ci_low i2_ci_high h2 h2_ci_low h2_ci_high q q_df q_pvalue weights method "
    "ci_method level measure converged iterations yi vi labels ni excluded"
).split()


def test_result_declares_the_fields_consumers_rely_on() -> None:
    names = [f.name for f in dataclasses.fields(PoolResult)]
    assert names[: len(REQUIRED_FIELDS) - 5] == REQUIRED_FIELDS[:-5]
    assert set(REQUIRED_FIELDS) <= set(names)


def test_result_is_frozen_and_arrays_read_only() -> None:
    res = pool(YI, VI)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.weights[0] = 1.0
    assert math.isclose(float(res.weights.sum()), 100.0)


# ------------------------------------------------------------------------------------------------
# call forms
# ------------------------------------------------------------------------------------------------


def test_sei_equals_vi() -> None:
    a, b = pool(YI, VI), pool(YI, sei=np.sqrt(VI))
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-10)


def test_frame_from_effect_size_step_reports_exclusions() -> None:
    frame = pd.DataFrame(
        {
            "trial_id": ["A", "B", "C", "D", "E"],
            "yi": [0.1, np.nan, 0.3, 0.2, np.nan],
            "vi": [0.04, np.nan, 0.05, 0.02, 0.03],
            "measure": "HR",
            "exclusion_reason": ["", "hazard ratio not reported", "", "", ""],
        }
    )
    frame.attrs["measure"] = "HR"
    with pytest.warns(UserWarning, match=r"2 of 5 rows excluded.*row 1 \(B\): hazard ratio not reported.*row 4 \(E\): yi missing"):
        res = pool(frame)
    assert res.k == 3
    assert res.measure == "HR"
    assert res.labels == ("A", "C", "D")
    assert [(e.row, e.label) for e in res.excluded] == [(1, "B"), (4, "E")]
    assert res.excluded[0].reason == "hazard ratio not reported"
    assert any("excluded" in n for n in res.notes)
    s = res.summary()
    assert list(s["row_type"]) == ["study"] * 3 + ["pooled"] + ["excluded"] * 2
    assert s.loc[s["row_type"] == "excluded", "exclusion_reason"].tolist() == ["hazard ratio not reported", "yi missing"]
    # back-transformed: hazard ratios
    pooled = s.loc[s["row_type"] == "pooled"].iloc[0]
    assert pooled["estimate_natural"] == pytest.approx(math.exp(res.estimate))


def test_data_with_column_names() -> None:
    df = pd.DataFrame({"y": YI, "v": VI, "study": [f"s{i}" for i in range(13)]})
    res = pool("y", "v", data=df, labels="study", measure="RR")
    assert res.labels[0] == "s0"
    assert res.estimate == pytest.approx(pool(YI, VI).estimate, rel=1e-12)


def test_measure_defaults_to_generic_and_unknown_measure_is_rejected() -> None:
    assert pool(YI, VI).measure == "GEN"
    with pytest.raises(ValueError, match="measure='XYZ' is not one of the allowed values"):
        pool(YI, VI, measure="XYZ")


def test_pft_back_transform_uses_harmonic_mean() -> None:
    xi, ni = np.array([10, 20, 15]), np.array([40, 60, 50])
    yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
    vi = 1 / (4 * ni + 2)
    res = pool(yi, vi, measure="PFT", ni=ni)
    nat = res.back_transform()
    from metaoutcome.measures import get_measure

    hm = 1 / np.mean(1 / ni)
    assert nat.estimate == pytest.approx(100 * float(get_measure("PFT").back(res.estimate, ni=hm)))
    with pytest.warns(UserWarning, match="needs ni"):
        res2 = pool(yi, vi, measure="PFT")
    assert math.isnan(res2.back_transform().estimate)


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(yi=[0.1, np.nan], vi=[0.1, 0.1]), r"yi must be a number .*positions \[1\]"),
        (dict(yi=[0.1, np.inf], vi=[0.1, 0.1]), r"yi must be finite"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.0]), r"vi must be > 0"),
        (dict(yi=[0.1, 0.2], vi=[0.1, -1.0]), r"vi must be > 0"),
        (dict(yi=[0.1, 0.2], vi=[0.1, np.nan]), r"vi must be a number"),
        (dict(yi=[0.1, 0.2], vi=[0.1]), r"lengths differ: yi has 2, vi has 1"),
        (dict(yi=[], vi=[]), r"k=0"),
        (dict(yi=[0.1], vi=[0.1], method="XX"), r"method='XX' is not one of the allowed values: 'FE', 'EE', 'CE', 'DL'"),
        (dict(yi=[0.1], vi=[0.1], ci_method="hk"), r"ci_method='hk' is ambiguous: .*'knha'.*'adhoc'"),
        (dict(yi=[0.1], vi=[0.1], pi_method="x"), r"pi_method='x' is not one of the allowed values"),
        (dict(yi=[0.1], vi=[0.1], level=0), r"level=0 is not a confidence level"),
        (dict(yi=[0.1], vi=[0.1], level=100), r"level=100 is not a confidence level"),
        (dict(yi=[0.1], vi=[0.1], level=0.95 * 200), r"level=190.0 is not a confidence level"),
        (dict(yi=[0.1]), r"give the sampling variances vi= or the standard errors sei="),
        (dict(yi=[0.1], vi=[0.1], sei=[0.3]), r"either vi= or sei="),
        (dict(yi=[0.1, 0.2], sei=[0.1, -0.2]), r"sei must be > 0"),
    ],
    ids=[
        "nan-yi", "inf-yi", "zero-vi", "negative-vi", "nan-vi", "mismatched-lengths", "k0", "unknown-method",
        "unknown-ci-method", "unknown-pi-method", "level-0", "level-100", "level-190", "no-variance",
        "both-vi-sei", "negative-sei",
    ],
)  # fmt: skip
def test_bad_input_raises_value_error(kwargs: dict, match: str) -> None:
    yi = kwargs.pop("yi")
    with pytest.raises(ValueError, match=match):
        pool(yi, **kwargs)


def test_all_rows_excluded_is_k0() -> None:
    frame = pd.DataFrame({"yi": [np.nan, np.nan], "vi": [np.nan, 0.1]})
    with pytest.raises(ValueError, match=r"k=0.*all 2 rows were excluded"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool(frame)


def test_frame_with_nonpositive_vi_is_an_error_not_an_exclusion() -> None:
    frame = pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.1, 0.0]})
    with pytest.raises(ValueError, match="vi must be > 0"):
        pool(frame)


# ------------------------------------------------------------------------------------------------
# edge cases
# ------------------------------------------------------------------------------------------------


def test_k1_is_the_study_itself_with_undefined_heterogeneity() -> None:
    with pytest.warns(UserWarning, match="k = 1.*heterogeneity.*undefined"):
        res = pool([0.42], [0.09], ci_method="z")
    assert res.estimate == 0.42 and res.se == pytest.approx(0.3)
    assert math.isnan(res.tau2) and math.isnan(res.i2) and math.isnan(res.q) and res.q_df == 0
    assert math.isnan(res.pi_low)
    assert res.weights.tolist() == [100.0]
    with pytest.warns(UserWarning, match="k = 1: ci_method='knha' needs k >= 2"):
        res = pool([0.42], [0.09], ci_method="knha")
    assert res.ci_method == "z"
    assert res.ci_low == pytest.approx(0.42 - 1.959963984540054 * 0.3)
    str(res)  # renders


@pytest.mark.parametrize("method", ["DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"])
def test_k2(method: str) -> None:
    res = pool([0.1, 0.9], [0.04, 0.09], method=method, ci_method="knha")
    assert res.k == 2 and res.q_df == 1
    assert res.tau2 >= 0 and 0 <= res.i2 < 100
    assert res.ci_low < res.estimate < res.ci_high


@pytest.mark.parametrize("method", ["DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"])
def test_identical_estimates_give_tau2_zero(method: str) -> None:
    res = pool([0.3, 0.3, 0.3, 0.3], [0.01, 0.1, 0.5, 1.0], method=method)
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert res.estimate == pytest.approx(0.3)
    # Q = 0 < lower chi-square quantile: the Q-profile CI is empty, reported as [0, 0] (metafor's ci.null)
    assert res.tau2_ci_empty and res.tau2_ci_low == 0 and res.tau2_ci_high == 0


def test_identical_estimates_with_knha_warns_about_zero_width() -> None:
    with pytest.warns(UserWarning, match="variance factor is 0"):
        res = pool([0.3, 0.3, 0.3], [0.01, 0.1, 0.5], ci_method="knha")
    assert res.se == 0.0 and res.ci_low == res.ci_high == pytest.approx(0.3)
    res = pool([0.3, 0.3, 0.3], [0.01, 0.1, 0.5], ci_method="adhoc")
    assert res.se > 0


def test_one_huge_variance_gets_negligible_weight() -> None:
    res = pool([0.1, 0.5, -0.2, 0.3, 0.8, 2.0], [0.02, 0.05, 0.03, 0.04, 0.06, 1e4])
    assert res.weights[-1] < 1e-3
    ref = pool([0.1, 0.5, -0.2, 0.3, 0.8], [0.02, 0.05, 0.03, 0.04, 0.06])
    assert res.estimate == pytest.approx(ref.estimate, abs=1e-4)


def test_common_effect_with_knha_warns() -> None:
    with pytest.warns(UserWarning, match="not meant for a common-effect model"):
        pool(YI, VI, method="FE", ci_method="knha")


def test_upper_qprofile_bound_at_search_limit_is_flagged() -> None:
    with pytest.warns(UserWarning, match="beyond the search limit 100"):
        res = pool([0.0, 3.0], [0.01, 0.01], method="DL")
    assert res.tau2_ci_signs == ("", ">") and res.tau2_ci_high == 100.0
    res2 = pool([0.0, 3.0], [0.01, 0.01], method="DL", tau2_ci_max=1e6)
    assert res2.tau2_ci_high > 100 and res2.tau2_ci_signs == ("", "")


# ------------------------------------------------------------------------------------------------
# views
# ------------------------------------------------------------------------------------------------


def test_views_come_from_one_report() -> None:
    res = pool(YI, VI, measure="RR", ci_method="knha", labels=[f"T{i}" for i in range(13)])
    text = repr(res)
    assert text == str(res)
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    est, tau2 = f"{res.estimate:.4f}", f"{res.tau2:.4f}"
    assert est in text and tau2 in text and "Risk ratio" in text
    html = res._repr_html_()
    assert html.startswith("<div>") and est in html and tau2 in html
    md = res.to_markdown()
    assert f"- tau^2: {tau2}" in md and est in md
    assert res.to_latex().startswith("\\textbf{Random-Effects Model") and "\\begin{tabular}" in res.to_latex()
    s = res.summary()
    assert list(s.columns) == [
        "row_type", "label", "yi", "vi", "se", "ci_low", "ci_high", "pi_low", "pi_high", "weight",
        "estimate_natural", "ci_low_natural", "ci_high_natural", "pi_low_natural", "pi_high_natural",
        "exclusion_reason",
    ]  # fmt: skip
    assert s["weight"].iloc[:13].sum() == pytest.approx(100)
    assert s.loc[0, "estimate_natural"] == pytest.approx(math.exp(YI[0]))
    h = res.heterogeneity()
    assert list(h["statistic"]) == ["tau2", "tau", "i2", "h2"]


def test_percent_for_proportions() -> None:
    res = pool([-1.0, -0.5, 0.0], [0.05, 0.04, 0.06], measure="PLO")
    s = res.summary()
    assert s.loc[s["row_type"] == "pooled", "estimate_natural"].iloc[0] == pytest.approx(
        100 / (1 + math.exp(-res.estimate))
    )


# ------------------------------------------------------------------------------------------------
# Mantel-Haenszel / Peto input
# ------------------------------------------------------------------------------------------------


def test_mh_accepts_group_sizes_and_reports_missing_tables() -> None:
    a = pool_mh([4, 6, 3], None, [11, 29, 11], None, n1i=[123, 306, 231], n2i=[139, 303, 220], measure="OR")
    b = pool_mh([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209], measure="OR")
    assert a.estimate == pytest.approx(b.estimate)
    with pytest.warns(UserWarning, match=r"1 of 4 tables excluded: row 2 \(c\): missing count"):
        c = pool_mh([4, 6, np.nan, 3], [119, 300, 1, 228], [11, 29, 1, 11], [128, 274, 1, 209], labels=list("abcd"))
    assert c.k == 3 and c.excluded[0].label == "c"
    with pytest.raises(ValueError, match="measure='HR' is not one of the allowed values: 'OR', 'RR', 'RD'"):
        pool_mh([1], [2], [3], [4], measure="HR")
    with pytest.raises(ValueError, match="ai must be >= 0"):
        pool_mh([-1], [2], [3], [4])


def test_peto_needs_events() -> None:
    with pytest.raises(ValueError, match="never occurred"):
        pool_peto([0, 0], [10, 10], [0, 0], [10, 10])


def test_double_zero_table_is_noted_not_dropped_silently() -> None:
    with pytest.warns(UserWarning, match=r"row 0 \(Study 1\): no events"):
        res = pool_mh([0, 2, 5], [20, 18, 45], [0, 4, 9], [22, 16, 41], measure="RD")
    assert res.k == 3 and math.isnan(res.yi[0]) and res.q_df == 1
