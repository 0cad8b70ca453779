"""Bubble plot (metafor ``regplot``) and the leave-one-out / cumulative forest plots.

Structure (the drawn numbers are the result's numbers; the bubble plot's line and bands are
metafor's ``predict()``, tests/reference/make_plot_fixtures.R), bad input, ``ax`` handling,
determinism, and one image baseline per figure type (tests/baseline_images; regenerate with
``MO_WRITE_BASELINES=1 pytest tests/test_plot_sensitivity.py`` and look at every image).
"""

from __future__ import annotations

from dataclasses import replace

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit

import metaoutcome as mo
from metaoutcome.plotting import bubble, cumulative_forest, loo_forest, savefig
from metaoutcome.plotting.bubble import bubble_values
from metaoutcome.plotting.forest import _fmt_ci
from metaoutcome.plotting._style import get_layout

BASELINES = Path(__file__).parent / "baseline_images"
WRITE = os.environ.get("MO_WRITE_BASELINES") == "1"
# as tests/test_plot_forest.py: only anti-aliasing differences between FreeType builds remain
IMAGE_TOL = 3.0
# the brief's tolerance for numbers shared with metafor
RTOL = 1e-6
# coordinates are the result's float64 values, back-transformed once
COORD_RTOL = 1e-12
# the refits' CIs pass through vi = ((hi - lo) / 2z)^2 and back: a few ulps
CI_RTOL = 1e-12

FIXTURE = json.loads((Path(__file__).parent / "reference" / "plot_fixtures.json").read_text())
BUBBLE = FIXTURE["bubble"]

# Seven PD-(L)1 vs docetaxel OS hazard ratios with 95% CIs (as printed), and a year per trial.
HR = np.array([0.59, 0.73, 0.73, 0.71, 0.87, 0.68, 0.86])
HR_LO = np.array([0.44, 0.59, 0.62, 0.58, 0.72, 0.52, 0.70])
HR_HI = np.array([0.79, 0.89, 0.87, 0.88, 1.05, 0.90, 1.05])
LABELS = ["CheckMate 017", "CheckMate 057", "OAK", "KEYNOTE-010", "JAVELIN Lung 200", "CheckMate 078", "SAPPHIRE"]
YEARS = [2015, 2015, 2017, 2016, 2018, 2019, 2024]


def hr_result(k: int | None = None, **kw: Any) -> Any:
    yi = np.log(HR)
    vi = ((np.log(HR_HI) - np.log(HR_LO)) / (2 * 1.959963984540054)) ** 2
    n = len(HR) if k is None else k
    return mo.pool(yi[:n], vi[:n], measure="HR", labels=LABELS[:n], **kw)


def texts(fig: Any) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}


def by_gid(ax: Any, gid: str) -> Any:
    arts = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(arts) == 1, (gid, len(arts))
    return arts[0]


def regression(case: dict) -> Any:
    frame = pd.DataFrame({"yi": case["yi"], "vi": case["vi"], **case["mods"]})
    return mo.meta_regression(frame, mods=list(case["mods"]), method=case["method"], test=case["test"],
                              measure=case["measure"])


# ---------------------------------------------------------------------------------------------
# bubble plot
# ---------------------------------------------------------------------------------------------


def test_bubble_fixture_grid_is_complete() -> None:
    assert {c["id"] for c in BUBBLE} == {
        "bcg_ablat_REML_z", "bcg_ablat_REML_knha", "bcg_ablat_FE_z", "bcg_ablat_year_DL_z",
        "bcg_ablat_alloc_REML_knha", "onco_pdl1_line_REML_z"}
    assert FIXTURE["metafor_version"] and all(c["call"] for c in BUBBLE)


