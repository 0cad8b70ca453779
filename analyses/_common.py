"""Small helpers shared by the analyses: methods text, the report's tables, and the standalone entry point."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import metaoutcome as mo
from metaoutcome.printer import fmt_ci as _fmt_interval
from metaoutcome.printer import fmt_estimate_ci, fmt_p_journal, fmt_x, is_missing
from metaoutcome.report import cite
from metaoutcome.reproduce import AnalysisOutput
from metaoutcome.review import WHOLE_POPULATION, one_population, study_labels

__all__ = ["describe_model", "review_tables", "model_references", "fmt_ci", "pooled_row", "run_standalone", "WHOLE_POPULATION",
           "one_population", "study_labels", "patients", "control_median", "Included", "subgroup_display",
           "fmt_p_journal", "fmt_x"]

_METHODS = {
    "REML": "restricted maximum likelihood", "ML": "maximum likelihood", "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel", "EB": "empirical Bayes", "HS": "Hunter-Schmidt", "HE": "Hedges", "SJ": "Sidik-Jonkman",
}
_METHOD_KEYS = {"REML": ("reml",), "DL": ("dl",)}
_CI = {"z": "Wald-type (normal)", "t": "t-based", "knha": "Hartung-Knapp-Sidik-Jonkman", "adhoc": "HKSJ (ad hoc floor of 1)"}


def model_references(method: str, ci_method: str) -> tuple[str, ...]:
    """Reference keys (:data:`metaoutcome.report.REFERENCES`) for the sentence :func:`describe_model` writes."""
    keys: tuple[str, ...] = ("metafor",)
    if method not in ("FE", "EE", "CE"):
        keys += _METHOD_KEYS.get(method, ()) + ("qprofile", "i2", "prediction")
    if ci_method in ("knha", "adhoc"):
        keys += ("knha", "sidik_jonkman")
    return keys


def describe_model(method: str, ci_method: str) -> str:
    """One sentence naming the model, the τ² estimator and the CI method, with its citations."""
    if method in ("FE", "EE", "CE"):
        return (f"Studies were pooled with a common-effect inverse-variance model ({_CI[ci_method]} CIs) as in "
                f"metafor {cite('metafor')}.")
    est = _METHODS[method] + (f" {cite(*_METHOD_KEYS[method])}" if method in _METHOD_KEYS else "")
    ci = _CI[ci_method] + (f" {cite('knha', 'sidik_jonkman')}" if ci_method in ("knha", "adhoc") else "")
    return (f"Studies were pooled with a random-effects inverse-variance model as in metafor {cite('metafor')}, "
            f"τ² estimated by {est} with its Q-profile confidence interval {cite('qprofile')}, {ci} confidence "
            f"intervals, I² {cite('i2')} and 95% prediction intervals {cite('prediction')}.")


def fmt_ci(est: float, lo: float, hi: float, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
    """'0.72 (95% CI 0.65 to 0.80)'."""
    body = _fmt_interval(lo * scale, hi * scale, digits)
    return f"{fmt_x(est * scale, digits)}{unit} (95% CI {body}{unit})"


def pooled_row(name: str, res: Any) -> dict[str, Any]:
    """One row of a pooled-results CSV: analysis-scale and natural-scale numbers, heterogeneity."""
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


# -- what the report needs ----------------------------------------------------------------------------


def placebo_controlled_hrs(endpoint: str, cancer: str = "HCC") -> pd.DataFrame:
    """Effect sizes of the placebo-controlled phase 3 hazard ratios of one endpoint (every row, converted or not):
    the one selection the HCC review and the Bayesian re-analysis of the design benchmarks share."""
    import warnings

    from metaoutcome import effects

    hr = mo.load_dataset("hazard_ratios", cancer=cancer, endpoint=endpoint, with_trials=True)
    hr = hr[(hr["control_class"] == "placebo") & (hr["phase"] == "3")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)  # rows without an SE are reported by the caller
        return effects.from_hazard_ratios(hr).reset_index(drop=True)


def _int(x: Any) -> int | None:
    return None if x is None or pd.isna(x) else int(float(x))


def patients(es: pd.DataFrame) -> tuple[int | None, str, dict[str, int | None]]:
    """Patients in the pooled comparisons, counting a shared control arm once; never guessed.

    ``es`` holds the pooled rows before doses sharing a control are combined (columns
    ``trial_id``, ``n_experimental``, ``n_control``, ``shared_control``; or ``n`` for arm-level
    rows). Returns the total when every trial's count is recorded (else None), a note saying for
    how many trials it is, and the count per trial.
    """
    per: dict[str, int | None] = {}
    for trial, grp in es.groupby("trial_id", sort=False):
        if "n_experimental" in grp:
            exp = [_int(v) for v in grp["n_experimental"]]
            ctl = [_int(v) for v in grp["n_control"]]
            if None in exp or None in ctl:
                per[str(trial)] = None
                continue
            shared = "shared_control" in grp and grp["shared_control"].notna().any()
            per[str(trial)] = sum(exp) + (max(ctl) if shared else sum(ctl))
        else:
            ns = [_int(v) for v in grp["n"]]
            per[str(trial)] = None if None in ns else sum(ns)  # type: ignore[arg-type]
    known = [v for v in per.values() if v is not None]
    if len(known) == len(per):
        return sum(known), "", per
    note = f"at least {sum(known):,}; n recorded for {len(known)} of {len(per)}"
    return None, note, per


def control_median(trial_ids: Iterable[str], populations: Sequence[str], outcome: str, control_class: str,
                   cancer: str) -> tuple[float | None, int]:
    """The median of the control arms' printed medians in the pooled trials, and how many there were.

    Per trial, the control arm's median for ``outcome`` in the same population as the pooled
    comparison; when the population is worded differently, the trial's only control-arm median.
    """
    med = mo.load_dataset("medians", cancer=cancer, outcome=outcome)
    med = med[(med["regimen_class"] == control_class) & med["superseded_by"].isna()]
    vals = []
    for trial, pop in zip(trial_ids, populations):
        rows = med[med["trial_id"] == trial]
        same = rows[rows["population"] == pop]
        pick = same if len(same) == 1 else (rows if len(rows) == 1 else None)
        if pick is not None and not is_missing(pick["median"].iloc[0]):
            vals.append(float(pick["median"].iloc[0]))
    if not vals:
        return None, 0
    return float(pd.Series(vals).median()), len(vals)


def _short_citation(citation: str, year: Any) -> str:
    """'Brahmer et al. 2015' from 'Brahmer J, Reckamp KL, ...'; an unsigned item by its first words."""
    y = "" if year is None or pd.isna(year) else f" {int(float(year))}"
    m = re.match(r"^([A-Z][A-Za-z'\-]+(?: [a-z]+)*(?: [A-Z][A-Za-z'\-]+)?) [A-Z]{1,3}[,.]", str(citation))
    if m:
        return f"{m.group(1)} et al.{y}"
    words = str(citation).split()
    return " ".join(words[:5]) + ("..." if len(words) > 5 else "") + y


class Included:
    """The trials an analysis pooled: what each compared, its patients and where its numbers come from."""

    def __init__(self) -> None:
        self.arms: dict[str, list[str]] = {}
        self.n: dict[str, int | None] = {}
        self.sources: dict[str, list[str]] = {}

    def add(self, rows: pd.DataFrame, per_trial: dict[str, int | None], comparison: bool) -> None:
        """Record pooled ``rows`` (a comparison per row, or one arm per row) and their patients per trial."""
        for _, r in rows.iterrows():
            trial = str(r["trial_id"])
            text = f"{r['experimental_regimen']} vs {r['control_regimen']}" if comparison else str(r["regimen"])
            self.arms.setdefault(trial, []).append(text)
            self.sources.setdefault(trial, []).append(str(r["source_id"]))
        for trial, n in per_trial.items():
            if n is not None:
                self.n[trial] = max(n, self.n.get(trial) or 0)
            else:
                self.n.setdefault(trial, None)

    def table(self) -> tuple[pd.DataFrame, list[str]]:
        """The characteristics-of-included-trials table, and the source ids to list (numbered as cited).

        A trial's citation is its primary publication, or, when the curated data names none, the
        first source its pooled numbers were read from; the other sources follow in the list.
        """
        trials = mo.load_dataset("trials").set_index("trial_id")
        src = mo.load_dataset("sources").set_index("source_id")
        order: list[str] = []
        rows = []
        for trial, arms in self.arms.items():
            t = trials.loc[trial]
            primary = t["primary_source_id"]
            sid = primary if isinstance(primary, str) and primary in src.index else self.sources[trial][0]
            if sid not in order:
                order.append(sid)
            cit = f"{_short_citation(src.loc[sid, 'citation'], src.loc[sid, 'year'])} [{order.index(sid) + 1}]"
            n = self.n.get(trial)
            rows.append({
                "Trial": t["short_name"], "NCT": t["nct_id"] if isinstance(t["nct_id"], str) else "not recorded",
                "Phase": str(t["phase"]), "Design": str(t["design"]), "Setting": str(t["setting"]),
                "Arms": "; ".join(dict.fromkeys(arms)), "n": f"{n:,}" if n is not None else "not recorded",
                "Citation": cit,
            })
        rest = [s for trial in self.sources for s in self.sources[trial]]
        return pd.DataFrame(rows), order + [s for s in dict.fromkeys(rest) if s not in order]


def subgroup_display(outcome: str, sg: Any, digits: int = 1) -> pd.DataFrame:
    """Rows per regimen class and the test for subgroup differences, on the natural scale."""
    recs = []
    for cls, r in sg.results.items():
        nat = r.back_transform()
        recs.append({"Outcome": outcome, "Regimen class": cls, "Arms": str(r.k),
                     "Pooled (95% CI)": fmt_estimate_ci(nat.estimate, nat.ci_low, nat.ci_high, digits),
                     "I², %": fmt_x(r.i2, 0) if r.k > 1 else "", "τ²": fmt_x(r.tau2, 3) if r.k > 1 else "",
                     "Subgroup difference": ""})
    recs[-1]["Subgroup difference"] = (f"Q = {fmt_x(sg.q_between, 2)}, df = {sg.q_between_df}, "
                                       f"{fmt_p_journal(sg.q_between_pvalue, prefix='p')}")
    return pd.DataFrame(recs)


def review_tables(out: AnalysisOutput, sof: Any, title: str, included: Any, flows: Any) -> None:
    """The report's tables of a review question: summary of findings, included trials (with the
    note on how n is counted), the not-pooled table and the data sources."""
    out.summary_of_findings(sof, title)
    chars, sources = included.table()
    out.included_trials(chars, notes=("n: patients in the pooled comparisons or arms, as recorded in the curated "
                                      "data (not recorded where the publication read did not print it). Citation "
                                      "numbers refer to the data sources.",))
    out.not_pooled(flows)
    out.sources(sources)

