"""Funnel, Baujat, radial and L'Abbe plots: what is drawn equals the numbers; bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import metaoutcome as mo
from metaoutcome.plotting import baujat, funnel, labbe, radial
from metaoutcome.plotting.diagnostics import baujat_values

# exact arithmetic on stored float64 coordinates
RTOL = 1e-12

YI = np.log([0.59, 0.73, 0.73, 0.71, 0.87, 0.95, 0.52])
VI = np.array([0.0225, 0.0111, 0.0086, 0.0121, 0.0093, 0.03, 0.05])


def result(**kw: object) -> object:
    return mo.pool(YI, VI, measure="HR", labels=[f"S{i}" for i in range(YI.size)], **kw)


def by_gid(ax: object, gid: str) -> object:
    arts = [a for a in ax.get_children() if a.get_gid() == gid]  # type: ignore[attr-defined]
    assert len(arts) == 1, gid
    return arts[0]


def test_funnel_points_pseudo_ci_and_relabelled_axis() -> None:
    res = result()
    ax = funnel(res)
    assert_allclose(by_gid(ax, "studies").get_offsets(), np.column_stack([YI, np.sqrt(VI)]), rtol=RTOL)
    lo = by_gid(ax, "pseudo-ci-low")
    z = stats.norm.ppf(0.975)
    se = lo.get_ydata()
    assert_allclose(lo.get_xdata(), res.estimate - z * se, rtol=RTOL)
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0.0
    # ticks sit at log(label): the axis is relabelled in hazard ratios
    for pos, lab in zip(ax.get_xticks(), ax.get_xticklabels()):
        assert_allclose(np.exp(pos), float(lab.get_text()), rtol=1e-6)


def test_contour_enhanced_funnel_and_filled_studies() -> None:
    filled = type("Filled", (), {"yi": np.array([0.2]), "vi": np.array([0.03])})()
    ax = funnel(result(), contours=True, filled=filled)
    for lvl in ("90", "95", "99"):
        by_gid(ax, f"contour-{lvl}")
    assert_allclose(by_gid(ax, "filled").get_offsets(), [[0.2, np.sqrt(0.03)]], rtol=RTOL)
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "p \u2264 0.01"
    plo = mo.pool([-1.0, -0.5, -0.8], [0.1, 0.05, 0.08], measure="PLO")
    with pytest.raises(ValueError, match="contours need a centre"):
        funnel(plo, contours=True)
    funnel(plo, contours=(90, 95), center=0.2)
    with pytest.raises(ValueError, match=r"contours\[0\]=0 is not a confidence level"):
        funnel(result(), contours=(0, 95))


def test_baujat_matches_leave_one_out_by_hand() -> None:
    res = result()
    ax = baujat(res)
    x, y = baujat_values(YI, VI)
    assert_allclose(by_gid(ax, "studies").get_offsets(), np.column_stack([x, y]), rtol=RTOL)
    w = 1 / VI
    mu = np.sum(w * YI) / np.sum(w)
    i = 2
    keep = np.arange(YI.size) != i
    mu_i = np.sum(w[keep] * YI[keep]) / np.sum(w[keep])
    assert_allclose(y[i], (mu - mu_i) ** 2 * np.sum(w[keep]), rtol=1e-10)
    assert_allclose(np.sum(x), res.q, rtol=1e-10)  # contributions add up to Cochran's Q


def test_radial_slope_is_the_pooled_estimate() -> None:
    res = result(method="FE")
    ax = radial(res)
    line = by_gid(ax, "estimate")
    xs, ys = line.get_xdata(), line.get_ydata()
    assert_allclose((ys[1] - ys[0]) / (xs[1] - xs[0]), res.estimate, rtol=RTOL)
    assert_allclose(by_gid(ax, "studies").get_offsets()[:, 1], YI / np.sqrt(VI), rtol=RTOL)


def test_labbe_rates_and_bad_counts() -> None:
    a, n1, c, n2 = [10, 20, 5], [50, 80, 40], [5, 12, 6], [50, 79, 41]
    yi = np.log(np.array(a) / (np.array(n1) - a)) - np.log(np.array(c) / (np.array(n2) - c))
    vi = 1 / np.array(a) + 1 / (np.array(n1) - a) + 1 / np.array(c) + 1 / (np.array(n2) - c)
    ax = labbe(a, n1, c, n2, result=mo.pool(yi, vi, measure="OR"))
    assert_allclose(by_gid(ax, "studies").get_offsets(), np.column_stack([100 * np.array(c) / n2, 100 * np.array(a) / n1]),
                    rtol=RTOL)
    by_gid(ax, "pooled")
    with pytest.raises(ValueError, match="ai must not exceed n1i"):
        labbe([60], [50], [1], [10])
    with pytest.raises(ValueError, match="lengths differ"):
        labbe([1, 2], [10, 10], [1], [10])
    with pytest.raises(ValueError, match="a L'Abbe plot draws OR, RR or RD"):
        labbe(a, n1, c, n2, result=result())


def test_diagnostics_leave_pyplot_alone() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    funnel(result(), contours=True)
    baujat(result())
    radial(result())
    labbe([1], [10], [2], [10])
    assert plt.get_fignums() == before
