# Reference values for metaoutcome.design.simon: Simon's (1989) optimal and minimax two-stage
# designs for all 102 cells of his Tables 1-2, by an exhaustive search written in base R from
# Simon's definition (independently of metaoutcome/design.py; no clinfun).
#
#   Rscript tests/reference/make_simon_fixtures.R        (from the repository root)
#
# writes tests/reference/simon_fixtures.json (committed; CI does not need R). Base R only (>= 4.2);
# the JSON is written by hand (sprintf "%.17g", full double precision) and holds no date, so a
# rerun on the same R gives the same bytes.
#
# Grid (Simon 1989, Tables 1 and 2): Table 1 p1 = p0 + 0.20 for p0 = 0.05, 0.1, 0.2, ..., 0.7;
# Table 2 p1 = p0 + 0.15 for p0 = 0.05, 0.1, 0.2, ..., 0.8; each at (alpha, power) = (0.10, 0.90),
# (0.05, 0.80), (0.05, 0.90); optimal and minimax: 17 x 3 x 2 = 102 cells.
#
# Definition searched. A design (r1, n1, r, n), 1 <= n1 < n, 0 <= r1 <= n1, r1 <= r <= n: stop
# after n1 patients if X1 <= r1; otherwise treat n - n1 more and declare the drug promising if
# X1 + X2 > r (X1 ~ Bin(n1, p), X2 ~ Bin(n - n1, p)). (r < r1 gives the same rejection region as
# r = r1, so r >= r1 loses no design.)
#   P(promising | p) = sum_{x1 = r1 + 1}^{n1} dbinom(x1, n1, p) * P(X2 > r - x1)
#   PET(p0) = pbinom(r1, n1, p0);  EN(p0) = n1 + (1 - PET(p0)) * (n - n1)
# Feasible: P(promising | p0) <= alpha and P(promising | p1) >= power, compared exactly (no
# tolerance). Every n in 2..nmax, n1 in 1..n-1, r1 in 0..n1 and r in r1..n is examined.
# Optimal: smallest EN(p0); minimax: smallest n, then smallest EN(p0).
# Tie rules (documented; the checks below show no grid cell is decided by one):
# * for one (n1, r1, n), every feasible r has the same EN(p0), PET(p0) and n: the smallest feasible
#   r (the largest power) is kept;
# * remaining exact ties in EN(p0) go to the smaller n, then n1, then r1.
# Checks recorded per cell:
# * ties: the number of other feasible (n1, r1, n) whose EN(p0) is within 1e-12 of the chosen one
#   (for minimax: among designs of the same n), and the gap to the next EN(p0);
# * tolerance: the search is repeated with alpha + 1e-12 / power - 1e-12 (metaoutcome's comparison)
#   and with alpha - 1e-12 / power + 1e-12; "same_with_tolerance" says all three choose the same
#   design;
# * nmax: chosen per cell so that no design with n > nmax can have a smaller EN(p0) than the
#   optimal one found: any feasible design has P(X1 > r1 | p1) >= power (its power cannot exceed
#   that), so for n >= nmax + 1 EN(p0) >= min over n1 <= EN_opt of
#   n1 + (1 - PET(p0)) (nmax + 1 - n1) with r1 the largest allowed by that bound
#   ("en0_bound_beyond_nmax", which must exceed the optimal EN(p0)); and nmax >= n_opt + 10. The
#   minimax design needs no such bound (every smaller n was searched and has no feasible design).

out_file <- "tests/reference/simon_fixtures.json"
if (!dir.exists("tests/reference")) stop("run from the repository root")

# P(Bin(m, p) > j) for m = 0..nmax (rows) and j = -(nmax + 1)..nmax (column j + nmax + 2)
upper_tails <- function(nmax, p) {
  j <- seq(-(nmax + 1), nmax)
  t(vapply(0:nmax, function(m) pbinom(j, m, p, lower.tail = FALSE), numeric(length(j))))
}

