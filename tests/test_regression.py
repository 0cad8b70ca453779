"""metaoutcome.regression against R metafor 3.8-1 (fixture: tests/reference/make_analysis_fixtures.R).

What differs from metafor and why
---------------------------------
=================================  ==============================================================
metafor                            metaoutcome
=================================  ==============================================================
redundant (constant / collinear)   ``ValueError`` naming the column: nothing is dropped silently
moderators dropped with a warning
rows with missing moderators       ``ValueError`` naming the column and rows
omitted with a warning
random permutations (R's RNG)      numpy's generator: same distribution, other draws; the exact
                                   test (all permutations) equals metafor's p-values
=================================  ==============================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metaoutcome.regression import (
    REGRESSION_METHODS,
    MetaRegressionResult,
    design_matrix,
    meta_regression,
    permutation_test,
)

from _reference import ANALYSIS as FIX
from _reference import as_array as _arr
from _reference import as_list as _list

#: The brief's agreement with metafor: relative 1e-6.
RTOL = 1e-6
#: Values that are 0 in exact arithmetic (tau^2 at the boundary, p-values near 0 or 1, a
#: coefficient near 0) differ by rounding noise of order 1e-15; compare them absolutely.
ATOL = 1e-10


def frame(name: str) -> pd.DataFrame:
    d = FIX["datasets"][name]
    df = pd.DataFrame({"yi": d["yi"], "vi": d["vi"], "label": _list(d["labels"])})
    for m, vals in (d["mods"] or {}).items():
        df[m] = _list(vals)
    return df


REG = FIX["regression"]
REG_IDS = [c["id"] for c in REG]

# (field of MetaRegressionResult, key in the fixture)
REG_FIELDS = [
    ("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval"), ("ci_low", "ci_lb"),
    ("ci_high", "ci_ub"), ("tau2", "tau2"), ("tau2_se", "se_tau2"), ("i2", "I2"), ("h2", "H2"), ("r2", "R2"),
    ("qe", "QE"), ("qe_pvalue", "QEp"), ("qm", "QM"), ("qm_pvalue", "QMp"), ("ll_ml", "ll_ml"), ("ll_reml", "ll_reml"),
]  # fmt: skip


@pytest.fixture(scope="module")
def fits() -> dict[str, MetaRegressionResult]:
    out = {}
    for c in REG:
        out[c["id"]] = meta_regression(frame(c["data"]), _list(c["mods"]), method=c["method"], test=c["test"])
    return out


@pytest.mark.parametrize("case", REG, ids=REG_IDS)
def test_regression_matches_metafor(case: dict[str, Any], fits: dict[str, MetaRegressionResult]) -> None:
    res = fits[case["id"]]
    assert list(res.terms) == _list(case["coef_names"])
    for attr, key in REG_FIELDS:
        want = _arr(case[key])
        got = np.atleast_1d(np.asarray(getattr(res, attr), dtype=float))
        if attr == "tau2_se" and case["method"] in ("FE",):
            continue
        assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {attr}")
    assert_allclose(res.vcov, np.array(case["vb"], dtype=float).reshape(res.p, res.p), rtol=RTOL, atol=ATOL)
    assert res.qe_df == case["QE_df"]
    assert res.qm_df1 == _arr(case["QMdf"])[0]
    if case["test"] == "knha":
        assert res.qm_df2 == _arr(case["QMdf"])[1] == res.df


def test_regression_case_grid_is_complete() -> None:
    models = {(c["data"], tuple(_list(c["mods"]))) for c in REG}
    grid = {(d, m, meth, t) for d, m in models for meth in ("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM") for t in ("z", "knha")}
    have = {(c["data"], tuple(_list(c["mods"])), c["method"], c["test"]) for c in REG}
    assert have == grid
    assert len(models) >= 7
    assert {"DL", "HE", "SJ", "ML", "REML", "EB", "PM"} <= set(REGRESSION_METHODS)
    assert FIX["meta"]["metafor_version"] == "3.8.1" or FIX["meta"]["metafor_version"].startswith("3.8")
    assert "R version" in FIX["meta"]["r_version"]
    assert all(c["call"].startswith("rma(") for c in REG)


# ------------------------------------------------------------------------------------------------
# permutation tests: the exact p-values must equal metafor's
# ------------------------------------------------------------------------------------------------

PERM = FIX["permutest"]


@pytest.mark.parametrize("case", PERM, ids=[c["id"] for c in PERM])
def test_exact_permutation_test_matches_metafor(case: dict[str, Any]) -> None:
    res = meta_regression(frame(case["data"]), _list(case["mods"]), method=case["method"], test=case["test"])
    pt = permutation_test(res, exact=True)
    assert pt.exact and pt.iterations == case["iterations"]
    # p-values are counts / iterations: equal exactly up to float rounding
    assert_allclose(pt.pvalue, _arr(case["pval"]), rtol=1e-12, atol=1e-12)
    assert_allclose(pt.qm_pvalue, case["QMp"], rtol=1e-12, atol=1e-12)


def test_permutation_test_random_is_seeded_and_reports_progress() -> None:
    df = frame("bcg")
    res = meta_regression(df, ["ablat"], method="DL")
    seen: list[tuple[int, int]] = []
    a = permutation_test(res, iter=50, seed=1, progress=lambda d, t: seen.append((d, t)))
    b = permutation_test(res, iter=50, seed=1)
    assert not a.exact and a.iterations == 50 and a.seed == 1
    assert_allclose(a.pvalue, b.pvalue)
    assert seen[-1] == (50, 50)
    assert 0 < a.qm_pvalue <= 1
    assert a.qm_perm[0] == pytest.approx(res.qm)  # the first arrangement is the observed one
    assert "Permutation test" in repr(a)


def test_permutation_test_text_progress(capsys: pytest.CaptureFixture[str]) -> None:
    res = meta_regression(frame("onco"), ["line"], method="DL")
    permutation_test(res, progress=True)
    assert "permutations: 35/35" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# inputs and edge cases
# ------------------------------------------------------------------------------------------------


def test_design_matrix_is_treatment_coded_like_r() -> None:
    df = pd.DataFrame({"a": ["x", "z", "y", "x", "y", "z"], "b": [1.0, 2.0, 3.0, 5.0, 1.0, 0.0],
                       "c": pd.Categorical(["q", "p", "q", "p", "p", "q"], categories=["q", "p"])})
    X, names = design_matrix(df, ["a", "b", "c"])
    assert names == ("intrcpt", "ay", "az", "b", "cp")
    assert_allclose(X[:, 1], [0, 0, 1, 0, 1, 0])
    assert_allclose(X[:, 4], [0, 1, 0, 1, 1, 0])


def test_design_matrix_input_equals_mods_input() -> None:
    df = frame("bcg")
    a = meta_regression(df, ["ablat", "alloc"])
    X, names = design_matrix(df, ["ablat", "alloc"])
    b = meta_regression(yi=df["yi"], vi=df["vi"], X=pd.DataFrame(X, columns=names))
    assert a.terms == b.terms
    assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    assert a.qm == pytest.approx(b.qm, rel=1e-12)


def test_constant_moderator_is_a_clear_error() -> None:
    df = frame("bcg").assign(const=3.0, one="a")
    with pytest.raises(ValueError, match="'const' is constant"):
        meta_regression(df, ["ablat", "const"])
    with pytest.raises(ValueError, match="'one' is constant"):
        meta_regression(df, ["one"])


def test_unknown_column_names_the_columns() -> None:
    with pytest.raises(ValueError, match="'latitude' is not a column of data; the columns are"):
        meta_regression(frame("bcg"), ["latitude"])


def test_missing_moderator_rows_excluded_and_reported() -> None:
    """One rule for missing values (the front door): the row is excluded and reported, as pool does
    with a missing yi and as metafor drops rows with a missing moderator (with a warning)."""
    df = frame("bcg")
    df.loc[[2, 5], "ablat"] = np.nan
    with pytest.warns(UserWarning, match=r"2 of 13 rows excluded from the meta-regression: row 2 \(.*\): no value in 'ablat'; row 5"):
        res = meta_regression(df, ["ablat"])
    assert [(e.row, e.reason) for e in res.excluded] == [(2, "no value in 'ablat'"), (5, "no value in 'ablat'")]
    ref = meta_regression(df.drop(index=[2, 5]), ["ablat"])
    np.testing.assert_array_equal(res.estimate, ref.estimate)
    assert res.k == 11


def test_bad_method_and_test_list_allowed_values() -> None:
    with pytest.raises(ValueError, match="method='XX' is not one of the allowed values"):
        meta_regression(frame("bcg"), ["ablat"], method="XX")
    with pytest.raises(ValueError, match="test='wald' is not one of the allowed values"):
        meta_regression(frame("bcg"), ["ablat"], test="wald")


def test_too_few_studies() -> None:
    df = frame("onco").iloc[:3]
    with pytest.raises(ValueError, match="too few"):
        meta_regression(df, ["line", "pdl1"])


def test_collinear_moderators() -> None:
    df = frame("bcg").assign(ablat2=lambda d: 2 * d["ablat"])
    with pytest.raises(ValueError, match="not of full rank"):
        meta_regression(df, ["ablat", "ablat2"])


def test_zero_tau2_regression() -> None:
    res = meta_regression(frame("homog"), ["dose"])
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert res.r2 == 0.0  # intercept-only tau^2 is 0 too: metafor reports R^2 = 0


def test_saturated_common_effect_regression_has_nan_r2() -> None:
    # k = p: the adjusted R^2 divides by k - p = 0; metafor 3.8-1 reports R2 = NaN for
    # rma(c(.1, .5), c(.02, .03), mods = ~ c(1, 2), method = "FE")
    df = pd.DataFrame({"yi": [0.1, 0.5], "vi": [0.02, 0.03], "x": [1.0, 2.0]})
    res = meta_regression(df, ["x"], method="FE")
    assert np.isnan(res.r2) and res.k == res.p == 2


def test_result_is_frozen_tidy_and_displayable() -> None:
    res = meta_regression(frame("bcg"), ["ablat", "alloc"], test="knha")
    t = res.table()
    assert list(t.columns) == ["term", "estimate", "se", "statistic", "df", "pvalue", "ci_low", "ci_high"]
    assert t.shape == (4, 8)
    assert "F (df1 = 3, df2 = 9)" in repr(res)
    assert "<table>" in res._repr_html_()
    assert res.to_markdown().startswith("**Mixed-Effects Model")
    assert set(res.heterogeneity()["statistic"]) >= {"tau2", "qm", "qe", "r2"}
    with pytest.raises(AttributeError):
        res.tau2 = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.estimate[0] = 1.0
