"""Forest plots: structure (what is drawn equals the result), bad input, determinism, and image
regression against committed baselines (tests/baseline_images, regenerate with
``MO_WRITE_BASELINES=1 pytest tests/test_plot_forest.py`` and look at every image before committing).
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import metaoutcome as mo
from metaoutcome.measures import get_measure
from metaoutcome.plotting import forest, savefig

BASELINES = Path(__file__).parent / "baseline_images"
WRITE = os.environ.get("MO_WRITE_BASELINES") == "1"
# RMS tolerance of matplotlib.testing.compare.compare_images; the figures use the bundled
# DejaVu Sans and fixed rcParams, so only anti-aliasing differences between FreeType builds remain.
IMAGE_TOL = 3.0
# back-transformed coordinates are computed once and stored as float64
COORD_RTOL = 1e-12

# Five PD-1/PD-L1 vs docetaxel OS hazard ratios as printed, two with 96% CIs (CheckMate 017 and
# CheckMate 057 style), converted to (yi, vi) at each study's own level.
HR = np.array([0.59, 0.73, 0.73, 0.71, 0.87])
HR_LO = np.array([0.44, 0.59, 0.62, 0.58, 0.72])
HR_HI = np.array([0.79, 0.89, 0.87, 0.88, 1.05])
HR_LEVEL = np.array([96.0, 96.0, 95.0, 95.0, 95.0])
HR_LABELS = ["CheckMate 017", "CheckMate 057", "OAK", "KEYNOTE-010", "JAVELIN Lung 200"]
HR_REGIMEN = ["Nivolumab", "Nivolumab", "Atezolizumab", "Pembrolizumab", "Avelumab"]


def hr_inputs() -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(0.5 + HR_LEVEL / 200)
    se = (np.log(HR_HI) - np.log(HR_LO)) / (2 * z)
    return np.log(HR), se**2


def hr_result(**kw: object) -> object:
    yi, vi = hr_inputs()
    return mo.pool(yi, vi, measure="HR", labels=HR_LABELS, **kw)


ORR_GROUPS = {
    "PD-1 + anti-angiogenic": ([19, 12, 8, 15, 22], [67, 40, 30, 50, 61], ["Anlotinib combo", "Apatinib combo",
                                                                          "Ramucirumab combo", "Lenvatinib combo",
                                                                          "Bevacizumab combo"]),
    "PD-1 monotherapy": ([9, 14, 20, 11], [45, 70, 102, 60], ["Nivolumab", "Pembrolizumab", "Atezolizumab",
                                                               "Tislelizumab"]),
}


def orr_results() -> tuple[dict[str, object], object, list[str]]:
    groups: dict[str, object] = {}
    xs, ns, labs = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty Q-profile CI for tau^2 = 0 subgroups
        for name, (x, n, lab) in ORR_GROUPS.items():
            x_, n_ = np.array(x, float), np.array(n, float)
            groups[name] = mo.pool(np.log(x_ / (n_ - x_)), 1 / x_ + 1 / (n_ - x_), measure="PLO", labels=lab)
            xs += x
            ns += n
            labs += lab
        x_, n_ = np.array(xs, float), np.array(ns, float)
        overall = mo.pool(np.log(x_ / (n_ - x_)), 1 / x_ + 1 / (n_ - x_), measure="PLO", labels=labs)
    events = [f"{a}/{b}" for a, b in zip(xs, ns)]
    return groups, overall, events


def big_result(k: int = 150) -> object:
    rng = np.random.default_rng(20240501)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(-0.2, 0.2, k) + rng.normal(0.0, np.sqrt(vi))
    return mo.pool(yi, vi, measure="HR", labels=[f"Trial {i + 1:03d}" for i in range(k)])


def texts(fig: object) -> dict[str, str]:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def diamond(fig: object, rid: str) -> np.ndarray:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    (poly,) = [p for p in ax.patches if p.get_gid() == f"diamond|{rid}"]
    return np.asarray(poly.get_xy())


# ---------------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------------


def test_diamond_spans_pooled_ci_and_numbers_are_the_results() -> None:
    res = hr_result()
    fig = forest(res)
    xy = diamond(fig, "pooled-0-0")
    nat = np.exp([res.estimate, res.ci_low, res.ci_high])
    assert_allclose(xy[:, 0].min(), nat[1], rtol=COORD_RTOL)
    assert_allclose(xy[:, 0].max(), nat[2], rtol=COORD_RTOL)
    assert_allclose(xy[1, 0], nat[0], rtol=COORD_RTOL)
    t = texts(fig)
    assert t["estimate|pooled-0-0"] == f"{nat[0]:.2f} [{nat[1]:.2f}, {nat[2]:.2f}]"
    het = t["text|het-0"]
    assert f"I\u00b2 = {res.i2:.0f}% [{res.i2_ci_low:.0f}%, {res.i2_ci_high:.0f}%]" in het
    assert f"Q = {res.q:.2f}, df = {res.q_df}" in het
    assert f"k = {res.k}" in het
    for i, w in enumerate(res.weights):
        assert t[f"weight0|study-{i}"] == f"{w:.1f}%"


def test_mixed_level_cis_are_redrawn_at_the_pooled_level() -> None:
    """96% and 95% CIs in, every study's CI printed at the pooled 95% level and labelled so."""
    res = hr_result()
    fig = forest(res)
    t = texts(fig)
    assert t["header|estimate"] == "Hazard ratio [95% CI]"
    yi, vi = hr_inputs()
    z = stats.norm.ppf(0.975)
    for i in range(5):
        lo, hi = np.exp(yi[i] - z * math.sqrt(vi[i])), np.exp(yi[i] + z * math.sqrt(vi[i]))
        assert t[f"estimate|study-{i}"] == f"{HR[i]:.2f} [{lo:.2f}, {hi:.2f}]"
    # the 96% studies get a narrower printed interval than the one they reported
    assert t["estimate|study-0"] != f"{HR[0]:.2f} [{HR_LO[0]:.2f}, {HR_HI[0]:.2f}]"
    # whiskers drawn at the same values
    ax = fig.axes[0]
    (ci,) = [c for c in ax.collections if c.get_gid() == "study-ci"]
    segs = np.array([s[:, 0] for s in ci.get_segments()])
    assert_allclose(segs[:, 0], np.exp(yi - z * np.sqrt(vi)), rtol=COORD_RTOL)
    assert_allclose(segs[:, 1], np.exp(yi + z * np.sqrt(vi)), rtol=COORD_RTOL)


