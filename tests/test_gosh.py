"""metaoutcome.gosh against R metafor 3.8-1 gosh() (all subsets, small k).

Fixture: tests/reference/make_analysis_fixtures.R -> analysis_fixtures.json.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from metaoutcome import pool
from metaoutcome.gosh import gosh

from _reference import ANALYSIS as FIX

#: The brief's agreement with metafor: relative 1e-6.
RTOL = 1e-6
#: tau^2 = 0 / I^2 = 0 subsets differ from metafor by rounding noise of order 1e-15.
ATOL = 1e-9

GOSH = FIX["gosh"]


def _pool(case: dict[str, Any]) -> Any:
    d = FIX["datasets"][case["data"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(np.array(d["yi"]), np.array(d["vi"]), method=case["method"])


@pytest.mark.parametrize("case", GOSH, ids=[c["id"] for c in GOSH])
def test_gosh_matches_metafor(case: dict[str, Any]) -> None:
    g = gosh(_pool(case))
    assert g.exact
    assert_allclose(g.incl.astype(int), np.array(case["incl"]))
    assert_allclose(g.k, case["k"])
    for attr, key in (("q", "QE"), ("i2", "I2"), ("h2", "H2"), ("tau2", "tau2"), ("estimate", "estimate")):
        want = np.array([np.nan if x is None else x for x in case[key]], dtype=float)
        assert_allclose(getattr(g, attr), want, rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {attr}")


def test_gosh_case_grid_is_complete() -> None:
    assert {(c["data"], c["method"]) for c in GOSH} >= {("onco", m) for m in ("FE", "DL", "REML", "PM")}
    assert {"DL", "FE"} <= {c["method"] for c in GOSH if c["data"] == "bcg10"}


def test_gosh_random_subsets_are_seeded_with_progress() -> None:
    d = FIX["datasets"]["bcg"]
    res = pool(np.array(d["yi"]), np.array(d["vi"]), method="DL")
    seen: list[tuple[int, int]] = []
    a = gosh(res, subsets=500, seed=3, progress=lambda i, n: seen.append((i, n)))
    b = gosh(res, subsets=500, seed=3)
    assert not a.exact and a.incl.shape == (500, 13) and a.seed == 3
    assert_allclose(a.estimate, b.estimate)
    assert (a.k >= 1).all() and np.all(np.diff(a.k) >= 0)
    assert seen[-1] == (500, 500)


@pytest.mark.filterwarnings("ignore:k = 1:UserWarning")
def test_gosh_table_and_errors() -> None:
    g = gosh(pool([0.1, 0.5, 0.3, 0.2], [0.02, 0.03, 0.02, 0.04], method="FE"))
    t = g.table(membership=True)
    assert list(t.columns)[:6] == ["k", "q", "i2", "h2", "tau2", "estimate"] and len(t) == 15
    assert "Study 1" in t.columns
    assert repr(g) and "<table>" in g._repr_html_() and len(g.summary()) == 5
    with pytest.raises(ValueError, match="k >= 2"):
        gosh(pool([0.1], [0.1]))
    with pytest.raises(ValueError, match="subsets"):
        gosh(pool([0.1, 0.2], [0.1, 0.1]), subsets=1)
