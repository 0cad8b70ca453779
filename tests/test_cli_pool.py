"""``metaoutcome pool``: each option, numbers equal to the library's, the forest file, each error path.

The expected numbers are computed here with the library itself (``effects.from_*``, ``pool``,
``subgroup_analysis``) on the same rows, never typed in. Inputs: ``tests/data/cli`` (real rows
copied from the bundled tables, and files named ``synthetic_*``); broken files are written into
``tmp_path`` by the tests that need them.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from numpy.testing import assert_allclose

import metaoutcome as mo
from metaoutcome import datasets, effects
from metaoutcome._checks import LEVEL_RULE
from metaoutcome.cli import CLIError, main
from metaoutcome.subgroups import subgroup_analysis

DATA = Path(__file__).parent / "data" / "cli"
HR = str(DATA / "nsclc_hazard_ratios.csv")
PROP = str(DATA / "hcc_proportions.csv")
MED = str(DATA / "hcc_medians.csv")
MINIMAL = str(DATA / "minimal_os_hrs.csv")
SYNTH_ES = str(DATA / "synthetic_effects.csv")
SYNTH_HR = str(DATA / "synthetic_hazard_ratios.csv")
SYNTH_TRIALS = str(DATA / "synthetic_trials.csv")
SYNTH_BAD = str(DATA / "synthetic_events_exceed_n_proportions.csv")
BUNDLED = Path(__file__).parents[1] / "datasets"

#: the CLI prints the library's numbers and its CSV carries them at full precision (the repr of
#: each float), so they agree to the last bits; the tolerance only absorbs the CSV round trip
RTOL, ATOL = 1e-12, 1e-15
MINIMAL_MAP = ["--table", "hazard_ratios", "--map", "HR=hr", "--map", "Lower=ci_low", "--map", "Upper=ci_high",
               "--map", "Level=ci_level"]

Capsys = pytest.CaptureFixture[str]


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["pool", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def csv_out(capsys: Capsys, *argv: str) -> pd.DataFrame:
    code, out, err = run(capsys, *argv, "--format", "csv")
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def converted(path: str, convert: Any, column: str | None = None, value: str | None = None) -> pd.DataFrame:
    """The library's effect sizes for a fixture file, as a script would compute them, indexed like
    the CLI by each row's line in the file (header = line 1)."""
    frame = pd.read_csv(path)
    frame["_file_row"] = frame.index + 2
    if column is not None:
        frame = frame[frame[column] == value]
    es = quiet(convert, datasets.join_trials(frame.reset_index(drop=True)))
    es.index = pd.Index(es.pop("_file_row").astype(int), name="file_row")
    return es


def hr_effects(endpoint: str = "OS") -> pd.DataFrame:
    return converted(HR, lambda f: effects.combine_shared_control(effects.from_hazard_ratios(f)), "endpoint", endpoint)


def prop_effects(outcome: str, measure: str = "PLO") -> pd.DataFrame:
    return converted(PROP, lambda f: effects.from_proportions(f, measure=measure), "outcome", outcome)


