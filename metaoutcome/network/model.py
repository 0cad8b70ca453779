"""The contrast-based consistency model of network meta-analysis, fitted by generalised least squares.

Each trial's contrasts :math:`y_s` (treatments against its baseline arm) follow

.. math:: y_s \\sim N\\bigl(X_s d,\\; V_s + \\tau^2 S_s\\bigr),

where :math:`d` holds the basic parameters (every treatment against the first), :math:`V_s` is the
within-trial covariance and :math:`S_s` has 1 on the diagonal and 1/2 off it (a common
heterogeneity variance, correlation 1/2 between the contrasts of a multi-arm trial). This is
metafor's ``rma.mv(yi, V, mods = ~ X - 1, random = ~ comp | study, struct = "CS", rho = 1/2)``
and, for the common-effect model, netmeta's estimates (Rücker 2012; the graph-theoretical and the
GLS solution coincide).

:math:`\\tau^2` is estimated by restricted maximum likelihood (Fisher scoring, as metafor) or by
the generalised DerSimonian-Laird method netmeta uses by default (Jackson, White & Riley 2012):
:math:`\\hat\\tau^2 = \\max\\{0, (Q - \\mathrm{df}) / \\operatorname{tr}(P_0 S)\\}` with
:math:`P_0 = W_0 - W_0 X (X^\\top W_0 X)^{-1} X^\\top W_0`, :math:`W_0 = V^{-1}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .._display import ReportMixin, fmt
from ..measures import Measure, get_measure
from .data import NetworkData, as_network

__all__ = ["NetworkResult", "network_meta", "METHODS", "design_matrix", "heterogeneity_structure"]

FloatArray = NDArray[np.float64]

#: tau^2 estimators; "CE" (alias "FE", "EE") is the common-effect model
METHODS = ("REML", "DL", "CE")
_ALIASES = {"FE": "CE", "EE": "CE", "COMMON": "CE", "FIXED": "CE"}
SMALL_VALUES = ("desirable", "undesirable")
_SMALL_ALIASES = {"good": "desirable", "bad": "undesirable"}


def design_matrix(data: NetworkData) -> FloatArray:
    """Rows: contrasts; columns: basic parameters (every treatment but the first against the first)."""
    m, t = len(data.y), len(data.treatments)
    X = np.zeros((m, t))
    X[np.arange(m), data.treat] += 1.0
    X[np.arange(m), data.base] -= 1.0
    return X[:, 1:]


def heterogeneity_structure(data: NetworkData) -> FloatArray:
    """:math:`S`: 1 on the diagonal, 1/2 between contrasts of one trial, 0 elsewhere."""
    m = len(data.study)
    S = np.zeros((m, m))
    bounds = np.flatnonzero(np.diff(data.study)) + 1  # trials' contrasts are contiguous
    for lo, hi in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [m]])):
        S[lo:hi, lo:hi] = 0.5
    S[np.diag_indices_from(S)] = 1.0
    return S


@dataclass(frozen=True)
class _Fit:
    beta: FloatArray
    vb: FloatArray
    P: FloatArray


def _gls(y: FloatArray, X: FloatArray, sigma: FloatArray) -> _Fit:
    """GLS estimate, its covariance, and the REML projection :math:`P` for covariance ``sigma``."""
    c, low = _cho(sigma)
    Winv = _cho_inv(c, low)
    WX = Winv @ X
    A = X.T @ WX
    vb = np.linalg.inv(A)
    vb = 0.5 * (vb + vb.T)
    beta = vb @ (WX.T @ y)
    P = Winv - WX @ vb @ WX.T
    return _Fit(beta, vb, P)


def _cho(a: FloatArray) -> tuple[FloatArray, bool]:
    from scipy.linalg import cho_factor

    c, low = cho_factor(a, lower=True, check_finite=False)
    return c, low


def _cho_inv(c: FloatArray, low: bool) -> FloatArray:
    from scipy.linalg import cho_solve

    return np.asarray(cho_solve((c, low), np.eye(c.shape[0]), check_finite=False))


def _dl(y: FloatArray, V: FloatArray, X: FloatArray, S: FloatArray) -> tuple[float, _Fit, float, int]:
    fit0 = _gls(y, X, V)
    q = float(y @ fit0.P @ y)
    df = len(y) - X.shape[1]
    denom = float(np.sum(fit0.P * S))  # tr(P0 S), both symmetric
    tau2 = max(0.0, (q - df) / denom) if df > 0 and denom > 0 else 0.0
    return tau2, fit0, q, df


def _reml(y: FloatArray, V: FloatArray, X: FloatArray, S: FloatArray, start: float,
          tol: float, maxiter: int) -> tuple[float, int, bool]:
    """REML tau^2 by Fisher scoring (metafor's rma.uni algorithm), step-halving at the 0 boundary."""
    tau2 = max(start, 0.0)
    for it in range(1, maxiter + 1):
        fit = _gls(y, X, V + tau2 * S)
        PS = fit.P @ S
        Py = fit.P @ y
        score = 0.5 * (Py @ S @ Py - np.trace(PS))
        info = 0.5 * float(np.sum(PS * PS.T))
        new = max(0.0, tau2 + score / info)
        if abs(new - tau2) <= tol * max(1.0, tau2):
            return new, it, True
        tau2 = new
    return tau2, maxiter, False


@dataclass(frozen=True, eq=False, repr=False)
class NetworkResult(ReportMixin):
    """A fitted network meta-analysis (consistency model).

    Attributes
    ----------
    data : NetworkData
        The contrasts the model was fitted to.
    method : str
        ``"REML"``, ``"DL"`` (generalised DerSimonian-Laird) or ``"CE"`` (common effect).
    reference : str
        Treatment the effects are shown against.
    level : float
        Confidence level (percent).
    small_values : str
        ``"desirable"`` (a lower value is better, e.g. a hazard ratio) or ``"undesirable"``.
    tau2 : float
        Heterogeneity variance (0 for the common-effect model).
    d, cov : ndarray
        Every treatment against the first treatment (``d[0] = 0``) and their covariance (row and
        column 0 zero), on the analysis scale, under the fitted model.
    d_common, cov_common : ndarray
        The same under the common-effect model.
    q, q_df : float, int
        Cochran's Q of the common-effect consistency model and its degrees of freedom.
    tau2_dl : float
        The generalised DerSimonian-Laird estimate (reported whatever ``method``).
    iterations : int
        Fisher-scoring iterations (REML; 0 otherwise).
    converged : bool
        Whether REML converged.
    """

    data: NetworkData
    method: str
    reference: str
    level: float
    small_values: str
    tau2: float
    d: FloatArray
    cov: FloatArray
    d_common: FloatArray
    cov_common: FloatArray
    q: float
    q_df: int
    tau2_dl: float
    iterations: int = 0
    converged: bool = True

    # -- basics ------------------------------------------------------------------------------
    @property
    def measure_info(self) -> Measure:
        """The measure's registry entry (scale, back-transform, null value)."""
        return get_measure(self.data.measure)

    @property
    def treatments(self) -> tuple[str, ...]:
        """All treatments, in network order."""
        return self.data.treatments

    @property
    def q_pvalue(self) -> float:
        """p-value of Q (NaN when df = 0)."""
        return float(stats.chi2.sf(self.q, self.q_df)) if self.q_df > 0 else math.nan

    @property
    def i2(self) -> float:
        """:math:`I^2 = \\max(0, (Q - df)/Q)` in percent (netmeta)."""
        if self.q_df <= 0 or self.q <= 0:
            return math.nan
        return 100.0 * max(0.0, (self.q - self.q_df) / self.q)

    def i2_ci(self) -> tuple[float, float]:
        """Confidence interval of :math:`I^2` (percent) from the CI of :math:`H` (Higgins & Thompson 2002), as netmeta."""
        q, df = self.q, self.q_df
        if df < 2:
            return math.nan, math.nan
        if q > df + 1:
            se = 0.5 * (math.log(q) - math.log(df)) / (math.sqrt(2 * q) - math.sqrt(2 * df - 1))
        else:
            se = math.sqrt(1 / (2 * (df - 1)) * (1 - 1 / (3 * (df - 1) ** 2)))
        z = stats.norm.ppf(1 - (1 - self.level / 100) / 2)
        lh = 0.5 * math.log(q / df)
        out = []
        for h in (math.exp(lh - z * se), math.exp(lh + z * se)):
            out.append(100.0 * max(0.0, (h**2 - 1) / h**2))
        return out[0], out[1]

    def _index(self, t: str) -> int:
        try:
            return self.treatments.index(t)
        except ValueError:
            raise ValueError(f"treatment {t!r} is not in the network; treatments are {list(self.treatments)}") from None

    def compare(self, treat1: str, treat2: str, *, common: bool = False) -> tuple[float, float]:
        """Estimate and SE of ``treat1`` versus ``treat2`` (analysis scale)."""
        i, j = self._index(treat1), self._index(treat2)
        d, c = (self.d_common, self.cov_common) if common else (self.d, self.cov)
        return float(d[i] - d[j]), math.sqrt(max(c[i, i] + c[j, j] - 2 * c[i, j], 0.0))

    def _z(self) -> float:
        return float(stats.norm.ppf(1 - (1 - self.level / 100) / 2))

    def _frame(self, t1: NDArray[np.int64], t2: NDArray[np.int64], common: bool = False) -> pd.DataFrame:
        d, c = (self.d_common, self.cov_common) if common else (self.d, self.cov)
        est = d[t1] - d[t2]
        se = np.sqrt(np.maximum(c[t1, t1] + c[t2, t2] - 2 * c[t1, t2], 0.0))
        z = self._z()
        lo, hi = est - z * se, est + z * se
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = np.where(se > 0, est / se, np.nan)
        m = self.measure_info
        names = np.array(self.treatments, dtype=object)
        return pd.DataFrame({
            "treat1": names[t1], "treat2": names[t2], "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
            "z": zval, "pvalue": 2 * stats.norm.sf(np.abs(zval)),
            "estimate_natural": m.back(est), "ci_low_natural": m.back(lo), "ci_high_natural": m.back(hi),
        })

    # -- views -------------------------------------------------------------------------------
    def effects(self, reference: str | None = None, *, common: bool = False) -> pd.DataFrame:
        """Every treatment against ``reference`` (default: the result's reference).

        Returns
        -------
        DataFrame
            ``treatment``, ``reference``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``z``,
            ``pvalue`` (analysis scale), ``estimate_natural``, ``ci_low_natural``,
            ``ci_high_natural`` (back-transformed), ``evidence`` (``"direct"``, ``"indirect"`` or
            ``"mixed"``) and ``n_studies`` (trials comparing the two directly). The reference's
            own row is left out.
        """
        ref = self._index(reference if reference is not None else self.reference)
        others = np.array([i for i in range(len(self.treatments)) if i != ref], dtype=np.int64)
        f = self._frame(others, np.full(len(others), ref, dtype=np.int64), common)
        f = f.rename(columns={"treat1": "treatment", "treat2": "reference"})
        ev = self.evidence()
        key = {(a, b): (e, k) for a, b, e, k in ev[["treat1", "treat2", "evidence", "n_studies"]].itertuples(index=False)}
        look = [key.get((a, b)) or key[(b, a)] for a, b in zip(f["treatment"], f["reference"])]
        f["evidence"] = [x[0] for x in look]
        f["n_studies"] = [x[1] for x in look]
        return f

    def league(self, *, common: bool = False) -> pd.DataFrame:
        """All pairwise comparisons (``treat1`` before ``treat2`` in network order) with the
        columns of :meth:`effects`; ``treat1`` versus ``treat2``."""
        t = len(self.treatments)
        i1, i2 = np.triu_indices(t, 1)
        f = self._frame(i1.astype(np.int64), i2.astype(np.int64), common)
        ev = self.evidence()
        f["evidence"] = ev["evidence"].to_numpy()
        f["n_studies"] = ev["n_studies"].to_numpy()
        return f

    def evidence(self) -> pd.DataFrame:
        """For every pair (network order): ``n_studies`` comparing them directly and whether the
        network estimate rests on ``"direct"`` evidence only, ``"indirect"`` evidence only (no
        trial compared them) or both (``"mixed"``; these are the pairs :func:`node_split` splits)."""
        from .inconsistency import _split_columns

        t = len(self.treatments)
        i1, i2 = np.triu_indices(t, 1)
        nd = np.zeros((t, t), dtype=np.int64)
        for design in self.data.designs:
            idx = [self.treatments.index(x) for x in design]
            for a in idx:
                for b in idx:
                    nd[a, b] += a != b
        k = nd[i1, i2]
        X = design_matrix(self.data)
        pairs = [(int(a), int(b)) for a, b, kk in zip(i1, i2, k) if kk > 0]
        has_indirect = np.zeros(len(i1), dtype=bool)
        if pairs:
            W = _split_columns(self.data, pairs)
            coef, *_ = np.linalg.lstsq(X, W, rcond=None)
            resid = np.linalg.norm(W - X @ coef, axis=0)
            ident = resid > 1e-8 * np.maximum(1.0, np.linalg.norm(W, axis=0))
            where = {p: r for p, r in zip(pairs, ident)}
            has_indirect = np.array([where.get((int(a), int(b)), True) for a, b in zip(i1, i2)])
        evid = np.where(k == 0, "indirect", np.where(has_indirect, "mixed", "direct"))
        names = np.array(self.treatments, dtype=object)
        return pd.DataFrame({"treat1": names[i1], "treat2": names[i2], "n_studies": k, "evidence": evid})

    def league_table(self, order: list[str] | None = None, *, digits: int = 2, natural: bool = True,
                     ci: bool = True) -> pd.DataFrame:
        """The league table as netmeta's ``netleague`` prints it (strings, for display).

        Lower triangle: network estimate of the column treatment versus the row treatment; upper
        triangle: the direct estimate (pairwise meta-analysis of the trials that compared them,
        :func:`~metaoutcome.network.direct_estimates`) of the row treatment versus the column
        treatment, ``"."`` where no trial compared them; the diagonal names the treatment.
        ``order`` defaults to decreasing P-score.
        """
        from .inconsistency import direct_estimates
        from .rank import pscores

        if order is None:
            order = list(pscores(self).sort_values("pscore", ascending=False)["treatment"])
        else:
            for t in order:
                self._index(t)
        m = self.measure_info
        z = self._z()

        def cell(est: float, se: float) -> str:
            vals = [est, est - z * se, est + z * se]
            if natural:
                vals = [float(m.back(v)) for v in vals]
            s = f"{vals[0]:.{digits}f}"
            return f"{s} ({vals[1]:.{digits}f} to {vals[2]:.{digits}f})" if ci else s

        direct = direct_estimates(self)
        out = pd.DataFrame("", index=order, columns=order)
        for r, a in enumerate(order):
            for c_, b in enumerate(order):
                if r == c_:
                    out.iloc[r, c_] = a
                elif r > c_:
                    out.iloc[r, c_] = cell(*self.compare(b, a))
                else:
                    de = direct.get((a, b))
                    out.iloc[r, c_] = cell(*de) if de is not None else "."
        return out

    def pscores(self) -> pd.DataFrame:
        """P-scores (netmeta's ``netrank``); see :func:`metaoutcome.network.pscores`."""
        from .rank import pscores

        return pscores(self)

    def summary(self) -> pd.DataFrame:
        """Effects against the reference (the table of :meth:`report`)."""
        return self.effects()

    # -- display -----------------------------------------------------------------------------
    def notes(self) -> tuple[str, ...]:
        """Plain-language notes: purely indirect comparisons, estimability of inconsistency tests."""
        from .inconsistency import decomposition

        ev = self.evidence()
        n_ind = int((ev["evidence"] == "indirect").sum())
        out = []
        if n_ind:
            out.append(f"{n_ind} of {len(ev)} comparisons are purely indirect: no trial compared the two treatments, "
                       "so their estimates rest entirely on the consistency assumption")
        dec = decomposition(self)
        if dec.between_df == 0:
            out.append("inconsistency (between designs, node-splitting) is not estimable: the network has no closed "
                       "loop of independent evidence" + (" (a star network)" if (ev["evidence"] != "mixed").all() else ""))
        if self.data.excluded:
            out.append("trials left out: " + "; ".join(f"{s} ({r})" for s, r in self.data.excluded))
        if not self.converged:
            out.append("REML did not converge; tau^2 is the last iterate")
        return tuple(out)

    def report(self) -> dict[str, Any]:
        model = {"CE": "Common-effect", "REML": "Random-effects (REML)",
                 "DL": "Random-effects (generalised DerSimonian-Laird)"}[self.method]
        lo, hi = self.i2_ci()
        lines = [
            ("Trials", self.data.n_studies), ("Treatments", len(self.treatments)),
            ("Contrasts", len(self.data.y)), ("Designs", len(set(self.data.designs))),
            ("tau^2", self.tau2), ("Q (total)", self.q), ("df", self.q_df),
            ("p(Q)", fmt(self.q_pvalue)), ("I^2 (%)", f"{fmt(self.i2, 1)} [{fmt(lo, 1)}; {fmt(hi, 1)}]"),
        ]
        title = f"{model} network meta-analysis, {self.data.measure} vs {self.reference!r}"
        return {"title": title, "lines": lines, "table": self.effects(), "notes": self.notes()}


def network_meta(
    data: Any,
    *,
    method: str = "REML",
    reference: str | None = None,
    level: float = 95.0,
    small_values: str = "desirable",
    control: dict[str, Any] | None = None,
    **kwargs: Any,
) -> NetworkResult:
    """Fit the consistency model of a frequentist network meta-analysis.

    Parameters
    ----------
    data : NetworkData or DataFrame
        A :class:`~metaoutcome.network.NetworkData`, or a frame passed with ``kwargs`` to
        :func:`~metaoutcome.network.network_from_contrasts` (it has ``yi``) or
        :func:`~metaoutcome.network.network_from_arms`.
    method : {"REML", "DL", "CE"}, default "REML"
        tau^2 estimator: restricted maximum likelihood (metafor ``rma.mv``), the generalised
        DerSimonian-Laird estimator (netmeta's default), or the common-effect model (``"FE"`` and
        ``"EE"`` are accepted).
    reference : str, optional
        Treatment to show effects against (netmeta's ``reference.group``); default the first.
    level : float, default 95
        Confidence level in percent.
    small_values : {"desirable", "undesirable"}, default "desirable"
        Whether lower values are better (as for hazard ratios); used by the rankings
        (netmeta's ``small.values``; ``"good"``/``"bad"`` accepted).
    control : dict, optional
        REML settings: ``tol`` (default 1e-12, relative change of tau^2) and ``maxiter`` (1000).

    Returns
    -------
    NetworkResult

    References
    ----------
    Rücker, G. (2012). Network meta-analysis, electrical networks and graph theory. *Research
    Synthesis Methods*, 3, 312-324. Jackson, D., White, I. R., & Riley, R. D. (2012). Quantifying
    the impact of between-study heterogeneity in multivariate meta-analyses. *Statistics in
    Medicine*, 31, 3805-3820.

    Examples
    --------
    >>> import pandas as pd
    >>> hr = pd.DataFrame({"study": ["a", "b"], "treat1": ["X", "Y"], "treat2": ["C", "C"],
    ...                    "yi": [-0.3, -0.1], "vi": [0.01, 0.02]})
    >>> res = network_meta(hr, method="CE", reference="C", measure="HR")
    >>> round(res.compare("X", "Y")[0], 4), round(res.compare("X", "Y")[1] ** 2, 4)  # Bucher
    (-0.2, 0.03)
    """
    net = as_network(data, **kwargs)
    meth = str(method).upper()
    meth = _ALIASES.get(meth, meth)
    if meth not in METHODS:
        raise ValueError(f"method={method!r} is not one of the allowed values: REML, DL, CE (or FE, EE)")
    sv = _SMALL_ALIASES.get(str(small_values).lower(), str(small_values).lower())
    if sv not in SMALL_VALUES:
        raise ValueError(f"small_values={small_values!r} is not one of: desirable, undesirable (or good, bad)")
    if not (isinstance(level, (int, float)) and 0 < level < 100):
        raise ValueError(f"level={level!r} must be a number between 0 and 100 (percent)")
    ctrl = {"tol": 1e-12, "maxiter": 1000}
    for k, v in (control or {}).items():
        if k not in ctrl:
            raise ValueError(f"control has an unknown setting {k!r}; allowed: {', '.join(ctrl)}")
        ctrl[k] = v
    ref = reference if reference is not None else net.treatments[0]
    if ref not in net.treatments:
        raise ValueError(f"reference={ref!r} is not a treatment of the network; treatments are {list(net.treatments)}")
    X = design_matrix(net)
    S = heterogeneity_structure(net)
    y, V = np.asarray(net.y), np.asarray(net.V)
    tau2_dl, fit0, q, df = _dl(y, V, X, S)
    iterations, converged = 0, True
    if meth == "CE":
        tau2, fit = 0.0, fit0
    elif meth == "DL":
        tau2 = tau2_dl
        fit = _gls(y, X, V + tau2 * S) if tau2 > 0 else fit0
    else:
        if df == 0:
            tau2 = 0.0
        else:
            tau2, iterations, converged = _reml(y, V, X, S, tau2_dl, float(ctrl["tol"]), int(ctrl["maxiter"]))
        fit = _gls(y, X, V + tau2 * S) if tau2 > 0 else fit0

    def full(beta: FloatArray, vb: FloatArray) -> tuple[FloatArray, FloatArray]:
        t = len(net.treatments)
        d, c = np.zeros(t), np.zeros((t, t))
        d[1:], c[1:, 1:] = beta, vb
        d.setflags(write=False)
        c.setflags(write=False)
        return d, c

    d, cov = full(fit.beta, fit.vb)
    dc, cc = full(fit0.beta, fit0.vb)
    return NetworkResult(net, meth, ref, float(level), sv, float(tau2), d, cov, dc, cc, q, int(df), tau2_dl,
                         iterations, converged)