def test_every_study_row_present_in_order_and_sorting() -> None:
    res = hr_result()
    t = texts(forest(res))
    assert [t[f"label|study-{i}"] for i in range(5)] == HR_LABELS
    fig = forest(res, sort_by="estimate")
    ax = fig.axes[0]
    ys = {t_.get_text(): t_.get_position()[1] for t_ in ax.texts if (t_.get_gid() or "").startswith("label|study")}
    order = sorted(ys, key=ys.get)
    assert order == [HR_LABELS[i] for i in np.argsort(np.log(HR), kind="stable")]
    fig = forest(res, sort_by="year", left_columns={"Year": [2015, 2015, 2017, 2016, 2018]})
    ys = {t_.get_text(): t_.get_position()[1] for t_ in fig.axes[0].texts if (t_.get_gid() or "").startswith("label|study")}
    assert sorted(ys, key=ys.get)[:2] == ["CheckMate 017", "CheckMate 057"]
    assert sorted(ys, key=ys.get)[-1] == "JAVELIN Lung 200"


def test_subgroups_blocks_overall_and_test_line() -> None:
    groups, overall, events = orr_results()
    fig = forest(groups, overall=overall, subgroup_test=(4.1, 1, 0.043), left_columns={"Events/N": events})
    t = texts(fig)
    assert t["label|heading-0"] == "PD-1 + anti-angiogenic"
    assert t["label|heading-1"] == "PD-1 monotherapy"
    assert sum(1 for g in t if g.startswith("label|study-")) == 9
    assert t["text|subgroup-test"] == "Test for subgroup differences: Q = 4.10, df = 1, p = 0.04"
    # diamonds on the percent axis equal the back-transformed pooled CIs
    plo = get_measure("PLO")
    for tag, r in (("0-0", groups["PD-1 + anti-angiogenic"]), ("1-0", groups["PD-1 monotherapy"]), ("overall-0", overall)):
        xy = diamond(fig, f"pooled-{tag}")
        assert_allclose([xy[:, 0].min(), xy[:, 0].max()], 100 * plo.back(np.array([r.ci_low, r.ci_high])), rtol=COORD_RTOL)
        assert t[f"text|het-{tag.split('-')[0]}"].startswith(f"Heterogeneity (k = {r.k})")
    # prediction interval row spans the PI
    ax = fig.axes[0]
    (pi,) = [ln for ln in ax.lines if ln.get_gid() == "pi|pi-overall-0"]
    assert_allclose(pi.get_xdata(), 100 * plo.back(np.array([overall.pi_low, overall.pi_high])), rtol=COORD_RTOL)
    # no reference line for a single-arm proportion, and no favours labels
    assert not [c for c in ax.collections if c.get_gid() == "refline"]
    assert "favours-left" not in {c.get_gid() for c in ax.texts}
    # study weights are the overall model's, subtotals their sums
    assert t["weight0|pooled-0-0"] == f"{overall.weights[:5].sum():.1f}%"


