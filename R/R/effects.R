# The comparisons of jakderm.effects() (Python) computed in R, with metafor::escalc() for the
# effect sizes (help: ?jakderm_effects). The pairing rules are those of jakderm/meta_analysis.py; the
# tests run both on the same packages and compare row by row.

jakderm_measures <- c("RR", "OR", "RD")
jakderm_control_roles <- c("placebo", "vehicle")
# What makes two outcome rows of one trial comparable: the same estimand but for the arm.
jakderm_match <- c("trial_id", "endpoint_id", "timepoint_weeks", "timepoint_text", "population", "imputation",
                   "subgroup")

jakderm_effects <- function(path = ".", measure = "RR", tables = NULL) {
  if (!is.character(measure) || length(measure) != 1L || !measure %in% jakderm_measures) {
    stop("unknown measure ", deparse(measure), ": use one of ", paste(jakderm_measures, collapse = ", "),
         call. = FALSE)
  }
  if (!requireNamespace("metafor", quietly = TRUE)) {
    stop("jakderm_effects() needs the metafor package: install.packages(\"metafor\") ",
         "(Debian: apt-get install r-cran-metafor)", call. = FALSE)
  }
  if (is.null(tables)) tables <- read_jakderm(path)

  arms <- as.data.frame(tables$arms)[, c("arm_id", "trial_id", "role", "drug_id", "dose", "dose_unit")]
  o <- merge(as.data.frame(tables$outcomes), arms, by = "arm_id")
  # Events as printed, or round(percent * analysed / 100) where the source printed only a percent
  # (round() halves to even, as the Python side does).
  derived <- is.na(o$responders) & !is.na(o$percent) & !is.na(o$analysed)
  o$events <- ifelse(derived, round(o$percent * o$analysed / 100), o$responders)
  o$total <- o$analysed
  o$derived <- derived
  o <- o[!is.na(o$events) & !is.na(o$total), , drop = FALSE]

  # An empty key cell is a value here (both rows silent on the population), not a wildcard.
  key <- do.call(paste, c(lapply(jakderm_match, function(col) {
    x <- as.character(o[[col]])
    ifelse(is.na(x), "\001", x)
  }), sep = "\002"))
  o$key <- key
  control <- o$role %in% jakderm_control_roles
  treated <- o[!control, , drop = FALSE]
  ctrl <- o[control, c("key", "arm_id", "outcome_id", "events", "total", "derived"), drop = FALSE]
  names(ctrl) <- c("key", "control_arm_id", "control_outcome_id", "ci", "n2i", "control_derived")
  pairs <- merge(treated, ctrl, by = "key")
  # A trial with two control arms for the same estimand: which is "the" control is not the data's to say.
  n_controls <- table(pairs$outcome_id)[pairs$outcome_id]
  if (any(n_controls > 1)) {
    left <- sort(unique(pairs$outcome_id[n_controls > 1]))
    warning(length(left), " outcome row(s) left out: their trial has more than one placebo or vehicle arm ",
            "with a figure for the same estimand (", paste(utils::head(left, 5), collapse = ", "), ")",
            call. = FALSE)
    pairs <- pairs[as.vector(n_controls) == 1L, , drop = FALSE]
  }

  if (!nrow(pairs)) {
    es <- data.frame(yi = numeric(), vi = numeric())
  } else {
    es <- metafor::escalc(measure, ai = pairs$events, n1i = pairs$total, ci = pairs$ci, n2i = pairs$n2i)
  }
  primary <- tables$trials$primary_timepoint_weeks[match(pairs$trial_id, tables$trials$trial_id)]
  back <- if (measure %in% c("RR", "OR")) exp else identity
  z <- stats::qnorm(0.975)
  yi <- as.vector(es$yi)
  vi <- as.vector(es$vi)
  out <- data.frame(
    trial_id = pairs$trial_id, endpoint_id = pairs$endpoint_id, timepoint_weeks = pairs$timepoint_weeks,
    population = pairs$population, imputation = pairs$imputation, subgroup = pairs$subgroup,
    arm_id = pairs$arm_id, control_arm_id = pairs$control_arm_id, drug_id = pairs$drug_id, dose = pairs$dose,
    dose_unit = pairs$dose_unit, ai = as.integer(pairs$events), n1i = as.integer(pairs$total),
    ci = as.integer(pairs$ci), n2i = as.integer(pairs$n2i), counts_derived = pairs$derived | pairs$control_derived,
    measure = rep(measure, nrow(pairs)), yi = yi, vi = vi, estimate = back(yi), ci_lower = back(yi - z * sqrt(vi)),
    ci_upper = back(yi + z * sqrt(vi)),
    primary_timepoint = !is.na(pairs$timepoint_weeks) & !is.na(primary) & pairs$timepoint_weeks == primary,
    outcome_id = pairs$outcome_id,
    control_outcome_id = pairs$control_outcome_id, stringsAsFactors = FALSE)
  # Code-point order, as the Python side sorts, whatever the locale; empty cells first.
  ord <- order(out$trial_id, out$endpoint_id, out$timepoint_weeks, as.character(out$population),
               as.character(out$imputation), out$subgroup, out$arm_id, method = "radix", na.last = FALSE)
  out <- out[ord, , drop = FALSE]
  rownames(out) <- NULL
  out
}
