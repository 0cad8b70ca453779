"""Pooling engine: common-effect and random-effects models equal to R metafor.

Entry points
------------
:func:`pool`
    Inverse-variance pooling of effect sizes (``yi``, ``vi``) or of the frame the effect-size
    step returns: common effect (``method="FE"``/``"EE"``/``"CE"``) or random effects with the
    tau^2 estimators DL, HE, HS, SJ, ML, REML (default), EB and PM; CIs by ``"z"`` (default),
    ``"t"``, ``"knha"`` (Hartung-Knapp-Sidik-Jonkman) or ``"adhoc"`` (HKSJ with its variance
    factor floored at 1); prediction intervals as metafor's ``predict`` or
    Higgins-Thompson-Spiegelhalter; heterogeneity (Q, I^2, H^2, tau^2 with SE, Q-profile CIs).
    metafor: ``rma.uni`` + ``confint`` + ``predict``.
:func:`pool_mh`
    Mantel-Haenszel pooling of 2x2 tables (OR, RR, RD). metafor: ``rma.mh``.
:func:`pool_peto`
    Peto's one-step odds ratio. metafor: ``rma.peto``.

The binomial-normal GLMM for single proportions is :func:`metaoutcome.glmm.pool_glmm`.

Every function returns a :class:`~metaoutcome.results.PoolResult`.

What differs from metafor (3.8-1) and why
-----------------------------------------
=============================  ==========================================  =====================================
Situation                      metafor                                     metaoutcome (why)
=============================  ==========================================  =====================================
ML/REML/EB/PM solver           Fisher scoring (stops at a change < 1e-5;   bracketing root finder to machine
                               fails to converge on a few % of data sets)  precision; always converges
                               and uniroot (tol 1.2e-4)
ML/REML likelihood bimodal     may stop at a local maximum (e.g. stays at  global maximum on tau^2 >= 0
                               tau^2 = 0 when the score there is < 0)
k = 1                          Q = 0, p = 1, I^2 = 0, H^2 = 1, tau^2 = 0   heterogeneity NaN with a warning
                                                                           (undefined, not zero)
Q-profile bounds, ``level``    uniroot tol 1.2e-4                          machine precision
GLMM, 0 < x < n in some study  Wald Q from glm's last iterate              limit of the Wald Q (studies at 0/n
                                                                           drop out); agrees with metafor
GLMM, all 0 or all n events    error (lme4 cannot fit)                     NaN estimates + warning + counts
GLMM, equal proportions        error ("Response is constant")              tau^2 = 0 fit
=============================  ==========================================  =====================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import (
    check_choice,
    check_counts,
    check_flag,
    check_labels,
    check_level,
    check_number,
    check_same_length,
    level_percent,
)
from ._frontdoor import excluded_note, fit_conditioned, resolve
from ._warnings import Notes as _Notes
from .engine import dist
from .engine.fit import fit_many, undefined_for_one_study
from .engine.fit import fixed_heterogeneity as _fixed_het
from .engine.fit import z_inference as _z_inference
from .engine.qprofile import SIGNS
from .engine.stack import stack
from .measures import get_measure
from .options import CI_METHODS, COMMON_METHODS, KNHA_METHODS, METHODS, PI_METHODS
from .options import ci_method_option, method_option, pi_method_option
from .results import ExcludedRow, PoolResult

__all__ = ["pool", "pool_mh", "pool_peto", "METHODS", "CI_METHODS", "PI_METHODS"]

FloatArray = NDArray[np.float64]

# the vocabularies live in metaoutcome.options (one definition, no heavy imports)



# ------------------------------------------------------------------------------------------------
# input handling
# ------------------------------------------------------------------------------------------------


def default_variance_columns(data: pd.DataFrame, vi: Any, sei: Any) -> tuple[Any, Any]:
    """``(vi, sei)`` with the frame's ``vi`` (else ``sei``) column chosen when neither is given."""
    if vi is None and sei is None:
        if "vi" in data.columns:
            return "vi", None
        if "sei" in data.columns:
            return None, "sei"
        raise ValueError("data has neither a 'vi' nor a 'sei' column; pass vi= or sei=")
    return vi, sei