def test_random_and_common_diamonds() -> None:
    res_re, res_fe = hr_result(), hr_result(method="FE")
    fig = forest([res_re, res_fe], layout="revman")
    t = texts(fig)
    assert t["label|pooled-0-0"] == "Total (95% CI) (random)"
    assert t["label|pooled-0-1"] == "Total (95% CI) (common)"
    for j, r in enumerate((res_re, res_fe)):
        xy = diamond(fig, f"pooled-0-{j}")
        assert_allclose([xy[:, 0].min(), xy[:, 0].max()], np.exp([r.ci_low, r.ci_high]), rtol=COORD_RTOL)
    assert "Test for overall effect: Z = " in t["text|test-0-0"]


def test_log_axis_ticks_null_line_and_favours() -> None:
    fig = forest(hr_result(), favours=("PD-(L)1", "docetaxel"))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [lab.get_text() for lab in ax.get_xticklabels()]
    assert "1" in labels and "0" not in labels
    for lab in labels:
        assert float(lab) in {0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0}
    (ref,) = {c.get_gid(): c for c in ax.collections if c.get_gid() == "refline"}.values()
    assert_allclose(np.array(ref.get_segments())[:, :, 0], 1.0)
    gids = {c.get_gid(): c.get_text() for c in ax.texts}
    assert gids["favours-left"] == "Favours PD-(L)1" and gids["favours-right"] == "Favours docetaxel"
    fig = forest(hr_result(), layout="jama", favours=False)
    assert "favours-left" not in {c.get_gid() for c in fig.axes[0].texts}
    assert "Favors experimental" in [c.get_text() for c in forest(hr_result(), layout="jama").axes[0].texts]


def test_arrows_where_whiskers_leave_the_axis() -> None:
    fig = forest(hr_result(), xlim=(0.6, 1.0))
    ax = fig.axes[0]
    arrows = {c.get_gid(): np.asarray(c.get_offsets()) for c in ax.collections if (c.get_gid() or "").startswith("arrows")}
    yi, vi = hr_inputs()
    lo, hi = np.exp(yi - 1.96 * np.sqrt(vi)), np.exp(yi + 1.96 * np.sqrt(vi))
    assert len(arrows["arrows-left"]) == int(np.sum(lo < 0.6))
    assert len(arrows["arrows-right"]) == int(np.sum(hi > 1.0))
    assert_allclose(arrows["arrows-left"][:, 0], 0.6)


def test_undrawable_ci_gets_a_note_not_silence() -> None:
    import dataclasses

    res = hr_result()
    yi, vi = hr_inputs()
    # a result whose summary table holds a study without a value and one with an infinite variance
    odd = dataclasses.replace(res, yi=np.r_[yi, np.nan, 0.1], vi=np.r_[vi, 0.02, np.inf], k=7,
                              labels=tuple(HR_LABELS + ["No data", "Infinite"]), weights=np.r_[res.weights, 0.0, 0.0])
    fig = forest(odd)
    t = texts(fig)
    assert t["label|study-5"] == "No data" and t["label|study-6"] == "Infinite"
    assert t["estimate|study-5"] == "Not estimable"
    assert "estimate is NaN" in t["note|study-5"]
    assert "lower limit is 0.000 (not > 0 on a log axis)" in t["note|study-6"]
    assert "upper limit is infinite" in t["note|study-6"]


