"""The normal, t, chi-square and F tail functions the engine needs, from :mod:`scipy.special`.

``scipy.stats`` takes ~0.8 s to import; these are the same special functions its distributions
call (``norm.sf(x) = ndtr(-x)``, ``t.isf(q, df) = -stdtrit(df, q)``, ``chi2.sf = chdtrc``,
``chi2.isf = chdtri``, ``chi2.ppf(p, df) = 2 gammaincinv(df/2, p)``, ``f.sf = fdtrc``), so the
numbers are the same; :mod:`scipy.special` is imported on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _sp() -> Any:
    from scipy import special

    return special


def norm_sf(x: Any) -> Any:
    return _sp().ndtr(-np.asarray(x, dtype=float))


def norm_cdf(x: Any) -> Any:
    return _sp().ndtr(x)


def norm_isf(q: Any) -> Any:
    return -_sp().ndtri(q)


def t_sf(x: Any, df: Any) -> Any:
    return _sp().stdtr(df, -np.asarray(x, dtype=float))


def t_isf(q: Any, df: Any) -> Any:
    return -_sp().stdtrit(df, q)


def chi2_sf(x: Any, df: Any) -> Any:
    return _sp().chdtrc(df, x)


def chi2_cdf(x: Any, df: Any) -> Any:
    return _sp().chdtr(df, x)


def chi2_isf(q: Any, df: Any) -> Any:
    return _sp().chdtri(df, q)


def chi2_ppf(p: Any, df: Any) -> Any:
    return 2.0 * _sp().gammaincinv(np.asarray(df, dtype=float) / 2.0, p)


def f_sf(x: Any, dfn: Any, dfd: Any) -> Any:
    return _sp().fdtrc(dfn, dfd, x)
