# Reference values for metaoutcome's pooling engine, computed with R metafor.
#
#   Rscript tests/reference/make_pool_fixtures.R        (from the repository root)
#
# writes tests/reference/pool_fixtures.json. CI does not need R: the JSON is committed.
# Needs R >= 4.2, metafor (3.8-1 used), metadat, lme4 and jsonlite.
#
# What is computed and why it is computed this way
# ------------------------------------------------
# * Inverse-variance models (section "uni"): for every data set x method (FE + the 8 tau^2
#   estimators) x test ("z", "t", "knha", "adhoc") the fields of metaoutcome's PoolResult, from
#   rma(), confint() (Q-profile, type "QP"), predict() and weights(). Each case stores the
#   exact R call.
# * Tight solver tolerances. metafor's own iterative solvers stop early by default: Fisher
#   scoring (ML/REML/EB) when the change in tau^2 is < threshold = 1e-5, uniroot (PM, and the
#   Q-profile CI) at tol = .Machine$double.eps^0.25 ~ 1.2e-4. Those stopping rules leave errors
#   far above the 1e-6 relative tolerance of the comparison, so the reference ("ref") is
#   metafor's own estimator run to convergence: control = list(threshold = 1e-13, maxiter =
#   1000) for ML/REML/EB, control = list(tol = 1e-14) for PM, and confint(..., control =
#   list(tol = 1e-14)). What metafor returns with its default control is stored too
#   ("default") and compared at a looser, documented tolerance.
# * When metafor's Fisher scoring does not converge even so, the reference is obtained another
#   way, recorded per case in "ref_source":
#     1. "stepadj": rma(..., control = list(stepadj = 0.5, maxiter = 10000, threshold = 1e-13));
#     2. "optimize": ML/REML: optimize() of metafor's own log-likelihood, logLik(rma(...,
#        tau2 = t)), over tau^2 in [0, 10 * max(var(yi), max(vi)) + 1] (tol 1e-14), compared with
#        tau^2 = 0; EB: uniroot() of metafor's generalized Q (the EB equation Q(tau^2) = k - 1).
#        The remaining fields then come from rma(..., tau2 = <that value>) and se.tau2 from
#        metafor's formula (REML sqrt(2 / sum(P * P)), ML sqrt(2 / sum(w^2)),
#        EB sqrt(2 k^2 / (k - 1)) / sum(w)); the Q-profile CI from confint() of a DL fit with
#        tau2.max = max(100, 10 * tau^2), metafor's default for the fitted model.
#   and, for ML/REML, when metafor's converged answer is only a LOCAL maximum of its own
#   log-likelihood (found by scanning ll on a 400-point grid; e.g. Fisher scoring stays at
#   tau^2 = 0 because the score there is negative while a higher maximum lies inside):
#     3. "global_max": the global maximum refined with optimize(); metafor's own answer stays
#        in "default". metaoutcome returns the global maximum by design.
# * Higgins-Thompson-Spiegelhalter prediction interval: written out as
#   mu +/- qt(1 - alpha/2, max(k - 2, 1)) * sqrt(tau^2 + se^2) and checked equal to
#   predict(res, pi.type = "riley") (metafor 3.8's undocumented equivalent).
# * Convergence record (section "convergence"): 200 random k = 20 data sets with sampling
#   variances spanning four orders of magnitude, fitted with metafor's DEFAULT control for
#   REML, ML and EB; failures are counted and the reference tau^2 obtained as above.
# * Mantel-Haenszel (rma.mh: OR, RR, RD) and Peto (rma.peto) on dat.bcg and on sparse tables
#   (dat.yusuf1985, table 9, has tables with zero cells).
# * Binomial-normal GLMM (rma.glmm(measure = "PLO"), i.e. lme4::glmer with nAGQ = 7) on
#   dat.pritz1997 and random proportions, including studies with 0 and n events.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
  library(lme4)
})

