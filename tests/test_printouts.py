"""Every result prints through the one renderer (metaoutcome.printer): one p-value rule in text,
HTML, Markdown and LaTeX, and the GLMM and Mantel-Haenszel printouts worded as metafor's."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaoutcome as mo
from metaoutcome import diagnostics, gosh, network, regression, small_study
from metaoutcome.printer import Printable
from metaoutcome.results import PoolResult
from metaoutcome.subgroups import SubgroupResult

from _reference import REFERENCE

PRINT = json.loads((REFERENCE / "print_fixtures.json").read_text())

# dat.bcg (metadat), as in tests/reference/make_print_fixtures.R
TPOS = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
TNEG = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
CPOS = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
CNEG = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
ABLAT = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33])
LABELS = [f"T{i + 1}" for i in range(13)]


def _frame() -> pd.DataFrame:
    a, b, c, d = TPOS + 0.0, TNEG + 0.0, CPOS + 0.0, CNEG + 0.0
    yi = np.log(a / (a + b)) - np.log(c / (c + d))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return pd.DataFrame({"yi": yi, "vi": vi, "ablat": ABLAT, "label": LABELS,
                         "group": ["north" if x > 30 else "south" for x in ABLAT]})


def _network() -> Any:
    """A three-treatment network with a closed loop (so inconsistency is estimable)."""
    frame = pd.DataFrame({"study": ["a", "b", "c", "d"], "treat1": ["X", "Y", "X", "X"],
                          "treat2": ["C", "C", "Y", "C"], "yi": [-0.3, -0.1, -0.15, -0.25],
                          "vi": [0.01, 0.02, 0.03, 0.015]})
    return network.network_meta(frame, method="REML", reference="C", measure="HR")


def _quiet(f: Callable[..., Any], *a: Any, **k: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def _pool() -> PoolResult:
    df = _frame()
    return _quiet(mo.pool, df["yi"], df["vi"], measure="RR", labels=LABELS)


def _reg() -> Any:
    return _quiet(regression.meta_regression, _frame(), mods=["ablat"])


CASES: dict[str, Callable[[], Any]] = {
    "PoolResult-random": _pool,
    "PoolResult-common": lambda: _quiet(mo.pool, _frame()["yi"], _frame()["vi"], measure="RR", method="EE"),
    "PoolResult-MH": lambda: _quiet(mo.pool_mh, TPOS, TNEG, CPOS, CNEG),
    "PoolResult-Peto": lambda: _quiet(mo.pool_peto, TPOS, TNEG, CPOS, CNEG),
    "PoolResult-GLMM": lambda: _quiet(mo.pool_glmm, TPOS, TPOS + TNEG),
    "SubgroupResult": lambda: _quiet(mo.subgroup_analysis, _frame().assign(measure="RR"), "group", labels="label"),
    "MetaRegressionResult": _reg,
    "PermutationTestResult": lambda: _quiet(regression.permutation_test, _reg(), iter=200, seed=1),
    "LeaveOneOutResult": lambda: diagnostics.leave_one_out(_pool()),
    "CumulativeResult": lambda: diagnostics.cumulative(_pool()),
    "InfluenceResult": lambda: diagnostics.influence(_pool()),
    "GoshResult": lambda: _quiet(gosh.gosh, _quiet(mo.pool, _frame()["yi"][:6], _frame()["vi"][:6])),
    "BatchResult": lambda: _quiet(mo.pool_batch, "yi", "vi", by="group", data=_frame()),
    "EggerTestResult": lambda: small_study.egger_test(_pool()),
    "RankTestResult": lambda: small_study.rank_test(_pool()),
    "TrimFillResult": lambda: _quiet(small_study.trim_and_fill, _pool()),
    "PetPeeseResult": lambda: small_study.pet_peese(_pool()),
    "NetworkResult": lambda: _network(),
    "Decomposition": lambda: network.decomposition(_network()),
    "NodeSplit": lambda: network.node_split(_network()),
    "BayesMetaResult": lambda: mo.bayesmeta(yi=_frame()["yi"][:6], vi=_frame()["vi"][:6], measure="RR"),
    "MAPPrior": lambda: mo.map_prior(events=TPOS[:5], n=(TPOS + TNEG)[:5]),
    "SimonDesign": lambda: mo.simon(0.1, 0.3),
    "AHernDesign": lambda: mo.ahern(0.1, 0.3),
    "BayesOC": lambda: mo.bayes_oc(40, mo.map_prior(events=TPOS[:5], n=(TPOS + TNEG)[:5]), 0.15, 0.35),
}


def _result_classes() -> set[str]:
    """Every class that renders results: PoolResult, SubgroupResult and the Printable subclasses."""
    seen: set[str] = set()
    todo: list[type] = [Printable]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if not sub.__name__.startswith("_") and sub.__name__ != "ReportMixin":
                seen.add(sub.__name__)
    return seen | {"PoolResult", "SubgroupResult"}


def test_the_case_grid_covers_every_result_class() -> None:
    for name in CASES:  # import every module whose classes the grid names
        CASES[name]()
    assert {n.split("-")[0] for n in CASES} == _result_classes()


SCI = re.compile(r"\d(?:\.\d+)?[eE][-+]?\d")


@pytest.mark.parametrize("name", list(CASES))
def test_p_values_print_one_way(name: str) -> None:
    res = CASES[name]()
    views = {"text": str(res), "repr": repr(res), "html": res._repr_html_(), "markdown": res.to_markdown(),
             "latex": res.to_latex()}
    assert views["text"] == views["repr"]
    for kind, text in views.items():
        assert not SCI.search(text), f"{name} {kind}: a number in scientific notation: {SCI.search(text)}"
        # a p-value below 1e-4 reads "<.0001" in a cell and "p-val < .0001" in a phrase, nothing else
        assert not re.search(r"p(-val(ue)?)?:? ?=? ?0\.0000\b", text), f"{name} {kind}"
        assert "< 0.0001" not in text and "<0.0001" not in text
    small = {"PoolResult-random", "PoolResult-common", "PoolResult-MH", "PoolResult-Peto", "PoolResult-GLMM",
             "MetaRegressionResult", "BatchResult"}
    if name in small:  # these fits have p < 1e-4 (BCG: z ~ -4 to -15), so the bound must show
        assert "<.0001" in views["text"] and "&lt;.0001" in views["html"] and "<.0001" in views["markdown"]


def test_glmm_prints_wald_and_lrt_as_metafor() -> None:
    text = str(CASES["PoolResult-GLMM"]())
    ref = PRINT["glmm"]
    assert ref["heading"] in text
    for line in ref["tests"]:  # "Wld(df = 12) = 1552.6655, p-val < .0001", "LRT(df = 12) =  916.7591, ..."
        assert line in text.splitlines()
    assert "Q(df" not in text


def test_mh_prints_cmh_and_tarone_as_metafor() -> None:
    res = CASES["PoolResult-MH"]()
    ref = PRINT["mh"]
    np.testing.assert_allclose([res.extra["cmh"], res.extra["tarone"]], [ref["cmh"], ref["tarone"]], rtol=1e-8)
    lines = str(res).splitlines()
    for line in ref["tests"]:
        # metafor 3.8-1 writes these two p-values as "< 0.0001" and the others as "< .0001"; one rule here
        assert line.replace("< 0.0001", "< .0001") in lines
    assert "Cochran-Mantel-Haenszel" not in str(mo.pool_mh(TPOS, TNEG, CPOS, CNEG, measure="RR"))
