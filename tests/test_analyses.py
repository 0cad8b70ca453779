"""The bundled analyses, run the way `metaoutcome reproduce` runs them."""

from __future__ import annotations

import html
import json
import re
import warnings
from html.parser import HTMLParser
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


ORDER = ["hcc_after_first_line", "nsclc_pd1_vs_docetaxel", "networks", "nsclc_pdl1_and_safety", "design_benchmarks"]


def test_both_review_questions_are_bundled_and_come_first() -> None:
    # the review questions, then the analyses built on them, the design benchmarks last (not alphabetical)
    assert [n for n, _ in list_analyses()] == ORDER


def test_list_analyses_reads_what_importing_the_modules_gives() -> None:
    # list_analyses reads ORDER/TITLE/run from the sources without importing them; importing must agree
    import importlib

    titles = dict(list_analyses())
    for name in ORDER:
        mod = importlib.import_module(f"metaoutcome._analyses.{name}")
        assert callable(mod.run)
        assert titles[name] == mod.TITLE
    orders = [float(importlib.import_module(f"metaoutcome._analyses.{n}").ORDER) for n in ORDER]
    assert orders == sorted(orders)


def test_module_header_refuses_what_only_an_import_can_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from metaoutcome.reproduce import _module_header

    (tmp_path / "mh_literal.py").write_text('ORDER = 7\nTITLE: str = "T"\ndef run(out):\n    pass\n')
    (tmp_path / "mh_computed.py").write_text('ORDER = 7\nTITLE = "T" + "U"\ndef run(out):\n    pass\n')
    (tmp_path / "mh_imported.py").write_text('from os.path import join as run\nTITLE = "T"\n')
    (tmp_path / "mh_norun.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _module_header("mh_literal") == (True, 7, "T")
    assert _module_header("mh_computed") is None
    assert _module_header("mh_imported") is None
    assert _module_header("mh_norun") == (False, 100, "mh_norun")
    assert not any(m.startswith("mh_") for m in sys.modules)  # read, never imported


def test_only_keeps_the_order_given_by_the_analyses(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_all(tmp_path, only=["nsclc_pdl1_and_safety", "networks"], progress=lambda s: None, jobs=1)
    assert list(res.status) == ["networks", "nsclc_pdl1_and_safety"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.index('<h2 id="networks">') < page.index('<h2 id="nsclc_pdl1_and_safety">')
    assert '<h2 id="design_benchmarks">' not in page


@pytest.mark.parametrize("path", [
    "report.html", "report.docx", "manifest.json",
    "nsclc_pd1_vs_docetaxel/tables/summary_of_findings.csv", "nsclc_pd1_vs_docetaxel/tables/not_pooled.csv",
    "hcc_after_first_line/tables/included_trials.csv",
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


def test_every_figure_fits_a_journal_page(outputs: Path) -> None:
    # the analyses silence the library's warnings, so a too-wide figure would pass unseen: 300 dpi, <= 183 mm
    from PIL import Image

    pngs = sorted(outputs.glob("*/figures/*.png"))
    assert pngs
    for png in pngs:
        with Image.open(png) as im:
            dpi, width = im.info["dpi"][0], im.size[0]
        assert_allclose(dpi, 300, atol=0.01)
        assert width / dpi * 25.4 <= 183.0 + 1e-6, f"{png.relative_to(outputs)}: {width / dpi * 25.4:.1f} mm wide"


def test_methods_and_results_paragraphs(outputs: Path) -> None:
    for name in ("nsclc_pd1_vs_docetaxel", "hcc_after_first_line"):
        text = (outputs / name / f"{name}.md").read_text()
        assert "## Methods" in text and "## Results" in text and f"metaoutcome {mo.__version__}" in text


def test_hcc_os_hr_equals_the_library(outputs: Path) -> None:
    # refit independently of the analysis script: the placebo-controlled phase 3 OS HRs
    hr = mo.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS", with_trials=True)
    hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mo.pool(effects.from_hazard_ratios(hr), measure="HR")
    table = pd.read_csv(outputs / "hcc_after_first_line" / "tables" / "pooled_results.csv").set_index("analysis")
    row = table.loc["OS HR vs placebo"]
    # one HR per trial: REACH-2's superseded seed-derived row must not be counted beside its label row
    assert len(hr) > hr["trial_id"].nunique()
    assert row["k"] == res.k == hr["trial_id"].nunique()
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


# -- the report a reader opens (report.html and report.docx of the same run) -----------------------

SNAKE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$")


class _Tables(HTMLParser):
    """Each <table> of a page as (header cells, body rows), and every figure caption."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self.captions: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._in: str | None = None
        self._cap: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag in ("thead", "tbody"):
            self._in = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "figcaption":
            self._cap = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self.tables:
            (self.tables[-1][0].extend(self._row) if self._in == "thead" else self.tables[-1][1].append(self._row))
        elif tag == "figcaption" and self._cap is not None:
            self.captions.append("".join(self._cap).strip())
            self._cap = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._cap is not None:
            self._cap.append(data)


@pytest.fixture(scope="module")
def report(outputs: Path) -> tuple[str, _Tables]:
    page = (outputs / "report.html").read_text(encoding="utf-8")
    parsed = _Tables()
    parsed.feed(page)
    return page, parsed


def test_report_has_no_raw_columns_no_empty_tables_no_debris(report: tuple[str, _Tables]) -> None:
    page, parsed = report
    assert len(parsed.tables) >= 10
    for header, rows in parsed.tables:
        assert header and not [h for h in header if SNAKE.match(h) or h.startswith("Unnamed")], header
        assert rows, f"an empty table: {header}"
        assert all(any(cell for cell in row) for row in rows), f"a blank row in {header}"
    text = re.sub(r"<[^>]+>", " ", page)
    for debris in ("stored copy", "tau^2", "I^2", "nan", "NaN", "None"):
        assert not re.search(rf"(?<![\w.]){re.escape(debris)}(?![\w])", text), debris
    assert not re.search(r"\d(?:\.\d+)?e-\d", text), "a number in scientific notation"
    assert not re.search(r"\bp = 0\.000\b", text)


#: headers made mechanically from snake_case names (``tau_q975`` -> "Tau q975", ``sei`` -> "Sei") and
#: quantile / analysis-scale words a journal does not print
_MECHANICAL = re.compile(r"\bq\d{2,3}\b|\b(?:Sei|Yi|Vi|Hr|Ess|Map|P0|P1|Tau|Tau2|I2|Pscore|Sucra|Se)\b"
                         r"|\b(?:low|high|mean|median)$|analysis scale|\blog HR\b|\blogit\b|\d \d")


def test_report_tables_read_like_a_journal(report: tuple[str, _Tables]) -> None:
    _, parsed = report
    for header, rows in parsed.tables:
        bad = [h for h in header if _MECHANICAL.search(h) or "_" in h]
        assert not bad, f"mechanical headers {bad} in {header}"
        # no missing-value markers or snake_case in any cell
        for row in rows:
            for cell in row:
                assert not re.search(r"<NA>|\bnan\b|\bNaN\b|\bNone\b|\bNaT\b", cell), (header, row)
                assert not re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", cell), (header, cell)
        # narrow enough for the page (72rem = 1152 px at 1400 px): the narrowest a table can get is the
        # sum over columns of its longest unbreakable word (a number cell does not wrap), at about 8 px a
        # character of the 0.84rem table font, plus the cell padding
        assert len(header) <= 9, header
        widths = []
        for j, h in enumerate(header):
            cells = [h] + [r[j] for r in rows if j < len(r)]
            words = [c if re.match(r"^[<>]?-?\d[\d,.]*%?$", c) else max(c.split() or [""], key=len) for c in cells]
            widths.append(8 * max(len(w) for w in words) + 15)
        assert sum(widths) <= 1152, (header, widths)
        # no log-scale estimate: a negative number in an effect column is an analysis-scale value
        for i, h in enumerate(header):
            if re.search(r"\b(HR|RR|OR)\b", h):
                assert not any(re.match(r"^-\d", r[i]) for r in rows if i < len(r)), (h, rows)


def test_report_paragraphs_have_no_internal_ids(report: tuple[str, _Tables]) -> None:
    page, _ = report
    for para in re.findall(r"<p>(.*?)</p>", page, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", para))
        assert not re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", text), text[:200]


def test_report_of_the_newer_analyses_has_journal_tables(report: tuple[str, _Tables]) -> None:
    page, parsed = report
    headers = [h for h, _ in parsed.tables]
    flat = {h for hs in headers for h in hs}
    for want in ("p0 (MAP prior mean), %", "ESS (ELIR)", "HR (95% CrI)", "P(HR < 0.8)", "RR (95% CI)",
                 "Ratio of HRs (95% CI)", "P-score", "SUCRA"):
        assert want in flat, want
    assert [h for h in headers if h[:1] == ["Source of variation"] and h[1] == "Q"], "the Q decomposition"
    from metaoutcome.network import RANKING_CAUTION

    assert html.escape(RANKING_CAUTION) in page
    league = [(h, rows) for h, rows in parsed.tables if "docetaxel" in h and "nivolumab" in h]
    assert league and all(re.match(r"^\d\.\d\d \(\d\.\d\d to \d\.\d\d\)$|^–$|^[a-z]", c)
                          for _, rows in league for r in rows for c in r)


def test_report_sections_in_order_with_contents(report: tuple[str, _Tables]) -> None:
    page, _ = report
    assert re.findall(r'<h2 id="([^"]+)">', page) == ORDER
    for name in ("nsclc_pd1_vs_docetaxel", "hcc_after_first_line"):
        start = page.index(f'<h2 id="{name}">')
        end = page.find("<h2 id=", start + 1)
        section = page[start:end if end > 0 else None]
        heads = re.findall(r"<h3 id=\"[^\"]+\">([^<]+)</h3>", section)
        assert heads == ["Summary of findings", "Included trials", "Results", "Not pooled, and why", "Methods",
                         "Data sources"]
        assert f'href="#{name}-summary-of-findings"' in page  # the table of contents links each section
    anchors = set(re.findall(r'href="#([^"]+)"', page))
    assert anchors <= set(re.findall(r' id="([^"]+)"', page))


def test_report_numbers_figures_and_tables_in_order(report: tuple[str, _Tables], outputs: Path) -> None:
    page, parsed = report
    figs = [int(m) for m in re.findall(r"<b>Figure (\d+)\.</b>", page)]
    tabs = [int(m) for m in re.findall(r"<b>Table (\d+)\.</b>", page)]
    # every figure the analyses drew, numbered once
    assert figs == list(range(1, len(figs) + 1)) and len(figs) == len(list(outputs.glob("*/figures/*.png")))
    assert tabs == list(range(1, len(tabs) + 1)) and len(tabs) == len(parsed.tables)


def test_report_sof_matches_the_pooled_result(report: tuple[str, _Tables], outputs: Path) -> None:
    _, parsed = report
    sof = [rows for header, rows in parsed.tables if "Relative effect (95% CI)" in header]
    assert len(sof) == 2
    table = pd.read_csv(outputs / "hcc_after_first_line" / "tables" / "pooled_results.csv").set_index("analysis")
    row = table.loc["OS HR vs placebo"]
    hcc_os = next(r for r in sof[0] if r[0].startswith("Overall survival"))
    assert f"HR {row['estimate_natural']:.2f} ({row['ci_low_natural']:.2f} to {row['ci_high_natural']:.2f})" in hcc_os


def test_report_methods_cite_every_listed_reference(report: tuple[str, _Tables]) -> None:
    from metaoutcome.report import REFERENCES

    page, _ = report
    for section in page.split('<h3 id="')[1:]:
        if not section.split('"')[0].endswith("-methods"):
            continue
        text, _, refs = section.partition("<h4>References</h4>")
        listed = re.findall(r"<li>(.*?)</li>", refs.split("</ol>")[0])
        labels = {full: label for label, full in REFERENCES.values()}
        for full in listed:
            assert labels[html.unescape(full)] in html.unescape(text), full


def test_docx_holds_the_same_tables_and_figures(report: tuple[str, _Tables], outputs: Path) -> None:
    import docx

    _, parsed = report
    doc = docx.Document(str(outputs / "report.docx"))
    headers = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert headers == [h for h, _ in parsed.tables]
    sof = [t for t in doc.tables if t.rows[0].cells[2].text == "Relative effect (95% CI)"]
    assert len(sof) == 2 and len(sof[0].rows) > 2
    results = [t for t in doc.tables if t.rows[0].cells[-1].text == "Weight, %"]
    assert results and all(len(t.rows) >= 3 for t in results)
    for (header, rows), t in zip(parsed.tables, doc.tables):
        assert [[c.text for c in r.cells] for r in t.rows[1:]] == rows
    assert len(doc.inline_shapes) == len(list(outputs.glob("*/figures/*.png")))


def test_figures_are_300_dpi(outputs: Path) -> None:
    from metaoutcome.report._model import Figure

    pngs = sorted(outputs.glob("*/figures/*.png"))
    assert len(pngs) >= 10  # the two review questions' 10 forest plots, plus networks and designs
    for png in pngs:
        assert round(Figure("", "", png).png_size()[2]) == 300, png.name
