# Read the jak-derm-data package into R, typed from its Table Schemas (help: ?read_jakderm).
# Needs only readr and jsonlite.

# read_jakderm(path): `path` is the package directory or its datapackage.json.
# Returns a named list of tibbles, one per resource, in datapackage.json order.
# Types: integer -> integer, number -> double, date -> Date, boolean -> logical,
# string with an enum -> factor (levels = the enum, in schema order), other string -> character.
# Only an empty cell is missing: the text "NA" stays text.
# errors = "stop" (the default) refuses a cell that cannot be read as its type, naming file, line
# and column; errors = "coerce" blanks such cells to NA and warns, listing each one.
read_jakderm <- function(path = ".", errors = c("stop", "coerce")) {
  errors <- match.arg(errors)
  descriptor <- if (dir.exists(path)) file.path(path, "datapackage.json") else path
  root <- dirname(descriptor)
  package <- jsonlite::read_json(descriptor, simplifyVector = FALSE)
  tables <- lapply(package$resources, jakderm_read_resource, root = root, errors = errors)
  names(tables) <- vapply(package$resources, function(res) res$name, character(1))
  tables
}

jakderm_read_resource <- function(res, root, errors = "stop") {
  # A resource's schema is a path to a Table Schema file, or (per the spec) the schema inline.
  schema <- res$schema
  if (is.character(schema)) schema <- jsonlite::read_json(file.path(root, schema), simplifyVector = FALSE)
  fields <- vapply(schema$fields, function(f) f$name, character(1))
  file <- file.path(root, res$path)
  utf8 <- readr::locale(encoding = "UTF-8")

  # The header first: problems() numbers columns by their position in the file, and a column
  # the file has but the schema does not is skipped rather than guessed.
  header <- names(readr::read_csv(file, n_max = 0, col_types = readr::cols(.default = readr::col_character()),
                                  locale = utf8, progress = FALSE))
  missing <- setdiff(fields, header)
  if (length(missing)) stop(res$path, ": column ", paste(missing, collapse = ", "), " missing from the header",
                            call. = FALSE)

  spec <- lapply(schema$fields, jakderm_collector)
  names(spec) <- fields
  table <- withCallingHandlers(
    readr::read_csv(file, col_types = do.call(readr::cols, c(spec, list(.default = readr::col_skip()))),
                    na = c(""), trim_ws = FALSE, locale = utf8, lazy = FALSE, progress = FALSE),
    # The problems are reported below, with the file and column names.
    vroom_parse_issue = function(w) invokeRestart("muffleWarning"))

  issues <- readr::problems(table)
  if (nrow(issues)) {
    # readr's `row` counts the header as line 1, as validate.py does.
    where <- sprintf("line %d (data row %d), column %s: expected %s, got \"%s\"", issues$row, issues$row - 1L,
                     header[issues$col], issues$expected, issues$actual)
    if (errors == "coerce") {
      warning(res$path, ": ", nrow(issues), " cell(s) that do not match the table's schema were read as NA\n  ",
              paste(where, collapse = "\n  "), call. = FALSE)
      return(table[fields])
    }
    stop(res$path, ": ", nrow(issues), " cell(s) do not match the table's schema\n  ",
         paste(utils::head(where, 5), collapse = "\n  "),
         "\n(run `python validate.py` for every problem)", call. = FALSE)
  }
  table[fields]
}

jakderm_collector <- function(field) {
  enum <- field$constraints$enum
  switch(field$type,
         integer = readr::col_integer(),
         number = readr::col_double(),
         date = readr::col_date("%Y-%m-%d"),
         boolean = readr::col_logical(),
         string = if (length(enum)) readr::col_factor(levels = as.character(unlist(enum)), include_na = FALSE)
                  else readr::col_character(),
         stop("field ", field$name, ": type ", field$type, " is not supported", call. = FALSE))
}
