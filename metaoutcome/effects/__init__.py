"""From reported figures to effect sizes: ``yi`` and its sampling variance ``vi`` on the
analysis scale, vectorised over arrays and DataFrame columns (metafor's ``escalc`` step).

Array-level converters return a tidy DataFrame (``yi``, ``vi``, ``measure`` and flags) with
``attrs["measure"]`` set; the ``from_*`` entry points take a frame (a curated dataset or your
own), add the same columns to a copy, and keep rows that cannot be converted with ``yi``/``vi``
NaN and an ``exclusion_reason``.

==========================  ==========================================================  ========
Function                    From                                                        Measure
==========================  ==========================================================  ========
``proportion_es``           events, n                                                   PR, PLN, PLO, PAS, PFT
``proportion_ci``           events, n (Clopper-Pearson, Wilson, Wald CI per study)      --
``two_arm_es``              2x2 counts                                                  OR, RR, RD
``hr_from_ci``              HR and CI at any level                                      HR
``hr_from_p``               HR and two-sided p-value (exact or "<" bound)               HR
``hr_from_logrank``         logrank O - E and V                                         HR
``hr_from_events``          observed and expected events per arm                        HR
``parse_p_value(s)``        printed p-values ("<0.001", "P = 0.005")                    --
``median_es``               median and CI (NR upper bound), or events                   MED
``two_arm_median_es``       two arms' medians and CIs                                   RMED, DMED
``median_of_medians``       study medians (sign-test CI; sensitivity analysis)          --
``from_proportions``        a proportions frame                                         PR ... PFT
``from_hazard_ratios``      a hazard-ratio frame                                        HR
``from_medians``            a medians frame                                             MED
``from_table``              a frame of a named curated table (one of the three above)   as above
``combine_shared_control``  comparisons sharing one control arm -> one per trial        any
==========================  ==========================================================  ========

>>> from metaoutcome import effects
>>> effects.hr_from_ci([0.73], [0.59], [0.89], level=96)["vi"].round(5).tolist()
[0.01002]

The same figure from the bundled data (CheckMate 057 printed its OS HR with a 96% CI):

>>> import metaoutcome as mo
>>> hr = mo.load_dataset("hazard_ratios", trial="checkmate_057")
>>> hr = effects.from_hazard_ratios(hr[hr["subgroup"].isna()])  # the whole-population comparison
>>> hr[["row_id", "ci_level", "yi", "vi"]].round(5)
                row_id  ci_level       yi       vi
0  checkmate_057_os_hr      96.0 -0.31471  0.01002
"""

import pandas as pd

from ._common import ConversionWarning, ExclusionWarning
from .binary import two_arm_es
from .hazard_ratios import (
    PValue,
    from_hazard_ratios,
    hr_from_ci,
    hr_from_events,
    hr_from_logrank,
    hr_from_p,
    parse_p_value,
    parse_p_values,
)
from .medians import MedianOfMedians, from_medians, median_es, median_of_medians, two_arm_median_es
from .proportions import from_proportions, proportion_ci, proportion_es
from .shared_control import combine_shared_control, shared_control_correlation

__all__ = [
    "ConversionWarning",
    "ExclusionWarning",
    "proportion_es",
    "proportion_ci",
    "from_proportions",
    "two_arm_es",
    "PValue",
    "parse_p_value",
    "parse_p_values",
    "hr_from_ci",
    "hr_from_p",
    "hr_from_logrank",
    "hr_from_events",
    "from_hazard_ratios",
    "median_es",
    "two_arm_median_es",
    "median_of_medians",
    "MedianOfMedians",
    "from_medians",
    "from_table",
    "TABLE_CONVERTERS",
    "combine_shared_control",
    "shared_control_correlation",
]

#: The curated outcome tables the frame converters read, and their default measures.
TABLE_CONVERTERS: dict[str, str] = {"proportions": "PLO", "medians": "MED", "hazard_ratios": "HR"}


def from_table(frame: pd.DataFrame, table: str, measure: str | None = None, *,
               on_invalid: str = "raise") -> pd.DataFrame:
    """Effect sizes from a frame in the layout of the curated ``table``: the converter that
    table needs (:func:`from_proportions`, :func:`from_medians` or :func:`from_hazard_ratios`).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of a ``proportions``, ``medians`` or ``hazard_ratios`` table (curated or your own).
    table : {"proportions", "medians", "hazard_ratios"}
        The table's layout.
    measure : str, optional
        For proportions, the measure (default "PLO"); the other tables have one measure.
    on_invalid : {"raise", "exclude"}, default "raise"
        As the converters.

    Returns
    -------
    pandas.DataFrame
        What the converter returns.

    Examples
    --------
    >>> import pandas as pd
    >>> es = from_table(pd.DataFrame({"events": [12], "n": [40]}), "proportions", "PR")
    >>> es[["yi", "vi"]].round(4).values.tolist()
    [[0.3, 0.0052]]
    """
    from .._checks import check_choice

    name = check_choice("table", table, tuple(TABLE_CONVERTERS))
    if name == "proportions":
        return from_proportions(frame, measure=measure or "PLO", on_invalid=on_invalid)
    if name == "medians":
        return from_medians(frame, on_invalid=on_invalid)
    return from_hazard_ratios(frame, on_invalid=on_invalid)
