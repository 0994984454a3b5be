"""Benchmarks (make bench): not part of the service, not part of make test."""
