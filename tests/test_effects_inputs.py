"""Bad input, edge cases, p-value parsing and the DataFrame entry points of metaoutcome.effects."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metaoutcome import effects
from metaoutcome.effects import ConversionWarning, ExclusionWarning

# Hand-computed values below are checked to 1e-9 relative: they are closed-form expressions of
# the inputs, so only floating-point rounding separates them.
RTOL = 1e-9

# --- bad input: ValueError naming argument, positions and what is allowed ---------------------

BAD_INPUT = [
    pytest.param(lambda: effects.proportion_es([3, -1], [10, 10]),
                 "events must be >= 0 (a count); positions [1] are not (events: [-1.0])", id="negative-events"),
    pytest.param(lambda: effects.proportion_es([3, 12], [10, 10]),
                 "events must be <= n; positions [1] are not (events: [12.0], n: [10.0])", id="events-gt-n"),
    pytest.param(lambda: effects.proportion_es([0], [0]),
                 "n must be > 0 (a sample size); positions [0] are not", id="n-zero"),
    pytest.param(lambda: effects.proportion_es([1, 2], [10]),
                 "lengths differ: events has 2, n has 1; all must be equal", id="lengths"),
    pytest.param(lambda: effects.proportion_es([1], [10], measure="LOGIT"),
                 "measure='LOGIT' is not one of the allowed values: 'PR', 'PLN', 'PLO', 'PAS', 'PFT'",
                 id="measure"),
    pytest.param(lambda: effects.proportion_es([1], [10], to="zeros"),
                 "to='zeros' is not one of the allowed values: 'all', 'only0', 'if0all', 'none'", id="to"),
    pytest.param(lambda: effects.proportion_es([1], [10], measure="PLO", vtype="UB"),
                 "vtype='UB' is not one of the allowed values: 'LS', 'AV'", id="vtype"),
    pytest.param(lambda: effects.proportion_es([1], [10], add=-0.5),
                 "add=-0.5 must be a finite number >= 0", id="add"),
    pytest.param(lambda: effects.proportion_ci([1], [10], level=100),
                 "level=100 is not a confidence level", id="ci-level-100"),
    pytest.param(lambda: effects.two_arm_es("OR", ai=[5], n1i=[4], ci=[1], n2i=[10]),
                 "ai must be <= n1i; positions [0] are not (ai: [5.0], n1i: [4.0])", id="ai-gt-n1i"),
    pytest.param(lambda: effects.two_arm_es("OR", ai=[5], bi=[5], n1i=[11], ci=[1], di=[9]),
                 "n1i must be equal to ai + bi; positions [0] are not", id="n1i-inconsistent"),
    pytest.param(lambda: effects.two_arm_es("OR", ai=[5], ci=[1], di=[9]),
                 "give either bi (non-events) or n1i (group size)", id="missing-bi"),
    pytest.param(lambda: effects.hr_from_ci([0.7, 0.0], [0.5, 0.5], [0.9, 0.9]),
                 "hr must be > 0 (a hazard ratio); positions [1] are not (hr: [0.0])", id="hr-zero"),
    pytest.param(lambda: effects.hr_from_ci([0.7, -1.0], [0.5, 0.5], [0.9, 0.9]),
                 "hr must be > 0 (a hazard ratio); positions [1] are not (hr: [-1.0])", id="hr-negative"),
    pytest.param(lambda: effects.hr_from_ci([0.7, 0.7], [0.5, 0.9], [0.9, 0.5]),
                 "lower must be < upper (bounds reversed?); positions [1] are not", id="ci-reversed"),
    pytest.param(lambda: effects.hr_from_ci([0.7, 0.95], [0.5, 0.5], [0.9, 0.9]),
                 "hr must be within [lower, upper] (the CI must contain the estimate); positions [1] are not",
                 id="ci-not-containing"),
    pytest.param(lambda: effects.hr_from_ci([0.7], [0.5], [0.9], level=0),
                 "level=0 is not a confidence level",
                 id="level-0"),
    pytest.param(lambda: effects.hr_from_ci([0.7, 0.7], [0.5, 0.5], [0.9, 0.9], level=[95, 195]),
                 "level: positions [1] are not confidence levels (values: [195])",
                 id="level-195"),
    pytest.param(lambda: effects.hr_from_ci([0.7], [0.5], [0.9], level=[95, 95]),
                 "lengths differ: level has 2, expected 1", id="level-length"),
    pytest.param(lambda: effects.hr_from_ci([0.7], [0.5], [0.9], bounds="mid"),
                 "bounds='mid' is not one of the allowed values: 'both', 'lower', 'upper'", id="bounds"),
    pytest.param(lambda: effects.hr_from_p([0.7, 0.8], [0.0, 0.5]),
                 "p must be in (0, 1]; positions [0] are not (p: [0.0])", id="p-zero"),
    pytest.param(lambda: effects.hr_from_p([0.7, 0.8], [0.5, 1.2]),
                 "p must be in (0, 1]; positions [1] are not (p: [1.2])", id="p-gt-1"),
    pytest.param(lambda: effects.hr_from_p([0.7], [">0.05"]),
                 "p must be an exact value or an upper bound ('<'); a lower bound ('>') gives no usable SE",
                 id="p-lower-bound"),
    pytest.param(lambda: effects.hr_from_p([0.7, 0.8], ["0.01", "0.0.1"]),
                 "p_value at positions [1] cannot be read", id="p-unreadable"),
    pytest.param(lambda: effects.hr_from_logrank([1.0], [0.0]),
                 "v must be > 0 (a logrank variance); positions [0] are not", id="logrank-v"),
    pytest.param(lambda: effects.median_es([6.0], [7.0], [9.0]),
                 "median must be within [lower, upper] (the CI must contain the median); positions [0] are not",
                 id="median-outside-ci"),
    pytest.param(lambda: effects.median_es([6.0], [8.0], [5.0]),
                 "lower must be < upper (bounds reversed?); positions [0] are not", id="median-ci-reversed"),
    pytest.param(lambda: effects.median_es([0.0], [0.0], [5.0]),
                 "median must be > 0 (months); positions [0] are not", id="median-zero"),
    pytest.param(lambda: effects.median_es([5.6], [5.6], upper_nr=[True]),
                 "median must be > lower when the upper bound is not reached or missing", id="median-eq-lower-nr"),
    pytest.param(lambda: effects.two_arm_median_es([5.0], [4.0], lower1=[6.0], upper1=[7.0]),
                 "median1 must be within [lower1, upper1]", id="two-arm-median1"),
    pytest.param(lambda: effects.median_of_medians([1.0, 2.0], [1.0, 0.0]),
                 "weights must be > 0; positions [1] are not (values: [0.0])", id="mm-weights"),
    pytest.param(lambda: effects.median_of_medians([1.0, 2.0, 3.0], method="exact"),
                 "medians has k=3 values; the exact sign-test CI needs enough studies", id="mm-exact-k"),
    pytest.param(lambda: effects.median_of_medians([1.0, np.nan]),
                 "medians must be a number (not NaN/missing); positions [1] are not", id="mm-nan"),
]


@pytest.mark.parametrize(("call", "fragment"), BAD_INPUT)
def test_bad_input_message(call, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value)


# --- edge cases ---------------------------------------------------------------------------------


def test_zero_and_all_events_are_corrected_only_there() -> None:
    es = effects.proportion_es([0, 5, 10], [10, 10, 10], measure="PLO")
    assert es["corrected"].tolist() == [True, False, True]
    assert_allclose(es["yi"], [math.log(0.5 / 10.5), 0.0, math.log(10.5 / 0.5)], rtol=RTOL)
    assert es["ni"].tolist() == [10, 10, 10]  # before correction, for PFT back-transforms


def test_n_equal_one() -> None:
    es = effects.proportion_es([0, 1], [1, 1], measure="PR")
    assert_allclose(es["yi"], [0.25, 0.75], rtol=RTOL)  # (0 + 1/2) / (1 + 1)
    assert_allclose(es["vi"], [0.25 * 0.75 / 2] * 2, rtol=RTOL)


def test_pas_pft_have_no_correction_by_default() -> None:
    es = effects.proportion_es([0], [10], measure="PFT")
    assert not es["corrected"][0]
    assert_allclose(es["vi"], [1 / 42], rtol=RTOL)


def test_infinite_values_become_nan_with_warning() -> None:
    with pytest.warns(ConversionWarning, match=r"positions \[0\]"):
        es = effects.proportion_es([0, 3], [10, 10], measure="PLN", to="none")
    assert np.isnan(es.loc[0, "yi"]) and np.isnan(es.loc[0, "vi"])
    assert not np.isnan(es.loc[1, "yi"])


def test_missing_values_propagate_as_nan() -> None:
    es = effects.proportion_es([np.nan, 3], [10, 10])
    assert np.isnan(es.loc[0, "yi"]) and not np.isnan(es.loc[1, "yi"])


def test_result_records_measure() -> None:
    es = effects.proportion_es([3], [10], measure="pft")
    assert es.attrs["measure"] == "PFT" and es["measure"].tolist() == ["PFT"]


def test_proportion_ci_edges() -> None:
    ci = effects.proportion_ci([0, 10], [10, 10], method="clopper-pearson")
    assert ci.loc[0, "ci_low"] == 0.0 and ci.loc[1, "ci_high"] == 1.0
    ci = effects.proportion_ci([0], [10], method="wald")
    assert ci.loc[0, "ci_low"] == 0.0 and ci.loc[0, "ci_high"] == 0.0


def test_hr_ci_check_warns_and_flags() -> None:
    with pytest.warns(ConversionWarning, match=r"positions \[1\]"):
        es = effects.hr_from_ci([0.73, 0.50], [0.59, 0.42], [0.89, 0.90])
    assert es["ci_asymmetric"].tolist() == [False, True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effects.hr_from_ci([0.50], [0.42], [0.90], check=False)


def test_hr_ci_both_bounds_ignores_estimate_position() -> None:
    # metafor conv.wald: vi depends on the CI width only
    a = effects.hr_from_ci([0.60], [0.42], [0.90], check=False)
    b = effects.hr_from_ci([0.70], [0.42], [0.90], check=False)
    assert_allclose(a["vi"], b["vi"], rtol=RTOL)


def test_hr_from_p_undefined_variance_warns() -> None:
    with pytest.warns(ConversionWarning, match="p = 1 or hr = 1"):
        es = effects.hr_from_p([1.0, 0.8], [0.04, 1.0])
    assert np.isnan(es["vi"]).all()


# --- p-value parsing ---------------------------------------------------------------------------

PARSE = [
    ("0.0199", 0.0199, "="), ("<0.001", 0.001, "<"), ("P<0.0001", 0.0001, "<"), ("p = 0.005", 0.005, "="),
    ("p=.03", 0.03, "="), ("< .001", 0.001, "<"), ("≤0.05", 0.05, "<"), ("p ≥ 0.2", 0.2, ">"),
    (">0.05", 0.05, ">"), ("P-value < 0.001", 0.001, "<"), ("0·03", 0.03, "="), ("p<0·0001", 0.0001, "<"),
    ("1.2e-5", 1.2e-5, "="), ("1.2 × 10^-5", 1.2e-5, "="), ("3x10-4", 3e-4, "="), ("2×10⁻⁶", 2e-6, "="),
    ("0.02*", 0.02, "="), ("1", 1.0, "="), (0.04, 0.04, "="),
]


@pytest.mark.parametrize(("text", "value", "relation"), PARSE, ids=[str(p[0]) for p in PARSE])
def test_parse_p_value(text, value, relation) -> None:  # type: ignore[no-untyped-def]
    pv = effects.parse_p_value(text)
    assert pv.relation == relation
    assert_allclose(pv.value, value, rtol=RTOL)


@pytest.mark.parametrize("text", ["", "NS", "n.s.", "NR", None, float("nan")], ids=repr)
def test_parse_p_value_missing(text) -> None:  # type: ignore[no-untyped-def]
    pv = effects.parse_p_value(text)
    assert math.isnan(pv.value) and pv.relation is None and not pv.is_bound


@pytest.mark.parametrize(("text", "fragment"), [
    ("0.0.1", "is not a p-value that can be read"), ("p < 1.5", "must be in (0, 1]"),
    ("0", "must be in (0, 1]"), ("significant", "is not a p-value that can be read"),
])
def test_parse_p_value_errors(text, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as err:
        effects.parse_p_value(text)
    assert fragment in str(err.value)


def test_parse_p_values_coerce() -> None:
    out = effects.parse_p_values(["<0.001", "junk"], errors="coerce")
    assert out["p"].iloc[0] == 0.001 and np.isnan(out["p"].iloc[1])


# --- DataFrame entry points ----------------------------------------------------------------------


def proportions_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "row_id": ["a_orr", "b_orr", "c_orr", "d_orr"],
        "trial_id": ["a", "b", "c", "d"], "arm": ["x", "y", "z", "w"], "outcome": ["ORR"] * 4,
        "regimen_class": ["chemotherapy"] * 4,
        "events": [19, None, None, 0], "n": [67, 40, None, 12], "percent": [28.4, 25.0, 10.0, 0.0],
        "ci_low": [None] * 4, "ci_high": [None] * 4, "ci_level": [None] * 4,
    }).set_index("row_id")


def test_from_proportions_keeps_and_reports_unconvertible_rows() -> None:
    with pytest.warns(ExclusionWarning, match=r"row 'c_orr': n missing"):
        out = effects.from_proportions(proportions_frame(), measure="PLO")
    assert list(out.index) == ["a_orr", "b_orr", "c_orr", "d_orr"]  # nothing dropped
    assert out.attrs["measure"] == "PLO" and set(out["measure"]) == {"PLO"}
    assert out["events_derived"].tolist() == [False, True, False, False]
    assert np.isnan(out.loc["c_orr", "yi"])
    # the percent is there; what is missing is n, which turning it into events needs
    assert out.loc["c_orr", "exclusion_reason"] == "n missing; events missing (the percent gives events only with n)"
    assert pd.isna(out.loc["a_orr", "exclusion_reason"])
    ref = effects.proportion_es([19, 10, 0], [67, 40, 12], measure="PLO")
    assert_allclose(out.loc[["a_orr", "b_orr", "d_orr"], "yi"], ref["yi"], rtol=RTOL)
    assert_allclose(out.loc[["a_orr", "b_orr", "d_orr"], "vi"], ref["vi"], rtol=RTOL)


def test_from_proportions_invalid_raises_with_rows_or_excludes() -> None:
    df = proportions_frame()
    df.loc["a_orr", "events"] = 70
    with pytest.raises(ValueError) as err:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            effects.from_proportions(df)
    assert "column 'events' must be <= n; rows ['a_orr'] are not (events: [70.0], n: [67.0])" in str(err.value)
    with pytest.warns(ExclusionWarning):
        out = effects.from_proportions(df, on_invalid="exclude")
    assert out.loc["a_orr", "exclusion_reason"] == "events must be <= n"


def test_from_proportions_column_mapping() -> None:
    df = pd.DataFrame({"resp": [5, 7], "total": [20, 30]})
    out = effects.from_proportions(df, measure="PR", columns={"events": "resp", "n": "total", "percent": None})
    assert_allclose(out["yi"], [0.25, 7 / 30], rtol=RTOL)
    with pytest.raises(ValueError, match="columns has unknown keys \\['event'\\]"):
        effects.from_proportions(df, columns={"event": "resp"})
    with pytest.raises(ValueError, match="frame has no column 'events'"):
        effects.from_proportions(df)


def hazard_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "row_id": ["cm057_os", "kn010_os", "x_pfs", "y_os", "z_os"],
        "hr": [0.73, 0.61, 0.80, 0.70, None],
        "ci_low": [0.59, 0.49, None, None, None], "ci_high": [0.89, 0.75, None, None, None],
        "ci_level": [96, None, None, None, None],
        "p_value": ["0.002", "<0.001", "<0.001", ">0.05", "0.3"],
        "n_experimental": [292, 344, 100, 50, 60], "n_control": [290, 343, 100, 50, 60],
    }).set_index("row_id")


def test_from_hazard_ratios_sources_and_flags() -> None:
    with pytest.warns(ExclusionWarning) as rec:
        out = effects.from_hazard_ratios(hazard_frame())
    msg = str(rec[0].message)
    assert "row 'y_os'" in msg and "row 'z_os': hr missing" in msg
    assert out["se_source"].tolist()[:3] == ["ci", "ci", "p-value bound"]
    assert out["ci_level_assumed"].tolist() == [False, True, False, False, False]
    assert out["p_bound"].tolist() == [False, False, True, False, False]
    assert "lower bound ('>')" in out.loc["y_os", "exclusion_reason"]
    ref = effects.hr_from_ci([0.73, 0.61], [0.59, 0.49], [0.89, 0.75], level=[96, 95])
    assert_allclose(out["vi"].iloc[:2], ref["vi"], rtol=RTOL)
    assert_allclose(out.loc["x_pfs", "vi"], effects.hr_from_p([0.80], ["<0.001"])["vi"][0], rtol=RTOL)
    assert out["ni"].tolist()[:2] == [582, 687]
    assert out.attrs["measure"] == "HR"


def test_from_hazard_ratios_prefer_p() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = effects.from_hazard_ratios(hazard_frame(), prefer="p")
    assert out.loc["cm057_os", "se_source"] == "p-value"


def test_from_hazard_ratios_invalid_rows() -> None:
    df = hazard_frame()
    df.loc["cm057_os", "ci_low"] = 0.95
    with pytest.raises(ValueError) as err:
        effects.from_hazard_ratios(df)
    assert "column 'ci_low' must be < ci_high (bounds reversed?); rows ['cm057_os'] are not" in str(err.value)
    df = hazard_frame()
    df.loc["x_pfs", "p_value"] = "p approx 0.01"
    with pytest.raises(ValueError, match=r"column 'p_value' must be a readable p-value .* rows \['x_pfs'\]"):
        effects.from_hazard_ratios(df)
    with pytest.warns(ExclusionWarning):
        out = effects.from_hazard_ratios(df, on_invalid="exclude")
    assert "p_value must be a readable p-value" in out.loc["x_pfs", "exclusion_reason"]


def medians_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "row_id": ["a_os", "b_os", "c_pfs", "d_os", "e_os"],
        "median": [12.2, 19.9, 4.0, None, 5.5],
        "ci_low": [9.7, 16.8, None, None, None], "ci_high": [15.0, None, None, None, None],
        "ci_high_nr": ["false", "true", "false", "false", "false"], "ci_level": [95, 95, None, None, None],
        "n": [292, 150, 60, 40, 30], "events": [None, None, 48, None, None],
    }).set_index("row_id")


def test_from_medians_methods_and_exclusions() -> None:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = effects.from_medians(medians_frame())
    categories = {r.category for r in rec}
    assert categories == {ExclusionWarning, ConversionWarning}  # ConversionWarning: events approximation
    assert out["se_method"].tolist()[:3] == ["ci", "lower bound (upper not reached)", "events (exponential model)"]
    assert out["approximate"].tolist() == [False, False, True, False, False]
    assert "median missing" in out.loc["d_os", "exclusion_reason"]
    assert "no CI bound and no events" in out.loc["e_os", "exclusion_reason"]
    ref = effects.median_es([12.2, 19.9, 4.0], [9.7, 16.8, np.nan], [15.0, np.nan, np.nan],
                            upper_nr=[False, True, False], events=[np.nan, np.nan, 48])
    assert_allclose(out["vi"].iloc[:3], ref["vi"], rtol=RTOL)
    assert out.attrs["measure"] == "MED"


def test_from_medians_bad_row_names_row() -> None:
    df = medians_frame()
    df.loc["a_os", "ci_low"] = 13.0
    with pytest.raises(ValueError) as err:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            effects.from_medians(df)
    assert "column 'median' must be within [ci_low, ci_high]" in str(err.value)
    assert "rows ['a_os']" in str(err.value)


def test_frame_must_be_dataframe() -> None:
    with pytest.raises(ValueError, match="frame must be a pandas DataFrame; got list"):
        effects.from_medians([1, 2])  # type: ignore[arg-type]


# --- median of medians ---------------------------------------------------------------------------


def test_median_of_medians_weighted_equals_expanded_sample() -> None:
    y = np.array([5.2, 3.1, 0.5, 0.8, 3.5])
    w = np.array([3, 1, 2, 1, 2])
    r = effects.median_of_medians(y, w)
    assert_allclose(r.estimate, np.median(np.repeat(y, w)), rtol=RTOL)
    assert r.weighted and r.to_frame().shape == (1, 7)
