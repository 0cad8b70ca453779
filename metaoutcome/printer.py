"""One number and p-value formatter for every printout, table, figure and report.

Two styles, each with one documented rule:

**Printout** (metafor's ``.pval``/``fmtx``, what R users compare a printout against):

* numbers: fixed ``digits`` decimals (default 4), ``NA`` for a missing value, ``-0.0000`` printed
  as ``0.0000``;
* p-values: ``digits`` decimals, and below ``10**-digits`` the bound ``<.0001``. In a table cell
  the p-value reads ``<.0001`` / ``0.0123``; after a label, as metafor writes
  ``p-val < .0001`` / ``p-val = 0.0123`` (``showeq=True``). No p-value is ever printed in
  scientific notation or as ``0.0000``.

**Journal** (JAMA/BMJ/Lancet conventions as a results section prints them):

* p-values: below 0.001 -> ``< 0.001``; from 0.001 to below 0.01 -> three decimals
  (``0.004``); otherwise two decimals (``0.03``, ``0.41``), except that a value that two decimals
  would round to 0.05 keeps three (``0.049``, ``0.051``) so that rounding never moves a p-value
  across 0.05; above 0.99 -> ``> 0.99``. With ``prefix="p"`` the cell becomes a phrase:
  ``p < 0.001``, ``p = 0.03``.
* estimates and intervals: two decimals by default, ``0.73 (0.62 to 0.87)``; "to" rather than a
  dash, so that negative bounds read unambiguously.

Every function returns ``str`` and accepts ``None``/NaN (printed as ``NA`` in printouts and as an
empty string or the ``missing`` argument in journal style).

Examples
--------
>>> fmt_p(3e-6), fmt_p(0.01234), fmt_p(3e-6, showeq=True), fmt_p(0.01234, showeq=True)
('<.0001', '0.0123', '< .0001', '= 0.0123')
>>> fmt_p_journal(3e-6, prefix="p"), fmt_p_journal(0.0312, prefix="p"), fmt_p_journal(0.0494)
('p < 0.001', 'p = 0.03', '0.049')
>>> fmt_x(-0.00001), fmt_x(float("nan")), fmt_x(1.23456, 2)
('0.0000', 'NA', '1.23')
>>> fmt_estimate_ci(0.7312, 0.6201, 0.8705)
'0.73 (0.62 to 0.87)'
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "fmt_x",
    "fmt_p",
    "fmt_p_journal",
    "fmt_ci",
    "fmt_estimate_ci",
    "fmt_percent",
    "is_missing",
]


def is_missing(x: Any) -> bool:
    """True for ``None`` and for a float NaN (pandas' ``NA``/``NaT`` included)."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _fixed(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    # -0.0000 -> 0.0000: a sign on a printed zero is noise
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def fmt_x(x: Any, digits: int = 4, *, missing: str = "NA") -> str:
    """Format a number with ``digits`` fixed decimals (metafor's ``fmtx``).

    Parameters
    ----------
    x : float or None
        The value. Strings are returned unchanged; infinities print as ``Inf``/``-Inf`` as in R.
    digits : int, default 4
        Decimals.
    missing : str, default "NA"
        What ``None``/NaN print as.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_x(0.123456), fmt_x(2, 1), fmt_x(None), fmt_x(float("inf"))
    ('0.1235', '2.0', 'NA', 'Inf')
    """
    if isinstance(x, str):
        return x
    if is_missing(x):
        return missing
    xf = float(x)
    if math.isinf(xf):
        return "Inf" if xf > 0 else "-Inf"
    return _fixed(xf, max(int(digits), 0))


def fmt_p(p: Any, digits: int = 4, *, showeq: bool = False) -> str:
    """Format a p-value as a printout does (metafor's ``.pval``).

    Parameters
    ----------
    p : float or None
        The p-value.
    digits : int, default 4
        Decimals; values below ``10**-digits`` print as the bound ``<.0001`` (for 4 digits).
    showeq : bool, default False
        Write the value as the right-hand side of a phrase: ``= 0.0123`` / ``< .0001``, as in
        metafor's ``p-val < .0001``.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_p(1.708e-16), fmt_p(0.5), fmt_p(None), fmt_p(0.5, showeq=True)
    ('<.0001', '0.5000', 'NA', '= 0.5000')
    """
    digits = max(int(digits), 1)
    if is_missing(p):
        return "= NA" if showeq else "NA"
    pf = float(p)
    cutoff = 10.0 ** (-digits)
    bound = "." + "0" * (digits - 1) + "1"
    if pf < cutoff:
        return ("< " if showeq else "<") + bound
    return ("= " if showeq else "") + _fixed(pf, digits)


def fmt_p_journal(p: Any, *, prefix: str = "", missing: str = "") -> str:
    """Format a p-value as a journal prints it (JAMA/BMJ/Lancet rules; see the module notes).

    Parameters
    ----------
    p : float or None
        The p-value.
    prefix : str, default ""
        ``"p"`` (or ``"P"``) writes a phrase, ``p < 0.001`` / ``p = 0.03``; empty writes a table
        cell, ``<0.001`` / ``0.03``.
    missing : str, default ""
        What ``None``/NaN print as.

    Returns
    -------
    str

    Examples
    --------
    >>> [fmt_p_journal(p) for p in (0.0004, 0.0042, 0.0312, 0.0496, 0.41, 0.996)]
    ['<0.001', '0.004', '0.03', '0.050', '0.41', '>0.99']
    >>> fmt_p_journal(0.0004, prefix="P")
    'P < 0.001'
    """
    if is_missing(p):
        return missing
    pf = float(p)
    if pf < 0.001:
        rel, val = "<", "0.001"
    elif pf > 0.99:
        rel, val = ">", "0.99"
    elif pf < 0.01:
        rel, val = "=", f"{pf:.3f}"
    else:
        val = f"{pf:.2f}"
        if val == "0.05" and pf != 0.05:
            val = f"{pf:.3f}"
        rel = "="
    if prefix:
        return f"{prefix} {rel} {val}"
    return val if rel == "=" else rel + val


def fmt_ci(low: Any, high: Any, digits: int = 2, *, sep: str = " to ", missing: str = "NA") -> str:
    """Format an interval, ``0.62 to 0.87`` (journal style; ``sep=", "`` gives ``[0.62, 0.87]``-style bodies).

    Examples
    --------
    >>> fmt_ci(0.62, 0.8705), fmt_ci(-1.5, -0.25, 1)
    ('0.62 to 0.87', '-1.5 to -0.2')
    """
    return f"{fmt_x(low, digits, missing=missing)}{sep}{fmt_x(high, digits, missing=missing)}"


def fmt_estimate_ci(
    estimate: Any, low: Any, high: Any, digits: int = 2, *, sep: str = " to ", missing: str = "NA"
) -> str:
    """Format ``estimate (low to high)``, the journal form of an effect with its interval.

    Examples
    --------
    >>> fmt_estimate_ci(0.7312, 0.6201, 0.8705), fmt_estimate_ci(1.2, 0.9, 1.6, 1, sep="-")
    ('0.73 (0.62 to 0.87)', '1.2 (0.9-1.6)')
    """
    est = fmt_x(estimate, digits, missing=missing)
    if is_missing(low) and is_missing(high):
        return est
    return f"{est} ({fmt_ci(low, high, digits, sep=sep, missing=missing)})"


def fmt_percent(x: Any, digits: int = 1, *, sign: bool = True, missing: str = "") -> str:
    """Format a percentage (already on the 0-100 scale), ``12.3%``.

    Examples
    --------
    >>> fmt_percent(12.345), fmt_percent(100, 0), fmt_percent(5, sign=False), fmt_percent(None)
    ('12.3%', '100%', '5.0', '')
    """
    if is_missing(x):
        return missing
    return fmt_x(x, digits) + ("%" if sign else "")
