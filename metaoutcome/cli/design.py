"""``metaoutcome design``: a single-arm phase 2 design from a benchmark response rate.

p0 is a number (``--p0 0.15``) or comes from historical arms: the bundled ``proportions`` table
selected with ``--where COLUMN=VALUE`` (repeatable; repeat a column to allow several values), or
your own CSV of arms (``--arms FILE`` with columns ``events`` and ``n``). From arms, p0 is the mean
of the meta-analytic-predictive (MAP) prior (``--p0-from map``, default) or the random-effects
pooled logit proportion (``--p0-from pool``, REML). p1 is ``--p1`` or p0 + ``--delta``.

Printed: Simon's optimal and minimax two-stage designs, A'Hern's single-stage design and, when p0
comes from arms, the MAP prior (with its ESS) and the Bayesian operating characteristics of the
Simon-optimal and A'Hern sample sizes judged against the robust MAP prior.

>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> p = add_parser(sub)
>>> a = p.parse_args(["--p0", "0.1", "--p1", "0.3"])
>>> a.p0, a.p1, a.alpha, a.power
(0.1, 0.3, 0.05, 0.8)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ._common import add_traceback, write_whole

__all__ = ["add_parser", "run"]

ORDER = 50  # after reproduce in ``metaoutcome --help``

_DESCRIPTION = __doc__.split("\n\n>>>")[0] if __doc__ else ""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``design`` sub-command to ``subparsers``; returns its parser."""
    p = subparsers.add_parser(
        "design", help="single-arm phase 2 design (Simon, A'Hern, Bayesian OC) from a benchmark response rate",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
               "  metaoutcome design --p0 0.10 --p1 0.30 --nmax 60 --out designs.csv\n"
               "  metaoutcome design --where cancer=HCC --where setting=second-line --where 'setting=second-line or later'"
               " --where 'regimen_class=PD-(L)1 monotherapy' --outcome ORR --delta 0.15 --threshold 0.8\n"
               "  metaoutcome design --arms my_control_arms.csv --p0-from pool --p1 0.35 --alpha 0.1 --power 0.9"
               " --tau-scale 0.5 --robust-weight 0.2\n"
               "  metaoutcome design --p0 0.10 --delta 0.2 --traceback\n",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--p0", type=float, help="benchmark (null) response rate, a proportion in (0, 1)")
    src.add_argument("--arms", metavar="CSV", help="CSV of historical arms with columns events and n (label optional)")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="select arms of the bundled proportions table (repeatable); outcome defaults to ORR")
    p.add_argument("--outcome", default="ORR", help="outcome of the bundled table to use (default ORR)")
    p.add_argument("--p0-from", choices=("map", "pool"), default="map",
                   help="p0 from arms: MAP prior mean (default) or REML pooled logit proportion")
    tgt = p.add_mutually_exclusive_group()
    tgt.add_argument("--p1", type=float, help="target response rate worth pursuing (> p0)")
    tgt.add_argument("--delta", type=float, help="p1 = p0 + DELTA")
    p.add_argument("--alpha", type=float, default=0.05, help="one-sided type I error (default 0.05)")
    p.add_argument("--power", type=float, default=0.8, help="power (default 0.8)")
    p.add_argument("--nmax", type=int, default=None,
                   help="largest total size searched for Simon designs (default: from 100 up to 1000, as far as "
                        "needed to be sure the optimal design is Simon's)")
    p.add_argument("--threshold", type=float, default=0.9,
                   help="Bayesian go rule: P(rate > benchmark | data) >= THRESHOLD (default 0.9)")
    p.add_argument("--robust-weight", type=float, default=0.0,
                   help="judge against the robust MAP prior with this weight on a vague Beta(1, 1) component "
                        "(default 0: the MAP prior itself)")
    p.add_argument("--tau-scale", type=float, default=1.0, help="half-normal scale of the MAP prior's tau (default 1)")
    p.add_argument("--out", metavar="CSV", help="also write the designs table to CSV (written whole or not at all)")
    add_traceback(p)
    return p


def _where(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--where {it!r}: use COLUMN=VALUE")
        k, v = it.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def _arms_from_csv(path: str) -> Any:
    import pandas as pd

    try:
        f = pd.read_csv(path)
    except FileNotFoundError:
        raise ValueError(f"--arms: no such file: {path}") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"--arms: cannot read {path}: {exc}") from None
    for col in ("events", "n"):
        if col not in f.columns:
            raise ValueError(f"{path}: column {col!r} is missing (columns: {', '.join(map(str, f.columns))})")
    for col in ("events", "n"):
        vals = pd.to_numeric(f[col], errors="coerce")
        bad = vals.isna() & f[col].notna()
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise ValueError(f"{path}:{i + 2}:{col}: {f[col].iloc[i]!r} is not a number")
    if "label" not in f.columns:
        f["label"] = [f"Arm {i + 1}" for i in range(len(f))]
    return f


