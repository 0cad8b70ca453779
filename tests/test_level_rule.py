"""One level rule everywhere a level enters (issue 13, defect 1).

95 and 0.95 both mean 95% (metafor reads 0.95 as 95%); True, 0.05 (metafor's alpha reading; ambiguous),
100 and NaN are refused with a message naming the argument. A stored ``level`` is the percent.
A second test enumerates the public API and fails if a level-like parameter is missing from the grid.
"""

from __future__ import annotations

import importlib
import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaoutcome as mo
from metaoutcome import effects, small_study
from metaoutcome.plotting import bubble, funnel, radial

Y = [0.1, 0.3, 0.35, 0.6, 0.2]
V = [0.01, 0.02, 0.015, 0.03, 0.02]
BCG = dict(ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _pool_res() -> Any:
    return _quiet(lambda: mo.pool(Y, V))


def _reg_res() -> Any:
    frame = pd.DataFrame({"yi": Y, "vi": V, "x": [1.0, 2, 3, 4, 5]})
    return _quiet(lambda: mo.meta_regression(frame, mods=["x"]))


def _numbers(obj: Any) -> Any:
    """What a call returned, as something comparable (frames, results, axes)."""
    if isinstance(obj, pd.DataFrame):
        return obj.select_dtypes("number").to_numpy()
    if hasattr(obj, "get_children"):  # matplotlib Axes: every line, patch path and text
        out: list[Any] = []
        for ch in obj.get_children():
            if hasattr(ch, "get_paths"):
                out += [p.vertices.tolist() for p in ch.get_paths()]
            if hasattr(ch, "get_xydata"):
                out.append(np.asarray(ch.get_xydata()).tolist())
        leg = obj.get_legend()
        if leg is not None:
            out.append([t.get_text() for t in leg.get_texts()])
        out.append([t.get_text() for t in obj.texts])
        return out
    for view in ("summary", "table"):
        if hasattr(obj, view):
            return getattr(obj, view)().select_dtypes("number").to_numpy()
    if hasattr(obj, "__dataclass_fields__"):
        return [np.asarray(getattr(obj, f)).tolist() for f in obj.__dataclass_fields__]
    return obj


# name "function.parameter" -> call taking the level value
GRID: dict[str, Callable[[Any], Any]] = {
    "pool.level": lambda L: mo.pool(Y, V, level=L),
    "pool_mh.level": lambda L: mo.pool_mh(**BCG, level=L),
    "pool_peto.level": lambda L: mo.pool_peto(**BCG, level=L),
    "pool_glmm.level": lambda L: mo.pool_glmm([4, 6, 3, 8], [40, 50, 30, 60], level=L),
    "pool_batch.level": lambda L: mo.pool_batch(Y, V, by=[0, 0, 0, 1, 1], level=L),
    "subgroup_analysis.level": lambda L: mo.subgroup_analysis(
        pd.DataFrame({"yi": Y, "vi": V, "g": list("aabbb")}), by="g", level=L),
    "subgroup_analysis.level[common]": lambda L: mo.subgroup_analysis(
        pd.DataFrame({"yi": Y, "vi": V, "g": list("aabbb")}), by="g", tau2="common", level=L),
    "meta_regression.level": lambda L: mo.meta_regression(yi=Y, vi=V, level=L),
    "pet_peese.level": lambda L: small_study.pet_peese(_pool_res(), level=L).table(),
    "proportion_ci.level": lambda L: effects.proportion_ci([3, 5], [10, 20], level=L),
    "hr_from_ci.level": lambda L: effects.hr_from_ci([0.73], [0.59], [0.89], level=L),
    "from_hazard_ratios.level": lambda L: effects.from_hazard_ratios(
        pd.DataFrame({"hr": [0.73], "ci_low": [0.59], "ci_high": [0.89]}), level=L),
    "median_es.level": lambda L: effects.median_es([6.9], [5.5], [8.3], level=L),
    "two_arm_median_es.level1": lambda L: effects.two_arm_median_es(
        [6.9], [5.0], lower1=[5.5], upper1=[8.3], lower2=[4.0], upper2=[6.0], level1=L),
    "two_arm_median_es.level2": lambda L: effects.two_arm_median_es(
        [6.9], [5.0], lower1=[5.5], upper1=[8.3], lower2=[4.0], upper2=[6.0], level2=L),
    "median_of_medians.level": lambda L: effects.median_of_medians([5.0, 6, 7, 8, 9], level=L),
    "from_medians.level": lambda L: effects.from_medians(
        pd.DataFrame({"median": [6.9], "ci_low": [5.5], "ci_high": [8.3]}), level=L),
    "funnel.level": lambda L: funnel(_pool_res(), level=L),
    "funnel.contours": lambda L: funnel(_pool_res(), contours=[L], center=0.0),
    "radial.level": lambda L: radial(_pool_res(), level=L),
    "bubble.level": lambda L: bubble(_reg_res(), "x", level=L),
}
# levels that must be read alike, per entry point: 95 (percent) and 0.95 (proportion, metafor's habit)
PAIRS = [(95, 0.95), (90, 0.9), (99.5, 0.995)]
REFUSED = [True, False, 0.05, 0.5, 0, -95, 100, 150, float("nan"), float("inf"), "95"]


@pytest.mark.parametrize("where", sorted(GRID))
@pytest.mark.parametrize(("pct", "prop"), PAIRS, ids=["95", "90", "99.5"])
def test_proportion_reads_as_percent(where: str, pct: float, prop: float) -> None:
    call = GRID[where]
    a, b = _quiet(lambda: call(pct)), _quiet(lambda: call(prop))
    np.testing.assert_equal(_numbers(a), _numbers(b))
    if hasattr(a, "level"):  # a stored level is the normalised percent (views compute level/100)
        assert a.level == b.level == pct
    # and the level is used: another level gives other numbers
    other = _quiet(lambda: call(80))
    assert repr(_numbers(other)) != repr(_numbers(a))


@pytest.mark.parametrize("where", sorted(GRID))
@pytest.mark.parametrize("bad", REFUSED, ids=repr)
def test_bad_level_refused_naming_argument(where: str, bad: Any) -> None:
    param = where.split(".")[1].split("[")[0]
    with pytest.raises(ValueError, match=rf"{param}(\[\d+\])?=.* is not a confidence level"):
        _quiet(lambda: GRID[where](bad))


def test_funnel_contour_legend_reads_percent() -> None:
    """The defect: contours=[0.9, 0.95, 0.99] drew a legend '0.991 < p <= 0.991'."""
    res = _pool_res()
    ax = funnel(res, contours=[0.9, 0.95, 0.99], center=0.0)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["0.1 < p \u2264 1", "0.05 < p \u2264 0.1", "0.01 < p \u2264 0.05", "p \u2264 0.01"]


def test_level_column_proportion_equals_percent() -> None:
    """A ci_level column written as proportions is read as percentages, row by row."""
    frame = pd.DataFrame({"hr": [0.73, 0.8], "ci_low": [0.59, 0.6], "ci_high": [0.89, 1.05]})
    a = effects.from_hazard_ratios(frame.assign(ci_level=[95, 90]))
    b = effects.from_hazard_ratios(frame.assign(ci_level=[0.95, 0.9]))
    np.testing.assert_array_equal(a["vi"], b["vi"])


# --- completeness: every public parameter that takes a level is in GRID --------------------------

MODULES = ["pooling", "glmm", "batch", "subgroups", "regression", "diagnostics", "small_study", "gosh",
           "effects", "plotting", "measures", "results", "datasets", "validation"]


def _is_level_param(name: str) -> bool:
    return name == "level" or name.endswith("_level") or (name.startswith("level") and name[5:].isdigit()) \
        or name == "contours"


def _public_level_params() -> set[str]:
    found: set[str] = set()
    for mod_name in MODULES:
        mod = importlib.import_module(f"metaoutcome.{mod_name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            funcs: list[tuple[str, Any]] = []
            if inspect.isfunction(obj):
                funcs = [(name, obj)]
            elif inspect.isclass(obj):
                funcs = [(f"{name}.{a}", f) for a, f in vars(obj).items()
                         if inspect.isfunction(f) and not a.startswith("_")]
            for qual, f in funcs:
                for p in inspect.signature(f).parameters:
                    if _is_level_param(p):
                        found.add(f"{qual}.{p}")
    return found


def test_grid_covers_every_public_level_parameter() -> None:
    covered = {k.split("[")[0] for k in GRID}
    missing = _public_level_params() - covered
    assert not missing, f"level-like parameters not in the level-rule grid: {sorted(missing)}"
    # subgroup_analysis takes level through **pool_kwargs, so the scan cannot see it: listed by hand
    assert "subgroup_analysis.level" in covered
    assert not math.isnan(len(covered))


def test_median_level_column_proportion_equals_percent() -> None:
    frame = pd.DataFrame({"median": [6.9, 8.0], "ci_low": [5.5, 6.0], "ci_high": [8.3, 11.0]})
    a = effects.from_medians(frame.assign(ci_level=[95, 90]))
    b = effects.from_medians(frame.assign(ci_level=[0.95, 0.9]))
    np.testing.assert_array_equal(a["vi"], b["vi"])
    np.testing.assert_array_equal(b["ci_level_used"], [95.0, 90.0])


@pytest.mark.parametrize("bad", [0.05, 0.5, 100.0, 150.0])
def test_level_column_outside_rule_refused_naming_row(bad: float) -> None:
    frame = pd.DataFrame({"hr": [0.73, 0.8], "ci_low": [0.59, 0.6], "ci_high": [0.89, 1.05], "ci_level": [95, bad]})
    with pytest.raises(ValueError, match=r"column 'ci_level' must be a confidence level.*rows \[1\]"):
        effects.from_hazard_ratios(frame)
