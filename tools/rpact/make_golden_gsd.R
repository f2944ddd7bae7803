#!/usr/bin/env Rscript
# Golden values from rpact for trialsim.design: group-sequential boundaries
# (alpha- and beta-spending, Wang-Tsiatis), their exit probabilities, and the
# analytic survival planning figures (Schoenfeld / Freedman events, sample
# size and duration with piecewise accrual and dropout, expected events).
#
# Run from the repository root:
#     Rscript tools/rpact/make_golden_gsd.R
# Writes tests/golden/rpact_boundaries.json (a JSON object with the arrays
# `designs`, `survival_sample_size`, `event_probabilities`, `power_survival`).
#
# Every rpact call is written once as a string (`r_call`), evaluated with
# eval(parse(text = r_call)) and stored next to the values it produced. No
# value depends on a random number generator.

suppressPackageStartupMessages({
    library(rpact)
    library(jsonlite)
})

out_file <- file.path("tests", "golden", "rpact_boundaries.json")
if (!dir.exists(dirname(out_file))) {
    stop("run from the repository root (", dirname(out_file), " not found)")
}

run <- function(call) eval(parse(text = call))
num <- function(x) format(x, digits = 15)
vec <- function(x) paste0("c(", paste(num(x), collapse = ", "), ")")
na_to_null <- function(x) {
    x <- as.numeric(x)
    if (length(x) == 0 || all(is.na(x))) NULL else lapply(x, function(v) if (is.na(v)) NULL else v)
}

# ---------------------------------------------------------------------------
# 1. Group-sequential designs

gsd <- list(
    list(id = "asOF_k2_1s", kMax = 2, alpha = 0.025, sided = 1, rates = c(0.5, 1), type = "asOF"),
    list(id = "asOF_k3_1s", kMax = 3, alpha = 0.025, sided = 1, rates = c(1, 2, 3) / 3, type = "asOF"),
    list(id = "asOF_k4_1s_unequal", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.2, 0.45, 0.7, 1), type = "asOF"),
    list(id = "asP_k3_1s", kMax = 3, alpha = 0.025, sided = 1, rates = c(1, 2, 3) / 3, type = "asP"),
    list(id = "asP_k4_1s_unequal", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.2, 0.45, 0.7, 1), type = "asP"),
    list(id = "asHSD-4_k3_1s", kMax = 3, alpha = 0.025, sided = 1, rates = c(0.3, 0.6, 1), type = "asHSD", gammaA = -4),
    list(id = "asHSD1_k4_1s", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.25, 0.5, 0.75, 1), type = "asHSD", gammaA = 1),
    list(id = "OF_k4_1s", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.25, 0.5, 0.75, 1), type = "OF"),
    list(id = "OF_k3_1s_unequal", kMax = 3, alpha = 0.025, sided = 1, rates = c(0.3, 0.6, 1), type = "OF"),
    list(id = "P_k3_1s_unequal", kMax = 3, alpha = 0.025, sided = 1, rates = c(0.4, 0.7, 1), type = "P"),
    list(id = "P_k2_1s", kMax = 2, alpha = 0.01, sided = 1, rates = c(0.5, 1), type = "P"),
    list(id = "asOF_k3_2s", kMax = 3, alpha = 0.05, sided = 2, rates = c(1, 2, 3) / 3, type = "asOF"),
    list(id = "asP_k4_2s_unequal", kMax = 4, alpha = 0.05, sided = 2, rates = c(0.2, 0.45, 0.7, 1), type = "asP"),
    list(id = "asHSD-2_k2_2s", kMax = 2, alpha = 0.05, sided = 2, rates = c(0.4, 1), type = "asHSD", gammaA = -2),
    list(id = "OF_k2_2s", kMax = 2, alpha = 0.05, sided = 2, rates = c(0.5, 1), type = "OF"),
    list(id = "P_k3_2s", kMax = 3, alpha = 0.05, sided = 2, rates = c(1, 2, 3) / 3, type = "P"),
    # with beta (power 1 - beta) but no futility: the drift (sqrt of rpact's shift)
    list(id = "asOF_k3_1s_beta", kMax = 3, alpha = 0.025, sided = 1, rates = c(1, 2, 3) / 3, type = "asOF", beta = 0.2),
    list(id = "OF_k4_2s_beta", kMax = 4, alpha = 0.05, sided = 2, rates = c(0.25, 0.5, 0.75, 1), type = "OF", beta = 0.1),
    # non-binding futility by beta-spending
    list(id = "asOF_bsOF_k3_1s", kMax = 3, alpha = 0.025, sided = 1, rates = c(1, 2, 3) / 3, type = "asOF",
         beta = 0.2, betaType = "bsOF"),
    list(id = "asP_bsP_k2_1s", kMax = 2, alpha = 0.025, sided = 1, rates = c(0.5, 1), type = "asP",
         beta = 0.1, betaType = "bsP"),
    list(id = "asHSD-4_bsHSD-2_k4_1s_unequal", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.3, 0.5, 0.8, 1),
         type = "asHSD", gammaA = -4, beta = 0.2, betaType = "bsHSD", gammaB = -2),
    list(id = "asOF_bsP_k4_1s_unequal", kMax = 4, alpha = 0.025, sided = 1, rates = c(0.2, 0.45, 0.7, 1), type = "asOF",
         beta = 0.15, betaType = "bsP")
)

