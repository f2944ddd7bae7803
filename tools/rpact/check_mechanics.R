#!/usr/bin/env Rscript
# Empirical checks behind tools/rpact/README.md, section "How rpact simulates".
# Uses getSimulationSurvival's raw data (maxNumberOfRawDatasetsPerStage) and
# re-derives accrual, allocation, random numbers, analysis time and the
# log-rank statistic independently (base R + survival::survdiff).
#
#     Rscript tools/rpact/check_mechanics.R
# Prints one line per check; exits with status 1 if any check fails.

suppressPackageStartupMessages({
    library(rpact)
    library(survival)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

failures <- 0L
check <- function(label, ok, detail = "") {
    cat(sprintf("[%s] %s %s\n", if (isTRUE(ok)) "PASS" else "FAIL", label, detail))
    if (!isTRUE(ok)) failures <<- failures + 1L
}

sim <- function(hr = 0.7, median2 = 24, accrual = 24, n = 500, events = 247,
                a1 = 1, a2 = 1, dropout = 0, iter = 30, seed = 42) {
    getSimulationSurvival(alpha = 0.025, sided = 1, hazardRatio = hr, median2 = median2,
        accrualTime = c(0, accrual), maxNumberOfSubjects = n, plannedEvents = events,
        allocation1 = a1, allocation2 = a2, directionUpper = FALSE,
        dropoutRate1 = dropout, dropoutRate2 = dropout, dropoutTime = 12,
        maxNumberOfIterations = iter, maxNumberOfRawDatasetsPerStage = iter, seed = seed)
}

## D1-like, 30 iterations with raw data
s <- sim()
raw <- getRawData(s)
dat <- getData(s)
it1 <- raw[raw$iterationNumber == 1, ]
it2 <- raw[raw$iterationNumber == 2, ]
lambda2 <- log(2) / 24
lambda1 <- 0.7 * lambda2

# accrual: deterministic, equally spaced, entry_i = i * A / N, identical in every iteration
check("accrual times identical in every iteration", identical(it1$accrualTime, it2$accrualTime))
check("accrual time of subject i is i * A / N (i = 1..N)",
      isTRUE(all.equal(it1$accrualTime, (1:500) * 24 / 500)),
      sprintf("(first %.3f, last %.3f)", it1$accrualTime[1], it1$accrualTime[500]))

# allocation: deterministic repeating pattern, treatment (group 1) first
check("1:1 allocation is the fixed pattern 1,2,1,2,...",
      identical(as.integer(it1$treatmentGroup), rep(1:2, 250)))
check("allocation pattern identical in every iteration", identical(it1$treatmentGroup, it2$treatmentGroup))

# random numbers: set.seed(seed); one runif per subject in subject order; inversion -log(1-U)/lambda
set.seed(42)
u <- runif(500)
expected <- -log(1 - u) / ifelse(it1$treatmentGroup == 1, lambda1, lambda2)
check("survival times = -log(1 - U)/lambda with U = runif() after set.seed(seed), subject order",
      isTRUE(all.equal(expected, it1$survivalTime)))

# analysis time = calendar time of the d-th event; log-rank = survdiff (O - E)/sqrt(V) with sign flipped
max_dt <- 0
all_d <- TRUE
max_dz <- 0
for (i in unique(raw$iterationNumber)) {
    ri <- raw[raw$iterationNumber == i, ]
    t_an <- ri$lastObservationTime[1]
    max_dt <- max(max_dt, abs(t_an - sort(ri$accrualTime + ri$survivalTime)[247]))
    all_d <- all_d && sum(ri$event) == 247
    inc <- ri$accrualTime <= t_an
    sd <- survdiff(Surv(ri$timeUnderObservation[inc], ri$event[inc]) ~ ri$treatmentGroup[inc])
    z_ref <- -(sd$obs[1] - sd$exp[1]) / sqrt(sd$var[1, 1])
    max_dz <- max(max_dz, abs(dat$logRankStatistic[dat$iterationNumber == i] - z_ref))
}
check("analysis time = calendar time of the 247th event (bisection, tol 1e-5)", max_dt < 2e-5,
      sprintf("(max abs diff %.2e)", max_dt))
check("exactly 247 events counted at the analysis", all_d)
check("logRankStatistic = -(O1 - E1)/sqrt(V) of survival::survdiff", max_dz < 1e-8,
      sprintf("(max abs diff %.2e)", max_dz))
check("test statistic used for the decision is the log-rank Z",
      isTRUE(all.equal(dat$testStatistic, dat$logRankStatistic)))
check("reject iff Z >= qnorm(1 - alpha)",
      all((dat$logRankStatistic >= qnorm(0.975)) == (dat$rejectPerStage == 1)))

## 2:1 allocation (D3-like)
s3 <- sim(hr = 0.6, median2 = 36, accrual = 18, n = 300, events = 120, a1 = 2, a2 = 1, iter = 2)
r3 <- getRawData(s3)
r31 <- r3[r3$iterationNumber == 1, ]
check("2:1 allocation is the fixed pattern 1,1,2,1,1,2,... (200 : 100)",
      identical(as.integer(r31$treatmentGroup), rep(c(1L, 1L, 2L), 100)))

## dropout (D5-like)
s5 <- sim(dropout = 0.05, seed = 7)
r5 <- getRawData(s5)
r51 <- r5[r5$iterationNumber == 1, ]
phi <- -log(1 - 0.05) / 12
set.seed(7)
u <- runif(1000)
surv_u <- u[seq(1, 1000, 2)]
drop_u <- u[seq(2, 1000, 2)]
check("with dropout: per subject one U for survival then one U for dropout",
      isTRUE(all.equal(-log(1 - surv_u) / ifelse(r51$treatmentGroup == 1, lambda1, lambda2), r51$survivalTime)) &&
      isTRUE(all.equal(-log(1 - drop_u) / phi, r51$dropoutTime)))
check("dropout is exponential with rate -log(1 - dropoutRate)/dropoutTime",
      abs(mean(r5$dropoutTime) * phi - 1) < 0.05, sprintf("(mean %.1f vs 1/phi %.1f)", mean(r5$dropoutTime), 1 / phi))
check("a dropout before the event censors it (never counted as an event)",
      !any(r5$event & r5$dropoutTime < r5$survivalTime))

## independent re-simulation of D3 (Schoenfeld is off there; rpact's simulation is not)
set.seed(7)
n <- 300; d <- 120; entry <- (1:n) * 18 / n; g <- rep(c(1, 1, 2), 100)
l2 <- log(2) / 36; l1 <- 0.6 * l2
nsim <- 4000
z <- numeric(nsim)
for (k in seq_len(nsim)) {
    t <- rexp(n, ifelse(g == 1, l1, l2))
    cal <- entry + t
    t_an <- sort(cal)[d]
    sd <- survdiff(Surv(pmin(t, t_an - entry), cal <= t_an) ~ g)
    z[k] <- -(sd$obs[1] - sd$exp[1]) / sqrt(sd$var[1, 1])
}
p_ind <- mean(z >= qnorm(0.975))
se_ind <- sqrt(p_ind * (1 - p_ind) / nsim)
cat(sprintf("[INFO] D3 independent re-simulation (survival::survdiff, %d trials): power %.4f +- %.4f; ",
            nsim, p_ind, se_ind))
cat(sprintf("Schoenfeld %.4f\n", pnorm(sqrt(d * 2) / 3 * abs(log(0.6)) - qnorm(0.975))))

if (failures > 0L) {
    cat(failures, "check(s) failed\n")
    quit(status = 1L)
}
cat("all checks passed\n")