out_file <- "tests/reference/pool_fixtures.json"
if (!dir.exists("tests/reference")) stop("run from the repository root")

num <- function(x) { x <- as.numeric(x); x[is.infinite(x)] <- NA; x }
# JSON has no infinity: write +/-Inf as the strings "Inf" / "-Inf" (the Python side converts)
jinf <- function(x) if (is.infinite(x)) (if (x > 0) "Inf" else "-Inf") else x

TIGHT_FS <- list(threshold = 1e-13, maxiter = 1000)
TIGHT_PM <- list(tol = 1e-14)
TIGHT_CI <- list(tol = 1e-14)
METHODS <- c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
TESTS <- c("z", "t", "knha", "adhoc")

# ---------------------------------------------------------------------------------------------
# data sets
# ---------------------------------------------------------------------------------------------
datasets <- list()

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets[["bcg_logrr"]] <- list(yi = num(bcg$yi), vi = num(bcg$vi), labels = paste(dat.bcg$author, dat.bcg$year),
  source = 'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)')
datasets[["hackshaw1998_logor"]] <- list(yi = num(dat.hackshaw1998$yi), vi = num(dat.hackshaw1998$vi),
  labels = paste(dat.hackshaw1998$author, dat.hackshaw1998$year),
  source = "dat.hackshaw1998$yi, dat.hackshaw1998$vi (passive smoking and lung cancer, log OR)")
pr <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
datasets[["pritz1997_plo"]] <- list(yi = num(pr$yi), vi = num(pr$vi), labels = as.character(dat.pritz1997$authors),
  source = 'escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)')

set.seed(20240401)
for (k in c(2, 3, 4, 5, 7, 10, 15, 20, 30, 50)) {
  for (kind in c("het", "hom")) {
    vi <- 10^runif(k, -3, 1)                       # four orders of magnitude
    tau2 <- if (kind == "het") 10^runif(1, -2, 0) else 0
    yi <- rnorm(k, 0.3, sqrt(vi + tau2))
    datasets[[sprintf("rand_k%02d_%s", k, kind)]] <- list(yi = yi, vi = vi, labels = NULL,
      source = sprintf("set.seed(20240401) stream; vi <- 10^runif(%d, -3, 1); yi <- rnorm(%d, 0.3, sqrt(vi + %.6g))", k, k, tau2))
  }
}
datasets[["ident_k03"]] <- list(yi = rep(0.25, 3), vi = c(0.01, 0.1, 1), labels = NULL, source = "identical yi")
datasets[["ident_k10"]] <- list(yi = rep(-0.4, 10), vi = 10^seq(-2, 1, length.out = 10), labels = NULL, source = "identical yi")
datasets[["hugevar_k06"]] <- list(yi = c(0.1, 0.5, -0.2, 0.3, 0.8, 2.0), vi = c(0.02, 0.05, 0.03, 0.04, 0.06, 1e4),
  labels = NULL, source = "one study with a huge variance")
datasets[["single_k01"]] <- list(yi = 0.42, vi = 0.09, labels = NULL, source = "k = 1")

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
sum_pp <- function(w) { sw <- sum(w); sum(w^2) - 2 * sum(w^3) / sw + (sum(w^2) / sw)^2 }

tau2_formula_se <- function(method, tau2, vi) {
  w <- 1 / (vi + tau2); k <- length(vi)
  switch(method, REML = sqrt(2 / sum_pp(w)), ML = sqrt(2 / sum(w^2)), EB = sqrt(2 * k^2 / (k - 1)) / sum(w))
}