# ------------------------------------------------------------------------------------------------
# the inverse-variance model
# ------------------------------------------------------------------------------------------------


def check_model_options(
    method: str, ci_method: str | None, pi_method: str, level: float, tau2_ci_max: float | None,
    test: str | None = None,
) -> tuple[str, str, str, float]:
    """The options of :func:`pool` (and :func:`metaoutcome.batch.pool_batch`) checked at the door:
    ``(method, ci_method, pi_method, alpha)`` with names normalised (``test=`` is metafor's name
    for ``ci_method=``), or ValueError naming the argument and the allowed values."""
    method = method_option(method, METHODS)
    ci_method = ci_method_option(ci_method, test)
    pi_method = pi_method_option(pi_method)
    alpha = 1.0 - check_level(level)
    check_tau2_ci_max(tau2_ci_max)
    return method, ci_method, pi_method, alpha


def check_tau2_ci_max(tau2_ci_max: Any) -> None:
    """``tau2_ci_max`` is None or a finite number > 0 (ValueError naming it otherwise)."""
    if tau2_ci_max is None:
        return
    msg = f"tau2_ci_max={tau2_ci_max!r} must be a finite number > 0 (or None for metafor's default max(100, 10 tau^2))"
    if isinstance(tau2_ci_max, (bool, str, bytes)):
        raise ValueError(msg)
    try:
        val = float(tau2_ci_max)
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    if not (val > 0 and math.isfinite(val)):
        raise ValueError(msg)


def _one(fit: dict[str, Any], method: str, ci_method: str, pi_method: str, notes: _Notes) -> dict[str, Any]:
    """Row 0 of :func:`fit_many` as :class:`PoolResult` fields, with its warnings."""
    k = int(fit["q_df"][0]) + 1
    undefined_for_one_study(fit, np.array([k == 1]))
    common = method in COMMON_METHODS
    if not fit["converged"][0]:  # pragma: no cover - the bracketing solver always converges
        notes.warn(f"the {method} estimator of tau^2 did not converge")
    if ci_method in KNHA_METHODS:
        if common:
            notes.warn(
                f"ci_method={ci_method!r} (Knapp-Hartung) is not meant for a common-effect model "
                f"(method={method!r}); metafor warns the same"
            )
        if fit["knha_zero"][0]:
            notes.warn(
                "the Knapp-Hartung variance factor is 0 because all estimates equal the pooled "
                "estimate, so the CI has zero width (as in metafor); ci_method='adhoc' floors it at 1"
            )
    if pi_method == "hts" and k == 2 and not common:
        notes.warn("pi_method='hts' uses t with k - 2 = 0 df at k = 2; metafor (pi.type='riley') uses 1 df, as here")
    skip = {"knha_zero", "s2w", "sw", "tau2_ci_low_sign", "tau2_ci_high_sign", "tau2_ci_max", "weights"}
    out = {name: (val[0].item() if isinstance(val, np.ndarray) else val) for name, val in fit.items() if name not in skip}
    out["weights"] = fit["weights"][0, :k].copy()
    out["tau2_ci_signs"] = (SIGNS[fit["tau2_ci_low_sign"][0]], SIGNS[fit["tau2_ci_high_sign"][0]])
    out["q_df"] = k - 1
    for name in ("converged", "tau2_ci_empty"):
        out[name] = bool(out[name])
    out["iterations"] = int(out["iterations"])
    if k == 1:
        notes.warn(
            "k = 1: the pooled estimate is the single study itself; heterogeneity (tau^2, I^2, H^2, Q) "
            "is undefined and reported as NaN"
        )
        return out
    if out["tau2_ci_empty"]:
        notes.warn(
            "the Q-profile confidence interval for tau^2 is empty (Q at tau^2 = 0 is below the "
            "lower chi-square quantile); its bounds are reported as 0, as metafor does"
        )
    if out["tau2_ci_signs"][1] == ">" and not out["tau2_ci_empty"]:
        tmax = float(fit["tau2_ci_max"][0])
        notes.warn(
            f"the upper Q-profile bound for tau^2 lies beyond the search limit {tmax:g} and is "
            f"reported as that limit (metafor prints '>{tmax:g}'); pass tau2_ci_max= to search further"
        )
    return out