design_call <- function(d) {
    s <- sprintf("getDesignGroupSequential(kMax = %d, alpha = %s, sided = %d, typeOfDesign = \"%s\", informationRates = %s",
                 as.integer(d$kMax), num(d$alpha), as.integer(d$sided), d$type, vec(d$rates))
    if (!is.null(d$gammaA)) s <- paste0(s, sprintf(", gammaA = %s", num(d$gammaA)))
    if (!is.null(d$beta)) s <- paste0(s, sprintf(", beta = %s", num(d$beta)))
    if (!is.null(d$betaType)) {
        s <- paste0(s, sprintf(", typeBetaSpending = \"%s\"", d$betaType))
        if (!is.null(d$gammaB)) s <- paste0(s, sprintf(", gammaB = %s", num(d$gammaB)))
        s <- paste0(s, ", bindingFutility = FALSE")
    }
    paste0(s, ")")
}

designs <- lapply(gsd, function(d) {
    dc <- design_call(d)
    des <- run(dc)
    obj <- list(
        id = d$id,
        inputs = list(kMax = d$kMax, alpha = d$alpha, sided = d$sided, information_rates = d$rates,
                      type_of_design = d$type, gamma_a = d$gammaA, beta = d$beta,
                      type_beta_spending = d$betaType, gamma_b = d$gammaB),
        r_call = dc,
        critical_values = as.numeric(des$criticalValues),
        alpha_spent = as.numeric(des$alphaSpent),
        stage_levels = as.numeric(des$stageLevels),
        futility_bounds = na_to_null(des$futilityBounds),
        beta_spent = na_to_null(des$betaSpent),
        power = na_to_null(des$power)
    )
    obj$inputs <- obj$inputs[!vapply(obj$inputs, is.null, logical(1))]
    if (!is.null(d$beta)) {
        cc <- sprintf("getDesignCharacteristics(%s)", dc)
        ch <- run(cc)
        obj$characteristics <- list(
            r_call = cc,
            shift = as.numeric(ch$shift),
            drift = sqrt(as.numeric(ch$shift)),
            inflation_factor = as.numeric(ch$inflationFactor),
            rejection_probabilities = as.numeric(ch$rejectionProbabilities),
            futility_probabilities = na_to_null(ch$futilityProbabilities)
        )
    }
    # Exit probabilities at given drifts (E[Z_k] = theta * sqrt(t_k) with nMax = 1).
    thetas <- c(0, 1.5, 2.8)
    pc <- sprintf("getPowerAndAverageSampleNumber(%s, theta = %s, nMax = 1)", dc, vec(thetas))
    pw <- run(pc)
    rps <- as.matrix(pw$rejectPerStage)
    fps <- if (is.null(pw$futilityPerStage)) NULL else as.matrix(pw$futilityPerStage)
    obj$exit_probabilities <- lapply(seq_along(thetas), function(i) {
        list(
            drift = thetas[i],
            reject_per_stage = as.numeric(rps[, i]),
            futility_per_stage = if (is.null(fps)) NULL else na_to_null(fps[, i]),
            overall_reject = as.numeric(pw$overallReject[i]),
            early_stop = as.numeric(pw$earlyStop[, i])[seq_len(d$kMax - 1)],
            average_information_fraction = as.numeric(pw$averageSampleNumber[i])
        )
    })
    obj$exit_probabilities_r_call <- pc
    obj
})

# ---------------------------------------------------------------------------
# 2. Survival planning (fixed designs): events, sample size, duration

dropout_args <- function(q1, q2) {
    if (q1 > 0 || q2 > 0) sprintf(", dropoutRate1 = %s, dropoutRate2 = %s, dropoutTime = 12", num(q1), num(q2)) else ""
}