# Every design with n <= nmax; for each (n, n1, r1) the smallest r meeting alpha + eps is kept
# when its power is >= power - eps. Returns one data.frame per eps.
search_designs <- function(p0, p1, alpha, power, nmax, eps = c(0, 1e-12, -1e-12)) {
  T0 <- upper_tails(nmax, p0)
  T1 <- upper_tails(nmax, p1)
  off <- nmax + 2
  chunks <- lapply(eps, function(e) vector("list", nmax * nmax))
  k <- 0
  for (n in 2:nmax) {
    r <- 0:n
    for (n1 in 1:(n - 1)) {
      m <- n - n1
      d0 <- dbinom(0:n1, n1, p0)
      d1 <- dbinom(0:n1, n1, p1)
      # A[r1 + 1, r + 1] = P(X1 > r1 and X1 + X2 > r); row n1 + 1 (r1 = n1) is 0
      A0 <- matrix(0, n1 + 1, n + 1)
      A1 <- matrix(0, n1 + 1, n + 1)
      acc0 <- numeric(n + 1)
      acc1 <- numeric(n + 1)
      for (x1 in n1:1) {
        acc0 <- acc0 + d0[x1 + 1] * T0[m + 1, r - x1 + off]
        acc1 <- acc1 + d1[x1 + 1] * T1[m + 1, r - x1 + off]
        A0[x1, ] <- acc0  # row x1 holds r1 = x1 - 1
        A1[x1, ] <- acc1
      }
      r1s <- 0:n1
      allowed <- outer(r1s, r, "<=")  # r >= r1
      pet <- pbinom(r1s, n1, p0)
      en0 <- n1 + (1 - pet) * (n - n1)
      k <- k + 1
      for (i in seq_along(eps)) {
        ok <- (A0 <= alpha + eps[i]) & allowed
        has <- rowSums(ok) > 0
        if (!any(has)) next
        ridx <- max.col(ok + 0, ties.method = "first")  # first TRUE: the smallest r
        pw <- A1[cbind(seq_along(r1s), ridx)]
        good <- has & pw >= power - eps[i]
        if (!any(good)) next
        chunks[[i]][[k]] <- cbind(r1 = r1s[good], n1 = n1, r = ridx[good] - 1, n = n, en0 = en0[good],
                                  pet0 = pet[good], alpha = A0[cbind(which(good), ridx[good])], power = pw[good])
      }
    }
  }
  lapply(chunks, function(ch) {
    ch <- ch[!vapply(ch, is.null, logical(1))]
    if (length(ch)) as.data.frame(do.call(rbind, ch)) else NULL
  })
}

pick <- function(d) {
  opt <- d[order(d$en0, d$n, d$n1, d$r1)[1], ]
  mm <- d[order(d$n, d$en0, d$n1, d$r1)[1], ]
  list(optimal = opt, minimax = mm)
}

# lower bound of EN(p0) over feasible designs with n >= nmax + 1 (see the header)
en0_bound_beyond <- function(p0, p1, power, nmax, en_opt) {
  lb <- Inf
  for (n1 in seq_len(min(floor(en_opt), nmax))) {
    r1 <- 0:n1
    allowed <- r1[pbinom(r1, n1, p1, lower.tail = FALSE) >= power]
    if (!length(allowed)) next
    q <- pbinom(max(allowed), n1, p0)
    lb <- min(lb, n1 + (1 - q) * (nmax + 1 - n1))
  }
  lb
}

ab <- list(c(0.10, 0.90), c(0.05, 0.80), c(0.05, 0.90))
t1 <- cbind(c(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), c(0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), 1)
t2 <- cbind(c(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), c(0.2, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95), 2)
rates <- rbind(t1, t2)

