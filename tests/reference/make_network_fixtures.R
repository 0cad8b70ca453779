# Reference values for metaoutcome.network (frequentist network meta-analysis), from R metafor.
#
#   Rscript tests/reference/make_network_fixtures.R        (from the repository root)
#
# writes tests/reference/network_fixtures.json. CI does not need R: the JSON is committed.
# Needs R >= 4.2, metafor (3.8-1 used), metadat and jsonlite.
#
# What is computed and how
# ------------------------
# * Five published networks of the metadat collection, each with multi-arm trials: binary
#   (dat.hasselblad1998, dat.dong2013, dat.baker2009; log odds ratio) and continuous
#   (dat.senn2013, dat.stowe2010; mean difference). The arm-level data are stored in the
#   fixture, so the Python tests rebuild the contrasts themselves.
# * Contrasts are built here, independently of metaoutcome, against each trial's FIRST LISTED arm
#   (metaoutcome uses the alphabetically first arm: the model does not depend on the choice, so
#   agreement also checks that invariance). Arm statistics: log odds 1/x + 1/(n-x), mean sd^2/n;
#   contrast covariance within a trial = the baseline arm's variance. Binary trials with a zero
#   cell in some arm get 0.5 added to events and non-events of every arm; trials with no events
#   (or only events) in every arm are left out (they carry no information on an odds ratio).
# * Model: the contrast-based consistency model with a common tau^2 and correlation 1/2 between
#   the contrasts of a multi-arm trial:
#     rma.mv(yi, V, mods = X (every treatment but the first, alphabetically), intercept = FALSE,
#            random = ~ comp | study, struct = "CS", rho = 0.5, method = "REML")
#   and the common-effect model rma.mv(yi, V, mods = X, intercept = FALSE, method = "FE").
#   Tight control: control = list(optimizer = "nlminb", rel.tol = 1e-10, iter.max = 1000,
#   eval.max = 1000) (rel.tol 1e-12 or below makes nlminb report non-convergence on senn2013;
#   iteration caps raised from 150/200). Stored: coefficients, SEs, CIs, full vcov, tau^2,
#   QE (= Cochran's Q of the common-effect model) and its df, and the REML log-likelihood.
# * nlminb's stopping rule still leaves REML tau^2 up to ~5e-6 (relative) short of the maximum
#   (dong2013), so the reference "reml" is the maximum of metafor's own REML log-likelihood found
#   by optimize(tol = 1e-14) over tau^2, refitted at that tau^2; the nlminb fit is "reml_nlminb"
#   (compared at 1e-4).
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

CONTROL <- list(optimizer = "nlminb", rel.tol = 1e-10, iter.max = 1000, eval.max = 1000)

arm_stats <- function(arms, measure) {
  # arms: data.frame(study, treatment, events, n) or (study, treatment, mean, sd, n)
  out <- list()
  excluded <- character(0)
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    if (measure == "OR") {
      x <- a$events; n <- a$n
      if (all(x == 0) || all(x == n)) { excluded <- c(excluded, s); next }
      if (any(x == 0 | x == n)) { x <- x + 0.5; n <- n + 1 }
      stat <- log(x / (n - x)); v <- 1 / x + 1 / (n - x)
    } else {
      stat <- a$mean; v <- a$sd^2 / a$n
    }
    k <- nrow(a)
    yi <- stat[-1] - stat[1]
    V <- matrix(v[1], k - 1, k - 1); diag(V) <- v[-1] + v[1]
    out[[length(out) + 1]] <- list(study = s, treat = a$treatment[-1], base = a$treatment[1], yi = yi, V = V)
  }
  list(blocks = out, excluded = excluded)
}