ss <- list(
    list(id = "S1_schoenfeld_uniform", comp = "Schoenfeld", alpha = 0.025, sided = 1, beta = 0.2, hr = 0.7,
         lambda2 = log(2) / 24, accrualTime = c(0, 24), followUp = 12, r = 1, q1 = 0, q2 = 0),
    list(id = "S2_freedman_alloc2_dropout", comp = "Freedman", alpha = 0.025, sided = 1, beta = 0.2, hr = 0.6,
         lambda2 = log(2) / 36, accrualTime = c(0, 18), followUp = 24, r = 2, q1 = 0.05, q2 = 0.08),
    list(id = "S3_schoenfeld_piecewise", comp = "Schoenfeld", alpha = 0.025, sided = 1, beta = 0.2, hr = 0.7,
         lambda2 = log(2) / 24, accrualTime = c(0, 6), accrualIntensity = c(10, 20), followUp = 12, r = 1, q1 = 0, q2 = 0),
    list(id = "S4_freedman_2s_piecewise_dropout", comp = "Freedman", alpha = 0.05, sided = 2, beta = 0.1, hr = 0.75,
         lambda2 = 0.02, accrualTime = c(0, 4, 10), accrualIntensity = c(8, 15, 30), followUp = 18, r = 1.5,
         q1 = 0.1, q2 = 0.05),
    list(id = "S5_schoenfeld_given_n", comp = "Schoenfeld", alpha = 0.025, sided = 1, beta = 0.2, hr = 0.7,
         lambda2 = log(2) / 24, accrualTime = c(0, 24), n = 400, r = 1, q1 = 0, q2 = 0),
    list(id = "S6_schoenfeld_given_n_piecewise_dropout", comp = "Schoenfeld", alpha = 0.025, sided = 1, beta = 0.2,
         hr = 0.65, lambda2 = 0.015, accrualTime = c(0, 6), accrualIntensity = c(5, 15), n = 500, r = 1,
         q1 = 0.04, q2 = 0.04)
)

ss_call <- function(d) {
    s <- sprintf(paste0("getSampleSizeSurvival(alpha = %s, sided = %d, beta = %s, typeOfComputation = \"%s\", ",
                        "hazardRatio = %s, lambda2 = %s, accrualTime = %s"),
                 num(d$alpha), as.integer(d$sided), num(d$beta), d$comp, num(d$hr), num(d$lambda2), vec(d$accrualTime))
    if (!is.null(d$accrualIntensity)) s <- paste0(s, sprintf(", accrualIntensity = %s", vec(d$accrualIntensity)))
    if (!is.null(d$followUp)) s <- paste0(s, sprintf(", followUpTime = %s", num(d$followUp)))
    if (!is.null(d$n)) s <- paste0(s, sprintf(", maxNumberOfSubjects = %s", num(d$n)))
    s <- paste0(s, sprintf(", allocationRatioPlanned = %s", num(d$r)), dropout_args(d$q1, d$q2))
    paste0(s, ")")
}

survival_sample_size <- lapply(ss, function(d) {
    cc <- ss_call(d)
    x <- run(cc)
    list(
        id = d$id,
        inputs = list(type_of_computation = d$comp, alpha = d$alpha, sided = d$sided, beta = d$beta,
                      hazard_ratio = d$hr, lambda2 = d$lambda2, accrual_time = d$accrualTime,
                      accrual_intensity = d$accrualIntensity, follow_up_time = d$followUp,
                      max_number_of_subjects = d$n, allocation_ratio = d$r,
                      dropout_rate1 = d$q1, dropout_rate2 = d$q2, dropout_time = 12,
                      dropout_hazard1 = -log(1 - d$q1) / 12, dropout_hazard2 = -log(1 - d$q2) / 12),
        r_call = cc,
        events_fixed = as.numeric(x$eventsFixed),
        max_number_of_subjects = as.numeric(x$maxNumberOfSubjects),
        max_number_of_subjects1 = as.numeric(x$maxNumberOfSubjects1),
        max_number_of_subjects2 = as.numeric(x$maxNumberOfSubjects2),
        accrual_time = as.numeric(x$accrualTime),
        total_accrual_time = as.numeric(x$totalAccrualTime),
        follow_up_time = as.numeric(x$followUpTime),
        analysis_time = as.numeric(x$analysisTime[1, 1])
    )
})

