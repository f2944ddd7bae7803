"""The words of the scenario format's JSON Schema (``trialsim schema``).

What every field of a scenario file is and its unit, keyed by the field's
path; :func:`trialsim.scenario.json_schema` puts each text on its property
and adds the default and the range accepted, read from the schema itself, so
that the numbers are never written twice. A path names list items and arm
names with ``*`` (``population.strata.*.share``, ``arms.*.hazard_ratio``);
curve kinds and their parameters are keyed by kind (``weibull.shape``), the
same wherever a curve or distribution is written.

Every field of the model has an entry here and every entry names a field
(tests/test_schema_text_unit.py), so a new field cannot go undocumented.
"""

from __future__ import annotations

#: the units a field may have; "none" for a field that is not a quantity (a name,
#: a choice, a switch, a block of fields), "ratio" for a unitless multiplier
UNITS = ("months", "per month", "share 0-1", "count", "patients per month", "currency per test",
         "ratio", "none")

#: the schema's identifier: a name, not a place to download from (docs/editor.md)
SCHEMA_ID = "https://trialsim.example/schema/scenario-{version}.json"

TITLE = "trialsim scenario, format {version}"

DESCRIPTION = (
    "A trial design for trialsim: who arrives and when (accrual), who they are (population, "
    "the latent MRD model), how they are screened (screening), the two arms, and the trial's "
    "endpoint and analysis. Times are in months, rates per month, probabilities and shares "
    "between 0 and 1. Check a file with `trialsim validate FILE`: it also checks the rules "
    "between fields that this schema cannot express (docs/editor.md lists them).")