def assert_same_summary(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The CLI's CSV equals ``PoolResult.summary()``: same rows, labels and numbers."""
    assert list(got.columns) == list(expected.columns)
    assert list(got["row_type"]) == list(expected["row_type"])
    assert list(got["label"]) == list(expected["label"])
    numeric = [c for c in expected.columns if c not in ("row_type", "label", "exclusion_reason")]
    assert_allclose(got[numeric].to_numpy(dtype=float), expected[numeric].to_numpy(dtype=float), rtol=RTOL, atol=ATOL)
    assert ["" if pd.isna(v) else v for v in got["exclusion_reason"]] == list(expected["exclusion_reason"])


def assert_one_error(capsys: Capsys, argv: list[str], *fragments: str) -> str:
    """Exit status 2 and exactly one stderr line naming the problem."""
    code, out, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("metaoutcome pool: error: "), lines[0]
    for f in fragments:
        assert f in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    return lines[0]


# ------------------------------------------------------------------------------------------------
# the numbers are the library's
# ------------------------------------------------------------------------------------------------


def test_text_is_the_library_printout(capsys: Capsys) -> None:
    es = hr_effects("OS")
    expected = quiet(mo.pool, es, measure="HR", labels=list(es["short_name"]))
    code, out, err = run(capsys, HR, "--outcome", "OS")
    assert code == 0, err
    assert str(expected) in out
    assert out.startswith(f"Data: {HR} (hazard_ratios table), 12 of 17 rows where endpoint = OS; measure HR")
    # nothing dropped silently: the excluded rows with their reasons, the combined comparisons
    assert "Excluded rows (2):" in out and "superseded by row rationale_303_os_hr_itt_final" in out
    assert "no CI (both bounds) and no usable p-value" in out
    assert "Input notes:\n  - note: " in out
    assert "keynote_010_pembro2_os_hr; keynote_010_pembro10_os_hr share a control arm" in out


@pytest.mark.parametrize(
    "options, kwargs",
    [
        ([], {}),
        (["--method", "DL"], dict(method="DL")),
        (["--method", "fe"], dict(method="FE")),
        (["--method", "PM", "--ci-method", "knha"], dict(method="PM", ci_method="knha")),
        (["--ci-method", "t", "--level", "90"], dict(ci_method="t", level=90)),
        (["--ci-method", "adhoc", "--pi-method", "hts"], dict(ci_method="adhoc", pi_method="hts")),
        (["--ci-method", "hksj"], dict(ci_method="hksj")),
        (["--test", "knha"], dict(test="knha")),
        (["--test", "HAKN", "--ci-method", "knha"], dict(ci_method="hakn")),
    ],
    ids=["default", "DL", "FE-lowercase", "PM-knha", "t-level90", "adhoc-hts", "hksj-alias", "metafor-test",
         "test-and-ci-method-agree"],
)
def test_model_options_equal_library(capsys: Capsys, options: list[str], kwargs: dict[str, Any]) -> None:
    es = hr_effects("OS")
    expected = quiet(mo.pool, es, measure="HR", labels=list(es["short_name"]), **kwargs)
    got = csv_out(capsys, HR, "--outcome", "OS", *options)
    assert_same_summary(got, expected.summary())


def test_outcome_is_case_insensitive_and_selects_rows(capsys: Capsys) -> None:
    es = hr_effects("PFS")
    expected = quiet(mo.pool, es, measure="HR", labels=list(es["short_name"]))
    assert_same_summary(csv_out(capsys, HR, "--outcome", "pfs"), expected.summary())


def test_where_selects_rows(capsys: Capsys) -> None:
    es = hr_effects("OS")
    es = es[es["experimental_class"] == "PD-(L)1 monotherapy"]
    expected = quiet(mo.pool, es, measure="HR", labels=list(es["short_name"]))
    got = csv_out(capsys, HR, "--outcome", "OS", "--where", "experimental_class=PD-(L)1 monotherapy",
                  "--where", "cancer=NSCLC")  # a trial column, joined from the bundled trials
    assert_same_summary(got, expected.summary())


@pytest.mark.parametrize("measure", ["PLO", "PR", "PFT"])
def test_proportions_measure_equals_library(capsys: Capsys, measure: str) -> None:
    es = prop_effects("ORR", measure)
    pooled = es["yi"].notna()
    repeated = es["short_name"].where(pooled).duplicated(keep=False) & pooled
    # the CLI adds the arm where a trial repeats among the pooled rows
    labels = [f"{n} ({a.replace('_', ' ')})" if r else n for n, a, r in zip(es["short_name"], es["arm"], repeated)]
    expected = quiet(mo.pool, es, measure=measure, labels=labels)
    got = csv_out(capsys, PROP, "--outcome", "ORR", "--measure", measure.lower())
    assert_same_summary(got, expected.summary())
    assert "CheckMate 040 (nivolumab + ipilimumab cohort) (arm a)" in list(got["label"])
    assert got.loc[got["row_type"] == "excluded", "label"].tolist() == ["REACH-2"]


def test_subgroup_equals_library(capsys: Capsys) -> None:
    es = hr_effects("OS").assign(label=lambda d: d["short_name"])
    expected = quiet(subgroup_analysis, es, by="experimental_class", labels="label", measure="HR", ci_method="knha")
    got = csv_out(capsys, HR, "--outcome", "OS", "--subgroup", "experimental_class", "--ci-method", "knha")
    table = expected.table()
    assert list(got["subgroup"]) == list(table["subgroup"])
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    assert_allclose(got[numeric].to_numpy(dtype=float), table[numeric].to_numpy(dtype=float), rtol=RTOL, atol=ATOL)
    overall = got.iloc[-1]
    assert_allclose([overall["q_between"], overall["q_between_df"], overall["q_between_pvalue"]],
                    [expected.q_between, expected.q_between_df, expected.q_between_pvalue], rtol=RTOL, atol=ATOL)
    assert got["q_between"].iloc[:-1].isna().all()


def test_subgroup_text_prints_table_test_and_not_pooled(capsys: Capsys) -> None:
    es = hr_effects("OS").assign(label=lambda d: d["short_name"])
    expected = quiet(subgroup_analysis, es, by="experimental_class", labels="label", measure="HR")
    code, out, err = run(capsys, HR, "--outcome", "OS", "--subgroup", "experimental_class")
    assert code == 0, err
    assert str(expected.overall) in out and str(expected) in out
    assert "Test for subgroup differences" in out and "Not pooled: RATIONALE-303" in out


def test_subgroup_csv_reports_rows_not_pooled_on_stderr(capsys: Capsys) -> None:
    code, out, err = run(capsys, SYNTH_ES, "--yi", "logHR", "--sei", "se", "--subgroup", "group", "--format", "csv")
    assert code == 0
    assert "not pooled: Synthetic 5 (no value in 'se')" in err


def test_medians_markdown_is_the_library_markdown(capsys: Capsys) -> None:
    es = converted(MED, effects.from_medians)
    expected = quiet(mo.pool, es, measure="MED", labels=list(es["short_name"]))
    code, out, err = run(capsys, MED, "--format", "markdown")
    assert code == 0, err
    assert expected.to_markdown() in out
    assert "*Excluded rows (1)*\n\n- row 6 (RATIONALE-208): no CI bound and no events to give the SE" in out


def test_markdown_with_subgroups(capsys: Capsys) -> None:
    code, out, err = run(capsys, PROP, "--outcome", "DCR", "--subgroup", "regimen_class", "--format", "markdown")
    assert code == 0, err
    assert "**Subgroups by regimen_class**" in out and "Test for subgroup differences" in out


def test_column_mapping_equals_library_on_renamed_frame(capsys: Capsys) -> None:
    frame = pd.read_csv(MINIMAL).rename(columns={"HR": "hr", "Lower": "ci_low", "Upper": "ci_high", "Level": "ci_level"})
    es = quiet(effects.from_hazard_ratios, frame)
    expected = quiet(mo.pool, es, measure="HR", labels=list(frame["Study"]))
    code, out, err = run(capsys, MINIMAL, *MINIMAL_MAP, "--label", "Study", "--format", "csv")
    assert code == 0, err
    assert_same_summary(pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""]), expected.summary())
    # a file with only some columns of the layout is checked in those, and says so
    assert "has only some columns of the hazard_ratios layout" in err


