"""HCC grade >= 3 TRAE safety: which randomized trials are pooled (placebo control), which are listed and why.

The synthetic rows below are test fixtures built in memory to exercise the code path a newly curated row would
take; they are never written to the bundled data and their counts mean nothing.
"""

from __future__ import annotations

import importlib
import math

import pandas as pd
from numpy.testing import assert_allclose

import metaoutcome as mo

analysis = importlib.import_module("metaoutcome._analyses.nsclc_pdl1_and_safety")


def _tables() -> dict[str, pd.DataFrame]:
    return {name: mo.load_dataset(name) for name in ("proportions", "medians", "hazard_ratios")}


def _hcc_props() -> pd.DataFrame:
    return mo.load_dataset("proportions", cancer="HCC").assign(source_type="")


def _synthetic_arm(trial_id: str, arm: str, regimen_class: str, events: int, n: int, outcome: str) -> dict[str, object]:
    return dict(row_id=f"synthetic_{trial_id}_{arm}", trial_id=trial_id, arm=arm, regimen=f"synthetic {arm}",
                regimen_class=regimen_class, outcome=outcome, events=events, n=n, percent=100 * events / n,
                status="reported", superseded_by=None, exclude_reason=None, source_id="synthetic", source_type="")


def _mh_log_rr(t: list[list[float]]) -> tuple[float, float]:
    """Mantel-Haenszel log risk ratio and its Greenland-Robins SE, written out (a, n1, c, n2 per trial)."""
    a, n1, c, n2 = (pd.Series([row[i] for row in t], dtype=float) for i in range(4))
    n = n1 + n2
    r, s = a * n2 / n, c * n1 / n
    var = ((n1 * n2 * (a + c) - a * c * n) / n**2).sum() / (r.sum() * s.sum())
    return math.log(r.sum() / s.sum()), math.sqrt(var)


def test_dose_comparison_trials_are_read_from_the_data() -> None:
    trials = mo.load_dataset("trials")
    doses = analysis.dose_comparison_trials(trials, "HCC", _tables())
    assert doses == ["camrelizumab_ph2", "checkmate_040_nivo_ipi"]
    # the curated trial descriptions say the same thing in words
    pop = trials.set_index("trial_id")["population"]
    assert "no control" in pop["camrelizumab_ph2"] and "no control arm" in pop["checkmate_040_nivo_ipi"]
    # every other randomized trial (HCC and NSCLC) has a control arm or a hazard ratio
    assert analysis.dose_comparison_trials(trials, "NSCLC", _tables()) == []


def test_every_randomized_hcc_trial_is_pooled_or_listed_with_a_reason() -> None:
    trials = mo.load_dataset("trials")
    saf, why = analysis.safety_tables(_hcc_props(), trials, "HCC", _tables())
    randomized = set(trials[(trials["cancer"] == "HCC") & (trials["design"] == "randomized")]["trial_id"])
    assert set(saf["trial_id"]) | set(why["trial_id"]) == randomized
    assert list(saf.loc[saf["usable"], "trial_id"]) == ["keynote_240", "keynote_394"]
    reasons = why.set_index("trial_id")
    for tid in ("camrelizumab_ph2", "checkmate_040_nivo_ipi"):
        assert reasons.loc[tid, "reason"] == analysis.DOSE_COMPARISON
        assert reasons.loc[tid, "control_label"] == "none (doses compared)"
    for tid in ("resorce", "celestial", "reach_2"):
        assert reasons.loc[tid, "reason"] == analysis.NOT_READ
        assert reasons.loc[tid, "control_label"] == "placebo"


def test_a_new_placebo_controlled_trial_is_pooled_and_its_grades_shown() -> None:
    trials = mo.load_dataset("trials")
    added = pd.DataFrame([_synthetic_arm("resorce", "regorafenib", "multikinase inhibitor", 30, 100, "TRAE_G34"),
                          _synthetic_arm("resorce", "placebo", "placebo", 5, 50, "TRAE_G34")])
    props = pd.concat([_hcc_props(), added], ignore_index=True)
    saf, why = analysis.safety_tables(props, trials, "HCC", _tables())
    res, used = analysis.pool_safety(saf)
    assert list(used["trial_id"]) == ["keynote_240", "keynote_394", "resorce"]
    assert "resorce" not in set(why["trial_id"])
    assert used.set_index("trial_id").loc["resorce", "grades"] == "grade 3-4"
    y, se = _mh_log_rr([[52, 279, 10, 134], [43, 299, 9, 153], [30, 100, 5, 50]])
    assert res is not None and res.k == 3
    assert_allclose([res.estimate, res.se], [y, se], rtol=1e-12)
    names = dict(zip(trials["trial_id"], trials["short_name"]))
    shown = analysis.safety_display(saf.assign(cancer="HCC"), names).set_index("Trial").loc["RESORCE"]
    assert shown["Grades"] == "grade 3-4" and shown["Pooled"] == "yes"


def test_dose_comparison_arms_are_shown_and_never_pooled() -> None:
    trials = mo.load_dataset("trials")
    base, _ = analysis.safety_tables(_hcc_props(), trials, "HCC", _tables())
    base_res, _ = analysis.pool_safety(base)
    added = pd.DataFrame([_synthetic_arm("checkmate_040_nivo_ipi", f"arm_{x}", "PD-(L)1 + CTLA-4", k, 49, "TRAE_G34")
                          for x, k in (("a", 20), ("b", 10), ("c", 12))])
    props = pd.concat([_hcc_props(), added], ignore_index=True)
    saf, why = analysis.safety_tables(props, trials, "HCC", _tables())
    res, used = analysis.pool_safety(saf)
    assert "checkmate_040_nivo_ipi" not in set(saf["trial_id"]) | set(used["trial_id"])
    assert base_res is not None and res is not None
    assert (res.k, res.estimate, res.se) == (base_res.k, base_res.estimate, base_res.se)
    row = why.set_index("trial_id").loc["checkmate_040_nivo_ipi"]
    assert row["reason"] == analysis.DOSE_COMPARISON and row["grades"] == "grade 3-4"
    assert row["arms_text"] == "arm a: 20 / 49 (40.8%); arm b: 10 / 49 (20.4%); arm c: 12 / 49 (24.5%)"
    names = dict(zip(trials["trial_id"], trials["short_name"]))
    shown = analysis.safety_display(why.assign(usable=False), names).set_index("Trial")
    cell = shown.loc["CheckMate 040 (nivolumab + ipilimumab cohort)"]
    assert cell["Question"] == "none (doses compared)" and cell["Pooled"].startswith("no: doses or schedules randomized")
    assert cell["Experimental arm, events / n (%)"] == row["arms_text"]


def test_report_text_names_the_dose_comparisons_as_not_pooled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from metaoutcome.reproduce import AnalysisOutput

    out = AnalysisOutput("nsclc_pdl1_and_safety", analysis.TITLE, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis.run(out)
    text = out.write_markdown().read_text()
    assert ("shown but not pooled: Camrelizumab phase 2 (Qin 2020), CheckMate 040 (nivolumab + ipilimumab cohort)"
            in text)
    table = out.displays["trae_grade3plus_by_trial"].set_index("Trial")
    assert table.loc["RESORCE", "Pooled"] == f"no: {analysis.NOT_READ}"
    # the forest draws one block per review question (no diamond across them), PDF and 300 dpi PNG
    assert {p.name for p in (tmp_path / "figures").glob("forest_trae_rr_hcc.*")} == {"forest_trae_rr_hcc.pdf",
                                                                                 "forest_trae_rr_hcc.png"}
