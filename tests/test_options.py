"""Vocabularies defined once (issue 19): metaoutcome.options, metafor's test= and the HKSJ aliases."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import metaoutcome as mo
from metaoutcome import options

ROOT = Path(__file__).resolve().parents[1]
Y = [0.1, 0.3, 0.35, 0.6, 0.2, 0.45]
V = [0.01, 0.02, 0.015, 0.03, 0.02, 0.025]


def test_options_imports_nothing_heavy() -> None:
    code = ("import sys, metaoutcome.options as o; "
            "heavy = [m for m in ('numpy', 'scipy', 'pandas', 'matplotlib') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_vocabularies_are_the_ones_in_options() -> None:
    from metaoutcome import batch, heterogeneity, pooling, regression, subgroups

    assert pooling.METHODS is options.METHODS and pooling.CI_METHODS is options.CI_METHODS
    assert regression.REGRESSION_METHODS is options.METHODS and regression.REGRESSION_TESTS is options.CI_METHODS
    assert subgroups.TAU2_MODES is options.TAU2_MODES
    assert batch.COMMON_METHODS is options.COMMON_METHODS
    # modules others own keep their copies in step until they import options
    assert heterogeneity.TAU2_METHODS == options.TAU2_METHODS


VOCABULARIES = [options.COMMON_METHODS, options.TAU2_METHODS, options.METHODS, options.CI_METHODS,
                options.KNHA_METHODS, options.PI_METHODS, options.TAU2_MODES, options.GLMM_CI_METHODS]


@pytest.mark.parametrize("name", ["pooling.py", "regression.py", "subgroups.py", "batch.py", "glmm.py"])
def test_no_vocabulary_literal_left_in_front_door_modules(name: str) -> None:
    """No tuple/list/set of string literals in the code equals a vocabulary of options.py."""
    import ast

    tree = ast.parse((ROOT / "metaoutcome" / name).read_text())
    vocab = {frozenset(v) for v in VOCABULARIES}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) > 1 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            values = frozenset(e.value for e in node.elts)  # type: ignore[attr-defined]
            if values in vocab:
                found.append((node.lineno, sorted(values)))
    assert not found, f"{name} repeats vocabularies of metaoutcome.options: {found}"


CALLS: dict[str, Callable[..., Any]] = {
    "pool": lambda **kw: mo.pool(Y, V, **kw).summary(),
    "pool_batch": lambda **kw: mo.pool_batch(Y, V, by=[0, 0, 0, 1, 1, 1], **kw).table(),
    "meta_regression": lambda **kw: mo.meta_regression(yi=Y, vi=V, **kw).table(),
    "subgroup_analysis": lambda **kw: mo.subgroup_analysis(
        pd.DataFrame({"yi": Y, "vi": V, "g": list("aaabbb")}), by="g", **kw).table(),
    "subgroup_analysis[common]": lambda **kw: mo.subgroup_analysis(
        pd.DataFrame({"yi": Y, "vi": V, "g": list("aaabbb")}), by="g", tau2="common", **kw).table(),
}


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _name(call: str) -> str:
    return "test" if call == "meta_regression" else "ci_method"


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("spelling", [dict(test="knha"), dict(test="KNHA"), dict(ci_method="hksj"),
                                      dict(ci_method="HAKN"), dict(test="hksj"), dict(ci_method="knha", test="hakn")],
                         ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_metafor_spellings_of_knha(call: str, spelling: dict[str, str]) -> None:
    want = _quiet(lambda: CALLS[call](**{_name(call): "knha"}))
    got = _quiet(lambda: CALLS[call](**spelling))
    pd.testing.assert_frame_equal(got, want)
    z = _quiet(lambda: CALLS[call]())
    assert not z.equals(want)  # the option is used


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("t", ["z", "t", "adhoc"])
def test_test_is_metafors_name_for_ci_method(call: str, t: str) -> None:
    pd.testing.assert_frame_equal(_quiet(lambda: CALLS[call](test=t)), _quiet(lambda: CALLS[call](ci_method=t)))


@pytest.mark.parametrize("call", sorted(CALLS))
def test_conflicting_or_ambiguous_values_refused(call: str) -> None:
    with pytest.raises(ValueError, match=r"ci_method='z' and test='knha' disagree"):
        _quiet(lambda: CALLS[call](ci_method="z", test="knha"))
    with pytest.raises(ValueError, match=r"='hk' is ambiguous: .*'knha'.*'adhoc'"):
        _quiet(lambda: CALLS[call](test="hk"))
    with pytest.raises(ValueError, match=r"='wald' is not one of the allowed values: 'z', 't', 'knha', 'adhoc'"):
        _quiet(lambda: CALLS[call](test="wald"))


def test_glmm_takes_test_and_refuses_knha() -> None:
    x, n = [4, 6, 3, 8], [40, 50, 30, 60]
    a = _quiet(lambda: mo.pool_glmm(x, n, test="t"))
    b = _quiet(lambda: mo.pool_glmm(x, n, ci_method="t"))
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    with pytest.raises(ValueError, match=r"ci_method='knha' is not available here; the allowed values are: 'z', 't'"):
        mo.pool_glmm(x, n, test="hksj")


def test_method_names_case_insensitive() -> None:
    a = _quiet(lambda: mo.pool(Y, V, method="reml"))
    assert a.method == "REML"
    with pytest.raises(ValueError, match=r"method='XX' is not one of the allowed values: 'FE', 'EE', 'CE', 'DL'"):
        mo.meta_regression(yi=Y, vi=V, method="XX")
    assert re.search("REML", str(options.METHODS))
    assert np.isfinite(a.estimate)
