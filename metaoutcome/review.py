"""Review decisions shared by the bundled analyses and usable in your own: one population per trial, labels.

These are choices a review makes on top of the effect-size step (``metaoutcome.effects``), kept
apart from it because they are the reviewer's, not the publication's: which population of a
trial stands for the trial, and how a study is named on a forest plot.

>>> import pandas as pd
>>> es = pd.DataFrame({"row_id": ["a_itt", "a_pdl1"], "trial_id": ["a", "a"], "population": ["ITT", "PD-L1 >=1%"],
...                    "yi": [-0.3, -0.5], "vi": [0.01, 0.02], "exclusion_reason": [None, None]})
>>> one_population(es, ["trial_id"])["exclusion_reason"].tolist()
[None, 'subset of the patients in row a_itt']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["WHOLE_POPULATION", "one_population", "study_labels"]

#: how a row names a trial's whole population (regular expression, case-insensitive)
WHOLE_POPULATION = r"^\s*(?:ITT|all randomi[sz]ed|all treated|all enrolled|full analysis)"


def one_population(es: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Keep one population per trial arm/comparison: the whole population where one exists.

    Within each group of ``keys`` (e.g. trial, arm, outcome), rows describing a subset of
    patients (a PD-L1 subgroup) are excluded with a reason naming the whole-population row,
    whether or not that row has an effect size, so a subset never stands in for the whole
    trial. Rows are kept in the frame (yi/vi NaN) so the exclusion is reported, not hidden.

    Parameters
    ----------
    es : DataFrame
        An effect-size frame (``metaoutcome.effects``) with ``row_id``, ``population``, ``yi``,
        ``vi`` and ``exclusion_reason``.
    keys : list of str
        Columns that identify one comparison or arm.

    Returns
    -------
    DataFrame
        A copy, with the subset rows' ``yi``/``vi`` set to NaN and their reason given.
    """
    es = es.copy()
    active = es["exclusion_reason"].isna() | ~es["exclusion_reason"].astype(str).str.startswith("superseded")
    whole = es["population"].astype(str).str.contains(WHOLE_POPULATION, case=False, regex=True)
    for _, grp in es[active].groupby(keys, sort=False):
        wholes = grp.index[whole[grp.index]]
        if len(wholes) == 0 or len(grp) == 1:
            continue
        for i in grp.index.difference(wholes):
            es.loc[i, ["yi", "vi"]] = float("nan")
            es.loc[i, "exclusion_reason"] = f"subset of the patients in row {es.loc[wholes[0], 'row_id']}"
    return es


def study_labels(es: Any, arm_column: str = "arm") -> list[str]:
    """Trial short names, with the arm added where a trial contributes more than one pooled row.

    >>> import pandas as pd
    >>> study_labels(pd.DataFrame({"short_name": ["A", "A", "B"], "arm": ["x_1", "y", "z"], "yi": [0.1, 0.2, 0.3]}))
    ['A (x 1)', 'A (y)', 'B']
    """
    # only rows that are pooled count: a superseded or subset row does not make a name ambiguous
    pooled = es["yi"].notna() if "yi" in es else pd.Series(True, index=es.index)
    repeated = es["short_name"].where(pooled).duplicated(keep=False) & pooled
    arm = es[arm_column].astype(str).str.replace("_", " ")
    return [f"{s} ({a})" if r else str(s) for s, a, r in zip(es["short_name"], arm, repeated)]
