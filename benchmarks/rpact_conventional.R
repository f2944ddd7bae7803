#!/usr/bin/env Rscript
# rpact peer benchmark: design D1 of tests/golden/rpact_conventional.json.
#   HR 0.7, control median 24 months, 500 patients accrued uniformly over 24 months,
#   fixed design analysed at 247 events, one-sided alpha 0.025, log-rank test,
#   10,000 simulated trials (getSimulationSurvival, single-threaded C++ loop).
#
# Usage (from the repository root; meant to be timed as a whole process):
#     Rscript benchmarks/rpact_conventional.R
# Prints the simulated power and the time spent inside R, plus one
# machine-readable line:  RESULT power=<p> mc_se=<se> sim_seconds=<s> total_seconds=<s>

t_start <- proc.time()[["elapsed"]]
suppressPackageStartupMessages(library(rpact))
t_loaded <- proc.time()[["elapsed"]]

n_iter <- 10000L
sim <- getSimulationSurvival(
    alpha = 0.025, sided = 1,
    hazardRatio = 0.7, median2 = 24,
    accrualTime = c(0, 24), maxNumberOfSubjects = 500,
    plannedEvents = 247,
    allocation1 = 1, allocation2 = 1,
    directionUpper = FALSE,
    maxNumberOfIterations = n_iter, seed = 101
)
t_done <- proc.time()[["elapsed"]]

power <- as.numeric(sim$overallReject)
mc_se <- sqrt(power * (1 - power) / n_iter)
cat(sprintf("rpact %s, R %s.%s\n", packageVersion("rpact"), R.version$major, R.version$minor))
cat(sprintf("D1 simulated power: %.4f (MC SE %.4f), %d iterations, mean analysis time %.3f months\n",
            power, mc_se, n_iter, as.numeric(sim$analysisTime[1, 1])))
cat(sprintf("elapsed: library(rpact) %.2f s, getSimulationSurvival %.2f s, total in R %.2f s\n",
            t_loaded - t_start, t_done - t_loaded, t_done - t_start))
cat(sprintf("RESULT power=%.4f mc_se=%.5f sim_seconds=%.3f total_seconds=%.3f\n",
            power, mc_se, t_done - t_loaded, t_done - t_start))
