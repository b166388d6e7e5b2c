# Runs the R test suite from the repository root: Rscript tests/R/run.R
# Prints testthat's summary; exits non-zero if a test fails.
testthat::test_dir("tests/R", stop_on_failure = TRUE)
