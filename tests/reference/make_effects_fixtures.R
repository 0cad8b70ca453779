# Reference values for metaoutcome.effects and metaoutcome.measures.
#
#   Rscript tests/reference/make_effects_fixtures.R      (run from the repository root)
#
# writes tests/reference/effects_fixtures.json. Every case records the exact R call, its inputs
# and outputs, and whether the reference is a metafor function ("metafor") or a published formula
# written out here in R, independently of the Python code ("formula"), where metafor has no
# function (median SEs, RMED/DMED, median of medians) or the installed metafor lacks it
# (conv.wald arrived in metafor 4.0; 3.8-1 is installed, so its formulas are transcribed below).
# CI has no R: the JSON is committed.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

cases <- list()

add_case <- function(id, group, call, inputs, args = list(), outputs, reference = "metafor",
                     note = NULL) {
  stopifnot(!id %in% names(cases))
  case <- list(id = id, group = group, reference = reference, call = call,
               inputs = inputs, args = args, outputs = outputs)
  if (!is.null(note)) case$note <- note
  cases[[id]] <<- case
}

# evaluate a call given as a string, so the string recorded is exactly what ran
run <- function(call, env = parent.frame()) eval(parse(text = call), envir = env)

num <- function(x) as.numeric(x)

# ---------------------------------------------------------------------------------------------
# 1. Single proportions: escalc PR, PLN, PLO, PAS, PFT
# ---------------------------------------------------------------------------------------------

prop_sets <- list(
  pritz1997 = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni),   # study 5: xi == ni
  debruin2009 = list(xi = dat.debruin2009$xi, ni = dat.debruin2009$ni),
  edge = list(xi = c(0, 5, 10, 0, 1, 1, 3), ni = c(10, 10, 10, 1, 1, 2, 7))  # 0 and n events, n = 1
)

for (set in names(prop_sets)) {
  xi <- prop_sets[[set]]$xi
  ni <- prop_sets[[set]]$ni
  for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
    call <- sprintf('escalc(measure="%s", xi=xi, ni=ni)', m)
    es <- suppressWarnings(run(call))
    add_case(sprintf("escalc_%s_%s", m, set), "proportion_es", call,
             inputs = list(events = xi, n = ni), args = list(measure = m),
             outputs = list(yi = num(es$yi), vi = num(es$vi)))
  }
}

# correction and variance options
xi <- prop_sets$edge$xi
ni <- prop_sets$edge$ni
opt_cases <- list(
  list(id = "PLO_to_all", m = "PLO", extra = 'to="all"', args = list(to = "all")),
  list(id = "PR_to_if0all", m = "PR", extra = 'to="if0all"', args = list(to = "if0all")),
  list(id = "PLN_to_none", m = "PLN", extra = 'to="none"', args = list(to = "none")),
  list(id = "PLO_add_0.1", m = "PLO", extra = "add=0.1", args = list(add = 0.1)),
  list(id = "PFT_add_0.5_all", m = "PFT", extra = 'add=1/2, to="all"', args = list(add = 0.5, to = "all")),
  list(id = "PR_vtype_AV", m = "PR", extra = 'vtype="AV"', args = list(vtype = "AV")),
  list(id = "PLN_vtype_AV", m = "PLN", extra = 'vtype="AV"', args = list(vtype = "AV")),
  list(id = "PLO_vtype_AV", m = "PLO", extra = 'vtype="AV"', args = list(vtype = "AV"))
)
for (oc in opt_cases) {
  call <- sprintf('escalc(measure="%s", xi=xi, ni=ni, %s)', oc$m, oc$extra)
  es <- suppressWarnings(run(call))
  add_case(sprintf("escalc_%s_edge", oc$id), "proportion_es", call,
           inputs = list(events = xi, n = ni), args = c(list(measure = oc$m), oc$args),
           outputs = list(yi = num(es$yi), vi = num(es$vi)))
}
# vtype="UB" divides by n - 1, so n = 1 is undefined there: use pritz1997
xi <- dat.pritz1997$xi
ni <- dat.pritz1997$ni
call <- 'escalc(measure="PR", xi=xi, ni=ni, vtype="UB")'
es <- run(call)
add_case("escalc_PR_vtype_UB_pritz1997", "proportion_es", call,
         inputs = list(events = xi, n = ni), args = list(measure = "PR", vtype = "UB"),
         outputs = list(yi = num(es$yi), vi = num(es$vi)))

