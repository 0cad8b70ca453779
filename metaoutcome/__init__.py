"""metaoutcome: meta-analysis of the outcomes oncology trials report.

Objective response and disease control rates, median progression-free and overall survival and
hazard ratios, as trials print them, turned into effect sizes, pooled with numbers equal to R's
metafor, and drawn as review-quality figures; with a curated, provenance-tracked evidence base.

Heavy modules are imported when first used, so ``import metaoutcome`` stays fast:

>>> import metaoutcome
>>> sorted(metaoutcome.datasets.list_datasets()["name"])[:2]
['hazard_ratios', 'medians']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded lazily on first attribute access)
_LAZY_MODULES = {
    "datasets": "metaoutcome.datasets",
    "validation": "metaoutcome.validation",
    "measures": "metaoutcome.measures",
    "effects": "metaoutcome.effects",
    "pooling": "metaoutcome.pooling",
    "glmm": "metaoutcome.glmm",
    "subgroups": "metaoutcome.subgroups",
    "plotting": "metaoutcome.plotting",
    "reproduce": "metaoutcome.reproduce",
    "regression": "metaoutcome.regression",
    "diagnostics": "metaoutcome.diagnostics",
    "small_study": "metaoutcome.small_study",
    "gosh": "metaoutcome.gosh",
    "batch": "metaoutcome.batch",
    "network": "metaoutcome.network",
    "engine": "metaoutcome.engine",
    "options": "metaoutcome.options",
    "bayes": "metaoutcome.bayes",
    "design": "metaoutcome.design",
    "printer": "metaoutcome.printer",
    "report": "metaoutcome.report",
    "review": "metaoutcome.review",
}
_LAZY_ATTRS = {
    "pool": ("metaoutcome.pooling", "pool"),
    "pool_mh": ("metaoutcome.pooling", "pool_mh"),
    "pool_peto": ("metaoutcome.pooling", "pool_peto"),
    "pool_glmm": ("metaoutcome.glmm", "pool_glmm"),
    "pool_batch": ("metaoutcome.batch", "pool_batch"),
    "subgroup_analysis": ("metaoutcome.subgroups", "subgroup_analysis"),
    "forest": ("metaoutcome.plotting", "forest"),
    "bubble": ("metaoutcome.plotting", "bubble"),
    "loo_forest": ("metaoutcome.plotting", "loo_forest"),
    "cumulative_forest": ("metaoutcome.plotting", "cumulative_forest"),
    "gosh_plot": ("metaoutcome.plotting", "gosh_plot"),
    "meta_regression": ("metaoutcome.regression", "meta_regression"),
    "leave_one_out": ("metaoutcome.diagnostics", "leave_one_out"),
    "influence": ("metaoutcome.diagnostics", "influence"),
    "cumulative": ("metaoutcome.diagnostics", "cumulative"),
    "rstudent": ("metaoutcome.diagnostics", "rstudent"),
    "hat_matrix": ("metaoutcome.diagnostics", "hat_matrix"),
    "weight_matrix": ("metaoutcome.diagnostics", "weight_matrix"),
    "hatvalues": ("metaoutcome.diagnostics", "hatvalues"),
    "weights": ("metaoutcome.diagnostics", "weights"),
    "leave1out": ("metaoutcome.diagnostics", "leave_one_out"),
    "cumul": ("metaoutcome.diagnostics", "cumulative"),
    "regtest": ("metaoutcome.small_study", "egger_test"),
    "ranktest": ("metaoutcome.small_study", "rank_test"),
    "trimfill": ("metaoutcome.small_study", "trim_and_fill"),
    "permutest": ("metaoutcome.regression", "permutation_test"),
    "egger_test": ("metaoutcome.small_study", "egger_test"),
    "rank_test": ("metaoutcome.small_study", "rank_test"),
    "trim_and_fill": ("metaoutcome.small_study", "trim_and_fill"),
    "get_measure": ("metaoutcome.measures", "get_measure"),
    "load_dataset": ("metaoutcome.datasets", "load_dataset"),
    "validate_files": ("metaoutcome.validation", "validate_files"),
    "network_meta": ("metaoutcome.network", "network_meta"),
    "bayesmeta": ("metaoutcome.bayes", "bayesmeta"),
    "map_prior": ("metaoutcome.bayes", "map_prior"),
    "simon": ("metaoutcome.design", "simon"),
    "ahern": ("metaoutcome.design", "ahern"),
    "bayes_oc": ("metaoutcome.design", "bayes_oc"),
    "shrinkage_forest": ("metaoutcome.plotting.shrinkage", "shrinkage_forest"),
    "one_population": ("metaoutcome.review", "one_population"),
}

__all__ = ["__version__", *_LAZY_MODULES, *_LAZY_ATTRS]

if TYPE_CHECKING:  # the same names, seen statically by type checkers and editors (never run)
    from . import (
        batch as batch,
        bayes as bayes,
        datasets as datasets,
        design as design,
        diagnostics as diagnostics,
        effects as effects,
        engine as engine,
        glmm as glmm,
        gosh as gosh,
        measures as measures,
        network as network,
        options as options,
        plotting as plotting,
        pooling as pooling,
        printer as printer,
        regression as regression,
        report as report,
        reproduce as reproduce,
        review as review,
        small_study as small_study,
        subgroups as subgroups,
        validation as validation,
    )
    from .batch import pool_batch as pool_batch
    from .bayes import bayesmeta as bayesmeta, map_prior as map_prior
    from .datasets import load_dataset as load_dataset
    from .design import ahern as ahern, bayes_oc as bayes_oc, simon as simon
    from .diagnostics import (
        cumulative as cumulative,
        cumulative as cumul,
        hat_matrix as hat_matrix,
        hatvalues as hatvalues,
        influence as influence,
        leave_one_out as leave1out,
        leave_one_out as leave_one_out,
        rstudent as rstudent,
        weight_matrix as weight_matrix,
        weights as weights,
    )
    from .glmm import pool_glmm as pool_glmm
    from .measures import get_measure as get_measure
    from .network import network_meta as network_meta
    from .plotting import (
        bubble as bubble,
        cumulative_forest as cumulative_forest,
        forest as forest,
        gosh_plot as gosh_plot,
        loo_forest as loo_forest,
    )
    from .plotting.shrinkage import shrinkage_forest as shrinkage_forest
    from .pooling import pool as pool, pool_mh as pool_mh, pool_peto as pool_peto
    from .review import one_population as one_population
    from .regression import meta_regression as meta_regression, permutation_test as permutest
    from .small_study import (
        egger_test as egger_test,
        egger_test as regtest,
        rank_test as rank_test,
        rank_test as ranktest,
        trim_and_fill as trim_and_fill,
        trim_and_fill as trimfill,
    )
    from .subgroups import subgroup_analysis as subgroup_analysis
    from .validation import validate_files as validate_files


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    if name in _LAZY_ATTRS:
        module, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'metaoutcome' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