f17 <- function(x) sprintf("%.17g", x)
f15 <- function(x) sprintf("%.15g", x)
rows <- character(0)
for (i in seq_len(nrow(rates))) {
  for (a in ab) {
    p0 <- rates[i, 1]; p1 <- rates[i, 2]; alpha <- a[1]; power <- a[2]
    nmax <- 40
    repeat {
      s <- search_designs(p0, p1, alpha, power, nmax)
      if (is.null(s[[1]])) { nmax <- nmax + 40; next }
      best <- pick(s[[1]])
      en_opt <- best$optimal$en0
      need <- best$optimal$n + 10
      while (en0_bound_beyond(p0, p1, power, need, en_opt) <= en_opt) {
        need <- need + 1
        if (need > 1000) stop("no nmax <= 1000 bounds EN(p0) beyond it")
      }
      if (need <= nmax) break
      nmax <- 10 * ceiling(need / 10)
    }
    lb <- en0_bound_beyond(p0, p1, power, nmax, en_opt)
    stopifnot(lb > en_opt, best$optimal$n < nmax, best$minimax$n < nmax)
    alt <- lapply(s[-1], pick)
    d0 <- s[[1]]
    for (design in c("optimal", "minimax")) {
      b <- best[[design]]
      same <- all(vapply(alt, function(x) {
        y <- x[[design]]
        y$r1 == b$r1 && y$n1 == b$n1 && y$r == b$r && y$n == b$n
      }, logical(1)))
      pool <- if (design == "optimal") d0 else d0[d0$n == b$n, ]
      others <- pool[!(pool$r1 == b$r1 & pool$n1 == b$n1 & pool$n == b$n), ]
      ties <- sum(abs(others$en0 - b$en0) <= 1e-12)
      gap <- if (nrow(others)) min(others$en0 - b$en0) else NA
      rows <- c(rows, paste0(
        '{"table": ', rates[i, 3], ', "p0": ', f15(p0), ', "p1": ', f15(p1), ', "alpha": ', f15(alpha),
        ', "power": ', f15(power), ', "design": "', design, '", "nmax": ', nmax,
        ', "r1": ', b$r1, ', "n1": ', b$n1, ', "r": ', b$r, ', "n": ', b$n,
        ', "en0": ', f17(b$en0), ', "pet0": ', f17(b$pet0), ', "attained_alpha": ', f17(b$alpha),
        ', "attained_power": ', f17(b$power), ', "feasible_designs": ', nrow(pool),
        ', "ties_within_1e-12": ', ties, ', "en0_gap_to_next": ', if (is.na(gap)) "null" else f17(gap),
        ', "same_with_tolerance": ', if (same) "true" else "false",
        ', "en0_bound_beyond_nmax": ', if (design == "optimal") f17(lb) else "null", "}"))
    }
    message(sprintf("p0 %.2f p1 %.2f alpha %.2f power %.2f nmax %d: optimal %d/%d %d/%d, minimax %d/%d %d/%d",
                    p0, p1, alpha, power, nmax, best$optimal$r1, best$optimal$n1, best$optimal$r, best$optimal$n,
                    best$minimax$r1, best$minimax$n1, best$minimax$r, best$minimax$n))
  }
}

json <- paste0(
  '{\n"generator": "Rscript tests/reference/make_simon_fixtures.R",\n',
  '"r_version": "', R.version.string, '",\n',
  '"call": "search_designs(p0, p1, alpha, power, nmax): every n <= nmax, 1 <= n1 < n, 0 <= r1 <= n1, ',
  'r1 <= r <= n; alpha and power by dbinom/pbinom; P(promising | p0) <= alpha, P(promising | p1) >= power ',
  '(exact); optimal: min EN(p0); minimax: min n, then min EN(p0); smallest feasible r per (n1, r1, n); ',
  'exact EN(p0) ties to smaller n, n1, r1",\n',
  '"cells": [\n', paste(rows, collapse = ",\n"), "\n]\n}\n")
writeLines(json, out_file, sep = "")
message("wrote ", out_file, " (", length(rows), " cells)")
