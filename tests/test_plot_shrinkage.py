"""Shrinkage forest plot of a Bayesian meta-analysis: journal size, fonts, determinism, ax=."""

from __future__ import annotations

import numpy as np
import pytest

from metaoutcome.bayes import bayesmeta, half_normal
from metaoutcome.plotting import savefig
from metaoutcome.plotting.shrinkage import shrinkage_forest


@pytest.fixture(scope="module")
def res():
    return bayesmeta(yi=np.log([0.6, 0.8, 0.7, 0.95]), sei=[0.12, 0.15, 0.1, 0.2], measure="HR",
                     labels=["T1", "T2", "T3", "T4"], tau_prior=half_normal(0.5))


def test_journal_size_and_fonts(res):
    ax = shrinkage_forest(res)
    fig = ax.figure
    assert fig.get_size_inches()[0] * 25.4 <= 183
    sizes = [t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize") and hasattr(o, "get_text"))
             if t.get_text()]
    assert sizes and min(sizes) >= 7
    # one observed and one shrunken row per study plus mu and prediction
    assert len(ax.get_yticks()) == 2 * res.k + 2
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Hazard ratio"


def test_draws_into_given_axes_and_leaves_pyplot_alone(res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot(1, 1, 1)
    assert shrinkage_forest(res, ax=ax, show_values=False) is ax
    assert plt.get_fignums() == before


def test_byte_identical_reruns(res, tmp_path):
    for ext in ("png", "pdf", "svg"):
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        savefig(shrinkage_forest(res).figure, a)
        savefig(shrinkage_forest(res).figure, b)
        assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("kw, arg", [(dict(width_mm=200), "width_mm"), (dict(fontsize=6), "fontsize")])
def test_bad_arguments(res, kw, arg):
    with pytest.raises(ValueError, match=arg):
        shrinkage_forest(res, **kw)
