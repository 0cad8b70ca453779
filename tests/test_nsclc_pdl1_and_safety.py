"""The PD-L1 interaction and safety analysis: its numbers recomputed by hand from the bundled rows."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
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


def _mh_by_hand(t: np.ndarray) -> tuple[float, float]:
    """Mantel-Haenszel log risk ratio and the Greenland-Robins SE of it, written out (t: rows ai, n1i, ci, n2i)."""
    a, n1, c, n2 = t.T
    n = n1 + n2
    r, s = a * n2 / n, c * n1 / n
    var = ((n1 * n2 * (a + c) - a * c * n) / n**2).sum() / (r.sum() * s.sum())
    return math.log(r.sum() / s.sum()), math.sqrt(var)


def _question(saf: pd.DataFrame, question: str) -> pd.DataFrame:
    return saf[saf["question"] == question]


def test_trae_mantel_haenszel_by_hand_one_pool_per_review_question() -> None:
    trials = mo.load_dataset("trials")
    props = mo.load_dataset("proportions").set_index("row_id")
    saf, _ = analysis.safety_tables(mo.load_dataset("proportions", cancer="NSCLC").assign(source_type=""), trials, "NSCLC")
    mono = _question(saf, "PD-(L)1 monotherapy vs docetaxel")
    res, usable = analysis.pool_safety(mono)
    assert list(usable["trial_id"]) == ["checkmate_017", "orient_3"]
    assert list(usable["grades"]) == ["grade 3-4", "grade >= 3 (3-5)"]
    # the counts are the curated rows' (whose derivations test_derived_safety_counts_are_unique re-derives)
    arms = [("checkmate_017_nivolumab_trae_g34", "checkmate_017_docetaxel_trae_g34"),
            ("orient_3_sintilimab_trae_g3plus", "orient_3_docetaxel_trae_g3plus")]
    t = usable[["ai", "n1i", "ci", "n2i"]].to_numpy(float)
    assert t.tolist() == [[*props.loc[e, ["events", "n"]], *props.loc[c, ["events", "n"]]] for e, c in arms]
    assert res is not None and res.k == 2
    assert_allclose([res.estimate, res.se], _mh_by_hand(t), rtol=1e-12)

    # PD-(L)1 + anti-angiogenic vs docetaxel: its own question, never pooled with monotherapy
    # (CONTACT-01's docetaxel count is excluded by the curated data: shown with that reason, not pooled)
    combo = _question(saf, "PD-(L)1 + anti-angiogenic vs docetaxel")
    cres, cused = analysis.pool_safety(combo)
    assert cres is None and cused.empty and list(combo["trial_id"]) == ["contact_01", "sapphire"]
    contact = combo.set_index("trial_id").loc["contact_01"]
    assert contact["reason"] == ("docetaxel arm excluded: "
                                 + str(props.loc["contact_01_docetaxel_trae_g34", "exclude_reason"]))
    assert [contact["ai"], contact["n1i"], contact["ci"], contact["n2i"]] == [
        *props.loc["contact_01_atezo_cabo_trae_g34", ["events", "n"]], *props.loc["contact_01_docetaxel_trae_g34", ["events", "n"]]]

    hcc, _ = analysis.safety_tables(mo.load_dataset("proportions", cancer="HCC").assign(source_type=""), trials, "HCC")
    assert set(hcc["question"]) == {"PD-(L)1 monotherapy vs placebo"}
    hres, hused = analysis.pool_safety(hcc)
    assert list(hused["trial_id"]) == ["keynote_240", "keynote_394"] and set(hused["control"]) == {"placebo"}
    ht = hused[["ai", "n1i", "ci", "n2i"]].to_numpy(float)
    hrows = [("keynote_240_pembrolizumab_trae_g3plus", "keynote_240_placebo_trae_g3plus"),
             ("keynote_394_pembrolizumab_trae_g3plus", "keynote_394_placebo_trae_g3plus")]
    assert ht.tolist() == [[*props.loc[e, ["events", "n"]], *props.loc[c, ["events", "n"]]] for e, c in hrows]
    assert hres is not None and hres.k == 2
    assert_allclose([hres.estimate, hres.se], _mh_by_hand(ht), rtol=1e-12)
    # the questions are never pooled together: monotherapy vs docetaxel < 1, vs placebo > 1
    assert res.estimate < 0 < hres.estimate


def _arm(trial: str, arm: str, cls: str, events: float, n: float, outcome: str = "TRAE_G3PLUS") -> dict[str, object]:
    return dict(row_id=f"{trial}_{arm}", trial_id=trial, arm=arm, regimen_class=cls, outcome=outcome, events=events, n=n,
                percent=100 * events / n, status="reported", superseded_by=None, exclude_reason=None, source_type="")


def test_several_experimental_arms_share_one_control_once() -> None:
    """KEYNOTE-010's design (two pembrolizumab doses, one docetaxel arm), with made-up counts: the doses are
    combined into one arm (Cochrane Handbook 23.3.4) and the control enters the pool once."""
    mono, chemo = "PD-(L)1 monotherapy", "chemotherapy"
    props = pd.DataFrame([_arm("t3", "low_dose", mono, 20, 100), _arm("t3", "high_dose", mono, 30, 110),
                          _arm("t3", "docetaxel", chemo, 60, 105), _arm("t1", "drug", mono, 10, 90),
                          _arm("t1", "docetaxel", chemo, 40, 95)])
    trials = pd.DataFrame({"trial_id": ["t1", "t3"], "cancer": "NSCLC", "design": "randomized"})
    saf, why = analysis.safety_tables(props, trials, "NSCLC")
    assert why.empty and list(saf["trial_id"]) == ["t1", "t3"] and list(saf["arms_combined"]) == [1, 2]
    t3 = saf.set_index("trial_id").loc["t3"]
    assert [t3["ai"], t3["n1i"], t3["ci"], t3["n2i"]] == [20 + 30, 100 + 110, 60, 105]
    assert_allclose(t3["pct_experimental"], 100 * 50 / 210, rtol=1e-12)
    res, used = analysis.pool_safety(saf)
    assert res is not None and res.k == 2 and int(used["n2i"].sum()) == 95 + 105  # each control counted once
    assert_allclose([res.estimate, res.se], _mh_by_hand(np.array([[10, 90, 40, 95], [50, 210, 60, 105]], float)),
                    rtol=1e-12)
    disp = analysis.safety_display(saf, {"t1": "Trial 1", "t3": "Trial 3"})
    assert disp["Experimental arm, events / n (%)"].iloc[1].startswith("2 arms combined, low + dose and high + dose")


def test_arms_with_different_grade_ranges_are_not_compared() -> None:
    props = pd.DataFrame([_arm("t1", "drug", "PD-(L)1 monotherapy", 10, 90, "TRAE_G34"),
                          _arm("t1", "docetaxel", "chemotherapy", 40, 95, "TRAE_G3PLUS")])
    trials = pd.DataFrame({"trial_id": ["t1"], "cancer": "NSCLC", "design": "randomized"})
    saf, why = analysis.safety_tables(props, trials, "NSCLC")
    assert saf.empty and list(why["reason"]) == ["arms print different grade ranges (grade 3-4, grade >= 3 (3-5))"]


def _n_reproducing(percents: list[float], n_max: int) -> list[int]:
    """Every n <= n_max for which each printed one-decimal percentage is some count / n."""
    return [n for n in range(1, n_max + 1)
            if all(any(round(100 * k / n, 1) == p for k in range(n + 1)) for p in percents)]


def test_derived_safety_denominators_are_unique() -> None:
    props = mo.load_dataset("proportions").set_index("row_id")
    # ORIENT-3 (AACR CT041): docetaxel 83.1% any-grade TRAEs, 36.2% grade >= 3, alopecia 34.6%; safety set 274
    assert _n_reproducing([83.1, 36.2, 34.6], 145) == [130]
    assert _n_reproducing([84.7, 18.1], 145) == [72, 144] and 274 - 130 == 144
    assert (props.loc["orient_3_docetaxel_trae_g3plus", ["events", "n"]].tolist() == [47, 130])
    assert (props.loc["orient_3_sintilimab_trae_g3plus", ["events", "n"]].tolist() == [26, 144])
    # KEYNOTE-240: printed counts 147 (52.7%) and 52 (18.6%); 62 (46.3%) and 10 (7.5%)
    assert [n for n in range(52, 401) if round(100 * 147 / n, 1) == 52.7 and round(100 * 52 / n, 1) == 18.6] == [279]
    assert [n for n in range(62, 401) if round(100 * 62 / n, 1) == 46.3 and round(100 * 10 / n, 1) == 7.5] == [134]
    assert props.loc["keynote_240_pembrolizumab_trae_g3plus", "n"] == 279
    assert props.loc["keynote_240_placebo_trae_g3plus", "n"] == 134
    # KEYNOTE-394 (JCO abstract): TRAEs 66.9% (grade 3 12.0%, grade 4 1.3%, grade 5 1.0%) vs 49.7% (grade 3 5.9%)
    assert _n_reproducing([66.9, 12.0, 1.3, 1.0], 300) == [299]
    assert _n_reproducing([49.7, 5.9], 153) == [153]
    assert [k for k in range(300) if round(100 * k / 299, 1) in (12.0, 1.3, 1.0)] == [3, 4, 36]
    assert props.loc["keynote_394_pembrolizumab_trae_g3plus", ["events", "n"]].tolist() == [36 + 4 + 3, 299]
    assert props.loc["keynote_394_placebo_trae_g3plus", ["events", "n"]].tolist() == [9, 153]
    # CONTACT-01 docetaxel (JCO abstract: serious AEs '58 (34.7%)'; JNCCN 360: grade 3/4 TRAEs '34.7%')
    assert [n for n in range(58, 5001) if round(100 * 58 / n, 1) == 34.7] == [167]
    assert [k for k in range(168) if round(100 * k / 167, 1) == 34.7] == [58]
    assert props.loc["contact_01_docetaxel_trae_g34", ["events", "n"]].tolist() == [58, 167]
    assert props.loc["contact_01_atezo_cabo_trae_g34", ["events", "n"]].tolist() == [73, 185]


def _raw_percent(row_id: str) -> str:
    import csv

    from metaoutcome._schema import data_dir

    with open(data_dir() / "proportions.csv", newline="", encoding="utf-8") as f:
        return next(r["percent"] for r in csv.DictReader(f) if r["row_id"] == row_id)


def test_derived_safety_counts_are_unique() -> None:
    """Every safety arm this analysis pools whose count is derived: the count is the only integer that reproduces
    the row's percentage at its printed precision over the row's n."""
    trials = mo.load_dataset("trials")
    pooled = set()
    for cancer in ("NSCLC", "HCC"):
        saf_c, _ = analysis.safety_tables(mo.load_dataset("proportions", cancer=cancer).assign(source_type=""), trials,
                                          cancer)
        pooled |= set(saf_c.loc[saf_c["usable"], "trial_id"])
    props = mo.load_dataset("proportions").set_index("row_id")
    saf = props[props["outcome"].isin(["TRAE_G3PLUS", "TRAE_G34"]) & props["trial_id"].isin(pooled)
                & (props["status"] == "derived")]
    assert len(saf) == 2 * len(pooled) == 8
    for row_id, r in saf.iterrows():
        text = _raw_percent(str(row_id))
        digits = len(text.split(".")[1]) if "." in text else 0
        n = int(r["n"])
        assert [k for k in range(n + 1) if round(100 * k / n, digits) == float(text)] == [int(r["events"])], row_id


def test_run_writes_its_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from metaoutcome.reproduce import AnalysisOutput

    out = AnalysisOutput("nsclc_pdl1_and_safety", analysis.TITLE, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis.run(out)
    for name in ("pdl1_within_trial_interactions", "pdl1_naive_subgroup_pools", "trae_grade3plus_by_trial",
                 "trae_rr_nsclc", "trae_rr_hcc",
                 "pooled_values_by_source_type", "poolable_rows_by_source_type"):
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0
    for name in ("forest_trae_rr_nsclc", "forest_trae_rr_hcc"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 0
    text = out.write_markdown().read_text()
    assert "Within-trial PD-L1 interaction" in text and "Mantel-Haenszel" in text and "source type" in text


@pytest.mark.parametrize("name", ["nsclc_pdl1_and_safety"])
def test_is_listed_for_reproduce(name: str) -> None:
    from metaoutcome.reproduce import list_analyses

    assert name in [n for n, _ in list_analyses()]


def test_reader_tables_show_ratios_and_risk_ratios(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from metaoutcome.reproduce import AnalysisOutput

    out = AnalysisOutput("nsclc_pdl1_and_safety", analysis.TITLE, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis.run(out)
    inter = out.displays["pdl1_within_trial_interactions"]
    assert list(inter["Trial"][:2]) == ["CheckMate 057", "OAK"] and inter["Trial"].iloc[-1].startswith("Common effect")
    oak = pd.read_csv(tmp_path / "tables" / "pdl1_within_trial_interactions.csv").set_index("trial_id").loc["oak"]
    se = math.sqrt(oak["vi"])
    assert inter.iloc[1]["Ratio of HRs (95% CI)"] == (
        f"{oak['ratio']:.2f} ({math.exp(oak['yi'] - 1.959964 * se):.2f} to {math.exp(oak['yi'] + 1.959964 * se):.2f})")
    trials = out.displays["trae_grade3plus_by_trial"].set_index("Trial")
    # the one arm read in a secondary report carries the dagger; the arms read in the publications do not
    assert trials.loc["CONTACT-01", "Control arm, events / n (%)"] == "58* / 167 (34.7%) †"
    assert not trials.drop(index="CONTACT-01").map(lambda c: "†" in str(c)).to_numpy().any()
    for name in ("trae_rr_nsclc", "trae_rr_hcc"):
        rr = out.displays[name]
        assert "RR (95% CI)" in rr.columns and rr["Trial"].iloc[-1] == "Common effect (Mantel-Haenszel)"
        summ = pd.read_csv(tmp_path / "tables" / f"{name}.csv")
        pooled = summ[summ["row_type"] == "pooled"].iloc[0]
        assert rr["RR (95% CI)"].iloc[-1] == (f"{pooled['estimate_natural']:.2f} ({pooled['ci_low_natural']:.2f} to "
                                              f"{pooled['ci_high_natural']:.2f})")
    for frame in out.displays.values():
        cells = frame.astype(str).to_numpy().ravel()
        assert not any(c in ("nan", "<NA>", "None") or "_" in c for c in cells), frame
