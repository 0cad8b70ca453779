"""The bundled analyses, run the way `metaoutcome reproduce` runs them."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.reproduce import list_analyses, run_all

# the CSVs are written with full float precision: only round-off separates them from a refit
RTOL_CSV = 1e-12


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reproduce")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_all(out, progress=lambda s: None)
    assert res.ok, res.failures
    return out


def test_both_review_questions_are_bundled() -> None:
    assert [n for n, _ in list_analyses()] == [
        "design_benchmarks", "hcc_after_first_line", "networks", "nsclc_pd1_vs_docetaxel", "nsclc_pdl1_and_safety"]


@pytest.mark.parametrize("path", [
    "report.html", "manifest.json",
    "nsclc_pd1_vs_docetaxel/nsclc_pd1_vs_docetaxel.md",
    "nsclc_pd1_vs_docetaxel/figures/forest_os_hr.pdf", "nsclc_pd1_vs_docetaxel/figures/forest_os_hr.png",
    "nsclc_pd1_vs_docetaxel/figures/forest_pfs_hr.png", "nsclc_pd1_vs_docetaxel/figures/forest_orr_by_class.png",
    "nsclc_pd1_vs_docetaxel/tables/pooled_hazard_ratios.csv", "nsclc_pd1_vs_docetaxel/tables/pooled_hazard_ratios.md",
    "nsclc_pd1_vs_docetaxel/tables/excluded_hazard_ratio_rows.csv",
    "hcc_after_first_line/hcc_after_first_line.md",
    "hcc_after_first_line/figures/forest_os_hr.pdf", "hcc_after_first_line/figures/forest_orr_by_class.png",
    "hcc_after_first_line/tables/orr_dcr_glmm_vs_iv.csv", "hcc_after_first_line/tables/pooled_results.csv",
])
def test_expected_output_exists(outputs: Path, path: str) -> None:
    assert (outputs / path).is_file() and (outputs / path).stat().st_size > 0


def test_methods_and_results_paragraphs(outputs: Path) -> None:
    for name in ("nsclc_pd1_vs_docetaxel", "hcc_after_first_line"):
        text = (outputs / name / f"{name}.md").read_text()
        assert "## Methods" in text and "## Results" in text and f"metaoutcome {mo.__version__}" in text


def test_hcc_os_hr_equals_the_library(outputs: Path) -> None:
    # refit independently of the analysis script: the five placebo-controlled phase 3 OS HRs
    hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS", with_trials=True)
    hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mo.pool(effects.from_hazard_ratios(hr), measure="HR")
    table = pd.read_csv(outputs / "hcc_after_first_line" / "tables" / "pooled_results.csv").set_index("analysis")
    row = table.loc["OS HR vs placebo"]
    assert row["k"] == res.k == 5
    assert_allclose(row["estimate"], res.estimate, rtol=RTOL_CSV)
    assert_allclose(row["estimate_natural"], np.exp(res.estimate), rtol=RTOL_CSV)
    assert_allclose([row["ci_low_natural"], row["ci_high_natural"]], np.exp([res.ci_low, res.ci_high]), rtol=RTOL_CSV)


def test_nsclc_counts_keynote_010_once(outputs: Path) -> None:
    studies = pd.read_csv(outputs / "nsclc_pd1_vs_docetaxel" / "tables" / "studies_os_hr.csv")
    labels = studies.loc[studies["row_type"] == "study", "label"].tolist()
    assert sum("KEYNOTE-010" in lab for lab in labels) == 1


def test_manifest_hashes_inputs_and_outputs(outputs: Path) -> None:
    manifest = json.loads((outputs / "manifest.json").read_text())
    assert set(manifest["analyses"].values()) == {"ok"}
    assert "analyses/nsclc_pd1_vs_docetaxel.py" in manifest["inputs"]
    assert "datasets/hazard_ratios.csv" in manifest["inputs"]
    assert "report.html" in manifest["outputs"]


def test_two_runs_are_byte_identical(outputs: Path, tmp_path: Path) -> None:
    # the fixture ran the analyses side by side in worker processes where there are 2+ CPUs;
    # this run is one after another in this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_all(tmp_path, progress=lambda s: None, jobs=1)
    assert (tmp_path / "manifest.json").read_bytes() == (outputs / "manifest.json").read_bytes()
