"""metaoutcome.small_study against R metafor 3.8-1 (regtest, ranktest, trimfill) and R's lm (PET-PEESE).

Fixture: tests/reference/make_analysis_fixtures.R -> analysis_fixtures.json.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from metaoutcome import pool
from metaoutcome.small_study import egger_test, pet_peese, rank_test, trim_and_fill

from _reference import ANALYSIS as FIX
from _reference import as_array as _arr
from _reference import as_list as _list

#: The brief's agreement with metafor: relative 1e-6.
RTOL = 1e-6
#: tau^2 = 0 and I^2 = 0 come out as rounding noise of order 1e-15 on either side.
ATOL = 1e-9


def _pool(case: dict[str, Any]) -> Any:
    d = FIX["datasets"][case["data"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(np.array(d["yi"]), np.array(d["vi"]), method=case["method"], ci_method=case["test"],
                    labels=_list(d["labels"]))  # fmt: skip


REGT = FIX["regtest"]
RANKT = FIX["ranktest"]
TF = FIX["trimfill"]
PP = FIX["petpeese"]


@pytest.mark.parametrize("case", REGT, ids=[c["id"] for c in REGT])
def test_egger_matches_regtest(case: dict[str, Any]) -> None:
    eg = egger_test(_pool(case), model=case["model"], predictor=case["predictor"])
    assert_allclose(eg.statistic, case["zval"], rtol=RTOL, atol=ATOL)
    assert_allclose(eg.pvalue, case["pval"], rtol=RTOL, atol=1e-12)
    assert_allclose(eg.df, np.nan if case["dfs"] is None else case["dfs"], rtol=RTOL)
    assert_allclose([eg.limit_estimate, eg.limit_ci_low, eg.limit_ci_high], [case["est"], case["ci_lb"], case["ci_ub"]],
                    rtol=RTOL, atol=ATOL)  # fmt: skip


@pytest.mark.parametrize("case", RANKT, ids=[c["id"] for c in RANKT])
def test_rank_test_matches_ranktest(case: dict[str, Any]) -> None:
    r = rank_test(_pool(case))
    assert_allclose(r.tau, case["tau"], rtol=RTOL, atol=ATOL)
    assert_allclose(r.pvalue, case["pval"], rtol=RTOL, atol=1e-12)


TF_FIELDS = [("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval"), ("ci_low", "ci_lb"),
             ("ci_high", "ci_ub"), ("tau2", "tau2"), ("q", "QE"), ("q_pvalue", "QEp"), ("i2", "I2"), ("h2", "H2")]  # fmt: skip


@pytest.mark.parametrize("case", TF, ids=[c["id"] for c in TF])
def test_trim_and_fill_matches_trimfill(case: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf = trim_and_fill(_pool(case), estimator=case["estimator"])
    assert tf.k0 == case["k0"]
    assert tf.side == case["side"]
    assert_allclose(tf.se_k0, case["se_k0"], rtol=RTOL)
    assert_allclose(tf.p_k0, np.nan if case["p_k0"] is None else case["p_k0"], rtol=RTOL)
    t = tf.table()
    assert_allclose(t["yi"], _arr(case["yi"]), rtol=RTOL, atol=ATOL)
    assert_allclose(t["vi"], _arr(case["vi"]), rtol=RTOL)
    assert t["filled"].tolist() == [bool(b) for b in _list(case["fill"])]
    adj = tf.adjusted
    assert adj.k == case["k"]
    for attr, key in TF_FIELDS:
        assert_allclose(getattr(adj, attr), case[key], rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {attr}")


@pytest.mark.parametrize("case", PP, ids=[c["id"] for c in PP])
def test_pet_peese_regressions_match_lm(case: dict[str, Any]) -> None:
    res = pet_peese(_pool({"data": case["data"], "method": "REML", "test": "z"}))
    for name in ("pet", "peese"):
        want = np.array(case[name], dtype=float).reshape(2, 4)  # Estimate, Std. Error, t value, Pr(>|t|)
        got = getattr(res, name)[["estimate", "se", "statistic", "pvalue"]].to_numpy()
        assert_allclose(got, want, rtol=RTOL, atol=1e-12, err_msg=f"{case['id']}: {name}")
    pet_p = np.array(case["pet"], dtype=float).reshape(2, 4)[0, 3]
    assert res.chosen == ("PEESE" if pet_p < 0.10 else "PET")


def test_small_study_case_grid_is_complete() -> None:
    cases = {(c["data"], c["method"], c["test"]) for c in RANKT}
    assert {(c["data"], c["method"], c["test"], c["model"], c["predictor"]) for c in REGT} == {
        (*c, m, p) for c in cases for m in ("rma", "lm") for p in ("sei", "vi")
    }
    assert {(c["data"], c["method"], c["test"], c["estimator"]) for c in TF} == {(*c, e) for c in cases for e in ("L0", "R0")}
    assert {c["side"] for c in TF} == {"left", "right"}
    assert any(c["k0"] == 0 for c in TF) and any(c["k0"] > 0 for c in TF)  # nothing to fill is covered
    assert {c["data"] for c in PP} == {c[0] for c in cases}


def test_trim_and_fill_nothing_to_fill_returns_the_input() -> None:
    case = next(c for c in TF if c["k0"] == 0)
    res = _pool(case)
    tf = trim_and_fill(res, estimator=case["estimator"])
    assert tf.adjusted is res and tf.filled.yi.size == 0
    assert len(tf.table()) == res.k and not tf.table()["filled"].any()


def test_filled_studies_draw_on_the_funnel() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from metaoutcome.plotting import funnel

    case = next(c for c in TF if c["k0"] > 0)
    tf = trim_and_fill(_pool(case), estimator=case["estimator"])
    fig = funnel(tf.adjusted, filled=tf.filled)
    assert fig is not None


def test_small_k_is_a_clear_error() -> None:
    res = pool([0.1, 0.3], [0.01, 0.02])
    for fn in (egger_test, rank_test, trim_and_fill, pet_peese):
        with pytest.raises(ValueError, match="k >= "):
            fn(res)


def test_bad_options() -> None:
    res = pool([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.03, 0.05])
    with pytest.raises(ValueError, match="model='glm' is not one of the allowed values"):
        egger_test(res, model="glm")
    with pytest.raises(ValueError, match="estimator='Q9' is not one of the allowed values"):
        trim_and_fill(res, estimator="Q9")
    with pytest.raises(ValueError, match="side='up'"):
        trim_and_fill(res, side="up")
    with pytest.raises(ValueError, match="alpha"):
        pet_peese(res, alpha=2)


def test_rank_test_with_ties_uses_normal_approximation() -> None:
    res = pool([0.1, 0.3, 0.2, 0.5, 0.4], [0.02, 0.02, 0.03, 0.05, 0.05])
    r = rank_test(res)
    assert not r.exact and 0 <= r.pvalue <= 1


def test_results_display() -> None:
    case = next(c for c in TF if c["k0"] > 0)
    res = _pool(case)
    for r in (egger_test(res), rank_test(res), trim_and_fill(res), pet_peese(res)):
        assert repr(r) and "<div>" in r._repr_html_() and r.to_markdown().startswith("**")
        assert len(r.table()) >= 1
