"""pool_batch: every group equals pool() on that group alone; inputs checked at the door."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metaoutcome import _parallel, pool
from metaoutcome.batch import TABLE_COLUMNS, pool_batch
from metaoutcome.pooling import CI_METHODS, METHODS

# pool() and pool_batch() run the same code (fit_many) on a stack of one row or of many; row sums
# are matrix-vector products whose BLAS kernel (and so the order of floating-point additions)
# depends on the stack's shape, and shorter groups are padded with zero-weight cells, so the two
# agree to a few ulps rather than bit for bit
RTOL_RAGGED = 1e-12


def _groups(seed: int, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    v = 10 ** rng.uniform(-2, 0, n)
    tau2 = np.repeat(rng.choice([0.0, 0.02, 0.3], len(sizes)), sizes)
    y = rng.normal(0.2, np.sqrt(v + tau2))
    g = np.repeat(np.arange(len(sizes)), sizes)
    return y, v, g


def _single(y: np.ndarray, v: np.ndarray, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(y, v, **kw)


def _compare(res: Any, y: np.ndarray, v: np.ndarray, g: np.ndarray, rtol: float, **kw: Any) -> None:
    table = res.table()
    for i, key in enumerate(table["group"]):
        one = _single(y[g == key], v[g == key], **kw)
        for name in TABLE_COLUMNS:
            got = table[name].iloc[i]
            want = getattr(one, name)
            if name in ("converged", "k", "q_df"):
                assert got == want, (key, name)
            elif name == "iterations":
                continue  # evaluations can differ when rows share a Newton iteration
            else:
                np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300, err_msg=f"group {key}: {name}")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ci_method", CI_METHODS)
def test_each_group_equals_pool_alone(method: str, ci_method: str) -> None:
    sizes = [2, 3, 5, 8, 13, 20, 4, 2, 30]
    y, v, g = _groups(7, sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool_batch(y, v, by=g, method=method, ci_method=ci_method)
    _compare(res, y, v, g, RTOL_RAGGED, method=method, ci_method=ci_method)


@pytest.mark.parametrize("pi_method", ["default", "hts"])
def test_equal_sizes_and_levels_pass_through(pi_method: str) -> None:
    y, v, g = _groups(3, [10] * 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool_batch(y, v, by=g, ci_method="knha", level=90, pi_method=pi_method)
    _compare(res, y, v, g, RTOL_RAGGED, ci_method="knha", level=90, pi_method=pi_method)


def test_one_study_groups_are_nan_with_one_warning() -> None:
    y, v, g = _groups(5, [1, 4, 1])
    with pytest.warns(UserWarning, match="2 of 3 groups have k = 1"):
        res = pool_batch(y, v, by=g, ci_method="knha")
    t = res.table()
    assert t["k"].tolist() == [1, 4, 1]
    assert t.loc[[0, 2], ["tau2", "q", "i2", "h2"]].isna().all().all()
    assert t.loc[[0, 2], "estimate"].tolist() == [y[0], y[5]]
    _compare(res, y, v, g, RTOL_RAGGED, ci_method="knha")


def test_frame_with_two_key_columns_and_excluded_rows() -> None:
    frame = pd.DataFrame({
        "outcome": ["OS", "OS", "OS", "PFS", "PFS", "PFS", "PFS"],
        "line": ["2L", "2L", "2L", "2L", "2L", "3L", "3L"],
        "yi": [-0.3, -0.2, np.nan, -0.5, -0.1, -0.3, -0.2],
        "vi": [0.01, 0.02, 0.02, 0.03, 0.02, 0.025, 0.01],
        "exclusion_reason": [None, None, "no CI and no p-value", None, None, None, None],
    })  # fmt: skip
    with pytest.warns(UserWarning, match="1 input rows excluded"):
        res = pool_batch(frame, by=["outcome", "line"], measure="HR")
    t = res.table(natural=True)
    assert t[["outcome", "line", "k"]].values.tolist() == [["OS", "2L", 2], ["PFS", "2L", 2], ["PFS", "3L", 2]]
    assert res.excluded[["row", "outcome", "reason"]].values.tolist() == [[2, "OS", "no CI and no p-value"]]
    one = _single(frame["yi"][3:5].to_numpy(), frame["vi"][3:5].to_numpy())
    np.testing.assert_allclose(t["estimate"][1], one.estimate, rtol=RTOL_RAGGED)
    np.testing.assert_allclose(t["estimate_natural"][1], np.exp(one.estimate), rtol=1e-15)
    assert "3 meta-analyses" in repr(res) and "<table>" in res._repr_html_()


def test_two_dimensional_input_with_nan_padding_and_sei() -> None:
    y, v, g = _groups(11, [6, 6, 6])
    Y = y.reshape(3, 6).copy()
    S = np.sqrt(v).reshape(3, 6).copy()
    Y[1, 4:] = np.nan
    S[1, 4:] = np.nan
    res = pool_batch(Y, sei=S)
    assert res.table()["k"].tolist() == [6, 4, 6]
    one = _single(Y[1, :4], S[1, :4] ** 2)
    np.testing.assert_allclose(res.table()["tau2"][1], one.tau2, rtol=RTOL_RAGGED)


def test_threads_and_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parallel, "BLOCK_CELLS", 15_000)  # 3,000 groups of k = 5 -> 3 blocks -> 4
    y, v, g = _groups(2, [5] * 9000)
    calls: list[tuple[int, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pool_batch(y, v, by=g, n_jobs=1, progress=lambda d, t: calls.append((d, t)))
        b = pool_batch(y, v, by=g, n_jobs=2, progress=False)
    assert calls == [(2250, 9000), (4500, 9000), (6750, 9000), (9000, 9000)]
    for name in TABLE_COLUMNS:
        np.testing.assert_array_equal(a.table()[name], b.table()[name])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"yi": [0.1, np.nan], "vi": [0.1, 0.1], "by": [1, 1]}, r"yi\[1\] = nan: every value must be finite"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.0], "by": [1, 1]}, r"vi\[1\] = 0.0: every value must be finite and > 0"),
        ({"yi": [[0.1, np.nan]], "vi": [[0.1, 0.1]]}, r"yi\[0, 1\] and vi\[0, 1\]: one is NaN"),
        ({"yi": [[np.nan, np.nan]], "vi": [[np.nan, np.nan]]}, "row 0 of yi is all NaN"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1]}, "by= is required"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "by": [1]}, "one group per study"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "by": [1, 1], "method": "XX"}, "method='XX'.*REML"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "by": [1, 1], "n_jobs": 0}, "n_jobs=0 must be a positive integer"),
        ({"yi": pd.DataFrame({"yi": [0.1], "vi": [0.1]}), "by": "arm"}, "by='arm' is not a column"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool_batch(**kwargs)
