"""metaoutcome.effects and metaoutcome.measures against the committed R reference values.

The fixture is written by ``Rscript tests/reference/make_effects_fixtures.R`` (R, metafor, the
exact call per case); CI does not need R.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from metaoutcome import effects
from metaoutcome.measures import get_measure, ipft, ipft_hm, pft

FIXTURE = Path(__file__).parent / "reference" / "effects_fixtures.json"
DATA = json.loads(FIXTURE.read_text())
CASES = {c["id"]: c for c in DATA["cases"]}

# Our numbers must equal metafor's to 1e-6 relative (the project's contract); the fixture keeps
# 15 significant digits, so this is not limited by the JSON.
RTOL = 1e-6
# Some reference values are exactly 0 (e.g. a back-transformed proportion at the end of the
# scale), where a relative tolerance means nothing; 1e-12 is far below any reported precision.
ATOL = 1e-12


def arr(x: Any) -> np.ndarray:
    """JSON value -> float array (null -> NaN; a scalar -> length 1)."""
    return np.atleast_1d(np.array(x, dtype=float))


def inp(case: dict[str, Any], name: str) -> Any:
    v = case["inputs"].get(name)
    return None if v is None else arr(v)


def level(case: dict[str, Any], name: str = "level") -> Any:
    v = case["inputs"].get(name, 95)
    return v if np.isscalar(v) else arr(v)


def quiet(fn: Callable[[], Any]) -> Any:
    # cases with zero cells and no correction warn (Inf -> NaN) exactly as metafor does;
    # the warning itself is tested in test_effects_inputs.py
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def run_proportion_es(c: dict[str, Any]) -> dict[str, Any]:
    res = quiet(lambda: effects.proportion_es(inp(c, "events"), inp(c, "n"), **c["args"]))
    return {"yi": res["yi"], "vi": res["vi"]}


def run_two_arm_es(c: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {k: arr(v) for k, v in c["inputs"].items()}
    res = quiet(lambda: effects.two_arm_es(**c["args"], **kw))
    return {"yi": res["yi"], "vi": res["vi"]}


def run_transf(c: dict[str, Any]) -> dict[str, Any]:
    fun = c["args"]["fun"]
    x = inp(c, "x")
    if fun == "ipft":
        out = ipft(x, inp(c, "ni"))
    elif fun == "ipft_hm":
        out = ipft_hm(x, inp(c, "ni"))
        # the registry's pooled back-transform is the same thing
        assert_allclose(get_measure("PFT").back_pooled(x, inp(c, "ni")), out, rtol=0, atol=0)
    elif fun == "pft":
        out = pft(x, inp(c, "ni"))
    else:
        out = get_measure(fun).back(x)
    return {"value": out}


def run_proportion_ci(c: dict[str, Any]) -> dict[str, Any]:
    res = effects.proportion_ci(inp(c, "events"), inp(c, "n"), **c["args"])
    return {"ci_low": res["ci_low"], "ci_high": res["ci_high"]}


def run_hr_from_ci(c: dict[str, Any]) -> dict[str, Any]:
    res = quiet(lambda: effects.hr_from_ci(inp(c, "hr"), inp(c, "lower"), inp(c, "upper"),
                                           level(c), **c["args"]))
    return {"yi": res["yi"], "vi": res["vi"], "ci_asymmetry": res["ci_asymmetry"]}


def run_hr_from_p(c: dict[str, Any]) -> dict[str, Any]:
    p = c["inputs"]["p"]
    res = effects.hr_from_p(inp(c, "hr"), p if isinstance(p[0], str) else arr(p))
    return {"yi": res["yi"], "vi": res["vi"], "p": res["p"], "p_bound": res["p_bound"]}


def run_hr_from_logrank(c: dict[str, Any]) -> dict[str, Any]:
    res = effects.hr_from_logrank(inp(c, "o_minus_e"), inp(c, "v"))
    return {"yi": res["yi"], "vi": res["vi"]}


def run_hr_from_events(c: dict[str, Any]) -> dict[str, Any]:
    res = effects.hr_from_events(*(inp(c, k) for k in ("observed1", "expected1", "observed2", "expected2")))
    return {"yi": res["yi"], "vi": res["vi"]}


def run_median_es(c: dict[str, Any]) -> dict[str, Any]:
    nr = c["inputs"].get("upper_nr")
    res = effects.median_es(inp(c, "median"), inp(c, "lower"), inp(c, "upper"), level(c),
                            upper_nr=None if nr is None else np.atleast_1d(np.array(nr, dtype=bool)),
                            events=inp(c, "events"), **c["args"])
    return {"yi": res["yi"], "vi": res["vi"]}


def run_two_arm_median_es(c: dict[str, Any]) -> dict[str, Any]:
    i = c["inputs"]
    res = effects.two_arm_median_es(
        arr(i["median1"]), arr(i["median2"]),
        lower1=arr(i["lower1"]), upper1=arr(i["upper1"]), lower2=arr(i["lower2"]), upper2=arr(i["upper2"]),
        level1=arr(i["level1"]), level2=arr(i["level2"]),
        upper_nr1=np.array(i["upper_nr1"], dtype=bool), upper_nr2=np.array(i["upper_nr2"], dtype=bool),
        **c["args"],
    )
    return {"yi": res["yi"], "vi": res["vi"]}


def run_median_of_medians(c: dict[str, Any]) -> dict[str, Any]:
    r = effects.median_of_medians(inp(c, "medians"), inp(c, "weights"), **c["args"])
    return {"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "coverage": r.coverage}


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "proportion_es": run_proportion_es,
    "two_arm_es": run_two_arm_es,
    "transf": run_transf,
    "proportion_ci": run_proportion_ci,
    "hr_from_ci": run_hr_from_ci,
    "hr_from_p": run_hr_from_p,
    "hr_from_logrank": run_hr_from_logrank,
    "hr_from_events": run_hr_from_events,
    "median_es": run_median_es,
    "two_arm_median_es": run_two_arm_median_es,
    "median_of_medians": run_median_of_medians,
}


def expected_ids() -> set[str]:
    """The case grid the R script is meant to write (kept here, independently of the JSON)."""
    ids: set[str] = set()
    for s in ("pritz1997", "debruin2009", "edge"):
        ids |= {f"escalc_{m}_{s}" for m in ("PR", "PLN", "PLO", "PAS", "PFT")}
    ids |= {f"escalc_{o}_edge" for o in ("PLO_to_all", "PR_to_if0all", "PLN_to_none", "PLO_add_0.1",
                                        "PFT_add_0.5_all", "PR_vtype_AV", "PLN_vtype_AV", "PLO_vtype_AV")}
    ids.add("escalc_PR_vtype_UB_pritz1997")
    ids |= {f"escalc_{m}_bcg" for m in ("OR", "RR", "RD")} | {"escalc_OR_bcg_n1i_n2i"}
    ids |= {f"escalc_{o}" for o in ("OR_zero", "RR_zero", "RD_zero", "OR_zero_drop00", "OR_zero_to_all",
                                    "RR_zero_to_if0all", "RD_zero_vtype_UB", "RD_zero_vtype_AV",
                                    "OR_zero_to_none")}
    ids |= {"transf_ipft_pritz1997", "transf_ipft_ends", "transf_ipft_hm_pritz1997", "transf_ilogit",
            "transf_iarcsin", "transf_exp", "transf_pft"}
    ids |= {f"ci_{m}_{lv}" for m in ("clopper_pearson", "wilson", "wald") for lv in (95, 90)}
    ids |= {"wald_ci_roundtrip_bcg_95", "wald_ci_roundtrip_bcg_96", "wald_p_roundtrip_bcg",
            "conv_wald_ci_95", "conv_wald_ci_96", "conv_wald_ci_mixed_levels", "hr_ci_lower_bound_95",
            "hr_ci_upper_bound_96", "conv_wald_p_printed", "logrank_oe_v", "observed_expected"}
    ids |= {"median_log_ci", "median_natural_ci", "median_events", "rmed_metamedian", "dmed_metamedian",
            "rmed_log_scale", "median_of_medians_normal", "median_of_medians_weighted",
            "median_of_medians_normal_k4_90", "median_of_medians_exact"}
    return ids


def test_fixture_records_versions_and_calls() -> None:
    assert DATA["r_version"].startswith("R version")
    assert DATA["metafor_version"]
    assert DATA["date"]
    for c in DATA["cases"]:
        assert c["call"] and c["reference"] in ("metafor", "R stats", "formula"), c["id"]


def test_case_grid_is_complete() -> None:
    assert set(CASES) == expected_ids()
    assert {c["group"] for c in CASES.values()} == set(RUNNERS)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_against_r(case_id: str) -> None:
    case = CASES[case_id]
    got = RUNNERS[case["group"]](case)
    for name, want in case["outputs"].items():
        w = arr(want)
        g = np.atleast_1d(np.asarray(got[name], dtype=float))
        # NaN where R gives NA (e.g. log of 0 without a correction) must be NaN here too
        assert_allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=f"{case_id}: {name}")