fit_network <- function(name, arms, measure, source) {
  arms$study <- as.character(arms$study); arms$treatment <- as.character(arms$treatment)
  st <- arm_stats(arms, measure)
  blocks <- st$blocks
  trts <- sort(unique(unlist(lapply(blocks, function(b) c(b$base, b$treat)))))
  yi <- unlist(lapply(blocks, `[[`, "yi"))
  study <- unlist(lapply(blocks, function(b) rep(b$study, length(b$yi))))
  t1 <- unlist(lapply(blocks, `[[`, "treat"))
  t2 <- unlist(lapply(blocks, function(b) rep(b$base, length(b$yi))))
  V <- as.matrix(Matrix::bdiag(lapply(blocks, `[[`, "V")))
  X <- matrix(0, length(yi), length(trts), dimnames = list(NULL, trts))
  for (r in seq_along(yi)) { X[r, t1[r]] <- 1; X[r, t2[r]] <- -1 }
  X <- X[, -1, drop = FALSE]
  comp <- paste(t1, t2, sep = " vs ")
  dat <- data.frame(yi = yi, study = study, comp = comp)
  call_re <- "rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = \"CS\", rho = 0.5, method = \"REML\", data = dat, control = CONTROL)"
  re <- rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = "CS", rho = 0.5,
               method = "REML", data = dat, control = CONTROL)
  # nlminb's relative-function-value stopping rule leaves tau^2 ~1e-5 (relative) off the REML
  # maximum on flat likelihoods (dong2013); the reference is therefore the maximum of metafor's own
  # REML log-likelihood, logLik(rma.mv(..., tau2 = t)), found by optimize() (tol 1e-14), with the
  # model refitted at that tau^2. The nlminb fit is stored as "reml_nlminb".
  ll <- function(t) as.numeric(logLik(rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study,
                   struct = "CS", rho = 0.5, tau2 = t, method = "REML", data = dat)))
  upper <- 10 * max(re$tau2, var(yi), max(diag(V))) + 1
  opt <- optimize(ll, c(0, upper), maximum = TRUE, tol = 1e-14)
  t_ref <- if (ll(0) >= opt$objective) 0 else opt$maximum
  call_ref <- sprintf("optimize(logLik of rma.mv(..., tau2 = t), c(0, %.6g), maximum = TRUE, tol = 1e-14), then rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = \"CS\", rho = 0.5, tau2 = %.17g, method = \"REML\", data = dat)", upper, t_ref)
  ref <- rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = "CS", rho = 0.5,
                tau2 = t_ref, method = "REML", data = dat)
  call_ce <- "rma.mv(yi, V, mods = X, intercept = FALSE, method = \"FE\", data = dat)"
  ce <- rma.mv(yi, V, mods = X, intercept = FALSE, method = "FE", data = dat)
  res <- function(f) list(
    coef = unname(c(f$beta)), se = unname(f$se), ci_low = unname(f$ci.lb), ci_high = unname(f$ci.ub),
    vcov = unname(vcov(f)), tau2 = if (is.null(f$tau2) || length(f$tau2) == 0) 0 else f$tau2,
    QE = f$QE, QE_df = f$k - f$p, logLik = as.numeric(logLik(f)))
  arms_out <- arms
  list(name = name, source = source, measure = measure, treatments = trts,
       reference = trts[1], n_contrasts = length(yi), n_studies = length(blocks),
       excluded = st$excluded, arms = arms_out,
       reml = c(res(ref), list(tau2 = t_ref, call = call_ref)), reml_nlminb = c(res(re), list(call = call_re)), common = c(res(ce), list(call = call_ce)))
}

nets <- list()

# dat.senn2013: glucose-lowering agents, HbA1c change (MD); 26 trials, one three-arm trial
d <- dat.senn2013
nets$senn2013 <- fit_network("senn2013", data.frame(study = d$study, treatment = d$treatment, mean = d$mi,
                             sd = d$sdi, n = d$ni), "MD", "metadat::dat.senn2013")

# dat.hasselblad1998: smoking cessation (OR); 24 trials, two three-arm trials
d <- dat.hasselblad1998
nets$hasselblad1998 <- fit_network("hasselblad1998", data.frame(study = as.character(d$study), treatment = d$trt,
                                   events = d$xi, n = d$ni), "OR", "metadat::dat.hasselblad1998")

# dat.dong2013: inhaled drugs for COPD, mortality (OR); 41 trials incl. three- and four-arm trials
d <- dat.dong2013
nets$dong2013 <- fit_network("dong2013", data.frame(study = as.character(d$id), treatment = d$treatment,
                             events = d$death, n = d$randomized), "OR", "metadat::dat.dong2013")

# dat.stowe2010: Parkinson's disease, off-time reduction (MD); wide format, one three-arm trial
d <- dat.stowe2010
long <- do.call(rbind, lapply(1:3, function(j) data.frame(study = d$study, treatment = d[[paste0("t", j)]],
  mean = d[[paste0("y", j)]], sd = d[[paste0("sd", j)]], n = d[[paste0("n", j)]], row = seq_len(nrow(d)), arm = j)))
long <- long[!is.na(long$treatment) & long$treatment != "", ]
long <- long[order(long$row, long$arm), c("study", "treatment", "mean", "sd", "n")]
nets$stowe2010 <- fit_network("stowe2010", long, "MD", "metadat::dat.stowe2010")

# dat.baker2009: COPD exacerbations (OR); 39 trials incl. three- and four-arm trials
d <- dat.baker2009
nets$baker2009 <- fit_network("baker2009", data.frame(study = d$study, treatment = d$treatment,
                              events = d$exac, n = d$total), "OR", "metadat::dat.baker2009")

out <- list(
  generated_by = "tests/reference/make_network_fixtures.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = CONTROL,
  networks = unname(nets)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, matrix = "rowmajor"),
           "tests/reference/network_fixtures.json")
cat("wrote tests/reference/network_fixtures.json\n")
