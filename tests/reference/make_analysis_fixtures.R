# Reference values for metaoutcome's post-pooling analyses, computed with R metafor.
#
#   Rscript tests/reference/make_analysis_fixtures.R        (from the repository root)
#
# writes tests/reference/analysis_fixtures.json. CI does not need R: the JSON is committed.
# Needs R >= 4.2, metafor (3.8-1 used), metadat and jsonlite.
#
# Sections (every case stores the exact R call that produced it):
#   regression  rma(yi, vi, mods = ~ ..., method, test)        -> metaoutcome.regression.meta_regression
#   permutest   permutest(fit, exact = TRUE)                    -> regression.permutation_test
#   leave1out   leave1out(rma(yi, vi, method, test))            -> diagnostics.leave_one_out
#   influence   influence(rma(...))  (intercept-only and mods)  -> diagnostics.influence
#   cumul       cumul(rma(...), order = ...)                    -> diagnostics.cumulative
#   regtest     regtest(rma(...), model = "rma" / "lm")         -> small_study.egger_test
#   ranktest    ranktest(rma(...))                              -> small_study.rank_test
#   trimfill    trimfill(rma(...), estimator = "L0" / "R0")     -> small_study.trim_and_fill
#   petpeese    lm(yi ~ sei, weights = 1/vi), lm(yi ~ vi, ...)  -> small_study.pet_peese
#   gosh        gosh(rma(...)) (all subsets, small k)           -> gosh.gosh
#
# Tight solver tolerances. metafor's iterative solvers stop early by default (Fisher scoring at a
# change in tau^2 < 1e-5; uniroot at tol ~ 1.2e-4), which leaves errors above the 1e-6 relative
# tolerance of the comparison. Every fit therefore uses
#   control = list(threshold = 1e-13, maxiter = 1000, tol = 1e-14)
# i.e. metafor's own estimators run to convergence (metaoutcome solves the estimating equations
# to machine precision). permutest(), leave1out(), influence(), cumul() and gosh() refit with the
# model's control, so the same holds for every refit.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_file <- "tests/reference/analysis_fixtures.json"
if (!dir.exists("tests/reference")) stop("run from the repository root")

CTRL <- list(threshold = 1e-13, maxiter = 1000, tol = 1e-14)
CTRL_TXT <- "control = list(threshold = 1e-13, maxiter = 1000, tol = 1e-14)"
num <- function(x) { x <- as.numeric(x); x[is.infinite(x)] <- NA; x }

# ---------------------------------------------------------------------------------------------
# data sets
# ---------------------------------------------------------------------------------------------
datasets <- list()

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets$bcg <- list(
  yi = num(bcg$yi), vi = num(bcg$vi), labels = paste(dat.bcg$author, dat.bcg$year),
  mods = list(ablat = dat.bcg$ablat, alloc = as.character(dat.bcg$alloc), year = dat.bcg$year),
  source = 'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg) (log risk ratios)')

datasets$hackshaw <- list(
  yi = num(dat.hackshaw1998$yi), vi = num(dat.hackshaw1998$vi),
  labels = paste(dat.hackshaw1998$author, dat.hackshaw1998$year),
  mods = list(design = as.character(dat.hackshaw1998$design)),
  source = "dat.hackshaw1998$yi, $vi (passive smoking and lung cancer, log odds ratios)")

# A small oncology-style set built from literal numbers: seven illustrative randomised trials of
# an immune checkpoint inhibitor, overall-survival hazard ratios with 95% CIs, by line of therapy
# and the percentage of PD-L1-positive patients. ILLUSTRATIVE numbers, not real trials.
onco_hr <- c(0.62, 0.73, 0.69, 0.85, 0.77, 0.93, 0.59)
onco_lb <- c(0.48, 0.59, 0.53, 0.70, 0.60, 0.74, 0.42)
onco_ub <- c(0.80, 0.90, 0.90, 1.03, 0.99, 1.17, 0.83)
onco <- list(
  yi = log(onco_hr), vi = ((log(onco_ub) - log(onco_lb)) / (2 * qnorm(0.975)))^2,
  labels = paste("Trial", LETTERS[1:7]),
  mods = list(line = c("first", "first", "second", "second", "first", "second", "first"),
              pdl1 = c(62, 45, 50, 20, 35, 10, 80)),
  source = paste0("literal numbers in make_analysis_fixtures.R: yi = log(HR), vi = ((log(ub) - log(lb)) / (2 * qnorm(0.975)))^2; HR = c(",
                  paste(onco_hr, collapse = ", "), "), lb = c(", paste(onco_lb, collapse = ", "), "), ub = c(",
                  paste(onco_ub, collapse = ", "), ")"))
