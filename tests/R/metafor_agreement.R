# Rscript tests/R/metafor_agreement.R ROOT GROUPS.csv PACKAGES.txt OUT.json
# The reference side of tests/test_effects_metafor.py, computed by metafor itself:
# - for each row of GROUPS.csv (group, measure, ai, n1i, ci, n2i): escalc()'s yi and vi, and for
#   each (group, measure) rma()'s b, se, tau2, I2, QE, QEp, ci.lb, ci.ub with REML and with DL;
# - for each package directory in PACKAGES.txt and each measure: jakderm_effects() (R/R/effects.R).
# Numbers are written with 17 significant digits.
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(metafor))
source(file.path(args[1], "R", "jakderm.R"))
groups <- utils::read.csv(args[2], stringsAsFactors = FALSE)
packages <- readLines(args[3])

escalc_rows <- list()
fits <- list()
for (key in unique(paste(groups$group, groups$measure, sep = "\t"))) {
  rows <- groups[paste(groups$group, groups$measure, sep = "\t") == key, ]
  measure <- rows$measure[1]
  es <- escalc(measure, ai = rows$ai, n1i = rows$n1i, ci = rows$ci, n2i = rows$n2i)
  escalc_rows[[key]] <- list(group = rows$group[1], measure = measure, yi = I(as.vector(es$yi)), vi = I(as.vector(es$vi)))
  for (method in c("REML", "DL")) {
    fit <- rma(yi, vi, data = es, method = method)
    fits[[length(fits) + 1]] <- list(group = rows$group[1], measure = measure, method = method, k = fit$k,
                                     b = as.vector(fit$b), se = fit$se, tau2 = fit$tau2, i2 = fit$I2, q = fit$QE,
                                     q_pval = fit$QEp, ci_lb = fit$ci.lb, ci_ub = fit$ci.ub)
  }
}
effects <- list()
for (pkg in packages) {
  tables <- read_jakderm(pkg)
  for (measure in c("RR", "OR", "RD")) {
    e <- jakderm_effects(measure = measure, tables = tables)
    e[] <- lapply(e, function(x) if (is.factor(x)) as.character(x) else x)
    effects[[length(effects) + 1]] <- list(package = pkg, measure = measure, rows = e)
  }
}
json <- jsonlite::toJSON(list(escalc = unname(escalc_rows), rma = fits, effects = effects), auto_unbox = TRUE,
                         digits = NA, na = "null", dataframe = "columns")
writeLines(json, args[4], useBytes = TRUE)
