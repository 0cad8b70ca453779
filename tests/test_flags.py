"""One parser for true/false flags (issue 13, defect 3): text is read by what it says, never by truthiness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaoutcome import effects
from metaoutcome._checks import check_flag, flag_array

TRUE_SPELLINGS = [True, np.bool_(True), 1, 1.0, "true", "True", "TRUE", " yes ", "Y", "t", "1", "NR", "ne", "Not reached"]
FALSE_SPELLINGS = [False, np.bool_(False), 0, 0.0, "false", "False", "FALSE", "no", "N", "f", "0"]
REFUSED = ["maybe", "2", 2, 0.5, -1, "truee", object()]


@pytest.mark.parametrize("value", TRUE_SPELLINGS, ids=repr)
def test_true_spellings(value: object) -> None:
    assert flag_array("upper_nr", [value]).tolist() == [True]
    assert check_flag("use_events", value) is True


@pytest.mark.parametrize("value", FALSE_SPELLINGS, ids=repr)
def test_false_spellings(value: object) -> None:
    assert flag_array("upper_nr", [value]).tolist() == [False]
    assert check_flag("use_events", value) is False


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_refused_values_name_argument_and_position(value: object) -> None:
    with pytest.raises(ValueError, match=r"upper_nr must be a flag; positions \[1\]"):
        flag_array("upper_nr", ["no", value])
    with pytest.raises(ValueError, match="use_events="):
        check_flag("use_events", value)


@pytest.mark.parametrize("missing", [None, np.nan, "", "  ", pd.NA])
def test_missing_reads_as_default_or_is_refused(missing: object) -> None:
    assert flag_array("upper_nr", [missing]).tolist() == [False]
    with pytest.raises(ValueError, match="upper_nr must be a flag"):
        flag_array("upper_nr", [missing], missing=None)


def test_median_es_reads_text_false_as_false() -> None:
    """The defect: upper_nr=['False'] was truthy and discarded the upper bound."""
    text = effects.median_es([6.9], [5.5], [8.3], upper_nr=["False"])
    boolean = effects.median_es([6.9], [5.5], [8.3], upper_nr=[False])
    none = effects.median_es([6.9], [5.5], [8.3])
    pd.testing.assert_frame_equal(text, boolean)
    pd.testing.assert_frame_equal(text, none)
    nr = effects.median_es([6.9], [5.5], [8.3], upper_nr=["NR"])
    assert nr["se_method"].iloc[0] != text["se_method"].iloc[0]


# every flag argument of the public converters: (callable taking the flag value)
FLAG_ARGUMENTS = {
    "median_es.upper_nr": lambda f: effects.median_es([6.9], [5.5], [8.3], upper_nr=[f]),
    "median_es.use_events": lambda f: effects.median_es([6.9], [5.5], [8.3], use_events=f),
    "two_arm_median_es.upper_nr1": lambda f: effects.two_arm_median_es(
        [6.9], [5.0], lower1=[5.5], upper1=[8.3], lower2=[4.0], upper2=[6.0], upper_nr1=[f]),
    "two_arm_median_es.upper_nr2": lambda f: effects.two_arm_median_es(
        [6.9], [5.0], lower1=[5.5], upper1=[8.3], lower2=[4.0], upper2=[6.0], upper_nr2=[f]),
    "two_arm_median_es.use_events": lambda f: effects.two_arm_median_es(
        [6.9], [5.0], lower1=[5.5], upper1=[8.3], lower2=[4.0], upper2=[6.0], use_events=f),
    "from_medians.ci_high_nr": lambda f: effects.from_medians(
        pd.DataFrame({"median": [6.9], "ci_low": [5.5], "ci_high": [8.3], "ci_high_nr": [f]})),
    "hr_from_ci.check": lambda f: effects.hr_from_ci([0.73], [0.59], [0.89], check=f),
    "two_arm_es.drop00": lambda f: effects.two_arm_es("OR", ai=[0], bi=[10], ci=[0], di=[10], drop00=f),
}


@pytest.mark.parametrize("where", sorted(FLAG_ARGUMENTS))
def test_every_flag_argument_reads_text_by_value(where: str) -> None:
    call = FLAG_ARGUMENTS[where]
    for t, f in (("True", True), ("false", False), ("yes", True), ("0", False)):
        pd.testing.assert_frame_equal(call(t).drop(columns="ci_high_nr", errors="ignore"),
                                      call(f).drop(columns="ci_high_nr", errors="ignore"))
    with pytest.raises(ValueError, match="must be a flag|is not a flag"):
        call("maybe")