# ---------------------------------------------------------------------------------------------
# 2. Two-arm binary: escalc OR, RR, RD
# ---------------------------------------------------------------------------------------------

ai <- dat.bcg$tpos; bi <- dat.bcg$tneg; ci <- dat.bcg$cpos; di <- dat.bcg$cneg
for (m in c("OR", "RR", "RD")) {
  call <- sprintf('escalc(measure="%s", ai=ai, bi=bi, ci=ci, di=di)', m)
  es <- run(call)
  add_case(sprintf("escalc_%s_bcg", m), "two_arm_es", call,
           inputs = list(ai = ai, bi = bi, ci = ci, di = di), args = list(measure = m),
           outputs = list(yi = num(es$yi), vi = num(es$vi)))
}
n1i <- ai + bi; n2i <- ci + di
call <- 'escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i)'
es <- run(call)
add_case("escalc_OR_bcg_n1i_n2i", "two_arm_es", call,
         inputs = list(ai = ai, n1i = n1i, ci = ci, n2i = n2i), args = list(measure = "OR"),
         outputs = list(yi = num(es$yi), vi = num(es$vi)))

# zero cells: no events in one arm, in both arms, all events in one arm
ai <- c(0, 0, 5, 12, 3); bi <- c(20, 15, 0, 8, 17); ci <- c(4, 0, 6, 10, 0); di <- c(16, 15, 14, 10, 20)
two_opts <- list(
  list(id = "OR_zero", m = "OR", extra = "", args = list()),
  list(id = "RR_zero", m = "RR", extra = "", args = list()),
  list(id = "RD_zero", m = "RD", extra = "", args = list()),
  list(id = "OR_zero_drop00", m = "OR", extra = ", drop00=TRUE", args = list(drop00 = TRUE)),
  list(id = "OR_zero_to_all", m = "OR", extra = ', to="all"', args = list(to = "all")),
  list(id = "RR_zero_to_if0all", m = "RR", extra = ', to="if0all"', args = list(to = "if0all")),
  list(id = "RD_zero_vtype_UB", m = "RD", extra = ', vtype="UB"', args = list(vtype = "UB")),
  list(id = "RD_zero_vtype_AV", m = "RD", extra = ', vtype="AV"', args = list(vtype = "AV")),
  list(id = "OR_zero_to_none", m = "OR", extra = ', to="none"', args = list(to = "none"))
)
for (oc in two_opts) {
  call <- sprintf('escalc(measure="%s", ai=ai, bi=bi, ci=ci, di=di%s)', oc$m, oc$extra)
  es <- suppressWarnings(run(call))
  add_case(sprintf("escalc_%s", oc$id), "two_arm_es", call,
           inputs = list(ai = ai, bi = bi, ci = ci, di = di), args = c(list(measure = oc$m), oc$args),
           outputs = list(yi = num(es$yi), vi = num(es$vi)))
}

# ---------------------------------------------------------------------------------------------
# 3. Back-transforms: transf.*
# ---------------------------------------------------------------------------------------------

xi <- dat.pritz1997$xi; ni <- dat.pritz1997$ni
es <- escalc(measure = "PFT", xi = xi, ni = ni)
x <- num(es$yi)
call <- "transf.ipft(x, ni)"
add_case("transf_ipft_pritz1997", "transf", call, inputs = list(x = x, ni = ni),
         args = list(fun = "ipft"), outputs = list(value = num(run(call))))