def pool(
    yi: ArrayLike | pd.DataFrame | str | None,
    vi: ArrayLike | str | None = None,
    *,
    sei: ArrayLike | str | None = None,
    data: pd.DataFrame | None = None,
    measure: str | None = None,
    method: str = "REML",
    ci_method: str | None = None,
    level: float = 95,
    pi_method: str = "default",
    labels: Sequence[Any] | str | None = None,
    ni: ArrayLike | str | None = None,
    tau2_ci_max: float | None = None,
    test: str | None = None,
) -> PoolResult:
    """Pool effect sizes with a common-effect or random-effects model (metafor ``rma.uni``).

    Parameters
    ----------
    yi : array-like, DataFrame or str
        Effect sizes on the analysis scale; or the DataFrame the effect-size step returns
        (columns ``yi``, ``vi``, optionally ``measure``, ``ni``, ``exclusion_reason`` and a label
        column such as ``label`` or ``trial_id``); or a column name of ``data``.
    vi : array-like or str, optional
        Sampling variances (> 0), or a column name of ``data``.
    sei : array-like or str, optional
        Standard errors instead of ``vi``.
    data : DataFrame, optional
        Frame in which string arguments are looked up.
    measure : str, optional
        Measure name (``"HR"``, ``"PLO"``, ...; see :mod:`metaoutcome.measures`). Default: the
        frame's ``attrs["measure"]`` or ``measure`` column, else ``"GEN"``.
    method : {"REML", "DL", "HE", "HS", "SJ", "ML", "EB", "PM", "FE", "EE", "CE"}, default "REML"
        tau^2 estimator, or ``"FE"``/``"EE"``/``"CE"`` for the common-effect model.
    ci_method : {"z", "t", "knha", "adhoc"}, default "z"
        Inference for the pooled estimate: normal, t with k-1 df, Hartung-Knapp-Sidik-Jonkman,
        or HKSJ with the variance factor floored at 1 (metafor ``test=``). ``"hksj"`` and ``"hakn"``
        are accepted as ``"knha"``; ``"hk"`` is refused as ambiguous (see :mod:`metaoutcome.options`).
    level : float, default 95
        Confidence level: a percentage (95) or a proportion in (0.5, 1) (0.95), as metafor reads
        it; (0, 0.5] is refused as ambiguous (metafor reads 0.05 as alpha). Stored as the percent.
    pi_method : {"default", "hts"}, default "default"
        Prediction interval: metafor's ``predict`` (critical value from z, or t with k-1 df when
        ``ci_method`` is not z) or Higgins-Thompson-Spiegelhalter (t with k-2 df, floored at 1 as
        metafor's ``pi.type="riley"``).
    labels : sequence or str, optional
        Study labels (or a column of ``data``); default the frame's label column, else
        ``"Study 1"``, ``"Study 2"``, ...
    ni : array-like or str, optional
        Study sizes; needed to back-transform the Freeman-Tukey measure (PFT).
    tau2_ci_max : float, optional
        Upper end of the Q-profile search; default ``max(100, 10 tau^2)`` as metafor.
    test : {"z", "t", "knha", "adhoc"}, optional
        metafor's name for ``ci_method``; give either (both only if they agree).

    Returns
    -------
    PoolResult
        See :class:`~metaoutcome.results.PoolResult`.

    Raises
    ------
    ValueError
        On NaN/inf values in array input, ``vi <= 0`` (naming the rows of a frame), mismatched
        lengths, k = 0, an unknown ``method``/``ci_method``/``pi_method``/``measure``, a ``level``
        outside the level rule, ``ci_method`` and ``test`` that disagree, or data whose spread is
        beyond double precision (yi and vi outside abs(yi) <= 1e50, 1e-100 <= vi <= 1e100 are
        centred and scaled first; see :mod:`metaoutcome._frontdoor`).

    Warns
    -----
    UserWarning
        For every excluded row of a frame (with its reason), for k = 1, for an empty or
        truncated Q-profile interval, and for Knapp-Hartung with a common-effect model. Each
        warning is also kept in ``result.notes``.

    Notes
    -----
    With ``w_i = 1/(v_i + tau^2)`` the pooled estimate and its variance are

    .. math:: \\hat\\mu = \\sum w_i y_i / \\sum w_i,\\qquad \\mathrm{Var}(\\hat\\mu) = 1/\\sum w_i.

    Knapp-Hartung multiplies the variance by ``s^2 = sum w_i (y_i - mu)^2 / (k - 1)`` (``"adhoc"``:
    ``max(1, s^2)``; metafor sets ``s^2 = 0`` when the sum is below machine epsilon) and uses t
    with k-1 df. The prediction interval is
    ``mu +/- c sqrt(tau^2 + Var(mu))``. Heterogeneity: Cochran's
    ``Q = sum v_i^{-1} (y_i - mu_FE)^2`` with k-1 df; for random-effects models
    ``I^2 = 100 tau^2 / (vt + tau^2)`` and ``H^2 = tau^2/vt + 1`` with the typical within-study
    variance ``vt = (k-1) / (sum w - sum w^2 / sum w)``, ``w = 1/v`` (Higgins & Thompson 2002);
    for common-effect models ``I^2 = max(0, 100 (Q - (k-1)) / Q)`` and ``H^2 = Q/(k-1)``. The
    tau^2 estimators and the Q-profile CI are in :mod:`metaoutcome.heterogeneity`.

    For ML, REML, EB and PM the estimating equation is solved by a bracketing root finder
    rather than metafor's Fisher scoring / ``uniroot``: it converges on every data set and to
    machine precision (``converged`` and ``iterations`` report it).

    k = 1 returns the study itself with heterogeneity NaN (metafor reports Q = 0, I^2 = 0).

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. *Controlled Clinical
    Trials* 7:177-188.

    Hartung J, Knapp G (2001). A refined method for the meta-analysis of controlled clinical
    trials with binary outcome. *Statistics in Medicine* 20:3875-3889.

    Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. *Statistics
    in Medicine* 21:1539-1558.

    Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
    meta-analysis. *Journal of the Royal Statistical Society A* 172:137-159.

    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software* 36(3):1-48.

    Examples
    --------
    BCG vaccine trials (metafor's ``dat.bcg``), log risk ratios:

    >>> import numpy as np
    >>> tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
    >>> tneg = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
    >>> cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
    >>> cneg = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
    >>> yi = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
    >>> vi = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    >>> res = pool(yi, vi, measure="RR")
    >>> round(res.estimate, 4), round(res.tau2, 4), round(res.i2, 2)
    (-0.7145, 0.3132, 92.22)
    >>> nat = res.back_transform()
    >>> round(nat.estimate, 4), round(nat.ci_low, 4), round(nat.ci_high, 4)
    (0.4894, 0.3441, 0.6962)
    """
    method, ci_method, pi_method, alpha = check_model_options(method, ci_method, pi_method, level, tau2_ci_max, test)
    inp = resolve(yi, vi, sei, data, labels, ni, measure)
    y, v, lab, nis, mname, excluded = inp.y, inp.v, inp.labels, inp.ni, inp.measure, inp.excluded
    notes = _Notes()
    if y.size == 1 and ci_method != "z":
        notes.warn(f"k = 1: ci_method={ci_method!r} needs k >= 2; using ci_method='z' (metafor does the same)")
        ci_method = "z"
    if excluded:
        notes.warn(excluded_note(excluded, inp.n_input))
    if get_measure(mname).needs_ni and nis is None:
        notes.warn(f"measure {mname!r} needs ni to back-transform; natural-scale values will be NaN")
    # data beyond 1e50 (or variances beyond 1e+-100) are centred and scaled first (_frontdoor)
    fit = fit_conditioned(
        stack(y, v), lambda st, tmax: fit_many(st, method, ci_method, alpha, pi_method, tmax), tau2_ci_max
    )
    out = _one(fit, method, ci_method, pi_method, notes)
    model = "common" if method in COMMON_METHODS else "random"
    return PoolResult(
        k=int(y.size),
        method=method,
        ci_method=ci_method,
        level=level_percent(level),
        measure=mname,
        yi=y,
        vi=v,
        labels=lab,
        ni=nis,
        excluded=tuple(excluded),
        pi_method=pi_method,
        model=model,
        notes=tuple(notes.items),
        **out,
    )


