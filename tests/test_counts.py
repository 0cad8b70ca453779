"""One rule for counts everywhere (issue 13, defect 9): whole, >= 0, events <= n; sizes whole and > 0.

effects.proportion_es([2.5], [10]) was accepted while pool_glmm and the validator refused it. Every
count argument of the converters, Mantel-Haenszel/Peto and the GLMM now goes through
metaoutcome._checks.count_violations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import metaoutcome as mo
from metaoutcome import effects

BCG = dict(ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])


def _mh(**over: Any) -> Any:
    return mo.pool_mh(**{**BCG, **over})


def _peto(**over: Any) -> Any:
    return mo.pool_peto(**{**BCG, **over})


def _two_arm(**over: Any) -> Any:
    return effects.two_arm_es("OR", **{**BCG, **over})


def _n(**over: Any) -> dict[str, Any]:
    """BCG with group sizes in place of bi/di."""
    base = dict(ai=[4, 6, 3], n1i=[123, 306, 231], ci=[11, 29, 11], n2i=[139, 303, 220])
    return {**base, **over}


# (argument, call with a replaced value) for every count argument
COUNT_ARGUMENTS: dict[str, Callable[[Any], Any]] = {
    "proportion_es.events": lambda x: effects.proportion_es([x, 3], [10, 10]),
    "proportion_es.n": lambda x: effects.proportion_es([2, 3], [x, 10]),
    "proportion_ci.events": lambda x: effects.proportion_ci([x, 3], [10, 10]),
    "proportion_ci.n": lambda x: effects.proportion_ci([2, 3], [x, 10]),
    "from_proportions.events": lambda x: effects.from_proportions(pd.DataFrame({"events": [x, 3], "n": [10, 10]})),
    "from_proportions.n": lambda x: effects.from_proportions(pd.DataFrame({"events": [2, 3], "n": [x, 10]})),
    "two_arm_es.ai": lambda x: _two_arm(ai=[x, 6, 3]),
    "two_arm_es.bi": lambda x: _two_arm(bi=[x, 300, 228]),
    "two_arm_es.ci": lambda x: _two_arm(ci=[x, 29, 11]),
    "two_arm_es.di": lambda x: _two_arm(di=[x, 274, 209]),
    "two_arm_es.n1i": lambda x: effects.two_arm_es("OR", **_n(n1i=[x, 306, 231])),
    "two_arm_es.n2i": lambda x: effects.two_arm_es("OR", **_n(n2i=[x, 303, 220])),
    "median_es.events": lambda x: effects.median_es([6.9, 7.0], events=[x, 40]),
    "hr_from_events.observed1": lambda x: effects.hr_from_events([x, 40], [30.2, 35.1], [50, 45], [44.8, 49.9]),
    "hr_from_events.observed2": lambda x: effects.hr_from_events([30, 40], [30.2, 35.1], [x, 45], [44.8, 49.9]),
    "pool_mh.ai": lambda x: _mh(ai=[x, 6, 3]),
    "pool_mh.bi": lambda x: _mh(bi=[x, 300, 228]),
    "pool_mh.ci": lambda x: _mh(ci=[x, 29, 11]),
    "pool_mh.di": lambda x: _mh(di=[x, 274, 209]),
    "pool_mh.n1i": lambda x: mo.pool_mh(**_n(n1i=[x, 306, 231])),
    "pool_mh.n2i": lambda x: mo.pool_mh(**_n(n2i=[x, 303, 220])),
    "pool_peto.ai": lambda x: _peto(ai=[x, 6, 3]),
    "pool_peto.di": lambda x: _peto(di=[x, 274, 209]),
    "pool_peto.n1i": lambda x: mo.pool_peto(**_n(n1i=[x, 306, 231])),
    "pool_glmm.xi": lambda x: mo.pool_glmm([x, 6, 3, 8], [40, 50, 30, 60]),
    "pool_glmm.ni": lambda x: mo.pool_glmm([4, 6, 3, 8], [x, 50, 30, 60]),
}
# value -> the rule it must break (fractional counts and sizes; negative counts)
FRACTIONAL = 2.5


@pytest.mark.parametrize("where", sorted(COUNT_ARGUMENTS))
def test_fractional_count_refused_everywhere(where: str) -> None:
    arg = where.split(".")[1]
    value = FRACTIONAL if arg not in ("n", "n1i", "n2i", "ni") else 120.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=rf"{arg}'? must be a whole number \((a count|a sample size)\)"):
            COUNT_ARGUMENTS[where](value)
        COUNT_ARGUMENTS[where](round(value) if arg not in ("n", "n1i", "n2i", "ni") else 120)  # the whole number passes


@pytest.mark.parametrize("where", sorted(COUNT_ARGUMENTS))
def test_negative_count_refused_everywhere(where: str) -> None:
    arg = where.split(".")[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=rf"{arg}'? must be (>= 0 \(a count\)|> 0 \(a sample size\)|> 0 to approx|> 0;)"):
            COUNT_ARGUMENTS[where](-1)


def test_issue_reproduction() -> None:
    with pytest.raises(ValueError, match=r"events must be a whole number \(a count\); positions \[0\] are not"):
        effects.proportion_es([2.5], [10])
    with pytest.raises(ValueError, match=r"xi must be a whole number \(a count\); positions \[0\] are not"):
        mo.pool_glmm([2.5], [10])


def test_events_above_n_refused_alike() -> None:
    for call in (lambda: effects.proportion_es([11], [10]), lambda: mo.pool_glmm([11, 2], [10, 10]),
                 lambda: effects.two_arm_es("OR", ai=[11], n1i=[10], ci=[1], n2i=[10])):
        with pytest.raises(ValueError, match=r"must be <= (n|ni|n1i)"):
            call()