# values at and beyond the ends of the scale, and a mid value, with one n
x <- c(-0.1, 0, 0.05, 0.4, 0.785398, 1.2, 1.5, 1.6, pi / 2)
ni <- rep(20, length(x))
call <- "transf.ipft(x, ni)"
add_case("transf_ipft_ends", "transf", call, inputs = list(x = x, ni = ni),
         args = list(fun = "ipft"), outputs = list(value = num(run(call))))
# pooled value and CI back-transformed with the harmonic mean of the study sizes
ni <- dat.pritz1997$ni
x <- c(0.95, 1.05, 1.15)
call <- "transf.ipft.hm(x, targs=list(ni=ni))"
add_case("transf_ipft_hm_pritz1997", "transf", call, inputs = list(x = x, ni = ni),
         args = list(fun = "ipft_hm"), outputs = list(value = num(run(call))))
x <- c(-3, -0.5, 0, 0.7, 4)
call <- "transf.ilogit(x)"
add_case("transf_ilogit", "transf", call, inputs = list(x = x), args = list(fun = "PLO"),
         outputs = list(value = num(run(call))))
x <- c(-0.2, 0, 0.3, 0.9, 1.5707963, 1.7)
call <- "transf.iarcsin(x)"
add_case("transf_iarcsin", "transf", call, inputs = list(x = x), args = list(fun = "PAS"),
         outputs = list(value = num(run(call))))
x <- c(-0.5, 0, 0.25)
call <- "exp(x)"
add_case("transf_exp", "transf", call, inputs = list(x = x), args = list(fun = "HR"),
         outputs = list(value = num(run(call))))
x <- c(0, 0.1, 0.5, 0.93, 1); ni <- c(10, 10, 25, 40, 7)
call <- "transf.pft(x, ni)"
add_case("transf_pft", "transf", call, inputs = list(x = x, ni = ni), args = list(fun = "pft"),
         outputs = list(value = num(run(call))))

# ---------------------------------------------------------------------------------------------
# 4. Per-study CIs of a proportion
# ---------------------------------------------------------------------------------------------

ci_x <- c(0, 1, 7, 19, 30, 49)
ci_n <- c(12, 1, 30, 67, 30, 49)
for (lv in c(95, 90)) {
  call <- sprintf("t(sapply(seq_along(ci_x), function(i) binom.test(ci_x[i], ci_n[i], conf.level=%g)$conf.int))", lv / 100)
  r <- run(call)
  add_case(sprintf("ci_clopper_pearson_%g", lv), "proportion_ci", call,
           inputs = list(events = ci_x, n = ci_n), args = list(level = lv, method = "clopper-pearson"),
           outputs = list(ci_low = r[, 1], ci_high = r[, 2]), reference = "R stats")
  call <- sprintf("t(sapply(seq_along(ci_x), function(i) suppressWarnings(prop.test(ci_x[i], ci_n[i], conf.level=%g, correct=FALSE))$conf.int))", lv / 100)
  r <- run(call)
  add_case(sprintf("ci_wilson_%g", lv), "proportion_ci", call,
           inputs = list(events = ci_x, n = ci_n), args = list(level = lv, method = "wilson"),
           outputs = list(ci_low = r[, 1], ci_high = r[, 2]), reference = "R stats")
  call <- sprintf("{p <- ci_x/ci_n; h <- qnorm(1 - (1 - %g)/2) * sqrt(p*(1-p)/ci_n); cbind(pmax(p - h, 0), pmin(p + h, 1))}", lv / 100)
  r <- run(call)
  add_case(sprintf("ci_wald_%g", lv), "proportion_ci", call,
           inputs = list(events = ci_x, n = ci_n), args = list(level = lv, method = "wald"),
           outputs = list(ci_low = r[, 1], ci_high = r[, 2]), reference = "formula",
           note = "Wald interval p +- z sqrt(p(1-p)/n), truncated to [0, 1]")
}

# ---------------------------------------------------------------------------------------------
# 5. Hazard ratios
# ---------------------------------------------------------------------------------------------