# metafor's ML / REML log-likelihood of an intercept-only model (ll.ML / ll.REML in rma.uni,
# REMLf = TRUE), vectorised over tau^2; checked against logLik(rma(..., tau2 = t)) below
ll_fun <- function(t, yi, vi, method) {
  sapply(t, function(t2) {
    w <- 1 / (vi + t2); k <- length(yi); mu <- sum(w * yi) / sum(w); rss <- sum(w * (yi - mu)^2)
    if (method == "ML") -k / 2 * log(2 * pi) - sum(log(vi + t2)) / 2 - rss / 2
    else -(k - 1) / 2 * log(2 * pi) + log(k) / 2 - sum(log(vi + t2)) / 2 - log(sum(w)) / 2 - rss / 2
  })
}

# Fisher scoring stops at a local maximum of the likelihood (for instance at tau^2 = 0 when the
# score there is negative although a higher maximum lies inside). Scan the profile
# log-likelihood on a fine grid; if it is higher anywhere than at metafor's answer by more than
# 1e-9, return the global maximum refined with optimize(), else NULL.
global_max <- function(yi, vi, method, tau2_metafor) {
  hi <- 10 * max(var(yi), max(vi)) + 1
  grid <- c(0, hi * 10^seq(-10, 0, length.out = 400))
  ll <- ll_fun(grid, yi, vi, method)
  i <- which.max(ll)
  if (ll[i] <= ll_fun(tau2_metafor, yi, vi, method) + 1e-9) return(NULL)
  if (i == 1) return(0)
  opt <- optimize(function(t) ll_fun(t, yi, vi, method), c(grid[i - 1], grid[min(i + 1, length(grid))]),
                  maximum = TRUE, tol = 1e-15)
  stopifnot(abs(ll_fun(opt$maximum, yi, vi, method) - as.numeric(logLik(rma(yi, vi, tau2 = opt$maximum, method = method)))) < 1e-10)
  opt$maximum
}

# fit with metafor's own estimator run to convergence; returns list(res, source, tau2_se)
fit_ref <- function(yi, vi, method, test, level = 95) {
  lv <- if (level != 95) sprintf(", level = %g", level) else ""
  if (method %in% c("ML", "REML", "EB")) {
    call <- sprintf('rma(yi, vi, method = "%s", test = "%s"%s, control = list(threshold = 1e-13, maxiter = 1000))', method, test, lv)
    res <- try(rma(yi, vi, method = method, test = test, level = level, control = TIGHT_FS), silent = TRUE)
    if (!inherits(res, "try-error") && method %in% c("ML", "REML") && length(yi) > 1) {
      t2 <- global_max(yi, vi, method, res$tau2)
      if (!is.null(t2)) {
        res <- rma(yi, vi, tau2 = t2, method = method, test = test, level = level)
        call <- sprintf('rma(yi, vi, tau2 = %.17g, method = "%s", test = "%s"%s)  # tau2: global maximum of logLik; metafor stopped at a local maximum', t2, method, test, lv)
        return(list(res = res, source = "global_max", call = call, se = tau2_formula_se(method, t2, vi)))
      }
    }
    if (!inherits(res, "try-error")) return(list(res = res, source = "metafor", call = call, se = res$se.tau2))
    call <- sprintf('rma(yi, vi, method = "%s", test = "%s"%s, control = list(stepadj = 0.5, maxiter = 10000, threshold = 1e-13))', method, test, lv)
    res <- try(rma(yi, vi, method = method, test = test, level = level, control = list(stepadj = 0.5, maxiter = 10000, threshold = 1e-13)), silent = TRUE)
    if (!inherits(res, "try-error")) return(list(res = res, source = "stepadj", call = call, se = res$se.tau2))
    if (method == "EB") {
      k <- length(yi)
      f <- function(t) metafor:::.QE.func(t, Y = cbind(yi), vi = vi, X = cbind(rep(1, k)), k = k, objective = k - 1)
      t2 <- if (f(0) < 0) 0 else uniroot(f, c(0, 10 * max(var(yi), max(vi)) + 1), tol = 1e-14, extendInt = "downX")$root
    } else {
      ll <- function(t) as.numeric(logLik(rma(yi, vi, tau2 = t, method = method)))
      opt <- optimize(ll, c(0, 10 * max(var(yi), max(vi)) + 1), maximum = TRUE, tol = 1e-14)
      t2 <- if (ll(0) >= opt$objective) 0 else opt$maximum
    }
    res <- rma(yi, vi, tau2 = t2, method = method, test = test, level = level)
    call <- sprintf('rma(yi, vi, tau2 = %.17g, method = "%s", test = "%s"%s)  # tau2 from %s', t2, method, test, lv,
                    if (method == "EB") "uniroot of Q(tau2) = k - 1" else "optimize(logLik)")
    return(list(res = res, source = "optimize", call = call, se = tau2_formula_se(method, t2, vi)))
  }
  if (method == "PM") {
    call <- sprintf('rma(yi, vi, method = "PM", test = "%s"%s, control = list(tol = 1e-14))', test, lv)
    res <- rma(yi, vi, method = "PM", test = test, level = level, control = TIGHT_PM)
    return(list(res = res, source = "metafor", call = call, se = res$se.tau2))
  }
  call <- sprintf('rma(yi, vi, method = "%s", test = "%s"%s)', method, test, lv)
  res <- suppressWarnings(rma(yi, vi, method = method, test = test, level = level))
  list(res = res, source = "metafor", call = call, se = res$se.tau2)
}

