"""Performance: the air-time model and the benchmarks behind `make bench`."""