#: field path -> (unit, what the field is)
FIELDS: dict[str, tuple[str, str]] = {
    "format": ("none", "The version of the scenario format this file is written in; only 1 exists."),
    "name": ("none", "The design's name, shown in results and reports. When absent from a file, the "
                     "file's name without .yaml."),
    "description": ("none", "Free text about the design, shown in reports."),

    "simulation": ("none", "How many trials to simulate and from which seed."),
    "simulation.replicates": ("count", "Simulated trials per run. The Monte Carlo standard error of a "
                                       "power estimate is at most sqrt(0.25 / replicates)."),
    "simulation.seed": ("none", "The seed of the random streams: the same seed gives the same results. "
                                "Absent or null: drawn at run time and recorded in the results."),

    "accrual": ("none", "Arrivals into screening (or straight into the trial when there is no "
                        "screening block): rate, with optional sites, or piecewise; not both."),
    "accrual.rate": ("patients per month", "Arrival rate once every site is open (a Poisson process). "
                                           "Give rate or piecewise, not both."),
    "accrual.sites": ("none", "Sites opening one after another; goes with rate, not with piecewise."),
    "accrual.sites.count": ("count", "Number of sites; each brings rate / count arrivals per month once open."),
    "accrual.sites.open_over": ("months", "Sites open evenly over this many months from month 0 "
                                          "(0: all open at once)."),
    "accrual.piecewise": ("none", "A piecewise-constant arrival rate, piece after piece, instead of rate "
                                  "and sites; every piece but the last has months."),
    "accrual.piecewise.*.months": ("months", "How long this piece lasts; required on every piece but the "
                                             "last, which lasts until enrolment closes."),
    "accrual.piecewise.*.rate": ("patients per month", "Arrival rate during this piece; the last piece's "
                                                       "rate must be above 0."),

    "population": ("none", "Who the patients (survivors) are: strata and competing risks."),
    "population.strata": ("none", "The strata of the population; their shares sum to 1 and their names "
                                  "differ."),
    "population.strata.*.name": ("none", "The stratum's name, used in results and by a stratified test."),
    "population.strata.*.share": ("share 0-1", "Share of arrivals from this stratum; the shares of all "
                                               "strata sum to 1."),
    "population.strata.*.time_since_diagnosis": (
        "months", "Time from diagnosis to entry: a number or a distribution. The recurrence curve is read "
                  "from diagnosis, conditional on being recurrence-free at entry. Default 0."),
    "population.strata.*.recurrence": ("months", "Survival curve of the time from diagnosis to distant "
                                                 "recurrence, without treatment."),
    "population.strata.*.mrd": ("none", "Overrides of the top-level mrd block for this stratum, key by key "
                                        "(every key but model); needs the top-level mrd block."),
    "population.strata.*.mrd.lead_time": ("months", "Overrides mrd.lead_time for this stratum: how long "
                                                    "before recurrence MRD is detectable."),
    "population.strata.*.mrd.dormant_share": ("share 0-1", "Overrides mrd.dormant_share for this stratum."),
    "population.strata.*.mrd.prevalence": ("share 0-1", "Overrides mrd.prevalence for this stratum."),
    "population.strata.*.mrd.hazard_ratio": ("ratio", "Overrides mrd.hazard_ratio for this stratum."),
    "population.strata.*.mrd.onset_rate": ("per month", "Overrides mrd.onset_rate for this stratum."),
    "population.strata.*.mrd.clearance_rate": ("per month", "Overrides mrd.clearance_rate for this stratum."),
    "population.strata.*.mrd.shedding": ("share 0-1", "Overrides mrd.shedding for this stratum."),
    "population.other_cause_death": ("months", "Survival curve of the time from entry to death from other "
                                               "causes (a competing risk). Absent: nobody dies of other "
                                               "causes."),

    "mrd": ("none", "The latent minimal residual disease (MRD) model. Absent: no latent MRD (a conventional "
                    "trial)."),
    "mrd.model": ("none", "lead_time: MRD is detectable for a lead time before the recurrence "
                          "(needs lead_time); prevalence: MRD status at entry decides the recurrence hazard "
                          "(needs prevalence and hazard_ratio). Keys of one model are refused with the other."),
    "mrd.lead_time": ("months", "lead_time model: how long before the recurrence MRD is detectable, a number "
                                "or a distribution."),
    "mrd.dormant_share": ("share 0-1", "lead_time model: share of survivors who never recur yet carry "
                                       "detectable dormant MRD throughout. Absent: 0."),
    "mrd.prevalence": ("share 0-1", "prevalence model: share MRD-positive at entry."),
    "mrd.hazard_ratio": ("ratio", "prevalence model: recurrence hazard of MRD-positive over MRD-negative "
                                  "survivors."),
    "mrd.onset_rate": ("per month", "prevalence model: rate at which an MRD-negative survivor turns positive. "
                                    "Absent: 0."),
    "mrd.shedding": ("share 0-1", "Either model: intra-person correlation of a survivor's sample results; her "
                                  "own sensitivity and false-positive rate are Beta-distributed around the test's "
                                  "with this correlation, so her samples agree more often than independent ones. "
                                  "Absent: 0 (independent samples)."),
    "mrd.clearance_rate": ("per month", "prevalence model: rate at which a positive survivor clears MRD "
                                        "spontaneously. Absent: 0."),

    "screening": ("none", "Serial screening of survivors for MRD; positives without visible metastases are "
                          "randomised. Absent: every accrued patient is randomised."),
    "screening.test": ("none", "The screening test (assay)."),
    "screening.test.name": ("none", "The test's name, shown in reports."),
    "screening.test.sensitivity": ("share 0-1", "Probability of a positive result when MRD is detectable "
                                                "at the visit."),
    "screening.test.specificity": ("share 0-1", "Probability of a negative result when MRD is not "
                                                "detectable at the visit."),
    "screening.test.failure": ("share 0-1", "Share of tests that give no result (the assay is still used "
                                            "and paid for)."),
    "screening.test.turnaround": ("months", "Time from sample to result: a number or a distribution."),
    "screening.test.cost": ("currency per test", "Cost of one test, for the screening cost in results and "
                                                 "reports. Absent: costs are not reported."),
    "screening.test.currency": ("none", "The unit of cost as reports show it: a code or symbol of 1 to 12 "
                                        "printable characters (EUR, USD, £). Absent: costs are bare numbers."),
    "screening.visits": ("none", "When survivors are tested: at the anchor, then every `every` months, or "
                                 "by a schedule in pieces."),
    "screening.visits.every": ("months", "Time between visits (exclusive with schedule)."),
    "screening.visits.count": ("count", "Visits per survivor, the one at entry included. Absent: no limit."),
    "screening.visits.schedule": ("none", "A visit schedule in pieces, months since the anchor, e.g. "
                                          "[{every: 3, until: 24}, {every: 6, until: 60}] (exclusive with every)."),
    "screening.visits.schedule.*.every": ("months", "Time between visits in this piece."),
    "screening.visits.schedule.*.until": ("months", "Months since the anchor up to which this piece runs; only "
                                                    "the last piece may omit it (then visits go on while "
                                                    "screening lasts, or up to count)."),
    "screening.visits.anchor": ("none", "entry: visit times count from the first sample; diagnosis: visits at "
                                        "fixed months since diagnosis, the first one the survivor can attend."),
    "screening.prescreen": ("none", "The steps before the first sample: consent to surveillance, the assay's "
                                    "set-up and its time."),
    "screening.prescreen.consent": ("share 0-1", "Share of approached survivors who consent to surveillance "
                                                 "(registered)."),
    "screening.prescreen.assay_setup": ("share 0-1", "Share of registered survivors for whom the assay can be set "
                                                     "up at all (tumour tissue found, panel designed)."),
    "screening.prescreen.setup_time": ("months", "Time from registration to the first sample: a number or a "
                                                 "distribution."),
    "screening.staging": ("none", "Staging of a survivor with a positive result."),
    "screening.staging.imaging": ("none", "Staging scans as an imperfect test, instead of the step at "
                                          "imaging_lead (give one of the two)."),
    "screening.staging.imaging.sensitivity": ("months", "Each survivor's imaging lead, a distribution: scans show "
                                                        "her metastasis from this many months before its clinical "
                                                        "recurrence, so at d months before it they show it with "
                                                        "probability S(d). {fixed: 3} is imaging_lead: 3."),
    "screening.staging.order": ("none", "stage_then_randomise: only survivors eligible at staging are "
                                        "randomised; randomise_then_stage: a consenting test-positive is allocated "
                                        "at the result and scanned after, so those found metastatic are in the arms "
                                        "(see trial.population). Absent: stage_then_randomise."),
    "screening.staging.imaging_lead": ("months", "How long before clinical recurrence imaging shows "
                                                 "metastases; a positive whose recurrence is already "
                                                 "visible is not eligible."),
    "screening.consent": ("share 0-1", "Probability that an eligible survivor consents and is randomised."),
    "screening.mode": ("none", "enrol_first_positive: a (confirmed) positive ends the survivor's screening; "
                               "surveillance: every scheduled visit runs whatever the result, until she is "
                               "randomised, recurs or dies. Absent: enrol_first_positive."),
    "screening.confirm": ("none", "How a positive is confirmed before staging: tests (this many consecutive "
                                  "positive samples; a negative resets the count, a failed sample neither counts "
                                  "nor resets) or test (a second assay). Give one."),
    "screening.confirm.test": ("none", "A second, different assay on a new sample taken when the first positive "
                                       "result comes back; the survivor is confirmed when it is positive (a negative "
                                       "or failed one leaves her in screening)."),
    "screening.confirm.test.name": ("none", "Name of the second assay, for reports."),
    "screening.confirm.test.sensitivity": ("share 0-1", "Probability that the second assay is positive when MRD is "
                                                        "detectable at its sample."),
    "screening.confirm.test.specificity": ("share 0-1", "Probability that the second assay is negative when MRD is "
                                                        "not detectable."),
    "screening.confirm.test.failure": ("share 0-1", "Share of second assays that give no result (not confirmed)."),
    "screening.confirm.test.turnaround": ("months", "Time from the second sample to its result: a number or a "
                                                    "distribution."),
    "screening.confirm.test.cost": ("currency per test", "Cost of one second assay, added to the screening cost."),
    "screening.confirm.test.currency": ("none", "Currency of the second assay's cost, as reports show it."),
    "screening.confirm.tests": ("count", "Consecutive positive samples that make a positive, 2 to 10."),
    "screening.max_screened": ("count", "Stop screening new survivors after this many have entered. "
                                        "Absent: no limit."),
    "screening.max_months": ("months", "Stop screening this many months after month 0. Absent: a safety "
                                       "horizon of 600 months."),

    "arms": ("none", "The arms, each under a name of your choice: the first is the control, then one to nine "
                     "treatment arms, each compared with control."),
    "arms.*.allocation": ("ratio", "Randomisation weight of this arm (1 and 1: 1:1; 1 and 2: 1:2)."),
    "arms.*.eradication": ("share 0-1", "Probability that the arm's intervention eradicates MRD detectable "
                                        "at randomisation."),
    "arms.*.hazard_ratio": ("ratio", "Multiplies the recurrence hazard (when MRD is not eradicated) from the "
                                     "effect's start."),
    "arms.*.delay": ("months", "Time from randomisation to the start of the arm's effect."),

    "trial": ("none", "The trial after randomisation: size, endpoint, censoring and analysis."),
    "trial.enrollment": ("count", "Patients randomised; enrolment closes at the last of them."),
    "trial.endpoint": ("none", "The endpoint, or a list of endpoints of which the first is primary: drfs "
                               "(distant recurrence-free survival from randomisation) or mrd_clearance "
                               "(needs screening, mrd and clearance)."),
    "trial.death": ("none", "Death from other causes: censor (censors DRFS) or event (counts as a DRFS "
                            "event)."),
    "trial.dropout": ("none", "Loss to follow-up, which censors: give annual or rate, not both. Absent: "
                              "no dropout."),
    "trial.dropout.annual": ("share 0-1", "Share of patients lost within 12 months (a rate of "
                                          "-ln(1 - annual) / 12 per month)."),
    "trial.dropout.rate": ("per month", "Dropout rate."),
    "trial.analysis": ("none", "When and how DRFS is analysed: give events, months or both."),
    "trial.analysis.events": ("count", "Analyse at the calendar time of this many events (at most the "
                                       "enrollment); with months, whichever comes first."),
    "trial.analysis.months": ("months", "Analyse this many months after the last randomisation; with "
                                        "events, whichever comes first."),
    "trial.analysis.test": ("none", "The test: logrank, fh(rho,gamma) (Fleming-Harrington, rho and gamma "
                                    "at least 0), maxcombo, rmst(horizon), milestone(time) (horizon and "
                                    "time in months, above 0) or cox."),
    "trial.analysis.stratified": ("none", "Stratify the test by the scenario's strata (needs two strata or "
                                          "more; not for rmst or milestone)."),
    "trial.analysis.alpha": ("share 0-1", "Significance level (of each side for a two-sided test, "
                                          "alpha / 2)."),
    "trial.analysis.multiplicity": ("none", "With several treatment arms, how their comparisons with control "
                                            "share alpha: holm (step-down), bonferroni, dunnett (single-step, "
                                            "log-rank or Cox only) or none. Absent: holm."),
    "trial.analysis.sided": ("none", "1: one-sided (the treatment better); 2: two-sided."),
    "trial.analysis.looks": ("share 0-1", "Interim analyses at these information fractions of the events "
                                          "target, strictly increasing; needs events."),
    "trial.analysis.spending": ("none", "Efficacy boundaries at interim looks: obrien_fleming or pocock "
                                        "(Lan-DeMets), hsd(gamma) (gamma from -50 to 50), "
                                        "classical_obrien_fleming or classical_pocock."),
    "trial.analysis.futility": ("none", "Non-binding futility bounds at the interim looks by beta-spending; "
                                        "needs looks and a one-sided test."),
    "trial.analysis.futility.spending": ("none", "Beta-spending function, named as for the efficacy "
                                                 "spending."),
    "trial.analysis.futility.beta": ("share 0-1", "Type II error spent over the looks."),
    "trial.analysis.futility.hazard_ratio": ("ratio", "The alternative whose drift the futility bounds are "
                                                      "computed for; not 1."),
    "trial.population": ("none", "With staging after randomisation: itt analyses everyone randomised; "
                                 "eligible leaves out those found metastatic at staging. Absent: itt."),
    "trial.clearance": ("none", "MRD clearance, measured with the screening test after randomisation; "
                                "needed by (and only with) the mrd_clearance endpoint."),
    "trial.clearance.at": ("months", "When MRD is measured after randomisation."),
    "trial.clearance.test": ("none", "fisher (Fisher's exact test) or cmh (Cochran-Mantel-Haenszel, by "
                                     "stratum)."),
    "trial.clearance.alpha": ("share 0-1", "Significance level of the clearance test."),
    "trial.clearance.sided": ("none", "1: one-sided; 2: two-sided."),
}