# 5a. Exact round trip through metafor: log odds ratios of dat.bcg from escalc, their Wald CI
# and p-value from summary.escalc; back-calculating vi from (exp(ci.lb), exp(ci.ub)) or from
# pval must return escalc's vi. (Any ratio measure on the log scale, so it checks hr_from_ci and
# hr_from_p as well.)
dat <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
for (lv in c(95, 96)) {
  call <- sprintf("summary(dat, level=%g)", lv)
  s <- run(call)
  add_case(sprintf("wald_ci_roundtrip_bcg_%g", lv), "hr_from_ci",
           paste0('dat <- escalc(measure="OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); s <- ', call),
           inputs = list(hr = exp(num(s$yi)), lower = exp(num(s$ci.lb)), upper = exp(num(s$ci.ub)),
                         level = lv),
           args = list(bounds = "both"),
           outputs = list(yi = num(s$yi), vi = num(s$vi)),
           note = "exp(yi) with the Wald CI from summary.escalc; vi must equal escalc's vi")
}
s <- summary(dat)
add_case("wald_p_roundtrip_bcg", "hr_from_p",
         'dat <- escalc(measure="OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); s <- summary(dat)',
         inputs = list(hr = exp(num(s$yi)), p = num(s$pval)), args = list(),
         outputs = list(yi = num(s$yi), vi = num(s$vi)),
         note = "exp(yi) with the two-sided Wald p-value from summary.escalc; vi must equal escalc's vi")

# 5b. conv.wald formulas (transcribed from metafor >= 4.0's conv.wald; not in metafor 3.8-1):
#     vi = ((log(ci.ub) - log(ci.lb)) / (2 * qnorm(alpha/2, lower.tail=FALSE)))^2
#     vi = (log(out) / qnorm(pval/2, lower.tail=FALSE))^2
#     check: abs((log(ci.ub) + log(ci.lb))/2 - log(out)) / (log(ci.ub) - log(ci.lb)) > 0.1
conv_wald_ci <- function(out, ci.lb, ci.ub, level = 95) {
  yi <- log(out); lb <- log(ci.lb); ub <- log(ci.ub)
  crit <- qnorm((100 - level) / 100 / 2, lower.tail = FALSE)
  list(yi = yi, vi = ((ub - lb) / (2 * crit))^2,
       ci_asymmetry = abs((ub + lb) / 2 - yi) / (ub - lb))
}
conv_wald_p <- function(out, pval) {
  yi <- log(out)
  list(yi = yi, vi = (yi / qnorm(pval / 2, lower.tail = FALSE))^2)
}
# oncology-style printed figures: HR (CI) at 95%, a 96% CI, a 97.5% CI, an off-centre CI
hr <- c(0.73, 0.59, 0.80, 0.69, 0.62, 1.12, 0.50)
lb <- c(0.59, 0.44, 0.65, 0.52, 0.47, 0.92, 0.42)
ub <- c(0.89, 0.79, 0.99, 0.92, 0.81, 1.36, 0.90)
for (lv in c(95, 96)) {
  call <- sprintf("conv_wald_ci(hr, lb, ub, level=%g)", lv)
  r <- run(call)
  add_case(sprintf("conv_wald_ci_%g", lv), "hr_from_ci", call,
           inputs = list(hr = hr, lower = lb, upper = ub, level = lv), args = list(bounds = "both"),
           outputs = r, reference = "formula",
           note = "conv.wald transcribed (metafor 3.8-1 has no conv.wald); the last row is off-centre (> 0.1 of the width)")
}
lvls <- c(95, 96, 97.5, 95, 99, 90, 95)
call <- "conv_wald_ci(hr, lb, ub, level=lvls)"
r <- run(call)
add_case("conv_wald_ci_mixed_levels", "hr_from_ci", call,
         inputs = list(hr = hr, lower = lb, upper = ub, level = lvls), args = list(bounds = "both"),
         outputs = r, reference = "formula", note = "conv.wald transcribed; one level per row")
