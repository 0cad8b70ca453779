"""Small helpers shared by the analyses: text formatting and the standalone entry point."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from metaoutcome.reproduce import AnalysisOutput

_METHODS = {
    "REML": "restricted maximum likelihood", "ML": "maximum likelihood", "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel", "EB": "empirical Bayes", "HS": "Hunter-Schmidt", "HE": "Hedges", "SJ": "Sidik-Jonkman",
}
_CI = {"z": "Wald-type (normal)", "t": "t-based", "knha": "Hartung-Knapp-Sidik-Jonkman", "adhoc": "HKSJ (ad hoc floor of 1)"}


def describe_model(method: str, ci_method: str) -> str:
    """One sentence naming the model, the tau^2 estimator and the CI method."""
    if method in ("FE", "EE", "CE"):
        return f"Studies were pooled with a common-effect inverse-variance model ({_CI[ci_method]} CIs)."
    return (f"Studies were pooled with a random-effects inverse-variance model, tau^2 estimated by {_METHODS[method]} "
            f"({method}) and {_CI[ci_method]} confidence intervals; prediction intervals as metafor's predict().")


def fmt_ci(est: float, lo: float, hi: float, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
    """'0.72 (95% CI 0.65 to 0.80)'."""
    return f"{est * scale:.{digits}f}{unit} (95% CI {lo * scale:.{digits}f} to {hi * scale:.{digits}f}{unit})"


def pooled_row(name: str, res: Any) -> dict[str, Any]:
    """One row of a pooled-results table: analysis-scale and natural-scale numbers, heterogeneity."""
    nat = res.back_transform()
    return dict(
        analysis=name, k=res.k, method=res.method, ci_method=res.ci_method, estimate=res.estimate, se=res.se,
        estimate_natural=nat.estimate, ci_low_natural=nat.ci_low, ci_high_natural=nat.ci_high,
        pi_low_natural=nat.pi_low, pi_high_natural=nat.pi_high, pvalue=res.pvalue, tau2=res.tau2,
        i2=res.i2, i2_ci_low=res.i2_ci_low, i2_ci_high=res.i2_ci_high, q=res.q, q_df=res.q_df, q_pvalue=res.q_pvalue,
    )


def run_standalone(module: str, run: Callable[[AnalysisOutput], None], title: str) -> None:
    """``python -m metaoutcome._analyses.<name> [DIR]``: run one analysis into DIR."""
    name = module.rsplit(".", 1)[-1]
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else f"metaoutcome-results/{name}")
    out = AnalysisOutput(name, title, folder)
    folder.mkdir(parents=True, exist_ok=True)
    run(out)
    print(out.write_markdown())


WHOLE_POPULATION = r"^\s*(?:ITT|all randomi[sz]ed|all treated|all enrolled|full analysis)"


def one_population(es: Any, keys: list[str]) -> Any:
    """Keep one population per trial arm/comparison: the whole population where one exists.

    Within each group of ``keys`` (e.g. trial, arm, outcome), rows describing a subset of
    patients (a PD-L1 subgroup) are excluded with a reason naming the whole-population row,
    whether or not that row has an effect size, so a subset never stands in for the whole
    trial. Rows are kept in the frame (yi/vi NaN) so the exclusion is reported, not hidden.
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
    """Trial short names, with the arm added where a trial contributes more than one row."""
    # only rows that are pooled count: a superseded or subset row does not make a name ambiguous
    pooled = es["yi"].notna() if "yi" in es else pd.Series(True, index=es.index)
    repeated = es["short_name"].where(pooled).duplicated(keep=False) & pooled
    arm = es[arm_column].astype(str).str.replace("_", " ")
    return [f"{s} ({a})" if r else str(s) for s, a, r in zip(es["short_name"], arm, repeated)]
