"""Wrong arguments get a ValueError naming the argument (issue 13, defect 8), swept over every public
argument of the model entry points with values of the wrong type or out of range."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaoutcome as mo

Y = [0.1, 0.3, 0.35, 0.6, 0.2, 0.45]
V = [0.01, 0.02, 0.015, 0.03, 0.02, 0.025]
F = pd.DataFrame({"yi": Y, "vi": V, "g": list("aaabbb"), "x": [1.0, 2, 3, 4, 5, 6]})
BCG = dict(ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
BASE: dict[str, tuple[Any, dict[str, Any]]] = {
    "pool": (mo.pool, dict(yi=Y, vi=V)),
    "pool_batch": (mo.pool_batch, dict(yi=Y, vi=V, by=[0, 0, 0, 1, 1, 1])),
    "pool_glmm": (mo.pool_glmm, dict(xi=[4, 6, 3, 8], ni=[40, 50, 30, 60])),
    "pool_mh": (mo.pool_mh, dict(BCG)),
    "pool_peto": (mo.pool_peto, dict(BCG)),
    "subgroup_analysis": (mo.subgroup_analysis, dict(data=F, by="g")),
    "meta_regression": (mo.meta_regression, dict(data=F, mods=["x"])),
}
# subgroup_analysis passes these on to pool
FORWARDED = {"subgroup_analysis": ["method", "ci_method", "test", "level", "pi_method", "tau2_ci_max"]}
BAD = {"text": "x", "object": object(), "dict": {"a": 1}, "bool": True, "negative": -1, "matrix": [[1, 2], [3, 4]],
       "nan": float("nan")}
# (function, argument, value) that are valid calls: "x" names a column of F; True is a valid flag
# (progress, correct, intercept). Everything else must be refused.
VALID = {
    ("subgroup_analysis", "by", "text"), ("subgroup_analysis", "labels", "text"), ("meta_regression", "mods", "text"),
    ("meta_regression", "yi", "text"), ("meta_regression", "vi", "text"), ("meta_regression", "sei", "text"),
    ("meta_regression", "labels", "text"), ("meta_regression", "intercept", "bool"), ("pool_mh", "correct", "bool"),
    ("pool_batch", "progress", "bool"),
}


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for fname, (fn, _) in BASE.items():
        params = [p for p, par in inspect.signature(fn).parameters.items() if par.kind is not par.VAR_KEYWORD]
        for p in params + FORWARDED.get(fname, []):
            for b in BAD:
                out.append((fname, p, b))
    return out


@pytest.mark.parametrize(("fname", "arg", "bad"), _cases(), ids=lambda x: str(x))
def test_wrong_argument_is_a_value_error_naming_it(fname: str, arg: str, bad: str) -> None:
    fn, kw = BASE[fname]
    call = {**kw, arg: BAD[bad]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if (fname, arg, bad) in VALID:
            fn(**call)
            return
        with pytest.raises(ValueError) as err:
            fn(**call)
    msg = str(err.value)
    named = arg in msg or (arg == "data" and "DataFrame" in msg) or (arg in ("ai", "bi", "ci", "di") and arg in msg)
    assert named, f"{fname}({arg}={BAD[bad]!r}) raised {msg!r}, which does not name {arg!r}"


def test_issue_reproductions() -> None:
    with pytest.raises(ValueError, match=r"tau2_ci_max='x' must be a finite number > 0"):
        mo.pool(Y, V, tau2_ci_max="x")
    with pytest.raises(ValueError, match=r"yi is empty: there are no studies to pool"):
        mo.pool_batch([], [], by=[])
    with pytest.raises(ValueError, match=r"vi must be > 0; rows \[3\] are not"):
        mo.pool(pd.DataFrame({"yi": [np.nan, 0.2, 0.3, 0.4], "vi": [0.1, 0.1, 0.2, -0.1]}))


def test_choice_messages_list_the_allowed_values() -> None:
    for fn, kw in ((mo.pool, dict(yi=Y, vi=V)), (mo.pool_batch, dict(yi=Y, vi=V, by=[0] * 6)),
                   (mo.meta_regression, dict(yi=Y, vi=V))):
        with pytest.raises(ValueError, match=r"method='x' is not one of the allowed values: 'FE', 'EE', 'CE', 'DL'"):
            fn(**kw, method="x")
        with pytest.raises(ValueError, match=r"='x' is not one of the allowed values: 'z', 't', 'knha', 'adhoc'"):
            fn(**kw, test="x")
