"""The report's pieces: summary-of-findings rules, reader's tables, the Word renderer, fast PDF fonts."""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome.report import (FlowRow, REFERENCES, SofRules, cite, not_pooled_table, plain_reason, pooled_table,
                                rate_imprecision, rate_inconsistency, reference_list, sof_display, sof_row,
                                study_table)
from metaoutcome.report._model import Figure, Heading, Paragraph, Table
from metaoutcome.report.docx import normalise_zip, render_docx
from metaoutcome.report.html import render_html

# three log hazard ratios and their variances (values of the NSCLC OS analysis, rounded)
YI, VI = [-0.53, -0.31, -0.39, -0.11], [0.022, 0.010, 0.015, 0.0046]


# -- the documented rules, case by case (each expected value read off the rule text) -----------------

@pytest.mark.parametrize(("i2", "k", "null", "pi", "expected"), [
    (0.0, 1, 1.0, None, "not applicable"),           # one trial
    (49.9, 5, 1.0, (0.5, 1.5), "not serious"),       # I2 below 50
    (50.0, 5, 1.0, (0.5, 0.95), "not serious"),      # PI on one side of the null
    (50.0, 5, 1.0, (0.5, 1.05), "serious"),          # PI crosses the null, I2 50-75
    (75.0, 5, 1.0, (0.5, 1.05), "very serious"),     # PI crosses the null, I2 >= 75
    (60.0, 5, None, None, "serious"),                # single-group measure: I2 only
    (80.0, 5, None, None, "very serious"),
    (10.0, 5, None, None, "not serious"),
], ids=["one-trial", "i2-49.9", "pi-one-side", "pi-crosses", "i2-75", "rate-60", "rate-80", "rate-10"])
def test_inconsistency_rule(i2: float, k: int, null: float | None, pi: tuple[float, float] | None,
                            expected: str) -> None:
    assert rate_inconsistency(i2, k, null, pi) == expected


@pytest.mark.parametrize(("kind", "ci", "patients", "expected"), [
    ("ratio", (0.65, 0.81), 3000, "not serious"),
    ("ratio", (0.65, 0.81), 399, "serious"),          # below the optimal-information-size rule of thumb
    ("ratio", (0.65, 0.81), None, "not serious"),     # patients unknown: the OIS check is skipped
    ("ratio", (0.80, 1.02), 3000, "serious"),         # includes no effect
    ("ratio", (0.70, 1.30), 3000, "very serious"),    # appreciable benefit and harm
    ("proportion", (10.0, 29.9), None, "not serious"),
    ("proportion", (10.0, 30.1), None, "serious"),
    ("proportion", (10.0, 50.1), None, "very serious"),
    ("median", (4.0, 6.0), None, "not serious"),      # ratio 1.5 exactly
    ("median", (4.0, 6.4), None, "serious"),
    ("median", (3.0, 6.1), None, "very serious"),
], ids=lambda v: str(v))
def test_imprecision_rule(kind: str, ci: tuple[float, float], patients: int | None, expected: str) -> None:
    assert rate_imprecision(kind, ci, 1.0 if kind == "ratio" else None, patients) == expected  # type: ignore[arg-type]


def test_rules_take_other_thresholds() -> None:
    strict = SofRules(i2_serious=25.0, ois_patients=5000)
    assert rate_inconsistency(30.0, 4, None, rules=strict) == "serious"
    assert rate_imprecision("ratio", (0.6, 0.8), 1.0, 3000, rules=strict) == "serious"


def test_sof_row_absolute_effects_follow_from_the_pooled_numbers() -> None:
    res = mo.pool(YI, VI, measure="HR")
    row = sof_row("Overall survival", res, patients=2000, control_median=9.4, control_label="docetaxel")
    hr = math.exp(res.estimate)
    assert_allclose(row.estimate, hr, rtol=1e-12)
    # implied experimental median = control median / HR; its interval from the HR's CI, bounds swapped
    assert_allclose(row.extra["implied_median"], 9.4 / hr, rtol=1e-12)
    assert_allclose(row.extra["implied_median_ci_low"], 9.4 / math.exp(res.ci_high), rtol=1e-12)
    assert_allclose(row.extra["implied_median_ci_high"], 9.4 / math.exp(res.ci_low), rtol=1e-12)
    assert f"{9.4 / hr:.1f}" in row.absolute

    events, n = np.array([12.0, 20.0, 9.0]), np.array([80.0, 100.0, 70.0])
    rate = mo.pool(np.log(events / (n - events)), 1 / events + 1 / (n - events), measure="PLO")
    r = sof_row("Objective response", rate, patients=int(n.sum()))
    p = 1 / (1 + math.exp(-rate.estimate))
    assert_allclose(r.extra["per_1000"], 1000 * p, rtol=1e-12)
    assert r.absolute.startswith(f"{1000 * p:.0f} per 1,000")
    assert r.kind == "proportion" and r.inconsistency == rate_inconsistency(rate.i2, 3, None)