def test_column_mapping_auto_detects_table_and_labels(capsys: Capsys) -> None:
    got = csv_out(capsys, MINIMAL, *MINIMAL_MAP[2:], "--subgroup", "Class")  # no --table: told from 'hr'
    assert list(got["subgroup"]) == ["monotherapy", "anti-angiogenic combination", "Overall"]


def test_generic_effect_sizes_with_sei_equal_library(capsys: Capsys) -> None:
    frame = pd.read_csv(SYNTH_ES)
    ok = frame["se"].notna()
    expected = mo.pool(frame.loc[ok, "logHR"], sei=frame.loc[ok, "se"], measure="HR", labels=list(frame.loc[ok, "study"]))
    got = csv_out(capsys, SYNTH_ES, "--yi", "logHR", "--sei", "se", "--label", "study", "--measure", "hr")
    studies = got[got["row_type"] != "excluded"].reset_index(drop=True)
    assert_same_summary(studies, expected.summary())
    excluded = got[got["row_type"] == "excluded"]
    assert excluded["label"].tolist() == ["Synthetic 5"]
    assert excluded["exclusion_reason"].tolist() == ["no value in 'se'"]


def test_generic_effect_sizes_with_vi_and_auto_detection(capsys: Capsys, tmp_path: Path) -> None:
    path = tmp_path / "synthetic_yi_vi.csv"
    path.write_text("study,yi,vi\nSynthetic 1,0.2,0.04\nSynthetic 2,0.5,0.09\nSynthetic 3,0.1,0.02\n")
    expected = mo.pool([0.2, 0.5, 0.1], [0.04, 0.09, 0.02], labels=["Synthetic 1", "Synthetic 2", "Synthetic 3"])
    assert_same_summary(csv_out(capsys, str(path)), expected.summary())
    assert_same_summary(csv_out(capsys, str(path), "--yi", "yi", "--vi", "vi"), expected.summary())
    code, out, _ = run(capsys, str(path))
    assert "measure GEN (generic effect size)" in out


def test_generic_map_to_effect_columns(capsys: Capsys) -> None:
    frame = pd.read_csv(SYNTH_ES).dropna()
    expected = mo.pool(frame["logHR"], sei=frame["se"], labels=list(frame["study"]))
    got = csv_out(capsys, SYNTH_ES, "--map", "logHR=yi", "--map", "se=sei")
    assert_same_summary(got[got["row_type"] != "excluded"].reset_index(drop=True), expected.summary())


def test_trials_file_gives_labels(capsys: Capsys) -> None:
    got = csv_out(capsys, SYNTH_HR, "--trials", SYNTH_TRIALS, "--outcome", "OS")
    assert got.loc[got["row_type"] == "study", "label"].tolist() == ["Synthetic Trial A", "Synthetic Trial B", "Synthetic Trial C"]
    plain = csv_out(capsys, SYNTH_HR, "--outcome", "OS")  # unknown to the bundled trials: the trial_id
    assert plain.loc[plain["row_type"] == "study", "label"].tolist() == ["synthetic_a", "synthetic_b", "synthetic_c"]


