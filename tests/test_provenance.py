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
