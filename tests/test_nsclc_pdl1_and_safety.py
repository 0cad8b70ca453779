"""The PD-L1 interaction and safety analysis: its numbers recomputed by hand from the bundled rows."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import metaoutcome as mo

analysis = importlib.import_module("metaoutcome._analyses.nsclc_pdl1_and_safety")


def _hr(row_id: str) -> tuple[float, float, float]:
    hr = mo.load_dataset("hazard_ratios").set_index("row_id")
    r = hr.loc[row_id]
    return float(r["hr"]), float(r["ci_low"]), float(r["ci_high"])


def test_oak_interaction_from_the_two_subgroup_cis() -> None:
    inter = analysis.pdl1_interactions(mo.load_dataset("hazard_ratios", cancer="NSCLC")).set_index("trial_id")
    (hp, lp, up), (hn, ln_, un) = _hr("oak_os_hr_pdl1pos"), _hr("oak_os_hr_tc0ic0")
    z = stats.norm.ppf(0.975)
    vi = ((math.log(up) - math.log(lp)) / (2 * z)) ** 2 + ((math.log(un) - math.log(ln_)) / (2 * z)) ** 2
    assert_allclose(inter.loc["oak", "yi"], math.log(0.74 / 0.75), rtol=1e-12)
    assert_allclose(inter.loc["oak", "vi"], vi, rtol=1e-12)


def test_checkmate_057_interaction_se_from_the_printed_p() -> None:
    inter = analysis.pdl1_interactions(mo.load_dataset("hazard_ratios", cancer="NSCLC")).set_index("trial_id")
    y = math.log(0.59 / 0.90)
    se = abs(y) / stats.norm.ppf(1 - 0.0646 / 2)  # two-sided interaction p = 0.0646 as printed
    assert_allclose([inter.loc["checkmate_057", "yi"], inter.loc["checkmate_057", "vi"]], [y, se**2], rtol=1e-12)
    # one pair per trial: the 1% cut-off only (the 10% pair of the same patients is not pooled)
    assert list(inter.index).count("checkmate_057") == 1


def test_trae_mantel_haenszel_single_table_is_the_katz_risk_ratio() -> None:
    saf, _ = analysis.safety_tables(mo.load_dataset("proportions", cancer="NSCLC").assign(source_type=""),
                                    mo.load_dataset("trials"))
    usable = saf[saf["usable"]]
    assert list(usable["trial_id"]) == ["checkmate_017"]
    a, n1, c, n2 = (float(usable[k].iloc[0]) for k in ("ai", "n1i", "ci", "n2i"))
    assert (a, n1, c, n2) == (9, 131, 71, 129)
    res = mo.pool_mh(np.array([a]), ci=np.array([c]), n1i=np.array([n1]), n2i=np.array([n2]), measure="RR")
    # one table: the MH estimate is the table's RR and its variance 1/a - 1/n1 + 1/c - 1/n2
    assert_allclose(res.estimate, math.log((a / n1) / (c / n2)), rtol=1e-12)
    assert_allclose(res.se, math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2), rtol=1e-9)


def test_run_writes_its_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from metaoutcome.reproduce import AnalysisOutput

    out = AnalysisOutput("nsclc_pdl1_and_safety", analysis.TITLE, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis.run(out)
    for name in ("pdl1_within_trial_interactions", "pdl1_naive_subgroup_pools", "trae_grade3plus_by_trial",
                 "pooled_values_by_source_type", "poolable_rows_by_source_type"):
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0
    text = out.write_markdown().read_text()
    assert "Within-trial PD-L1 interaction" in text and "Mantel-Haenszel" in text and "source type" in text


@pytest.mark.parametrize("name", ["nsclc_pdl1_and_safety"])
def test_is_listed_for_reproduce(name: str) -> None:
    from metaoutcome.reproduce import list_analyses

    assert name in [n for n, _ in list_analyses()]
