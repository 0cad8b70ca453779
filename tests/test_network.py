"""metaoutcome.network against R metafor's rma.mv (committed fixture), netmeta's published worked
examples, closed-form GLS and Bucher's indirect comparison; and its refusals of bad input."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _reference import REFERENCE, as_list
from numpy.testing import assert_allclose

from metaoutcome import effects
from metaoutcome.network import (
    RANKING_CAUTION,
    decomposition,
    direct_estimates,
    network_from_arms,
    network_from_contrasts,
    network_meta,
    node_split,
    pscores,
    sucra,
)

FIXTURE = json.loads((REFERENCE / "network_fixtures.json").read_text())
NETWORKS = {n["name"]: n for n in FIXTURE["networks"]}
RTOL = 1e-6  # the project's tolerance; the R reference maximises metafor's REML log-likelihood with optimize(tol=1e-14)
ATOL = 1e-9  # coefficients near 0 (relative differences of tiny numbers are meaningless)


def _net(name: str):
    n = NETWORKS[name]
    kw = dict(measure=n["measure"])
    if n["measure"] == "MD":
        kw.update(events=None, mean="mean", sd="sd")
    return network_from_arms(pd.DataFrame(n["arms"]), **kw)


def test_fixture_grid_is_complete():
    assert sorted(NETWORKS) == ["baker2009", "dong2013", "hasselblad1998", "senn2013", "stowe2010"]
    assert {n["measure"] for n in NETWORKS.values()} == {"OR", "MD"}
    for n in NETWORKS.values():  # every network has a multi-arm trial
        arms = pd.DataFrame(n["arms"])
        assert arms.groupby("study").size().max() >= 3, n["name"]
    assert FIXTURE["metafor_version"] and FIXTURE["r_version"] and FIXTURE["control"]


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("model,method", [("reml", "REML"), ("common", "CE")])
def test_matches_rma_mv(name, model, method):
    ref = NETWORKS[name][model]
    net = _net(name)
    assert list(net.treatments) == as_list(NETWORKS[name]["treatments"])
    assert sorted(s for s, _ in net.excluded) == sorted(as_list(NETWORKS[name]["excluded"]))
    res = network_meta(net, method=method)
    assert_allclose(res.tau2, ref["tau2"], rtol=RTOL, atol=1e-12)
    assert_allclose(res.d[1:], ref["coef"], rtol=RTOL, atol=ATOL)
    assert_allclose(np.sqrt(np.diag(res.cov)[1:]), ref["se"], rtol=RTOL)
    assert_allclose(res.cov[1:, 1:], np.array(ref["vcov"]), rtol=RTOL, atol=1e-12)
    eff = res.effects(reference=net.treatments[0])
    assert_allclose(eff["ci_low"], ref["ci_low"], rtol=RTOL, atol=ATOL)
    assert_allclose(eff["ci_high"], ref["ci_high"], rtol=RTOL, atol=ATOL)
    assert_allclose(res.q, ref["QE"], rtol=1e-10)
    assert res.q_df == ref["QE_df"]


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_reml_close_to_metafor_default_optimiser(name):
    # metafor's own nlminb fit (rel.tol 1e-10) stops slightly short of the maximum; looser tolerance
    ref = NETWORKS[name]["reml_nlminb"]
    assert_allclose(network_meta(_net(name)).tau2, ref["tau2"], rtol=1e-4)


def _closed_form_gls(name: str):
    """Contrasts against each trial's first-listed arm, built here from the arm data, and the
    GLS solution (X' V^-1 X)^-1 X' V^-1 y by numpy.linalg.solve."""
    n = NETWORKS[name]
    arms = pd.DataFrame(n["arms"])
    trts = sorted(arms["treatment"].unique())
    ys, rows, blocks = [], [], []
    for _, a in arms.groupby("study", sort=False):
        if n["measure"] == "MD":
            stat, var = a["mean"].to_numpy(float), a["sd"].to_numpy(float) ** 2 / a["n"].to_numpy(float)
        else:
            x, m = a["events"].to_numpy(float), a["n"].to_numpy(float)
            if np.all(x == 0) or np.all(x == m):
                continue
            if np.any((x == 0) | (x == m)):
                x, m = x + 0.5, m + 1
            stat, var = np.log(x / (m - x)), 1 / x + 1 / (m - x)
        t = list(a["treatment"])
        for j in range(1, len(t)):
            row = np.zeros(len(trts))
            row[trts.index(t[j])], row[trts.index(t[0])] = 1, -1
            rows.append(row[1:])
            ys.append(stat[j] - stat[0])
        blocks.append(np.full((len(t) - 1, len(t) - 1), var[0]) + np.diag(var[1:]))
    X, y = np.array(rows), np.array(ys)
    m = len(y)
    V = np.zeros((m, m))
    r = 0
    for b in blocks:
        V[r:r + len(b), r:r + len(b)] = b
        r += len(b)
    Vi = np.linalg.inv(V)
    vb = np.linalg.inv(X.T @ Vi @ X)
    return vb @ X.T @ Vi @ y, vb


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_common_effect_is_closed_form_gls(name):
    beta, vb = _closed_form_gls(name)
    res = network_meta(_net(name), method="CE")
    assert_allclose(res.d[1:], beta, rtol=1e-9, atol=1e-12)
    assert_allclose(res.cov[1:, 1:], vb, rtol=1e-9, atol=1e-14)


# -- netmeta's published worked examples (Balduzzi et al. 2023, J Stat Softw 106(2), section 5) --------
# printed to 2-4 digits: compared at half a unit of the last printed digit

def test_netmeta_stowe2010():
    res = network_meta(_net("stowe2010"), method="DL", reference="Placebo")
    assert round(res.tau2, 4) == 0.1518
    lo, hi = res.i2_ci()
    assert (round(res.i2, 1), round(lo, 1), round(hi, 1)) == (43.9, 12.3, 64.2)
    eff = res.effects().set_index("treatment")
    printed = {"COMTI": (-0.95, -1.27, -0.63, -5.79), "Dopamine Agonist": (-1.49, -1.86, -1.12, -7.88),
               "MAOBI": (-1.03, -1.56, -0.50, -3.81)}
    for t, (e, lo_, hi_, z) in printed.items():
        assert_allclose(eff.loc[t, ["estimate", "ci_low", "ci_high", "z"]].astype(float), [e, lo_, hi_, z], atol=0.005)
    dec = decomposition(res).table().set_index("part")
    assert_allclose(dec["q"], [48.15, 46.91, 1.24], atol=0.005)
    assert dec["df"].tolist() == [27, 25, 2]
    assert_allclose(dec["pvalue"], [0.0074, 0.0050, 0.5376], atol=0.00005)
    designs = decomposition(res).designs.set_index("design")
    assert_allclose(designs.loc["COMTI:Placebo", "q"], 23.65, atol=0.005)
    assert_allclose(designs.loc["Dopamine Agonist:Placebo", "q"], 21.70, atol=0.005)
    assert_allclose(designs.loc["MAOBI:Placebo", "q"], 1.56, atol=0.005)
    ps = pscores(res).set_index("treatment")["pscore"]
    assert_allclose(ps[["Dopamine Agonist", "MAOBI", "COMTI", "Placebo"]], [0.9677, 0.5664, 0.4659, 0.0], atol=0.00005)
    # netleague(net1, seq = netrank(net1), ci = FALSE)
    league = res.league_table(ci=False).to_numpy().tolist()
    assert league == [["Dopamine Agonist", ".", ".", "-1.49"], ["-0.46", "MAOBI", "0.02", "-1.03"],
                      ["-0.55", "-0.09", "COMTI", "-0.93"], ["-1.49", "-1.03", "-0.95", "Placebo"]]


def test_netmeta_baker2009():
    res = network_meta(_net("baker2009"), method="DL", reference="Placebo")
    assert res.data.n_studies == 38 and len(res.treatments) == 8 and len(set(res.data.designs)) == 13
    assert round(res.tau2, 4) == 0.0111
    assert round(res.i2, 1) == 24.4
    eff = res.effects().set_index("treatment")
    printed = {"Budesonide": (0.80, 0.59, 1.10), "Budesonide+Formoterol": (0.67, 0.49, 0.90),
               "Fluticasone": (0.86, 0.75, 0.99), "Fluticasone+Salmeterol": (0.75, 0.66, 0.86),
               "Formoterol": (1.00, 0.80, 1.25), "Salmeterol": (0.80, 0.72, 0.89), "Tiotropium": (0.69, 0.61, 0.77)}
    for t, vals in printed.items():
        got = eff.loc[t, ["estimate_natural", "ci_low_natural", "ci_high_natural"]].astype(float)
        assert_allclose(got, vals, atol=0.005)
    dec = decomposition(res).table().set_index("part")
    assert_allclose(dec["q"], [60.86, 43.20, 17.66], atol=0.005)
    assert dec["df"].tolist() == [46, 34, 12]
    ps = pscores(res).set_index("treatment")["pscore"]
    printed_ps = {"Tiotropium": 0.8719, "Budesonide+Formoterol": 0.8539, "Fluticasone+Salmeterol": 0.6856,
                  "Budesonide": 0.5199, "Salmeterol": 0.5162, "Fluticasone": 0.3523, "Formoterol": 0.1132,
                  "Placebo": 0.0871}
    assert_allclose(ps[list(printed_ps)], list(printed_ps.values()), atol=0.00005)


def test_dl_tau2_is_moment_estimator():
    """Independent check of the generalised DL formula: at tau^2_DL the expected Q under the
    random-effects model, df + tau^2 tr(P0 S), equals the observed Q."""
    from metaoutcome.network.model import design_matrix, heterogeneity_structure

    net = _net("senn2013")
    res = network_meta(net, method="DL")
    X, S, V = design_matrix(net), heterogeneity_structure(net), np.asarray(net.V)
    W = np.linalg.inv(V)
    P0 = W - W @ X @ np.linalg.solve(X.T @ W @ X, X.T @ W)
    assert_allclose(res.q_df + res.tau2 * np.trace(P0 @ S), res.q, rtol=1e-10)


def test_sucra_close_to_pscore():
    res = network_meta(_net("stowe2010"), method="DL")
    s = sucra(res, nsim=20000).set_index("treatment")
    p = pscores(res).set_index("treatment")
    assert_allclose(s["sucra"], p["pscore"], atol=0.02)  # Monte Carlo error ~ 0.005
    probs = s[[c for c in s.columns if c.startswith("p_rank_")]]
    assert_allclose(probs.sum(axis=1), 1.0)
    assert sucra(res, nsim=1000).equals(sucra(res, nsim=1000))  # seeded: reproducible


def test_ranking_direction():
    d = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"], "yi": [-0.3, 0.2],
                      "vi": [0.01, 0.01]})
    good = pscores(network_meta(d, method="CE")).set_index("treatment")["pscore"]
    bad = pscores(network_meta(d, method="CE", small_values="undesirable")).set_index("treatment")["pscore"]
    assert good.idxmax() == "X" and bad.idxmax() == "Y"
    assert_allclose(good + bad, 1.0)
    assert "uncertainty" in RANKING_CAUTION


# -- Bucher, stars, multi-arm input -----------------------------------------------------------------

def test_bucher_equals_network_estimate_on_two_comparison_star():
    y_ac, v_ac, y_bc, v_bc = -0.35, 0.021, -0.12, 0.034
    d = pd.DataFrame({"study": ["t1", "t2"], "treat1": ["A", "B"], "treat2": ["C", "C"], "yi": [y_ac, y_bc],
                      "vi": [v_ac, v_bc]})
    for method in ("CE", "REML", "DL"):
        res = network_meta(d, method=method, measure="HR")
        est, se = res.compare("A", "B")
        assert est == pytest.approx(y_ac - y_bc, abs=1e-15)
        assert se == pytest.approx(math.sqrt(v_ac + v_bc), rel=1e-14)
    ev = res.evidence().set_index(["treat1", "treat2"])["evidence"]
    assert ev[("A", "B")] == "indirect" and ev[("A", "C")] == "direct"


def test_star_network_says_indirect_and_not_estimable():
    d = pd.DataFrame({"study": list("abcd"), "treat1": ["A", "B", "B", "D"], "treat2": ["C"] * 4,
                      "yi": [-0.3, -0.1, -0.2, 0.05], "vi": [0.01, 0.02, 0.02, 0.03]})
    res = network_meta(d, reference="C", measure="HR")
    text = str(res)
    assert "purely indirect" in text and "not estimable" in text
    dec = decomposition(res)
    assert not dec.between_estimable
    t = dec.table().set_index("part")
    assert math.isnan(t.loc["between designs", "q"]) and t.loc["between designs", "note"] == "not estimable"
    assert t.loc["within designs", "df"] == 1  # the two B-vs-C trials
    ns = node_split(res)
    assert not ns.estimable and ns.table.empty and "not estimable" in str(ns)


def test_node_split_two_arm_loop_equals_direct_and_remaining_network():
    """With two-arm trials only, the split's direct estimate is the pooled direct trials and its
    indirect estimate the network without them (common effect)."""
    d = pd.DataFrame({"study": list("abcde"), "treat1": ["B", "B", "C", "C", "D"], "treat2": ["A", "A", "A", "B", "A"],
                      "yi": [0.2, 0.35, 0.5, 0.1, -0.2], "vi": [0.04, 0.05, 0.03, 0.06, 0.05]})
    res = network_meta(d, method="CE")
    row = node_split(res).table.set_index(["treat1", "treat2"]).loc[("A", "B")]
    w = 1 / np.array([0.04, 0.05])
    assert row["direct"] == pytest.approx(-(0.2 * w[0] + 0.35 * w[1]) / w.sum(), rel=1e-12)
    rest = network_meta(d[~d["study"].isin(["a", "b"])], method="CE")
    assert row["indirect"] == pytest.approx(rest.compare("A", "B")[0], rel=1e-12)
    assert row["difference"] == pytest.approx(row["direct"] - row["indirect"], rel=1e-12)
    assert row["difference_se"] ** 2 == pytest.approx(row["direct_se"] ** 2 + row["indirect_se"] ** 2, rel=1e-10)


def test_all_pairwise_contrasts_of_multiarm_trial_equal_arm_level():
    """netmeta's contrast format (every pair of a three-arm trial) gives the arm-level model."""
    arms = pd.DataFrame(NETWORKS["senn2013"]["arms"])
    rows = []
    for s, a in arms.groupby("study", sort=False):
        a = a.reset_index(drop=True)
        for i in range(len(a)):
            for j in range(i + 1, len(a)):
                rows.append(dict(study=s, treat1=a.treatment[i], treat2=a.treatment[j], yi=a["mean"][i] - a["mean"][j],
                                 vi=a.sd[i] ** 2 / a.n[i] + a.sd[j] ** 2 / a.n[j]))
    pw = pd.DataFrame(rows)
    assert pw["study"].value_counts().max() == 3
    a_res = network_meta(_net("senn2013"))
    c_res = network_meta(network_from_contrasts(pw, measure="MD"))
    assert_allclose(c_res.tau2, a_res.tau2, rtol=1e-9)
    assert_allclose(c_res.d, a_res.d, rtol=1e-9, atol=1e-12)


def test_shared_control_hazard_ratios_use_the_toolkits_correlation():
    """KEYNOTE-010's two doses against one docetaxel arm: the covariance is the shared-control one."""
    import metaoutcome as mo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_hazard_ratios(mo.load_dataset("hazard_ratios", trial="keynote_010"))
    es = es[es["yi"].notna()]  # the PD-L1 subgroup rows (doses pooled) are never pooled: exclude_reason
    net = network_from_contrasts(es, study="trial_id", treat1="experimental_arm", treat2="control_arm",
                                 n1="n_experimental", n2="n_control", measure="HR")
    assert net.n_studies == 1 and len(net.y) == 2  # one trial with two correlated contrasts
    v = net.V
    rho = effects.shared_control_correlation(346, 345, 343)  # arms in network order: 10 mg/kg, 2 mg/kg
    assert v[0, 1] == pytest.approx(rho * math.sqrt(v[0, 0] * v[1, 1]), rel=1e-12)
    # the pooled estimate of the two doses combined equals combine_shared_control's
    comb = effects.combine_shared_control(es)
    assert float(comb["vi"].iloc[0]) == pytest.approx(np.ones(2) @ v @ np.ones(2) / 4, rel=1e-12)


def test_direct_estimates_of_multiarm_pair():
    res = network_meta(_net("stowe2010"), method="DL")
    est, se = direct_estimates(res)[("COMTI", "MAOBI")]
    assert est == pytest.approx(-1.20 - (-1.18), abs=1e-12)  # LARGO: the only trial with both


# -- bad input ----------------------------------------------------------------------------------------

def _pairs(**over):
    d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "D"], "treat2": ["C", "C", "E"],
                      "yi": [-0.3, -0.1, 0.2], "vi": [0.01, 0.02, 0.03]})
    for k, v in over.items():
        d[k] = v
    return d


