"""Network data: arm-level or contrast-level trial results turned into correlated contrasts.

Every trial contributes the contrasts of its arms against one baseline arm (the first of its
treatments in the network's treatment order), with their full covariance matrix: for arm-level
data the covariance of two contrasts is the variance of the shared baseline arm; for
contrast-level data it comes from the variances of all pairwise contrasts (as netmeta's
``pairwise`` output gives them) or, for comparisons reported against one shared control arm only
(KEYNOTE-010's two pembrolizumab doses against one docetaxel arm), from the correlation
:func:`metaoutcome.effects.shared_control_correlation` gives. A three-arm trial is one trial with
two correlated contrasts, never two independent trials.

>>> import pandas as pd
>>> arms = pd.DataFrame({"study": ["s1", "s1", "s2", "s2", "s2"], "treatment": ["A", "B", "A", "B", "C"],
...                      "events": [10, 15, 8, 12, 20], "n": [100, 100, 90, 95, 92]})
>>> net = network_from_arms(arms, measure="OR")
>>> net.treatments, net.n_studies, len(net.y)
(('A', 'B', 'C'), 2, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..effects.shared_control import shared_control_correlation
from ..measures import MEASURES, Measure, get_measure, register_measure

__all__ = [
    "NetworkData",
    "network_from_arms",
    "network_from_contrasts",
    "ARM_MEASURES",
    "MULTIARM_TOLERANCE",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: arm-level measures: binary (events/n) and continuous (mean, sd, n)
ARM_MEASURES = ("OR", "RR", "RD", "MD")
#: absolute tolerance for the consistency of a multi-arm trial's pairwise contrasts (netmeta's
#: ``tol.multiarm`` default): published estimates are rounded, so exact additivity cannot be asked
MULTIARM_TOLERANCE = 0.001

if "MD" not in MEASURES:  # the mean difference of two arms (netmeta's default for continuous outcomes)
    register_measure(Measure("MD", "mean difference", "generic", "raw",
                             lambda x, ni=None: np.asarray(x, dtype=float), 0.0, "linear", "Mean difference"))


@dataclass(frozen=True, eq=False)
class NetworkData:
    """Correlated contrasts of a network of trials, one block per trial.

    Attributes
    ----------
    measure : str
        Measure name (``"OR"``, ``"RR"``, ``"RD"``, ``"MD"``, ``"HR"``, ...), in the registry.
    treatments : tuple of str
        All treatments, sorted (the order of every matrix below).
    studies : tuple of str
        Trial labels, in input order.
    study_arms : tuple of tuple of str
        Each trial's treatments, baseline first.
    y : ndarray
        Contrasts (treatment minus the trial's baseline, analysis scale), trial by trial.
    V : ndarray
        Their within-trial covariance matrix (block diagonal).
    treat : ndarray of int
        Index (into ``treatments``) of the treatment of each contrast.
    base : ndarray of int
        Index of the baseline treatment of each contrast.
    study : ndarray of int
        Index (into ``studies``) of the trial of each contrast.
    n_patients : ndarray
        Patients per treatment summed over trials (NaN where some arm's size is unknown).
    excluded : tuple of (str, str)
        Trials left out, with the reason (e.g. no events in any arm of an odds-ratio analysis).
    """

    measure: str
    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    study_arms: tuple[tuple[str, ...], ...]
    y: FloatArray = field(repr=False)
    V: FloatArray = field(repr=False)
    treat: IntArray = field(repr=False)
    base: IntArray = field(repr=False)
    study: IntArray = field(repr=False)
    n_patients: FloatArray = field(repr=False)
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def n_studies(self) -> int:
        """Number of trials."""
        return len(self.studies)

    @property
    def designs(self) -> tuple[tuple[str, ...], ...]:
        """Each trial's design: its set of treatments, in network order."""
        order = {t: i for i, t in enumerate(self.treatments)}
        return tuple(tuple(sorted(a, key=order.__getitem__)) for a in self.study_arms)

    def edges(self) -> pd.DataFrame:
        """One row per directly compared pair: ``treat1``, ``treat2``, ``n_studies``, ``multiarm``
        (how many of those trials have more than two arms)."""
        rows: dict[tuple[str, str], list[int]] = {}
        for design in self.designs:
            for i in range(len(design)):
                for j in range(i + 1, len(design)):
                    rec = rows.setdefault((design[i], design[j]), [0, 0])
                    rec[0] += 1
                    rec[1] += len(design) > 2
        return pd.DataFrame([dict(treat1=a, treat2=b, n_studies=k, multiarm=m) for (a, b), (k, m) in rows.items()],
                            columns=["treat1", "treat2", "n_studies", "multiarm"])

    def contrasts(self) -> pd.DataFrame:
        """The contrasts as a tidy frame: ``study``, ``treat1``, ``treat2`` (the baseline), ``yi``, ``vi``."""
        return pd.DataFrame({
            "study": [self.studies[s] for s in self.study],
            "treat1": [self.treatments[t] for t in self.treat],
            "treat2": [self.treatments[b] for b in self.base],
            "yi": self.y, "vi": np.diag(self.V).copy(),
        })


# -- checks ---------------------------------------------------------------------------------------

def _column(frame: pd.DataFrame, name: str | None, what: str) -> pd.Series:
    if name is None or name not in frame.columns:
        raise ValueError(f"{what}={name!r} is not a column of the frame; columns are {list(frame.columns)}")
    return frame[name]


def _check_connected(treatments: Sequence[str], arms: Sequence[tuple[str, ...]], studies: Sequence[str]) -> None:
    parent = {t: t for t in treatments}

    def find(t: str) -> str:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a in arms:
        for t in a[1:]:
            parent[find(t)] = find(a[0])
    groups: dict[str, list[str]] = {}
    for t in treatments:
        groups.setdefault(find(t), []).append(t)
    if len(groups) > 1:
        parts = []
        for members in groups.values():
            trials = [s for s, a in zip(studies, arms) if a[0] in members]
            parts.append(f"{{{', '.join(members)}}} (trials: {', '.join(trials)})")
        raise ValueError(f"the network is disconnected: {len(groups)} separate components, "
                         + "; ".join(parts) + ". Analyse each component separately or add a trial that links them")


def _assemble(measure: str, blocks: list[tuple[str, tuple[str, ...], FloatArray, FloatArray]],
              sizes: dict[str, float], excluded: list[tuple[str, str]]) -> NetworkData:
    """Stack per-trial blocks (label, arms with baseline first, contrasts, covariance)."""
    if not blocks:
        raise ValueError("no trial with usable data: a network needs at least one trial")
    treatments = tuple(sorted({t for _, arms, _, _ in blocks for t in arms}))
    _check_connected(treatments, [b[1] for b in blocks], [b[0] for b in blocks])
    index = {t: i for i, t in enumerate(treatments)}
    m = sum(len(b[2]) for b in blocks)
    y, V = np.empty(m), np.zeros((m, m))
    treat, base, study = (np.empty(m, dtype=np.int64) for _ in range(3))
    r = 0
    for s, (_, arms, ys, vs) in enumerate(blocks):
        k = len(ys)
        y[r:r + k] = ys
        V[r:r + k, r:r + k] = vs
        treat[r:r + k] = [index[t] for t in arms[1:]]
        base[r:r + k] = index[arms[0]]
        study[r:r + k] = s
        r += k
    n_pat = np.array([sizes.get(t, math.nan) for t in treatments], dtype=float)
    for a in (y, V, treat, base, study, n_pat):
        a.setflags(write=False)
    return NetworkData(measure, treatments, tuple(b[0] for b in blocks), tuple(b[1] for b in blocks), y, V,
                       treat, base, study, n_pat, tuple(excluded))


def _order_arms(arms: Sequence[str]) -> list[int]:
    """Positions of a trial's arms with the alphabetically first treatment (the baseline) first."""
    return sorted(range(len(arms)), key=lambda i: arms[i])


# -- arm-level data -------------------------------------------------------------------------------

def network_from_arms(
    frame: pd.DataFrame,
    *,
    study: str = "study",
    treatment: str = "treatment",
    events: str | None = "events",
    n: str = "n",
    mean: str | None = None,
    sd: str | None = None,
    measure: str = "OR",
    add: float = 0.5,
) -> NetworkData:
    """Build a network from arm-level data in long format (one row per trial arm).

    Parameters
    ----------
    frame : DataFrame
        One row per arm.
    study, treatment : str
        Columns naming the trial and the arm's treatment.
    events, n : str
        Columns of events and patients per arm (binary measures).
    mean, sd : str, optional
        Columns of the arm's mean and standard deviation (``measure="MD"``; ``n`` as well).
    measure : {"OR", "RR", "RD", "MD"}, default "OR"
        Log odds ratio, log risk ratio, risk difference or mean difference.
    add : float, default 0.5
        Continuity correction added to events and non-events of every arm of a trial in which
        some arm has no events or only events (binary measures), so that a multi-arm trial stays
        consistent. A trial with no events in any arm (or, for OR and RR, only events in every arm)
        carries no information on a ratio and is left out, with the reason in ``excluded``.

    Returns
    -------
    NetworkData

    Notes
    -----
    With arm-level statistics :math:`\\ell_k` and variances :math:`s_k` (log odds with
    :math:`1/x + 1/(n-x)`, log risk with :math:`1/x - 1/n`, risk with :math:`p(1-p)/n`, mean with
    :math:`sd^2/n`), the contrasts against the baseline arm :math:`b` are
    :math:`\\ell_k - \\ell_b`, with variance :math:`s_k + s_b` and covariance :math:`s_b` between
    two contrasts of the same trial.

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({"study": ["a", "a", "a"], "treatment": ["P", "X", "Y"],
    ...                      "mean": [0.1, -0.5, -0.9], "sd": [1.0, 1.0, 1.2], "n": [50, 50, 50]})
    >>> net = network_from_arms(arms, measure="MD", events=None, mean="mean", sd="sd")
    >>> net.V.round(4).tolist()
    [[0.04, 0.02], [0.02, 0.0488]]
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a DataFrame; got {type(frame).__name__}")
    measure = str(measure).upper()
    if measure not in ARM_MEASURES:
        raise ValueError(f"measure={measure!r} is not one of the allowed values: {', '.join(ARM_MEASURES)}")
    if not (math.isfinite(add) and add >= 0):
        raise ValueError(f"add={add!r} must be a finite number >= 0")
    st = _column(frame, study, "study").astype(str)
    tr = _column(frame, treatment, "treatment").astype(str)
    nn = pd.to_numeric(_column(frame, n, "n"), errors="coerce").to_numpy(float)
    if measure == "MD":
        a = pd.to_numeric(_column(frame, mean, "mean"), errors="coerce").to_numpy(float)
        b = pd.to_numeric(_column(frame, sd, "sd"), errors="coerce").to_numpy(float)
    else:
        a = pd.to_numeric(_column(frame, events, "events"), errors="coerce").to_numpy(float)
        b = np.full(len(a), math.nan)
    blocks: list[tuple[str, tuple[str, ...], FloatArray, FloatArray]] = []
    excluded: list[tuple[str, str]] = []
    sizes: dict[str, float] = {}
    for label, rows in st.groupby(st, sort=False).groups.items():
        pos = [frame.index.get_loc(i) for i in rows]
        arms = [tr.iloc[p] for p in pos]
        where = f"trial {label!r}"
        dup = sorted({t for t in arms if arms.count(t) > 1})
        if dup:
            raise ValueError(f"{where} has more than one arm of treatment {dup[0]!r} (a treatment compared with "
                             "itself); merge the arms or give them different treatment names")
        if len(arms) < 2:
            raise ValueError(f"{where} has a single arm ({arms[0]!r}); a network needs at least two arms per trial")
        ni, ai, bi = nn[pos], a[pos], b[pos]
        if not np.all(np.isfinite(ni)) or np.any(ni <= 0):
            raise ValueError(f"{where}: column {n!r} must be a positive number in every arm; got {ni.tolist()}")
        if measure == "MD":
            if not np.all(np.isfinite(ai)):
                raise ValueError(f"{where}: column {mean!r} is missing in some arm; got {ai.tolist()}")
            if not np.all(np.isfinite(bi)) or np.any(bi <= 0):
                raise ValueError(f"{where}: column {sd!r} must be positive in every arm (a non-positive variance); "
                                 f"got {bi.tolist()}")
            stat, var = ai, bi**2 / ni
        else:
            if not np.all(np.isfinite(ai)) or np.any(ai < 0) or np.any(ai > ni):
                raise ValueError(f"{where}: column {events!r} must be a count between 0 and {n!r} in every arm "
                                 f"(inconsistent arm data); got events {ai.tolist()} of {ni.tolist()}")
            none, every = bool(np.all(ai == 0)), bool(np.all(ai == ni))
            if measure != "RD" and (none or every):
                excluded.append((str(label), f"{'no events' if none else 'only events'} in every arm: "
                                             f"no information on the {measure}"))
                continue
            if np.any((ai == 0) | (ai == ni)):
                ai, ni_c = ai + add, ni + 2 * add
            else:
                ni_c = ni
            p = ai / ni_c
            if measure == "OR":
                stat, var = np.log(p / (1 - p)), 1 / ai + 1 / (ni_c - ai)
            elif measure == "RR":
                stat, var = np.log(p), 1 / ai - 1 / ni_c
            else:
                stat, var = p, p * (1 - p) / ni_c
            if np.any(var <= 0):
                raise ValueError(f"{where}: an arm has zero variance (risk 0 or 1 without correction); set add > 0")
        order = _order_arms(arms)
        arms_o = tuple(arms[i] for i in order)
        stat, var = stat[order], var[order]
        cov = np.full((len(arms) - 1, len(arms) - 1), var[0]) + np.diag(var[1:])
        blocks.append((str(label), arms_o, stat[1:] - stat[0], cov))
        for t, size in zip(arms, nn[pos]):
            sizes[t] = sizes.get(t, 0.0) + float(size)
    return _assemble(measure, blocks, sizes, excluded)


# -- contrast-level data --------------------------------------------------------------------------

def _multiarm_block(where: str, arms: list[str], pairs: list[tuple[str, str, float, float]],
                    sizes: dict[str, float], tol: float) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
    """Contrasts against the baseline, and their covariance, from a multi-arm trial's reported pairs."""
    order = sorted(arms)
    k = len(order)
    idx = {t: i for i, t in enumerate(order)}
    base = order[0]
    if len(pairs) == k * (k - 1) // 2:
        # all pairwise contrasts: additivity of the estimates, arm variances from the pair variances
        A = np.zeros((len(pairs), k))
        yv, vv = np.empty(len(pairs)), np.empty(len(pairs))
        for r, (t1, t2, yy, v) in enumerate(pairs):
            A[r, idx[t1]], A[r, idx[t2]] = 1.0, -1.0
            yv[r], vv[r] = yy, v
        # arm effects (first fixed at 0) by least squares; residuals measure inconsistency
        theta, *_ = np.linalg.lstsq(A[:, 1:], yv, rcond=None)
        resid = yv - A[:, 1:] @ theta
        if np.max(np.abs(resid)) > tol:
            bad = int(np.argmax(np.abs(resid)))
            raise ValueError(f"{where}: the multi-arm trial's contrasts are inconsistent (inconsistent arm data): "
                             f"{pairs[bad][0]} vs {pairs[bad][1]} = {pairs[bad][2]:g} does not equal the difference of "
                             f"its other contrasts (off by {resid[bad]:.3g}; tolerance {tol:g})")
        B = np.abs(A)
        s, *_ = np.linalg.lstsq(B, vv, rcond=None)
        vres = vv - B @ s
        if np.max(np.abs(vres)) > tol * np.max(vv) or np.any(s < -tol * np.max(vv)):
            raise ValueError(f"{where}: the variances of the multi-arm trial's contrasts are inconsistent (inconsistent "
                             "arm data): no arm-level variances reproduce them")
        s = np.maximum(s, 0.0)
        cov = np.full((k - 1, k - 1), s[0]) + np.diag(s[1:])
        return tuple(order), np.asarray(theta, dtype=float), cov
    # contrasts against one shared control arm
    common = set(pairs[0][:2])
    for p in pairs[1:]:
        common &= set(p[:2])
    if len(pairs) != k - 1 or len(common) != 1:
        raise ValueError(f"{where}: a multi-arm trial needs either all {k * (k - 1) // 2} pairwise contrasts or the "
                         f"{k - 1} contrasts against one shared control arm; got {len(pairs)} contrasts "
                         f"({', '.join(f'{a} vs {b}' for a, b, _, _ in pairs)})")
    control = next(iter(common))
    ys, vs, others, ns = [], [], [], []
    for t1, t2, yy, v in pairs:
        other, sign = (t1, 1.0) if t2 == control else (t2, -1.0)
        others.append(other)
        ys.append(sign * yy)
        vs.append(v)
        ns.append(sizes.get(other, math.nan))
    nc = sizes.get(control, math.nan)
    m = len(pairs)
    cov = np.diag(vs)
    for i in range(m):
        for j in range(i + 1, m):
            known = all(math.isfinite(x) for x in (ns[i], ns[j], nc))
            rho = shared_control_correlation(ns[i], ns[j], nc) if known else 0.5
            cov[i, j] = cov[j, i] = rho * math.sqrt(vs[i] * vs[j])
    # re-express against the alphabetically first arm (the baseline) when that is not the control
    full = [control] + others
    yfull = np.concatenate([[0.0], ys])  # arm effects relative to the control
    T = np.zeros((k - 1, m))  # contrasts vs new baseline as a linear map of contrasts vs control
    bpos = full.index(base)
    out_arms = [base] + [t for t in order if t != base]
    for r, t in enumerate(out_arms[1:]):
        tp = full.index(t)
        if tp > 0:
            T[r, tp - 1] += 1.0
        if bpos > 0:
            T[r, bpos - 1] -= 1.0
    return tuple(out_arms), T @ yfull[1:], T @ cov @ T.T


def network_from_contrasts(
    frame: pd.DataFrame,
    *,
    study: str = "study",
    treat1: str = "treat1",
    treat2: str = "treat2",
    yi: str = "yi",
    vi: str | None = "vi",
    sei: str | None = None,
    n1: str | None = None,
    n2: str | None = None,
    measure: str = "GEN",
    tol_multiarm: float = MULTIARM_TOLERANCE,
) -> NetworkData:
    """Build a network from contrast-level data: one row per reported comparison (``treat1`` vs ``treat2``).

    Parameters
    ----------
    frame : DataFrame
        One row per comparison, e.g. the frame :func:`metaoutcome.effects.from_hazard_ratios` returns
        (``study="trial_id"``, ``treat1="experimental_arm"``, ``treat2="control_arm"``).
    study, treat1, treat2 : str
        Columns naming the trial and the two treatments; ``yi`` is ``treat1`` versus ``treat2``.
    yi : str
        Column of the contrast on the analysis scale (ln HR, ln OR, MD, ...).
    vi, sei : str
        Column of its variance, or of its standard error (metafor's names; give one).
    n1, n2 : str, optional
        Columns of the arm sizes, used for the correlation of contrasts against a shared control.
    measure : str, default "GEN"
        Measure name in the registry (``"HR"``, ``"OR"``, ``"MD"``, ...), for labels and back-transformation.
    tol_multiarm : float, default 0.001
        Absolute tolerance for the consistency of a multi-arm trial's reported contrasts.

    Returns
    -------
    NetworkData

    Notes
    -----
    A multi-arm trial may be given either as all its pairwise contrasts (netmeta's format), from
    which the arm-level variances are recovered (Rücker 2012), or as its contrasts against one
    shared control arm only (as trials report hazard ratios), whose correlation is
    :math:`\\rho = (1/n_c)/\\sqrt{(1/n_a + 1/n_c)(1/n_b + 1/n_c)}` with the arm sizes, or 1/2 when
    they are not given (the value for equal arms).

    Examples
    --------
    >>> import pandas as pd
    >>> hr = pd.DataFrame({"study": ["k010", "k010", "oak"], "treat1": ["p2", "p10", "atezo"],
    ...                    "treat2": ["doc", "doc", "doc"], "yi": [-0.34, -0.49, -0.31], "vi": [0.011, 0.011, 0.008]})
    >>> net = network_from_contrasts(hr, measure="HR")
    >>> net.study_arms[0], net.V[:2, :2].round(4).tolist()
    (('doc', 'p10', 'p2'), [[0.011, 0.0055], [0.0055, 0.011]])
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a DataFrame; got {type(frame).__name__}")
    get_measure(measure)
    if vi is None and sei is None:
        raise ValueError("give vi= (a variance column) or sei= (a standard-error column)")
    st = _column(frame, study, "study").astype(str)
    t1 = _column(frame, treat1, "treat1").astype(str)
    t2 = _column(frame, treat2, "treat2").astype(str)
    yy = pd.to_numeric(_column(frame, yi, "yi"), errors="coerce").to_numpy(float)
    if sei is not None:
        vv = pd.to_numeric(_column(frame, sei, "sei"), errors="coerce").to_numpy(float) ** 2
    else:
        vv = pd.to_numeric(_column(frame, vi, "vi"), errors="coerce").to_numpy(float)
    nn1 = pd.to_numeric(frame[n1], errors="coerce").to_numpy(float) if n1 else np.full(len(frame), math.nan)
    nn2 = pd.to_numeric(frame[n2], errors="coerce").to_numpy(float) if n2 else np.full(len(frame), math.nan)
    blocks: list[tuple[str, tuple[str, ...], FloatArray, FloatArray]] = []
    sizes: dict[str, float] = {}
    known: dict[str, bool] = {}
    for label, rows in st.groupby(st, sort=False).groups.items():
        pos = [frame.index.get_loc(i) for i in rows]
        where = f"trial {label!r}"
        pairs: list[tuple[str, str, float, float]] = []
        arm_n: dict[str, float] = {}
        seen: set[frozenset[str]] = set()
        for p in pos:
            a, b = t1.iloc[p], t2.iloc[p]
            if a == b:
                raise ValueError(f"{where}: treatment {a!r} is compared with itself (row {frame.index[p]!r})")
            if frozenset((a, b)) in seen:
                raise ValueError(f"{where}: the comparison {a} vs {b} is given more than once")
            seen.add(frozenset((a, b)))
            if not math.isfinite(yy[p]):
                raise ValueError(f"{where}: {yi!r} is missing for {a} vs {b} (row {frame.index[p]!r})")
            if not (math.isfinite(vv[p]) and vv[p] > 0):
                col = sei if sei is not None else vi
                raise ValueError(f"{where}: {col!r} must be positive for {a} vs {b} (row {frame.index[p]!r}); got a "
                                 f"non-positive or missing variance")
            pairs.append((a, b, float(yy[p]), float(vv[p])))
            for t, size in ((a, nn1[p]), (b, nn2[p])):
                if t in arm_n and math.isfinite(size) and math.isfinite(arm_n[t]) and arm_n[t] != size:
                    raise ValueError(f"{where}: arm {t!r} has two different sizes ({arm_n[t]:g} and {size:g}) "
                                     "(inconsistent arm data)")
                arm_n[t] = size if t not in arm_n or not math.isfinite(arm_n[t]) else arm_n[t]
        arms = sorted(arm_n)
        if len(arms) == 2:
            a, b, e, v = pairs[0]
            base, other = sorted((a, b))
            blocks.append((str(label), (base, other), np.array([e if a == other else -e]), np.array([[v]])))
        else:
            arms_o, ys, cov = _multiarm_block(where, arms, pairs, arm_n, tol_multiarm)
            blocks.append((str(label), arms_o, ys, cov))
        for t, size in arm_n.items():
            sizes[t] = sizes.get(t, 0.0) + size if math.isfinite(size) else math.nan
            known[t] = known.get(t, True) and math.isfinite(size)
    sizes = {t: (s if known.get(t, False) else math.nan) for t, s in sizes.items()}
    return _assemble(str(get_measure(measure).name), blocks, sizes, [])


def as_network(data: Any, **kwargs: Any) -> NetworkData:
    """``data`` if it is a :class:`NetworkData`; otherwise a contrast-level frame (with ``yi``) or an
    arm-level frame, built with the keyword arguments given."""
    if isinstance(data, NetworkData):
        if kwargs:
            raise ValueError(f"data is already a NetworkData; unexpected arguments {sorted(kwargs)}")
        return data
    if isinstance(data, pd.DataFrame):
        if "treat1" in kwargs or "yi" in kwargs or ("yi" in data.columns and "treatment" not in kwargs):
            return network_from_contrasts(data, **kwargs)
        return network_from_arms(data, **kwargs)
    raise ValueError(f"data must be a NetworkData or a DataFrame; got {type(data).__name__}")
