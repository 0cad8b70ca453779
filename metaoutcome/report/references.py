"""The references behind every method the bundled analyses use, cited author-year in the methods text.

Each entry is ``key -> (in-text label, full reference)``. An analysis names the keys it relies on
(:meth:`metaoutcome.reproduce.AnalysisOutput.references`); the report lists them under its methods,
sorted by label, and a test checks that every listed label appears in the methods text.

>>> REFERENCES["reml"][0]
'Viechtbauer 2005'
>>> cite("reml", "qprofile")
'(Viechtbauer 2005; Viechtbauer 2007)'
"""

from __future__ import annotations

__all__ = ["REFERENCES", "cite", "reference_list"]

REFERENCES: dict[str, tuple[str, str]] = {
    "reml": ("Viechtbauer 2005", "Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the "
             "random-effects model. J Educ Behav Stat. 2005;30(3):261-293."),
    "dl": ("DerSimonian and Laird 1986", "DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin "
           "Trials. 1986;7(3):177-188."),
    "qprofile": ("Viechtbauer 2007", "Viechtbauer W. Confidence intervals for the amount of heterogeneity in "
                 "meta-analysis. Stat Med. 2007;26(1):37-52."),
    "metafor": ("Viechtbauer 2010", "Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat "
                "Softw. 2010;36(3):1-48."),
    "knha": ("Hartung and Knapp 2001", "Hartung J, Knapp G. A refined method for the meta-analysis of controlled "
             "clinical trials with binary outcome. Stat Med. 2001;20(24):3875-3889."),
    "sidik_jonkman": ("Sidik and Jonkman 2002", "Sidik K, Jonkman JN. A simple confidence interval for "
                      "meta-analysis. Stat Med. 2002;21(21):3153-3159."),
    "i2": ("Higgins and Thompson 2002", "Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. "
           "Stat Med. 2002;21(11):1539-1558."),
    "prediction": ("Higgins et al. 2009", "Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of "
                   "random-effects meta-analysis. J R Stat Soc Ser A Stat Soc. 2009;172(1):137-159."),
    "cochran_q": ("Cochran 1954", "Cochran WG. The combination of estimates from different experiments. "
                  "Biometrics. 1954;10(1):101-129."),
    "subgroups": ("Borenstein et al. 2009", "Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to "
                  "Meta-Analysis. Chichester: Wiley; 2009. Chapter 19, subgroup analyses."),
    "hr_extraction": ("Parmar et al. 1998", "Parmar MKB, Torri V, Stewart L. Extracting summary statistics to "
                      "perform meta-analyses of the published literature for survival endpoints. Stat Med. "
                      "1998;17(24):2815-2834."),
    "hr_practical": ("Tierney et al. 2007", "Tierney JF, Stewart LA, Ghersi D, Burdett S, Sydes MR. Practical "
                     "methods for incorporating summary time-to-event data into meta-analysis. Trials. 2007;8:16."),
    "shared_control": ("Gleser and Olkin 2009", "Gleser LJ, Olkin I. Stochastically dependent effect sizes. In: "
                       "Cooper H, Hedges LV, Valentine JC, eds. The Handbook of Research Synthesis and "
                       "Meta-Analysis. 2nd ed. New York: Russell Sage Foundation; 2009:357-376."),
    "glmm": ("Stijnen et al. 2010", "Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome "
             "in the framework of the generalized linear mixed model with applications in sparse data. Stat Med. "
             "2010;29(29):3046-3067."),
    "glmm_binomial": ("Hamza et al. 2008", "Hamza TH, van Houwelingen HC, Stijnen T. The binomial distribution of "
                      "meta-analysis was preferred to model within-study variability. J Clin Epidemiol. "
                      "2008;61(1):41-51."),
    "medians": ("McGrath et al. 2019", "McGrath S, Zhao X, Qin ZZ, Steele R, Benedetti A. One-sample aggregate "
                "data meta-analysis of medians. Stat Med. 2019;38(6):969-984."),
    "clopper_pearson": ("Clopper and Pearson 1934", "Clopper CJ, Pearson ES. The use of confidence or fiducial "
                        "limits illustrated in the case of the binomial. Biometrika. 1934;26(4):404-413."),
    "grade": ("Guyatt et al. 2008", "Guyatt GH, Oxman AD, Vist GE, et al. GRADE: an emerging consensus on rating "
              "quality of evidence and strength of recommendations. BMJ. 2008;336(7650):924-926."),
    "grade_imprecision": ("Guyatt et al. 2011a", "Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 6. Rating "
                          "the quality of evidence--imprecision. J Clin Epidemiol. 2011;64(12):1283-1293."),
    "grade_inconsistency": ("Guyatt et al. 2011b", "Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines: 7. "
                            "Rating the quality of evidence--inconsistency. J Clin Epidemiol. "
                            "2011;64(12):1294-1302."),
    "grade_tte": ("Skoetz et al. 2020", "Skoetz N, Goldkuhle M, van Dalen EC, et al. GRADE guidelines 27: how to "
                  "calculate absolute effects for time-to-event outcomes in summary of findings tables and "
                  "Evidence Profiles. J Clin Epidemiol. 2020;118:124-131."),
    "prisma": ("Page et al. 2021", "Page MJ, McKenzie JE, Bossuyt PM, et al. The PRISMA 2020 statement: an updated "
               "guideline for reporting systematic reviews. BMJ. 2021;372:n71."),
}

#: the keys every report with a summary-of-findings table cites (its rules and the flow counts)
SOF_KEYS = ("grade", "grade_imprecision", "grade_inconsistency", "grade_tte", "prisma")


def _check(keys: tuple[str, ...]) -> None:
    unknown = [k for k in keys if k not in REFERENCES]
    if unknown:
        raise ValueError(f"unknown reference keys {unknown}; allowed: {sorted(REFERENCES)}")


def cite(*keys: str) -> str:
    """The in-text citation of ``keys``, ``(Viechtbauer 2005; Viechtbauer 2007)``."""
    _check(keys)
    return "(" + "; ".join(REFERENCES[k][0] for k in keys) + ")"


def reference_list(keys: tuple[str, ...] | list[str]) -> list[str]:
    """The full references of ``keys`` (duplicates dropped), sorted by their in-text label."""
    uniq = tuple(dict.fromkeys(keys))
    _check(uniq)
    return [REFERENCES[k][1] for k in sorted(uniq, key=lambda k: REFERENCES[k][0])]