qp_ci <- function(fit, yi, vi, level) {
  res <- fit$res
  if (res$method %in% c("FE", "EE", "CE") || res$k < 2) return(NULL)
  if (isTRUE(res$tau2.fix)) {
    dl <- rma(yi, vi, method = "DL", level = level)
    ci <- confint(dl, control = c(TIGHT_CI, list(tau2.max = max(100, 10 * res$tau2))))
  } else {
    ci <- confint(res, control = TIGHT_CI)
  }
  r <- ci$random
  vt <- (length(vi) - 1) / (sum(1 / vi) - sum(1 / vi^2) / sum(1 / vi))
  list(tau2_ci_low = r["tau^2", "ci.lb"], tau2_ci_high = r["tau^2", "ci.ub"],
       tau_ci_low = r["tau", "ci.lb"], tau_ci_high = r["tau", "ci.ub"],
       # I^2/H^2 bounds recomputed from the tau^2 bounds with metafor's formula so that a
       # tau2.fix model (reference source "optimize") gets them too
       i2_ci_low = 100 * r["tau^2", "ci.lb"] / (vt + r["tau^2", "ci.lb"]),
       i2_ci_high = 100 * r["tau^2", "ci.ub"] / (vt + r["tau^2", "ci.ub"]),
       h2_ci_low = r["tau^2", "ci.lb"] / vt + 1, h2_ci_high = r["tau^2", "ci.ub"] / vt + 1,
       lb_sign = ci$lb.sign, ub_sign = ci$ub.sign, ci_null = isTRUE(ci$ci.null),
       check_i2 = c(r["I^2(%)", "ci.lb"], r["I^2(%)", "ci.ub"]))
}

by_test <- function(res, level) {
  k <- res$k
  pr <- predict(res, level = level)
  alpha <- 1 - level / 100
  out <- list(estimate = c(res$beta), se = res$se, statistic = jinf(res$zval), pvalue = res$pval,
              ci_low = res$ci.lb, ci_high = res$ci.ub, df = if (res$test == "z") NA else res$ddf)
  if (res$method %in% c("FE", "EE", "CE") || k < 2) {
    out$pi_low <- NA; out$pi_high <- NA; out$pi_hts_low <- NA; out$pi_hts_high <- NA
  } else {
    out$pi_low <- pr$pi.lb; out$pi_high <- pr$pi.ub
    crit <- qt(1 - alpha / 2, max(k - 2, 1))
    half <- crit * sqrt(res$tau2 + res$se^2)
    out$pi_hts_low <- c(res$beta) - half; out$pi_hts_high <- c(res$beta) + half
    # (for a tau2 = <fixed> refit metafor's riley uses k - 1 df since tau^2 is not estimated)
    riley <- predict(res, level = level, pi.type = "riley")
    if (!isTRUE(res$tau2.fix)) stopifnot(isTRUE(all.equal(c(riley$pi.lb, riley$pi.ub), c(out$pi_hts_low, out$pi_hts_high), tolerance = 1e-12)))
  }
  out
}

