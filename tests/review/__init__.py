"""Tests of the review tooling: rule cases, coverage, vignettes, safety report, the CLI."""
