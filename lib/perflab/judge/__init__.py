"""Pass, fail or inconclusive against targets; comparing two runs; the CI gate."""