@pytest.mark.parametrize("case", BUBBLE, ids=[c["id"] for c in BUBBLE])
def test_bubble_line_and_bands_are_metafor_predict(case: dict) -> None:
    res = regression(case)
    common = case["method"] == "FE"
    v = bubble_values(res, case["mod"], n_points=len(case["xs"]))
    assert_allclose(v.at, case["colmeans"], rtol=RTOL)
    assert_allclose(v.xs, case["xs"], rtol=RTOL)
    for name in ("pred", "ci_low", "ci_high"):
        assert_allclose(getattr(v, name), case[name], rtol=RTOL, err_msg=name)
    if common:  # metafor has no prediction interval for a common-effect model: it equals the CI
        assert case["pi_low"] == []
        assert_allclose([v.pi_low, v.pi_high], [v.ci_low, v.ci_high], rtol=1e-15)
    else:
        assert_allclose(v.pi_low, case["pi_low"], rtol=RTOL)
        assert_allclose(v.pi_high, case["pi_high"], rtol=RTOL)
    assert_allclose(v.psize, case["psize"], rtol=RTOL)
    assert_allclose(res.weights, case["weights"], rtol=RTOL)
    # what is drawn: the natural scale (risk / hazard ratios) of exactly these numbers
    with pytest.warns(UserWarning, match="no prediction band") if common else _no_warning():
        ax = bubble(res, case["mod"], pi=True, n_points=len(case["xs"]))
    assert ax.get_yscale() == "log"
    assert_allclose(by_gid(ax, "fit").get_xdata(), case["xs"], rtol=RTOL)
    assert_allclose(by_gid(ax, "fit").get_ydata(), np.exp(case["pred"]), rtol=RTOL)
    assert_allclose(by_gid(ax, "ci-low").get_ydata(), np.exp(case["ci_low"]), rtol=RTOL)
    assert_allclose(by_gid(ax, "ci-high").get_ydata(), np.exp(case["ci_high"]), rtol=RTOL)
    if not common:
        assert_allclose(by_gid(ax, "pi-low").get_ydata(), np.exp(case["pi_low"]), rtol=RTOL)
        assert_allclose(by_gid(ax, "pi-high").get_ydata(), np.exp(case["pi_high"]), rtol=RTOL)
    else:
        assert not [a for a in ax.get_children() if a.get_gid() in ("pi-band", "pi-low", "pi-high")]
    pts = by_gid(ax, "studies")
    order = np.argsort(-np.asarray(case["psize"]), kind="stable")
    assert_allclose(pts.get_offsets(), np.column_stack([v.xi, np.exp(case["yi"])])[order], rtol=COORD_RTOL)
    assert_allclose(pts.get_sizes(), (7.0 * np.asarray(case["psize"])[order]) ** 2, rtol=RTOL)
    assert_allclose(by_gid(ax, "refline").get_ydata(), [1.0, 1.0])
    # readable ticks, labelled with their values
    for pos, lab in zip(ax.get_yticks(), ax.get_yticklabels()):
        assert float(lab.get_text()) == pytest.approx(pos)