#: curve kind, or kind.parameter -> (unit, what it is); a kind's text follows
#: trialsim.curves.grammar's own description of it
CURVES: dict[str, tuple[str, str]] = {
    "exponential": ("none", "Constant hazard: rate, median, or cumulative incidence at a time."),
    "exponential.rate": ("per month", "The hazard rate."),
    "exponential.median": ("months", "The median time (ln 2 / rate)."),
    "exponential.cumulative": ("share 0-1", "Share with the event by time at (goes with at)."),
    "exponential.at": ("months", "The time at which cumulative is reached (goes with cumulative)."),
    "weibull": ("none", "Cumulative hazard (t / scale)^shape: scale or median, with shape."),
    "weibull.scale": ("months", "The scale (the time at which 63.2% have had the event)."),
    "weibull.median": ("months", "The median time, instead of scale."),
    "weibull.shape": ("ratio", "The shape: below 1 a falling hazard, 1 constant, above 1 rising."),
    "lognormal": ("none", "log T is Normal(mu, sigma): mu or the median, with sigma."),
    "lognormal.mu": ("none", "Mean of log T, T in months (the median is exp(mu))."),
    "lognormal.median": ("months", "The median time, instead of mu."),
    "lognormal.sigma": ("none", "Standard deviation of log T."),
    "loglogistic": ("none", "S(t) = 1 / (1 + (t / alpha)^beta): alpha (the median) or median, with beta."),
    "loglogistic.alpha": ("months", "The median time."),
    "loglogistic.median": ("months", "The median time (a synonym of alpha)."),
    "loglogistic.beta": ("ratio", "The shape."),
    "piecewise_exponential": ("none", "Constant hazard rates between breaks: one rate more than breaks."),
    "piecewise_exponential.breaks": ("months", "Times where the hazard changes, strictly increasing."),
    "piecewise_exponential.rates": ("per month", "Hazard rates: before the first break, between breaks, "
                                                 "after the last."),
    "cure": ("none", "A share never has the event; the others follow curve."),
    "cure.fraction": ("share 0-1", "The cured share, who never have the event."),
    "cure.curve": ("months", "The curve of those not cured."),
    "proportional": ("none", "hazard_ratio times the hazard of curve."),
    "proportional.hazard_ratio": ("ratio", "Multiplies the hazard of curve."),
    "proportional.curve": ("months", "The curve whose hazard is multiplied."),
    "table": ("none", "A survival table: a CSV file (columns time, survival) or inline times and survival; "
                      "constant hazard between points, flat after the last."),
    "table.file": ("none", "A CSV file with columns time (months) and survival (0-1), relative to the "
                           "scenario's folder."),
    "table.times": ("months", "Times of the table, strictly increasing (time 0, survival 1 is added when "
                                "missing)."),
    "table.survival": ("share 0-1", "Survival at each time: above 0, not increasing, 1 at time 0."),
    "reference": ("none", "A reference curve shipped with trialsim, by name (`trialsim curves list`)."),
    "uniform": ("none", "A time uniform between low and high: [low, high] or {low, high}."),
    "uniform.low": ("months", "The shortest time."),
    "uniform.high": ("months", "The longest time, above low."),
    "fixed": ("months", "A fixed time; a plain number means the same."),
}