def test_standalone_with_own_trials_and_sources(capsys: Capsys) -> None:
    base = csv_out(capsys, HR, "--outcome", "OS")
    alone = csv_out(capsys, HR, "--outcome", "OS", "--standalone", "--trials", str(BUNDLED / "trials.csv"),
                    "--sources", str(BUNDLED / "sources.csv"))
    pd.testing.assert_frame_equal(base, alone)


def test_standalone_uses_no_bundled_trials(capsys: Capsys) -> None:
    got = csv_out(capsys, HR, "--outcome", "OS", "--standalone")
    assert got.loc[got["row_type"] == "study", "label"].iloc[0] == "checkmate_017"  # no bundled short name


def test_standalone_reports_every_unknown_reference(capsys: Capsys) -> None:
    code, out, err = run(capsys, HR, "--outcome", "OS", "--standalone", "--trials", SYNTH_TRIALS)
    lines = err.strip().splitlines()
    assert code == 2 and out == ""
    assert len(lines) == 17  # one per row of the curated-layout file: its trial is not in --trials
    assert all(line.startswith(f"metaoutcome pool: error: {HR}:") for line in lines)
    assert lines[0] == f"metaoutcome pool: error: {HR}:2:trial_id: unknown trial 'checkmate_017' (add it to trials.csv)"


# ------------------------------------------------------------------------------------------------
# the forest plot
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, magic, extra",
    [
        ("os.pdf", b"%PDF", []),
        ("orr.png", b"\x89PNG\r\n\x1a\n", ["--layout", "revman"]),
        ("os.svg", b"<?xml", ["--layout", "jama"]),
    ],
    ids=["pdf", "png-revman-subgroups", "svg-jama"],
)
def test_forest_written(capsys: Capsys, tmp_path: Path, name: str, magic: bytes, extra: list[str]) -> None:
    out = tmp_path / name
    argv = [PROP, "--outcome", "ORR", "--subgroup", "regimen_class"] if name == "orr.png" else [HR, "--outcome", "OS"]
    code, _, err = run(capsys, *argv, "--forest", str(out), *extra)
    assert code == 0, err
    data = out.read_bytes()
    assert len(data) > 1000 and data.startswith(magic)
    assert f"wrote {out}" in err


# ------------------------------------------------------------------------------------------------
# error paths: exit status 2 and one line naming the file, row, column or option
# ------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_error_no_such_file(capsys: Capsys) -> None:
    assert_one_error(capsys, ["no/such.csv"], "no/such.csv: no such file")


def test_error_not_a_file(capsys: Capsys, tmp_path: Path) -> None:
    assert_one_error(capsys, [str(tmp_path)], f"{tmp_path}: not a file")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "the file is empty"),
        ("hr,ci_low,ci_high\n", "has a header but no data rows"),
        ("hr,hr\n0.5,0.6\n", ":1:hr: the column appears more than once"),
        ("hr,,ci_high\n0.5,0.4,0.6\n", ":1:column 2: the header cell is empty"),
        ("hr,ci_low,ci_high\n0.5,0.4,0.6\n0.7,0.5\n", ":3:-: the row has 2 fields but the header has 3"),
        (b"hr,ci_low\n0.5,0.4\n\xff,0.1\n", ":3:-: not valid UTF-8"),
        ('hr,ci_low\n"0.5,0.4\n', ":2:-: a quote opened on this line is never closed"),
    ],
    ids=["empty", "header-only", "duplicate-column", "empty-header-cell", "short-row", "not-utf8", "bad-quote"],
)
def test_error_unreadable_file(capsys: Capsys, tmp_path: Path, text: str | bytes, fragment: str) -> None:
    path = write(tmp_path, "synthetic.csv", text)
    assert_one_error(capsys, [path], path, fragment)


def test_error_semicolon_separated(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "study;hr;ci_low;ci_high\nA;0,8;0,7;0,9\n")
    assert_one_error(capsys, [path], f"{path}:1:-: the header is one column", "separated by semicolons")


def test_excel_export_with_bom_and_crlf(capsys: Capsys, tmp_path: Path) -> None:
    text = Path(MINIMAL).read_text(encoding="utf-8").replace("\n", "\r\n")
    path = write(tmp_path, "synthetic_excel.csv", "\ufeff".encode() + text.encode())
    got = csv_out(capsys, path, *MINIMAL_MAP, "--label", "Study")
    pd.testing.assert_frame_equal(got, csv_out(capsys, MINIMAL, *MINIMAL_MAP, "--label", "Study"))


def test_error_ambiguous_table(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "hr,median\n0.5,6.0\n")
    assert_one_error(capsys, [path], path, "cannot tell which table", "hazard_ratios and medians", "--table")


