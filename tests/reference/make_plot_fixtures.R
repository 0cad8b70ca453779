# Reference values for metaoutcome's figures that draw model quantities: the bubble plot
# (metaoutcome.plotting.bubble, metafor's regplot). Run from the repository root:
#
#   Rscript tests/reference/make_plot_fixtures.R
#
# writes tests/reference/plot_fixtures.json (committed; CI does not need R).
# Needs: metafor (3.8-1 used) and jsonlite.
#
# Each bubble case records the exact R call. regplot(fit, mod) predicts along the moderator with
# the other columns of the model matrix held at their means:
#   xs    <- seq(min(xi) - 0.04 * diff(range(xi)), max(xi) + 0.04 * diff(range(xi)), length = N)
#   Xnew  <- colMeans(X) repeated, Xnew[, mod] <- xs;  predict(fit, newmods = Xnew[, -1])
# and sizes the points psize = 0.5 + 2.5 * (sqrt(w) - min) / (max - min), w = weights(fit).
# Here N = 101 (regplot uses 1000; metaoutcome's n_points= sets it); psize is taken from the
# object regplot returns. Fits use tight solver tolerances, as the other fixture scripts do.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
if (!dir.exists("tests/reference")) stop("run from the repository root")
CTRL <- list(threshold = 1e-13, maxiter = 1000, tol = 1e-14)
N <- 101

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$alloc <- as.character(bcg$alloc)
# literal numbers (as in make_analysis_fixtures.R): seven ILLUSTRATIVE checkpoint-inhibitor
# trials, OS hazard ratios with 95% CIs, by the percentage of PD-L1-positive patients
onco_hr <- c(0.62, 0.73, 0.69, 0.85, 0.77, 0.93, 0.59)
onco_lb <- c(0.48, 0.59, 0.53, 0.70, 0.60, 0.74, 0.42)
onco_ub <- c(0.80, 0.90, 0.90, 1.03, 0.99, 1.17, 0.83)
onco <- data.frame(yi = log(onco_hr), vi = ((log(onco_ub) - log(onco_lb)) / (2 * qnorm(0.975)))^2,
                   pdl1 = c(62, 45, 50, 20, 35, 10, 80),
                   line = c("first", "first", "second", "second", "first", "second", "first"))
data <- list(
  bcg = list(frame = bcg, measure = "RR",
             source = 'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)'),
  onco = list(frame = onco, measure = "HR",
              source = paste0("literal numbers: yi = log(HR), vi = ((log(ub) - log(lb)) / (2 * qnorm(0.975)))^2; HR = c(",
                              paste(onco_hr, collapse = ", "), "), lb = c(", paste(onco_lb, collapse = ", "),
                              "), ub = c(", paste(onco_ub, collapse = ", "), ")")))

cases <- list()
add_bubble <- function(id, dname, mods, mod, method, test) {
  d <- data[[dname]]; dat <- d$frame
  fml <- as.formula(paste("~", paste(mods, collapse = " + ")))
  fit <- rma(yi, vi, mods = fml, data = dat, method = method, test = test, control = CTRL)
  X <- fit$X; j <- which(colnames(X) == mod); xi <- X[, j]
  rng <- max(xi) - min(xi)
  xs <- seq(min(xi) - 0.04 * rng, max(xi) + 0.04 * rng, length = N)
  Xnew <- rbind(colMeans(X))[rep(1, N), , drop = FALSE]; Xnew[, j] <- xs
  pr <- predict(fit, newmods = Xnew[, -1, drop = FALSE])
  pdf(NULL); rp <- regplot(fit, mod = mod); dev.off()
  cases[[length(cases) + 1]] <<- list(
    id = id, data = dname, measure = d$measure, source = d$source, yi = as.numeric(fit$yi), vi = fit$vi,
    mods = lapply(dat[mods], function(x) if (is.character(x)) x else as.numeric(x)), mod = mod,
    method = method, test = test,
    call = sprintf(paste0("fit <- rma(yi, vi, mods = ~ %s, method = '%s', test = '%s', control = list(threshold = 1e-13, ",
                          "maxiter = 1000, tol = 1e-14)); predict(fit, newmods = Xnew[, -1]) with Xnew = colMeans(fit$X) ",
                          "and column '%s' = seq over range +/- 4%% (length %d); regplot(fit, mod = '%s')$psize"),
                   paste(mods, collapse = " + "), method, test, mod, N, mod),
    colmeans = as.numeric(colMeans(X)), xs = xs, pred = as.numeric(pr$pred), ci_low = as.numeric(pr$ci.lb),
    ci_high = as.numeric(pr$ci.ub), pi_low = as.numeric(pr$pi.lb), pi_high = as.numeric(pr$pi.ub),
    psize = as.numeric(rp$psize), weights = as.numeric(weights(fit)))
}

add_bubble("bcg_ablat_REML_z", "bcg", "ablat", "ablat", "REML", "z")
add_bubble("bcg_ablat_REML_knha", "bcg", "ablat", "ablat", "REML", "knha")
add_bubble("bcg_ablat_FE_z", "bcg", "ablat", "ablat", "FE", "z")
add_bubble("bcg_ablat_year_DL_z", "bcg", c("ablat", "year"), "year", "DL", "z")
add_bubble("bcg_ablat_alloc_REML_knha", "bcg", c("ablat", "alloc"), "ablat", "REML", "knha")
add_bubble("onco_pdl1_line_REML_z", "onco", c("pdl1", "line"), "pdl1", "REML", "z")

out <- list(generated_by = "tests/reference/make_plot_fixtures.R", r_version = R.version.string,
            metafor_version = as.character(packageVersion("metafor")), bubble = cases)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/plot_fixtures.json")
