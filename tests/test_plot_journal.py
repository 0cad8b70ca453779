"""Figures as a journal prints them (issue 14): width and font size, 300 dpi PNGs, readable
ticks, arrows past the limits, one meaning of the weights in subgroup forests, the method named
in RevMan headers, and exact study intervals in GLMM forests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome.plotting import forest, savefig
from metaoutcome.plotting.forest import exact_study_ci

from _reference import REFERENCE
from test_plot_forest import IMAGE_CASES as FOREST_CASES, hr_result, orr_results
from test_plot_sensitivity import IMAGE_CASES as SENSITIVITY_CASES

PRINT = json.loads((REFERENCE / "print_fixtures.json").read_text())
MM_PER_IN = 25.4

# dat.bcg (metadat), as in tests/reference/make_print_fixtures.R
TPOS = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
TNEG = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
CPOS = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
CNEG = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
BCG_LABELS = [f"Trial {i + 1}" for i in range(13)]


def _quiet(f: Any, *a: Any, **k: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def _texts(fig: Any) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}


def _wide_hr() -> Any:
    """Wide study CIs: matplotlib's default limits put 0.0625 and 0.125 side by side."""
    hr = np.array([0.3, 0.9, 2.5, 0.15, 1.4, 6.0])
    se = np.array([0.9, 0.8, 1.1, 1.2, 0.7, 1.0])
    return mo.pool(np.log(hr), se**2, measure="HR", labels=[f"S{i}" for i in range(6)])


def _glmm() -> Any:
    x, n = np.array(PRINT["clopper_pearson"]["x"], float), np.array(PRINT["clopper_pearson"]["n"], float)
    return _quiet(mo.pool_glmm, x, n, labels=[f"{int(a)}/{int(b)}" for a, b in zip(x, n)])


FIGURES: dict[str, Any] = {
    **FOREST_CASES,
    **{k: v for k, v in SENSITIVITY_CASES.items() if "forest" in k},
    "forest_wide_ci": lambda: forest(_wide_hr()),
    "forest_mh_revman": lambda: forest(_quiet(mo.pool_mh, TPOS, TNEG, CPOS, CNEG, labels=BCG_LABELS), layout="revman"),
    "forest_glmm": lambda: forest(_glmm()),
    "forest_long_labels": lambda: forest(hr_result(), left_columns={"Regimen": [
        "Nivolumab 3 mg/kg q2w", "Nivolumab 3 mg/kg q2w", "Atezolizumab 1200 mg q3w",
        "Pembrolizumab 2 mg/kg q3w", "Avelumab 10 mg/kg q2w"]}, layout="revman",
        favours=("Favours immunotherapy", "Favours docetaxel")),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_saved_png_is_300_dpi_and_at_most_183_mm_text_at_least_7_pt(name: str, tmp_path: Path) -> None:
    from PIL import Image

    fig = FIGURES[name]()
    fonts = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]
    assert min(fonts) >= 7.0, f"{name}: text at {min(fonts)} pt"
    png = tmp_path / f"{name}.png"
    savefig(fig, png)
    with Image.open(png) as im:
        dpi = im.info["dpi"]
        width_px = im.size[0]
    assert_allclose(dpi, (300, 300), atol=0.01)
    assert width_px / 300 * MM_PER_IN <= 183.0 + 0.1, f"{name}: {width_px / 300 * MM_PER_IN:.1f} mm wide"


def test_too_wide_even_at_7_pt_warns_and_max_width_none_keeps_the_layout() -> None:
    long = "a regimen description far too long to fit into any column of a journal page at seven points"
    with pytest.warns(UserWarning, match=r"wider than 183 mm"):  # text columns are not wrapped, labels are
        forest(hr_result(), left_columns={"Regimen": [long] * 5})
    labels = ["A trial label too long for one line of a journal figure's label column, " + s for s in "ABCDE"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = forest(hr_result(), labels=labels)
    shown = _texts(fig)["label|study-0"]
    assert "\n" in shown and shown.replace("\n", " ") == labels[0]
    assert fig.get_figwidth() * MM_PER_IN <= 183.0
    fig = forest(hr_result(), max_width=None)
    assert fig.get_figwidth() * MM_PER_IN > 183  # the layout's own 9 pt and 3 in graph
    with pytest.raises(ValueError, match=r"max_width=-1(\.0)? must be a positive width in mm"):
        forest(hr_result(), max_width=-1)


# -- ticks ----------------------------------------------------------------------------------------


def _tick_boxes(fig: Any) -> list[Any]:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in fig.axes[0].get_xticklabels() if t.get_text() and t.get_visible()]


@pytest.mark.parametrize("case", ["wide_default", "wide_revman", "wide_jama", "k150", "narrow_xlim", "subgroups",
                                  "mh_revman"])