# ---------------------------------------------------------------------------------------------
# section "uni"
# ---------------------------------------------------------------------------------------------
uni <- list()
for (ds in names(datasets)) {
  d <- datasets[[ds]]
  yi <- d$yi; vi <- d$vi
  levels <- if (ds == "bcg_logrr") c(95, 90) else 95
  for (level in levels) for (method in METHODS) {
    tests <- list()
    fit0 <- NULL
    for (test in TESTS) {
      fit <- suppressWarnings(fit_ref(yi, vi, method, test, level))
      res <- fit$res
      tests[[test]] <- by_test(res, level)
      tests[[test]]$call <- fit$call
      if (is.null(fit0)) fit0 <- fit
    }
    res <- fit0$res
    k <- res$k
    rec <- list(id = sprintf("%s-%s%s", ds, method, if (level != 95) sprintf("-L%g", level) else ""),
                dataset = ds, method = method, level = level, k = k, ref_source = fit0$source,
                weights = num(weights(res)), tests = tests)
    if (k >= 2) {
      rec$tau2 <- res$tau2; rec$tau2_se <- if (method == "FE") NA else fit0$se; rec$tau <- sqrt(res$tau2)
      rec$i2 <- res$I2; rec$h2 <- res$H2; rec$q <- res$QE; rec$q_df <- k - 1; rec$q_pvalue <- res$QEp
      ci <- qp_ci(fit0, yi, vi, level)
      if (!is.null(ci)) {
        if (fit0$source != "optimize") stopifnot(isTRUE(all.equal(ci$check_i2, c(ci$i2_ci_low, ci$i2_ci_high), tolerance = 1e-10)))
        ci$check_i2 <- NULL
        rec <- c(rec, ci)
        rec$confint_call <- "confint(res, control = list(tol = 1e-14))"
      }
    } else {
      rec$q_df <- 0
    }
    # what metafor returns with its default control (iterative estimators only)
    if (method %in% c("ML", "REML", "EB", "PM") && k >= 2) {
      dres <- try(suppressWarnings(rma(yi, vi, method = method, level = level)), silent = TRUE)
      if (inherits(dres, "try-error")) {
        rec$default <- list(converged = FALSE, call = sprintf('rma(yi, vi, method = "%s")', method))
      } else {
        dci <- confint(dres)$random
        rec$default <- list(converged = TRUE, call = sprintf('rma(yi, vi, method = "%s"); confint(res)', method),
                            tau2 = dres$tau2, tau2_se = dres$se.tau2, estimate = c(dres$beta), se = dres$se,
                            tau2_ci_low = dci["tau^2", "ci.lb"], tau2_ci_high = dci["tau^2", "ci.ub"])
      }
    }
    uni[[length(uni) + 1]] <- rec
  }
}

# ---------------------------------------------------------------------------------------------
# section "convergence": metafor's default Fisher scoring on 200 random k = 20 data sets
# ---------------------------------------------------------------------------------------------
set.seed(7)
conv <- list()
for (r in 1:200) {
  k <- 20
  vi <- 10^runif(k, -2, 2)
  tau2 <- sample(c(0, 0.01, 0.1, 1, 10), 1)
  yi <- rnorm(k, 0, sqrt(vi + tau2))
  rec <- list(id = sprintf("conv%03d", r), yi = yi, vi = vi)
  for (m in c("REML", "ML", "EB")) {
    dres <- try(suppressWarnings(rma(yi, vi, method = m)), silent = TRUE)
    fit <- suppressWarnings(fit_ref(yi, vi, m, "z"))
    rec[[m]] <- list(default_converged = !inherits(dres, "try-error"),
                     default_tau2 = if (inherits(dres, "try-error")) NA else dres$tau2, tau2 = fit$res$tau2,
                     tau2_se = fit$se, estimate = c(fit$res$beta), ref_source = fit$source, call = fit$call)
  }
  conv[[r]] <- rec
}