def test_does_not_touch_pyplot_current_figure() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = forest(hr_result())
    assert plt.get_fignums() == before
    assert fig not in [plt.figure(n) for n in plt.get_fignums()]


def test_draws_into_a_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4))
    ax = fig.add_axes((0.4, 0.2, 0.3, 0.7))
    out = forest(hr_result(), ax=ax)
    assert out is fig and ax.get_xscale() == "log"
    assert len([t for t in ax.texts if (t.get_gid() or "").startswith("label|study")]) == 5


def test_nothing_clipped_and_height_follows_rows() -> None:
    for res in (hr_result(), big_result()):
        fig = forest(res, left_columns={"Regimen": ["x" * 12] * res.k})
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        fb = fig.bbox
        for t in fig.axes[0].texts:
            if not t.get_text():
                continue
            bb = t.get_window_extent(r)
            assert bb.x0 >= fb.x0 - 0.5 and bb.x1 <= fb.x1 + 0.5, (t.get_gid(), t.get_text())
            assert bb.y0 >= fb.y0 - 0.5 and bb.y1 <= fb.y1 + 0.5, (t.get_gid(), t.get_text())
    h5 = forest(hr_result()).get_figheight()
    h150 = forest(big_result()).get_figheight()
    assert h150 > 20 * h5 / 3


