"""One front door for data (issue 19): pool, meta_regression and subgroup_analysis read the same
effect-size frame the same way: same rows, same exclusions (with reasons), same measure."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome import effects

#: the two engines (fit_many for p = 1, _rma for p >= 1) agree to the last bits; engine unification is
#: another task, so compare to a tolerance well below anything printed
RTOL = 1e-12


def _quiet(fn: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.fixture(scope="module")
def orr() -> pd.DataFrame:
    """The issue's frame: every ORR row, many not convertible (43 and 21 when the issue was filed)."""
    return _quiet(lambda: effects.from_proportions(mo.load_dataset("proportions", outcome="ORR"), measure="PLO"))


def _same_model(p: Any, r: Any) -> None:
    assert r.k == p.k and r.labels == p.labels and r.measure == p.measure
    assert r.excluded == p.excluded
    np.testing.assert_array_equal(r.yi, p.yi)
    np.testing.assert_array_equal(r.vi, p.vi)
    for a, b in ((r.estimate[0], p.estimate), (r.se[0], p.se), (r.ci_low[0], p.ci_low), (r.ci_high[0], p.ci_high),
                 (r.pvalue[0], p.pvalue), (r.tau2, p.tau2), (r.i2, p.i2), (r.qe, p.q)):
        assert_allclose(a, b, rtol=RTOL)


def test_meta_regression_without_moderators_equals_pool(orr: pd.DataFrame) -> None:
    n, bad = len(orr), int(orr["yi"].isna().sum())
    assert n > bad > 0  # the case: some rows convertible, some not
    with pytest.warns(UserWarning, match=f"{bad} of {n} rows excluded from pooling"):
        p = mo.pool(orr)
    with pytest.warns(UserWarning, match=f"{bad} of {n} rows excluded from the meta-regression"):
        r = mo.meta_regression(orr)
    assert p.k == n - bad and p.measure == "PLO"
    _same_model(p, r)
    assert r.excluded[0].reason == orr["exclusion_reason"].dropna().iloc[0]


def test_rows_dropped_by_hand_keep_the_measure(orr: pd.DataFrame) -> None:
    kept = orr[orr["yi"].notna()]
    p, r = _quiet(lambda: mo.pool(kept)), _quiet(lambda: mo.meta_regression(kept))
    assert p.measure == r.measure == "PLO" and p.excluded == r.excluded == ()
    _same_model(p, r)


@pytest.mark.parametrize("form", ["frame", "data=", "column names", "arrays"])
def test_every_call_form_gives_the_same_rows(orr: pd.DataFrame, form: str) -> None:
    kept = orr[orr["yi"].notna()]
    want = _quiet(lambda: mo.pool(kept))
    if form == "frame":
        p, r = _quiet(lambda: mo.pool(orr)), _quiet(lambda: mo.meta_regression(orr))
    elif form == "data=":
        p, r = _quiet(lambda: mo.pool(None, data=orr)), _quiet(lambda: mo.meta_regression(data=orr))
    elif form == "column names":
        p = _quiet(lambda: mo.pool("yi", "vi", data=orr, labels="trial_id"))
        r = _quiet(lambda: mo.meta_regression(orr, yi="yi", vi="vi", labels="trial_id"))
    else:
        kw = dict(measure="PLO", labels=list(kept["trial_id"]))
        p = _quiet(lambda: mo.pool(kept["yi"].to_numpy(), kept["vi"].to_numpy(), **kw))
        r = _quiet(lambda: mo.meta_regression(yi=kept["yi"].to_numpy(), vi=kept["vi"].to_numpy(), **kw))
    for res in (p, r):
        assert res.k == len(kept) and res.measure == "PLO" and res.labels == want.labels
    _same_model(p, r)


def test_subgroup_overall_is_pool_of_the_same_rows(orr: pd.DataFrame) -> None:
    frame = orr.assign(g=np.where(np.arange(len(orr)) % 2 == 0, "a", "b"))
    frame.attrs = dict(orr.attrs)
    p = _quiet(lambda: mo.pool(frame))
    s = _quiet(lambda: mo.subgroup_analysis(frame, by="g"))
    assert s.overall.k == p.k and s.overall.labels == p.labels and s.overall.measure == "PLO"
    assert s.excluded == tuple((e.label, e.reason) for e in p.excluded)
    assert_allclose(s.overall.estimate, p.estimate, rtol=0)
    # a row without a subgroup is excluded and reported with the same wording as a missing moderator
    frame.loc[frame.index[orr["yi"].notna().to_numpy()][0], "g"] = None
    s2 = _quiet(lambda: mo.subgroup_analysis(frame, by="g"))
    r2 = _quiet(lambda: mo.meta_regression(frame, mods="g"))
    assert s2.overall.k == r2.k == p.k - 1
    assert s2.excluded == tuple((e.label, e.reason) for e in r2.excluded)
    assert "no value in 'g'" in [why for _, why in s2.excluded]


def test_missing_values_frames_exclude_arrays_refuse() -> None:
    """The one missing-value rule: a frame's row is excluded and reported; an array's NaN is an error."""
    frame = pd.DataFrame({"yi": [np.nan, 0.2, 0.3, 0.4], "vi": [0.1, 0.1, 0.2, 0.1], "x": [1.0, 2, 3, 4]})
    for fit in (lambda: mo.pool(frame), lambda: mo.meta_regression(frame),
                lambda: mo.subgroup_analysis(frame.assign(g=list("aabb")), by="g").overall):
        with pytest.warns(UserWarning, match=r"1 of 4 rows excluded .*row 0 \(Study 1\): yi missing"):
            res = fit()
        assert res.k == 3
    y, v = [np.nan, 0.2, 0.3], [0.1, 0.1, 0.2]
    for fit in (lambda: mo.pool(y, v), lambda: mo.meta_regression(yi=y, vi=v)):
        with pytest.raises(ValueError, match=r"yi must be a number \(not NaN/missing\); positions \[0\]"):
            fit()


@pytest.mark.parametrize("fit", ["pool", "meta_regression"])
def test_impossible_values_name_the_users_rows(fit: str) -> None:
    """The defect: 'positions [2]' was reported for the row at position 3 (counted after dropping row 0)."""
    frame = pd.DataFrame({"yi": [np.nan, 0.2, 0.3, 0.4], "vi": [0.1, 0.1, 0.2, -0.1]})
    call = getattr(mo, fit)
    with pytest.raises(ValueError, match=r"vi must be > 0; rows \[3\] are not \(values: \[-0.1\]\)"):
        call(frame)
    labelled = frame.set_axis(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"vi must be > 0; rows \['d'\] are not"):
        call(labelled)
    with pytest.raises(ValueError, match=r"yi: column 'yi' must be numeric; rows \['b'\] are not \(values: \['x'\]\)"):
        call(labelled.assign(yi=[0.1, "x", 0.3, 0.4], vi=0.1))
