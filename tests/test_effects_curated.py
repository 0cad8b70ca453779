"""The effect-size entry points on the bundled curated tables.

Every curated outcome type converts; rows that cannot are kept with a reason (never dropped);
superseded analyses are excluded; one-sided p-values are doubled before use.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm

import metaoutcome as mo
from metaoutcome import effects

# conversions are closed-form: float64 round-off only
RTOL_FORMULA = 1e-12


def _quiet(func, frame, **kw):  # noqa: ANN001, ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(frame, **kw)


@pytest.mark.parametrize(
    "table, func, kwargs",
    [
        ("hazard_ratios", effects.from_hazard_ratios, {}),
        ("medians", effects.from_medians, {}),
        ("proportions", effects.from_proportions, {"measure": "PLO"}),
    ],
    ids=["hazard_ratios", "medians", "proportions"],
)
def test_every_row_converts_or_says_why(table: str, func, kwargs) -> None:  # noqa: ANN001
    frame = mo.load_dataset(table)
    out = _quiet(func, frame, **kwargs)
    assert len(out) == len(frame)  # nothing dropped
    converted = out["yi"].notna() & out["vi"].notna()
    assert converted.sum() > 0
    assert out.loc[~converted, "exclusion_reason"].notna().all()
    assert out.loc[converted, "exclusion_reason"].isna().all()
    assert (out.loc[converted, "vi"] > 0).all()


def test_exclusions_are_announced() -> None:
    with pytest.warns(effects.ExclusionWarning, match="could not be converted"):
        effects.from_hazard_ratios(mo.load_dataset("hazard_ratios"))


def test_superseded_rows_are_excluded_with_reason() -> None:
    out = _quiet(effects.from_hazard_ratios, mo.load_dataset("hazard_ratios", trial="keynote_240"))
    row = out.set_index("row_id").loc["keynote_240_pfs_hr_interim"]
    assert np.isnan(row["yi"]) and "superseded by row keynote_240_pfs_hr" in row["exclusion_reason"]


def test_one_sided_p_value_is_doubled() -> None:
    frame = mo.load_dataset("hazard_ratios", trial="keynote_240")
    frame = frame[frame["row_id"] == "keynote_240_os_hr"]
    out = _quiet(effects.from_hazard_ratios, frame, prefer="p")
    hr, p_one = 0.781, 0.0238  # as printed: HR 0.781, one-sided p = .0238
    se = abs(np.log(hr)) / norm.isf(2 * p_one / 2)
    assert bool(out["p_doubled"].iloc[0])
    assert_allclose(out["vi"].iloc[0], se**2, rtol=RTOL_FORMULA)


def test_mixed_ci_levels_use_each_rows_level() -> None:
    # CheckMate 057 prints a 96% CI, CheckMate 078 a 97.7% CI; each converts at its own level
    frame = mo.load_dataset("hazard_ratios", trial=["checkmate_057", "checkmate_078"], endpoint="OS")
    out = _quiet(effects.from_hazard_ratios, frame)
    for row in out.itertuples():
        z = norm.ppf(0.5 + row.ci_level / 200)
        assert_allclose(row.vi, ((np.log(row.ci_high) - np.log(row.ci_low)) / (2 * z)) ** 2, rtol=RTOL_FORMULA)
