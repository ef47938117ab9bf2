"""govern's benchmark: `make bench` (python -m benchmarks); results in docs/benchmarks.md."""
