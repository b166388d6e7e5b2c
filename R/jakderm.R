# For R users who source() rather than install: source("R/jakderm.R") defines read_jakderm() and
# jakderm_effects() from the package's code in R/R/ (one copy of the code), in the environment
# this file is sourced into. Installed, the same functions come with library(jakderm).
local({
  # The folder of this file: source() keeps the path it reads as `ofile`.
  here <- NULL
  for (i in rev(seq_len(sys.nframe()))) {
    if (identical(sys.function(i), base::source)) {
      here <- dirname(get("ofile", envir = sys.frame(i)))
      break
    }
  }
  if (is.null(here)) stop("load this file with source(\"R/jakderm.R\")", call. = FALSE)
  here
}) -> .jakderm_dir
for (.jakderm_file in sort(list.files(file.path(.jakderm_dir, "R"), pattern = "[.]R$", full.names = TRUE))) {
  source(.jakderm_file, local = environment())
}
rm(.jakderm_dir, .jakderm_file)
