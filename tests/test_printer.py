"""The one number/p-value formatter (metaoutcome.printer): printout and journal rules at their boundaries."""

import math

import pytest

from metaoutcome.printer import fmt_ci, fmt_estimate_ci, fmt_p, fmt_p_journal, fmt_percent, fmt_x

# metafor 3.8-1 .pval(p, digits=4): p >= .0001 -> formatC(p, digits=4, format="f"); below -> "<.0001"
# (and with showeq=TRUE, sep=" ": "= 0.0001" / "< .0001"), read off metafor's source.
PRINTOUT = [
    (1.708e-16, "<.0001", "< .0001"),
    (9.9999e-5, "<.0001", "< .0001"),
    (1e-4, "0.0001", "= 0.0001"),
    (0.012345, "0.0123", "= 0.0123"),
    (0.99996, "1.0000", "= 1.0000"),
    (math.nan, "NA", "= NA"),
    (None, "NA", "= NA"),
]


@pytest.mark.parametrize("p,cell,phrase", PRINTOUT, ids=[str(r[0]) for r in PRINTOUT])
def test_fmt_p_printout(p, cell, phrase):
    assert fmt_p(p) == cell
    assert fmt_p(p, showeq=True) == phrase


def test_fmt_p_digits():
    assert fmt_p(0.0004, digits=3) == "<.001"
    assert fmt_p(0.0004, digits=5) == "0.00040"


JOURNAL = [
    (1e-12, "<0.001"), (0.000999, "<0.001"), (0.001, "0.001"), (0.00449, "0.004"), (0.00999, "0.010"),
    (0.01, "0.01"), (0.0312, "0.03"), (0.0449, "0.04"), (0.0451, "0.045"), (0.05, "0.05"), (0.0549, "0.055"),
    (0.0551, "0.06"), (0.41, "0.41"), (0.99, "0.99"), (0.9901, ">0.99"), (1.0, ">0.99"),
]


@pytest.mark.parametrize("p,cell", JOURNAL, ids=[str(r[0]) for r in JOURNAL])
def test_fmt_p_journal(p, cell):
    assert fmt_p_journal(p) == cell
    phrase = fmt_p_journal(p, prefix="p")
    if cell[0] in "<>":
        assert phrase == f"p {cell[0]} {cell[1:]}"
    else:
        assert phrase == f"p = {cell}"


def test_fmt_p_journal_missing():
    assert fmt_p_journal(None) == "" and fmt_p_journal(math.nan, missing="NA") == "NA"


def test_fmt_x():
    assert fmt_x(-0.00004) == "0.0000"  # no signed zero
    assert fmt_x(-0.00006) == "-0.0001"
    assert fmt_x(3) == "3.0000" and fmt_x(3, 0) == "3"
    assert fmt_x(math.inf) == "Inf" and fmt_x(-math.inf) == "-Inf"
    assert fmt_x("text") == "text" and fmt_x(None, missing="") == ""


def test_estimates_and_intervals():
    assert fmt_ci(0.62, 0.87) == "0.62 to 0.87"
    assert fmt_estimate_ci(0.7312, 0.6201, 0.8705) == "0.73 (0.62 to 0.87)"
    assert fmt_estimate_ci(-0.31, -0.52, -0.10, sep=", ") == "-0.31 (-0.52, -0.10)"
    assert fmt_estimate_ci(0.5, math.nan, math.nan) == "0.50"
    assert fmt_percent(12.345) == "12.3%" and fmt_percent(math.nan) == ""
