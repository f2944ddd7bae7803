#!/usr/bin/env Rscript
# Golden values from rpact for conventional two-arm time-to-event designs.
#
# Run from the repository root:
#     Rscript tools/rpact/make_golden.R
# Writes tests/golden/rpact_conventional.json (a JSON array, one object per design).
#
# All designs: fixed design (kMax = 1), one-sided alpha (sided = 1), exponential
# survival, uniform accrual over [0, accrual_time], group 1 = treatment
# (lambda1 = hazardRatio * lambda2), group 2 = control, directionUpper = FALSE
# (the alternative is HR < 1).
#
# Every rpact call is written once as a string (`r_call`), evaluated with
# eval(parse(text = r_call)) and stored next to the values it produced.

suppressPackageStartupMessages({
    library(rpact)
    library(jsonlite)
})

out_file <- file.path("tests", "golden", "rpact_conventional.json")
if (!dir.exists(dirname(out_file))) {
    stop("run from the repository root (", dirname(out_file), " not found)")
}

# Simulation results depend on R's default RNG (set.seed(seed) inside rpact).
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

N_ITER <- 10000L

designs <- list(
    list(id = "D1", description = "Benchmark design: HR 0.7, control median 24, 500 pts over 24 months, 247 events",
         hr = 0.7, median2 = 24, accrual = 24, n = 500, events = 247, alpha = 0.025,
         allocation1 = 1, allocation2 = 1, dropout = 0, seed = 101),
    list(id = "D2", description = "HR 0.75, control median 12, 400 pts over 20 months, 300 events",
         hr = 0.75, median2 = 12, accrual = 20, n = 400, events = 300, alpha = 0.025,
         allocation1 = 1, allocation2 = 1, dropout = 0, seed = 102),
    list(id = "D3", description = "HR 0.6, control median 36, 300 pts over 18 months, 120 events, 2:1 (treatment:control)",
         hr = 0.6, median2 = 36, accrual = 18, n = 300, events = 120, alpha = 0.025,
         allocation1 = 2, allocation2 = 1, dropout = 0, seed = 103),
    list(id = "D4", description = "Null (type I error): HR 1.0, control median 24, 500 pts over 24 months, 247 events",
         hr = 1.0, median2 = 24, accrual = 24, n = 500, events = 247, alpha = 0.025,
         allocation1 = 1, allocation2 = 1, dropout = 0, seed = 104),
    list(id = "D5", description = "D1 with dropout 5% per year in both arms (dropoutRate = 0.05 at dropoutTime = 12)",
         hr = 0.7, median2 = 24, accrual = 24, n = 500, events = 247, alpha = 0.025,
         allocation1 = 1, allocation2 = 1, dropout = 0.05, seed = 105)
)

num <- function(x) format(x, digits = 15)

dropout_args <- function(d) {
    if (d$dropout > 0) {
        sprintf(", dropoutRate1 = %s, dropoutRate2 = %s, dropoutTime = 12", num(d$dropout), num(d$dropout))
    } else {
        ""
    }
}

power_call <- function(d) {
    sprintf(paste0(
        "getPowerSurvival(alpha = %s, sided = 1, typeOfComputation = \"Schoenfeld\", ",
        "hazardRatio = %s, median2 = %s, accrualTime = c(0, %s), maxNumberOfSubjects = %s, ",
        "maxNumberOfEvents = %s, allocationRatioPlanned = %s, directionUpper = FALSE%s)"),
        num(d$alpha), num(d$hr), num(d$median2), num(d$accrual), num(d$n), num(d$events),
        num(d$allocation1 / d$allocation2), dropout_args(d))
}

sim_call <- function(d) {
    sprintf(paste0(
        "getSimulationSurvival(alpha = %s, sided = 1, ",
        "hazardRatio = %s, median2 = %s, accrualTime = c(0, %s), maxNumberOfSubjects = %s, ",
        "plannedEvents = %s, allocation1 = %s, allocation2 = %s, directionUpper = FALSE%s, ",
        "maxNumberOfIterations = %s, seed = %s)"),
        num(d$alpha), num(d$hr), num(d$median2), num(d$accrual), num(d$n), num(d$events),
        num(d$allocation1), num(d$allocation2), dropout_args(d), num(N_ITER), num(d$seed))
}

sample_size_call <- function(d, power) {
    sprintf(paste0(
        "getSampleSizeSurvival(alpha = %s, sided = 1, beta = %s, typeOfComputation = \"Schoenfeld\", ",
        "hazardRatio = %s, median2 = %s, accrualTime = c(0, %s), maxNumberOfSubjects = %s, ",
        "allocationRatioPlanned = %s%s)"),
        num(d$alpha), num(1 - power), num(d$hr), num(d$median2), num(d$accrual), num(d$n),
        num(d$allocation1 / d$allocation2), dropout_args(d))
}

