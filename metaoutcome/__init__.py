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
from typing import Any

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
    "meta_regression": ("metaoutcome.regression", "meta_regression"),
    "leave_one_out": ("metaoutcome.diagnostics", "leave_one_out"),
    "influence": ("metaoutcome.diagnostics", "influence"),
    "cumulative": ("metaoutcome.diagnostics", "cumulative"),
    "egger_test": ("metaoutcome.small_study", "egger_test"),
    "rank_test": ("metaoutcome.small_study", "rank_test"),
    "trim_and_fill": ("metaoutcome.small_study", "trim_and_fill"),
    "get_measure": ("metaoutcome.measures", "get_measure"),
    "load_dataset": ("metaoutcome.datasets", "load_dataset"),
    "validate_files": ("metaoutcome.validation", "validate_files"),
    "one_population": ("metaoutcome.review", "one_population"),
}

__all__ = ["__version__", *_LAZY_MODULES, *_LAZY_ATTRS]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    if name in _LAZY_ATTRS:
        module, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'metaoutcome' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