# one bound only (our extension to conv.wald): SE = (ln HR - ln L)/z or (ln U - ln HR)/z
call <- "list(yi=log(hr), vi=((log(hr) - log(lb))/qnorm(0.975))^2)"
add_case("hr_ci_lower_bound_95", "hr_from_ci", call,
         inputs = list(hr = hr, lower = lb, upper = ub, level = 95), args = list(bounds = "lower"),
         outputs = run(call), reference = "formula", note = "SE from the lower bound only")
call <- "list(yi=log(hr), vi=((log(ub) - log(hr))/qnorm(0.98))^2)"
add_case("hr_ci_upper_bound_96", "hr_from_ci", call,
         inputs = list(hr = hr, lower = lb, upper = ub, level = 96), args = list(bounds = "upper"),
         outputs = run(call), reference = "formula", note = "SE from the upper bound only")

# p-values as printed, including bounds ("<0.001" is used as p = 0.001: conservative SE)
hr_p <- c(0.73, 0.59, 0.80, 0.69, 1.12, 0.62)
p_printed <- c("0.0199", "<0.001", "p = 0.005", "P<0.0001", "0.32", "0.002")
p_used <- c(0.0199, 0.001, 0.005, 0.0001, 0.32, 0.002)
call <- "conv_wald_p(hr_p, p_used)"
add_case("conv_wald_p_printed", "hr_from_p", call,
         inputs = list(hr = hr_p, p = p_printed), args = list(),
         outputs = c(run(call), list(p = p_used, p_bound = c(FALSE, TRUE, FALSE, TRUE, FALSE, FALSE))),
         reference = "formula",
         note = "conv.wald transcribed; p printed as a bound ('<0.001') is used at the bound, as conv.wald's docs advise")

# logrank O - E and V; observed and expected events per arm (Parmar 1998, Tierney 2007)
oe <- c(-12.4, -3.1, 5.2); v <- c(45.1, 20.3, 60.8)
call <- "list(yi = oe / v, vi = 1 / v)"
add_case("logrank_oe_v", "hr_from_logrank", call, inputs = list(o_minus_e = oe, v = v),
         args = list(), outputs = run(call), reference = "formula",
         note = "Tierney 2007: ln HR = (O-E)/V, var = 1/V")
o1 <- c(120, 45, 30); e1 <- c(140.2, 50.1, 24.4); o2 <- c(150, 60, 22); e2 <- c(129.8, 54.9, 27.6)
call <- "list(yi = log((o1/e1)/(o2/e2)), vi = 1/e1 + 1/e2)"
add_case("observed_expected", "hr_from_events", call,
         inputs = list(observed1 = o1, expected1 = e1, observed2 = o2, expected2 = e2),
         args = list(), outputs = run(call), reference = "formula",
         note = "Parmar 1998 / Tierney 2007: ln HR = ln((O1/E1)/(O2/E2)), var = 1/E1 + 1/E2")

# ---------------------------------------------------------------------------------------------
# 6. Medians (no metafor function: formulas written out; RMED/DMED as metamedian's
#    metamedian_survival and its se_median_survival_helper)
# ---------------------------------------------------------------------------------------------

med <- c(6.9, 12.2, 4.0, 10.3, 2.8, 19.9)
lo <- c(5.5, 9.7, 3.1, 8.1, 2.6, 16.8)
up <- c(8.3, NA, 5.9, 13.9, 3.0, NA)          # NA = "not reached"
lvl <- c(95, 95, 90, 95, 95, 95)
z <- qnorm(1 - (1 - lvl / 100) / 2)
call <- "list(yi = log(med), vi = ifelse(is.na(up), ((log(med) - log(lo))/z)^2, ((log(up) - log(lo))/(2*z))^2))"
add_case("median_log_ci", "median_es", call,
         inputs = list(median = med, lower = lo, upper = up, level = lvl,
                       upper_nr = is.na(up)),
         args = list(ci_scale = "log"), outputs = run(call), reference = "formula",
         note = "SE(ln M) = (ln U - ln L)/(2z); upper not reached: (ln M - ln L)/z")