def test_disconnected_network_names_components():
    with pytest.raises(ValueError, match=r"disconnected.*\{A, B, C\} \(trials: s1, s2\).*\{D, E\} \(trials: s3\)"):
        network_from_contrasts(_pairs())


def test_treatment_compared_with_itself_names_trial():
    with pytest.raises(ValueError, match=r"trial 's2'.*'B' is compared with itself"):
        network_from_contrasts(_pairs(treat2=["C", "B", "C"], treat1=["A", "B", "B"]))
    arms = pd.DataFrame({"study": ["x", "x"], "treatment": ["A", "A"], "events": [1, 2], "n": [10, 10]})
    with pytest.raises(ValueError, match=r"trial 'x' has more than one arm of treatment 'A'"):
        network_from_arms(arms)


@pytest.mark.parametrize("bad", [0.0, -0.01, float("nan")])
def test_non_positive_variance_names_trial(bad):
    with pytest.raises(ValueError, match=r"trial 's2': 'vi' must be positive"):
        network_from_contrasts(_pairs(vi=[0.01, bad, 0.03], treat1=["A", "B", "B"]))


def test_non_positive_sd_names_trial():
    arms = pd.DataFrame({"study": ["x", "x"], "treatment": ["A", "B"], "mean": [1, 2], "sd": [1.0, 0.0], "n": [10, 10]})
    with pytest.raises(ValueError, match=r"trial 'x'.*non-positive variance"):
        network_from_arms(arms, measure="MD", events=None, mean="mean", sd="sd")