#: field path -> example values shown by editors
EXAMPLES: dict[str, list] = {
    "name": ["ER+ late recurrence, serial ctDNA surveillance"],
    "simulation.replicates": [2000],
    "simulation.seed": [20261122],
    "accrual.rate": [120],
    "accrual.piecewise": [[{"months": 6, "rate": 40}, {"rate": 120}]],
    "population.strata.*.time_since_diagnosis": [84, {"uniform": [60, 120]}],
    "population.strata.*.recurrence": [{"reference": "pan2017/T2N1-3"}, {"exponential": {"median": 24}}],
    "population.other_cause_death": [{"exponential": {"rate": 0.0008}}],
    "mrd.lead_time": [{"weibull": {"median": 10.5, "shape": 1.5}}],
    "screening.test.turnaround": [0.5],
    "screening.test.currency": ["EUR"],
    "trial.endpoint": ["drfs", ["drfs", "mrd_clearance"]],
    "trial.dropout": [{"annual": 0.05}, {"rate": 0.004}],
    "trial.analysis.test": ["logrank", "fh(0,1)", "maxcombo", "rmst(36)", "milestone(24)", "cox"],
    "trial.analysis.looks": [[0.5], [0.33, 0.67]],
    "trial.analysis.spending": ["obrien_fleming", "pocock", "hsd(-4)"],
}

#: two small scenarios that trialsim accepts, shown by editors and tested
SCENARIO_EXAMPLES: list[dict] = [
    {"name": "conventional log-rank design",
     "accrual": {"rate": 20.8333},
     "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"median": 24}}}]},
     "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
     "trial": {"enrollment": 500, "analysis": {"events": 247, "alpha": 0.025, "sided": 1}}},
    {"name": "serial ctDNA screening",
     "accrual": {"rate": 150},
     "population": {"strata": [{"name": "T2N1-3", "share": 1, "time_since_diagnosis": {"uniform": [60, 120]},
                                "recurrence": {"reference": "pan2017/T2N1-3"}}]},
     "mrd": {"model": "lead_time", "lead_time": {"weibull": {"median": 10.5, "shape": 1.4}}},
     "screening": {"test": {"sensitivity": 0.88, "specificity": 0.998, "turnaround": 0.5},
                   "visits": {"every": 6, "count": 4}},
     "arms": {"control": {}, "treatment": {"eradication": 0.3, "hazard_ratio": 0.7}},
     "trial": {"enrollment": 150, "analysis": {"events": 80, "months": 24}}},
]
