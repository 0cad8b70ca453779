"""Comparisons that share one control arm (multi-arm or multi-dose trials).

KEYNOTE-010 compared two pembrolizumab doses with one docetaxel arm. Its two log hazard ratios
are correlated through the shared control, so pooling them as independent studies counts the
control patients twice and overstates the trial's weight. :func:`combine_shared_control` replaces
each group of such comparisons by one comparison per trial: the mean of the group's ``yi`` with a
variance that includes the covariances (Gleser & Olkin 2009; Cochrane Handbook, section 23.3.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["combine_shared_control", "shared_control_correlation"]


def shared_control_correlation(n_a: float, n_b: float, n_control: float) -> float:
    """Correlation of two contrasts against one control arm of size ``n_control``.

    With arm-level variances proportional to 1/n (as for a log HR, whose variance is close to
    1/d_experimental + 1/d_control with events roughly proportional to arm size),

    .. math:: \\rho = \\frac{1/n_c}{\\sqrt{(1/n_a + 1/n_c)(1/n_b + 1/n_c)}}.

    >>> round(shared_control_correlation(345, 346, 343), 4)
    0.5018
    """
    inv_c = 1.0 / n_control
    return float(inv_c / np.sqrt((1.0 / n_a + inv_c) * (1.0 / n_b + inv_c)))


def combine_shared_control(
    frame: pd.DataFrame,
    *,
    group: str = "shared_control",
    n_experimental: str = "n_experimental",
    n_control: str = "n_control",
    default_correlation: float = 0.5,
) -> pd.DataFrame:
    """Replace comparisons that share a control arm by one combined comparison per group.

    Parameters
    ----------
    frame : DataFrame
        The frame an ``effects.from_*`` function returns, with ``yi``, ``vi`` and the ``group``
        column (empty for comparisons that share nothing).
    group : str, default "shared_control"
        Column naming the shared control arm.
    n_experimental, n_control : str
        Arm sizes, used for the correlation (:func:`shared_control_correlation`).
    default_correlation : float, default 0.5
        Correlation used when arm sizes are missing (0.5 is the value for equal arms).

    Returns
    -------
    DataFrame
        ``frame`` with each group's rows replaced by one row: the first row's descriptive
        columns, ``yi`` the mean of the group's ``yi``, ``vi = (1/m^2) sum_ij rho_ij sqrt(v_i v_j)``
        (``rho_ii = 1``), ``row_id`` the joined row ids and ``combined_from`` naming the rows it
        replaces; rows without an effect size are kept as they are (with their
        ``exclusion_reason``) and are not combined.

    Examples
    --------
    >>> import warnings, metaoutcome as mo
    >>> from metaoutcome import effects
    >>> hr = mo.load_dataset("hazard_ratios", trial="keynote_010")
    >>> hr = hr[hr["shared_control"].notna()]  # the two doses against one docetaxel arm
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     es = effects.from_hazard_ratios(hr)
    >>> combined = combine_shared_control(es)
    >>> len(es), len(combined), combined["combined_from"].iloc[0]
    (2, 1, 'keynote_010_pembro2_os_hr; keynote_010_pembro10_os_hr')
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a DataFrame; got {type(frame).__name__}")
    for col in ("yi", "vi", group):
        if col not in frame.columns:
            raise ValueError(f"frame has no {col!r} column (run an effects.from_* function first)")
    if not 0.0 <= default_correlation < 1.0:
        raise ValueError(f"default_correlation={default_correlation!r} must be in [0, 1)")
    out = frame.copy()
    out["combined_from"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    usable = out["yi"].notna() & out["vi"].notna() & out[group].notna() & (out[group].astype(str) != "")
    rows: list[pd.Series] = []
    done: set[object] = set()
    for idx in out.index:
        if idx in done:
            continue
        if not usable[idx]:
            rows.append(out.loc[idx])
            continue
        members = out.index[usable & (out[group] == out.at[idx, group])]
        done.update(members)
        if len(members) == 1:
            rows.append(out.loc[idx])
            continue
        sub = out.loc[members]
        v = sub["vi"].to_numpy(dtype=float)
        m = len(sub)
        cov = np.diag(v)
        for i in range(m):
            for j in range(i + 1, m):
                rho = default_correlation
                if n_experimental in sub and n_control in sub:
                    na, nb = sub[n_experimental].iloc[i], sub[n_experimental].iloc[j]
                    nc = sub[n_control].iloc[i]
                    if pd.notna(na) and pd.notna(nb) and pd.notna(nc):
                        rho = shared_control_correlation(float(na), float(nb), float(nc))
                cov[i, j] = cov[j, i] = rho * np.sqrt(v[i] * v[j])
        new = sub.iloc[0].copy()
        new["yi"] = float(sub["yi"].mean())
        new["vi"] = float(cov.sum() / m**2)
        ids = [str(r) for r in (sub["row_id"] if "row_id" in sub else sub.index)]
        new["combined_from"] = "; ".join(ids)
        if "row_id" in sub:
            new["row_id"] = "+".join(ids)
        rows.append(new)
    result = pd.DataFrame(rows).reset_index(drop=True)
    result.attrs = dict(frame.attrs)
    return result
