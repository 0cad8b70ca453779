# Reference values for the metafor features of metaoutcome's one engine, computed with R metafor.
#
#   Rscript tests/reference/make_engine_fixtures.R        (from the repository root)
#
# writes tests/reference/engine_fixtures.json (committed; CI does not need R).
# Needs R >= 4.2, metafor (3.8-1 used), metadat and jsonlite.
#
# Sections (each case stores its R call):
# * qp_mods: confint(rma(yi, vi, mods = ...)) after a meta-regression: the Q-profile CI of
#   tau^2, tau, I^2 and H^2. Tight control: rma(..., control = list(threshold = 1e-13,
#   maxiter = 1000)) for ML/REML/EB, control = list(tol = 1e-14) for PM, and
#   confint(..., control = list(tol = 1e-14)) (metafor's uniroot default, 1.2e-4, is too loose
#   for a 1e-6 comparison).
# * mh_tests: rma.mh(measure = "OR") Cochran (CO), Cochran-Mantel-Haenszel (MH), Breslow-Day
#   (BD) and Tarone (TA) statistics with their p-values, with and without correct = TRUE.
# * loo_mh, loo_peto, cumul_mh, cumul_peto: leave1out() and cumul() of rma.mh (OR, RR, RD) and
#   rma.peto fits.
# * cumul_collapse: metafor 3.8-1 has no cumul(..., collapse = TRUE) (it came in 4.0), so the
#   reference is computed the way collapse is defined: for each distinct ordering value u, in
#   increasing order, rma() on the studies with order <= u (one row per distinct value).
# * matrices: hatvalues(res, type = "matrix"), weights(res, type = "matrix") and rstudent(res)
#   (resid, se, z) of an intercept-only and a meta-regression model.
# * regtest: regtest(res, model = m, predictor = p) for every model ("rma", "lm") and predictor
#   ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv") metafor 3.8-1 offers.
# Data: metadat's dat.bcg (log risk ratios from escalc, ni = tpos + tneg + cpos + cneg).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_file <- "tests/reference/engine_fixtures.json"
if (!dir.exists("tests/reference")) stop("run from the repository root")
num <- function(x) { x <- as.numeric(x); x[is.infinite(x)] <- NA; x }

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$ni <- with(dat.bcg, tpos + tneg + cpos + cneg)
ctrl <- function(method) {
  if (method %in% c("ML", "REML", "EB")) list(threshold = 1e-13, maxiter = 1000)
  else if (method == "PM") list(tol = 1e-14) else list()
}
data_out <- list(yi = num(dat$yi), vi = num(dat$vi), ni = num(dat$ni), ablat = num(dat$ablat),
                 year = num(dat$year), alloc = as.character(dat$alloc),
                 tpos = dat.bcg$tpos, tneg = dat.bcg$tneg, cpos = dat.bcg$cpos, cneg = dat.bcg$cneg)

# ---- Q-profile CI after a meta-regression
qp <- list()
specs <- list(
  list(id = "ablat", mods = ~ ablat, test = "z", intercept = TRUE),
  list(id = "ablat_year_knha", mods = ~ ablat + year, test = "knha", intercept = TRUE),
  list(id = "alloc_noint", mods = ~ factor(alloc) - 1, test = "z", intercept = FALSE)
)
for (sp in specs) for (m in c("REML", "ML", "DL", "PM", "EB", "HE", "HS", "SJ")) {
  res <- rma(yi, vi, mods = sp$mods, data = dat, method = m, test = sp$test, control = ctrl(m))
  ci <- confint(res, control = list(tol = 1e-14))$random
  qp[[length(qp) + 1]] <- list(
    id = paste(sp$id, m, sep = "-"), mods = sp$id, method = m, test = sp$test,
    call = paste0("confint(rma(yi, vi, mods = ", deparse(sp$mods), ", data = dat, method = '", m,
                  "', test = '", sp$test, "'), control = list(tol = 1e-14))"),
    X = unname(res$X), tau2 = res$tau2, k = res$k, p = res$p,
    tau2_ci = num(ci["tau^2", 2:3]), tau_ci = num(ci["tau", 2:3]),
    i2_ci = num(ci["I^2(%)", 2:3]), h2_ci = num(ci["H^2", 2:3]))
}

# ---- Mantel-Haenszel tests
mh <- list()
for (corr in c(TRUE, FALSE)) {
  res <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, measure = "OR", correct = corr)
  mh[[length(mh) + 1]] <- list(correct = corr,
    call = paste0("rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, measure = 'OR', correct = ", corr, ")"),
    CO = res$CO, COp = res$COp, MH = res$MH, MHp = res$MHp, BD = res$BD, BDp = res$BDp, TA = res$TA, TAp = res$TAp)
}

# ---- leave-one-out and cumulative of MH and Peto fits
tab <- function(x) list(estimate = num(x$estimate), se = num(x$se), zval = num(x$zval), pval = num(x$pval),
                        ci_lb = num(x$ci.lb), ci_ub = num(x$ci.ub), Q = num(x$Q), Qp = num(x$Qp),
                        I2 = num(x$I2), H2 = num(x$H2))