run <- function(call) eval(parse(text = call))

results <- list()
for (d in designs) {
    message("design ", d$id)
    r <- d$allocation1 / d$allocation2
    lambda2 <- log(2) / d$median2
    phi <- if (d$dropout > 0) -log(1 - d$dropout) / 12 else 0

    inputs <- list(
        hazard_ratio = d$hr,
        control_median_months = d$median2,
        lambda2_per_month = lambda2,
        lambda1_per_month = d$hr * lambda2,
        accrual_time_months = d$accrual,
        max_number_of_subjects = d$n,
        events = d$events,
        alpha = d$alpha,
        sided = 1L,
        kMax = 1L,
        direction_upper = FALSE,
        allocation_ratio = r,
        allocation1 = d$allocation1,
        allocation2 = d$allocation2,
        dropout_rate1 = d$dropout,
        dropout_rate2 = d$dropout,
        dropout_time_months = if (d$dropout > 0) 12 else NULL,
        dropout_hazard_per_month = phi
    )
    inputs <- inputs[!vapply(inputs, is.null, logical(1))]

    # (a) analytic power (Schoenfeld)
    pc <- power_call(d)
    p <- run(pc)
    crit <- qnorm(1 - d$alpha)
    schoenfeld_formula <- pnorm(sqrt(d$events * r) / (1 + r) * abs(log(d$hr)) - crit)
    analytic <- list(
        r_call = pc,
        power = as.numeric(p$overallReject),
        analysis_time_months = as.numeric(p$analysisTime[1, 1]),
        follow_up_time_months = as.numeric(p$followUpTime),
        expected_number_of_subjects = as.numeric(p$expectedNumberOfSubjects),
        expected_number_of_events = as.numeric(p$expectedNumberOfEvents),
        critical_value_z = crit,
        schoenfeld_formula_power = schoenfeld_formula,
        schoenfeld_formula = "pnorm(sqrt(events * r) / (1 + r) * abs(log(hazard_ratio)) - qnorm(1 - alpha)), r = allocation_ratio"
    )

    # (b) simulated power
    sc <- sim_call(d)
    s <- run(sc)
    pw <- as.numeric(s$overallReject)
    it <- getData(s)
    simulation <- list(
        r_call = sc,
        seed = d$seed,
        iterations = N_ITER,
        power = pw,
        mc_se = sqrt(pw * (1 - pw) / N_ITER),
        analysis_time_mean_months = as.numeric(s$analysisTime[1, 1]),
        analysis_time_sd_months = sd(it$analysisTime),
        expected_number_of_subjects = as.numeric(s$expectedNumberOfSubjects),
        expected_number_of_events = as.numeric(s$expectedNumberOfEvents),
        events_treatment_mean = mean(it$overallEvents1),
        events_control_mean = mean(it$overallEvents2),
        events_not_achieved = as.numeric(s$eventsNotAchieved[1, 1]),
        logrank_z_mean = mean(it$logRankStatistic),
        logrank_z_sd = sd(it$logRankStatistic),
        z_sign_convention = "logrank_z = -(O1 - E1) / sqrt(V), group 1 = treatment; reject if logrank_z >= critical_value_z"
    )

    obj <- list(id = d$id, description = d$description, inputs = inputs,
                analytic = analytic, simulation = simulation)

    # (c) required events for 80% / 90% power (D1 only)
    if (d$id == "D1") {
        obj$sample_size <- lapply(c(0.8, 0.9), function(target) {
            cc <- sample_size_call(d, target)
            ss <- run(cc)
            formula_events <- (1 + r)^2 / r * (qnorm(1 - d$alpha) + qnorm(target))^2 / log(d$hr)^2
            list(
                target_power = target,
                r_call = cc,
                events_exact = as.numeric(ss$eventsFixed),
                events_ceiling = ceiling(as.numeric(ss$eventsFixed) - 1e-9),
                schoenfeld_formula_events = formula_events,
                schoenfeld_formula = "(1 + r)^2 / r * (qnorm(1 - alpha) + qnorm(power))^2 / log(hazard_ratio)^2 (= 4 (z_{1-a} + z_{1-b})^2 / log(HR)^2 for r = 1)",
                analysis_time_months = as.numeric(ss$analysisTime[1, 1]),
                follow_up_time_months = as.numeric(ss$followUpTime)
            )
        })
    }

    obj$generated_with <- list(
        rpact = as.character(packageVersion("rpact")),
        R = paste(R.version$major, R.version$minor, sep = "."),
        rng_kind = paste(RNGkind()[1:3], collapse = "/")
    )
    results[[length(results) + 1]] <- obj
}

writeLines(toJSON(results, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), out_file)
message("wrote ", out_file)