# ---------------------------------------------------------------------------------------------
# sections "mh" and "peto"
# ---------------------------------------------------------------------------------------------
tables <- list(
  bcg = list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg),
  yusuf9 = with(subset(dat.yusuf1985, table == "9"), list(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  sparse = list(ai = c(0, 2, 0, 5, 1, 0), bi = c(20, 18, 30, 45, 9, 15), ci = c(0, 4, 3, 9, 0, 0), di = c(22, 16, 27, 41, 10, 15))
)
mh <- list(); peto <- list()
for (tb in names(tables)) {
  t <- tables[[tb]]
  for (measure in c("OR", "RR", "RD")) {
    res <- rma.mh(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, measure = measure)
    rec <- list(id = sprintf("%s-MH-%s", tb, measure), table = tb, measure = measure, ai = t$ai, bi = t$bi, ci = t$ci, di = t$di,
                call = sprintf('rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "%s")', measure),
                k = res$k, k_yi = res$k.yi, estimate = c(res$beta), se = res$se, statistic = res$zval, pvalue = res$pval,
                ci_low = res$ci.lb, ci_high = res$ci.ub, q = res$QE, q_pvalue = res$QEp, i2 = res$I2, h2 = res$H2,
                weights = num(weights(res)), yi = num(res$yi.f), vi = num(res$vi.f))
    if (measure == "OR") {
      rec$cmh <- res$MH; rec$cmh_pvalue <- res$MHp; rec$bd <- res$BD; rec$bd_pvalue <- res$BDp
      rec$tarone <- res$TA; rec$tarone_pvalue <- res$TAp
    }
    mh[[length(mh) + 1]] <- rec
  }
  res <- rma.peto(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di)
  peto[[length(peto) + 1]] <- list(id = sprintf("%s-PETO", tb), table = tb, ai = t$ai, bi = t$bi, ci = t$ci, di = t$di,
    call = "rma.peto(ai = ai, bi = bi, ci = ci, di = di)",
    k = res$k, k_yi = res$k.yi, estimate = c(res$beta), se = res$se, statistic = res$zval, pvalue = res$pval,
    ci_low = res$ci.lb, ci_high = res$ci.ub, q = res$QE, q_pvalue = res$QEp, i2 = res$I2, h2 = res$H2,
    weights = num(weights(res)), yi = num(res$yi.f), vi = num(res$vi.f))
}

# ---------------------------------------------------------------------------------------------
# section "glmm": rma.glmm(measure = "PLO") = lme4::glmer(..., nAGQ = 7)
# ---------------------------------------------------------------------------------------------
set.seed(11)
props <- list(pritz1997 = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni))
for (k in c(2, 5, 10, 20)) {
  ni <- sample(10:200, k, replace = TRUE)
  p <- plogis(rnorm(k, qlogis(0.3), 0.6))
  props[[sprintf("rand_k%02d", k)]] <- list(xi = rbinom(k, ni, p), ni = ni)
}
props[["zero_events"]] <- list(xi = c(0, 3, 1, 0, 7, 2), ni = c(25, 40, 18, 30, 60, 35))
props[["all_events"]] <- list(xi = c(20, 38, 18, 29, 55), ni = c(20, 40, 18, 30, 60))
props[["homog_k08"]] <- list(xi = c(10, 20, 30, 15, 25, 5, 12, 18), ni = c(50, 100, 150, 75, 125, 25, 60, 90))
glmm <- list()
for (nm in names(props)) {
  d <- props[[nm]]
  for (nagq in c(7, 1)) {
    if (nagq == 1 && !(nm %in% c("pritz1997", "rand_k10"))) next
    res <- try(suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = nagq)), silent = TRUE)
    rec <- list(id = sprintf("%s-nAGQ%d", nm, nagq), xi = d$xi, ni = d$ni, nAGQ = nagq,
                call = sprintf('rma.glmm(measure = "PLO", xi = xi, ni = ni, nAGQ = %d)', nagq), ref_source = "metafor")
    if (inherits(res, "try-error")) {
      # lme4 refuses (e.g. "Response is constant" when all proportions are equal, and PIRLS fails
      # with that check switched off). With equal observed proportions the ML estimate of tau^2
      # is 0 and the model is the fixed-effect logistic model: that is the reference.
      rec$error <- as.character(res)
      res <- try(suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, method = "FE")), silent = TRUE)
      rec$call <- 'rma.glmm(measure = "PLO", xi = xi, ni = ni, method = "FE")  # ML fit failed in lme4; tau^2 = 0'
      rec$ref_source <- "FE"
    }
    if (!inherits(res, "try-error")) {
      pr <- predict(res)
      prt <- predict(res, transf = transf.ilogit)
      rec <- c(rec, list(k = res$k, estimate = c(res$beta), se = res$se, statistic = res$zval, pvalue = res$pval,
        ci_low = res$ci.lb, ci_high = res$ci.ub, tau2 = res$tau2, tau = sqrt(res$tau2), i2 = res$I2, h2 = res$H2,
        q = res$QE.Wld, q_pvalue = res$QEp.Wld, q_lrt = res$QE.LRT, q_lrt_pvalue = res$QEp.LRT,
        pi_low = pr$pi.lb, pi_high = pr$pi.ub, estimate_natural = prt$pred, ci_low_natural = prt$ci.lb,
        ci_high_natural = prt$ci.ub, pi_low_natural = prt$pi.lb, pi_high_natural = prt$pi.ub,
        loglik = as.numeric(logLik(res))))
    }
    glmm[[length(glmm) + 1]] <- rec
  }
}