def test_error_unknown_table(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "estimate,low\n0.5,0.4\n")
    assert_one_error(capsys, [path], path, "cannot tell what the file holds", "estimate, low", "--map", "--yi")


def test_error_table_needs_its_column(capsys: Capsys) -> None:
    assert_one_error(capsys, [MINIMAL, "--table", "hazard_ratios"], f"{MINIMAL}:1:hr: missing column 'hr'", "--map")
    assert_one_error(capsys, [SYNTH_HR, "--table", "proportions"], f"{SYNTH_HR}:1:n: missing column 'n'")


def test_error_invalid_table_choice(capsys: Capsys) -> None:
    assert_one_error(capsys, [HR, "--table", "orr"], "argument --table: 'orr' is not one of proportions, medians, hazard_ratios")


@pytest.mark.parametrize(
    "maps, fragments",
    [
        (["HR"], ["--map 'HR': expected YOUR_COLUMN=OUR_COLUMN"]),
        (["Hazard=hr"], ["--map Hazard=hr", "has no column 'Hazard'", "Study, Class, HR"]),
        (["HR=hazard"], ["--map HR=hazard: 'hazard' is not one of the columns of the hazard_ratios layout"]),
        (["HR=hr", "Lower=hr"], ["--map Lower=hr: two columns are mapped to 'hr'"]),
        (["HR=hr", "HR=ci_low"], ["--map HR=ci_low: column 'HR' is mapped twice"]),
        (["Study=Class"], ["--map Study=Class", "already has a column 'Class'"]),
    ],
    ids=["malformed", "unknown-user-column", "unknown-target", "two-to-one", "twice", "clash"],
)
def test_error_map(capsys: Capsys, maps: list[str], fragments: list[str]) -> None:
    argv = [MINIMAL, "--table", "hazard_ratios"]
    for m in maps:
        argv += ["--map", m]
    assert_one_error(capsys, argv, *fragments)


def test_error_map_target_for_effect_sizes(capsys: Capsys) -> None:
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR", "--map", "se=hr"], "--map se=hr: 'hr' is not one of the effect-size columns: yi, vi, sei")


def test_error_outcome(capsys: Capsys) -> None:
    assert_one_error(capsys, [HR], f"{HR} holds several outcomes in column 'endpoint' (OS, PFS)", "--outcome")
    assert_one_error(capsys, [HR, "--outcome", "ORR"], "--outcome ORR: no row of", "has endpoint 'ORR'; present: OS, PFS")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR", "--sei", "se", "--outcome", "OS"],
                     "--outcome OS:", "has no 'outcome' column")


def test_error_outcome_names_the_users_column(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "Endpoint,hr,ci_low,ci_high,ci_level\nOS,0.8,0.7,0.9,95\nPFS,0.7,0.6,0.8,95\n")
    assert_one_error(capsys, [path, "--map", "Endpoint=endpoint"], "several outcomes in column 'Endpoint'")


@pytest.mark.parametrize(
    "where, fragments",
    [
        ("population", ["--where 'population': expected COLUMN=VALUE"]),
        ("arm=placebo", ["--where arm=placebo", "has no column 'arm'"]),
        ("population=nobody", ["--where population=nobody: no selected row", "present: ITT"]),
    ],
    ids=["malformed", "unknown-column", "no-match"],
)
def test_error_where(capsys: Capsys, where: str, fragments: list[str]) -> None:
    assert_one_error(capsys, [HR, "--outcome", "OS", "--where", where], *fragments)


def test_error_measure(capsys: Capsys) -> None:
    assert_one_error(capsys, [HR, "--outcome", "OS", "--measure", "PLO"], "--measure PLO: not a measure for a hazard_ratios table; choose one of HR")
    assert_one_error(capsys, [PROP, "--outcome", "ORR", "--measure", "HR"], "choose one of PR, PLN, PLO, PAS, PFT")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR", "--sei", "se", "--measure", "XYZ"], "--measure XYZ", "GEN")


@pytest.mark.parametrize(
    "option, value, allowed",
    [
        ("--method", "XX", "REML, DL, HE, HS, SJ, ML, EB, PM, FE, EE, CE"),
        ("--ci-method", "hkx", "z, t, knha, adhoc"),
        ("--test", "hkx", "z, t, knha, adhoc"),
        ("--pi-method", "riley", "default, hts"),
        ("--layout", "cochrane", "default, revman, jama"),
        ("--format", "xlsx", "text, csv, markdown"),
    ],
)
def test_error_invalid_choice(capsys: Capsys, option: str, value: str, allowed: str) -> None:
    assert_one_error(capsys, [HR, option, value], f"argument {option}: '{value}' is not one of {allowed}", "--help")


