"""Provenance of the bundled data: figures agree with the text they were read from.

For a row whose status is ``reported``, every number in it was printed in the source, so each
headline value (count, percentage, median, HR and CI bounds) must appear in the row's ``printed``
text (the figure as the source printed it). The denominator ``n`` is left out: sources print it
once for the cohort, elsewhere than the figure. This catches typing slips between the two
without trusting either.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from metaoutcome import datasets

NUMERIC = {
    "proportions": ["events", "percent", "ci_low", "ci_high"],
    "medians": ["median", "ci_low", "ci_high"],
    "hazard_ratios": ["hr", "ci_low", "ci_high"],
}


WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split()
)}


def _numbers(text: str) -> set[float]:
    # middle dots (Lancet style) and leading-dot decimals (".0238") are normalised first;
    # counts written as words ("Six of 40 patients") are read too
    text = text.replace("·", ".").replace("\u2009", " ")
    found = {float(m) for m in re.findall(r"(?<![\d.])\d*\.?\d+", text)}
    found |= {float(WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in WORDS}
    return found


def _cases() -> list[tuple[str, str, str, float, str]]:
    cases = []
    for table, cols in NUMERIC.items():
        frame = datasets.load_dataset(table)
        for row in frame.itertuples(index=False):
            if row.status != "reported":
                continue
            for col in cols:
                value = getattr(row, col)
                if pd.notna(value):
                    cases.append((table, row.row_id, col, float(value), row.printed))
    return cases


CASES = _cases()


@pytest.mark.parametrize("table, row_id, column, value, printed", CASES, ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in CASES])
def test_reported_value_is_in_printed_text(table: str, row_id: str, column: str, value: float, printed: str) -> None:
    found = _numbers(printed)
    assert any(abs(value - f) < 1e-9 for f in found), f"{table}.{row_id}.{column} = {value} not in printed {printed!r}"


def test_there_are_reported_values_to_check() -> None:
    assert len(CASES) > 100


# --------------------------------------------------------------------------------------------
# the one source policy (datasets/README.md): the validator applies it to every cancer

def _copy_tables(tmp_path, edit_trials=None, edit_hr=None):  # type: ignore[no-untyped-def]
    from metaoutcome._schema import data_dir

    paths = []
    for name, edit in (("sources", None), ("trials", edit_trials), ("hazard_ratios", edit_hr)):
        text = (data_dir() / f"{name}.csv").read_text(encoding="utf-8")
        if edit is not None:
            text = edit(text)
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_source_policy_holds_for_the_bundled_data() -> None:
    from metaoutcome.validation import validate_files

    report = validate_files()
    assert not [p for p in report.errors if "source" in p.message and "policy" in p.message]
    # both cancers use non-article sources, under the same rule
    hr = datasets.load_dataset("hazard_ratios", with_trials=True)
    types = datasets.load_dataset("sources").set_index("source_id")["source_type"]
    hr["source_type"] = types[hr["source_id"]].to_numpy()
    lower = hr[hr["source_type"] != "peer_reviewed_article"]
    assert set(lower["cancer"]) == {"NSCLC", "HCC"}


def test_source_policy_needs_the_reason_in_figures_from(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from metaoutcome.validation import validate_files

    # JAVELIN Lung 200's HRs come from a news report; drop its name from figures_from
    paths = _copy_tables(tmp_path, edit_trials=lambda t: t.replace("(ascopost2018_javelin)", "(a news report)"))
    report = validate_files(paths)
    msgs = [p for p in report.errors if p.column == "source_id"]
    assert msgs and all("ascopost2018_javelin" in p.message for p in msgs)
    assert "secondary_report" in msgs[0].message and "figures_from" in msgs[0].message


def test_source_policy_never_supersedes_by_a_lower_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from metaoutcome.validation import validate_files

    # an article row superseded by a news-report row is refused
    def edit(text: str) -> str:
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text)))
        col = rows[0].index("superseded_by")
        for row in rows[1:]:
            if row[0] == "oak_os_hr_itt":
                assert row[col] == ""
                row[col] = "javelin_lung_200_os_hr_all"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()

    paths = _copy_tables(tmp_path, edit_hr=edit)
    report = validate_files(paths)
    msgs = [p for p in report.errors if p.column == "superseded_by"]
    assert len(msgs) == 1 and "secondary_report" in msgs[0].message and "peer_reviewed_article" in msgs[0].message
