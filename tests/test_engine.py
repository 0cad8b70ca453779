"""The one model engine (metaoutcome.engine) and the metafor features built on it.

* The intercept-only fast path (closed-form sums) against the general path (the same model with
  ``X`` a column of ones, through batched p x p algebra), for every estimator and the Q-profile CI.
* Against R metafor 3.8-1 (fixture: tests/reference/make_engine_fixtures.R -> engine_fixtures.json):
  the Q-profile CI after a meta-regression; Cochran's (CO), CMH, Breslow-Day and Tarone tests of
  ``rma.mh``; leave-one-out and cumulative analyses of ``rma.mh`` and ``rma.peto`` fits;
  ``cumul(..., collapse = TRUE)``; the hat and weight matrices and ``rstudent``; ``regtest`` with
  every model and predictor.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome.engine import estimate_tau2_many, fit_rma, q_profile_ci_many
from metaoutcome.engine.estimators import METHODS, TAU2_METHODS
from metaoutcome.engine.fit import fit_many
from metaoutcome.engine.solver import zero_stats
from metaoutcome.engine.stack import Stack, stack_groups

from _reference import ENGINE as FIX
from _reference import as_array as _arr

#: The brief's agreement with metafor: relative 1e-6.
RTOL = 1e-6
#: Values that are 0 in exact arithmetic differ by rounding noise; compare them absolutely.
ATOL = 1e-10
#: fast path vs general path: the same maths in another order of operations
RTOL_PATHS = 1e-9

D = FIX["data"]
YI, VI, NI = np.array(D["yi"]), np.array(D["vi"]), np.array(D["ni"])
TABLES = [np.array(D[c], dtype=float) for c in ("tpos", "tneg", "cpos", "cneg")]


def test_fixture_records_versions() -> None:
    assert FIX["metafor_version"].startswith("3.8") and FIX["r_version"].startswith("R version 4.2")


# ------------------------------------------------------------------------------------------------
# the fast path is the general path with X = 1
# ------------------------------------------------------------------------------------------------


def _random_stack(seed: int, groups: int = 40) -> Stack:
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 12, size=groups)
    codes = np.repeat(np.arange(groups), k)
    v = 10 ** rng.uniform(-3, 0, codes.size)
    y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5], groups)[codes]))
    return stack_groups(y, v, codes, groups)


def _with_ones(s: Stack) -> Stack:
    return Stack(s.y, s.v, s.k, s.mask[:, :, None].astype(float))


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_equals_general_path(method: str, seed: int) -> None:
    s = _random_stack(seed)
    fast = estimate_tau2_many(s, method)
    general = estimate_tau2_many(_with_ones(s), method)
    assert_allclose(general.tau2, fast.tau2, rtol=RTOL_PATHS, atol=1e-13)
    assert_allclose(general.se, fast.se, rtol=RTOL_PATHS, atol=1e-13)
    assert general.converged.all() and fast.converged.all()


def test_zero_stats_and_q_profile_fast_equals_general() -> None:
    s = _random_stack(3)
    for a, b in zip(zero_stats(s), zero_stats(_with_ones(s))):
        assert_allclose(b, a, rtol=RTOL_PATHS)
    t = estimate_tau2_many(s, "REML").tau2
    fast, general = q_profile_ci_many(s, t), q_profile_ci_many(_with_ones(s), t)
    assert_allclose(general.low, fast.low, rtol=RTOL_PATHS, atol=1e-13)
    assert_allclose(general.high, fast.high, rtol=RTOL_PATHS, atol=1e-13)


@pytest.mark.parametrize("method", METHODS)
def test_fit_rma_intercept_only_equals_pool(method: str) -> None:
    # meta-regression without moderators (the general fit with X = 1, not intercept-flagged, so
    # the general path runs) equals the pooled model of fit_many
    X = np.ones((YI.size, 1))
    f = fit_rma(YI, VI, X, method, "knha", 95.0, intercept=False, profile=True)
    many = fit_many(Stack(YI[None], VI[None], np.array([YI.size])), method, "knha", 0.05)
    assert_allclose(f.beta[0], many["estimate"][0], rtol=RTOL_PATHS)
    assert_allclose(f.se[0], many["se"][0], rtol=RTOL_PATHS)
    assert_allclose(f.tau2, many["tau2"][0], rtol=RTOL_PATHS, atol=1e-13)
    assert_allclose(f.qe, many["q"][0], rtol=RTOL_PATHS)
    if method not in ("FE", "EE", "CE"):
        assert_allclose(f.tau2_ci, (many["tau2_ci_low"][0], many["tau2_ci_high"][0]), rtol=RTOL_PATHS, atol=1e-13)
        assert_allclose(f.i2_ci, (many["i2_ci_low"][0], many["i2_ci_high"][0]), rtol=RTOL_PATHS, atol=1e-11)


# ------------------------------------------------------------------------------------------------
# Q-profile CI after a meta-regression (metafor confint(rma(yi, vi, mods = ...)))
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", FIX["qp_mods"], ids=[c["id"] for c in FIX["qp_mods"]])
def test_q_profile_ci_after_meta_regression(case: dict[str, Any]) -> None:
    X = np.array(case["X"], dtype=float)
    res = mo.meta_regression(yi=YI, vi=VI, X=X, method=case["method"], test=case["test"],
                             intercept=case["mods"] != "alloc_noint")  # fmt: skip
    assert_allclose(res.tau2, case["tau2"], rtol=RTOL, atol=ATOL)
    ci = res.confint().set_index("statistic")
    for stat, key in (("tau2", "tau2_ci"), ("tau", "tau_ci"), ("i2", "i2_ci"), ("h2", "h2_ci")):
        assert_allclose(ci.loc[stat, ["ci_low", "ci_high"]].to_numpy(float), _arr(case[key]), rtol=RTOL, atol=ATOL)


def test_q_profile_cases_cover_every_estimator() -> None:
    got = {(c["mods"], c["method"]) for c in FIX["qp_mods"]}
    assert got == {(m, e) for m in ("ablat", "ablat_year_knha", "alloc_noint") for e in TAU2_METHODS}


def test_common_effect_meta_regression_has_no_tau2_interval() -> None:
    res = mo.meta_regression(yi=YI, vi=VI, X=np.column_stack([np.ones(13), D["ablat"]]), method="FE")
    assert math.isnan(res.tau2_ci_low) and math.isnan(res.i2_ci_high)


# ------------------------------------------------------------------------------------------------
# Mantel-Haenszel tests; leave-one-out and cumulative of MH and Peto fits
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", FIX["mh_tests"], ids=lambda c: f"correct={c['correct']}")
def test_mantel_haenszel_tests(case: dict[str, Any]) -> None:
    res = mo.pool_mh(*TABLES, measure="OR", correct=case["correct"])
    for ours, ref in (("co", "CO"), ("co_pvalue", "COp"), ("cmh", "MH"), ("cmh_pvalue", "MHp"), ("bd", "BD"),
                      ("bd_pvalue", "BDp"), ("tarone", "TA"), ("tarone_pvalue", "TAp")):  # fmt: skip
        assert_allclose(res.extra[ours], case[ref], rtol=RTOL, err_msg=ours)


def _fit_2x2(case: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mo.pool_mh(*TABLES, measure=case["measure"]) if case["fit"] == "mh" else mo.pool_peto(*TABLES)


REFIT_COLUMNS = [("estimate", "estimate"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval"),
                 ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "Q"), ("q_pvalue", "Qp"), ("i2", "I2"),
                 ("h2", "H2")]  # fmt: skip


@pytest.mark.parametrize("case", FIX["refits"], ids=[c["id"] for c in FIX["refits"]])
def test_leave_one_out_and_cumulative_of_mh_and_peto(case: dict[str, Any]) -> None:
    res = _fit_2x2(case)
    out = mo.leave_one_out(res) if case["what"] == "loo" else mo.cumulative(res, order=D["year"])
    tab = out.table()
    for ours, ref in REFIT_COLUMNS:
        assert_allclose(tab[ours].to_numpy(float), _arr(case[ref]), rtol=RTOL, atol=ATOL, err_msg=ours)


def test_refit_cases_cover_mh_measures_and_peto() -> None:
    got = {(c["what"], c["fit"], c["measure"]) for c in FIX["refits"]}
    assert got == {(w, "mh", m) for w in ("loo", "cumul") for m in ("OR", "RR", "RD")} | {
        ("loo", "peto", "OR"), ("cumul", "peto", "OR")}


@pytest.mark.parametrize("case", FIX["cumul_collapse"], ids=[c["id"] for c in FIX["cumul_collapse"]])
def test_cumulative_collapse(case: dict[str, Any]) -> None:
    res = mo.pool(YI, VI, method=case["method"])
    tab = mo.cumulative(res, order=D["ablat"], decreasing=case["decreasing"], collapse=True).table()
    assert tab["k"].tolist() == [int(x) for x in case["k"]]
    assert tab["added"].tolist() == [str(x) for x in np.array(case["order_values"], dtype=float).astype(int)]
    for ours, ref in REFIT_COLUMNS[:8] + [("tau2", "tau2"), ("i2", "I2"), ("h2", "H2")]:
        assert_allclose(tab[ours].to_numpy(float), _arr(case[ref]), rtol=RTOL, atol=ATOL, err_msg=ours)


def test_collapse_needs_order() -> None:
    with pytest.raises(ValueError, match="collapse=True needs order="):
        mo.cumulative(mo.pool(YI, VI), collapse=True)


# ------------------------------------------------------------------------------------------------
# hat and weight matrices, rstudent with residual and SE
# ------------------------------------------------------------------------------------------------


def _model(case: dict[str, Any]) -> Any:
    if case["mods"]:
        X = np.column_stack([np.ones(YI.size), D["ablat"]])
        return mo.meta_regression(yi=YI, vi=VI, X=X, method=case["method"], test=case["test"])
    return mo.pool(YI, VI, method=case["method"], ci_method=case["test"])


@pytest.mark.parametrize("case", FIX["matrices"], ids=[c["id"] for c in FIX["matrices"]])
def test_hat_weight_matrices_and_rstudent(case: dict[str, Any]) -> None:
    res = _model(case)
    assert_allclose(mo.hat_matrix(res), np.array(case["hat"], dtype=float), rtol=RTOL, atol=1e-12)
    assert_allclose(mo.weight_matrix(res), np.array(case["weight"], dtype=float), rtol=RTOL, atol=1e-12)
    r = mo.rstudent(res)
    assert_allclose(r["resid"].to_numpy(float), _arr(case["rstudent_resid"]), rtol=RTOL, atol=ATOL)
    assert_allclose(r["se"].to_numpy(float), _arr(case["rstudent_se"]), rtol=RTOL, atol=ATOL)
    assert_allclose(r["z"].to_numpy(float), _arr(case["rstudent_z"]), rtol=RTOL, atol=ATOL)
    # the diagonals are the influence table's hat values and the weights in percent
    assert_allclose(np.diag(mo.hat_matrix(res)), _arr(case["hat_diag"]), rtol=RTOL)
    w = np.diag(mo.weight_matrix(res))
    assert_allclose(100 * w / w.sum(), _arr(case["weight_diag"]), rtol=RTOL)


# ------------------------------------------------------------------------------------------------
# Egger's regression test: every model and predictor of metafor's regtest
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", FIX["regtest"], ids=[c["id"] for c in FIX["regtest"]])
def test_egger_every_model_and_predictor(case: dict[str, Any]) -> None:
    res = mo.pool(YI, VI, method=case["method"], ci_method=case["test"], ni=NI)
    e = mo.egger_test(res, model=case["model"], predictor=case["predictor"])
    got = [e.statistic, e.pvalue, e.df, e.limit_estimate, e.limit_ci_low, e.limit_ci_high]
    ref = [math.nan if case[k] is None else float(case[k]) for k in ("zval", "pval", "dfs", "est", "ci_lb", "ci_ub")]
    assert_allclose(got, ref, rtol=RTOL, atol=1e-300, equal_nan=True)


def test_egger_cases_cover_every_model_and_predictor() -> None:
    from metaoutcome.small_study import EGGER_PREDICTORS

    got = {(c["model"], c["predictor"]) for c in FIX["regtest"]}
    assert got == {(m, p) for m in ("rma", "lm") for p in EGGER_PREDICTORS}


def test_egger_size_predictor_needs_ni() -> None:
    with pytest.raises(ValueError, match="needs the study sizes"):
        mo.egger_test(mo.pool(YI, VI), predictor="sqrtninv")
    e = mo.egger_test(mo.pool(YI, VI), predictor="sqrtninv", ni=NI)
    assert np.isfinite(e.statistic)


# ------------------------------------------------------------------------------------------------
# metafor's names for the views
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias, name", [("leave1out", "leave_one_out"), ("cumul", "cumulative"),
                                         ("regtest", "egger_test"), ("ranktest", "rank_test"),
                                         ("trimfill", "trim_and_fill"), ("permutest", "permutation_test")])  # fmt: skip
def test_metafor_names_are_the_same_functions(alias: str, name: str) -> None:
    assert getattr(mo, alias) is getattr(mo, name, None) or getattr(mo, alias).__name__ == name


@pytest.mark.parametrize("case", FIX["matrices"], ids=[c["id"] for c in FIX["matrices"]])
def test_hatvalues_and_weights_with_metafor_types(case: dict[str, Any]) -> None:
    res = _model(case)
    assert_allclose(mo.hatvalues(res), _arr(case["hat_diag"]), rtol=RTOL)
    assert_allclose(mo.weights(res), _arr(case["weight_diag"]), rtol=RTOL)
    assert_allclose(mo.hatvalues(res, type="matrix"), np.array(case["hat"], dtype=float), rtol=RTOL, atol=1e-12)
    assert_allclose(mo.weights(res, type="matrix"), np.array(case["weight"], dtype=float), rtol=RTOL, atol=1e-12)
    with pytest.raises(ValueError, match="type"):
        mo.hatvalues(res, type="full")


# ------------------------------------------------------------------------------------------------
# models with moderators, many at once
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["REML", "DL", "SJ", "FE"])
def test_stacked_meta_regressions_equal_one_at_a_time(method: str) -> None:
    # three meta-regressions of different k padded into one stack (studies 0..k-1 of dat.bcg)
    from metaoutcome.engine import fit_mods_many, masked

    X = np.column_stack([np.ones(YI.size), D["ablat"]])
    incl = np.arange(YI.size)[None, :] < np.array([[13], [9], [6]])
    many = fit_mods_many(masked(YI, VI, incl, X), method, "knha", 95.0)
    for g, k in enumerate((13, 9, 6)):
        one = fit_rma(YI[:k], VI[:k], X[:k], method, "knha", 95.0)
        assert_allclose(many["beta"][g], one.beta, rtol=RTOL_PATHS)
        assert_allclose(many["se"][g], one.se, rtol=RTOL_PATHS)
        for name in ("tau2", "qe", "qm", "i2", "ll_reml"):
            assert_allclose(many[name][g], getattr(one, name), rtol=RTOL_PATHS, atol=1e-12, err_msg=name)


def test_forest_of_mh_refits_and_collapsed_cumulative() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = _fit_2x2({"fit": "mh", "measure": "RR"})
    fig = mo.leave_one_out(res).forest()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "All studies (Mantel-Haenszel)" in texts
    plt.close(fig)
    collapsed = mo.cumulative(mo.pool(YI, VI, measure="RR"), order=D["ablat"], collapse=True)
    with pytest.raises(ValueError, match="collapsed cumulative analysis"):
        collapsed.forest()