def test_error_ambiguous_or_disagreeing_ci_method(capsys: Capsys) -> None:
    # the library's rule (metaoutcome.options): "hk" could mean knha or adhoc; two values that disagree are refused
    assert_one_error(capsys, [HR, "--ci-method", "hk"], "argument --ci-method: 'hk' is ambiguous", "adhoc")
    assert_one_error(capsys, [HR, "--outcome", "OS", "--ci-method", "z", "--test", "knha"],
                     "ci_method='z' and test='knha' disagree")


@pytest.mark.parametrize("value, why", [("150", "is not a confidence level"), ("0", "is not a confidence level"),
                                        ("0.05", "is not a confidence level"), ("100", "is not a confidence level"),
                                        ("nan", "is not a confidence level"), ("ninety", "is not a number")])
def test_error_level(capsys: Capsys, value: str, why: str) -> None:
    # the one level rule (metaoutcome._checks.level_percent): (0, 0.5] is ambiguous, >= 100 and <= 0 are not levels
    assert_one_error(capsys, [HR, "--level", value], f"argument --level: '{value}' {why}; {LEVEL_RULE}")


def test_error_missing_file_argument(capsys: Capsys) -> None:
    assert_one_error(capsys, [], "the following arguments are required: FILE")


def test_error_subgroup_and_label_columns(capsys: Capsys) -> None:
    assert_one_error(capsys, [HR, "--outcome", "OS", "--subgroup", "drug_class"], "--subgroup drug_class:", "has no column 'drug_class'")
    assert_one_error(capsys, [HR, "--outcome", "OS", "--label", "name"], "--label name:", "has no column 'name'")


def test_error_effect_size_options(capsys: Capsys, tmp_path: Path) -> None:
    assert_one_error(capsys, [SYNTH_ES, "--vi", "se"], "--vi/--sei need --yi COLUMN")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR"], "--yi logHR: name the variance column with --vi")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR", "--vi", "se", "--sei", "se"], "--vi se and --sei se", "not both")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "logHR", "--table", "hazard_ratios", "--sei", "se"], "--table hazard_ratios:")
    assert_one_error(capsys, [SYNTH_ES, "--yi", "lnHR", "--sei", "se"], "--yi lnHR:", "has no column 'lnHR'")
    bad = write(tmp_path, "synthetic.csv", "study,yi,sei\nA,0.1,0.2\nB,abc,0.3\nC,0.2,-0.1\n")
    assert_one_error(capsys, [bad], f"{bad}:3:yi: 'abc' is not a number")
    neg = write(tmp_path, "synthetic_neg.csv", "study,y,s\nA,0.1,0.2\nC,0.2,0\n")
    assert_one_error(capsys, [neg, "--yi", "y", "--sei", "s"], f"{neg}:3:s: sei must be > 0; got 0")


def test_error_forest(capsys: Capsys, tmp_path: Path) -> None:
    assert_one_error(capsys, [HR, "--outcome", "OS", "--forest", "os.jpg"], "--forest os.jpg: '.jpg' is not a figure type; use .pdf, .png, .svg")
    assert_one_error(capsys, [HR, "--outcome", "OS", "--forest", "os"], "--forest os: no file type")
    missing = tmp_path / "no" / "os.pdf"
    assert_one_error(capsys, [HR, "--outcome", "OS", "--forest", str(missing)], f"--forest {missing}: the folder", "does not exist")


def test_error_trials_file(capsys: Capsys, tmp_path: Path) -> None:
    assert_one_error(capsys, [SYNTH_HR, "--trials", "no_trials.csv"], "--trials no_trials.csv: no such file")
    bad = write(tmp_path, "synthetic_trials.csv", "id,short_name\nsynthetic_a,A\n")
    assert_one_error(capsys, [SYNTH_HR, "--trials", bad], f"{bad}:1:trial_id: missing column 'trial_id'")


def test_error_validation_problem_is_one_line(capsys: Capsys) -> None:
    assert_one_error(capsys, [SYNTH_BAD], f"{SYNTH_BAD}:3:events: events (70) exceed n (67)")


def test_error_validation_names_the_users_column(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "Study,HR,Lower,Upper,Level\nA,0.5,0.9,1.1,95\n")
    assert_one_error(capsys, [path, *MINIMAL_MAP], f"{path}:2:Lower: the CI (0.9 to 1.1) does not contain hr 0.5")


def test_error_validation_curated_layout_reports_provenance(capsys: Capsys, tmp_path: Path) -> None:
    text = Path(HR).read_text(encoding="utf-8").replace("brahmer2015_nejm", "synthetic_source", 1)
    path = write(tmp_path, "synthetic_hazard_ratios.csv", text)
    assert_one_error(capsys, [path, "--outcome", "OS"], f"{path}:2:source_id: unknown source 'synthetic_source'")