# ------------------------------------------------------------------------------------------------
# 2x2 tables: Mantel-Haenszel and Peto
# ------------------------------------------------------------------------------------------------


def _tables(
    ai: ArrayLike, bi: ArrayLike | None, ci: ArrayLike, di: ArrayLike | None,
    n1i: ArrayLike | None, n2i: ArrayLike | None, labels: Sequence[Any] | None, notes: _Notes,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, tuple[str, ...], list[ExcludedRow]]:  # fmt: skip
    """Checked 2x2 tables; tables with a missing count are excluded and reported (as metafor omits them)."""
    from .effects.binary import other_cell  # (lazily: pool() need not load the effect-size package)

    labels = check_labels(labels)
    cells = check_counts({"ai": ai, "ci": ci}, allow_nan=True)
    a, c = cells["ai"], cells["ci"]
    # the second cell of each arm, from it or from the arm size (the effect-size step's rule)
    b = check_counts({"bi": other_cell(a, bi, n1i, "bi", "n1i", "ai")}, allow_nan=True)["bi"]
    d = check_counts({"di": other_cell(c, di, n2i, "di", "n2i", "ci")}, allow_nan=True)["di"]
    k = check_same_length(ai=a, bi=b, ci=c, di=d) if labels is None else check_same_length(ai=a, bi=b, ci=c, di=d, labels=list(labels))
    lab = tuple(str(s) for s in labels) if labels is not None else tuple(f"Study {i + 1}" for i in range(k))
    missing = np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d)
    excluded = [
        ExcludedRow(int(i), lab[i], "missing count(s): " + ", ".join(
            nm for nm, arr in (("ai", a), ("bi", b), ("ci", c), ("di", d)) if np.isnan(arr[i])))
        for i in np.flatnonzero(missing)
    ]  # fmt: skip
    if excluded:
        listed = "; ".join(f"row {e.row} ({e.label}): {e.reason}" for e in excluded)
        notes.warn(f"{len(excluded)} of {k} tables excluded: {listed}")
    keep = ~missing
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    lab = tuple(s for s, kp in zip(lab, keep) if kp)
    if a.size == 0:
        raise ValueError("k=0: there are no complete tables to pool; ai, bi, ci, di must hold at least one study")
    if ((a + b) <= 0).any() or ((c + d) <= 0).any():
        raise ValueError("every group size (ai + bi and ci + di) must be > 0")
    return a, b, c, d, lab, excluded