datasets$onco <- onco

# homogeneous set: the estimated tau^2 is 0 for every estimator, with and without moderators
datasets$homog <- list(
  yi = c(0.10, 0.12, 0.08, 0.11, 0.09, 0.10), vi = c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05),
  labels = paste("Study", 1:6), mods = list(dose = c(1, 2, 3, 4, 5, 6), arm = c("a", "b", "a", "b", "a", "b")),
  source = "literal numbers: yi = c(0.10, 0.12, 0.08, 0.11, 0.09, 0.10), vi = c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05)")

mkdata <- function(name) {
  d <- datasets[[name]]
  df <- data.frame(yi = d$yi, vi = d$vi, stringsAsFactors = FALSE)
  for (m in names(d$mods)) df[[m]] <- d$mods[[m]]
  for (m in names(d$mods)) if (is.character(df[[m]])) df[[m]] <- factor(df[[m]])
  df
}

fit_uni <- function(name, mods, method, test) {
  df <- mkdata(name)
  if (length(mods)) {
    f <- as.formula(paste("~", paste(mods, collapse = " + ")))
    res <- rma(yi, vi, mods = f, data = df, method = method, test = test, control = CTRL)
    call <- sprintf('rma(yi, vi, mods = ~ %s, data = %s, method = "%s", test = "%s", %s)',
                    paste(mods, collapse = " + "), name, method, test, CTRL_TXT)
  } else {
    res <- rma(yi, vi, data = df, method = method, test = test, control = CTRL)
    call <- sprintf('rma(yi, vi, data = %s, method = "%s", test = "%s", %s)', name, method, test, CTRL_TXT)
  }
  list(res = res, call = call)
}

# ---------------------------------------------------------------------------------------------
# meta-regression
# ---------------------------------------------------------------------------------------------
REG_METHODS <- c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
REG_TESTS <- c("z", "knha")
REG_MODELS <- list(
  list(data = "bcg", mods = c("ablat", "alloc")),
  list(data = "bcg", mods = c("ablat")),
  list(data = "bcg", mods = c("alloc")),
  list(data = "bcg", mods = c("ablat", "year")),
  list(data = "onco", mods = c("line", "pdl1")),
  list(data = "homog", mods = c("dose")),
  list(data = "hackshaw", mods = c("design"))
)
regression <- list()
for (m in REG_MODELS) for (method in REG_METHODS) for (test in REG_TESTS) {
  f <- fit_uni(m$data, m$mods, method, test)
  r <- f$res
  id <- sprintf("%s~%s/%s/%s", m$data, paste(m$mods, collapse = "+"), method, test)
  regression[[length(regression) + 1]] <- list(
    id = id, data = m$data, mods = m$mods, method = method, test = test, call = f$call,
    coef_names = rownames(r$beta), beta = num(r$beta), se = num(r$se), zval = num(r$zval),
    pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), vb = unname(as.matrix(r$vb)),
    tau2 = r$tau2, se_tau2 = if (is.null(r$se.tau2)) NA else num(r$se.tau2),
    I2 = num(r$I2), H2 = num(r$H2), R2 = if (is.null(r$R2)) NA else num(r$R2),
    QE = r$QE, QEp = r$QEp, QE_df = r$k - r$p, QM = r$QM, QMp = r$QMp, QMdf = num(r$QMdf),
    ddf = num(r$ddf), ll_ml = num(r$fit.stats["ll", "ML"]), ll_reml = num(r$fit.stats["ll", "REML"]))
}

# ---------------------------------------------------------------------------------------------
# permutation tests: exact (all permutations) for small k
# ---------------------------------------------------------------------------------------------
PERM_CASES <- list(
  list(data = "onco", mods = c("line"), method = "REML", test = "z"),
  list(data = "onco", mods = c("line"), method = "DL", test = "knha"),
  list(data = "onco", mods = character(0), method = "REML", test = "z"),
  list(data = "onco", mods = character(0), method = "FE", test = "z"),
  list(data = "onco", mods = c("pdl1"), method = "DL", test = "z"),
  list(data = "homog", mods = c("dose"), method = "REML", test = "knha")
)
permutest_cases <- list()
for (m in PERM_CASES) {
  f <- fit_uni(m$data, m$mods, m$method, m$test)
  pt <- permutest(f$res, exact = TRUE, progbar = FALSE)
  id <- sprintf("%s~%s/%s/%s", m$data, if (length(m$mods)) paste(m$mods, collapse = "+") else "1", m$method, m$test)
  permutest_cases[[length(permutest_cases) + 1]] <- list(
    id = id, data = m$data, mods = m$mods, method = m$method, test = m$test,
    call = paste0("permutest(", f$call, ", exact = TRUE)"),
    iterations = length(pt$QM.perm), pval = num(pt$pval), QMp = num(pt$QMp),
    zval = num(f$res$zval), QM = num(f$res$QM))
}

