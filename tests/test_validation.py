"""The validator on a corpus of malformed CSVs: each file asserts the exact problems reported.

The corpus (tests/data/corpus) holds a fictional trial and source so the expected messages do not
depend on the bundled data; references are resolved among the corpus files only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metaoutcome._checks import FLAG_RULE, LEVEL_RULE
from metaoutcome.validation import hr_asymmetry, validate_files

CORPUS = Path(__file__).parent / "data" / "corpus"
BASE = [CORPUS / "sources.csv", CORPUS / "trials.csv"]

# file -> the exact problem lines (file:row:column: message) the validator must print
EXPECTED: dict[str, list[str]] = {
    "good_proportions.csv": [],
    "wrong_types_proportions.csv": [
        "wrong_types_proportions.csv:2:events: 'nineteen' is not a whole number",
        "wrong_types_proportions.csv:3:n: '67.5' is not a whole number",
        "wrong_types_proportions.csv:4:percent: '28.4%' is not a number (write percentages without '%')",
    ],
    "missing_column_proportions.csv": [
        "missing_column_proportions.csv:1:outcome: missing required column 'outcome' (ORR, DCR, CR, PR; "
        "TRAE_G3PLUS = grade >=3 treatment-related AEs; TRAE_G34 = grade 3-4 only.)",
    ],
    "events_exceed_n_proportions.csv": [
        "events_exceed_n_proportions.csv:2:events: events (70) exceed n (67)",
    ],
    "inconsistent_percent_proportions.csv": [
        "inconsistent_percent_proportions.csv:2:percent: percent 30.0 does not match events/n = 19/67 = 28.358% "
        "at the printed precision (±0.05)",
    ],
    "unknown_trial_proportions.csv": [
        "unknown_trial_proportions.csv:2:trial_id: unknown trial 'unknown_trial' (add it to trials.csv)",
    ],
    "duplicate_rows_proportions.csv": [
        "duplicate_rows_proportions.csv:3:-: duplicate of row 2",
        "duplicate_rows_proportions.csv:5:row_id: key 'r2' is already used in row 4",
    ],
    "unknown_outcome_proportions.csv": [
        "unknown_outcome_proportions.csv:2:outcome: 'BOR' is not allowed; allowed: 'ORR', 'DCR', 'CR', 'PR', "
        "'TRAE_G3PLUS', 'TRAE_G34'",
        "unknown_outcome_proportions.csv:3:derivation: status is 'derived' but the derivation is not given "
        "(say how, e.g. 'events = round(28.4% x 67)')",
    ],
    "swapped_ci_medians.csv": [
        "swapped_ci_medians.csv:2:ci_low: CI bounds are reversed: ci_low 8.3 > ci_high 5.5",
        "swapped_ci_medians.csv:4:ci_high: ci_high is given but ci_high_nr says the upper bound was not reached; keep one",
        "swapped_ci_medians.csv:5:ci_level: a CI is given without its level (e.g. 95)",
        "swapped_ci_medians.csv:5:ci_low: the CI (13.0 to 16.0) does not contain median 12.0",
    ],
    "bad_values_hazard_ratios.csv": [
        "bad_values_hazard_ratios.csv:3:ci_low: the CI (0.59 to 0.89) does not contain hr 0.50",
        "bad_values_hazard_ratios.csv:4:hr: warning: HR 0.60 is far from the midpoint of its CI on the log scale "
        "(84% of the half-width beyond rounding); check the figures (the SE from this CI may not match the HR)",
        "bad_values_hazard_ratios.csv:5:p_value: p_value='about 0.01' is not a p-value that can be read; expected "
        "forms like '0.0199', '<0.001', 'P<0.0001', 'p = 0.005', '1.2e-5', or a missing marker ('', 'NS', 'NR')",
        "bad_values_hazard_ratios.csv:6:hr: -0.7 is out of range; must be a number > 0 (ratio)",
        "bad_values_hazard_ratios.csv:7:ci_level: 100 is not a confidence level: " + LEVEL_RULE,
        "bad_values_hazard_ratios.csv:7:p_value: p_value='1.5' must be in (0, 1]; got 1.5",
    ],
    "empty_proportions.csv": [
        "empty_proportions.csv:-:-: the file is empty (expected a header row and data rows)",
    ],
    "non_utf8_proportions.csv": [
        "non_utf8_proportions.csv:2:-: not valid UTF-8: byte 0xe9 at offset 280; save the file as UTF-8",
    ],
    # the one CSV reader's traps (metaoutcome.csvfile): each is reported where it starts
    "unterminated_quote_proportions.csv": [
        "unterminated_quote_proportions.csv:4:-: a quote opened on this line is never closed, so the 3 lines after "
        "it (to line 7, the end of the file) would be read into one cell; close the quote",
    ],
    "multiline_cell_proportions.csv": [
        "multiline_cell_proportions.csv:2:derivation: a quote opened in this cell (line 2) is closed only on line 4, "
        "so lines 3 to 4 are read into this cell; close the quote, or remove the line break inside the cell (each "
        "row of a table must be one line)",
    ],
    "bom_crlf_proportions.csv": [
        "bom_crlf_proportions.csv:1:-: warning: 1 empty column(s) at the end of the header, with no values (a "
        "trailing comma on each line?), ignored",
    ],
    "ragged_proportions.csv": [
        "ragged_proportions.csv:3:-: warning: blank row (ignored)",
        "ragged_proportions.csv:4:-: warning: 2 empty field(s) after the last column, ignored",
        "ragged_proportions.csv:5:-: the row has 18 fields but the header has 21",
        "ragged_proportions.csv:6:-: the row has 22 fields but the header has 21",
        "ragged_proportions.csv:7:-: warning: blank row (ignored)",
    ],
    "duplicate_header_proportions.csv": [
        "duplicate_header_proportions.csv:1:column 13: the header cell is empty; every column needs a name",
        "duplicate_header_proportions.csv:1:events: the column appears more than once in the header",
        "duplicate_header_proportions.csv:2:events: '28.4' is not a whole number",
    ],
    # the level rule in a ci_level column: 0.95 is read as 95% and said so; (0, 0.5] and >= 100 refused
    "proportion_level_hazard_ratios.csv": [
        "proportion_level_hazard_ratios.csv:2:ci_level: warning: ci_level 0.95 read as 95% (a proportion; the level rule)",
        "proportion_level_hazard_ratios.csv:4:ci_level: 0.3 is not a confidence level: " + LEVEL_RULE,
        "proportion_level_hazard_ratios.csv:5:ci_level: 100 is not a confidence level: " + LEVEL_RULE,
        "proportion_level_hazard_ratios.csv:7:ci_level: 'x95' is not a number",
    ],
    # text booleans: true/false, yes/no, 1/0, NR/NE in any case; anything else refused
    "text_booleans_medians.csv": [
        "text_booleans_medians.csv:7:ci_high_nr: 'maybe' is not true or false: " + FLAG_RULE,
    ],
    "mystery.csv": [
        "mystery.csv:1:-: cannot tell which table this file is; name it after one (sources.csv, trials.csv, "
        "proportions.csv, medians.csv, hazard_ratios.csv) or pass --table",
    ],
}


def _lines(name: str) -> list[str]:
    report = validate_files([*BASE, CORPUS / name], against_bundled=False)
    prefix = str(CORPUS) + "/"
    return [str(p).replace(prefix, "") for p in report.problems]


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.removesuffix(".csv"))
def test_corpus_file_reports_exactly_its_problems(name: str) -> None:
    assert _lines(name) == EXPECTED[name]


def test_corpus_is_complete() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.csv")} - {"sources.csv", "trials.csv"}
    assert on_disk == set(EXPECTED)


def test_errors_make_report_not_ok_and_warnings_do_not() -> None:
    assert not validate_files([*BASE, CORPUS / "events_exceed_n_proportions.csv"], against_bundled=False).ok
    warn_only = validate_files([*BASE, CORPUS / "good_proportions.csv"], against_bundled=False)
    assert warn_only.ok and not warn_only.problems


def test_every_problem_is_reported_not_only_the_first() -> None:
    report = validate_files([*BASE, CORPUS / "bad_values_hazard_ratios.csv"], against_bundled=False)
    assert len(report.errors) == 5 and len(report.warnings) == 1


def test_counts_without_denominator_and_rows_without_numbers(tmp_path: Path) -> None:
    header = (CORPUS / "good_proportions.csv").read_text().splitlines()[0]
    src = "example2020_journal,,Abstract,reported,"
    arm = "example_trial,drug_a,drug A,PD-(L)1 monotherapy,ITT"
    f = tmp_path / "proportions.csv"
    f.write_text(
        f"{header}\nr1,{arm},ORR,19,,,,,,RECIST 1.1,investigator,19 responders,{src}\n"
        f"r2,{arm},ORR,,,,,,,not stated,not stated,<1%,{src}\n"
    )
    lines = [str(p).replace(str(tmp_path) + "/", "") for p in validate_files([*BASE, f], against_bundled=False).problems]
    assert lines == [
        "proportions.csv:2:n: warning: events are given without n (the denominator); the row cannot be analysed",
        "proportions.csv:3:percent: warning: no events and no percent: only the printed text '<1%' (cannot be analysed)",
    ]


def test_table_can_be_forced() -> None:
    report = validate_files([CORPUS / "mystery.csv"], table="trials", against_bundled=False)
    assert "missing required column 'trial_id'" in str(report)


def test_unknown_table_argument() -> None:
    with pytest.raises(ValueError, match=r"table='props' is not one of the allowed values: 'sources', 'trials'"):
        validate_files([CORPUS / "good_proportions.csv"], table="props")


def test_bundled_data_is_valid() -> None:
    report = validate_files()
    assert report.ok, str(report)
    assert {t for _, t, _ in report.checked} == {"sources", "trials", "proportions", "medians", "hazard_ratios"}


def test_hr_asymmetry_symmetric_and_rounding() -> None:
    # exactly symmetric on the log scale: exp(+-0.2) around 1
    import math

    assert hr_asymmetry(1.0, math.exp(-0.2), math.exp(0.2)) == pytest.approx(0.0, abs=1e-12)
    # HR at the lower bound is a full half-width away from the midpoint
    assert hr_asymmetry(0.5, 0.5, 2.0) == pytest.approx(1.0)
    # rounding of the printed figures can only reduce the distance
    assert hr_asymmetry(0.6, 0.59, 0.89, rounding=(0.005, 0.005, 0.005)) < hr_asymmetry(0.6, 0.59, 0.89)


def test_unterminated_quote_loses_no_rows_silently() -> None:
    # issue 13: a 6-row file whose row 3 ends in '"see text' validated as 0 errors and 2 rows
    report = validate_files([*BASE, CORPUS / "unterminated_quote_proportions.csv"], against_bundled=False)
    assert not report.ok
    assert [(Path(p.path).name, p.row) for p in report.errors] == [("unterminated_quote_proportions.csv", 4)]


def test_text_booleans_are_read_by_value() -> None:
    from metaoutcome.csvfile import read_csv_file
    from metaoutcome._schema import package_tables

    f = read_csv_file(CORPUS / "text_booleans_medians.csv")
    field = package_tables()["medians"].field("ci_high_nr")
    got = [field.parse(r["ci_high_nr"])[0] for r in f.records()]
    assert got == [True, True, False, False, False, None, True]


def test_columns_map_validates_the_file_as_pooled(tmp_path: Path) -> None:
    from metaoutcome._schema import package_tables

    f = tmp_path / "mine.csv"
    f.write_text("Study,HR,Lower,Upper,Level\nA,0.8,0.7,0.9,0.95\nB,0.5,0.9,1.1,95\nC,0.7,0.6,0.8,0.2\n")
    cols = {"HR": "hr", "Lower": "ci_low", "Upper": "ci_high", "Level": "ci_level"}
    lines = [str(p).replace(str(tmp_path) + "/", "") for p in validate_files([f], table="hazard_ratios", columns=cols).problems]
    assert lines[0] == "mine.csv:1:Study: warning: unknown column for table 'hazard_ratios' (ignored)"
    assert "mine.csv:2:Level: warning: ci_level 0.95 read as 95% (a proportion; the level rule)" in lines
    assert "mine.csv:3:Lower: the CI (0.9 to 1.1) does not contain hr 0.5" in lines
    assert "mine.csv:4:Level: 0.2 is not a confidence level: " + LEVEL_RULE in lines
    typo = validate_files([f], table="hazard_ratios", columns={"HR": "hazard_ratio"})
    assert [str(p).replace(str(tmp_path) + "/", "") for p in typo.errors if p.column == "HR"] == [
        "mine.csv:1:HR: is mapped to 'hazard_ratio', which is not a column of table 'hazard_ratios'; its columns: "
        + ", ".join(package_tables()["hazard_ratios"].field_names)]
    with pytest.raises(ValueError, match=r"columns: no file has the column\(s\) 'Hazard'"):
        validate_files([f], table="hazard_ratios", columns={"Hazard": "hr"})
    with pytest.raises(ValueError, match=r"columns Lower=hr: .* already has a column 'hr'|two columns are mapped"):
        validate_files([f], table="hazard_ratios", columns={"HR": "hr", "Lower": "hr"})


def test_boolean_columns_use_the_one_flag_vocabulary() -> None:
    # the CSV schema and the library's flag parser (_checks.flag_array) read the same words
    from metaoutcome._checks import FLAG_FALSE, FLAG_TRUE, flag_array
    from metaoutcome._schema import package_tables

    fields = [f for t in package_tables().values() for f in t.fields if f.type == "boolean"]
    assert fields
    for f in fields:
        assert (f.true_values, f.false_values) == (FLAG_TRUE, FLAG_FALSE), f.name
        words = [w.upper() for w in FLAG_TRUE + FLAG_FALSE]
        assert [f.parse(w)[0] for w in words] == flag_array(f.name, words).tolist()