def _escalc_2x2(
    measure: str, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, add: float
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """metafor ``escalc`` for 2x2 tables with ``to="only0"``, ``drop00=TRUE`` (as rma.mh/rma.peto call it)."""
    drop = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    adj = np.where(zero, add, 0.0)
    a, b, c, d = a + adj, b + adj, c + adj, d + adj
    if measure != "PETO":  # the two-arm formulas (effects.binary.cell_effects, loaded lazily as above)
        from .effects.binary import cell_effects

        yi, vi = cell_effects(measure, a, b, c, d)
    else:
        n1, n2 = a + b, c + d
        with np.errstate(divide="ignore", invalid="ignore"):
            n = n1 + n2
            xt, yt = a + c, b + d
            e = xt * n1 / n
            var = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
            yi = (a - e) / var
            vi = 1 / var
    yi = np.where(drop, np.nan, yi)
    vi = np.where(drop, np.nan, vi)
    return yi, vi, drop


def pool_mh(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    measure: str = "OR",
    level: float = 95,
    labels: Sequence[Any] | None = None,
    correct: bool = True,
    add: float = 0.5,
) -> PoolResult:
    """Mantel-Haenszel common-effect pooling of 2x2 tables (metafor ``rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di : array-like
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``).
        ``bi``/``di`` may be replaced by the group sizes ``n1i``/``n2i``.
    n1i, n2i : array-like, optional
        Group sizes.
    measure : {"OR", "RR", "RD"}, default "OR"
        Odds ratio, risk ratio or risk difference.
    level : float, default 95
        Confidence level in percent (95), or as a proportion in (0.5, 1) (0.95, metafor's habit).
    labels : sequence, optional
        Study labels.
    correct : bool, default True
        Continuity correction in the Cochran-Mantel-Haenszel test (OR only).
    add : float, default 0.5
        Added to every cell of a table with a zero cell, only for the study-level ``yi``/``vi``
        used in the heterogeneity test (the MH estimate uses the raw counts), as metafor.

    Returns
    -------
    PoolResult
        ``model="MH"``; ``weights`` are the MH weights in percent; ``tables`` the 2x2 tables;
        ``extra`` holds ``co``/``co_pvalue`` (Cochran's test, metafor ``CO``/``COp``),
        ``cmh``/``cmh_pvalue`` (Cochran-Mantel-Haenszel test, metafor ``MH``/``MHp``), ``bd``/``bd_pvalue``
        (Breslow-Day) and ``tarone``/``tarone_pvalue``/``tarone_df`` for the OR, and ``k_yi`` (studies with a
        defined ``yi``).

    Notes
    -----
    OR: ``OR_MH = sum(a d / n) / sum(b c / n)`` with the Robins-Breslow-Greenland variance of its
    log. RR: ``sum(a n2 / n) / sum(c n1 / n)`` with the Greenland-Robins variance. RD:
    ``sum(a n2/n - c n1/n) / sum(n1 n2 / n)`` with the Greenland-Robins (Sato) variance. Q is
    ``sum (y_i - theta_MH)^2 / v_i`` over tables with a defined ``y_i``; tables with no events (or
    only events) in both groups enter the MH estimate but not Q.

    References
    ----------
    Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from retrospective
    studies of disease. *JNCI* 22:719-748.

    Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel variance
    consistent in both sparse data and large-strata limiting models. *Biometrics* 42:311-323.

    Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse
    follow-up data. *Biometrics* 41:55-68.

    Examples
    --------
    The first three BCG trials (metafor ``dat.bcg``; ``rma.mh`` gives -1.350924):

    >>> res = pool_mh([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209], measure="RR")
    >>> round(res.estimate, 6)
    -1.350924
    """
    measure = check_choice("measure", measure, ["OR", "RR", "RD"])
    alpha = 1.0 - check_level(level)
    correct = check_flag("correct", correct)
    add = float(check_number("add", add, minimum=0) or 0.0)
    if ci is None:
        raise ValueError("ci (events in group 2) is required")
    notes = _Notes()
    a, b, c, d, lab, excluded = _tables(ai, bi, ci, di, n1i, n2i, labels, notes)
    k = a.size
    yi, vi, drop = _escalc_2x2(measure, a, b, c, d, add)
    n1, n2, n = a + b, c + d, a + b + c + d
    nan = float("nan")
    extra: dict[str, float] = {}
    if measure == "OR":
        pi_, qi_ = a / n + d / n, b / n + c / n
        ri, si = (a / n) * d, (b / n) * c
        r, s = float(ri.sum()), float(si.sum())
        if r == 0 or s == 0:
            beta = se = nan
            notes.warn("the MH odds ratio is undefined: sum(a d / n) or sum(b c / n) is 0")
        else:
            beta = math.log(r / s)
            se = math.sqrt(0.5 * (np.sum(pi_ * ri) / r**2 + np.sum(pi_ * si + qi_ * ri) / (r * s) + np.sum(qi_ * si) / s**2))
        w = (b / n) * c
        xt, yt = a + c, b + d
        cc = 0.5 if correct else 0.0
        if xt.sum() > 0 and yt.sum() > 0:
            num = (abs(float(np.sum(a - (n1 / n) * xt))) - cc) ** 2
            # Cochran's test (hypergeometric variance with n) and the CMH test (with n - 1)
            co = num / float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / n))))
            cmh = num / float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))))
            extra.update(co=co, co_pvalue=float(dist.chi2_sf(co, 1)), cmh=cmh, cmh_pvalue=float(dist.chi2_sf(cmh, 1)))
        else:
            extra.update(co=nan, co_pvalue=nan, cmh=nan, cmh_pvalue=nan)
        if not math.isnan(beta):
            psi = r / s
            if psi == 1.0:
                n11 = (n1 / n) * xt
            else:
                aa = psi * (n1 + xt) + (n2 - xt)
                bb = np.sqrt(aa**2 - 4 * n1 * xt * psi * (psi - 1))
                n11 = (aa - bb) / (2 * (psi - 1))
            pos = (n11 > 0) & (xt > 0) & (yt > 0)
            kpos = int(pos.sum())
            n11 = n11[pos]
            n12 = n1[pos] - n11
            n21 = xt[pos] - n11
            n22 = n11 - n1[pos] - xt[pos] + n[pos]
            vv = 1.0 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
            bd = max(0.0, float(np.sum((a[pos] - n11) ** 2 / vv)))
            ta = max(0.0, bd - float(np.sum(a[pos] - n11)) ** 2 / float(np.sum(vv)))
            extra.update(
                bd=bd, tarone=ta, tarone_df=float(kpos - 1),
                bd_pvalue=float(dist.chi2_sf(bd, kpos - 1)) if kpos > 1 else nan,
                tarone_pvalue=float(dist.chi2_sf(ta, kpos - 1)) if kpos > 1 else nan,
            )  # fmt: skip
    elif measure == "RR":
        r, s = float(np.sum(a * (n2 / n))), float(np.sum(c * (n1 / n)))
        if a.sum() == 0 or c.sum() == 0:
            beta = se = nan
            notes.warn("the MH risk ratio is undefined: no events in one group across all tables")
        else:
            beta = math.log(r / s)
            se = math.sqrt(float(np.sum((n1 / n) * (n2 / n) * (a + c) - (a / n) * c)) / (r * s))
        w = (c / n) * (a + b)
    else:
        den = float(np.sum(n1 * (n2 / n)))
        beta = float(np.sum(a * (n2 / n) - c * (n1 / n))) / den
        se = math.sqrt(
            (beta * float(np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2))
             + float(np.sum(a * (n2 - c) / n + c * (n1 - a) / n)) / 2) / den**2
        )  # fmt: skip
        w = (n1 / n) * (n2 / n) * n
    keep = ~drop
    het = _fixed_het(yi[keep], vi[keep], beta)
    extra.update(k_yi=float(keep.sum()), correct=float(correct), add=float(add))
    for i in np.flatnonzero(drop):
        notes.warn(
            f"row {i} ({lab[i]}): no events (or only events) in both groups, so its own effect size is "
            "undefined (yi = NaN); the table still enters the MH estimate but not Q"
        )
    return PoolResult(
        k=k, method="MH", ci_method="z", level=level_percent(level), measure=measure, converged=True, iterations=0,
        yi=yi, vi=vi, labels=lab, weights=100.0 * w / float(np.sum(w)), model="MH", excluded=tuple(excluded),
        tables=np.column_stack([a, b, c, d]),
        notes=tuple(notes.items), extra=extra, **_z_inference(beta, se, alpha), **het,
    )  # fmt: skip


