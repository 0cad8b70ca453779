"""Loading the bundled data: dtypes, filters, joins, and that an installed package finds its data."""

from __future__ import annotations

import subprocess
import sys

from pathlib import Path

import pandas as pd
import pytest

from metaoutcome import datasets
from metaoutcome._schema import package_tables


def test_list_datasets_names_every_table() -> None:
    frame = datasets.list_datasets()
    assert list(frame["name"]) == list(datasets.TABLES)
    assert (frame["rows"] > 0).all()


@pytest.mark.parametrize("name", datasets.TABLES)
def test_dtypes_follow_the_descriptor(name: str) -> None:
    frame = datasets.load_dataset(name)
    expected = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "string"}
    for f in package_tables()[name].fields:
        assert str(frame[f.name].dtype) == expected[f.type], f.name


def test_filters() -> None:
    hr = datasets.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS")
    assert not hr.empty and set(hr["endpoint"]) == {"OS"}
    trials = datasets.load_dataset("trials")
    hcc = set(trials.loc[trials["cancer"] == "HCC", "trial_id"])
    assert set(hr["trial_id"]) <= hcc
    orr = datasets.load_dataset("proportions", outcome=["ORR", "DCR"], cancer="NSCLC")
    assert set(orr["outcome"]) <= {"ORR", "DCR"} and not orr.empty
    one = orr["trial_id"].iloc[0]
    assert set(datasets.load_dataset("proportions", trial=one)["trial_id"]) == {one}


