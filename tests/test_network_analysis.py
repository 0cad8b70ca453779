"""The bundled network analyses (analyses/networks.py), run as `metaoutcome reproduce --only networks`."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.network import RANKING_CAUTION
from metaoutcome.reproduce import run_all


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("networks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_all(out, only=["networks"], progress=lambda s: None, jobs=1)
    assert res.ok, res.failures
    return out / "networks"


@pytest.mark.parametrize("name", [
    "figures/network_graph_nsclc_os.png", "figures/network_forest_nsclc_os.pdf", "figures/league_nsclc_os.png",
    "figures/network_graph_hcc_os.png", "figures/network_forest_hcc_os.png", "figures/league_hcc_os.pdf",
    "tables/league_nsclc_os.csv", "tables/league_table_nsclc_os.md", "tables/rankings_nsclc_os.csv",
    "tables/league_hcc_os.csv", "tables/rankings_hcc_pfs.csv", "tables/league_nsclc_pfs.csv",
    "tables/heterogeneity_hcc_os.csv",
])
def test_outputs_written(folder: Path, name: str) -> None:
    assert (folder / name).stat().st_size > 0


def test_report_text_says_indirect_not_estimable_and_cautions(folder: Path) -> None:
    text = (folder / "networks.md").read_text()
    assert "purely indirect" in text and "not estimable" in text
    assert RANKING_CAUTION in text
    assert "KEYNOTE-010" in text


def _se(row: pd.Series) -> tuple[float, float]:
    return float(row["yi"]), math.sqrt(float(row["vi"]))


def _hcc_placebo_drugs(endpoint: str) -> set[str]:
    """The drugs of the HCC network, derived from the data as the review question defines it: every
    placebo-controlled phase 3 HCC trial with a usable (not excluded, not superseded) hazard ratio."""
    hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint=endpoint, with_trials=True)
    hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_hazard_ratios(hr)
    return set(es.loc[es["yi"].notna(), "experimental_arm"])


def test_hcc_regorafenib_vs_cabozantinib_is_bucher(folder: Path) -> None:
    """A star with tau^2 = 0 (HCC OS: the two pembrolizumab trials agree): the network estimate of
    two drugs is Bucher's indirect comparison of their placebo-controlled trials."""
    league = pd.read_csv(folder / "tables" / "league_hcc_os.csv")
    row = league[(league["treat1"] == "cabozantinib") & (league["treat2"] == "regorafenib")].iloc[0]
    hr = mo.load_dataset("hazard_ratios", trial=["resorce", "celestial"], endpoint="OS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_hazard_ratios(hr).set_index("trial_id")
    (yc, sc), (yr, sr) = _se(es.loc["celestial"]), _se(es.loc["resorce"])
    eff = pd.read_csv(folder / "tables" / "effects_hcc_os.csv")
    assert set(eff["treatment"]) == _hcc_placebo_drugs("OS")
    assert row["evidence"] == "indirect"
    assert row["estimate"] == pytest.approx(yc - yr, rel=1e-9)
    assert row["se"] == pytest.approx(math.sqrt(sc**2 + sr**2), rel=1e-9)


def test_keynote_010_is_one_three_arm_trial(folder: Path) -> None:
    league = pd.read_csv(folder / "tables" / "league_nsclc_os.csv")
    doses = league[league["treat1"].str.startswith("pembrolizumab") & league["treat2"].str.startswith("pembrolizumab")]
    assert len(doses) == 1 and doses["evidence"].iloc[0] == "direct" and doses["n_studies"].iloc[0] == 1
    eff = pd.read_csv(folder / "tables" / "effects_nsclc_os.csv").set_index("treatment")
    # The pembrolizumab doses' estimates by hand: generalised least squares over the trials with a pembrolizumab
    # arm (read from the data, not listed here), KEYNOTE-010's two contrasts correlated through its shared docetaxel
    # arm, rho = (1/n_c) / sqrt((1/n_a + 1/n_c)(1/n_b + 1/n_c)), and the network's tau^2 (correlation 1/2 within a
    # multi-arm trial). In a star network only these trials inform the two doses.
    from metaoutcome._analyses import networks as nw

    used, _ = nw._contrasts("NSCLC", "OS", nw.QUESTIONS["nsclc"]["keep"])
    tau2 = nw._fit(used, "docetaxel").tau2
    doses = ["pembrolizumab_2mgkg", "pembrolizumab_10mgkg"]
    rows = used[used["experimental_arm"].isin(doses)].reset_index(drop=True)
    assert rows["short_name"].value_counts()["KEYNOTE-010"] == 2
    y = np.log(rows["hr"].to_numpy(float))
    se = np.array([(math.log(h) - math.log(lo)) / (2 * stats.norm.ppf(0.5 + float(c) / 200))
                   for h, lo, c in zip(rows["ci_high"], rows["ci_low"], rows["ci_level"])])
    v = np.diag(se**2 + tau2)
    for i in range(len(rows)):
        for j in range(len(rows)):
            if i != j and rows.loc[i, "short_name"] == rows.loc[j, "short_name"]:
                nc = float(rows.loc[i, "n_control"])
                na, nb = float(rows.loc[i, "n_experimental"]), float(rows.loc[j, "n_experimental"])
                rho = (1 / nc) / math.sqrt((1 / na + 1 / nc) * (1 / nb + 1 / nc))
                v[i, j] = rho * se[i] * se[j] + tau2 / 2
    x = np.array([[float(arm == d) for d in doses] for arm in rows["experimental_arm"]])
    w = np.linalg.inv(v)
    beta = np.linalg.solve(x.T @ w @ x, x.T @ w @ y)
    cov = np.linalg.inv(x.T @ w @ x)
    for k, d in enumerate(doses):
        assert eff.loc[d, "estimate"] == pytest.approx(beta[k], rel=1e-8), d
        assert eff.loc[d, "se"] == pytest.approx(math.sqrt(cov[k, k]), rel=1e-8), d
    if rows["short_name"].nunique() > 1:
        # another trial of one dose reaches the other dose through KEYNOTE-010's shared control: the 10 mg/kg
        # estimate is no longer KEYNOTE-010's printed HR (it would be, were the two contrasts independent)
        printed = float(rows.loc[(rows["short_name"] == "KEYNOTE-010") & (rows["experimental_arm"] == doses[1]), "hr"].iloc[0])
        assert abs(eff.loc[doses[1], "estimate_natural"] - printed) > 1e-3


def test_reader_tables_name_drugs_in_words_and_show_hrs(folder: Path) -> None:
    from metaoutcome._analyses import networks as nw

    assert nw.drug("pembrolizumab_10mgkg") == "pembrolizumab 10 mg/kg"
    league = pd.read_csv(folder / "tables" / "league_table_nsclc_os.csv").set_index("row")
    disp = nw.league_display(league)
    assert "pembrolizumab 10 mg/kg" in disp.columns and disp.shape == league.shape
    # the diagonal names the drug, empty direct cells are "–", the rest are the HR cells unchanged
    for i, name in enumerate(league.columns):
        assert disp.iloc[i, i] == nw.drug(name)
    assert (disp.to_numpy() == "–").sum() == (league.to_numpy() == ".").sum() > 0
    eff = pd.read_csv(folder / "tables" / "effects_hcc_os.csv")
    e = nw.effects_display(eff, "placebo")
    rego = eff[eff["treatment"] == "regorafenib"].iloc[0]
    assert e.set_index("Drug").loc["regorafenib", "HR vs placebo (95% CI)"] == (
        f"{rego['estimate_natural']:.2f} ({rego['ci_low_natural']:.2f} to {rego['ci_high_natural']:.2f})")
    dec = nw.decomposition_display(pd.read_csv(folder / "tables" / "heterogeneity_nsclc_pfs.csv"))
    assert list(dec["Q"]) == ["–", "0.00", "–"] and "nan" not in dec.to_string()