# ---------------------------------------------------------------------------------------------
# leave-one-out, influence, cumulative
# ---------------------------------------------------------------------------------------------
DIAG_CASES <- list(
  list(data = "bcg", method = "REML", test = "z"),
  list(data = "bcg", method = "DL", test = "knha"),
  list(data = "bcg", method = "FE", test = "z"),
  list(data = "bcg", method = "PM", test = "z"),
  list(data = "onco", method = "REML", test = "z"),
  list(data = "onco", method = "ML", test = "knha"),
  list(data = "homog", method = "REML", test = "z"),
  list(data = "hackshaw", method = "DL", test = "z")
)
l1o <- list(); infl <- list(); cum <- list()
for (m in DIAG_CASES) {
  f <- fit_uni(m$data, character(0), m$method, m$test)
  id <- sprintf("%s/%s/%s", m$data, m$method, m$test)
  l <- leave1out(f$res)
  l1o[[length(l1o) + 1]] <- list(
    id = id, data = m$data, method = m$method, test = m$test, call = paste0("leave1out(", f$call, ")"),
    estimate = num(l$estimate), se = num(l$se), zval = num(l[[3]]), pval = num(l$pval), ci_lb = num(l$ci.lb),
    ci_ub = num(l$ci.ub), Q = num(l$Q), Qp = num(l$Qp), tau2 = if (is.null(l$tau2)) rep(0, length(l$Q)) else num(l$tau2),
    I2 = num(l$I2), H2 = num(l$H2))
  inf <- influence(f$res)
  infl[[length(infl) + 1]] <- list(
    id = id, data = m$data, mods = character(0), method = m$method, test = m$test, call = paste0("influence(", f$call, ")"),
    rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
    cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
    hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbetas = unname(as.matrix(as.data.frame(inf$dfbs)[, seq_len(f$res$p), drop = FALSE])),
    is_infl = as.logical(inf$is.infl))
  ord <- rev(seq_len(f$res$k))          # reverse order, to prove 'order' is honoured
  if (m$data == "bcg") ord <- order(dat.bcg$year)
  cu <- cumul(f$res, order = ord)
  cum[[length(cum) + 1]] <- list(
    id = id, data = m$data, method = m$method, test = m$test,
    call = sprintf("cumul(%s, order = c(%s))", f$call, paste(ord, collapse = ", ")), order = ord,
    estimate = num(cu$estimate), se = num(cu$se), zval = num(cu[[3]]), pval = num(cu[[4]]), ci_lb = num(cu$ci.lb),
    ci_ub = num(cu$ci.ub), Q = num(cu$Q), Qp = num(cu$Qp), tau2 = if (is.null(cu$tau2)) rep(0, length(cu$Q)) else num(cu$tau2),
    I2 = num(cu$I2), H2 = num(cu$H2))
}
# influence with moderators
for (m in list(list(data = "bcg", mods = c("ablat"), method = "REML", test = "z"),
               list(data = "bcg", mods = c("ablat", "alloc"), method = "DL", test = "knha"),
               list(data = "onco", mods = c("pdl1"), method = "REML", test = "z"))) {
  f <- fit_uni(m$data, m$mods, m$method, m$test)
  inf <- influence(f$res)
  infl[[length(infl) + 1]] <- list(
    id = sprintf("%s~%s/%s/%s", m$data, paste(m$mods, collapse = "+"), m$method, m$test), data = m$data, mods = m$mods,
    method = m$method, test = m$test, call = paste0("influence(", f$call, ")"),
    rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
    cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
    hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbetas = unname(as.matrix(as.data.frame(inf$dfbs)[, seq_len(f$res$p), drop = FALSE])),
    is_infl = as.logical(inf$is.infl))
}