@contextlib.contextmanager
def _no_warning() -> Iterator[None]:
    """A UserWarning inside the block fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        yield


def test_bubble_other_moderators_held_at_their_means() -> None:
    case = next(c for c in BUBBLE if c["id"] == "bcg_ablat_alloc_REML_knha")
    res = regression(case)
    v = bubble_values(res, "ablat", n_points=7)
    X = np.asarray(res.X)
    expected = np.column_stack([np.ones(7), v.xs, np.full(7, X[:, 2].mean()), np.full(7, X[:, 3].mean())])
    assert_allclose(v.pred, expected @ np.asarray(res.estimate), rtol=1e-12)
    # the only continuous moderator is the default
    assert bubble_values(res).term == "ablat"


def test_bubble_proportions_on_a_percent_axis_and_analysis_scale() -> None:
    x = np.array([9, 14, 20, 11, 19, 12, 8, 15, 22])
    n = np.array([45, 70, 102, 60, 67, 40, 30, 50, 61])
    frame = pd.DataFrame({"yi": np.log(x / (n - x)), "vi": 1 / x + 1 / (n - x), "dose": np.arange(1.0, 10.0)})
    res = mo.meta_regression(frame, mods="dose", measure="PLO")
    ax = bubble(res, n_points=11)
    v = bubble_values(res, n_points=11)
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "Proportion (%)"
    assert_allclose(by_gid(ax, "fit").get_ydata(), 100 * expit(v.pred), rtol=COORD_RTOL)
    assert not [a for a in ax.get_children() if a.get_gid() == "refline"]  # a single-arm proportion has no null
    ax2 = bubble(res, n_points=11, natural=False)
    assert_allclose(by_gid(ax2, "fit").get_ydata(), v.pred, rtol=COORD_RTOL)
    assert "logit" in ax2.get_ylabel()
    ax3 = res.bubble("dose", n_points=11)  # the result's own method draws the same figure
    assert_allclose(by_gid(ax3, "fit").get_ydata(), by_gid(ax, "fit").get_ydata(), rtol=0)


def test_bubble_draws_into_a_given_axes_without_pyplot() -> None:
    import matplotlib.pyplot as plt

    from metaoutcome.plotting._style import new_figure

    before = plt.get_fignums()
    fig = new_figure(4, 3)
    ax0 = fig.add_subplot(1, 1, 1)
    res = regression(BUBBLE[0])
    ax = bubble(res, ax=ax0, show_labels=True, legend=True, facecolor="white")
    assert ax is ax0 and len(fig.axes) == 1
    assert plt.get_fignums() == before
    assert [t.get_text() for t in ax.texts][:2] == list(res.labels[:2])
    assert ax.get_legend() is not None


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda r, c: mo.meta_regression(pd.DataFrame({"yi": c["yi"], "vi": c["vi"]})), {},
         r"intercept-only model"),
        (lambda r, c: mo.meta_regression(pd.DataFrame({"yi": c["yi"], "vi": c["vi"], "alloc": c["mods"]["alloc"]}),
                                         mods="alloc"), {}, r"no continuous moderator .* 0/1 dummies"),
        (lambda r, c: r, dict(mod="alloc"), r"mod='alloc' is a categorical moderator \(terms 'allocrandom'"),
        (lambda r, c: r, dict(mod="allocrandom"), r"mod='allocrandom' takes only the values 0 and 1"),
        (lambda r, c: r, dict(mod="nope"), r"mod='nope' is not a term of the model; the moderators are"),
        (lambda r, c: r, dict(mod="intrcpt"), r"mod='intrcpt' is the intercept"),
        (lambda r, c: r, dict(mod=7), r"mod=7 must be the position of a moderator column"),
        (lambda r, c: r, dict(plim=(3, 1)), r"plim=\(3, 1\) must be"),
        (lambda r, c: r, dict(n_points=1), r"n_points=1 must be at least 2"),
        (lambda r, c: r, dict(level=120), r"level=120 is not a confidence level"),
        (lambda r, c: r, dict(refline="zero"), r"refline='zero' must be a number, None, or 'null'"),
        (lambda r, c: mo.pool(c["yi"], c["vi"]), {}, r"must be a meta-regression .* without X"),
    ],
)
def test_bubble_bad_input(make: Any, kwargs: dict, message: str) -> None:
    case = next(c for c in BUBBLE if c["id"] == "bcg_ablat_alloc_REML_knha")
    res = make(regression(case), case)
    with pytest.raises(ValueError, match=message):
        bubble(res, **kwargs)


def test_bubble_needs_mod_with_two_continuous_moderators_and_pft_needs_analysis_scale() -> None:
    case = next(c for c in BUBBLE if c["id"] == "bcg_ablat_year_DL_z")
    res = regression(case)
    with pytest.raises(ValueError, match=r"several continuous moderators; name one with mod= \(one of 'ablat', 'year'\)"):
        bubble(res)
    assert bubble_values(res, 2).term == "year"
    pft = mo.meta_regression(pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "ablat": case["mods"]["ablat"]}),
                             mods="ablat", measure="PFT")
    with pytest.raises(ValueError, match=r"measure 'PFT' needs the study sizes .* natural=False"):
        bubble(pft)
    bubble(pft, natural=False)


# ---------------------------------------------------------------------------------------------
# leave-one-out forest
# ---------------------------------------------------------------------------------------------


def _segments(ax: Any, gid: str) -> np.ndarray:
    return np.array([np.asarray(s) for s in by_gid(ax, gid).get_segments()])


def test_loo_forest_rows_are_the_refits() -> None:
    res = hr_result()
    loo = mo.leave_one_out(res)
    fig = loo_forest(loo, res)
    ax = fig.axes[0]
    t = texts(fig)
    lay = get_layout("default")
    est, lo, hi = np.exp(loo.estimate), np.exp(loo.ci_low), np.exp(loo.ci_high)
    for i, lab in enumerate(LABELS):
        assert t[f"label|study-{i}"] == f"Omitting {lab}"
        assert t[f"estimate|study-{i}"] == _fmt_ci(lay, est[i], lo[i], hi[i], 2)
        i2 = loo.i2[i]
        assert t[f"R:I\u00b2|study-{i}"] == f"{i2:.0f}%"
        assert t[f"R:\u03c4\u00b2|study-{i}"] == ("0" if loo.tau2[i] == 0 else f"{loo.tau2[i]:.3f}")
    assert_allclose(by_gid(ax, "study-squares").get_offsets()[:, 0], est, rtol=COORD_RTOL)
    seg = _segments(ax, "study-ci")
    assert_allclose(seg[:, 0, 0], lo, rtol=CI_RTOL)
    assert_allclose(seg[:, 1, 0], hi, rtol=CI_RTOL)
    # reference line at the estimate of all studies, and its diamond
    assert_allclose(_segments(ax, "refline")[:, :, 0], np.exp(res.estimate), rtol=COORD_RTOL)
    xy = np.asarray(by_gid(ax, "diamond|pooled-0-0").get_xy())
    assert_allclose([xy[:, 0].min(), xy[1, 0], xy[:, 0].max()], np.exp([res.ci_low, res.estimate, res.ci_high]),
                    rtol=COORD_RTOL)
    assert t["label|pooled-0-0"] == "All studies (random effects)"
    assert t["header|label"] == "Study omitted"
    assert f"Q = {res.q:.2f}, df = {res.q_df}" in t["text|het-0"]
    # equal squares: the refits have no weights
    assert len(set(by_gid(ax, "study-squares").get_sizes())) == 1


def test_loo_forest_k2_sort_columns_and_null_line() -> None:
    res = hr_result(k=2)
    loo = mo.leave_one_out(res)
    fig = loo_forest(loo, res, columns=("k", "q", "pvalue", "h2"), sort_by="estimate", refline="null")
    t = texts(fig)
    assert [t["label|study-0"], t["label|study-1"]] == ["Omitting CheckMate 017", "Omitting CheckMate 057"]
    assert t["R:k|study-0"] == "1" and t["R:Q|study-1"] == "0.00" and t["R:H\u00b2|study-0"] == "1.00"
    # one study left: each row is the other study
    assert_allclose(np.sort(loo.estimate), np.sort(np.log(HR[:2])), rtol=1e-12)
    ax = fig.axes[0]
    ys = {gid: tx.get_position()[1] for gid, tx in ((a.get_gid(), a) for a in ax.texts) if gid.startswith("label|study")}
    # sorted by the estimate without the study: omitting 057 (leaves 0.59) comes first
    assert ys["label|study-1"] < ys["label|study-0"]
    assert_allclose(_segments(ax, "refline")[:, :, 0], 1.0)
    assert not [a for a in ax.get_children() if a.get_gid() == "nullline"]
    fig2 = loo_forest(loo, res, xlim=(0.4, 1.2))
    assert_allclose(_segments(fig2.axes[0], "nullline")[:, :, 0], 1.0)


def test_loo_forest_into_a_given_axes() -> None:
    from metaoutcome.plotting._style import new_figure

    res = hr_result()
    fig0 = new_figure(9, 4)
    ax0 = fig0.add_axes((0.3, 0.15, 0.35, 0.75))
    fig = loo_forest(mo.leave_one_out(res), res, ax=ax0, layout="jama")
    assert fig is fig0 and fig.axes == [ax0]
    assert texts(fig)["label|study-0"] == "Omitting CheckMate 017"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(overall=None), r"loo_forest\(\) needs overall="),
        (dict(overall="other"), r"overall pools other studies than the analysis"),
        (dict(overall="dl"), r"overall uses method='DL' but the analysis 'REML'"),
        (dict(overall="knha"), r"overall uses ci_method='knha' but the analysis test='z'"),
        (dict(columns=("tau2", "nope")), r"columns: 'nope' is not one of the allowed values: 'k', 'tau2'"),
        (dict(sort_by="year"), r"sort_by='year' is not one of the allowed values: 'given', 'estimate'"),
        (dict(measure="OR"), r"the measures disagree: measure= 'OR', overall.measure 'HR'"),
    ],
)
def test_loo_forest_bad_input(kwargs: dict, message: str) -> None:
    res = hr_result()
    loo = replace(mo.leave_one_out(res), overall=None, measure=None)  # as if built by hand
    overall = {"other": hr_result(k=5), "dl": hr_result(method="DL"), "knha": hr_result(ci_method="knha")}
    if "overall" in kwargs:
        kwargs["overall"] = overall.get(kwargs["overall"])  # type: ignore[arg-type]
    else:
        kwargs["overall"] = res
    with pytest.raises(ValueError, match=message):
        loo_forest(loo, **kwargs)


def test_sensitivity_forests_refuse_other_results_and_pft() -> None:
    res = hr_result()
    with pytest.raises(ValueError, match=r"loo_forest\(\) needs the result of metaoutcome.leave_one_out"):
        loo_forest(res, res)
    with pytest.raises(ValueError, match=r"cumulative_forest\(\) needs the result of metaoutcome.cumulative"):
        cumulative_forest(object())
    pft = mo.pool([0.5, 0.6, 0.7], [0.01, 0.02, 0.01], measure="PFT", ni=[30, 40, 50])
    with pytest.raises(ValueError, match=r"measure 'PFT' needs the study sizes of every refit"):
        loo_forest(mo.leave_one_out(pft), pft)


# ---------------------------------------------------------------------------------------------
# cumulative forest
# ---------------------------------------------------------------------------------------------


def test_cumulative_forest_in_year_order() -> None:
    res = hr_result()
    cum = mo.cumulative(res, order=YEARS)
    order = list(np.argsort(YEARS, kind="stable"))
    assert list(cum.order) == order
    years = [YEARS[i] for i in order]
    fig = cumulative_forest(cum, res, left_columns={"Year": years})
    ax = fig.axes[0]
    t = texts(fig)
    lay = get_layout("default")
    est, lo, hi = np.exp(cum.estimate), np.exp(cum.ci_low), np.exp(cum.ci_high)
    for j, i in enumerate(order):
        assert t[f"label|study-{j}"] == f"+ {LABELS[i]}"
        assert t[f"L:Year|study-{j}"] == str(years[j])
        assert t[f"R:k|study-{j}"] == str(j + 1)
        assert t[f"estimate|study-{j}"] == _fmt_ci(lay, est[j], lo[j], hi[j], 2)
    # rows top to bottom in the cumulative order
    ys = [next(tx for tx in ax.texts if tx.get_gid() == f"label|study-{j}").get_position()[1] for j in range(len(order))]
    assert ys == sorted(ys)
    assert_allclose(by_gid(ax, "study-squares").get_offsets()[:, 0], est, rtol=COORD_RTOL)
    seg = _segments(ax, "study-ci")
    assert_allclose(seg[:, 0, 0], lo, rtol=CI_RTOL)
    assert_allclose(seg[:, 1, 0], hi, rtol=CI_RTOL)
    # the last row is all studies: the reference line and the diamond sit there
    assert_allclose(_segments(ax, "refline")[:, :, 0], est[-1], rtol=1e-9)
    assert t["header|label"] == "Study added"


def test_results_carry_their_model_so_forest_needs_no_arguments() -> None:
    res = hr_result()
    loo = mo.leave_one_out(res)
    assert loo.overall is res and loo.measure == "HR"
    t = texts(loo.forest())
    assert t["label|study-0"] == "Omitting CheckMate 017"
    cum = mo.cumulative(res, order=YEARS)
    assert cum.overall is res and texts(cum.forest())["header|label"] == "Study added"


def test_cumulative_forest_without_overall_uses_the_last_row() -> None:
    res = hr_result(ci_method="knha")
    cum = replace(mo.cumulative(res, order=YEARS, decreasing=True), overall=None, measure=None)
    fig = cumulative_forest(cum, measure="HR", layout="revman")
    ax = fig.axes[0]
    xy = np.asarray(by_gid(ax, "diamond|pooled-0-0").get_xy())
    assert_allclose([xy[:, 0].min(), xy[:, 0].max()], np.exp([cum.ci_low[-1], cum.ci_high[-1]]), rtol=COORD_RTOL)
    assert texts(fig)["label|study-0"] == "+ SAPPHIRE"
    with pytest.raises(ValueError, match=r"show_pi=True\) needs overall="):
        cumulative_forest(cum, measure="HR", show_pi=True)
    with pytest.raises(ValueError, match=r"keeps the cumulative order; sort_by is not available"):
        cumulative_forest(cum, res, sort_by="estimate")
    with pytest.raises(ValueError, match=r"overall uses method='DL'"):
        cumulative_forest(mo.cumulative(res), hr_result(method="DL", ci_method="knha"))


def test_cumulative_forest_first_row_alone_and_two_studies() -> None:
    res = hr_result(k=2)
    cum = mo.cumulative(res)
    fig = cumulative_forest(cum, res, columns=())
    t = texts(fig)
    assert t["estimate|study-0"] == _fmt_ci(get_layout("default"), HR[0], *np.exp(res.yi[0] + np.array([-1, 1]) *
                                            1.959963984540054 * np.sqrt(res.vi[0])), 2)
    assert not [g for g in t if g.startswith("R:")]


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_figures_are_deterministic(fmt: str) -> None:
    res = hr_result()
    reg = regression(BUBBLE[0])
    for make in (lambda: cumulative_forest(mo.cumulative(res, order=YEARS), res),
                 lambda: loo_forest(mo.leave_one_out(res), res),
                 lambda: bubble(reg, pi=True).get_figure()):
        out = []
        for _ in range(2):
            buf = io.BytesIO()
            savefig(make(), buf, format=fmt)
            out.append(buf.getvalue())
        assert out[0] == out[1]


# ---------------------------------------------------------------------------------------------
# image regression
# ---------------------------------------------------------------------------------------------


def _case_bubble() -> Any:
    case = next(c for c in BUBBLE if c["id"] == "bcg_ablat_REML_z")
    return bubble(regression(case), pi=True, xlabel="Absolute latitude (degrees)", legend=True).get_figure()


def _case_loo() -> Any:
    res = hr_result()
    return loo_forest(mo.leave_one_out(res), res)


def _case_cumulative() -> Any:
    res = hr_result()
    cum = mo.cumulative(res, order=YEARS)
    return cumulative_forest(cum, res, left_columns={"Year": [YEARS[i] for i in cum.order]})


IMAGE_CASES = {"bubble_bcg_ablat": _case_bubble, "loo_forest_hr": _case_loo, "cumulative_forest_hr": _case_cumulative}


def test_image_case_grid_is_complete() -> None:
    stems = {p.stem for p in BASELINES.glob("*.png")}
    assert set(IMAGE_CASES) <= stems or WRITE
    assert {s for s in stems if s.startswith(("bubble_", "loo_forest_", "cumulative_forest_"))} <= set(IMAGE_CASES)


@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
def test_image_matches_baseline(name: str, tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    fig = IMAGE_CASES[name]()
    actual = tmp_path / f"{name}.png"
    savefig(fig, actual, dpi=100)
    expected = BASELINES / f"{name}.png"
    if WRITE:
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    if not expected.exists():
        pytest.fail(f"no baseline {expected.name}; run with MO_WRITE_BASELINES=1 and inspect it")
    err = compare_images(str(expected), str(actual), tol=IMAGE_TOL)
    assert err is None, err