# lme4's own deviance function (devFunOnly = TRUE) at fixed (tau, beta): checks the quadrature
# itself, free of optimiser differences. lme4 drops a constant, so differences between points
# are compared.
d <- dat.pritz1997; d$study <- factor(seq_len(nrow(d)))
points <- list(c(0.5, 1.0), c(0.8, 1.2), c(1e-4, 1.2), c(1.5, 0.3), c(0.3, -0.5))
glmm_devfun <- list()
for (nagq in c(1, 7)) {
  dd <- glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), data = d, family = binomial, nAGQ = nagq, devFunOnly = TRUE)
  glmm_devfun[[length(glmm_devfun) + 1]] <- list(
    id = sprintf("pritz1997-devfun-nAGQ%d", nagq), xi = d$xi, ni = d$ni, nAGQ = nagq,
    call = sprintf("glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), family = binomial, nAGQ = %d, devFunOnly = TRUE)(c(tau, beta))", nagq),
    tau = sapply(points, `[`, 1), beta = sapply(points, `[`, 2), deviance = sapply(points, dd))
}

# ---------------------------------------------------------------------------------------------
fixture <- list(
  meta = list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    lme4_version = as.character(packageVersion("lme4")),
    date = format(Sys.Date()),
    script = "tests/reference/make_pool_fixtures.R",
    methods = METHODS, tests = TESTS,
    note = paste("ref = metafor run to convergence (tight control, see script header);",
                 "default = metafor with its default control")
  ),
  datasets = datasets,
  uni = uni,
  convergence = conv,
  mh = mh,
  peto = peto,
  glmm = glmm,
  glmm_devfun = glmm_devfun
)
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE), out_file)
cat("wrote", out_file, "\n")
