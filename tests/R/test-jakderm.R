# read_jakderm() against the package shipped at the repository root.
testthat::local_edition(3)

# The repository root: the nearest directory above the working directory (test_dir() runs in
# tests/R) that holds datapackage.json and R/jakderm.R.
find_root <- function(dir = getwd()) {
  while (!file.exists(file.path(dir, "datapackage.json")) || !file.exists(file.path(dir, "R", "jakderm.R"))) {
    if (dirname(dir) == dir) stop("no datapackage.json with R/jakderm.R above ", getwd())
    dir <- dirname(dir)
  }
  dir
}
root <- find_root()
source(file.path(root, "R", "jakderm.R"), local = TRUE)

package <- jsonlite::read_json(file.path(root, "datapackage.json"), simplifyVector = FALSE)
resources <- package$resources
names(resources) <- vapply(resources, function(res) res$name, character(1))
schema_of <- function(res) jsonlite::read_json(file.path(root, res$schema), simplifyVector = FALSE)
enum_of <- function(field) as.character(unlist(field$constraints$enum))
tables <- read_jakderm(root)

# One CSV line split into its cells by base R alone (no cell spans lines in the canonical form).
csv_cells <- function(line) scan(text = line, what = "", sep = ",", quote = "\"", na.strings = character(),
                                 quiet = TRUE, strip.white = FALSE, encoding = "UTF-8")
csv_lines <- function(res) readLines(file.path(root, res$path), encoding = "UTF-8")

# A copy of the package in a temporary directory, removed when the calling test ends.
package_copy <- function(env = parent.frame()) {
  dir <- withr::local_tempdir(.local_envir = env)
  file.copy(file.path(root, "datapackage.json"), dir)
  file.copy(file.path(root, c("data", "schemas")), dir, recursive = TRUE)
  dir
}
# Set one cell of a CSV file in a copy, the first column being the key.
set_cell <- function(dir, res, key, column, value) {
  file <- file.path(dir, res$path)
  text <- utils::read.csv(file, colClasses = "character", na.strings = character(), check.names = FALSE,
                          encoding = "UTF-8")
  text[text[[1]] == key, column] <- value
  utils::write.csv(text, file, row.names = FALSE, fileEncoding = "UTF-8")
}

test_that("the tables are the resources of datapackage.json, in order", {
  expect_type(tables, "list")
  expect_identical(names(tables), names(resources))
  expect_identical(read_jakderm(file.path(root, "datapackage.json")), tables)
})

test_that("every table has one row per CSV line after the header", {
  for (name in names(resources)) {
    expect_identical(nrow(tables[[name]]), length(csv_lines(resources[[name]])) - 1L, label = name)
  }
})

test_that("every column has its schema's type, in schema order", {
  for (name in names(resources)) {
    fields <- schema_of(resources[[name]])$fields
    table <- tables[[name]]
    expect_s3_class(table, "tbl_df")
    expect_identical(names(table), vapply(fields, function(f) f$name, character(1)), label = name)
    for (field in fields) {
      column <- table[[field$name]]
      label <- paste0(name, ".", field$name)
      switch(field$type,
             integer = expect_type(column, "integer"),
             number = expect_type(column, "double"),
             date = expect_s3_class(column, "Date"),
             boolean = expect_type(column, "logical"),
             string = if (length(enum_of(field))) {
               expect_s3_class(column, "factor")
               expect_identical(levels(column), enum_of(field), label = label)
             } else {
               expect_type(column, "character")
             })
    }
  }
})

test_that("the first row of every table holds the values of its CSV text", {
  for (name in names(resources)) {
    lines <- csv_lines(resources[[name]])
    header <- csv_cells(lines[1])
    cells <- stats::setNames(csv_cells(lines[2]), header)
    table <- tables[[name]]
    schema <- schema_of(resources[[name]])
    # The primary key of the first row, exactly as written.
    for (key in unlist(schema$primaryKey)) {
      expect_identical(as.character(table[[key]][1]), cells[[key]], label = paste0(name, ".", key))
    }
    # Every cell of the first row, numbers as numbers and dates as dates.
    for (field in schema$fields) {
      text <- cells[[field$name]]
      value <- table[[field$name]][1]
      label <- paste0(name, ".", field$name, "[1]")
      if (text == "") {
        expect_true(is.na(value), label = label)
      } else if (field$type %in% c("integer", "number")) {
        expect_equal(as.numeric(value), as.numeric(text), label = label)
      } else if (field$type == "date") {
        expect_identical(value, as.Date(text))
      } else {
        expect_identical(as.character(value), text, label = label)
      }
    }
  }
})