def test_tick_labels_never_overlap(case: str) -> None:
    groups, overall, _ = orr_results()
    fig = {
        "wide_default": lambda: forest(_wide_hr()),
        "wide_revman": lambda: forest(_wide_hr(), layout="revman"),
        "wide_jama": lambda: forest(_wide_hr(), layout="jama", fontsize=12),
        "k150": FOREST_CASES["forest_hr_k150"],
        "narrow_xlim": lambda: forest(_wide_hr(), xlim=(0.01, 100), xticks=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]),
        "subgroups": lambda: forest(groups, overall=overall),
        "mh_revman": FIGURES["forest_mh_revman"],  # default limits 0.0625 to 8: "0.0625 0.125" collided
    }[case]()
    boxes = _tick_boxes(fig)
    assert len(boxes) >= 2
    boxes.sort(key=lambda b: b.x0)
    gap = 0.03 * fig.dpi  # labels that touch read as one number ("0.0625 0.125"): keep 0.03 in apart
    for a, b in zip(boxes, boxes[1:]):
        assert a.x1 + gap <= b.x0, f"tick labels overlap or touch: {a} and {b}"


def test_thinned_ticks_keep_the_null_and_their_marks() -> None:
    fig = forest(_wide_hr(), xlim=(0.01, 100), xticks=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ax.get_xticks()) == 11 and "1" in labels and "" in labels


# -- arrows ---------------------------------------------------------------------------------------


def _offsets(fig: Any, gid: str) -> np.ndarray:
    hit = [c for c in fig.axes[0].collections if c.get_gid() == gid]
    return np.asarray(hit[0].get_offsets()) if hit else np.empty((0, 2))


def test_prediction_interval_and_diamond_leaving_the_axis_get_arrows() -> None:
    res = _wide_hr()
    lo, hi = np.exp([res.pi_low, res.pi_high])
    assert lo < 0.25 and hi > 2  # the PI leaves xlim=(0.25, 2) on both sides
    fig = forest(res, xlim=(0.25, 2))
    assert_allclose(_offsets(fig, "arrows-pi-left")[:, 0], [0.25])
    assert_allclose(_offsets(fig, "arrows-pi-right")[:, 0], [2.0])
    # the pooled CI (about 0.4 to 2.4) leaves on the right only
    clo, chi = np.exp([res.ci_low, res.ci_high])
    assert clo > 0.25 and chi > 2
    assert _offsets(fig, "arrows-pooled-left").size == 0
    assert_allclose(_offsets(fig, "arrows-pooled-right")[:, 0], [2.0])
    # inside the default limits nothing gets an arrow
    fig = forest(res)
    assert all(_offsets(fig, g).size == 0 for g in ("arrows-pi-left", "arrows-pi-right", "arrows-pooled-right"))


# -- weights in subgroup forests --------------------------------------------------------------------


def _orr_frame() -> pd.DataFrame:
    groups = {"A": ([19, 12, 8, 15, 22], [67, 40, 30, 50, 61]), "B": ([9, 14, 20, 11], [45, 70, 102, 60])}
    rows = []
    for g, (xs, ns) in groups.items():
        for i, (x, n) in enumerate(zip(xs, ns)):
            rows.append({"label": f"{g}{i}", "group": g, "yi": np.log(x / (n - x)), "vi": 1 / x + 1 / (n - x),
                         "measure": "PLO"})
    return pd.DataFrame(rows)


def _shown_weights(fig: Any) -> tuple[dict[str, str], dict[str, str]]:
    t = _texts(fig)
    study = {t[g]: t[g.replace("label|", "weight0|")] for g in t if g.startswith("label|study-")}
    subtotal = {g: v for g, v in t.items() if g.startswith("weight0|pooled-")}
    return study, subtotal


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_subgroup_weights_are_overall_weights_whatever_the_row_order(seed: int | None) -> None:
    df = _orr_frame()
    if seed is not None:  # rows interleaved, not sorted by subgroup
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        assert not df["group"].is_monotonic_increasing or seed is None
    sg = _quiet(mo.subgroup_analysis, df, "group", labels="label")
    fig = sg.forest()
    study, subtotal = _shown_weights(fig)
    expected = dict(zip(sg.overall.labels, sg.overall.weights))
    assert study == {lab: f"{w:.1f}%" for lab, w in expected.items()}
    for gi, name in enumerate(sg.results):
        share = sum(w for lab, w in expected.items() if lab.startswith(name))
        assert subtotal[f"weight0|pooled-{gi}-0"] == f"{share:.1f}%"
    assert subtotal["weight0|pooled-overall-0"] == "100.0%"
    assert _texts(fig)["header|weight0"] == "Weight\n(overall)"


