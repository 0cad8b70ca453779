"""The option vocabularies, defined once: model methods, CI / prediction-interval methods, tests.

This module imports nothing (no numpy, no scipy), so the command line, the validator and the
library can all read it at no start-up cost. Every public function that takes one of these
options checks it here, so the allowed values, their spellings and their messages agree.

metafor's names are accepted where R users will type them: ``test=`` is metafor's spelling of
``ci_method=`` (``"z"``, ``"t"``, ``"knha"``, ``"adhoc"``), and ``"hksj"``/``"hakn"``
are aliases of ``"knha"`` (Hartung-Knapp-Sidik-Jonkman). A value that could mean two things
(``"hk"``: plain or ad hoc Hartung-Knapp?) and a call that gives an option two values that
disagree (``ci_method="z", test="knha"``) are refused rather than guessed.

>>> from metaoutcome.options import ci_method_option
>>> ci_method_option(test="HKSJ")
'knha'
>>> ci_method_option(ci_method="z", test="knha")
Traceback (most recent call last):
...
ValueError: ci_method='z' and test='knha' disagree; give one of them (test= is metafor's name for ci_method=)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMMON_METHODS",
    "TAU2_METHODS",
    "METHODS",
    "CI_METHODS",
    "CI_METHOD_ALIASES",
    "CI_METHOD_AMBIGUOUS",
    "KNHA_METHODS",
    "PI_METHODS",
    "GLMM_CI_METHODS",
    "TAU2_MODES",
    "choice",
    "method_option",
    "ci_method_option",
    "pi_method_option",
]

#: Common-effect model names (metafor: "FE" fixed, "EE" equal, "CE" common effects; one model).
COMMON_METHODS: tuple[str, ...] = ("FE", "EE", "CE")
#: tau^2 estimators of the random-effects model (metafor's ``method=``).
TAU2_METHODS: tuple[str, ...] = ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
#: Every ``method=`` of :func:`metaoutcome.pool`, :func:`metaoutcome.pool_batch` and
#: :func:`metaoutcome.meta_regression`.
METHODS: tuple[str, ...] = COMMON_METHODS + TAU2_METHODS
#: Inference for the pooled estimate / coefficients (metafor's ``test=``).
CI_METHODS: tuple[str, ...] = ("z", "t", "knha", "adhoc")
#: Other spellings users type for a CI method (lower case) -> the canonical name.
CI_METHOD_ALIASES: dict[str, str] = {"hksj": "knha", "hakn": "knha"}
#: Spellings that could mean two CI methods: refused with the reason, never guessed.
CI_METHOD_AMBIGUOUS: dict[str, str] = {
    "hk": "it could mean 'knha' (Hartung-Knapp, metafor test='knha', meta method.random.ci='HK') or 'adhoc' "
          "(HK with the variance factor floored at 1, meta's adhoc.hakn.ci)",
    "hartung-knapp": "it could mean 'knha' or 'adhoc' (HK with the variance factor floored at 1)",
}
#: CI methods that multiply the variance by the Knapp-Hartung factor.
KNHA_METHODS: tuple[str, ...] = ("knha", "adhoc")
#: Prediction intervals: metafor's ``predict`` or Higgins-Thompson-Spiegelhalter.
PI_METHODS: tuple[str, ...] = ("default", "hts")
#: CI methods of the binomial-normal GLMM (no Knapp-Hartung factor there).
GLMM_CI_METHODS: tuple[str, ...] = ("z", "t")
#: Subgroup analyses: tau^2 within each subgroup or one for all.
TAU2_MODES: tuple[str, ...] = ("separate", "common")


def choice(name: str, value: Any, allowed: tuple[str, ...], aliases: dict[str, str] | None = None,
           ambiguous: dict[str, str] | None = None) -> str:
    """``value`` in its canonical spelling from ``allowed`` (case-insensitive) or an alias;
    otherwise ValueError naming ``name`` and listing the allowed values.

    >>> choice("method", "reml", METHODS)
    'REML'
    """
    if isinstance(value, str):
        low = value.strip().lower()
        for a in allowed:
            if low == a.lower():
                return a
        if aliases and low in aliases:
            return aliases[low]
        if ambiguous and low in ambiguous:
            listed = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"{name}={value!r} is ambiguous: {ambiguous[low]}; give one of {listed}")
    listed = ", ".join(repr(a) for a in allowed)
    alias = ""
    if aliases:
        alias = " (or the aliases " + ", ".join(f"{k!r} = {v!r}" for k, v in aliases.items()) + ")"
    raise ValueError(f"{name}={value!r} is not one of the allowed values: {listed}{alias}")


def method_option(method: Any, allowed: tuple[str, ...] = METHODS) -> str:
    """A model ``method=`` in its canonical spelling ("reml" -> "REML")."""
    return choice("method", method, allowed)


def ci_method_option(ci_method: Any = None, test: Any = None, *, default: str = "z",
                     allowed: tuple[str, ...] = CI_METHODS) -> str:
    """The CI method from ``ci_method=`` or metafor's ``test=`` (either; both only if they agree).

    Aliases ``"hksj"`` and ``"hakn"`` mean ``"knha"``; ``"hk"`` is refused as ambiguous.
    """
    a = None if ci_method is None else choice("ci_method", ci_method, allowed, CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS)
    b = None if test is None else choice("test", test, allowed, CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS)
    if a is not None and b is not None and a != b:
        raise ValueError(
            f"ci_method={ci_method!r} and test={test!r} disagree; give one of them "
            "(test= is metafor's name for ci_method=)"
        )
    out = a if a is not None else b if b is not None else default
    if out not in allowed:  # an alias that this model does not offer
        listed = ", ".join(repr(x) for x in allowed)
        raise ValueError(f"ci_method={out!r} is not available here; the allowed values are: {listed}")
    return out


def pi_method_option(pi_method: Any) -> str:
    """A prediction-interval method in its canonical spelling."""
    return choice("pi_method", pi_method, PI_METHODS)
