# Reference printouts for metaoutcome's text views (metaoutcome.printer / PoolResult.__str__) and
# the exact study CIs its GLMM forest draws. Run from the repository root:
#
#   Rscript tests/reference/make_print_fixtures.R
#
# writes tests/reference/print_fixtures.json (committed; CI does not need R).
# Needs: metafor (3.8-1 used), jsonlite; binom.test is base R's stats.
# Each case keeps the lines of print(<fit>) (capture.output) that name the heterogeneity tests,
# so that a test can compare wording and numbers with what metaoutcome prints.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
if (!dir.exists("tests/reference")) stop("run from the repository root")
CTRL <- list(threshold = 1e-10, maxiter = 1000)
dat <- dat.bcg

keep <- function(lines, pattern) trimws(grep(pattern, lines, value = TRUE), which = "right")

glmm_call <- "rma.glmm(measure = \"PLO\", xi = tpos, ni = tpos + tneg, data = dat.bcg)"
glmm <- rma.glmm(measure = "PLO", xi = tpos, ni = tpos + tneg, data = dat)
glmm_out <- capture.output(print(glmm))
mh_call <- "rma.mh(measure = \"OR\", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)"
mh <- rma.mh(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat)
mh_out <- capture.output(print(mh))

# exact (Clopper-Pearson) 95% CIs, as R meta's metaprop draws study CIs (method.ci = "CP")
xs <- c(0, 1, 4, 10, 10, 33)
ns <- c(10, 10, 123, 10, 40, 5069)
cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = 0.95)$conf.int, xs, ns))

out <- list(
  glmm = list(call = glmm_call, print_lines = glmm_out,
              tests = keep(glmm_out, "^(Wld|LRT)\\("),
              heading = keep(glmm_out, "^Tests? for Heterogeneity")),
  mh = list(call = mh_call, print_lines = mh_out,
            tests = keep(mh_out, "^(Cochran-Mantel-Haenszel|Tarone)"),
            cmh = mh$MH, cmh_pval = mh$MHp, tarone = mh$TA, tarone_pval = mh$TAp),
  clopper_pearson = list(call = "binom.test(x, n, conf.level = 0.95)$conf.int", x = xs, n = ns,
                         lower = cp[, 1], upper = cp[, 2]),
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
              jsonlite = as.character(packageVersion("jsonlite")))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/print_fixtures.json")
