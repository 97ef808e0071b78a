"""The benchmark: data generator, page timings, load test (see bench/README.md)."""