def test_join_trials_adds_metadata() -> None:
    frame = datasets.load_dataset("medians", with_trials=True)
    assert {"short_name", "cancer", "phase", "design"} <= set(frame.columns)
    assert frame["short_name"].notna().all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="orr"), r"name='orr' is not one of the allowed values: 'sources', 'trials'"),
        (dict(name="proportions", cancer="SCLC"), r"cancer='SCLC' is not one of the allowed values: 'NSCLC', 'HCC'"),
        (dict(name="proportions", outcome="BOR"), r"outcome='BOR' is not one of the allowed values: 'ORR'"),
        (dict(name="trials", endpoint="OS"), r"endpoint= does not apply to table 'trials'"),
        (dict(name="medians", trial="nope"), r"trial='nope' is not a bundled trial"),
    ],
)
def test_bad_arguments(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        datasets.load_dataset(**kwargs)


def test_describe() -> None:
    d = datasets.describe("proportions")
    assert list(d.columns) == ["column", "type", "unit", "required", "allowed", "description"]
    assert d.set_index("column").loc["events", "unit"] == "patients"


def test_installed_package_finds_its_data(tmp_path: Path) -> None:
    # run from an unrelated folder, so nothing is found through the source tree
    code = "import metaoutcome; print(len(metaoutcome.load_dataset('trials')))"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(res.stdout) > 0


def test_every_table_row_names_its_source() -> None:
    sources = set(datasets.load_dataset("sources")["source_id"])
    for name in ("proportions", "medians", "hazard_ratios"):
        frame = datasets.load_dataset(name)
        assert frame["source_id"].isin(sources).all(), name
        assert frame["locator"].notna().all(), name
        derived = frame["status"] == "derived"
        assert frame.loc[derived, "derivation"].notna().all(), name


def test_every_source_has_a_declared_source_type() -> None:
    sources = datasets.load_dataset("sources")
    allowed = set(package_tables()["sources"].field("source_type").enum or ())
    assert {"peer_reviewed_article", "secondary_report", "seed_document"} <= allowed
    assert sources["source_type"].notna().all()
    assert set(sources["source_type"]) <= allowed


def test_source_type_filter() -> None:
    news = datasets.load_dataset("hazard_ratios", source_type="secondary_report")
    sources = datasets.load_dataset("sources").set_index("source_id")["source_type"]
    assert not news.empty and set(sources[news["source_id"]]) == {"secondary_report"}
    both = datasets.load_dataset("medians", source_type=["peer_reviewed_article", "seed_document"])
    assert set(sources[both["source_id"]]) <= {"peer_reviewed_article", "seed_document"}
    everything = datasets.load_dataset("medians")
    assert len(both) < len(everything)
    with pytest.raises(ValueError, match=r"source_type='news' is not one of the allowed values"):
        datasets.load_dataset("medians", source_type="news")
    with pytest.raises(ValueError, match=r"source_type= does not apply to table 'trials'"):
        datasets.load_dataset("trials", source_type="seed_document")


def test_safety_outcome_codes_are_declared_and_consistent() -> None:
    allowed = set(package_tables()["proportions"].field("outcome").enum or ())
    assert {"TRAE_G3PLUS", "TRAE_G34"} <= allowed
    safety = datasets.load_dataset("proportions", outcome=["TRAE_G3PLUS", "TRAE_G34"], with_trials=True)
    both = safety.dropna(subset=["events", "n"])
    assert (both["events"] <= both["n"]).all()
    # at least one randomized trial gives events/n in both arms (CheckMate 017: 9/131 vs 71/129)
    per_trial = both[both["design"] == "randomized"].groupby("trial_id")["arm"].nunique()
    assert (per_trial >= 2).any()


def test_pdl1_subgroup_rows_and_pairs() -> None:
    hr = datasets.load_dataset("hazard_ratios")
    sub = hr[hr["subgroup"].notna()]
    assert len(sub) >= 10 and sub["trial_id"].nunique() >= 5
    assert sub["subgroup"].str.contains("PD-L1").all()
    for pair, grp in hr[hr["subgroup_pair"].notna()].groupby("subgroup_pair"):
        # a pair is two complementary subgroups of one trial, endpoint and analysis
        assert len(grp) == 2, pair
        assert grp["trial_id"].nunique() == 1 and grp["endpoint"].nunique() == 1, pair
        assert grp["subgroup"].nunique() == 2, pair


def test_unidentified_seed_figures_are_flagged_and_never_pooled() -> None:
    import warnings

    from metaoutcome import effects

    trials = datasets.load_dataset("trials")
    unid = set(trials.loc[trials["trial_id"].str.startswith("unidentified_"), "trial_id"])
    assert unid and trials.set_index("trial_id").loc[sorted(unid), "short_name"].str.startswith("Unidentified study cited in").all()
    for name in ("proportions", "medians"):
        rows = datasets.load_dataset(name, trial=sorted(unid))
        assert not rows.empty and rows["exclude_reason"].str.contains("unidentified study").all(), name
    props = datasets.load_dataset("proportions", trial=sorted(unid))
    props["n"] = 100  # even with a denominator the rows must not be pooled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_proportions(props, on_invalid="exclude")
    assert es["yi"].isna().all()
    assert es["exclusion_reason"].str.contains("unidentified study").all()


def test_the_loader_reads_through_the_one_csv_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a hand-edited install whose table has an unterminated quote: refused, naming file and line,
    # where a bare pandas read would fold the following rows into one cell
    import shutil

    from metaoutcome import datasets

    bundled = Path(__file__).parents[1] / "datasets"
    for f in bundled.iterdir():
        if f.suffix in (".csv", ".json"):
            shutil.copy(f, tmp_path / f.name)
    lines = (tmp_path / "hazard_ratios.csv").read_text(encoding="utf-8").splitlines()
    lines[4] += ',"'
    (tmp_path / "hazard_ratios.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(datasets, "data_dir", lambda: tmp_path)
    datasets._read_once.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"the bundled table hazard_ratios cannot be read: hazard_ratios.csv:5:-: a quote "
                                             r"opened on this line runs on to a quote on line 6"):
            datasets.load_dataset("hazard_ratios")
        assert len(datasets.load_dataset("trials")) == len(pd.read_csv(bundled / "trials.csv"))
    finally:
        datasets._read_once.cache_clear()


def test_join_trials_with_your_own_trials_table() -> None:
    hr = datasets.load_dataset("hazard_ratios", trial="checkmate_057").iloc[:1]  # one row of the trial's
    hr.index = pd.Index([7], name="file_row")
    own = pd.DataFrame({"trial_id": ["checkmate_057"], "short_name": ["CM-057 (mine)"]})
    joined = datasets.join_trials(hr, ["short_name"], trials=own)
    assert joined["short_name"].tolist() == ["CM-057 (mine)"] and joined.index.tolist() == [7]
    only_own = datasets.join_trials(hr, trials=own, bundled=False)
    assert "cancer" not in only_own.columns and only_own["short_name"].tolist() == ["CM-057 (mine)"]
    unknown = datasets.join_trials(hr.assign(trial_id="not_a_trial"), ["short_name"])
    assert unknown["short_name"].isna().all()