def test_error_not_a_number_in_minimal_file(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "Study,HR,Lower,Upper,Level\nA,0.8,0.7,0.9,95\nB,x,0.7,0.9,95\n")
    assert_one_error(capsys, [path, *MINIMAL_MAP], f"{path}:3:HR: 'x' is not a number")


def test_error_nothing_to_pool(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "study,hr,ci_low,ci_high\nA,0.8,,\nB,0.7,,\n")
    line = assert_one_error(capsys, [path], f"{path}: k=0: there are no studies for pooling (all 2 rows were excluded: "
                                            "row 2 (A): no CI", "row 3 (B): no CI")
    # the library's own message: the command line and pool() report excluded rows the same way
    with pytest.raises(ValueError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = effects.from_hazard_ratios(pd.read_csv(path, index_col=False).set_axis([2, 3]), on_invalid="exclude")
        mo.pool(es.assign(label=es["study"]), labels="label", measure="HR")
    assert line == f"metaoutcome pool: error: {path}: {info.value}"


def test_notes_are_printed_with_the_result_and_do_not_fail(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "study,hr,ci_low,ci_high\nA,0.8,0.7,0.9\nB,0.7,0.6,0.8\n")
    code, out, err = run(capsys, path)
    assert code == 0 and "Random-Effects Model (k = 2" in out
    assert "rows 2, 3 give a CI without its level" in out and "taken as 95% CIs" in out
    code, out, err = run(capsys, path, "--format", "csv")  # stdout is the table only; notes on stderr
    assert out.startswith("row_type,label,") and "taken as 95% CIs" in err


def test_overlapping_rows_are_flagged(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic.csv", "trial_id,experimental_arm,hr,ci_low,ci_high,ci_level\n"
                 "synthetic_a,drug,0.8,0.7,0.9,95\nsynthetic_a,drug,0.7,0.6,0.8,95\nsynthetic_b,drug,0.9,0.8,1.0,95\n")
    code, out, _ = run(capsys, path)
    assert code == 0
    assert "warning: " + path + ": rows 2, 3 have the same trial_id and experimental_arm (synthetic_a, drug)" in out


def test_where_compares_the_cell_as_written(capsys: Capsys) -> None:
    got = csv_out(capsys, HR, "--outcome", "OS", "--where", "ci_level=96")  # a number column, as printed
    assert got.loc[got["row_type"] == "study", "label"].tolist() == ["CheckMate 057"]


# ------------------------------------------------------------------------------------------------
# --traceback, --help
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["after", "before"])
def test_traceback_reraises(where: str) -> None:
    argv = ["pool", SYNTH_BAD, "--traceback"] if where == "after" else ["--traceback", "pool", SYNTH_BAD]
    with pytest.raises(CLIError, match="events \\(70\\) exceed n \\(67\\)"):
        main(argv)