def pool_peto(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    level: float = 95,
    labels: Sequence[Any] | None = None,
    add: float = 0.5,
) -> PoolResult:
    """Peto's one-step log odds ratio (metafor ``rma.peto``).

    Parameters
    ----------
    ai, bi, ci, di, n1i, n2i : array-like
        2x2 tables as in :func:`pool_mh`.
    level : float, default 95
        Confidence level in percent (95), or as a proportion in (0.5, 1) (0.95, metafor's habit).
    labels : sequence, optional
        Study labels.
    add : float, default 0.5
        Cell correction for the study-level ``yi``/``vi`` of tables with a zero cell (display
        only; the pooled estimate and Q use the raw counts), as metafor.

    Returns
    -------
    PoolResult
        ``model="Peto"``, ``measure="OR"``; ``weights`` proportional to the hypergeometric
        variances ``V_i``.

    Notes
    -----
    With ``E_i = (a_i + c_i) n1_i / n_i`` and ``V_i = (a_i + c_i)(b_i + d_i) n1_i n2_i /
    (n_i^2 (n_i - 1))``: ``log OR = sum(a_i - E_i) / sum V_i``, ``SE = 1/sqrt(sum V_i)``,
    ``Q = sum (a_i - E_i)^2 / V_i - (sum(a_i - E_i))^2 / sum V_i``.

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after
    myocardial infarction. *Progress in Cardiovascular Diseases* 27:335-371.

    Examples
    --------
    The first three BCG trials (metafor ``dat.bcg``; ``rma.peto`` gives -1.237343):

    >>> res = pool_peto([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    >>> round(res.estimate, 6)
    -1.237343
    """
    alpha = 1.0 - check_level(level)
    add = float(check_number("add", add, minimum=0) or 0.0)
    if ci is None:
        raise ValueError("ci (events in group 2) is required")
    notes = _Notes()
    a, b, c, d, lab, excluded = _tables(ai, bi, ci, di, n1i, n2i, labels, notes)
    k = a.size
    yi, vi, drop = _escalc_2x2("PETO", a, b, c, d, add)
    n1, n2, n = a + b, c + d, a + b + c + d
    xt, yt = a + c, b + d
    e = xt * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    sv = float(v.sum())
    if sv == 0:
        raise ValueError(
            "ai, ci: one of the two outcomes never occurred in any table, so Peto's method cannot be used"
        )
    beta = float(np.sum(a - e)) / sv
    se = math.sqrt(1.0 / sv)
    kpos = int((v > 0).sum())
    keep = ~drop
    k_yi = int(keep.sum())
    vpos = v > 0
    q = max(0.0, float(np.sum((a - e)[vpos] ** 2 / v[vpos])) - float(np.sum(a - e)) ** 2 / sv)
    het = _fixed_het(yi[keep], vi[keep], beta, q=q)
    if kpos > 1 and k_yi > 1:
        het.update(q_df=k_yi - 1, q_pvalue=float(dist.chi2_sf(q, k_yi - 1)),
                   i2=max(0.0, 100 * (q - (k_yi - 1)) / q) if q > 0 else 0.0, h2=q / (k_yi - 1))  # fmt: skip
    for i in np.flatnonzero(drop):
        notes.warn(
            f"row {i} ({lab[i]}): no events (or only events) in both groups, so its own effect size is "
            "undefined (yi = NaN) and it contributes nothing to the Peto estimate or Q"
        )
    return PoolResult(
        k=k, method="PETO", ci_method="z", level=level_percent(level), measure="OR", converged=True, iterations=0,
        yi=yi, vi=vi, labels=lab, weights=100.0 * v / sv, model="Peto", excluded=tuple(excluded),
        tables=np.column_stack([a, b, c, d]), notes=tuple(notes.items), extra={"k_yi": float(k_yi), "add": float(add)},
        **_z_inference(beta, se, alpha), **het,
    )  # fmt: skip
