"""Benchmark scripts (run by hand, never collected by pytest: testpaths is tests/)."""