# ---------------------------------------------------------------------------------------------
# small-study effects
# ---------------------------------------------------------------------------------------------
SS_CASES <- list(
  list(data = "hackshaw", method = "REML", test = "z"),
  list(data = "hackshaw", method = "FE", test = "z"),
  list(data = "hackshaw", method = "DL", test = "knha"),
  list(data = "bcg", method = "REML", test = "z"),
  list(data = "bcg", method = "DL", test = "z"),
  list(data = "onco", method = "REML", test = "z"),
  list(data = "homog", method = "REML", test = "z")
)
regt <- list(); rankt <- list(); tf <- list(); pp <- list()
for (m in SS_CASES) {
  f <- fit_uni(m$data, character(0), m$method, m$test)
  id <- sprintf("%s/%s/%s", m$data, m$method, m$test)
  for (model in c("rma", "lm")) for (predictor in c("sei", "vi")) {
    rt <- regtest(f$res, model = model, predictor = predictor)
    regt[[length(regt) + 1]] <- list(
      id = sprintf("%s/%s/%s", id, model, predictor), data = m$data, method = m$method, test = m$test,
      model = model, predictor = predictor,
      call = sprintf('regtest(%s, model = "%s", predictor = "%s")', f$call, model, predictor),
      zval = num(rt$zval), pval = num(rt$pval), dfs = num(rt$dfs), est = num(rt$est),
      ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub))
  }
  rk <- suppressWarnings(ranktest(f$res))
  rankt[[length(rankt) + 1]] <- list(id = id, data = m$data, method = m$method, test = m$test,
    call = paste0("ranktest(", f$call, ")"), tau = num(rk$tau), pval = num(rk$pval))
  for (est in c("L0", "R0")) {
    t <- trimfill(f$res, estimator = est, control = CTRL)   # trimfill refits with "...", not x$control
    tf[[length(tf) + 1]] <- list(
      id = sprintf("%s/%s", id, est), data = m$data, method = m$method, test = m$test, estimator = est,
      call = sprintf('trimfill(%s, estimator = "%s", %s)', f$call, est, CTRL_TXT),
      k0 = t$k0, se_k0 = num(t$se.k0), side = t$side, p_k0 = num(t$p.k0),
      yi = num(t$yi), vi = num(t$vi), fill = as.logical(t$fill),
      beta = num(t$beta), se = num(t$se), zval = num(t$zval), pval = num(t$pval),
      ci_lb = num(t$ci.lb), ci_ub = num(t$ci.ub), tau2 = num(t$tau2), QE = num(t$QE), QEp = num(t$QEp),
      I2 = num(t$I2), H2 = num(t$H2), k = t$k)
  }
  d <- mkdata(m$data); d$sei <- sqrt(d$vi)
  pet <- summary(lm(yi ~ sei, weights = 1 / vi, data = d))$coefficients
  peese <- summary(lm(yi ~ vi, weights = 1 / vi, data = d))$coefficients
  pp[[length(pp) + 1]] <- list(id = m$data, data = m$data,
    call = "summary(lm(yi ~ sei, weights = 1/vi))$coefficients; summary(lm(yi ~ vi, weights = 1/vi))$coefficients",
    pet = unname(pet), peese = unname(peese), df = nrow(d) - 2)
}
pp <- pp[!duplicated(sapply(pp, `[[`, "id"))]

# ---------------------------------------------------------------------------------------------
# GOSH (all subsets)
# ---------------------------------------------------------------------------------------------
GOSH_CASES <- list(
  list(data = "onco", method = "FE"), list(data = "onco", method = "DL"),
  list(data = "onco", method = "REML"), list(data = "onco", method = "PM"),
  list(data = "homog", method = "DL"), list(data = "bcg10", method = "DL"), list(data = "bcg10", method = "FE")
)
datasets$bcg10 <- list(yi = datasets$bcg$yi[1:10], vi = datasets$bcg$vi[1:10], labels = datasets$bcg$labels[1:10],
                       mods = list(), source = "the first 10 studies of dat.bcg (log risk ratios)")
gosh_cases <- list()
for (m in GOSH_CASES) {
  d <- datasets[[m$data]]
  res <- rma(d$yi, d$vi, method = m$method, control = CTRL)
  g <- gosh(res, progbar = FALSE)
  gosh_cases[[length(gosh_cases) + 1]] <- list(
    id = sprintf("%s/%s", m$data, m$method), data = m$data, method = m$method,
    call = sprintf('gosh(rma(yi, vi, data = %s, method = "%s", %s))', m$data, m$method, CTRL_TXT),
    incl = unname(g$incl * 1L), k = g$res$k, QE = num(g$res$QE), I2 = num(g$res$I2), H2 = num(g$res$H2),
    tau2 = num(g$res$tau2), estimate = num(g$res$estimate))
}

fixture <- list(
  meta = list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    date = format(Sys.Date()),
    script = "tests/reference/make_analysis_fixtures.R",
    control = CTRL_TXT
  ),
  datasets = datasets,
  regression = regression, permutest = permutest_cases, leave1out = l1o, influence = infl, cumul = cum,
  regtest = regt, ranktest = rankt, trimfill = tf, petpeese = pp, gosh = gosh_cases
)
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE), out_file)
cat("wrote", out_file, "\n")