def test_inconsistent_multiarm_contrasts_name_trial():
    d = pd.DataFrame({"study": ["m"] * 3, "treat1": ["B", "C", "C"], "treat2": ["A", "A", "B"],
                      "yi": [0.2, 0.5, 0.1], "vi": [0.04, 0.05, 0.05]})
    with pytest.raises(ValueError, match=r"trial 'm'.*inconsistent"):
        network_from_contrasts(d)
    d["yi"] = [0.2, 0.5, 0.3]
    d["vi"] = [0.04, 0.05, 0.5]  # no arm variances reproduce these
    with pytest.raises(ValueError, match=r"trial 'm'.*variances.*inconsistent"):
        network_from_contrasts(d)
    arms = pd.DataFrame({"study": ["x", "x", "x"], "treatment": ["A", "B", "C"], "events": [5, 8, 3], "n": [10, 10, 10]})
    assert network_from_arms(arms).n_studies == 1
    arms.loc[1, "events"] = 12  # more events than patients in one arm of the three-arm trial
    with pytest.raises(ValueError, match=r"trial 'x'.*inconsistent arm data"):
        network_from_arms(arms)


def test_arm_size_conflict_in_multiarm_trial():
    d = pd.DataFrame({"study": ["k", "k"], "treat1": ["P2", "P10"], "treat2": ["D", "D"], "yi": [-0.3, -0.4],
                      "vi": [0.01, 0.01], "n1": [345, 346], "n2": [343, 300]})
    with pytest.raises(ValueError, match=r"trial 'k': arm 'D' has two different sizes"):
        network_from_contrasts(d, n1="n1", n2="n2")


def test_bad_arguments():
    d = _pairs(treat1=["A", "B", "B"], treat2=["C", "C", "C"])
    with pytest.raises(ValueError, match="method='XX'"):
        network_meta(d, method="XX")
    with pytest.raises(ValueError, match="reference='Z'"):
        network_meta(d, reference="Z")
    with pytest.raises(ValueError, match="small_values"):
        network_meta(d, small_values="low")
    with pytest.raises(ValueError, match="measure='SMD'"):
        network_from_arms(pd.DataFrame({"study": [1], "treatment": ["A"], "n": [1]}), measure="SMD")
