# Reference values for metaoutcome's subgroup analysis, from R metafor.
# Run from the repository root:  Rscript tests/reference/make_subgroup_fixtures.R
# Needs: apt-get install -y r-cran-metafor r-cran-jsonlite
#
# Separate tau^2 per subgroup (as R meta and RevMan; the cases without a "tau2" field): each subgroup is fitted with rma(); the test
# for subgroup differences is the Q statistic of a common-effect model fitted to the subgroup
# estimates with their standard errors: rma(yi = b_g, sei = se_g, method = "FE")$QE.
# metafor's Fisher scoring (ML/REML/EB) stops when tau^2 changes by < 1e-5, which leaves ~1e-6
# relative error in se; as in make_pool_fixtures.R, it is run to convergence here.
suppressMessages({library(metafor); library(jsonlite)})
TIGHT <- list(threshold = 1e-13, maxiter = 1000)

cases <- list()
add_case <- function(id, dat, method, test) {
  groups <- unique(as.character(dat$g))
  # subset outside rma(): its data= argument is evaluated inside the frame, where `g` is a column
  fits <- lapply(groups, function(grp) { sub <- dat[as.character(dat$g) == grp, ]
    rma(sub$yi, sub$vi, method = method, test = test, control = TIGHT) })
  names(fits) <- groups
  b <- sapply(fits, function(f) as.numeric(f$beta)); se <- sapply(fits, function(f) f$se)
  between <- rma(yi = b, sei = se, method = "FE")
  overall <- rma(dat$yi, dat$vi, method = method, test = test, control = TIGHT)
  per <- lapply(groups, function(g) { f <- fits[[g]]
    list(group = g, k = f$k, estimate = as.numeric(f$beta), se = f$se, ci_low = f$ci.lb, ci_high = f$ci.ub,
         tau2 = f$tau2, i2 = f$I2, q = f$QE, q_pvalue = f$QEp) })
  cases[[length(cases) + 1]] <<- list(
    id = id, method = method, test = test, yi = dat$yi, vi = dat$vi, group = as.character(dat$g),
    call = sprintf("per group: rma(yi, vi, method='%s', test='%s', control=list(threshold=1e-13, maxiter=1000)); between: rma(yi=b, sei=se, method='FE')$QE", method, test),
    subgroups = per, q_between = between$QE, q_between_df = between$k - 1, q_between_pvalue = between$QEp,
    overall_estimate = as.numeric(overall$beta), overall_se = overall$se, overall_tau2 = overall$tau2)
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$g <- bcg$alloc
for (m in c("REML", "DL")) for (t in c("z", "knha")) add_case(sprintf("bcg_alloc_%s_%s", m, t), bcg, m, t)

# a small two-subgroup set of logit proportions (events/n as literal numbers, not curated data)
p <- escalc(measure = "PLO", xi = c(9, 14, 20, 11, 19, 12, 8, 15, 22), ni = c(45, 70, 102, 60, 67, 40, 30, 50, 61))
p$g <- c("mono", "mono", "mono", "mono", "combo", "combo", "combo", "combo", "combo")
for (m in c("REML", "DL", "FE")) add_case(sprintf("plo_two_groups_%s", m), p, m, "z")

# ---------------------------------------------------------------------------------------------
# Common tau^2 across subgroups (subgroup_analysis(..., tau2 = "common")): the mixed-effects
# model with the subgroup factor as moderator. Factor levels in order of first appearance, as
# metaoutcome reports the subgroups (neither the per-group values nor QM depend on the order).
#   per subgroup:  cell <- rma(yi, vi, mods = ~ g - 1, method, test)   coefficients, SE, CI;
#                  predict(cell, newmods = diag(G))                      prediction intervals
#   between:       diff <- rma(yi, vi, mods = ~ g, method, test)        QM (chi^2, df G - 1) or F
#                  (knha: F with G - 1 and k - G df); the common tau^2 is diff$tau2 (= cell$tau2)
#   within:        rma(yi_g, vi_g, method = "FE")$QE per subgroup, and diff$QE (their sum);
#                  I^2 = max(0, (Q - df) / Q) * 100 from it (Higgins & Thompson 2002, what R meta
#                  prints per subgroup); NA for a one-study subgroup
# ---------------------------------------------------------------------------------------------
add_common_case <- function(id, dat, method, test, source) {
  g <- factor(as.character(dat$g), levels = unique(as.character(dat$g)))
  yi <- dat$yi; vi <- dat$vi
  cell <- rma(yi, vi, mods = ~ g - 1, method = method, test = test, control = TIGHT)
  diff <- rma(yi, vi, mods = ~ g, method = method, test = test, control = TIGHT)
  if (abs(cell$tau2 - diff$tau2) > 1e-12) stop("cell-means and difference models disagree on tau^2")
  pr <- predict(cell, newmods = diag(nlevels(g)))
  overall <- rma(yi, vi, method = method, test = test, control = TIGHT)
  per <- lapply(seq_len(nlevels(g)), function(j) {
    lev <- levels(g)[j]; sel <- g == lev
    fe <- rma(yi[sel], vi[sel], method = "FE")
    q <- fe$QE; qdf <- sum(sel) - 1
    list(group = lev, k = sum(sel), estimate = as.numeric(cell$beta[j]), se = cell$se[j],
         statistic = cell$zval[j], pvalue = cell$pval[j], ci_low = cell$ci.lb[j], ci_high = cell$ci.ub[j],
         pi_low = pr$pi.lb[j], pi_high = pr$pi.ub[j], q = q, q_df = qdf, q_pvalue = if (qdf > 0) fe$QEp else NA,
         i2 = if (qdf > 0) max(0, (q - qdf) / q) * 100 else NA)
  })
  cases[[length(cases) + 1]] <<- list(
    id = id, tau2 = "common", method = method, test = test, yi = yi, vi = vi, group = as.character(dat$g),
    source = source,
    call = sprintf(paste0("g <- factor(g, levels = unique(g)); cell <- rma(yi, vi, mods = ~ g - 1, method='%s', test='%s', ",
                          "control=list(threshold=1e-13, maxiter=1000)); predict(cell, newmods = diag(nlevels(g))); ",
                          "diff <- rma(yi, vi, mods = ~ g, method='%s', test='%s', control=...)$QM/QMdf/QMp/tau2/QE; ",
                          "within: rma(yi_g, vi_g, method='FE')$QE"), method, test, method, test),
    subgroups = per, tau2_common = diff$tau2, tau2_common_se = diff$se.tau2,
    q_between = diff$QM, q_between_df = diff$QMdf[1], q_between_df2 = diff$QMdf[2], q_between_pvalue = diff$QMp,
    q_within = diff$QE, q_within_df = diff$k - diff$p, q_within_pvalue = diff$QEp,
    overall_estimate = as.numeric(overall$beta), overall_se = overall$se, overall_tau2 = overall$tau2)
}

# classic data: BCG trials by allocation (metafor's dat.bcg)
for (m in c("REML", "DL")) for (t in c("z", "knha"))
  add_common_case(sprintf("common_bcg_alloc_%s_%s", m, t), bcg, m, t,
                  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg); g = alloc')

# bundled oncology data: objective response of HCC arms after first-line therapy, logit
# proportions by regimen class, read from datasets/proportions.csv and datasets/trials.csv with
# the rows metaoutcome pools (events and n reported, not superseded, no exclude_reason).
props <- read.csv("datasets/proportions.csv", stringsAsFactors = FALSE, na.strings = "")
trials <- read.csv("datasets/trials.csv", stringsAsFactors = FALSE, na.strings = "")
hcc <- props[props$trial_id %in% trials$trial_id[trials$cancer == "HCC"] & props$outcome == "ORR" &
             !is.na(props$events) & !is.na(props$n) & is.na(props$superseded_by) & is.na(props$exclude_reason), ]
hcc <- escalc(measure = "PLO", xi = events, ni = n, data = hcc)
hcc$g <- hcc$regimen_class
for (t in c("z", "knha")) {
  add_common_case(sprintf("common_hcc_orr_regimen_REML_%s", t), hcc, "REML", t,
                  paste0("datasets/proportions.csv (HCC, ORR, events and n reported, not superseded; rows ",
                         paste(hcc$row_id, collapse = ", "), "): escalc(measure = 'PLO', xi = events, ni = n); g = regimen_class"))
  cases[[length(cases)]]$row_id <- hcc$row_id
}

# edge case: homogeneous studies (tau^2 = 0 for the subgroup model) and a one-study subgroup
homog <- data.frame(yi = c(0.10, 0.12, 0.08, 0.11, 0.09, 0.10), vi = c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05),
                    g = c("a", "a", "a", "b", "b", "c"))
for (t in c("z", "knha"))
  add_common_case(sprintf("common_homog_single_REML_%s", t), homog, "REML", t,
                  "literal numbers: yi = c(0.10, 0.12, 0.08, 0.11, 0.09, 0.10), vi = c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05), g = c('a','a','a','b','b','c')")

out <- list(
  generated_by = "tests/reference/make_subgroup_fixtures.R",
  r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
  cases = cases)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/subgroup_fixtures.json")