def test_certainty_is_rated_only_when_every_domain_is() -> None:
    res = mo.pool(YI, VI, measure="HR")
    assert sof_row("OS", res, patients=3000).certainty == "not rated"
    row = sof_row("OS", res, patients=3000, risk_of_bias="serious", indirectness="not serious",
                  publication_bias="not serious")
    # randomised evidence starts high; the computed domains of these data and one serious domain
    downgrades = sum({"serious": 1, "very serious": 2}.get(v, 0) for v in (row.inconsistency, row.imprecision))
    assert row.certainty == ["high", "moderate", "low", "very low"][min(1 + downgrades, 3)]
    with pytest.raises(ValueError, match="risk_of_bias='low'; allowed"):
        sof_row("OS", res, risk_of_bias="low")


def test_sof_display_has_reader_headers_and_no_empty_cells() -> None:
    res = mo.pool(YI, VI, measure="HR")
    disp = sof_display([sof_row("Overall survival", res, patients=None, patients_note="at least 900")])
    assert "Relative effect (95% CI)" in disp.columns and "Certainty" in disp.columns
    assert (disp.astype(str) != "").all().all()
    assert disp.loc[0, "Trials (patients)"] == "4 (at least 900)"


# -- reader's tables -------------------------------------------------------------------------------


def test_study_table_is_the_natural_scale_of_the_result() -> None:
    res = mo.pool(YI, VI, measure="HR", labels=["A", "B", "C", "D"])
    t = study_table(res)
    assert list(t.columns) == ["Trial", "HR (95% CI)", "Weight, %"]
    assert t["Trial"].tolist()[:4] == ["A", "B", "C", "D"]
    lo, hi = math.exp(YI[0] - 1.959963984540054 * math.sqrt(VI[0])), math.exp(YI[0] + 1.959963984540054 * math.sqrt(VI[0]))
    assert t.iloc[0, 1] == f"{math.exp(YI[0]):.2f} ({lo:.2f} to {hi:.2f})"
    w = 1 / (np.array(VI) + res.tau2)
    assert t["Weight, %"].tolist()[:4] == [f"{x:.1f}" for x in 100 * w / w.sum()]


def test_pooled_table_prints_p_as_journals_do() -> None:
    res = mo.pool(YI, VI, measure="HR")
    t = pooled_table({"OS": res})
    assert t.loc[0, "p"] == "<0.001" and res.pvalue < 0.001
    assert "τ²" in t.columns and not any("_" in c for c in t.columns)


@pytest.mark.parametrize("reason", [
    "superseded by row keynote_240_pfs_hr (an overlapping analysis of the same patients)",
    "subset of the patients in row oak_os_hr_itt",
    "n missing; events missing (the percent gives events only with n)",
    "no CI bound and no events to give the SE",
    "no CI (both bounds) and no usable p-value to give the SE",
    "no CI bound and no events to give the SE; superseded by row checkmate_040_x_os (an overlapping analysis of the "
    "same patients)",
])
def test_plain_reasons_carry_no_row_ids(reason: str) -> None:
    plain = plain_reason(reason)
    assert plain and not re.search(r"[a-z0-9]+_[a-z0-9_]+", plain), plain


def test_not_pooled_table_counts_and_groups_reasons() -> None:
    flows = [FlowRow("OS", 5, 4, 3, (("A", "no CI bound and no events to give the SE"),
                                      ("B", "no CI bound and no events to give the SE"),
                                      ("C", "subset of the patients in row c_itt"))),
             FlowRow("PFS", 2, 2, 2)]
    t = not_pooled_table(flows)
    assert t[["Rows available", "Converted", "Pooled"]].to_numpy().tolist() == [["5", "4", "3"], ["2", "2", "2"]]
    assert t.loc[0, "Not pooled, and why"].startswith("A, B: no confidence interval printed")
    assert t.loc[1, "Not pooled, and why"] == "all rows pooled"


def test_references_resolve() -> None:
    assert cite("reml", "knha") == "(Viechtbauer 2005; Hartung and Knapp 2001)"
    assert reference_list(["reml", "dl", "reml"]) == [REFERENCES["dl"][1], REFERENCES["reml"][1]]
    with pytest.raises(ValueError, match="unknown reference keys"):
        cite("nope")


# -- renderers -------------------------------------------------------------------------------------