def test_subgroup_weights_shuffled_equal_sorted() -> None:
    df = _orr_frame()
    sorted_fig = _quiet(mo.subgroup_analysis, df, "group", labels="label").forest()
    shuffled = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    shuffled_fig = _quiet(mo.subgroup_analysis, shuffled, "group", labels="label").forest()
    assert _shown_weights(sorted_fig) == _shown_weights(shuffled_fig)


def test_subgroup_weights_without_overall_are_within_subgroup() -> None:
    groups, _, _ = orr_results()
    fig = forest(groups)
    study, subtotal = _shown_weights(fig)
    assert _texts(fig)["header|weight0"] == "Weight\n(within subgroup)"
    assert set(subtotal.values()) == {"100.0%"}
    first = groups["PD-1 + anti-angiogenic"]
    assert [study[lab] for lab in first.labels] == [f"{w:.1f}%" for w in first.weights]


# -- RevMan method labels -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind,expected", [
    ("mh", "M-H, Fixed"), ("peto", "Peto, Fixed"), ("iv_random", "IV, Random"), ("iv_fixed", "IV, Fixed"),
])
def test_revman_header_names_the_method(kind: str, expected: str) -> None:
    a, b, c, d = TPOS + 0.0, TNEG + 0.0, CPOS + 0.0, CNEG + 0.0
    yi = np.log(a / b) - np.log(c / d)
    vi = 1 / a + 1 / b + 1 / c + 1 / d
    res = {
        "mh": lambda: _quiet(mo.pool_mh, TPOS, TNEG, CPOS, CNEG),
        "peto": lambda: _quiet(mo.pool_peto, TPOS, TNEG, CPOS, CNEG),
        "iv_random": lambda: mo.pool(yi, vi, measure="OR"),
        "iv_fixed": lambda: mo.pool(yi, vi, measure="OR", method="EE"),
    }[kind]()
    t = _texts(forest(res, layout="revman"))
    assert t["header|estimate"] == f"Odds ratio\n{expected}, 95% CI"
    assert t["header|plot"] == f"Odds ratio\n{expected}, 95% CI"
    # a fixed-effect model estimates no tau^2, and RevMan prints none
    assert ("Tau\u00b2" in t["text|het-0"]) == expected.endswith("Random")


# -- GLMM forests ---------------------------------------------------------------------------------------


def test_exact_study_ci_equals_r_binom_test() -> None:
    ref = PRINT["clopper_pearson"]
    x, lo, hi = exact_study_ci(_glmm())
    assert x.tolist() == ref["x"]
    assert_allclose(lo, ref["lower"], rtol=1e-10, atol=1e-14)
    assert_allclose(hi, ref["upper"], rtol=1e-10, atol=1e-14)


def test_glmm_forest_draws_exact_intervals_and_says_weights_are_approximate() -> None:
    res = _glmm()
    ref = PRINT["clopper_pearson"]
    fig = forest(res)
    t = _texts(fig)
    i = ref["n"].index(10) + ref["x"][ref["n"].index(10):].index(10)  # the 10/10 study
    assert t[f"estimate|study-{i}"] == f"100.0 [{100 * ref['lower'][i]:.1f}, 100.0]"
    assert "approx." in t["header|weight0"]
    wald = _texts(forest(res, study_ci="wald"))
    assert wald[f"estimate|study-{i}"] != t[f"estimate|study-{i}"]
    with pytest.raises(ValueError, match="study_ci=\"exact\" needs binomial-normal GLMM fits"):
        forest(hr_result(), study_ci="exact")
    with pytest.raises(ValueError, match="study_ci='cp' is not one of the allowed values"):
        forest(res, study_ci="cp")


# -- notes leave the figure for the caption ---------------------------------------------------------


def test_rows_not_pooled_go_to_the_caption_not_the_figure() -> None:
    from metaoutcome.plotting import forest_notes

    from metaoutcome import effects

    hr = pd.DataFrame({"trial_id": ["A", "B", "row_17_os"], "hr": [0.7, 0.8, 0.9], "ci_low": [0.5, 0.6, np.nan],
                       "ci_high": [0.9, 1.0, np.nan], "ci_level": [95, 95, np.nan], "p_value": [None] * 3})
    res = _quiet(mo.pool, _quiet(effects.from_hazard_ratios, hr), measure="HR")
    assert len(res.excluded) == 1
    texts = [t.get_text() for t in forest(res).findobj(Text)]
    assert not any("row_17_os" in t or "Not pooled" in t for t in texts)
    (note,) = forest_notes(res)
    assert note.startswith("Not pooled: row_17_os (") and res.excluded[0].reason in note
    shown = [t.get_text() for t in forest(res, show_excluded=True).findobj(Text)]
    assert note in shown