refits <- list()
for (meas in c("OR", "RR", "RD")) {
  res <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, measure = meas)
  refits[[length(refits) + 1]] <- c(list(id = paste0("loo_mh_", meas), what = "loo", fit = "mh", measure = meas,
    call = paste0("leave1out(rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, measure = '", meas, "'))")),
    tab(leave1out(res)))
  refits[[length(refits) + 1]] <- c(list(id = paste0("cumul_mh_", meas), what = "cumul", fit = "mh", measure = meas,
    call = paste0("cumul(rma.mh(..., measure = '", meas, "'), order = dat.bcg$year)"),
    order = num(order(dat.bcg$year))), tab(cumul(res, order = dat.bcg$year)))
}
res <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
refits[[length(refits) + 1]] <- c(list(id = "loo_peto", what = "loo", fit = "peto", measure = "OR",
  call = "leave1out(rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))"), tab(leave1out(res)))
refits[[length(refits) + 1]] <- c(list(id = "cumul_peto", what = "cumul", fit = "peto", measure = "OR",
  call = "cumul(rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg), order = dat.bcg$year)"),
  tab(cumul(res, order = dat.bcg$year)))

# ---- cumulative with collapse: studies sharing an ordering value enter together
collapse <- list()
for (m in c("REML", "FE", "DL")) for (dec in c(FALSE, TRUE)) {
  u <- sort(unique(dat$ablat), decreasing = dec)
  rows <- lapply(u, function(a) {
    sub <- if (dec) dat$ablat >= a else dat$ablat <= a
    r <- rma(yi, vi, data = dat, subset = sub, method = m, control = ctrl(m))
    c(k = r$k, estimate = c(r$beta), se = r$se, zval = r$zval, pval = r$pval, ci_lb = r$ci.lb, ci_ub = r$ci.ub,
      Q = r$QE, Qp = r$QEp, tau2 = r$tau2, I2 = r$I2, H2 = r$H2)
  })
  tabc <- do.call(rbind, rows)
  collapse[[length(collapse) + 1]] <- c(list(id = paste0("collapse_", m, if (dec) "_decreasing" else ""),
    method = m, decreasing = dec, order_values = num(u),
    call = paste0("for each distinct ablat value a (", if (dec) "decreasing" else "increasing",
                  "): rma(yi, vi, data = dat, subset = ablat ", if (dec) ">=" else "<=", " a, method = '", m, "')")),
    lapply(as.data.frame(tabc), num))
}

# ---- hat and weight matrices, rstudent
mats <- list()
for (sp in list(list(id = "intercept_REML", mods = NULL, method = "REML", test = "z"),
                list(id = "ablat_REML", mods = ~ ablat, method = "REML", test = "z"),
                list(id = "ablat_DL_knha", mods = ~ ablat, method = "DL", test = "knha"),
                list(id = "ablat_FE", mods = ~ ablat, method = "FE", test = "z"))) {
  res <- if (is.null(sp$mods)) rma(yi, vi, data = dat, method = sp$method, test = sp$test, control = ctrl(sp$method))
         else rma(yi, vi, mods = sp$mods, data = dat, method = sp$method, test = sp$test, control = ctrl(sp$method))
  rs <- rstudent(res)
  mats[[length(mats) + 1]] <- list(id = sp$id, mods = if (is.null(sp$mods)) "" else "ablat", method = sp$method,
    test = sp$test, call = paste0("hatvalues/weights(type = 'matrix'), rstudent of rma(yi, vi, mods = ",
                                  if (is.null(sp$mods)) "NULL" else deparse(sp$mods), ", method = '", sp$method,
                                  "', test = '", sp$test, "')"),
    hat = unname(hatvalues(res, type = "matrix")), weight = unname(weights(res, type = "matrix")),
    hat_diag = num(hatvalues(res)), weight_diag = num(weights(res)),
    rstudent_resid = num(rs$resid), rstudent_se = num(rs$se), rstudent_z = num(rs$z))
}

# ---- Egger's regression test: every model and predictor
eg <- list()
for (sp in list(list(id = "REML", method = "REML", test = "z"), list(id = "FE", method = "FE", test = "z"),
                list(id = "DL_knha", method = "DL", test = "knha"))) {
  res <- rma(yi, vi, ni = ni, data = dat, method = sp$method, test = sp$test, control = ctrl(sp$method))
  for (mod in c("rma", "lm")) for (pr in c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")) {
    r <- regtest(res, model = mod, predictor = pr)
    eg[[length(eg) + 1]] <- list(id = paste(sp$id, mod, pr, sep = "-"), method = sp$method, test = sp$test,
      model = mod, predictor = pr,
      call = paste0("regtest(rma(yi, vi, ni = ni, data = dat, method = '", sp$method, "', test = '", sp$test,
                    "'), model = '", mod, "', predictor = '", pr, "')"),
      zval = num(r$zval), pval = num(r$pval), dfs = num(if (is.null(r$dfs)) NA else r$dfs),
      est = num(if (is.null(r$est)) NA else r$est), ci_lb = num(if (is.null(r$ci.lb)) NA else r$ci.lb),
      ci_ub = num(if (is.null(r$ci.ub)) NA else r$ci.ub))
  }
}

out <- list(
  generated_by = "tests/reference/make_engine_fixtures.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  data = data_out, qp_mods = qp, mh_tests = mh, refits = refits, cumul_collapse = collapse,
  matrices = mats, regtest = eg)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE), out_file)
cat("wrote", out_file, "\n")