test_that("an empty cell is NA, of the column's type", {
  empty_integers <- 0
  for (name in names(resources)) {
    lines <- csv_lines(resources[[name]])
    header <- csv_cells(lines[1])
    rows <- lapply(lines[-1], csv_cells)
    for (field in schema_of(resources[[name]])$fields) {
      text <- vapply(rows, function(r) r[match(field$name, header)], character(1))
      column <- tables[[name]][[field$name]]
      expect_identical(is.na(column), text == "", label = paste0(name, ".", field$name))
      if (field$type == "integer" && any(text == "")) {
        expect_identical(column[which(text == "")[1]], NA_integer_)
        empty_integers <- empty_integers + 1
      }
    }
  }
  expect_gt(empty_integers, 0)  # the shipped data do have empty integer cells
})

test_that("an empty integer cell and the text \"NA\" in a copy", {
  dir <- package_copy()
  drugs <- resources$drugs
  key <- tables$drugs$drug_id[1]
  set_cell(dir, drugs, key, "first_approval_year", "")
  set_cell(dir, drugs, key, "note", "NA")
  copy <- read_jakderm(dir)$drugs
  expect_identical(copy$first_approval_year[1], NA_integer_)
  expect_identical(copy$note[1], "NA")
})

test_that("a cell of the wrong type stops read_jakderm, naming file, row and column", {
  dir <- package_copy()
  key <- tables$drugs$drug_id[2]
  set_cell(dir, resources$drugs, key, "first_approval_year", "twelve")
  expect_error(read_jakderm(dir), "data/drugs.csv", fixed = TRUE)
  expect_error(read_jakderm(dir), "line 3 (data row 2), column first_approval_year", fixed = TRUE)
  expect_error(read_jakderm(dir), "twelve", fixed = TRUE)
})

test_that("errors = \"coerce\" reads a cell of the wrong type as NA and warns, naming it", {
  dir <- package_copy()
  key <- tables$drugs$drug_id[2]
  set_cell(dir, resources$drugs, key, "first_approval_year", "twelve")
  expect_warning(copy <- read_jakderm(dir, errors = "coerce"),
                 "data/drugs.csv: 1 cell(s) that do not match the table's schema were read as NA\n  line 3 (data row 2), column first_approval_year: expected an integer, got \"twelve\"",
                 fixed = TRUE)
  expect_identical(copy$drugs$first_approval_year[2], NA_integer_)
  expect_identical(copy$drugs$drug_id, tables$drugs$drug_id)
  expect_identical(copy$outcomes, tables$outcomes)
})

test_that("an unknown errors mode or measure is refused, naming the valid ones", {
  expect_error(read_jakderm(root, errors = "ignore"), "'arg' should be one of")
  expect_error(jakderm_effects(root, measure = "HR"), "unknown measure \"HR\": use one of RR, OR, RD", fixed = TRUE)
})

test_that("jakderm_effects() pairs arms with their trial's placebo or vehicle arm", {
  skip_if_not_installed("metafor")
  e <- jakderm_effects(root, measure = "OR", tables = tables)
  expect_identical(names(e)[1:22], c("trial_id", "endpoint_id", "timepoint_weeks", "population", "imputation",
                                     "subgroup", "arm_id", "control_arm_id", "drug_id", "dose", "dose_unit", "ai",
                                     "n1i", "ci", "n2i", "counts_derived", "measure", "yi", "vi", "estimate",
                                     "ci_lower", "ci_upper"))
  roles <- tables$arms$role[match(e$control_arm_id, tables$arms$arm_id)]
  expect_true(all(roles %in% c("placebo", "vehicle")))
  expect_identical(tables$arms$trial_id[match(e$control_arm_id, tables$arms$arm_id)], e$trial_id)
})