def run(args: argparse.Namespace) -> int:
    """Run ``metaoutcome design``; print the designs; return 0."""
    import pandas as pd

    from ..bayes import half_normal, map_prior
    from ..design import ahern, bayes_oc, historical_arms, p0_from, simon

    lines: list[str] = []
    mp = None
    if args.p0 is not None:
        if args.where:
            raise ValueError("--where selects arms for p0; it cannot be combined with --p0")
        p0 = p0_from(args.p0)
        lines.append(f"p0 = {p0:.4f} (given)")
    else:
        if args.arms:
            if args.where:
                raise ValueError("--where selects arms of the bundled table; it cannot be combined with --arms")
            arms = _arms_from_csv(args.arms)
            source = args.arms
        elif args.where:
            arms, excluded = historical_arms(where=_where(args.where), outcome=args.outcome)
            source = "bundled proportions table (" + "; ".join(args.where) + f"; outcome {args.outcome})"
            for r in excluded.itertuples():
                lines.append(f"  not used: {r.label}: {r.reason}")
        else:
            raise ValueError("give --p0 NUMBER, --arms CSV or --where COLUMN=VALUE (historical arms)")
        mp = map_prior(arms, events="events", n="n", labels="label", tau_prior=half_normal(args.tau_scale))
        if args.p0_from == "map":
            p0 = p0_from(mp)
            how = "mean of the MAP prior"
        else:
            import numpy as np

            from ..pooling import pool

            # logit proportions as metafor escalc("PLO") (1/2 added only where events are 0 or n)
            e, n = mp.events, mp.n
            cc = np.where((e == 0) | (e == n), 0.5, 0.0)
            res = pool(yi=np.log((e + cc) / (n - e + cc)), vi=1 / (e + cc) + 1 / (n - e + cc), measure="PLO",
                       method="REML")
            p0 = p0_from(res)
            how = "REML pooled logit proportion"
        lines.insert(0, f"p0 = {p0:.4f} ({how}; {mp.k} arms from {source})")
    if args.p1 is not None:
        p1 = args.p1
    elif args.delta is not None:
        p1 = p0 + args.delta
    else:
        raise ValueError("give the target --p1 RATE or --delta DIFFERENCE (p1 = p0 + delta)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sd = simon(p0, p1, alpha=args.alpha, power=args.power, nmax=args.nmax)
    for w in caught:  # one plain line each, after the result is computed (no source path, no traceback)
        print(f"metaoutcome design: warning: {w.message}", file=sys.stderr)
    ah = ahern(p0, p1, alpha=args.alpha, power=args.power)
    rows = [dict(design=f"Simon {nm}", r1=d.r1, n1=d.n1, r=d.r, n=d.n, en0=d.en0, alpha=d.alpha, power=d.power)
            for nm, d in (("optimal", sd.optimal), ("minimax", sd.minimax))]
    rows.append(dict(design="A'Hern", r1=None, n1=None, r=ah.r - 1, n=ah.n, en0=float(ah.n),
                     alpha=ah.attained_alpha, power=ah.attained_power))
    table = pd.DataFrame(rows).astype({"r1": "Int64", "n1": "Int64"})
    print("\n".join(lines))
    print(f"p1 = {p1:.4f}; alpha = {args.alpha:g}; power = {args.power:g}")
    print("(two-stage: stop if <= r1 responses in n1; all designs: promising if > r responses in n)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if mp is not None:
        print()
        print(str(mp))
        bench = mp.mixture
        if args.robust_weight:
            bench = mp.robustify(args.robust_weight)
            print(f"robust MAP prior ({args.robust_weight:g} vague): {bench}; ESS (elir) {bench.ess():.1f}")
        oc_rows = []
        for nm, size in (("Simon optimal n", sd.optimal.n), ("A'Hern n", ah.n)):
            oc = bayes_oc(size, bench, p0, p1, threshold=args.threshold)
            t = oc.table.set_index("scenario")["p_go"]
            oc_rows.append(dict(design=nm, n=size, go_needs=oc.x_min, p_go_p0=t["p0"], p_go_p1=t["p1"], p_go_map=t["MAP"]))
        print(f"Bayesian operating characteristics (go if P(rate > benchmark | data) >= {args.threshold:g}, "
              f"benchmark ~ {'robust ' if args.robust_weight else ''}MAP prior, Beta(1, 1) prior for the trial arm; "
              "p_go_map: true rate drawn from the MAP prior):")
        print(pd.DataFrame(oc_rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out:
        _write_whole(Path(args.out), table)
        print(f"designs written to {args.out}")
    return 0


def _write_whole(path: Path, table: Any) -> None:
    """Write a CSV beside the target and rename it into place (complete or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, lambda partial: table.to_csv(partial, index=False, lineterminator="\n"))
