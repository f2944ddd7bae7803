#!/usr/bin/env Rscript
# Golden values from R for trialsim.analysis (tests/test_analysis_*_peer.py).
#
# Run from the repository root:
#     Rscript tools/r/make_golden_survival.R
# Writes tests/golden/r_survival_tte.json (time-to-event tests) and
# tests/golden/r_survival_binary.json (Mantel-Haenszel and Fisher).
#
# Needs R's recommended package `survival`, `jsonlite` (a dependency of
# rpact) and `mvtnorm` (Debian: r-cran-mvtnorm).  The data sets are drawn
# here with set.seed and stored in the JSON next to the values, so the tests
# need no R.  Every value is printed with 17 significant digits.
#
# Group coding: `arm` 1 = treatment, 0 = control.  R reports statistics for
# the treatment coefficient (coxph) or per group (survdiff); the tests map
# them to trialsim's sign convention (z > 0 favours treatment).

suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
    library(mvtnorm)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
out_dir <- file.path("tests", "golden")
if (!dir.exists(out_dir)) stop("run from the repository root")

# ---------------------------------------------------------------------------
# data: a cure mixture (non-proportional hazards), administrative censoring,
# optional rounding to whole months (ties), three strata

make_data <- function(seed, n, cure_c, cure_t, rate_t, round_times) {
    set.seed(seed)
    arm <- rbinom(n, 1, 0.5)
    stratum <- sample(0:2, n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
    rate <- ifelse(arm == 1, rate_t, 0.06) * c(1, 1.5, 0.7)[stratum + 1]
    t_ev <- rexp(n, rate)
    cured <- runif(n) < ifelse(arm == 1, cure_t, cure_c)
    t_ev[cured] <- Inf
    t_cens <- runif(n, 6, 48)
    time <- pmin(t_ev, t_cens)
    status <- as.integer(t_ev <= t_cens)
    if (round_times) time <- pmax(round(time), 0)
    data.frame(time = time, status = status, arm = arm, stratum = stratum)
}

datasets <- list(
    list(name = "cure_ties", seed = 101, n = 150, cure_c = 0.1, cure_t = 0.35, rate_t = 0.05, round_times = TRUE),
    list(name = "cure_continuous", seed = 102, n = 120, cure_c = 0.2, cure_t = 0.4, rate_t = 0.06, round_times = FALSE),
    list(name = "null_ties", seed = 103, n = 90, cure_c = 0.2, cure_t = 0.2, rate_t = 0.06, round_times = TRUE),
    list(name = "harm_small", seed = 104, n = 40, cure_c = 0.3, cure_t = 0.1, rate_t = 0.09, round_times = TRUE)
)

# FH(rho, gamma) by hand, the textbook loop (pooled KM just before t, within
# each stratum; U summed over strata): returns U (treatment O - E, weighted)
# and V.  Also the covariance of two weightings, for MaxCombo.
fh_terms <- function(d, rho, gamma, rho2 = rho, gamma2 = gamma) {
    U <- 0; V <- 0; C <- 0
    for (s in sort(unique(d$stratum_used))) {
        ds <- d[d$stratum_used == s, ]
        S <- 1
        for (t in sort(unique(ds$time[ds$status == 1]))) {
            risk <- ds$time >= t
            n <- sum(risk); n1 <- sum(risk & ds$arm == 1)
            here <- ds$time == t & ds$status == 1
            dd <- sum(here); d1 <- sum(here & ds$arm == 1)
            w <- S^rho * (1 - S)^gamma
            w2 <- S^rho2 * (1 - S)^gamma2
            U <- U + w * (d1 - dd * n1 / n)
            v <- if (n > 1) dd * (n1 / n) * (1 - n1 / n) * (n - dd) / (n - 1) else 0
            V <- V + w * w * v
            C <- C + w * w2 * v
            S <- S * (n - dd) / n
        }
    }
    list(U = U, V = V, C = C)
}

# survRM2's rmst1 (its code, for one arm), with the horizon tau
rmst1 <- function(time, status, tau) {
    ft <- survfit(Surv(time, status) ~ 1)
    idx <- ft$time <= tau
    wk.time <- sort(c(ft$time[idx], tau))
    wk.surv <- ft$surv[idx]
    wk.n.risk <- ft$n.risk[idx]
    wk.n.event <- ft$n.event[idx]
    time.diff <- diff(c(0, wk.time))
    areas <- time.diff * c(1, wk.surv)
    rmst <- sum(areas)
    wk.var <- ifelse((wk.n.risk - wk.n.event) == 0, 0, wk.n.event / (wk.n.risk * (wk.n.risk - wk.n.event)))
    wk.var <- c(wk.var, 0)
    rmst.var <- sum(cumsum(rev(areas[-1]))^2 * rev(wk.var)[-1])
    c(rmst = rmst, var = rmst.var)
}

tte <- list()
for (spec in datasets) {
    d <- do.call(make_data, spec[c("seed", "n", "cure_c", "cure_t", "rate_t", "round_times")])
    entry <- list(name = spec$name, r_call_data = deparse(spec), time = d$time, status = d$status,
                  arm = d$arm, stratum = d$stratum)

    # log-rank and G-rho (survdiff), unstratified and stratified
    sd_lr <- survdiff(Surv(time, status) ~ arm, data = d)
    sd_lrs <- survdiff(Surv(time, status) ~ arm + strata(stratum), data = d)
    sd_r1 <- survdiff(Surv(time, status) ~ arm, data = d, rho = 1)
    sd_r05s <- survdiff(Surv(time, status) ~ arm + strata(stratum), data = d, rho = 0.5)
    pick <- function(x) list(chisq = x$chisq, obs_treatment = sum(matrix(x$obs, nrow = 2)[2, ]),
                             exp_treatment = sum(matrix(x$exp, nrow = 2)[2, ]), var = x$var[2, 2])
    entry$survdiff <- list(
        logrank = c(pick(sd_lr), r_call = "survdiff(Surv(time, status) ~ arm, data = d)"),
        logrank_strata = c(pick(sd_lrs), r_call = "survdiff(Surv(time, status) ~ arm + strata(stratum), data = d)"),
        rho_1 = c(pick(sd_r1), r_call = "survdiff(Surv(time, status) ~ arm, data = d, rho = 1)"),
        rho_0.5_strata = c(pick(sd_r05s), r_call = "survdiff(Surv(time, status) ~ arm + strata(stratum), data = d, rho = 0.5)")
    )

    # FH by hand (fh_terms above)
    d$stratum_used <- 0
    hand <- list()
    for (rg in list(c(0, 0), c(0, 1), c(1, 0), c(1, 1), c(0.5, 2))) {
        r <- fh_terms(d, rg[1], rg[2])
        hand[[length(hand) + 1]] <- list(rho = rg[1], gamma = rg[2], strata = FALSE, U = r$U, V = r$V)
    }
    d$stratum_used <- d$stratum
    for (rg in list(c(0, 1), c(1, 1))) {
        r <- fh_terms(d, rg[1], rg[2])
        hand[[length(hand) + 1]] <- list(rho = rg[1], gamma = rg[2], strata = TRUE, U = r$U, V = r$V)
    }
    entry$fh_by_hand <- hand

    # MaxCombo: FH statistics, their correlation (fh_terms), and the
    # multivariate normal p-value of the maximum from mvtnorm::pmvnorm
    d$stratum_used <- 0
    mc <- list()
    for (tests in list(list(c(0, 0), c(0, 1), c(1, 1)), list(c(0, 0), c(0, 1), c(1, 0), c(1, 1)))) {
        K <- length(tests)
        z <- numeric(K); Cm <- matrix(0, K, K)
        for (a in 1:K) for (b in 1:K) {
            r <- fh_terms(d, tests[[a]][1], tests[[a]][2], tests[[b]][1], tests[[b]][2])
            Cm[a, b] <- r$C
            if (a == b) z[a] <- -r$U / sqrt(r$V)
        }
        corr <- cov2cor(Cm)
        zmax <- max(z)
        set.seed(1)
        p1 <- 1 - pmvnorm(upper = rep(zmax, K), sigma = corr,
                          algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-9, releps = 0))
        set.seed(1)
        p2 <- 1 - pmvnorm(lower = rep(-max(abs(z)), K), upper = rep(max(abs(z)), K), sigma = corr,
                          algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-9, releps = 0))
        mc[[length(mc) + 1]] <- list(tests = do.call(rbind, tests), z = z, corr = corr, z_max = zmax,
                                     p_one_sided = as.numeric(p1), p_one_sided_error = attr(p1, "error"),
                                     p_two_sided = as.numeric(p2), p_two_sided_error = attr(p2, "error"),
                                     r_call = "1 - pmvnorm(upper = rep(zmax, K), sigma = corr, algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-9, releps = 0))")
    }
    entry$maxcombo <- mc

    # Cox: Breslow and Efron, unstratified and stratified
    cx <- list()
    for (ties in c("breslow", "efron")) {
        f <- coxph(Surv(time, status) ~ arm, data = d, ties = ties, control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50))
        fs <- coxph(Surv(time, status) ~ arm + strata(stratum), data = d, ties = ties,
                    control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50))
        cx[[ties]] <- list(coef = unname(coef(f)), se = unname(sqrt(vcov(f)[1, 1])),
                           coef_strata = unname(coef(fs)), se_strata = unname(sqrt(vcov(fs)[1, 1])),
                           r_call = sprintf("coxph(Surv(time, status) ~ arm [+ strata(stratum)], data = d, ties = \"%s\", control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50))", ties))
    }
    entry$coxph <- cx

    # RMST (survRM2's rmst1 formula) and milestone survival (survfit, Greenwood)
    horizon <- 24; at <- 18
    rm <- lapply(0:1, function(a) rmst1(d$time[d$arm == a], d$status[d$arm == a], horizon))
    entry$rmst <- list(horizon = horizon, rmst = sapply(rm, `[`, "rmst"), var = sapply(rm, `[`, "var"),
                       r_call = "rmst1(time[arm == a], status[arm == a], tau = 24)  # survRM2's code, above")
    ms <- lapply(0:1, function(a) summary(survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ]), times = at, extend = TRUE))
    entry$milestone <- list(at = at, surv = sapply(ms, function(s) s$surv), std_err = sapply(ms, function(s) s$std.err),
                            r_call = "summary(survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ]), times = 18, extend = TRUE)")
    tte[[length(tte) + 1]] <- entry
}
writeLines(toJSON(tte, digits = I(17), auto_unbox = TRUE, pretty = FALSE), file.path(out_dir, "r_survival_tte.json"))