# Expected events at calendar times: pure probability (accrual x survival x dropout).
ep <- list(
    list(id = "E1_uniform", time = c(6, 12, 24, 36, 60), accrualTime = c(0, 24), accrualIntensity = 20,
         lambda2 = log(2) / 24, hr = 0.7, r = 1, q1 = 0, q2 = 0),
    list(id = "E2_piecewise_dropout_alloc2", time = c(6, 12, 24, 36, 60), accrualTime = c(0, 6, 18),
         accrualIntensity = c(10, 25), lambda2 = 0.03, hr = 0.7, r = 2, q1 = 0.05, q2 = 0.1),
    list(id = "E3_three_pieces", time = c(3, 10, 20, 40, 120), accrualTime = c(0, 4, 10, 16),
         accrualIntensity = c(8, 15, 30), lambda2 = 0.01, hr = 0.5, r = 1, q1 = 0.2, q2 = 0.2)
)

event_probabilities <- lapply(ep, function(d) {
    cc <- sprintf(paste0("getEventProbabilities(time = %s, accrualTime = %s, accrualIntensity = %s, lambda2 = %s, ",
                         "hazardRatio = %s, allocationRatioPlanned = %s%s)"),
                  vec(d$time), vec(d$accrualTime), vec(d$accrualIntensity), num(d$lambda2), num(d$hr), num(d$r),
                  dropout_args(d$q1, d$q2))
    x <- run(cc)
    list(
        id = d$id,
        inputs = list(time = d$time, accrual_time = d$accrualTime, accrual_intensity = d$accrualIntensity,
                      lambda2 = d$lambda2, hazard_ratio = d$hr, allocation_ratio = d$r,
                      dropout_hazard1 = -log(1 - d$q1) / 12, dropout_hazard2 = -log(1 - d$q2) / 12),
        r_call = cc,
        max_number_of_subjects = as.numeric(x$maxNumberOfSubjects),
        overall_event_probabilities = as.numeric(x$overallEventProbabilities),
        event_probabilities1 = as.numeric(x$eventProbabilities1),
        event_probabilities2 = as.numeric(x$eventProbabilities2),
        note = "probabilities are expected events / maxNumberOfSubjects (all subjects, accrued or not by `time`); group 1 = treatment"
    )
})

# Analytic power at a number of events: Freedman and Schoenfeld, with allocation.
pw <- list(
    list(id = "P1_freedman", comp = "Freedman", alpha = 0.025, sided = 1, hr = 0.6, events = 120, r = 2),
    list(id = "P2_freedman_2s", comp = "Freedman", alpha = 0.05, sided = 2, hr = 0.75, events = 300, r = 1),
    list(id = "P3_schoenfeld_alloc", comp = "Schoenfeld", alpha = 0.025, sided = 1, hr = 0.7, events = 200, r = 0.5),
    list(id = "P4_freedman_hr_above_1", comp = "Freedman", alpha = 0.025, sided = 1, hr = 1.4, events = 150, r = 1.5)
)
power_survival <- lapply(pw, function(d) {
    cc <- sprintf(paste0("getPowerSurvival(alpha = %s, sided = %d, typeOfComputation = \"%s\", hazardRatio = %s, ",
                         "lambda2 = 0.02, accrualTime = c(0, 12), maxNumberOfSubjects = 1000, maxNumberOfEvents = %s, ",
                         "allocationRatioPlanned = %s%s)"),
                  num(d$alpha), as.integer(d$sided), d$comp, num(d$hr), num(d$events), num(d$r),
                  # directionUpper applies to one-sided tests only (rpact warns otherwise)
                  if (d$sided == 2) "" else if (d$hr < 1) ", directionUpper = FALSE" else ", directionUpper = TRUE")
    x <- run(cc)
    sc <- sprintf(paste0("getSampleSizeSurvival(alpha = %s, sided = %d, beta = 0.2, typeOfComputation = \"%s\", ",
                         "hazardRatio = %s, lambda2 = 0.02, accrualTime = c(0, 12), followUpTime = 12, ",
                         "allocationRatioPlanned = %s)"),
                  num(d$alpha), as.integer(d$sided), d$comp, num(d$hr), num(d$r))
    y <- run(sc)
    list(id = d$id,
         inputs = list(type_of_computation = d$comp, alpha = d$alpha, sided = d$sided, hazard_ratio = d$hr,
                       events = d$events, allocation_ratio = d$r),
         r_call = cc, power = as.numeric(x$overallReject),
         events_for_80_r_call = sc, events_for_80 = as.numeric(y$eventsFixed))
})

out <- list(
    designs = designs,
    survival_sample_size = survival_sample_size,
    event_probabilities = event_probabilities,
    power_survival = power_survival,
    generated_with = list(
        rpact = as.character(packageVersion("rpact")),
        R = paste(R.version$major, R.version$minor, sep = ".")
    )
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), out_file)
message("wrote ", out_file)
