"""metaoutcome.diagnostics against R metafor 3.8-1 (leave1out, influence, cumul).

Fixture: tests/reference/make_analysis_fixtures.R -> analysis_fixtures.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metaoutcome import pool
from metaoutcome.diagnostics import cumulative, influence, leave_one_out
from metaoutcome.regression import meta_regression

from _reference import ANALYSIS as FIX
from _reference import as_array as _arr
from _reference import as_list as _list

#: The brief's agreement with metafor: relative 1e-6.
RTOL = 1e-6
#: Quantities that are 0 in exact arithmetic (tau^2 = 0, I^2 = 0, residuals of a refit that
#: reproduces a study exactly) come out as rounding noise ~1e-15: compare those absolutely.
ATOL = 1e-9


def _data(name: str) -> dict[str, Any]:
    return FIX["datasets"][name]


def _pool(case: dict[str, Any]) -> Any:
    d = _data(case["data"])
    return pool(np.array(d["yi"]), np.array(d["vi"]), method=case["method"], ci_method=case["test"], labels=_list(d["labels"]))


PER_STUDY = [("estimate", "estimate"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval"), ("ci_low", "ci_lb"),
             ("ci_high", "ci_ub"), ("q", "Q"), ("q_pvalue", "Qp"), ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2")]  # fmt: skip

L1O = FIX["leave1out"]
CUM = FIX["cumul"]
INF = FIX["influence"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", L1O, ids=[c["id"] for c in L1O])
def test_leave_one_out_matches_metafor(case: dict[str, Any]) -> None:
    res = leave_one_out(_pool(case))
    for attr, key in PER_STUDY:
        assert_allclose(getattr(res, attr), _arr(case[key]), rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {attr}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CUM, ids=[c["id"] for c in CUM])
def test_cumulative_matches_metafor(case: dict[str, Any]) -> None:
    res = cumulative(_pool(case), order=_arr(case["order"]))
    for attr, key in PER_STUDY:
        assert_allclose(getattr(res, attr), _arr(case[key]), rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {attr}")


INF_FIELDS = ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", INF, ids=[c["id"] for c in INF])
def test_influence_matches_metafor(case: dict[str, Any]) -> None:
    mods = _list(case["mods"])
    if mods:
        d = _data(case["data"])
        df = pd.DataFrame({"yi": d["yi"], "vi": d["vi"], **{m: _list(v) for m, v in d["mods"].items()}})
        model: Any = meta_regression(df, mods, method=case["method"], test=case["test"])
    else:
        model = _pool(case)
    res = influence(model)
    for key in INF_FIELDS:
        attr = key.lower()
        assert_allclose(getattr(res, attr), _arr(case[key]), rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {key}")
    want = np.array(case["dfbetas"], dtype=float).reshape(len(res.labels), -1)
    assert_allclose(res.dfbetas, want, rtol=RTOL, atol=ATOL)
    assert res.influential.tolist() == [bool(b) for b in _list(case["is_infl"])]


def test_diagnostics_case_grid_is_complete() -> None:
    ids = {(c["data"], c["method"], c["test"]) for c in L1O}
    assert ids == {(c["data"], c["method"], c["test"]) for c in CUM}
    assert ids <= {(c["data"], c["method"], c["test"]) for c in INF}
    assert {m for _, m, _ in ids} >= {"FE", "DL", "REML", "ML", "PM"}
    assert {t for _, _, t in ids} == {"z", "knha"}
    assert sum(1 for c in INF if _list(c["mods"])) >= 3
    assert any(any(_list(c["is_infl"])) for c in INF)  # the flag rule is exercised


def test_tables_are_tidy_and_display() -> None:
    d = _data("bcg")
    res = pool(np.array(d["yi"]), np.array(d["vi"]), labels=_list(d["labels"]))
    l1o = leave_one_out(res)
    t = l1o.table()
    assert list(t.columns)[:3] == ["omitted", "k", "estimate"] and len(t) == 13
    inf = influence(res).table()
    assert "dfbetas_intrcpt" in inf.columns and inf["influential"].dtype == bool
    cu = cumulative(res, order=np.arange(13)[::-1])
    assert cu.table()["added"].iloc[0] == _list(d["labels"])[-1]
    for r in (l1o, influence(res), cu):
        assert "<table>" in r._repr_html_() and r.to_markdown().startswith("**") and repr(r)


@pytest.mark.filterwarnings("ignore:k = 1:UserWarning")
def test_diagnostics_reject_other_models_and_tiny_k() -> None:
    res = pool([0.1], [0.1])
    with pytest.raises(ValueError, match="k >= 2"):
        leave_one_out(res)
    with pytest.raises(ValueError, match="PoolResult or MetaRegressionResult"):
        influence([0.1, 0.2])
    from metaoutcome.pooling import pool_mh

    mh = pool_mh([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    with pytest.raises(ValueError, match="not an inverse-variance model"):
        influence(mh)  # (leave_one_out and cumulative refit the tables: tests/test_engine.py)
    with pytest.raises(ValueError, match="one value per study"):
        cumulative(pool([0.1, 0.2], [0.1, 0.1]), order=[1, 2, 3])