def test_pool_help_in_a_subprocess() -> None:
    res = subprocess.run([sys.executable, "-m", "metaoutcome", "pool", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    assert "Examples:" in res.stdout and "--ci-method" in res.stdout and "--forest" in res.stdout


def test_choices_match_the_library() -> None:
    from metaoutcome import cli, pooling, plotting
    from metaoutcome.effects.proportions import PROPORTION_MEASURES

    assert set(cli.METHODS) == set(pooling.METHODS)
    assert cli.CI_METHODS == pooling.CI_METHODS and cli.PI_METHODS == pooling.PI_METHODS
    assert set(cli.LAYOUTS) == set(plotting.LAYOUTS)
    assert set(PROPORTION_MEASURES) <= set(mo.measures.MEASURES)


# ------------------------------------------------------------------------------------------------
# issue 13: levels, text booleans and quoting traps through the one reader
# ------------------------------------------------------------------------------------------------


def _rewrite(src: str, dst: Path, column: str, change: Callable[[str], str]) -> str:
    import csv

    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    i = rows[0].index(column)
    for r in rows[1:]:
        r[i] = change(r[i])
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return str(dst)


def test_ci_level_written_as_a_proportion_is_read_as_percent(capsys: Capsys, tmp_path: Path) -> None:
    # issue 13: ci_level 0.95 gave an SE 165 times too large; now it is 95% and the note says so
    path = _rewrite(MINIMAL, tmp_path / "synthetic_levels.csv", "Level", lambda v: str(float(v) / 100))
    got = csv_out(capsys, path, *MINIMAL_MAP, "--label", "Study")
    expected = csv_out(capsys, MINIMAL, *MINIMAL_MAP, "--label", "Study")
    pd.testing.assert_frame_equal(got, expected)
    code, out, _ = run(capsys, path, *MINIMAL_MAP, "--label", "Study")
    assert code == 0
    assert f"warning: {path}:2:Level: ci_level 0.95 read as 95% (a proportion; the level rule)" in out
    assert f"warning: {path}:3:Level: ci_level 0.96 read as 96% (a proportion; the level rule)" in out


@pytest.mark.parametrize("bad", ["0.3", "100", "-95", "95%"])
def test_ci_level_that_is_not_a_level_names_file_row_column(capsys: Capsys, tmp_path: Path, bad: str) -> None:
    path = _rewrite(MINIMAL, tmp_path / "synthetic_bad_level.csv", "Level", lambda v: bad if v == "96" else v)
    why = "is not a number (write percentages without '%')" if bad.endswith("%") else "is not a confidence level"
    assert_one_error(capsys, [path, *MINIMAL_MAP], f"{path}:3:Level: ", why)


def test_level_option_as_a_proportion(capsys: Capsys) -> None:
    pd.testing.assert_frame_equal(csv_out(capsys, HR, "--outcome", "OS", "--level", "0.9"),
                                  csv_out(capsys, HR, "--outcome", "OS", "--level", "90"))
    es = hr_effects("OS")
    expected = quiet(mo.pool, es, measure="HR", labels=list(es["short_name"]), level=90)
    got = csv_out(capsys, HR, "--outcome", "OS", "--level", "0.9").set_index("row_type")
    assert_allclose(got.loc["pooled", "ci_low"], expected.ci_low, rtol=RTOL)


@pytest.mark.parametrize("true, false", [("NR", "No"), ("yes", "0"), ("TRUE", "False"), ("1", "no"), ("ne", "FALSE")])
def test_text_booleans_in_ci_high_nr(capsys: Capsys, tmp_path: Path, true: str, false: str) -> None:
    # issue 13: text flags were read as truthy ('False' -> True); now by value, or refused
    text = ("study,median,ci_low,ci_high,ci_high_nr,ci_level\nA,6.9,5.5,8.3,{f},95\nB,12.0,10.0,,{t},95\n"
            "C,9.1,7.0,11.2,{f},95\n")
    words = write(tmp_path, "synthetic_words.csv", text.format(t=true, f=false))
    plain = write(tmp_path, "synthetic_plain.csv", text.format(t="true", f="false"))
    got = csv_out(capsys, words, "--label", "study")
    pd.testing.assert_frame_equal(got, csv_out(capsys, plain, "--label", "study"))
    assert list(got.loc[got["row_type"] == "study", "label"]) == ["A", "B", "C"]  # B: its upper bound not reached
    bad = write(tmp_path, "synthetic_bad.csv", text.format(t="maybe", f="false"))
    assert_one_error(capsys, [bad], f"{bad}:3:ci_high_nr: 'maybe' is not true or false")


def test_unterminated_quote_names_the_line(capsys: Capsys, tmp_path: Path) -> None:
    lines = [line + ",ok" for line in Path(MINIMAL).read_text(encoding="utf-8").splitlines()]
    lines[0] = lines[0].replace(",ok", ",note")
    lines[3] = lines[3].replace(",ok", ',"see text')
    path = write(tmp_path, "synthetic_quote.csv", "\n".join(lines) + "\n")
    assert_one_error(capsys, [path, *MINIMAL_MAP], f"{path}:4:-: a quote opened on this line is never closed")
    trials = write(tmp_path, "synthetic_trials_quote.csv", 'trial_id,short_name\nsynthetic_a,"A\nsynthetic_b,B\n')
    assert_one_error(capsys, [SYNTH_HR, "--trials", trials], f"{trials}:2:-: a quote opened on this line is never closed")


def test_effect_size_file_goes_through_the_one_reader(capsys: Capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "synthetic_es.csv", "study,yi,sei,\nA,0.1,0.2,\n\nB,0.3,0.1,\n")
    code, out, err = run(capsys, path)
    assert code == 0, err
    assert f"warning: {path}:3:-: blank row (ignored)" in out
    assert "empty column(s) at the end of the header" in out


def test_forest_file_is_written_whole_or_left_as_it_was(capsys: Capsys, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from metaoutcome import plotting

    target = tmp_path / "os.pdf"
    target.write_bytes(b"the earlier figure")
    real = plotting.savefig

    def interrupted(fig: Any, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"%PDF-half")
        raise KeyboardInterrupt

    monkeypatch.setattr(plotting, "savefig", interrupted)
    assert main(["pool", HR, "--outcome", "OS", "--forest", str(target)]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["metaoutcome pool: interrupted"]
    assert target.read_bytes() == b"the earlier figure" and sorted(p.name for p in tmp_path.iterdir()) == ["os.pdf"]
    monkeypatch.setattr(plotting, "savefig", real)
    code, _, err = run(capsys, HR, "--outcome", "OS", "--forest", str(target))
    assert code == 0, err
    assert target.read_bytes().startswith(b"%PDF") and sorted(p.name for p in tmp_path.iterdir()) == ["os.pdf"]
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