def test_pdf_and_svg_are_byte_identical(tmp_path: Path) -> None:
    groups, overall, events = orr_results()
    outs = []
    for n in range(2):
        fig = forest(groups, overall=overall, left_columns={"Events/N": events})
        for ext in ("pdf", "svg"):
            p = tmp_path / f"f{n}.{ext}"
            savefig(fig, p)
            outs.append(p.read_bytes())
    assert outs[0] == outs[2] and outs[1] == outs[3]
    assert b"CreationDate" not in outs[0]
    assert b"<dc:date>" not in outs[1]
    png = io.BytesIO()
    savefig(forest(hr_result()), png, format="png", dpi=72)
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"labels": ["a", "b"]}, r"labels has 2 entries but there are 5 studies", id="labels-length"),
        pytest.param({"left_columns": {"Regimen": ["a"]}}, r"left_columns\['Regimen'\] has 1 entries", id="columns-length"),
        pytest.param({"right_columns": [1, 2]}, r"right_columns must be a dict", id="columns-type"),
        pytest.param({"layout": "lancet"}, r"layout='lancet' is not one of the allowed values: 'default', 'revman', 'jama'", id="layout"),
        pytest.param({"scale": "logit"}, r"scale='logit' is not one of the allowed values", id="scale"),
        pytest.param({"sort_by": "size"}, r"sort_by='size' is not one of the allowed values", id="sort_by"),
        pytest.param({"sort_by": "year"}, r'sort_by="year" needs year=', id="year-missing"),
        pytest.param({"xlim": (0, 2)}, r"xlim=\(0, 2\) must be > 0 on a log axis", id="xlim-log"),
        pytest.param({"xticks": [0, 1]}, r"xticks=\[0, 1\] must be > 0 on a log axis", id="xticks-log"),
        pytest.param({"refline": 0}, r"refline=0 must be finite and > 0 on a log axis", id="refline-log"),
        pytest.param({"favours": "yes"}, r"favours='yes' must be", id="favours"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        forest(hr_result(), **kwargs)


def test_bad_results() -> None:
    import dataclasses

    empty = dataclasses.replace(hr_result(), yi=np.array([]), vi=np.array([]), weights=np.array([]), labels=(), k=0)
    with pytest.raises(ValueError, match=r"result has no studies \(k = 0\)"):
        forest(empty)
    with pytest.raises(ValueError, match="result must be a pooled result .* no summary table"):
        forest(SimpleNamespace(yi=[0.1], vi=[0.01], estimate=0.1, ci_low=0.0, ci_high=0.2, measure="HR", k=1))
    with pytest.raises(ValueError, match="result must be a pooled result"):
        forest([1.0, 2.0])
    rd = mo.pool([-0.1, -0.2, -0.05], [0.01, 0.02, 0.01], measure="RD")
    with pytest.raises(ValueError, match=r"scale='log' cannot show measure 'RD'"):
        forest(rd, scale="log")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        forest(hr_result(), colour="red")
    with pytest.raises(ValueError, match="overall is only used with subgroups"):
        forest(hr_result(), overall=hr_result())


def test_real_bundled_data_if_present() -> None:
    df = mo.load_dataset("hazard_ratios", cancer="NSCLC", endpoint="OS")
    df = df.dropna(subset=["hr", "ci_low", "ci_high", "ci_level"])
    if len(df) < 2:
        pytest.skip("the bundled hazard_ratios table has fewer than 2 NSCLC OS rows yet")
    lv = df["ci_level"].astype(float).to_numpy()
    z = stats.norm.ppf(0.5 + lv / 200)
    se = (np.log(df["ci_high"].astype(float)) - np.log(df["ci_low"].astype(float))).to_numpy() / (2 * z)
    res = mo.pool(np.log(df["hr"].astype(float).to_numpy()), se**2, measure="HR", labels=list(df["trial_id"]))
    fig = forest(res, layout="revman")
    assert_allclose(diamond(fig, "pooled-0-0")[[0, 2], 0], np.exp([res.ci_low, res.ci_high]), rtol=COORD_RTOL)
    assert len([g for g in texts(fig) if g.startswith("label|study-")]) == res.k


# ---------------------------------------------------------------------------------------------
# image regression
# ---------------------------------------------------------------------------------------------


def _case_hr_mixed_levels(layout: str) -> object:
    return forest(hr_result(), layout=layout, left_columns={"Regimen": HR_REGIMEN}, favours=("PD-(L)1", "docetaxel"))


def _case_orr_subgroups(layout: str) -> object:
    groups, overall, events = orr_results()
    return forest(groups, overall=overall, subgroup_test=(4.1, 1, 0.043), layout=layout,
                  left_columns={"Events/N": events})


def _case_k150() -> object:
    return forest(big_result(), sort_by="estimate")


IMAGE_CASES = {
    **{f"forest_hr_mixed_{lay}": (lambda lay=lay: _case_hr_mixed_levels(lay)) for lay in ("default", "revman", "jama")},
    **{f"forest_orr_subgroups_{lay}": (lambda lay=lay: _case_orr_subgroups(lay)) for lay in ("default", "revman", "jama")},
    "forest_hr_k150": _case_k150,
}


def test_image_case_grid_is_complete() -> None:
    layouts = {re.sub(r".*_", "", n) for n in IMAGE_CASES if n != "forest_hr_k150"}
    assert layouts == {"default", "revman", "jama"}
    assert {p.stem for p in BASELINES.glob("forest_*.png")} <= set(IMAGE_CASES)


@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
def test_image_matches_baseline(name: str, tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    fig = IMAGE_CASES[name]()
    dpi = 50 if name == "forest_hr_k150" else 100
    actual = tmp_path / f"{name}.png"
    savefig(fig, actual, dpi=dpi)
    expected = BASELINES / f"{name}.png"
    if WRITE:
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    if not expected.exists():
        pytest.fail(f"no baseline {expected.name}; run with MO_WRITE_BASELINES=1 and inspect it")
    err = compare_images(str(expected), str(actual), tol=IMAGE_TOL)
    assert err is None, err


def test_one_study_subgroup_says_heterogeneity_is_not_applicable() -> None:
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np

    import metaoutcome as mo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = mo.pool(np.array([-1.0]), np.array([0.1]), measure="PLO", labels=["only"])
        two = mo.pool(np.array([-1.0, -0.5]), np.array([0.1, 0.2]), measure="PLO", labels=["a", "b"])
        fig = mo.forest({"single": one, "pair": two})
    texts = [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]
    assert "Heterogeneity: not applicable (k = 1)" in texts
    assert not any("NA%" in t for t in texts)
    plt.close(fig)