# ---------------------------------------------------------------------------
# binary endpoint: mantelhaen.test on 2 x 2 x K tables, fisher.test on 2 x 2

set.seed(201)
binary <- list(cmh = list(), fisher = list())
for (i in 1:12) {
    K <- sample(2:4, 1)
    nt <- sample(5:40, K, replace = TRUE); nc <- sample(5:40, K, replace = TRUE)
    pt <- runif(1, 0.1, 0.7); pc <- pt * runif(1, 0.5, 1.2)
    st <- rbinom(K, nt, pt); sc <- rbinom(K, nc, min(pc, 1))
    x <- array(0, dim = c(2, 2, K))
    x[1, 1, ] <- st; x[1, 2, ] <- nt - st; x[2, 1, ] <- sc; x[2, 2, ] <- nc - sc
    for (correct in c(TRUE, FALSE)) {
        two <- mantelhaen.test(x, correct = correct)
        gr <- mantelhaen.test(x, correct = correct, alternative = "greater")
        binary$cmh[[length(binary$cmh) + 1]] <- list(
            successes_treatment = st, n_treatment = nt, successes_control = sc, n_control = nc,
            correct = correct, statistic = unname(two$statistic), p_two_sided = two$p.value,
            p_greater = gr$p.value, estimate = unname(two$estimate), conf_int = as.numeric(two$conf.int),
            r_call = sprintf("mantelhaen.test(x, correct = %s[, alternative = \"greater\"])", correct))
    }
}
for (i in 1:30) {
    nt <- sample(3:60, 1); nc <- sample(3:60, 1)
    st <- rbinom(1, nt, runif(1)); sc <- rbinom(1, nc, runif(1))
    m <- matrix(c(st, sc, nt - st, nc - sc), 2)
    binary$fisher[[length(binary$fisher) + 1]] <- list(
        successes_treatment = st, n_treatment = nt, successes_control = sc, n_control = nc,
        p_greater = fisher.test(m, alternative = "greater")$p.value,
        p_two_sided = fisher.test(m)$p.value,
        r_call = "fisher.test(matrix(c(st, sc, nt - st, nc - sc), 2)[, alternative = \"greater\"])")
}
writeLines(toJSON(binary, digits = I(17), auto_unbox = TRUE, pretty = FALSE), file.path(out_dir, "r_survival_binary.json"))
cat("wrote", file.path(out_dir, "r_survival_tte.json"), "and", file.path(out_dir, "r_survival_binary.json"), "\n")