call <- "list(yi = log(med), vi = (ifelse(is.na(up), (med - lo)/z, (up - lo)/(2*z)) / med)^2)"
add_case("median_natural_ci", "median_es", call,
         inputs = list(median = med, lower = lo, upper = up, level = lvl,
                       upper_nr = is.na(up)),
         args = list(ci_scale = "natural"), outputs = run(call), reference = "formula",
         note = "metamedian se_median_survival_helper on the month scale, then delta method SE/M")
ev_med <- c(6.9, 4.0, 11.0); ev_d <- c(64, 12, 101)
call <- "list(yi = log(ev_med), vi = 1/ev_d)"
add_case("median_events", "median_es", call,
         inputs = list(median = ev_med, events = ev_d), args = list(ci_scale = "log"),
         outputs = run(call), reference = "formula",
         note = "no CI: exponential model, var(ln median) = 1/events")

se_helper <- function(est, lb, ub, ci_level) {  # metamedian:::se_median_survival_helper
  alpha <- (1 - ci_level)
  ifelse(!is.na(ub), (ub - lb) / (2 * qnorm(1 - alpha / 2)), (est - lb) / qnorm(1 - alpha / 2))
}
m1 <- c(12.2, 10.3, 9.2, 19.9, 5.7); l1 <- c(9.7, 8.1, 7.3, 16.8, 4.9); u1 <- c(15.0, 13.9, 13.3, NA, 6.8)
m2 <- c(9.4, 6.4, 6.0, 13.0, 5.5); l2 <- c(8.0, 5.1, 5.1, 11.1, 4.2); u2 <- c(10.7, 7.8, 7.3, 15.6, 7.3)
lv1 <- c(0.95, 0.95, 0.96, 0.95, 0.95); lv2 <- c(0.95, 0.95, 0.96, 0.95, 0.90)
call <- "{s1 <- se_helper(m1, l1, u1, lv1); s2 <- se_helper(m2, l2, u2, lv2); list(yi = log(m1) - log(m2), vi = s1^2/m1^2 + s2^2/m2^2)}"
add_case("rmed_metamedian", "two_arm_median_es", call,
         inputs = list(median1 = m1, lower1 = l1, upper1 = u1, level1 = lv1 * 100, upper_nr1 = is.na(u1),
                       median2 = m2, lower2 = l2, upper2 = u2, level2 = lv2 * 100, upper_nr2 = is.na(u2)),
         args = list(measure = "RMED", ci_scale = "natural"), outputs = run(call), reference = "formula",
         note = "metamedian_survival(estimand='ratio_median') written out")
call <- "{s1 <- se_helper(m1, l1, u1, lv1); s2 <- se_helper(m2, l2, u2, lv2); list(yi = m1 - m2, vi = s1^2 + s2^2)}"
add_case("dmed_metamedian", "two_arm_median_es", call,
         inputs = list(median1 = m1, lower1 = l1, upper1 = u1, level1 = lv1 * 100, upper_nr1 = is.na(u1),
                       median2 = m2, lower2 = l2, upper2 = u2, level2 = lv2 * 100, upper_nr2 = is.na(u2)),
         args = list(measure = "DMED", ci_scale = "natural"), outputs = run(call), reference = "formula",
         note = "metamedian_survival(estimand='difference_median') written out")
call <- "{z1 <- qnorm(1 - (1 - lv1)/2); z2 <- qnorm(1 - (1 - lv2)/2); s1 <- ifelse(is.na(u1), (log(m1) - log(l1))/z1, (log(u1) - log(l1))/(2*z1)); s2 <- ifelse(is.na(u2), (log(m2) - log(l2))/z2, (log(u2) - log(l2))/(2*z2)); list(yi = log(m1) - log(m2), vi = s1^2 + s2^2)}"
add_case("rmed_log_scale", "two_arm_median_es", call,
         inputs = list(median1 = m1, lower1 = l1, upper1 = u1, level1 = lv1 * 100, upper_nr1 = is.na(u1),
                       median2 = m2, lower2 = l2, upper2 = u2, level2 = lv2 * 100, upper_nr2 = is.na(u2)),
         args = list(measure = "RMED", ci_scale = "log"), outputs = run(call), reference = "formula",
         note = "log-scale Wald CIs per arm: var(ln M1 - ln M2) = SE1^2 + SE2^2")

