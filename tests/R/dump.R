# Rscript tests/R/dump.R ROOT OUT: read_jakderm(ROOT) written to OUT as JSON, for
# tests/test_r_agreement.py to compare with jakderm.load(). Per table: nrow and, per column in
# order, its name, R class, factor levels (or null) and values as text (NA as null; numbers with
# 17 significant digits, dates as YYYY-MM-DD).
args <- commandArgs(trailingOnly = TRUE)
root <- args[1]
source(file.path(root, "R", "jakderm.R"))

as_text <- function(x) {
  # A Date is a double underneath: test for it first.
  if (inherits(x, "Date")) format(x, "%Y-%m-%d")
  else if (is.double(x)) ifelse(is.na(x), NA_character_, sprintf("%.17g", x))
  else if (is.logical(x)) ifelse(x, "true", "false")
  else as.character(x)
}
dump_table <- function(table) {
  columns <- lapply(names(table), function(name) {
    x <- table[[name]]
    list(name = name, class = class(x)[1], levels = if (is.factor(x)) I(levels(x)), values = I(as_text(x)))
  })
  list(nrow = nrow(table), columns = columns)
}
json <- jsonlite::toJSON(lapply(read_jakderm(root), dump_table), auto_unbox = TRUE, na = "null", null = "null")
writeLines(json, args[2], useBytes = TRUE)
