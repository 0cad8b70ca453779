"""Shared by the tests that compare with R metafor: the fixtures that the R scripts in
``tests/reference/`` write (JSON), and how to read their values (R's ``NULL``/``NA`` -> NaN)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE = Path(__file__).parent / "reference"

#: tests/reference/make_analysis_fixtures.R -> analysis_fixtures.json
ANALYSIS: dict[str, Any] = json.loads((REFERENCE / "analysis_fixtures.json").read_text())


def as_list(x: Any) -> list[Any]:
    """A JSON value as a list (jsonlite writes a length-1 vector as a scalar, NULL as null)."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def as_array(x: Any) -> np.ndarray:
    """A JSON value as a float array, null (R's NA) as NaN."""
    return np.array([np.nan if a is None else a for a in as_list(x)], dtype=float)

#: tests/reference/make_engine_fixtures.R -> engine_fixtures.json
ENGINE: dict[str, Any] = json.loads((REFERENCE / "engine_fixtures.json").read_text())