def _png(tmp_path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    path = tmp_path / "f.png"
    fig.savefig(path, dpi=100)
    return path


def test_docx_holds_real_tables_and_same_bytes_twice(tmp_path: Path) -> None:
    import docx

    frame = pd.DataFrame({"Trial": ["A", "B"], "HR (95% CI)": ["0.70 (0.60 to 0.80)", "0.80 (0.70 to 0.90)"]})
    blocks = [Heading("Title", 1), Paragraph("Some text.", "Results."), Table("Table 1", "Caption", frame),
              Figure("Figure 1", "A figure", _png(tmp_path))]
    first = render_docx(blocks, title="t")
    assert first == render_docx(blocks, title="t")
    doc = docx.Document(io.BytesIO(first))
    (table,) = doc.tables
    assert [c.text for c in table.rows[0].cells] == ["Trial", "HR (95% CI)"]
    assert [c.text for c in table.rows[2].cells] == ["B", "0.80 (0.70 to 0.90)"]
    assert len(doc.inline_shapes) == 1
    assert doc.core_properties.created.year == 1980
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(first)).infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_normalise_zip_keeps_members_and_fixes_dates() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("b.xml", "<b/>")
        z.writestr("a.xml", "<a/>")
    out = zipfile.ZipFile(io.BytesIO(normalise_zip(buf.getvalue())))
    assert out.namelist() == ["b.xml", "a.xml"] and out.read("a.xml") == b"<a/>"


def test_html_escapes_and_numbers_right_aligned(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Trial": ["<A>"], "n": ["1,234"]})
    page = render_html([Table("Table 1", "Cap & more", frame)], title="t")
    assert "&lt;A&gt;" in page and "Cap &amp; more" in page
    assert '<td class=num>1,234</td>' in page


# -- PDF fonts: the lean subsetting embeds the same glyphs -------------------------------------------


def _embedded_fonts(pdf: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"/Length1 (\d+) /Length (\d+) /Filter /FlateDecode >>\nstream\n", pdf):
        out.append(zlib.decompress(pdf[m.end():m.end() + int(m.group(2))]))
    return out


def test_lean_font_subsetting_embeds_the_same_glyphs(tmp_path: Path) -> None:
    from fontTools import ttLib

    from metaoutcome.plotting import forest, savefig
    from metaoutcome.report._figures import lean_font_subsetting

    res = mo.pool(YI, VI, measure="HR", labels=["CheckMate 017", "B", "C", "D"])
    fig = forest(res)
    savefig(fig, tmp_path / "plain.pdf")
    with lean_font_subsetting():
        savefig(fig, tmp_path / "lean.pdf")
    plain, lean = (_embedded_fonts((tmp_path / f"{n}.pdf").read_bytes()) for n in ("plain", "lean"))
    assert len(plain) == len(lean) >= 1
    for a, b in zip(plain, lean):
        fa, fb = ttLib.TTFont(io.BytesIO(a)), ttLib.TTFont(io.BytesIO(b))
        assert "GSUB" not in fb and "GPOS" not in fb
        # matplotlib's own subset also keeps the glyphs GSUB could substitute (e.g. parenthesis
        # pieces), which a PDF never draws; every glyph of the lean subset is the same glyph
        lean_names, plain_names = fb.getGlyphOrder(), set(fa.getGlyphOrder())
        assert set(lean_names) <= plain_names and len(lean_names) > 1
        for name in lean_names:
            assert fb["glyf"][name].compile(fb["glyf"]) == fa["glyf"][name].compile(fa["glyf"]), name
            assert fb["hmtx"][name] == fa["hmtx"][name], name
        assert fb.getBestCmap() == {c: g for c, g in fa.getBestCmap().items() if g in set(lean_names)}


def test_a_glyph_outside_the_repertoire_is_still_embedded(tmp_path: Path) -> None:
    # U+0298 (IPA bilabial click) is in DejaVu Sans but outside the characters figures print:
    # its subset comes from the whole font; the Latin text beside it from the cut-down copy
    import matplotlib

    matplotlib.use("Agg", force=False)
    from fontTools import ttLib
    from matplotlib.figure import Figure as MplFigure

    from metaoutcome.report import _figures

    fig = MplFigure(figsize=(2, 1))
    fig.text(0.1, 0.5, "Trial \u0298 A")
    fig.text(0.1, 0.2, "Plain", fontweight="bold")
    _figures.save_pdf_png(fig, tmp_path, "f", dpi=72)
    cmaps = [ttLib.TTFont(io.BytesIO(f)).getBestCmap() for f in _embedded_fonts((tmp_path / "f.pdf").read_bytes())]
    assert 0x298 not in _figures._REPERTOIRE
    assert any(0x298 in c for c in cmaps)  # (matplotlib puts characters above U+00FF in their own subset)
    assert any(ord("T") in c for c in cmaps) and any(ord("P") in c for c in cmaps)
