# Reference values for metaoutcome's subgroup analysis, from R metafor.
# Run from the repository root:  Rscript tests/reference/make_subgroup_fixtures.R
# Needs: apt-get install -y r-cran-metafor r-cran-jsonlite
#
# Separate tau^2 per subgroup (as R meta and RevMan): each subgroup is fitted with rma(); the test
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

out <- list(
  generated_by = "tests/reference/make_subgroup_fixtures.R",
  r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
  cases = cases)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/subgroup_fixtures.json")