# median of medians (McGrath et al. 2019; metamedian pool.med written out)
pool_med_normal <- function(yi, wi = NULL, level = 0.95) {
  n <- length(yi)
  prob <- min(0.5, qnorm(1 - (1 - level) / 2) / (2 * sqrt(n)))
  probs <- c(0.5 - prob, 0.5, 0.5 + prob)
  q <- if (is.null(wi)) unname(quantile(yi, probs = probs)) else
    unname(Hmisc::wtd.quantile(yi, weights = wi, probs = probs))
  list(estimate = q[2], ci_low = q[1], ci_high = q[3])
}
sign_test_exact <- function(yi, level = 0.95) {   # textbook sign-test CI [y_(T+1), y_(n-T)]
  n <- length(yi); t <- 0:floor(n / 2)
  cover <- 1 - 2 * pbinom(t, n, 0.5)
  tt <- max(t[cover > level])
  ys <- sort(yi)
  list(estimate = unname(quantile(yi, 0.5)), ci_low = ys[tt + 1], ci_high = ys[n - tt],
       coverage = 1 - 2 * pbinom(tt, n, 0.5))
}
mm <- c(5.23, 3.10, 0.50, 0.78, 3.48, 0.59, 2.20, 5.06, 4.00)   # pool.med's example
mm_n <- c(120, 35, 60, 48, 210, 33, 95, 41, 77)
call <- "pool_med_normal(mm)"
add_case("median_of_medians_normal", "median_of_medians", call, inputs = list(medians = mm),
         args = list(method = "normal", level = 95), outputs = run(call), reference = "formula",
         note = "metamedian pool.med(yi, norm.approx=TRUE) written out")
call <- "pool_med_normal(mm, mm_n)"
add_case("median_of_medians_weighted", "median_of_medians", call,
         inputs = list(medians = mm, weights = mm_n), args = list(method = "normal", level = 95),
         outputs = run(call), reference = "formula",
         note = "metamedian pool.med(yi, wi=n, norm.approx=TRUE) written out; Hmisc::wtd.quantile")
call <- "pool_med_normal(mm, rep(1, length(mm)) * 3)"
stopifnot(isTRUE(all.equal(run(call)$estimate, unname(quantile(rep(mm, 3), 0.5)))))
call <- "pool_med_normal(mm[1:4], level=0.90)"
add_case("median_of_medians_normal_k4_90", "median_of_medians", call,
         inputs = list(medians = mm[1:4]), args = list(method = "normal", level = 90),
         outputs = run(call), reference = "formula", note = "few studies: prob capped at 0.5 is not reached")
mm12 <- c(mm, 7.1, 1.4, 2.9)
call <- "sign_test_exact(mm12)"
add_case("median_of_medians_exact", "median_of_medians", call, inputs = list(medians = mm12),
         args = list(method = "exact", level = 95), outputs = run(call), reference = "formula",
         note = "textbook exact sign-test CI; metamedian pool.med(norm.approx=FALSE) takes y_(n-T-1) as the upper bound")

# ---------------------------------------------------------------------------------------------

out <- list(
  generated_by = "Rscript tests/reference/make_effects_fixtures.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  hmisc_version = as.character(packageVersion("Hmisc")),
  date = format(Sys.Date()),
  notes = paste(
    "reference = 'metafor': output of the metafor call in 'call'.",
    "reference = 'R stats': output of base R (binom.test, prop.test).",
    "reference = 'formula': metafor 3.8-1 has no function for it; the published formula",
    "(or metafor >= 4.0's conv.wald, or metamedian's code) is written out in this script,",
    "independently of the Python code."),
  cases = unname(cases)
)
path <- file.path("tests", "reference", "effects_fixtures.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), path)
cat("wrote", length(cases), "cases to", path, "\n")
